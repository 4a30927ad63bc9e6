"""The one cattrs converter: camelCase JSON <-> the attrs models, and its rules.

Every rule lives in :func:`_configure`, run once at import and never changed after:

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

``converter`` is tuned for the hot path. Its structure hooks for the models, and for
lists and optionals of them, are Python functions written once per type by
:class:`_Compiler`: every nested model is inlined into one function, the rules above
are inlined as plain ``type(v) is str`` checks and dict lookups, and each model is
built the way unpickling builds it (``object.__new__`` and its slots set directly;
the models have no validators, converters or ``__attrs_post_init__`` to skip). Small
models that repeat from item to item (``BackupSource``, ``AdditionalDestination``,
``AddonSpec``) are frozen, so equal ones are shared from a small bounded cache.

When ``converter`` fails, :func:`structure_items` runs the same data through
``detailed_converter`` (the same rules on cattrs' own generated functions, with
detailed validation) to name the JSON path of the bad value.
"""

from __future__ import annotations

import enum
import linecache
import types
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._errors import ResponseValidationError
from ._models import AdditionalDestination, AddonSpec, BackupConfig, BackupSource

__all__ = ["converter", "detailed_converter", "structure_items", "structure_one"]

T = TypeVar("T")
Hook = Callable[[Any, Any], Any]

#: Models shared between equal occurrences: few distinct values, many repeats.
_INTERNED: frozenset[type] = frozenset({AdditionalDestination, AddonSpec, BackupSource})
#: Entries per interning cache; a full cache is emptied, so memory stays flat.
_INTERN_LIMIT = 4096
#: The fast converter's interning caches, one per model: structured fields -> object.
_INTERN_CACHES: dict[type, dict[Any, Any]] = {}


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


def _not_object(value: Any, cls: type) -> None:
    raise TypeError(
        f"expected an object for {cls.__name__}, got {type(value).__name__} {value!r:.40}"
    )


def _not_list(value: Any) -> None:
    raise TypeError(f"expected a list, got {type(value).__name__} {value!r:.40}")


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


def _tolerant_enum_hook(tp: Any) -> Hook:
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


def _is_sequence(tp: Any) -> bool:
    """Whether ``tp`` is ``list[X]`` or ``tuple[X, ...]``."""
    args = get_args(tp)
    if get_origin(tp) is list:
        return len(args) == 1
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _json_key(field: attrs.Attribute[Any]) -> str:
    return _camel(field.name)


def _field_hook(cls: type, field: attrs.Attribute[Any]) -> Hook | None:
    """The hook one field uses instead of its type's: only ``BackupConfig.size``."""
    return _structure_size if cls is BackupConfig and field.name == "size" else None


def _fields(cls: type) -> tuple[attrs.Attribute[Any], ...]:
    """The attrs fields of ``cls`` with their annotations resolved to types."""
    attrs.resolve_types(cls)
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cls)
    return fields


def _built_without_init(cls: type) -> bool:
    """Whether ``object.__new__`` plus one slot write per field equals ``cls(**fields)``."""
    new: object = cls.__new__
    if new is not object.__new__:
        return False
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    return all(
        field.validator is None
        and field.converter is None
        and field.init
        and not isinstance(field.default, _FACTORY)
        and type(getattr(cls, field.name, None)) is types.MemberDescriptorType
        for field in _fields(cls)
    )


def _accepts_none(tp: Any) -> bool:
    """Whether ``tp`` is ``X | None``, so that a JSON null structures to None."""
    found = _enum_of(tp)
    return _optional_of(tp) is not None or (found is not None and found[1])


def _is_leaf(tp: Any) -> bool:
    """Whether a structured value of ``tp`` is a str, int, bool, enum member or None."""
    inner = _optional_of(tp)
    return (inner if inner is not None else tp) in (str, int, bool) or _enum_of(tp) is not None


_MISSING = object()
_FACTORY: type = attrs.Factory  # type: ignore[assignment]  # a class at runtime, a function to mypy


class _Compiler:
    """Writes the structure function of one type as Python source, nested models inlined.

    :meth:`_value` emits the statements that turn the raw JSON value held in a local
    variable into its structured value, in place. A hook of this module is written out
    inline, any other hook of the converter is called: either way the function gives
    what the converter's hooks give, and raises what they raise.
    """

    def __init__(self, conv: cattrs.Converter, caches: dict[type, dict[Any, Any]]) -> None:
        self._conv = conv
        self._caches = caches
        self._lines: list[str] = []
        self._namespace: dict[str, Any] = {
            "_Mapping": Mapping,
            "_new": object.__new__,
            "_not_list": _not_list,
            "_not_object": _not_object,
            "_fromisoformat": datetime.fromisoformat,
            "_UTC": UTC,
            "_LIMIT": _INTERN_LIMIT,
        }
        self._names: dict[int, str] = {}
        self._locals = 0
        self._inlining: list[type] = []

    def function(self, tp: Any) -> Hook:
        """The compiled ``structure(value, type)`` function for ``tp``."""
        self._value(tp, "value", 1)
        name = "structure_" + "".join(c if c.isalnum() else "_" for c in repr(tp))
        source = f"def {name}(value, _=None):\n" + "\n".join(self._lines) + "\n    return value\n"
        filename = f"<northflank_async structure {tp!r}>"
        exec(compile(source, filename, "exec"), self._namespace)
        # Tracebacks and debuggers show the generated lines.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        function: Hook = self._namespace[name]
        return function

    def _ref(self, obj: object, hint: str) -> str:
        """A global name for ``obj`` inside the generated function."""
        name = self._names.get(id(obj))
        if name is None:
            label = "".join(c if c.isalnum() else "_" for c in hint).strip("_")
            name = f"_{label}_{len(self._names)}"
            self._names[id(obj)] = name
            self._namespace[name] = obj
        return name

    def _local(self, hint: str) -> str:
        self._locals += 1
        return f"{hint}_{self._locals}"

    def _emit(self, depth: int, line: str) -> None:
        self._lines.append("    " * depth + line)

    def _value(self, tp: Any, var: str, depth: int, hook: Hook | None = None) -> None:
        """Emit the code structuring ``var`` into ``tp`` (with ``hook``, when given)."""
        if hook is not None:
            self._hook(hook, tp, var, depth)
        elif attrs.has(tp):
            self._model(tp, var, depth)
        elif _enum_of(tp) is not None:
            self._enum(tp, var, depth)
        elif _optional_of(tp) is not None:
            self._emit(depth, f"if {var} is not None:")
            self._value(_optional_of(tp), var, depth + 1)
        elif _is_sequence(tp):
            self._sequence(tp, var, depth)
        else:
            self._hook(self._conv.get_structure_hook(tp), tp, var, depth)

    def _hook(self, hook: Hook, tp: Any, var: str, depth: int) -> None:
        """Emit ``hook``'s body when it is one of this module's, else a call to it."""
        call = (
            f"{self._ref(hook, getattr(hook, '__name__', 'hook'))}({var}, {self._ref(tp, 'type')})"
        )
        primitive = {_structure_str: "str", _structure_int: "int", _structure_bool: "bool"}
        if hook in primitive:
            self._emit(depth, f"if type({var}) is not {primitive[hook]}:")
            self._emit(depth + 1, f"{var} = {call}")
        elif hook is _structure_datetime:
            self._emit(depth, f"if type({var}) is str:")
            self._emit(depth + 1, f"{var} = _fromisoformat({var})")
            self._emit(depth + 1, f"if {var}.tzinfo is None:")
            self._emit(depth + 2, f"{var} = {var}.replace(tzinfo=_UTC)")
            self._emit(depth, "else:")
            self._emit(depth + 1, f"{var} = {call}")
        elif hook is _structure_size:
            self._emit(depth, f"if type({var}) is str and {var}.isascii() and {var}.isdigit():")
            self._emit(depth + 1, f"{var} = int({var})")
            self._emit(depth, "else:")
            self._emit(depth + 1, f"{var} = {call}")
        else:
            self._emit(depth, f"{var} = {call}")

    def _enum(self, tp: Any, var: str, depth: int) -> None:
        found = _enum_of(tp)
        assert found is not None
        enum_cls, optional = found
        if optional:
            self._emit(depth, f"if {var} is not None:")
            self._enum(enum_cls | str, var, depth + 1)
            return
        members = self._ref(enum_cls._value2member_map_, enum_cls.__name__)
        self._emit(depth, f"if type({var}) is str:")
        self._emit(depth + 1, f"{var} = {members}.get({var}, {var})")
        self._emit(depth, "else:")
        self._hook(self._conv.get_structure_hook(tp), tp, var, depth + 1)

    def _sequence(self, tp: Any, var: str, depth: int) -> None:
        items, item = self._local("items"), self._local("item")
        self._emit(depth, f"if type({var}) is not list:")
        self._emit(depth + 1, f"_not_list({var})")
        self._emit(depth, f"{items} = []")
        self._emit(depth, f"for {item} in {var}:")
        self._value(get_args(tp)[0], item, depth + 1)
        self._emit(depth + 1, f"{items}.append({item})")
        self._emit(
            depth, f"{var} = tuple({items})" if get_origin(tp) is tuple else f"{var} = {items}"
        )

    def _model(self, cls: type, var: str, depth: int) -> None:
        if cls in self._inlining or not _built_without_init(cls):
            # A model that contains itself (its hook looked up at each call), or one that
            # needs its __init__ (cattrs' generated function).
            call: Hook = (
                self._conv.structure if cls in self._inlining else _cattrs_hook(self._conv, cls)
            )
            self._hook(call, cls, var, depth)
            return
        self._inlining.append(cls)
        name = self._ref(cls, cls.__name__)
        self._emit(depth, f"if type({var}) is not dict and not isinstance({var}, _Mapping):")
        self._emit(depth + 1, f"_not_object({var}, {name})")
        values: list[tuple[attrs.Attribute[Any], str]] = []
        for field in _fields(cls):
            local = self._local(field.name)
            values.append((field, local))
            key = _json_key(field)
            hook = _field_hook(cls, field)
            if field.default is attrs.NOTHING:
                self._emit(depth, f"{local} = {var}[{key!r}]")
                self._value(field.type, local, depth, hook)
            elif field.default is None and hook is None and _accepts_none(field.type):
                self._emit(depth, f"{local} = {var}.get({key!r})")  # absent or null: None
                self._value(field.type, local, depth)
            else:
                missing = self._ref(_MISSING, "MISSING")
                self._emit(depth, f"{local} = {var}.get({key!r}, {missing})")
                self._emit(depth, f"if {local} is {missing}:")
                self._emit(depth + 1, f"{local} = {self._ref(field.default, 'default')}")
                self._emit(depth, "else:")
                self._value(field.type, local, depth + 1, hook)
        self._inlining.pop()
        if cls not in _INTERNED or not all(_is_leaf(field.type) for field, _ in values):
            self._build(cls, values, var, depth)
            return
        # Equal structured fields give equal (frozen) objects: share them.
        cache = self._ref(self._caches.setdefault(cls, {}), f"{cls.__name__}_cache")
        key = self._local("key")
        fields = ", ".join(local for _, local in values)
        self._emit(depth, f"{key} = {fields}" if len(values) == 1 else f"{key} = ({fields})")
        self._emit(depth, f"{var} = {cache}.get({key})")
        self._emit(depth, f"if {var} is None:")
        self._build(cls, values, var, depth + 1)
        self._emit(depth + 1, f"if len({cache}) >= _LIMIT:")
        self._emit(depth + 2, f"{cache}.clear()")
        self._emit(depth + 1, f"{cache}[{key}] = {var}")

    def _build(
        self, cls: type, values: list[tuple[attrs.Attribute[Any], str]], var: str, depth: int
    ) -> None:
        """Emit the construction of ``cls`` from the structured fields, without __init__."""
        self._emit(depth, f"{var} = _new({self._ref(cls, cls.__name__)})")
        for field, local in values:
            setter = self._ref(getattr(cls, field.name).__set__, f"set_{cls.__name__}_{field.name}")
            self._emit(depth, f"{setter}({var}, {local})")


def _cattrs_hook(conv: cattrs.Converter, cls: type) -> Hook:
    """cattrs' generated structure function for a model, refusing anything but an object."""
    overrides: dict[str, Any] = {}
    for field in _fields(cls):
        overrides[field.name] = override(
            rename=_json_key(field), struct_hook=_field_hook(cls, field)
        )
    generated: Hook = make_dict_structure_fn(cls, conv, **overrides)

    def structure(value: Any, tp: Any) -> Any:
        if type(value) is not dict and not isinstance(value, Mapping):
            _not_object(value, cls)
        return generated(value, tp)

    return structure


def _cattrs_list_hook(conv: cattrs.Converter, tp: Any) -> Hook:
    """cattrs' list (or tuple) hook, refusing anything but a list."""
    generated: Hook
    if get_origin(tp) is tuple:
        generated = homogenous_tuple_structure_factory(tp, conv)
    else:
        generated = list_structure_factory(tp, conv)

    def structure(value: Any, _: Any) -> Any:
        if type(value) is not list:
            _not_list(value)
        return generated(value, tp)

    return structure


def _configure(conv: cattrs.Converter, *, compiled: bool) -> None:
    """Register every rule of the module docstring on ``conv``.

    ``compiled``: structure models, lists and optionals with :class:`_Compiler`'s
    functions; else with cattrs' own (detailed when ``conv`` validates in detail).
    """
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook_factory(lambda tp: _enum_of(tp) is not None, _tolerant_enum_hook)
    conv.register_unstructure_hook_func(lambda tp: _enum_of(tp) is not None, str)

    if compiled:

        def compile_hook(tp: Any) -> Hook:
            return _Compiler(conv, _INTERN_CACHES).function(tp)

        conv.register_structure_hook_factory(lambda tp: _optional_of(tp) is not None, compile_hook)
        conv.register_structure_hook_factory(_is_sequence, compile_hook)
        conv.register_structure_hook_factory(attrs.has, compile_hook)
    else:
        conv.register_structure_hook_factory(_is_sequence, lambda tp: _cattrs_list_hook(conv, tp))
        conv.register_structure_hook_factory(attrs.has, lambda cls: _cattrs_hook(conv, cls))

    def unstructure_factory(cls: type[Any]) -> Any:
        overrides: dict[str, Any] = {}
        for field in attrs.fields(cls):
            omit = field.default is not attrs.NOTHING and not _keeps_null(field)
            hook = str if _field_hook(cls, field) is _structure_size else None
            overrides[field.name] = override(
                rename=_json_key(field), omit_if_default=omit, unstruct_hook=hook
            )
        return make_dict_unstructure_fn(cls, conv, **overrides)

    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)


def _build(*, detailed: bool) -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=detailed)
    _configure(conv, compiled=not detailed)
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
