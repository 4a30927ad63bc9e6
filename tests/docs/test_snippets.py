"""Every code block of README.md and docs/, and every example in a public docstring, runs.

- Python blocks: one test per page (id: the page's path, so ``-k listing`` selects
  ``docs/guides/listing.md``), its blocks in order in one namespace against a fresh fake
  API (``tests/docs/runner.py`` says what they are given).
- Docstring examples: one test per public module or class (id: its dotted name), each
  docstring's blocks against a fake API of their own.
- Console blocks: one test per block running ``northflank-async`` (id: ``path:line``),
  each such command run with bash against a fresh fake API, its exit code checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.blocks import Block, ConsoleError, parse_console
from tests.docs.runner import (
    check_no_tasks_left,
    page_fixtures,
    run_console_block,
    run_python_blocks,
)
from tests.docs.sources import console_blocks, docstrings, load, markdown_pages

PAGES = markdown_pages()
PYTHON_PAGES = [page for page in PAGES if any(not b.no_run for b in load(page).python_blocks())]
CONSOLE_BLOCKS = [block for page in PAGES for block in console_blocks(load(page))]
DOCSTRING_OWNERS = [
    owner
    for owner, found in docstrings().items()
    if any(not b.no_run for d in found for b in d.document.python_blocks())
]


@pytest.mark.parametrize("page", PYTHON_PAGES)
async def test_python_blocks(page: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The page's Python blocks run in order, in one namespace, against a fresh fake API,
    and leave no session, file or task open."""
    async with page_fixtures(monkeypatch, tmp_path) as fixtures:
        await run_python_blocks(load(page).python_blocks(), fixtures)
    await check_no_tasks_left(page)


@pytest.mark.parametrize("owner", DOCSTRING_OWNERS)
async def test_docstring_examples(
    owner: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The Python examples of the owner's docstrings run, each docstring's in one
    namespace against a fake API of its own, and leave nothing open."""
    for index, docstring in enumerate(docstrings()[owner]):
        blocks = docstring.document.python_blocks()
        if not any(not block.no_run for block in blocks):
            continue
        async with page_fixtures(monkeypatch, tmp_path / str(index)) as fixtures:
            await run_python_blocks(blocks, fixtures)
        await check_no_tasks_left(docstring.name)


@pytest.mark.parametrize("block", CONSOLE_BLOCKS, ids=lambda block: block.where)
def test_console_block(block: Block, tmp_path: Path) -> None:
    """Each northflank-async command of the block ends with the exit code the block shows
    (0 unless `$ echo $?` says otherwise), against a fresh fake API."""
    try:
        commands = parse_console(block)
    except ConsoleError as error:
        unreadable = str(error)
    else:
        run_console_block(block, commands, tmp_path)
        return
    pytest.fail(unreadable, pytrace=False)  # outside the except: no chain in the report
