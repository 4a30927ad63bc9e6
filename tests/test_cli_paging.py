"""How the listing commands page, as the official CLI does: every page by default, one page
with --page or --cursor (every page from there with --all), and --max-items handed to the
SDK, with the next cursor (and a note for a page cut short) on stderr."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from northflank_async import NorthflankSession
from northflank_async.testing import MockNorthflank
from tests.cli_support import BACKUPS_ARGS, cli, connect
from tests.conftest import ADDON, PROJECT


def _backups(mock: MockNorthflank, count: int) -> list[str]:
    return [b["id"] for b in mock.generate_backups(PROJECT, ADDON, count)]


def _projects(mock: MockNorthflank, count: int) -> list[str]:
    return [mock.add_project(f"project-{n:03d}")["id"] for n in range(count)]


def _addons(mock: MockNorthflank, count: int) -> list[str]:
    return [mock.add_addon(PROJECT, f"db-{n:03d}")["id"] for n in range(count)]


#: Each paged listing: how to fill the mock (returning the ids in API order), its
#: command line and the noun of what it lists.
LISTINGS: dict[str, tuple[Callable[[MockNorthflank, int], list[str]], tuple[str, ...], str]] = {
    "addon-backups": (_backups, BACKUPS_ARGS, "backup"),
    "projects": (_projects, ("list", "projects"), "project"),
    "addons": (_addons, ("list", "addons", "--projectId", PROJECT), "addon"),
}

listings = pytest.mark.parametrize("listing", list(LISTINGS))


async def _ids(mock: MockNorthflank, listing: str, *argv: str) -> tuple[int, list[str], str]:
    """Run ``listing`` with ``argv`` as jsonl: its exit code, the ids printed, its stderr."""
    _, args, _ = LISTINGS[listing]
    result = await cli(*args, *argv, "-o", "jsonl", *connect(mock))
    return result.code, [json.loads(line)["id"] for line in result.out.splitlines()], result.err


def _cursor(err: str) -> str:
    """The cursor of the ``next cursor:`` line, the last line of ``err``."""
    last = err.splitlines()[-1]
    assert last.startswith("next cursor: "), err
    return last.removeprefix("next cursor: ")


# -- every page, or one --------------------------------------------------------------------------


@listings
async def test_every_page_by_default(mock: MockNorthflank, listing: str) -> None:
    """Without --page or --cursor, a listing follows every page, and says no cursor."""
    ids = LISTINGS[listing][0](mock, 23)

    assert (0, ids, "") == await _ids(mock, listing, "--per_page", "10")
    assert 3 == len(mock.requests)


@listings
async def test_page_or_cursor_prints_one_page(mock: MockNorthflank, listing: str) -> None:
    """--page prints that one page and the next cursor; --cursor that cursor's page."""
    ids = LISTINGS[listing][0](mock, 23)

    code, page_2, err = await _ids(mock, listing, "--per_page", "10", "--page", "2")
    last = await _ids(mock, listing, "--per_page", "10", "--cursor", _cursor(err))

    assert (0, ids[10:20]) == (code, page_2)
    assert (0, ids[20:], "") == last
    assert 2 == len(mock.requests)


@listings
async def test_all_walks_on_from_the_page_or_cursor(mock: MockNorthflank, listing: str) -> None:
    """--all with --page or --cursor walks every page from there on."""
    ids = LISTINGS[listing][0](mock, 35)
    _, _, err = await _ids(mock, listing, "--per_page", "10", "--page", "1")
    cursor = _cursor(err)

    from_page = await _ids(mock, listing, "--per_page", "10", "--page", "2", "--all")
    from_cursor = await _ids(mock, listing, "--per_page", "10", "--cursor", cursor, "--all")

    assert (0, ids[10:], "") == from_page
    assert (0, ids[10:], "") == from_cursor
    assert 1 + 3 + 3 == len(mock.requests)


# -- --max-items -----------------------------------------------------------------------------------


@listings
async def test_max_items_asks_for_no_page_past_them(mock: MockNorthflank, listing: str) -> None:
    """--max-items 7 --per_page 5 is two requests; stderr notes the 3 results the cut page
    hides, then the cursor of the page after it."""
    fill, _, noun = LISTINGS[listing]
    ids = fill(mock, 20)

    code, printed, err = await _ids(mock, listing, "--max-items", "7", "--per_page", "5")
    requests = len(mock.requests)
    after = await _ids(mock, listing, "--per_page", "5", "--cursor", _cursor(err))

    assert (0, ids[:7], 2) == (code, printed, requests)
    assert (
        f"note: 3 {noun}s of the last page not shown (--max-items); the next cursor goes on "
        "after them (a --max-items multiple of --per_page ends on a page boundary)\n"
    ) == err.splitlines(keepends=True)[0]
    assert 2 == len(err.splitlines())
    assert ids[10:15] == after[1]


@pytest.mark.parametrize(
    ("listing", "method"),
    [
        ("addon-backups", "list_backup_pages"),
        ("projects", "list_project_pages"),
        ("addons", "list_addon_pages"),
    ],
)
async def test_max_items_is_handed_to_the_sdk(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch, listing: str, method: str
) -> None:
    """The walk gets --max-items, so the SDK never even starts a request for a page past it
    (one it would prefetch, then cancel, when the CLI cut the walk short itself)."""
    LISTINGS[listing][0](mock, 20)
    asked: list[object] = []
    real = getattr(NorthflankSession, method)

    def spy(self: NorthflankSession, *args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("max_items"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(NorthflankSession, method, spy)

    code, printed, _ = await _ids(mock, listing, "--max-items", "7", "--per_page", "5")

    assert (0, 7, [7]) == (code, len(printed), asked)


async def test_max_items_on_a_page_boundary_prints_just_the_cursor(mock: MockNorthflank) -> None:
    """--max-items 10 --per_page 5 ends on a page: two requests, the cursor and no note."""
    ids = _backups(mock, 20)

    code, printed, err = await _ids(mock, "addon-backups", "--max_items", "10", "--per-page", "5")
    after = await _ids(mock, "addon-backups", "--per_page", "5", "--cursor", _cursor(err))

    assert (0, ids[:10], 1) == (code, printed, len(err.splitlines()))
    assert 3 == len(mock.requests)
    assert ids[10:15] == after[1]


async def test_max_items_with_quiet_prints_the_cursor_alone(mock: MockNorthflank) -> None:
    """--quiet leaves the note out, never the cursor: a script needs it."""
    _backups(mock, 20)

    code, printed, err = await _ids(
        mock, "addon-backups", "--max-items", "7", "--per_page", "5", "--quiet"
    )

    assert (0, 7) == (code, len(printed))
    assert [f"next cursor: {_cursor(err)}"] == err.splitlines()


@pytest.mark.parametrize("max_items", ["7", "10", "50"])
async def test_max_items_reaching_the_end_prints_no_cursor(
    mock: MockNorthflank, max_items: str
) -> None:
    """When the last page fetched is the last one, there is no cursor and no note."""
    ids = _backups(mock, 10)

    code, printed, err = await _ids(
        mock, "addon-backups", "--max-items", max_items, "--per_page", "5"
    )

    assert (0, ids[: int(max_items)], "") == (code, printed, err)


async def test_max_items_cuts_one_page_too(mock: MockNorthflank) -> None:
    """With --page, --max-items cuts that one page, notes the rest and prints its cursor."""
    ids = _backups(mock, 20)

    code, printed, err = await _ids(
        mock, "addon-backups", "--page", "1", "--per_page", "5", "--max-items", "3"
    )
    after = await _ids(mock, "addon-backups", "--per_page", "5", "--cursor", _cursor(err))

    assert (0, ids[:3], 2) == (code, printed, len(err.splitlines()))
    assert err.startswith("note: 2 backups of the last page not shown (--max-items)")
    assert 2 == len(mock.requests)
    assert ids[5:10] == after[1]


@listings
async def test_help_says_how_a_listing_pages(listing: str) -> None:
    """Each listing's --help says it walks every page unless --page or --cursor."""
    _, args, _ = LISTINGS[listing]

    result = await cli(*args, "--help")

    assert 0 == result.code
    assert "Like the official CLI: every page, unless --page or --cursor asks for one page" in (
        result.out
    )
