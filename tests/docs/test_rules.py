"""README.md and every page under docs/ follow the docs conventions' rules for blocks, so
that no command or example escapes the runs of ``test_snippets.py``."""

from __future__ import annotations

import pytest

from tests.docs.blocks import Document
from tests.docs.rules import (
    console_violations,
    include_violations,
    language_violations,
    marker_violations,
    no_run_violations,
    unclosed_violations,
)
from tests.docs.sources import REPOSITORY, docstrings, load, markdown_pages


@pytest.fixture(scope="module")
def pages() -> list[Document]:
    """README.md and the pages under docs/, parsed."""
    return [load(page) for page in markdown_pages()]


def _exists(path: str) -> bool:
    return (REPOSITORY / path).is_file()


def _report(violations: list[str]) -> str:
    return f"{len(violations)} problem(s):\n" + "\n".join(violations)


def test_every_fence_names_a_language_that_is_run_or_shown(pages: list[Document]) -> None:
    """Every fence has a language; none is bash/sh/shell (commands go in `console`, which
    is run) or a Python alias such as `py` (only `python` is run)."""
    violations = language_violations(pages)
    assert [] == violations, _report(violations)


def test_every_fence_is_closed(pages: list[Document]) -> None:
    """No fence runs to the end of its page."""
    violations = unclosed_violations(pages)
    assert [] == violations, _report(violations)


def test_include_only_python_blocks_name_existing_files(pages: list[Document]) -> None:
    """A `--8<-- "path"` block names a file of the repository, and stands alone."""
    violations = include_violations(pages, _exists)
    assert [] == violations, _report(violations)


def test_docs_markers_are_known_and_sit_on_a_fence(pages: list[Document]) -> None:
    """Every `<!-- docs: ... -->` marker is no-run, no-run: reason or realistic, directly
    above a fence (realistic: a console one)."""
    violations = marker_violations(pages)
    assert [] == violations, _report(violations)


def test_console_blocks_read_as_commands(pages: list[Document]) -> None:
    """Every `$ echo $?` follows a command and shows a number."""
    violations = console_violations(pages)
    assert [] == violations, _report(violations)


def test_at_most_a_tenth_of_the_python_blocks_are_no_run(pages: list[Document]) -> None:
    """No-run Python blocks are counted (and printed); more than 10 % of them all fails."""
    listed, violations = no_run_violations(pages)
    total = sum(len(page.python_blocks()) for page in pages)
    print(
        f"{len(listed)} of {total} Python blocks are no-run" + "".join(f"\n  {w}" for w in listed)
    )
    assert [] == violations, _report(violations)


def test_docstring_fences_name_a_language_that_is_run_or_shown() -> None:
    """The fences of the public docstrings follow the pages' language rules too (their
    Python examples are run by test_snippets.py; the count is printed)."""
    documents = [d.document for found in docstrings().values() for d in found]
    count = sum(len(document.python_blocks()) for document in documents)
    print(f"{count} Python blocks in {len(documents)} public docstrings")
    violations = (
        language_violations(documents)
        + unclosed_violations(documents)
        + marker_violations(documents)
    )
    assert [] == violations, _report(violations)
