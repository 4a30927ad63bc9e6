"""Where the code blocks come from: README.md, every page under docs/, and the docstrings
of the public names (``northflank_async.__all__``, ``northflank_async.testing.__all__``).

``python -m tests.docs.sources`` prints how many blocks each page holds.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import northflank_async
import northflank_async.testing
from tests.docs.blocks import Block, ConsoleError, Document, parse_console, parse_markdown

__all__ = [
    "REPOSITORY",
    "Docstring",
    "console_blocks",
    "docstrings",
    "load",
    "markdown_pages",
]

REPOSITORY = Path(__file__).resolve().parents[2]
#: The modules whose ``__all__`` names the public API.
PUBLIC_MODULES: tuple[types.ModuleType, ...] = (northflank_async, northflank_async.testing)


def markdown_pages() -> list[str]:
    """README.md, then every Markdown page under docs/, as repository-relative paths."""
    docs = sorted(
        path.relative_to(REPOSITORY).as_posix() for path in REPOSITORY.glob("docs/**/*.md")
    )
    return ["README.md", *docs]


@cache
def load(page: str) -> Document:
    """The blocks of a repository-relative Markdown page (read once per test run)."""
    return parse_markdown((REPOSITORY / page).read_text(encoding="utf-8"), page)


def console_blocks(document: Document) -> list[Block]:
    """The page's console blocks that would run a command: at least one ``northflank-async``
    command, or one that cannot be read (the test then fails with the reason)."""
    found: list[Block] = []
    for block in document.blocks:
        if block.language != "console" or block.no_run:
            continue
        try:
            commands = parse_console(block)
        except ConsoleError:
            found.append(block)
            continue
        if any(command.runs_cli for command in commands):
            found.append(block)
    return found


# -- docstrings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Docstring:
    """The docstring of one public name, parsed (``document.path`` is the dotted name)."""

    name: str
    document: Document


def _underlying(attribute: object) -> object | None:
    """The function whose docstring documents a class attribute, or None when it is not
    a method or property (a field, a constant, an enum member)."""
    if isinstance(attribute, staticmethod | classmethod):
        return attribute.__func__
    if isinstance(attribute, property):
        return attribute.fget
    if isinstance(attribute, cached_property):
        return attribute.func
    if isinstance(attribute, types.FunctionType):
        return attribute
    return None


def _ours(function: object) -> bool:
    return str(getattr(function, "__module__", "")).startswith("northflank_async")


def _doc_of(attribute: object) -> str | None:
    """A member's own docstring (a property's is its getter's unless given)."""
    doc = getattr(attribute, "__doc__", None)
    return doc if isinstance(doc, str) else None


def _public_objects() -> Iterator[tuple[str, object]]:
    """Every public name of the public modules, with its dotted name, in ``__all__`` order."""
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            yield f"{module.__name__}.{name}", getattr(module, name)


@cache
def docstrings() -> dict[str, tuple[Docstring, ...]]:
    """The docstrings to run, by owner: a public module (its own docstring and its public
    functions') or a public class (its own and its public methods' and properties').

    A member one public class inherits from another is run once, under the class that
    defines it when that class is public, else under the first public class that has it.
    """
    owners: dict[str, list[tuple[str, object]]] = {}
    classes = {obj: dotted for dotted, obj in _public_objects() if inspect.isclass(obj)}
    seen: set[int] = set()
    for module in PUBLIC_MODULES:
        owners[module.__name__] = [(module.__name__, module)]
    for dotted, obj in _public_objects():
        if inspect.isfunction(obj) and _ours(obj):
            owners[dotted.rsplit(".", 1)[0]].append((dotted, obj))
        elif inspect.isclass(obj) and _ours(obj):
            owners.setdefault(dotted, []).append((dotted, obj))
    for cls, dotted in classes.items():
        if not _ours(cls):
            continue
        for name in sorted(dir(cls)):
            if name.startswith("_"):
                continue
            definer = next((k for k in cls.__mro__ if name in vars(k)), None)
            if definer is None:
                continue
            attribute = vars(definer)[name]
            function = _underlying(attribute)
            if function is None or not _ours(function) or id(function) in seen:
                continue
            seen.add(id(function))
            owner = classes.get(definer, dotted)
            owners.setdefault(owner, []).append((f"{owner}.{name}", attribute))
    parsed: dict[str, tuple[Docstring, ...]] = {}
    for owner, members in owners.items():
        found: list[Docstring] = []
        for dotted, obj in members:
            doc = _doc_of(obj)
            if doc:
                found.append(Docstring(dotted, parse_markdown(inspect.cleandoc(doc), dotted)))
        parsed[owner] = tuple(found)
    return parsed


# -- counts ---------------------------------------------------------------------------------------


def _counts(document: Document) -> tuple[int, int, int]:
    """The page's Python blocks, those marked no-run, and its northflank-async commands."""
    python = document.python_blocks()
    commands = 0
    for block in console_blocks(document):
        try:
            commands += sum(command.runs_cli for command in parse_console(block))
        except ConsoleError:
            continue
    return len(python), sum(block.no_run for block in python), commands


def report(write: Callable[[str], object] = print) -> None:
    """Print, per page, its Python blocks (no-run ones) and its northflank-async commands."""
    write(f"{'page':40} {'python':>7} {'no-run':>7} {'cli':>5}")
    for page in markdown_pages():
        python, no_run, commands = _counts(load(page))
        write(f"{page:40} {python:7} {no_run:7} {commands:5}")
    runnable = {
        owner: sum(len(d.document.python_blocks()) for d in found)
        for owner, found in docstrings().items()
    }
    write(f"docstrings: {sum(runnable.values())} Python blocks")
    for owner, count in runnable.items():
        if count:
            write(f"  {owner:44} {count:3}")


if __name__ == "__main__":
    report()
