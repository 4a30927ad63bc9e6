"""The one cattrs converter: camelCase JSON <-> the attrs models, and its rules.

Every rule lives in :func:`_configure`, run once per converter at import and never
changed after:

- every field of every model is renamed to camelCase, both ways;
- timestamps are timezone-aware datetimes, unstructured back to the API's
  ``2021-01-20T11:19:53.175Z`` form;
- ``BackupConfig.size`` is an int on our side and a decimal string on the API's;
- an enumeration field (``SomeEnum | str``) holds the enum member, or the plain string
  for a value the API added later;
- ints, strings and booleans are checked, not coerced (``"7"`` is no ``retention_time``);
- a model is read from a JSON object and a list or tuple from a JSON array, nothing else;
- unknown keys are ignored; optional fields absent from the JSON are ``None`` and are
  left out again when unstructured (but for fields marked ``KEEP_NULL``).

The models are structured and unstructured by cattrs' own generated functions
(``make_dict_structure_fn`` / ``make_dict_unstructure_fn``), so every model is built
through its ``__init__``. ``converter`` runs without cattrs' detailed validation, the
cheap way. When it refuses data, :func:`structure_items` and :func:`structure_one` run
the same data through ``detailed_converter`` (the same :func:`_configure`, with detailed
validation) to name the JSON path of the bad value.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._errors import ResponseValidationError, display_url, excerpt
from ._models import BackupConfig

__all__ = ["converter", "detailed_converter", "structure_items", "structure_one"]

T = TypeVar("T")
Hook = Callable[[Any, Any], Any]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# -- the rules for single values -----------------------------------------------------------


def _structure_datetime(value: Any, _: type) -> datetime:
    if type(value) is not str:
        raise TypeError(f"expected an ISO-8601 string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    # The API always sends UTC with a Z; a timestamp without an offset is read as UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _unstructure_datetime(value: datetime) -> str:
    value = value.astimezone(UTC)
    spec = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _structure_int(value: Any, _: type) -> int:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__} {value!r:.40}")


def _structure_str(value: Any, _: type) -> str:
    if type(value) is str:
        return value
    raise TypeError(f"expected a string, got {type(value).__name__} {value!r:.40}")


def _structure_bool(value: Any, _: type) -> bool:
    if type(value) is bool:
        return value
    raise TypeError(f"expected a boolean, got {type(value).__name__} {value!r:.40}")


def _structure_size(value: Any, _: type) -> int:
    """A byte count: the API's decimal string (or a plain non-negative int)."""
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    if type(value) is int and value >= 0:
        return value
    raise ValueError(f"expected a decimal string of bytes, got {value!r:.40}")


def _enum_of(tp: Any) -> tuple[type[enum.StrEnum], bool] | None:
    """``(EnumClass, optional)`` for ``SomeStrEnum | str`` (``| None``), else None."""
    if get_origin(tp) not in (Union, types.UnionType):
        return None
    args = set(get_args(tp))
    optional = type(None) in args
    args.discard(type(None))
    if str not in args or len(args) != 2:
        return None
    args.discard(str)
    (enum_cls,) = args
    if isinstance(enum_cls, type) and issubclass(enum_cls, enum.StrEnum):
        return enum_cls, optional
    return None


def _is_tolerant_enum(tp: Any) -> bool:
    return _enum_of(tp) is not None


def _tolerant_enum_hook(tp: Any) -> Hook:
    found = _enum_of(tp)
    assert found is not None
    enum_cls, optional = found
    # A dict lookup: ``enum_cls(value)`` costs several times more.
    members: Mapping[str, Any] = enum_cls._value2member_map_

    def structure(value: Any, _: Any) -> Any:
        if type(value) is str:
            return members.get(value, value)
        if value is None and optional:
            return None
        raise TypeError(f"expected a string for {enum_cls.__name__}, got {value!r:.40}")

    return structure


# -- the rules for containers --------------------------------------------------------------


def _optional_of(tp: Any) -> Any:
    """``X`` for ``X | None`` (one ``X`` that is no tolerant enum union), else None."""
    if get_origin(tp) not in (Union, types.UnionType) or _enum_of(tp) is not None:
        return None
    args = [arg for arg in get_args(tp) if arg is not type(None)]
    return args[0] if len(args) == 1 and len(get_args(tp)) == 2 else None


def _optional_hook(tp: Any, conv: cattrs.Converter) -> Hook:
    """``X | None``: None for a JSON null, else ``X``'s hook (fetched once, not per value)."""
    inner_type = _optional_of(tp)
    inner: Hook
    try:
        inner = conv.get_structure_hook(inner_type)
    except RecursionError:  # a model that contains itself: late binding, as cattrs does
        inner = conv.structure

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else inner(value, inner_type)

    return structure


def _is_sequence(tp: Any) -> bool:
    """Whether ``tp`` is ``list[X]`` or ``tuple[X, ...]``."""
    args = get_args(tp)
    if get_origin(tp) is list:
        return len(args) == 1
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _sequence_hook(tp: Any, conv: cattrs.Converter) -> Hook:
    """cattrs' list (or tuple) hook, refusing anything but a JSON array."""
    generated: Hook
    if get_origin(tp) is tuple:
        generated = homogenous_tuple_structure_factory(tp, conv)
    else:
        generated = list_structure_factory(tp, conv)

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not list:
            raise TypeError(f"expected a list, got {type(value).__name__} {value!r:.40}")
        return generated(value, tp)

    return structure


# -- the rules for models ------------------------------------------------------------------


def _field_hook(cls: type, field: attrs.Attribute[Any]) -> Hook | None:
    """The hook one field uses instead of its type's: only ``BackupConfig.size``."""
    return _structure_size if cls is BackupConfig and field.name == "size" else None


def _model_hook(cls: type, conv: cattrs.Converter) -> Hook:
    """cattrs' generated structure function for a model, refusing anything but an object."""
    overrides: dict[str, Any] = {
        field.name: override(rename=_camel(field.name), struct_hook=_field_hook(cls, field))
        for field in attrs.fields(cls)
    }
    generated: Hook = make_dict_structure_fn(cls, conv, **overrides)

    def structure(value: Any, tp: Any) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            raise TypeError(
                f"expected an object for {cls.__name__}, got {type(value).__name__} {value!r:.40}"
            )
        return generated(value, tp)

    return structure


def _model_unstructure_hook(cls: type, conv: cattrs.Converter) -> Callable[[Any], Any]:
    """cattrs' generated unstructure function: camelCase keys, defaults left out."""
    overrides: dict[str, Any] = {
        field.name: override(
            rename=_camel(field.name),
            omit_if_default=field.default is not attrs.NOTHING
            and not field.metadata.get("keep_null"),
            unstruct_hook=str if _field_hook(cls, field) is _structure_size else None,
        )
        for field in attrs.fields(cls)
    }
    generated: Callable[[Any], Any] = make_dict_unstructure_fn(cls, conv, **overrides)
    return generated


def _configure(conv: cattrs.Converter) -> None:
    """Register every rule of the module docstring on ``conv``."""
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook_factory(_is_tolerant_enum, _tolerant_enum_hook)
    conv.register_unstructure_hook_func(_is_tolerant_enum, str)
    conv.register_structure_hook_factory(lambda tp: _optional_of(tp) is not None, _optional_hook)
    conv.register_structure_hook_factory(_is_sequence, _sequence_hook)
    conv.register_structure_hook_factory(attrs.has, _model_hook)
    conv.register_unstructure_hook_factory(attrs.has, _model_unstructure_hook)


def _build(*, detailed: bool) -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=detailed)
    _configure(conv)
    return conv


converter: cattrs.Converter = _build(detailed=False)
"""The one cattrs converter the SDK uses: the API's JSON to the models and back.

``converter.structure(obj, Backup)`` reads the API's own JSON (camelCase keys,
``size`` as a string, ``...Z`` timestamps) and ``converter.unstructure(backup)`` writes
it again, absent optional fields left out. One field is written even when empty:
``completedAt``, which the API's schema marks as required, comes back as ``null`` for a
backup that has not completed. Ints, strings and booleans are checked, not coerced;
unknown keys are ignored; an enumeration field holds the member, or the plain string
of a value the API added later. Do not register hooks on it: the SDK relies on its
rules. Data it refuses raises a plain ``ValueError``, ``TypeError`` or ``KeyError``
here (it runs without cattrs' detailed validation, the fast way); the SDK's own calls
raise [ResponseValidationError][northflank_async.ResponseValidationError] instead,
naming the JSON path of the bad value.

Example:

```python
from northflank_async import Backup, converter
from northflank_async.testing import example_backup

backup = converter.structure(example_backup(), Backup)
print(backup.config.size, backup.created_at.isoformat())  # 1234 2021-01-20T11:19:53.175000+00:00
assert converter.unstructure(backup) == example_backup()  # the API's JSON again
```
"""
#: The same rules with detailed validation, used to explain data that ``converter`` refused.
detailed_converter: cattrs.Converter = _build(detailed=True)


# -- the fast-then-detailed path -----------------------------------------------------------


def _json_path(exc: BaseException, prefix: str) -> tuple[str, str]:
    """The JSON path and reason of the first leaf error in a cattrs exception group."""
    path = prefix
    while isinstance(exc, cattrs.BaseValidationError) and exc.exceptions:
        inner = exc.exceptions[0]
        note = next(
            (
                n
                for n in getattr(inner, "__notes__", ())
                if isinstance(n, cattrs.AttributeValidationNote | cattrs.IterableValidationNote)
            ),
            None,
        )
        if isinstance(note, cattrs.AttributeValidationNote):
            path += "." + _camel(note.name)
        elif isinstance(note, cattrs.IterableValidationNote):
            path += f"[{note.index}]"
        exc = inner
    if isinstance(exc, KeyError):
        return path, "required field missing"
    return path, excerpt(f"{type(exc).__name__}: {exc}")


def _invalid(url: str, path: str, exc: BaseException, method: str) -> ResponseValidationError:
    bad_path, reason = _json_path(exc, path)
    return ResponseValidationError(
        f"{method} {display_url(url)}: invalid value at {bad_path}: {reason}",
        url=url,
        path=bad_path,
    )


def structure_one(value: Any, tp: type[T], *, url: str, path: str, method: str = "GET") -> T:
    """Structure one object, or raise ResponseValidationError naming the bad value."""
    try:
        return converter.structure(value, tp)
    except Exception:
        pass
    try:
        detailed_converter.structure(value, tp)
    except Exception as exc:
        error = _invalid(url, path, exc, method)
    else:  # pragma: no cover - both converters have the same rules
        error = ResponseValidationError(
            f"{method} {display_url(url)}: {path} does not fit", url=url, path=path
        )
    raise error


def structure_items(items: list[Any], item_type: type[T], *, url: str, path: str) -> list[T]:
    """Structure a page's list of items, or raise ResponseValidationError naming the bad value."""
    try:
        return converter.structure(items, list[item_type])  # type: ignore[valid-type]  # item_type is a runtime class
    except Exception:
        pass
    for index, item in enumerate(items):
        structure_one(item, item_type, url=url, path=f"{path}[{index}]")
    raise ResponseValidationError(  # pragma: no cover - the item-by-item pass raises first
        f"GET {display_url(url)}: {path} does not fit", url=url, path=path
    )
