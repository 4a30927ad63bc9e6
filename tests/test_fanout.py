"""stream_backups: every backup of many addons, bounded concurrency, backpressure, errors."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from northflank_async import (
    AddonBackup,
    AuthenticationError,
    NorthflankError,
    NorthflankSession,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    SessionClosedError,
)
from northflank_async.testing import MockNorthflank
from tests.conftest import SessionFactory

#: The addon kinds ``MockNorthflank.generate_team`` cycles through, in its order.
KINDS = ("postgresql", "mongodb", "redis", "mysql", "minio")


def _team(mock: MockNorthflank, projects: int, addons: int, backups: int) -> dict[str, list[str]]:
    """Generate a team; return each project's addon ids, as ``generate_team`` names them."""
    mock.generate_team(projects=projects, addons_per_project=addons, backups_per_addon=backups)
    return {
        f"project-{p}": [f"{KINDS[(p - 1 + a) % len(KINDS)]}-{a + 1}" for a in range(addons)]
        for p in range(1, projects + 1)
    }


def _expected(mock: MockNorthflank, team: dict[str, list[str]]) -> dict[tuple[str, str], list[str]]:
    return {
        (project, addon): [backup["id"] for backup in mock.backups(project, addon)]
        for project, addons in team.items()
        for addon in addons
    }


def _by_addon(items: list[AddonBackup]) -> dict[tuple[str, str], list[str]]:
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in items:
        grouped[item.project_id, item.addon_id].append(item.backup.id)
    return dict(grouped)


def _leftover_tasks() -> set[asyncio.Task[Any]]:
    """Running tasks besides this test's own and the mock server's connection handlers."""
    current = asyncio.current_task()
    return {
        task
        for task in asyncio.all_tasks()
        if task is not current
        and not getattr(task.get_coro(), "__qualname__", "").startswith("RequestHandler.")
    }


async def _settled_leftovers() -> set[asyncio.Task[Any]]:
    """The leftover tasks once they had a short while (at most 1 s) to finish."""
    for _ in range(100):
        if not _leftover_tasks():
            break
        await asyncio.sleep(0.01)
    return _leftover_tasks()


async def _collect(stream: Any) -> list[AddonBackup]:
    return [item async for item in stream]


Skipped = list[tuple[str, str | None, NorthflankError]]


async def _collect_skipping(
    nf: NorthflankSession, *args: str, **options: Any
) -> tuple[list[AddonBackup], Skipped]:
    """Every item of ``stream_backups(..., on_error="skip")``, and what ``on_skip`` was told."""
    skipped: Skipped = []
    stream = nf.stream_backups(
        *args,
        on_error="skip",
        on_skip=lambda project, addon, error: skipped.append((project, addon, error)),
        **options,
    )
    return await _collect(stream), skipped


def _break_first_backup(mock: MockNorthflank, project: str, addon: str) -> None:
    """Make the addon's first page unreadable: its first backup's ``createdAt`` is no date."""
    mock.backups(project, addon)[0]["createdAt"] = "not a date"


def _repeat_first_cursor(mock: MockNorthflank) -> None:
    """Make the walk that sends the second request see its cursor come back (one at a time)."""
    mock.faults.repeat_cursor(2)


# -- what is streamed --------------------------------------------------------------------


async def test_every_backup_of_the_team_once(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Without arguments, every backup of every addon of every project arrives exactly once."""
    team = _team(mock, projects=3, addons=3, backups=23)

    items = await _collect(nf.stream_backups(per_page=7))

    expected = _expected(mock, team)
    assert expected == _by_addon(items)
    assert 9 * 23 == len(items)
    assert len(items) == len({item.backup.id for item in items})
    assert all(isinstance(item, AddonBackup) for item in items)


async def test_only_the_addons_of_one_project(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """With ``project_id``, the addons of that project only, without listing projects."""
    team = _team(mock, projects=3, addons=2, backups=12)

    items = await _collect(nf.stream_backups("project-2", per_page=5))

    assert _expected(mock, {"project-2": team["project-2"]}) == _by_addon(items)
    paths = [request.raw_path for request in mock.requests]
    assert "/v1/projects" not in paths
    assert ["/v1/projects/project-2/addons"] == [p for p in paths if p.endswith("/addons")]


async def test_only_the_given_addons(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """With ``addon_ids``, exactly those addons, without listing projects or addons."""
    _team(mock, projects=2, addons=3, backups=12)
    chosen = ["redis-3", "postgresql-1"]

    items = await _collect(nf.stream_backups("project-1", addon_ids=chosen, per_page=5))

    assert _expected(mock, {"project-1": chosen}) == _by_addon(items)
    assert all(request.raw_path.endswith("/backups") for request in mock.requests)


async def test_addon_ids_may_be_any_iterable(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """``addon_ids`` is read once, so a generator works."""
    _team(mock, projects=1, addons=3, backups=4)

    items = await _collect(
        nf.stream_backups("project-1", addon_ids=(a for a in ["mongodb-2", "redis-3"]))
    )

    assert {("project-1", "mongodb-2"), ("project-1", "redis-3")} == set(_by_addon(items))


async def test_empty_addon_ids_stream_nothing(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """An empty ``addon_ids`` gives an empty stream and sends no request."""
    _team(mock, projects=1, addons=2, backups=4)

    assert [] == await _collect(nf.stream_backups("project-1", addon_ids=[]))
    assert [] == mock.requests


async def test_team_routes_throughout(mock: MockNorthflank, make_session: SessionFactory) -> None:
    """With ``team_id``, discovery and every walk use the team routes."""
    nf = await make_session()
    team = _team(mock, projects=2, addons=2, backups=5)

    items = await _collect(nf.stream_backups(team_id=mock.team_id))

    assert _expected(mock, team) == _by_addon(items)
    assert all(r.raw_path.startswith("/v1/teams/example-team/") for r in mock.requests)


async def test_empty_team_streams_nothing(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """A team without projects gives an empty stream after one request."""
    assert [] == await _collect(nf.stream_backups())
    assert ["/v1/projects"] == [request.raw_path for request in mock.requests]


# -- concurrency -------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 2, 3])
async def test_concurrency_is_the_limit_at_the_server(
    mock: MockNorthflank, nf: NorthflankSession, concurrency: int
) -> None:
    """No more than ``concurrency`` requests are ever in flight, and that many are reached."""
    team = _team(mock, projects=2, addons=4, backups=20)
    mock.latency = 0.02

    items = await _collect(nf.stream_backups(concurrency=concurrency, per_page=10))

    assert _expected(mock, team) == _by_addon(items)
    assert concurrency == mock.max_in_flight


async def test_session_max_concurrency_caps_the_stream(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """The session's ``max_concurrency`` bounds the stream even when it asks for more."""
    nf = await make_session(max_concurrency=2)
    team = _team(mock, projects=2, addons=4, backups=20)
    mock.latency = 0.02

    items = await _collect(nf.stream_backups(concurrency=6, per_page=10))

    assert _expected(mock, team) == _by_addon(items)
    assert 2 == mock.max_in_flight


async def test_a_slow_consumer_holds_the_walks_back(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A consumer that stops reading stops the requests after a bounded number of pages."""
    concurrency = 2
    _team(mock, projects=1, addons=4, backups=300)
    stop = asyncio.Event()
    received: list[AddonBackup] = []

    async def consume() -> None:
        stream = nf.stream_backups("project-1", concurrency=concurrency, per_page=10)
        async for item in stream:
            received.append(item)
            await stop.wait()
            break
        await stream.aclose()

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.3)
    stalled_at = len(mock.requests)
    await asyncio.sleep(0.2)

    assert stalled_at == len(mock.requests)
    assert 1 == len(received)
    # The addon listing, the pages in the queue and the one being read, then per walk
    # the page it waits to queue and its prefetched next page: 8 for concurrency 2.
    assert 1 + concurrency + 2 <= stalled_at
    assert stalled_at <= 1 + (concurrency + 1) + concurrency + concurrency
    stop.set()
    await consumer
    assert set() == await _settled_leftovers()


# -- errors ------------------------------------------------------------------------------


async def test_skip_lets_the_other_addons_go_on(
    mock: MockNorthflank, nf: NorthflankSession, caplog: pytest.LogCaptureFixture
) -> None:
    """With ``on_error="skip"``, a 403 on one addon is logged, reported, and the rest arrive."""
    team = _team(mock, projects=2, addons=3, backups=15)
    mock.faults.fail_path("/projects/project-2/addons/redis-2/backups", 403)
    with caplog.at_level(logging.WARNING, logger="northflank_async"):
        items, skipped = await _collect_skipping(nf, per_page=10)

    expected = _expected(mock, team)
    del expected["project-2", "redis-2"]
    assert expected == _by_addon(items)
    assert [("project-2", "redis-2")] == [(project, addon) for project, addon, _ in skipped]
    error = skipped[0][2]
    assert PermissionDeniedError is type(error)
    assert 403 == error.status
    warnings = [r for r in caplog.records if "skipping" in r.getMessage()]
    assert 1 == len(warnings)
    assert logging.WARNING == warnings[0].levelno
    message = warnings[0].getMessage()
    assert "project-2" in message
    assert "redis-2" in message
    assert "403" in message


async def test_skip_a_deleted_addon_without_callback(
    mock: MockNorthflank, nf: NorthflankSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A 404 for an addon that no longer exists is skipped (and logged) without ``on_skip``."""
    _team(mock, projects=1, addons=2, backups=5)

    with caplog.at_level(logging.WARNING, logger="northflank_async"):
        items = await _collect(
            nf.stream_backups("project-1", addon_ids=["gone", "postgresql-1"], on_error="skip")
        )

    assert {("project-1", "postgresql-1")} == set(_by_addon(items))
    messages = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert 1 == len(messages)
    assert "addon gone of project project-1" in messages[0]
    assert "404" in messages[0]


@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthenticationError), (429, RateLimitError), (500, ServerError)]
)
async def test_skip_still_raises_what_would_fail_every_addon(
    mock: MockNorthflank, make_session: SessionFactory, status: int, error: type[Exception]
) -> None:
    """``on_error="skip"`` passes over one addon's 404/403, never a 401, 429 or 5xx."""
    nf = await make_session(retry=None)
    _team(mock, projects=1, addons=3, backups=5)
    mock.faults.fail_path("/projects/project-1/addons/mongodb-2/backups", status)
    skipped: list[str | None] = []

    with pytest.raises(error):
        await _collect(
            nf.stream_backups(
                "project-1", on_error="skip", on_skip=lambda _p, addon, _e: skipped.append(addon)
            )
        )

    assert [] == skipped
    assert set() == await _settled_leftovers()


async def test_raise_surfaces_the_error(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """With ``on_error="raise"`` (the default), an addon's 403 ends the stream with that error."""
    _team(mock, projects=2, addons=3, backups=15)
    mock.faults.fail_path("/projects/project-1/addons/mongodb-2/backups", 403)

    with pytest.raises(PermissionDeniedError) as caught:
        await _collect(nf.stream_backups(per_page=10))

    assert "/projects/project-1/addons/mongodb-2/backups" in caught.value.url
    assert set() == await _settled_leftovers()


async def test_raise_on_unknown_addon(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """An unknown addon among ``addon_ids`` raises NotFoundError by default."""
    _team(mock, projects=1, addons=1, backups=5)

    with pytest.raises(NotFoundError):
        await _collect(nf.stream_backups("project-1", addon_ids=["gone"]))


async def test_discovery_error_surfaces(mock: MockNorthflank, make_session: SessionFactory) -> None:
    """A failure listing projects ends the stream with that error."""
    nf = await make_session(retry=None)
    _team(mock, projects=1, addons=1, backups=5)
    mock.faults.fail(1, 500)

    with pytest.raises(ServerError):
        await _collect(nf.stream_backups())
    assert set() == await _settled_leftovers()


async def test_skip_a_project_whose_addons_cannot_be_listed(
    mock: MockNorthflank, nf: NorthflankSession, caplog: pytest.LogCaptureFixture
) -> None:
    """With ``on_error="skip"``, a project whose addon listing fails is reported and passed over."""
    team = _team(mock, projects=3, addons=2, backups=6)
    mock.faults.fail_path("/projects/project-2/addons", 403, times=1)
    with caplog.at_level(logging.WARNING, logger="northflank_async"):
        items, skipped = await _collect_skipping(nf)

    del team["project-2"]
    assert _expected(mock, team) == _by_addon(items)
    assert [("project-2", None)] == [(project, addon) for project, addon, _ in skipped]
    assert PermissionDeniedError is type(skipped[0][2])
    messages = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert 1 == len(messages)
    assert "the addons of project project-2" in messages[0]


async def test_addon_listing_error_surfaces_by_default(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """With ``on_error="raise"``, a project whose addons cannot be listed ends the stream."""
    _team(mock, projects=2, addons=2, backups=6)
    mock.faults.fail_path("/projects/project-2/addons", 403, times=1)

    with pytest.raises(PermissionDeniedError):
        await _collect(nf.stream_backups())
    assert set() == await _settled_leftovers()


async def test_skip_an_addon_whose_data_cannot_be_read(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """With ``on_error="skip"``, a 200 page with a bad backup skips that addon only."""
    team = _team(mock, projects=2, addons=3, backups=15)
    _break_first_backup(mock, "project-2", "redis-2")
    items, skipped = await _collect_skipping(nf, per_page=10)

    expected = _expected(mock, team)
    del expected["project-2", "redis-2"]
    assert expected == _by_addon(items)
    assert [("project-2", "redis-2", ResponseValidationError)] == [
        (project, addon, type(error)) for project, addon, error in skipped
    ]


async def test_skip_an_addon_whose_cursor_repeats(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """With ``on_error="skip"``, a cursor that comes back skips that addon; the rest arrive."""
    team = _team(mock, projects=1, addons=3, backups=25)
    first, *others = team["project-1"]
    _repeat_first_cursor(mock)
    items, skipped = await _collect_skipping(
        nf, "project-1", addon_ids=[first, *others], concurrency=1, per_page=10
    )

    expected, arrived = _expected(mock, team), _by_addon(items)
    # The pages served before the cursor came back arrive, never one twice nor all of them.
    got, stored = arrived.pop(("project-1", first)), expected.pop(("project-1", first))
    assert (stored[: len(got)], True) == (got, 0 < len(got) < len(stored))
    assert expected == arrived
    assert [("project-1", first, PaginationError)] == [
        (project, addon, type(error)) for project, addon, error in skipped
    ]
    assert f"/addons/{first}/backups" in mock.requests[1].path
    assert "cursor" in mock.requests[1].query


@pytest.mark.parametrize(
    ("arguments", "spoil", "error"),
    [
        pytest.param(
            {},
            lambda m: _break_first_backup(m, "project-1", "mongodb-2"),
            ResponseValidationError,
            id="bad-backup",
        ),
        pytest.param(
            {"addon_ids": ["mongodb-2", "postgresql-1"], "concurrency": 1},
            _repeat_first_cursor,
            PaginationError,
            id="repeated-cursor",
        ),
    ],
)
async def test_raise_ends_the_stream_on_an_addon_that_cannot_be_read(
    mock: MockNorthflank,
    nf: NorthflankSession,
    arguments: dict[str, Any],
    spoil: Callable[[MockNorthflank], object],
    error: type[Exception],
) -> None:
    """With ``on_error="raise"`` (the default), a bad page or a repeated cursor ends the stream."""
    _team(mock, projects=1, addons=3, backups=25)
    spoil(mock)

    with pytest.raises(error):
        await _collect(nf.stream_backups("project-1", per_page=10, **arguments))
    assert set() == await _settled_leftovers()


async def test_repeated_addon_ids_are_walked_once(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """An addon named twice in ``addon_ids`` is walked once, in the order first given."""
    _team(mock, projects=1, addons=2, backups=7)

    items = await _collect(
        nf.stream_backups(
            "project-1", addon_ids=["mongodb-2", "mongodb-2", "postgresql-1"], concurrency=1
        )
    )

    expected = _expected(mock, {"project-1": ["mongodb-2", "postgresql-1"]})
    assert expected == _by_addon(items)
    assert 2 == len([r for r in mock.requests if r.raw_path.endswith("/backups")])


# -- leaving early -----------------------------------------------------------------------


async def test_break_then_aclose_leaves_nothing_running(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Breaking out after a few items and closing the stream stops every walk."""
    _team(mock, projects=3, addons=3, backups=60)
    stream = nf.stream_backups(per_page=10)

    taken = []
    async for item in stream:
        taken.append(item)
        if len(taken) == 3:
            break
    await stream.aclose()

    assert set() == await _settled_leftovers()
    settled = len(mock.requests)
    await asyncio.sleep(0.05)
    assert settled == len(mock.requests)
    # The session is still fine for other work.
    assert 10 == len((await nf.get_backup_page("project-1", "postgresql-1", per_page=10)).backups)


async def test_break_without_aclose_is_cleaned_up(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A stream abandoned by ``break`` alone is finalized by the loop, leaving no task behind."""
    _team(mock, projects=2, addons=3, backups=60)

    count = 0
    async for _ in nf.stream_backups(per_page=10):
        count += 1
        if count == 3:
            break

    assert set() == await _settled_leftovers()


async def test_cancelling_the_consumer_leaves_nothing_running(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Cancelling the task that reads the stream cancels every walk of the stream."""
    _team(mock, projects=2, addons=3, backups=60)
    mock.latency = 0.05
    reading = asyncio.Event()

    async def consume() -> None:
        async for _ in nf.stream_backups(per_page=10):
            reading.set()

    consumer = asyncio.create_task(consume())
    await reading.wait()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer

    assert set() == await _settled_leftovers()


async def test_closing_the_session_after_an_early_exit_is_clean(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """Closing the session right after leaving a stream early raises no warning."""
    nf = await make_session()
    _team(mock, projects=2, addons=2, backups=40)
    stream = nf.stream_backups(per_page=10)
    await anext(stream)
    await stream.aclose()

    await nf.close()

    assert nf.closed
    assert set() == await _settled_leftovers()


# -- argument checks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "word"),
    [
        ({"addon_ids": ["postgresql-1"]}, "project_id"),
        ({"project_id": "p", "addon_ids": "postgresql-1"}, "addon_ids"),
        ({"project_id": "p", "addon_ids": [""]}, "addon_id"),
        ({"project_id": "p", "addon_ids": ["a", 3]}, "addon_id"),
        ({"project_id": ""}, "project_id"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": -1}, "concurrency"),
        ({"concurrency": True}, "concurrency"),
        ({"concurrency": "2"}, "concurrency"),
        ({"on_error": "bogus"}, "on_error"),
        ({"per_page": 0}, "per_page"),
        ({"per_page": 101}, "per_page"),
        ({"team_id": ""}, "team_id"),
    ],
)
async def test_bad_arguments_raise_at_the_call(
    mock: MockNorthflank, nf: NorthflankSession, arguments: dict[str, Any], word: str
) -> None:
    """Each bad argument raises ValueError naming it when called, before any request."""
    with pytest.raises(ValueError, match=word):
        nf.stream_backups(**arguments)

    assert [] == mock.requests


async def test_consumer_error_stops_every_walk(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """An exception raised by the consumer's loop body ends the stream and all its walks."""
    _team(mock, projects=2, addons=3, backups=60)

    async def consume() -> None:
        async for item in nf.stream_backups(per_page=10):
            raise LookupError(item.backup.id)

    with pytest.raises(LookupError):
        await consume()

    assert set() == await _settled_leftovers()


async def test_closing_the_session_under_a_running_stream(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """Closing the session while the stream runs ends it with SessionClosedError, no leaks."""
    nf = await make_session()
    _team(mock, projects=2, addons=3, backups=60)
    mock.latency = 0.02
    stream = nf.stream_backups(per_page=10)
    await anext(stream)

    await nf.close()

    with pytest.raises(SessionClosedError):
        await _collect(stream)
    assert set() == await _settled_leftovers()
