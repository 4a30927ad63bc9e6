"""A griffe extension: show attrs classes and instance attributes as users see them.

griffe reads source without running it, so an ``@attrs.frozen`` class has no
``__init__`` to show: the reference would print ``RetryPolicy()``. This extension
builds one from the class's annotated fields, as attrs does (in order, ``kw_only``
from the decorator or the field, defaults from ``attrs.field(default=...)`` or the
plain value), and sets each parameter's docstring to the field's, so mkdocstrings
shows ``RetryPolicy(*, max_attempts=4, backoff_base=0.5, ...)``. A field's value is
shown as its default (``= 4``), not as the ``attrs.field(...)`` call that sets it.
Only the forms the SDK uses are understood: ``attrs.frozen``/``attrs.define``/
``attrs.mutable``, with or without arguments, on a class whose attrs fields are all
its own.

An attribute set in ``__init__`` from the parameter of the same name
(``self.status = status``) takes that parameter's annotation, one set to a call
(``self.faults = FaultPlan(...)``) the called class as its annotation, and neither
shows how ``__init__`` computes it (``status: int``, not ``status = status``).
"""

from __future__ import annotations

from typing import Any

import griffe

#: The decorators that make an attrs class, as griffe names them once resolved.
_ATTRS_DECORATORS = frozenset(
    f"{module}.{name}"
    for module in ("attrs", "attr")
    for name in ("frozen", "define", "mutable", "s", "attrs")
)


def _attrs_decorator(cls: griffe.Class) -> griffe.Expr | str | None:
    """The class's attrs decorator expression, or None when it is no attrs class."""
    for decorator in cls.decorators:
        value = decorator.value
        target = value.function if isinstance(value, griffe.ExprCall) else value
        path = target.canonical_path if isinstance(target, griffe.Expr) else str(target)
        if path in _ATTRS_DECORATORS:
            return value
    return None


def _keywords(expr: object) -> dict[str, Any]:
    """The keyword arguments of a call expression (empty for anything else)."""
    if not isinstance(expr, griffe.ExprCall):
        return {}
    return {
        argument.name: argument.value
        for argument in expr.arguments
        if isinstance(argument, griffe.ExprKeyword)
    }


def _field_call(attribute: griffe.Attribute) -> griffe.ExprCall | None:
    """The ``attrs.field(...)`` call an attribute is assigned, if it is one."""
    value = attribute.value
    if isinstance(value, griffe.ExprCall):
        function = value.function
        name = function.canonical_path if isinstance(function, griffe.Expr) else str(function)
        if name in ("attrs.field", "attr.ib", "attr.field", "attrs.attrib"):
            return value
    return None


def _parameters(cls: griffe.Class, decorator: griffe.Expr | str) -> list[griffe.Parameter]:
    """The ``__init__`` parameters attrs makes of the class's fields, keyword-only last."""
    all_kw_only = str(_keywords(decorator).get("kw_only")) == "True"
    positional: list[griffe.Parameter] = []
    keyword: list[griffe.Parameter] = []
    for member in cls.members.values():
        if not isinstance(member, griffe.Attribute) or member.annotation is None:
            continue
        if "property" in member.labels or member.name.startswith("__"):
            continue
        call = _field_call(member)
        options = _keywords(call)
        if str(options.get("init")) == "False":
            continue
        if call is not None:
            default: str | griffe.Expr | None = options.get("default")
            if default is None and "factory" in options:
                default = griffe.ExprCall(function=options["factory"], arguments=[])
            member.value = default  # the reference shows ``= 4``, not ``= attrs.field(...)``
        else:
            default = member.value
        kw_only = all_kw_only or str(options.get("kw_only")) == "True"
        parameter = griffe.Parameter(
            member.name.lstrip("_"),  # attrs strips a leading underscore from the argument
            annotation=member.annotation,
            kind=griffe.ParameterKind.keyword_only
            if kw_only
            else griffe.ParameterKind.positional_or_keyword,
            default=default,
            docstring=member.docstring,
        )
        (keyword if kw_only else positional).append(parameter)
    return positional + keyword


def _typed_from_init(cls: griffe.Class) -> None:
    """Give ``self.x = x`` attributes the annotation of ``__init__``'s parameter ``x``."""
    init = cls.members.get("__init__")
    if not isinstance(init, griffe.Function):
        return
    parameters = {parameter.name: parameter for parameter in init.parameters}
    for member in cls.members.values():
        if not isinstance(member, griffe.Attribute) or "class-attribute" in member.labels:
            continue
        parameter = parameters.get(str(member.value))
        if member.annotation is None and parameter is not None:
            member.annotation = parameter.annotation
        elif member.annotation is None and isinstance(member.value, griffe.ExprCall):
            member.annotation = member.value.function  # ``FaultPlan(...)``: a FaultPlan
        if isinstance(member.value, griffe.Expr):
            member.value = None  # how __init__ computes it is no part of the reference


def _apply(obj: griffe.Module | griffe.Class, seen: set[str]) -> None:
    """Add the ``__init__`` of every attrs class in ``obj``, recursively."""
    if obj.path in seen:
        return
    seen.add(obj.path)
    if isinstance(obj, griffe.Class):
        _typed_from_init(obj)
    if isinstance(obj, griffe.Class) and "__init__" not in obj.members:
        decorator = _attrs_decorator(obj)
        if decorator is not None:
            init = griffe.Function(
                "__init__",
                lineno=0,
                endlineno=0,
                parent=obj,
                parameters=griffe.Parameters(
                    griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword),
                    *_parameters(obj, decorator),
                ),
                returns="None",
            )
            obj.set_member("__init__", init)
            obj.labels.add("attrs")
    for member in obj.members.values():
        if not member.is_alias and isinstance(member, griffe.Module | griffe.Class):
            _apply(member, seen)


class AttrsInit(griffe.Extension):
    """Create the ``__init__`` of attrs classes, from their fields."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Add the generated ``__init__`` to every attrs class of the loaded package."""
        _apply(pkg, set())
