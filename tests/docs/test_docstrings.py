"""Every public name is documented as the API reference renders it, and is in the reference.

The public names are those of ``northflank_async.__all__`` and
``northflank_async.testing.__all__``, with their public methods, properties and
attributes (inherited ones once: ``NorthflankSession`` gets most of its methods from
mixins). They are read by griffe, with the extension of ``mkdocs.yml``, exactly as
mkdocstrings reads them to build ``docs/reference/``: a docstring griffe does not see
is a docstring the reference does not show.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import griffe
import pytest

import northflank_async
import northflank_async.testing
from northflank_async import NorthflankSession
from northflank_async.testing import MockNorthflank

REPOSITORY = Path(__file__).resolve().parents[2]
REFERENCE = REPOSITORY / "docs" / "reference"
#: The griffe extension mkdocs.yml loads (attrs classes get their ``__init__``).
EXTENSION = f"{REPOSITORY / 'docs' / '_griffe' / 'attrs_init.py'}:AttrsInit"
SESSION = "northflank_async.NorthflankSession"
#: The session's methods that send no request, so need not say what a request raises.
SENDS_NO_REQUEST = frozenset({"close"})
#: Sphinx roles and reST literal blocks: mkdocstrings shows them as raw text.
RAW_SPHINX = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj):`|^\s*Example::\s*$", re.M)


@dataclass(frozen=True)
class Public:
    """One public object: the dotted name users reach it by, and what griffe read."""

    name: str
    obj: griffe.Object

    @property
    def owner(self) -> str:
        """The public name of the module or class it belongs to."""
        return self.name.rpartition(".")[0]


def public_names() -> list[str]:
    """Every dotted name of both ``__all__`` lists, in their order."""
    return [
        f"{module.__name__}.{name}"
        for module in (northflank_async, northflank_async.testing)
        for name in module.__all__
    ]


@cache
def package() -> griffe.Module:
    """The package as griffe reads it for the reference."""
    loaded = griffe.load(
        "northflank_async",
        search_paths=[str(REPOSITORY)],
        docstring_parser="sphinx",
        extensions=griffe.load_extensions(EXTENSION),
    )
    assert isinstance(loaded, griffe.Module)
    return loaded


def _target(obj: griffe.Object | griffe.Alias) -> griffe.Object | None:
    """What an alias points to (None outside the package: builtins, the standard library)."""
    try:
        target = obj.final_target if isinstance(obj, griffe.Alias) else obj
    except griffe.AliasResolutionError:
        return None
    return target if target.path.startswith("northflank_async.") else None


@cache
def public_objects() -> tuple[Public, ...]:
    """Every public object once, by the first public name that reaches it.

    A member inherited by several public classes (the mixins' methods, an error's
    attributes) is checked under the first of them, as the reference shows it there.
    """
    seen: set[str] = set()
    found: list[Public] = []

    def add(name: str, obj: griffe.Object) -> None:
        if obj.path not in seen:
            seen.add(obj.path)
            found.append(Public(name, obj))

    for name in public_names():
        obj = _target(package()[name.removeprefix("northflank_async.")])
        assert obj is not None, f"{name} does not resolve to the package"
        add(name, obj)
        if not obj.is_class:
            continue
        for member_name, member in obj.all_members.items():
            target = None if member_name.startswith("_") else _target(member)
            if target is not None:
                add(f"{name}.{member_name}", target)
    return tuple(found)


def _by_name() -> dict[str, Public]:
    return {public.name: public for public in public_objects()}


def summary_problem(text: str) -> str | None:
    """What is wrong with a docstring's first line as a summary, or None.

    A summary is one line, a sentence ending with a period, and is followed by a blank
    line (or nothing).
    """
    lines = text.strip().splitlines()
    if not lines or not lines[0].strip():
        return "no summary line"
    if len(lines) > 1 and lines[1].strip():
        return f"the summary runs over one line: {lines[0]!r} / {lines[1]!r}"
    if not lines[0].rstrip().endswith("."):
        return f"the summary is not a sentence ending with a period: {lines[0]!r}"
    return None


def _sections(
    obj: griffe.Object, caplog: pytest.LogCaptureFixture
) -> list[griffe.DocstringSection]:
    """The parsed sections of ``obj``'s docstring; any warning griffe logs fails the test."""
    assert obj.docstring is not None
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="griffe"):
        sections = obj.docstring.parse("sphinx")
    warnings = [record.getMessage() for record in caplog.records]
    assert [] == warnings, f"griffe cannot read the docstring of {obj.path} cleanly"
    return sections


def _documented(sections: list[griffe.DocstringSection]) -> set[str]:
    """The parameter names a docstring's ``:param`` fields document."""
    return {
        parameter.name
        for section in sections
        if section.kind is griffe.DocstringSectionKind.parameters
        for parameter in section.value
    }


def _signature(obj: griffe.Object) -> list[str]:
    """The parameters a user passes (not ``self``/``cls``): a function's, or the class's
    ``__init__``'s (attrs and dataclass ones as generated)."""
    function = obj.members.get("__init__") if obj.is_class else obj
    if not isinstance(function, griffe.Function) or "property" in function.labels:
        return []
    return [p.name for p in function.parameters if p.name not in ("self", "cls")]


def _field_docstrings(cls: griffe.Object) -> set[str]:
    """The fields of an attrs or dataclass class that carry a docstring of their own."""
    return {
        name
        for name, member in cls.members.items()
        if isinstance(member, griffe.Attribute) and member.docstring is not None
    }


def _request_methods() -> list[Public]:
    """The session's methods that send a request (every one but ``SENDS_NO_REQUEST``)."""
    return [
        public
        for public in public_objects()
        if public.owner == SESSION
        and isinstance(public.obj, griffe.Function)
        and "property" not in public.obj.labels
        and public.name.rpartition(".")[2] not in SENDS_NO_REQUEST
    ]


def _directives() -> Iterator[tuple[str, str]]:
    """``(page, identifier)`` of every ``::: identifier`` line of the reference pages."""
    for page in sorted(REFERENCE.glob("*.md")):
        for match in re.finditer(r"^::: (\S+)\s*$", page.read_text(encoding="utf-8"), re.M):
            yield page.name, match.group(1)


# -- the checker's own rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("One backup of an addon.", None),
        ("One backup of an addon.\n\nMore about it.", None),
        ("", "no summary line"),
        ("One backup\nof an addon.", "the summary runs over one line"),
        ("One backup of an addon", "the summary is not a sentence ending with a period"),
    ],
)
def test_a_summary_is_one_line_ending_with_a_period(text: str, problem: str | None) -> None:
    """The summary rule accepts a one-line sentence and names each way to break it."""
    found = summary_problem(text)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(problem)


def test_the_walk_finds_the_session_methods_the_mixins_give_it() -> None:
    """Inherited methods are checked once, under the session that makes them public."""
    names = {public.name for public in public_objects()}
    for method in ("list_backups", "create_backup", "list_restores", "download_backup"):
        assert f"{SESSION}.{method}" in names
    assert "check_backups" in {p.name.rpartition(".")[2] for p in _request_methods()}


async def test_the_session_methods_exempt_from_raises_send_no_request() -> None:
    """``close`` (the one method without ``:raises``) sends nothing to the API."""
    async with MockNorthflank() as mock:
        nf = NorthflankSession(mock.token, base_url=mock.base_url)
        for name in sorted(SENDS_NO_REQUEST):
            await getattr(nf, name)()
    assert [] == mock.requests


# -- every public object --------------------------------------------------------------------------


@pytest.mark.parametrize("name", [public.name for public in public_objects()])
def test_the_docstring_has_a_one_line_summary(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """The object has a docstring griffe reads cleanly, opening with a one-line sentence,
    with no Sphinx role or ``Example::`` block (mkdocstrings would show them raw)."""
    obj = _by_name()[name].obj
    assert obj.docstring is not None, f"{name} has no docstring"
    problem = summary_problem(obj.docstring.value)
    assert problem is None, f"{name}: {problem}"
    raw = RAW_SPHINX.findall(obj.docstring.value)
    assert [] == raw, f"{name} uses reST that the reference shows raw"
    _sections(obj, caplog)


@pytest.mark.parametrize(
    "name",
    [public.name for public in public_objects() if _signature(public.obj)],
)
def test_every_parameter_is_documented(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """Each parameter of the signature has a ``:param``; a class's are in its docstring
    (merged with ``__init__``'s, as the reference shows them), or, for an attrs or
    dataclass field, in the field's own docstring."""
    obj = _by_name()[name].obj
    documented = _documented(_sections(obj, caplog))
    if obj.is_class:
        init = obj.members["__init__"]
        if isinstance(init, griffe.Function) and init.docstring is not None:
            documented |= _documented(_sections(init, caplog))
        documented |= _field_docstrings(obj)
    missing = [parameter for parameter in _signature(obj) if parameter not in documented]
    assert [] == missing, f"{name}: parameters without a :param"


@pytest.mark.parametrize("name", [public.name for public in _request_methods()])
def test_a_session_method_that_sends_a_request_says_what_it_raises(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every NorthflankSession method that talks to the API has ``:raises`` fields."""
    sections = _sections(_by_name()[name].obj, caplog)
    raises = [s for s in sections if s.kind is griffe.DocstringSectionKind.raises]
    assert raises, f"{name} does not say what it raises"


# -- the reference pages --------------------------------------------------------------------------


@pytest.mark.parametrize("name", public_names())
def test_every_public_name_is_rendered_in_the_reference(name: str) -> None:
    """Each name of both ``__all__`` has a ``::: name`` directive under docs/reference/, so
    its dotted path is an anchor guides can link to."""
    pages = [page for page, identifier in _directives() if identifier == name]
    assert len(pages) == 1, f"{name} is rendered on {pages or 'no page'} of docs/reference/"


def test_the_session_page_renders_every_public_method_once() -> None:
    """docs/reference/session.md has one ``:::`` directive per public member of the
    session, each exactly once, and none for a name the session does not have."""
    expected = Counter(
        public.name.rpartition(".")[2] for public in public_objects() if public.owner == SESSION
    )
    actual = Counter(
        identifier.removeprefix(f"{SESSION}.")
        for page, identifier in _directives()
        if page == "session.md" and identifier.startswith(f"{SESSION}.")
    )
    assert expected == actual


def test_the_reference_index_lists_every_public_name() -> None:
    """docs/reference/index.md links every public name once, by its dotted anchor."""
    text = (REFERENCE / "index.md").read_text(encoding="utf-8")
    linked = Counter(re.findall(r"\]\[(northflank_async[\w.]*)\]", text))
    assert dict.fromkeys(public_names(), 1) == dict(linked)
