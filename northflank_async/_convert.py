"""The one cattrs converter: camelCase JSON <-> the attrs models, and its rules.

Every rule lives in :func:`_configure`, run once at import and never changed after:

- every field of every model is renamed to camelCase, both ways;
- timestamps are timezone-aware datetimes, unstructured back to the API's
  ``2021-01-20T11:19:53.175Z`` form;
- ``BackupConfig.size`` is an int on our side and a decimal string on the API's;
- an enumeration field (``SomeEnum | str``) holds the enum member, or the plain string
  for a value the API added later;
- ints, strings and booleans are checked, not coerced (``"7"`` is no ``retention_time``);
- unknown keys are ignored; optional fields absent from the JSON are ``None`` and are
  left out again when unstructured (but for fields marked ``KEEP_NULL``).

``converter`` is tuned for the hot path: generated functions without validation
bookkeeping. When it fails, :func:`structure_items` runs the same data through
``detailed_converter`` (the same rules, with detailed validation) to name the JSON path
of the bad value.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._errors import ResponseValidationError

__all__ = ["converter", "detailed_converter", "structure_items", "structure_one"]

T = TypeVar("T")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


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


def _tolerant_enum_hook(tp: Any) -> Callable[[Any, Any], Any]:
    found = _enum_of(tp)
    assert found is not None
    enum_cls, optional = found
    members: Mapping[str, Any] = enum_cls._value2member_map_

    def structure(value: Any, _: Any) -> Any:
        if type(value) is str:
            return members.get(value, value)
        if value is None and optional:
            return None
        raise TypeError(f"expected a string for {enum_cls.__name__}, got {value!r:.40}")

    return structure


def _keeps_null(field: attrs.Attribute[Any]) -> bool:
    return bool(field.metadata.get("keep_null"))


def _optional_of(tp: Any) -> Any:
    """``X`` for ``X | None`` (one ``X`` that is no tolerant enum union), else None."""
    if get_origin(tp) not in (Union, types.UnionType) or _enum_of(tp) is not None:
        return None
    args = [arg for arg in get_args(tp) if arg is not type(None)]
    return args[0] if len(args) == 1 and len(get_args(tp)) == 2 else None


def _register_fast_paths(conv: cattrs.Converter) -> None:
    """Cheaper hooks for ``X | None``, ``list[X]`` and ``tuple[X, ...]``, same results."""

    def optional_hook(tp: Any) -> Callable[[Any, Any], Any]:
        inner_type = _optional_of(tp)
        inner = conv.get_structure_hook(inner_type)

        def structure(value: Any, _: Any) -> Any:
            return None if value is None else inner(value, inner_type)

        return structure

    def sequence_hook(tp: Any) -> Callable[[Any, Any], Any]:
        item_type = get_args(tp)[0]
        item = conv.get_structure_hook(item_type)
        make: Callable[[list[Any]], Any] = tuple if get_origin(tp) is tuple else list

        def structure(value: Any, _: Any) -> Any:
            if type(value) is not list:
                raise TypeError(f"expected a list, got {type(value).__name__}")
            return make([item(element, item_type) for element in value])

        return structure

    def is_sequence(tp: Any) -> bool:
        args = get_args(tp)
        if get_origin(tp) is list:
            return len(args) == 1
        return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis

    conv.register_structure_hook_factory(lambda tp: _optional_of(tp) is not None, optional_hook)
    conv.register_structure_hook_factory(is_sequence, sequence_hook)


def _configure(conv: cattrs.Converter, *, detailed: bool) -> None:
    """Register every rule of the module docstring on ``conv``."""
    if not detailed:
        # The detailed converter keeps cattrs' own list hooks, which record the index.
        _register_fast_paths(conv)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook_factory(lambda tp: _enum_of(tp) is not None, _tolerant_enum_hook)
    conv.register_unstructure_hook_func(lambda tp: _enum_of(tp) is not None, str)

    def structure_factory(cls: type[Any]) -> Any:
        overrides: dict[str, Any] = {}
        for field in attrs.fields(cls):
            if cls.__name__ == "BackupConfig" and field.name == "size":
                overrides[field.name] = override(rename="size", struct_hook=_structure_size)
            else:
                overrides[field.name] = override(rename=_camel(field.name))
        return make_dict_structure_fn(cls, conv, **overrides)

    def unstructure_factory(cls: type[Any]) -> Any:
        overrides: dict[str, Any] = {}
        for field in attrs.fields(cls):
            omit = field.default is not attrs.NOTHING and not _keeps_null(field)
            hook = str if (cls.__name__ == "BackupConfig" and field.name == "size") else None
            overrides[field.name] = override(
                rename=_camel(field.name), omit_if_default=omit, unstruct_hook=hook
            )
        return make_dict_unstructure_fn(cls, conv, **overrides)

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)


def _build(*, detailed: bool) -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=detailed)
    _configure(conv, detailed=detailed)
    return conv


#: The SDK's converter: ``converter.structure(obj, Backup)``, ``converter.unstructure(backup)``.
converter: cattrs.Converter = _build(detailed=False)
#: The same rules with detailed validation, used to explain data that ``converter`` refused.
detailed_converter: cattrs.Converter = _build(detailed=True)


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
    return path, f"{type(exc).__name__}: {exc}"


def _invalid(url: str, path: str, exc: BaseException) -> ResponseValidationError:
    bad_path, reason = _json_path(exc, path)
    return ResponseValidationError(
        f"GET {url}: invalid value at {bad_path}: {reason}", url=url, path=bad_path
    )


def structure_one(value: Any, tp: type[T], *, url: str, path: str) -> T:
    """Structure one object, or raise ResponseValidationError naming the bad value."""
    try:
        return converter.structure(value, tp)
    except Exception:
        pass
    try:
        detailed_converter.structure(value, tp)
    except Exception as exc:
        error = _invalid(url, path, exc)
    else:  # pragma: no cover - the fast converter and the detailed one agree
        error = ResponseValidationError(f"GET {url}: {path} does not fit", url=url, path=path)
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
        f"GET {url}: {path} does not fit", url=url, path=path
    )
