"""The backup walks: routes, paging, resuming, limits, page objects and argument checks."""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from northflank_async import BackupPage, NorthflankSession, PaginationError, RateLimit
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, SessionFactory

ROUTE = f"/v1/projects/{PROJECT}/addons/{ADDON}/backups"
TEAM_ROUTE = f"/v1/teams/example-team/projects/{PROJECT}/addons/{ADDON}/backups"


def _ids(backups: list[dict[str, Any]]) -> list[str]:
    return [backup["id"] for backup in backups]


async def _walk_ids(nf: NorthflankSession, **kwargs: Any) -> list[str]:
    return [backup.id async for backup in nf.list_backups(PROJECT, ADDON, **kwargs)]


async def _walk_into(seen: list[str], nf: NorthflankSession, **kwargs: Any) -> None:
    async for backup in nf.list_backups(PROJECT, ADDON, **kwargs):
        seen.append(backup.id)


# -- routes ------------------------------------------------------------------------------


async def test_project_route(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Without a team, the walk requests the project route."""
    mock.generate_backups(PROJECT, ADDON, 3)

    assert _ids(mock.backups(PROJECT, ADDON)) == await _walk_ids(nf)
    assert [ROUTE] == [request.raw_path for request in mock.requests]
    assert ["GET"] == [request.method for request in mock.requests]


async def test_team_route_from_the_argument(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """``team_id=`` on the call requests the team form of the route."""
    mock.generate_backups(PROJECT, ADDON, 3)

    ids = await _walk_ids(nf, team_id=mock.team_id)

    assert _ids(mock.backups(PROJECT, ADDON)) == ids
    assert [TEAM_ROUTE] == [r.raw_path for r in mock.requests]


async def test_team_route_from_the_session(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """A session built with ``team_id`` uses the team route for every call."""
    nf = await make_session(team_id=mock.team_id)
    mock.generate_backups(PROJECT, ADDON, 3)

    await _walk_ids(nf)
    await nf.get_backup_page(PROJECT, ADDON)
    [_ async for _ in nf.list_backup_pages(PROJECT, ADDON)]

    assert [TEAM_ROUTE] * 3 == [r.raw_path for r in mock.requests]
    assert mock.team_id == nf.team_id


async def test_team_argument_wins_over_the_session_team(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """A call's ``team_id`` replaces the session's for that call."""
    nf = await make_session(team_id="other-team")
    mock.generate_backups(PROJECT, ADDON, 3)

    await _walk_ids(nf, team_id=mock.team_id)

    assert [TEAM_ROUTE] == [r.raw_path for r in mock.requests]


# -- complete walks ----------------------------------------------------------------------


@pytest.mark.parametrize("per_page", [1, 7, 50, 100])
@pytest.mark.parametrize("count", [0, 1, 100, 101, 1000])
async def test_walk_yields_every_backup_once_in_order(
    mock: MockNorthflank, nf: NorthflankSession, count: int, per_page: int
) -> None:
    """Every stored backup arrives exactly once, in the API's order, one request per page."""
    mock.add_addon(PROJECT, ADDON)
    mock.generate_backups(PROJECT, ADDON, count)

    ids = await _walk_ids(nf, per_page=per_page)

    assert _ids(mock.backups(PROJECT, ADDON)) == ids
    assert count == len(set(ids))
    assert max(1, math.ceil(count / per_page)) == len(mock.requests)
    assert {str(per_page)} == {request.query["per_page"] for request in mock.requests}


@pytest.mark.parametrize("prefetch", [True, False])
async def test_walk_follows_the_cursor_the_server_sent(
    mock: MockNorthflank, nf: NorthflankSession, prefetch: bool
) -> None:
    """The first request has only ``per_page``; each next one passes back the last cursor."""
    mock.generate_backups(PROJECT, ADDON, 25)

    pages = [
        page async for page in nf.list_backup_pages(PROJECT, ADDON, per_page=10, prefetch=prefetch)
    ]

    assert [{"per_page": "10"}] + [
        {"per_page": "10", "cursor": page.pagination.cursor} for page in pages[:-1]
    ] == [request.query for request in mock.requests]


async def test_walk_follows_uneven_server_pages(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Pages of any size, an empty one with hasNextPage included, still give every backup."""
    mock.generate_backups(PROJECT, ADDON, 20)
    mock.set_page_sizes(PROJECT, ADDON, [3, 0, 5, 1])

    pages = [page async for page in nf.list_backup_pages(PROJECT, ADDON, per_page=100)]

    assert [3, 0, 5, 1, 11] == [page.pagination.count for page in pages]
    assert _ids(mock.backups(PROJECT, ADDON)) == [b.id for page in pages for b in page.backups]


# -- max_items, page, cursor -------------------------------------------------------------


@pytest.mark.parametrize("prefetch", [True, False])
@pytest.mark.parametrize(
    ("max_items", "count", "requests"),
    [(0, 0, 0), (5, 5, 1), (10, 10, 1), (20, 20, 2), (21, 21, 3), (45, 45, 5), (1000, 45, 5)],
)
async def test_max_items_stops_without_extra_requests(
    mock: MockNorthflank,
    nf: NorthflankSession,
    prefetch: bool,
    max_items: int,
    count: int,
    requests: int,
) -> None:
    """``max_items`` yields that many backups and requests no page beyond the last needed."""
    mock.generate_backups(PROJECT, ADDON, 45)

    ids = await _walk_ids(nf, per_page=10, max_items=max_items, prefetch=prefetch)

    assert _ids(mock.backups(PROJECT, ADDON))[:count] == ids
    assert requests == len(mock.requests)


@pytest.mark.parametrize(
    ("max_items", "pages", "prefetch"),
    [(7, 2, True), (7, 2, False), (10, 2, True), (11, 3, True), (0, 1, True), (None, 5, True)],
)
async def test_page_walks_stop_requesting_at_max_items(
    mock: MockNorthflank,
    nf: NorthflankSession,
    max_items: int | None,
    pages: int,
    prefetch: bool,
) -> None:
    """``list_backup_pages(max_items=)`` requests no page once the pages so far hold that many."""
    mock.generate_backups(PROJECT, ADDON, 23)
    walk = nf.list_backup_pages(PROJECT, ADDON, per_page=5, max_items=max_items, prefetch=prefetch)
    got = [page async for page in walk]
    assert pages == len(got)
    assert pages == len(mock.requests)
    assert (pages < 5) is got[-1].pagination.has_next_page


def test_page_walks_check_max_items_at_the_call(nf: NorthflankSession) -> None:
    """Every page walk refuses a bad ``max_items`` before any request."""
    with pytest.raises(ValueError, match="max_items"):
        nf.list_backup_pages(PROJECT, ADDON, max_items=-1)
    with pytest.raises(ValueError, match="max_items"):
        nf.list_addon_pages(PROJECT, max_items=-1)
    with pytest.raises(ValueError, match="max_items"):
        nf.list_project_pages(max_items=-1)


async def test_page_starts_at_that_page(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """``page=3`` starts at the third page and walks on from there by cursor."""
    mock.generate_backups(PROJECT, ADDON, 45)

    ids = await _walk_ids(nf, per_page=10, page=3)

    assert _ids(mock.backups(PROJECT, ADDON))[20:] == ids
    assert {"per_page": "10", "page": "3"} == mock.requests[0].query
    assert 3 == len(mock.requests)
    assert all("page" not in request.query for request in mock.requests[1:])


async def test_page_beyond_the_end_is_empty(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """A page past the last one yields nothing, in one request."""
    mock.generate_backups(PROJECT, ADDON, 5)

    assert [] == await _walk_ids(nf, per_page=10, page=4)
    assert 1 == len(mock.requests)


async def test_cursor_resumes_a_walk(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """A cursor from ``get_backup_page`` resumes with exactly the backups after that page."""
    mock.generate_backups(PROJECT, ADDON, 37)
    first = await nf.get_backup_page(PROJECT, ADDON, per_page=10)
    cursor = first.pagination.cursor
    assert cursor is not None

    rest = await _walk_ids(nf, per_page=10, cursor=cursor)

    stored = _ids(mock.backups(PROJECT, ADDON))
    assert stored[:10] == [backup.id for backup in first.backups]
    assert stored[10:] == rest
    assert cursor == mock.requests[1].query["cursor"]
    assert 1 + 3 == len(mock.requests)


async def test_cursor_resumes_page_walks_and_single_pages(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """``cursor=`` also works for ``list_backup_pages`` and ``get_backup_page``."""
    mock.generate_backups(PROJECT, ADDON, 30)
    first = await nf.get_backup_page(PROJECT, ADDON, per_page=10)
    assert first.pagination.cursor is not None

    second = await nf.get_backup_page(PROJECT, ADDON, per_page=10, cursor=first.pagination.cursor)
    pages = [
        page
        async for page in nf.list_backup_pages(
            PROJECT, ADDON, per_page=10, cursor=first.pagination.cursor
        )
    ]

    stored = _ids(mock.backups(PROJECT, ADDON))
    assert stored[10:20] == [backup.id for backup in second.backups]
    assert [stored[10:20], stored[20:30]] == [[b.id for b in page.backups] for page in pages]


# -- pages -------------------------------------------------------------------------------


async def test_pages_carry_pagination_and_rate_limit(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Each BackupPage has its backups, the API's pagination, and the parsed rate limit."""
    mock.generate_backups(PROJECT, ADDON, 25)
    before = datetime.now(UTC)

    pages = [page async for page in nf.list_backup_pages(PROJECT, ADDON, per_page=10)]

    after = datetime.now(UTC)
    assert all(isinstance(page, BackupPage) for page in pages)
    assert [(True, 10), (True, 10), (False, 5)] == [
        (page.pagination.has_next_page, page.pagination.count) for page in pages
    ]
    assert pages[2].pagination.cursor is None
    cursors = [page.pagination.cursor for page in pages[:2]]
    assert all(isinstance(cursor, str) and cursor for cursor in cursors)
    assert len(set(cursors)) == 2
    stored = _ids(mock.backups(PROJECT, ADDON))
    assert stored == [backup.id for page in pages for backup in page.backups]
    limits = [page.rate_limit for page in pages]
    assert [(1000, 999), (1000, 998), (1000, 997)] == [
        (limit.limit, limit.remaining) for limit in limits if limit is not None
    ]
    for limit in limits:
        assert limit is not None
        assert before + timedelta(seconds=3599) <= limit.reset_at
        assert limit.reset_at <= after + timedelta(seconds=3601)  # reset is rounded up
        assert limit.reset_at.tzinfo is not None


async def test_session_rate_limit_is_the_latest(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """``nf.rate_limit`` is None before any answer, then the latest answer's limit."""
    mock.generate_backups(PROJECT, ADDON, 25)
    before = nf.rate_limit
    assert before is None

    first = await nf.get_backup_page(PROJECT, ADDON, per_page=10)
    assert first.rate_limit == nf.rate_limit
    pages = [page async for page in nf.list_backup_pages(PROJECT, ADDON, per_page=10)]

    assert isinstance(nf.rate_limit, RateLimit)
    assert pages[-1].rate_limit == nf.rate_limit
    assert 1000 - 4 == nf.rate_limit.remaining


async def test_get_backup_page_makes_exactly_one_request(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """``get_backup_page`` sends one request however many pages follow."""
    mock.generate_backups(PROJECT, ADDON, 250)

    page = await nf.get_backup_page(PROJECT, ADDON)

    assert _ids(mock.backups(PROJECT, ADDON))[:100] == [backup.id for backup in page.backups]
    assert page.pagination.has_next_page
    assert 100 == page.pagination.count
    assert 1 == len(mock.requests)
    assert {"per_page": "100"} == mock.requests[0].query


async def test_get_backup_page_by_number(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """``get_backup_page(page=2)`` returns the second page."""
    mock.generate_backups(PROJECT, ADDON, 25)

    page = await nf.get_backup_page(PROJECT, ADDON, per_page=10, page=2)

    assert _ids(mock.backups(PROJECT, ADDON))[10:20] == [backup.id for backup in page.backups]
    assert {"per_page": "10", "page": "2"} == mock.requests[0].query


async def test_empty_addon_gives_one_empty_page(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """An addon without backups gives one empty last page."""
    mock.add_addon(PROJECT, ADDON)

    pages = [page async for page in nf.list_backup_pages(PROJECT, ADDON)]

    assert [([], False, None, 0)] == [
        (p.backups, p.pagination.has_next_page, p.pagination.cursor, p.pagination.count)
        for p in pages
    ]


# -- cursor chains that cannot be followed -----------------------------------------------


@pytest.mark.parametrize("prefetch", [True, False])
async def test_repeated_cursor_stops_the_walk(
    mock: MockNorthflank, nf: NorthflankSession, prefetch: bool
) -> None:
    """A cursor that leads back to a page already read raises PaginationError, not a loop."""
    mock.generate_backups(PROJECT, ADDON, 30)
    mock.faults.repeat_cursor(2)
    seen: list[str] = []

    with pytest.raises(PaginationError) as caught:
        await _walk_into(seen, nf, per_page=10, prefetch=prefetch)

    assert _ids(mock.backups(PROJECT, ADDON))[:20] == seen
    assert 2 == caught.value.page
    assert 2 == len(mock.requests)


async def test_missing_cursor_stops_the_walk(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """``hasNextPage`` without a cursor raises PaginationError after that page's backups."""
    mock.generate_backups(PROJECT, ADDON, 30)
    mock.faults.omit_cursor(1)
    seen: list[str] = []

    with pytest.raises(PaginationError) as caught:
        await _walk_into(seen, nf, per_page=10)

    assert _ids(mock.backups(PROJECT, ADDON))[:10] == seen
    assert 1 == caught.value.page
    assert 1 == len(mock.requests)


# -- argument checks ---------------------------------------------------------------------

PER_PAGE = "per_page must be an int from 1 to 100"
PAGE = "page must be an int >= 1"
CURSOR = "cursor must be a non-empty string"

BAD_ARGUMENTS: list[Any] = [
    pytest.param({"per_page": 0}, PER_PAGE, id="per_page-0"),
    pytest.param({"per_page": 101}, PER_PAGE, id="per_page-101"),
    pytest.param({"per_page": "5"}, PER_PAGE, id="per_page-str"),
    pytest.param({"per_page": True}, PER_PAGE, id="per_page-bool"),
    pytest.param({"per_page": 5.0}, PER_PAGE, id="per_page-float"),
    pytest.param({"page": 0}, PAGE, id="page-0"),
    pytest.param({"page": -1}, PAGE, id="page-negative"),
    pytest.param({"page": "2"}, PAGE, id="page-str"),
    pytest.param(
        {"page": 2, "cursor": "abc"}, "give page or cursor, not both", id="page-and-cursor"
    ),
    pytest.param({"cursor": ""}, CURSOR, id="cursor-empty"),
    pytest.param({"cursor": 5}, CURSOR, id="cursor-int"),
    pytest.param({"project_id": ""}, "project_id must be a non-empty string", id="project-empty"),
    pytest.param({"addon_id": ""}, "addon_id must be a non-empty string", id="addon-empty"),
    pytest.param({"project_id": 7}, "project_id must be a non-empty string", id="project-int"),
    pytest.param({"addon_id": None}, "addon_id must be a non-empty string", id="addon-none"),
    pytest.param({"team_id": ""}, "team_id must be a non-empty string", id="team-empty"),
]


async def _call_without_iterating(
    method: Callable[..., Any], ids: list[Any], options: dict[str, Any]
) -> None:
    """Call ``method``; await its result when it is a coroutine, never iterate a generator."""
    result = method(*ids, **options)
    if inspect.isawaitable(result):
        await result


def _call_args(arguments: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    options = dict(arguments)
    ids = [options.pop("project_id", PROJECT), options.pop("addon_id", ADDON)]
    return ids, options


@pytest.mark.parametrize(("arguments", "message"), BAD_ARGUMENTS)
@pytest.mark.parametrize("call", ["list_backups", "list_backup_pages", "get_backup_page"])
async def test_backup_calls_refuse_bad_arguments_at_the_call(
    mock: MockNorthflank, nf: NorthflankSession, call: str, arguments: dict[str, Any], message: str
) -> None:
    """A bad argument raises ValueError saying what is wrong when the call is made, before any request."""
    ids, options = _call_args(arguments)

    with pytest.raises(ValueError, match=re.escape(message)):
        await _call_without_iterating(getattr(nf, call), ids, options)

    assert [] == mock.requests


@pytest.mark.parametrize("max_items", [-1, "3", True, 2.0])
async def test_bad_max_items_is_refused_at_the_call(
    mock: MockNorthflank, nf: NorthflankSession, max_items: Any
) -> None:
    """``max_items`` must be None or an int >= 0; anything else raises at the call."""
    with pytest.raises(ValueError, match="max_items"):
        nf.list_backups(PROJECT, ADDON, max_items=max_items)

    assert [] == mock.requests


@pytest.mark.parametrize(
    ("arguments", "word"),
    [
        ({"per_page": 0}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": 2, "cursor": "abc"}, "not both"),
        ({"cursor": ""}, "cursor"),
        ({"addon_id": ""}, "addon_id"),
    ],
)
def test_argument_errors_name_the_argument(
    nf: NorthflankSession, arguments: dict[str, Any], word: str
) -> None:
    """The ValueError's message names the argument that is wrong."""
    ids, options = _call_args(arguments)

    with pytest.raises(ValueError, match=word):
        nf.list_backups(*ids, **options)
