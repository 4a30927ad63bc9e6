"""The rules every page's blocks follow, as pure functions: each returns its violations,
one ``path:line: what is wrong`` line each (an empty list when the pages are right).

``tests/docs/test_rules.py`` applies them to README.md and docs/; the unit tests apply
them to small texts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tests.docs.blocks import (
    PYTHON_ALIASES,
    SHELL_LANGUAGES,
    ConsoleError,
    Document,
    Marker,
    mixes_snippets,
    parse_console,
    snippet_paths,
)

__all__ = [
    "MAX_NO_RUN_SHARE",
    "console_violations",
    "include_violations",
    "language_violations",
    "marker_violations",
    "no_run_violations",
    "unclosed_violations",
]

#: The largest share of a site's Python blocks that may be marked no-run.
MAX_NO_RUN_SHARE = 0.10


def language_violations(documents: Iterable[Document]) -> list[str]:
    """Fences without a language, with a shell language, or a Python alias."""
    found: list[str] = []
    for document in documents:
        for block in document.blocks:
            language = block.language
            if not language:
                found.append(
                    f"{block.where}: a fence without a language (python, console, text, ...)"
                )
            elif language in SHELL_LANGUAGES:
                found.append(
                    f"{block.where}: a `{language}` fence: write commands in a `console` "
                    "fence, so the tests run them"
                )
            elif language in PYTHON_ALIASES:
                found.append(
                    f"{block.where}: a `{language}` fence: write `python` (only `python` "
                    "blocks are run)"
                )
    return found


def unclosed_violations(documents: Iterable[Document]) -> list[str]:
    """Fences never closed (the rest of the page would be code)."""
    return [
        f"{block.where}: this fence is never closed"
        for document in documents
        for block in document.blocks
        if not block.closed
    ]


def include_violations(documents: Iterable[Document], exists: Callable[[str], bool]) -> list[str]:
    """Include-only Python blocks naming a missing file, and blocks mixing ``--8<--``
    lines with code; ``exists`` says whether a repository-relative path exists."""
    found: list[str] = []
    for document in documents:
        for block in document.blocks:
            if block.language != "python":
                continue
            if mixes_snippets(block):
                found.append(
                    f'{block.where}: a `--8<-- "path"` line among code: an include goes '
                    "alone in its block"
                )
            for path in snippet_paths(block) or ():
                # A line range or section (`file.py:10:20`) follows the path.
                if not (exists(path) or exists(path.split(":", 1)[0])):
                    found.append(f"{block.where}: includes {path!r}, which does not exist")
    return found


def marker_violations(documents: Iterable[Document]) -> list[str]:
    """Unknown ``<!-- docs: ... -->`` markers, markers above no fence, and ``realistic``
    above anything but a console block."""
    found: list[str] = []
    for document in documents:
        for marker in document.stray_markers:
            found.append(
                f"{document.path}:{marker.line}: `<!-- docs: {marker.text} -->` is not "
                "directly above a fence (no blank line between them)"
            )
        for block in document.blocks:
            for marker in block.markers:
                where = f"{document.path}:{marker.line}"
                if not marker.known:
                    found.append(
                        f"{where}: unknown marker `<!-- docs: {marker.text} -->` (known: "
                        "no-run, no-run: reason, realistic)"
                    )
                elif marker.kind == "realistic" and block.language != "console":
                    found.append(f"{where}: `realistic` only applies to a console block")
    return found


def console_violations(documents: Iterable[Document]) -> list[str]:
    """Console blocks that cannot be read as commands (a misplaced ``$ echo $?``)."""
    found: list[str] = []
    for document in documents:
        for block in document.blocks:
            if block.language != "console":
                continue
            try:
                parse_console(block)
            except ConsoleError as error:
                found.append(str(error))
    return found


def no_run_violations(documents: Iterable[Document]) -> tuple[list[str], list[str]]:
    """The Python blocks marked no-run, and a violation when they are more than
    MAX_NO_RUN_SHARE of them all (include-only blocks are not counted)."""
    blocks = [block for document in documents for block in document.python_blocks()]
    skipped = [block for block in blocks if block.no_run]
    listed = [
        block.where + (f" ({reason})" if (reason := _reason(block.markers)) else "")
        for block in skipped
    ]
    if len(skipped) <= MAX_NO_RUN_SHARE * len(blocks):
        return listed, []
    return listed, [
        f"{len(skipped)} of {len(blocks)} Python blocks are no-run, more than "
        f"{MAX_NO_RUN_SHARE:.0%}: make some runnable ({', '.join(listed)})"
    ]


def _reason(markers: Iterable[Marker]) -> str:
    """The first reason a no-run marker gives, or an empty string."""
    return next((marker.reason for marker in markers if marker.reason), "")
