"""Clean exits: a walk left early, cancelled, or cut off by closing its session lets go of
its connection and its tasks, and never hangs."""

from __future__ import annotations

import asyncio
import gc
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing

import aiohttp
import pytest

from northflank_async import Backup, NorthflankSession, RetryPolicy, SessionClosedError
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, SessionFactory, wait_until

PER_PAGE = 10
PREFETCH = pytest.mark.parametrize("prefetch", [True, False], ids=["prefetch", "no-prefetch"])


def client_tasks() -> set[asyncio.Task[object]]:
    """Pending tasks besides the running test and the mock server's request handlers."""
    return {
        task
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task() and "RequestHandler" not in repr(task.get_coro())
    }


async def settled() -> set[asyncio.Task[object]]:
    """The client tasks still pending after the loop had a few rounds to finish them.

    A walk dropped by ``break`` (without ``aclosing``) is closed by the event loop's
    async-generator finalizer in a task of its own, a few rounds later.
    """
    for _ in range(50):
        if not client_tasks():
            break
        await asyncio.sleep(0)
    return client_tasks()


@pytest.fixture
def expected(mock: MockNorthflank) -> list[str]:
    """Thirty backups for PROJECT/ADDON, three pages of ten; returns their ids."""
    return [b["id"] for b in mock.generate_backups(PROJECT, ADDON, 3 * PER_PAGE)]


@pytest.fixture
async def one_connection() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session whose pool holds one connection: a leaked one blocks the next walk."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
        yield http


async def all_ids(nf: NorthflankSession, prefetch: bool) -> list[str]:
    """Every backup id of PROJECT/ADDON, within two seconds."""
    async with asyncio.timeout(2):
        return [
            b.id
            async for b in nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE, prefetch=prefetch)
        ]


def assert_no_unclosed_resources() -> None:
    """Collect garbage now, so an unclosed session or connection warns inside the test."""
    gc.collect()


# -- leaving a walk early ------------------------------------------------------------------


@PREFETCH
async def test_break_with_aclosing_releases_everything_at_once(
    mock: MockNorthflank,
    make_session: SessionFactory,
    one_connection: aiohttp.ClientSession,
    expected: list[str],
    prefetch: bool,
) -> None:
    """Breaking out of an aclosing() walk leaves no task, and the pool serves the next walk."""
    nf = await make_session(session=one_connection)
    mock.latency = 0.01  # the prefetch of page 2 is still in flight at the break
    async with aclosing(
        nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE, prefetch=prefetch)
    ) as walk:
        async for backup in walk:
            assert expected[0] == backup.id
            break
    assert set() == client_tasks()
    assert expected == await all_ids(nf, prefetch)
    assert_no_unclosed_resources()


@PREFETCH
async def test_plain_break_releases_everything(
    mock: MockNorthflank,
    make_session: SessionFactory,
    one_connection: aiohttp.ClientSession,
    expected: list[str],
    prefetch: bool,
) -> None:
    """A bare break leaves nothing behind once the loop has finalized the walk."""
    nf = await make_session(session=one_connection)
    mock.latency = 0.01
    async for backup in nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE, prefetch=prefetch):
        assert expected[0] == backup.id
        break
    assert set() == await settled()
    assert expected == await all_ids(nf, prefetch)
    assert_no_unclosed_resources()


@PREFETCH
async def test_aclose_releases_everything(
    mock: MockNorthflank,
    make_session: SessionFactory,
    one_connection: aiohttp.ClientSession,
    expected: list[str],
    prefetch: bool,
) -> None:
    """aclose() after the first backup ends the walk and frees its connection."""
    nf = await make_session(session=one_connection)
    mock.latency = 0.01
    walk = nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE, prefetch=prefetch)
    assert expected[0] == (await anext(walk)).id
    await walk.aclose()
    assert set() == client_tasks()
    with pytest.raises(StopAsyncIteration):
        await anext(walk)
    assert expected == await all_ids(nf, prefetch)
    assert_no_unclosed_resources()


@PREFETCH
async def test_owned_pool_serves_the_next_walk_after_a_break(
    mock: MockNorthflank, nf: NorthflankSession, expected: list[str], prefetch: bool
) -> None:
    """With the session's own pool, a walk left early does not stop the next one."""
    mock.latency = 0.01
    for _ in range(3):
        async with aclosing(
            nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE, prefetch=prefetch)
        ) as walk:
            await anext(walk)
    assert expected == await all_ids(nf, prefetch)
    assert set() == client_tasks()
    assert_no_unclosed_resources()


# -- cancelling the consumer --------------------------------------------------------------


async def consume(walk: AsyncIterator[Backup], into: list[str]) -> None:
    """Append each backup id of ``walk`` to ``into``."""
    async for backup in walk:
        into.append(backup.id)


@PREFETCH
async def test_cancel_mid_request_releases_everything(
    mock: MockNorthflank,
    make_session: SessionFactory,
    one_connection: aiohttp.ClientSession,
    expected: list[str],
    prefetch: bool,
) -> None:
    """Cancelling the consumer while page 2 is in flight raises CancelledError and leaks nothing."""
    nf = await make_session(session=one_connection)
    mock.faults.stall(2, 5)
    ids: list[str] = []
    walk = nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE, prefetch=prefetch)
    task = asyncio.create_task(consume(walk, ids))
    await wait_until(lambda: 2 == len(mock.requests) and len(ids) == PER_PAGE)
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert expected[:PER_PAGE] == ids
    assert set() == await settled()
    assert 2 == len(mock.requests)  # the cancelled request is not retried
    assert expected == await all_ids(nf, prefetch)
    assert_no_unclosed_resources()


# -- closing the session under an open walk ----------------------------------------------------


@pytest.fixture(params=["own-pool", "given-pool"])
async def closable(
    request: pytest.FixtureRequest, make_session: SessionFactory
) -> AsyncIterator[NorthflankSession]:
    """A session with its own pool, or one using a given aiohttp session it must not close."""
    if request.param == "own-pool":
        yield await make_session()
        return
    async with aiohttp.ClientSession() as http:
        yield await make_session(session=http)
        assert not http.closed


async def closed_under(nf: NorthflankSession, task: asyncio.Task[None]) -> SessionClosedError:
    """Close ``nf`` and return the SessionClosedError ``task`` ends with, within one second."""
    await nf.close()
    async with asyncio.timeout(1):
        with pytest.raises(SessionClosedError) as caught:
            await task
    return caught.value


@PREFETCH
async def test_close_with_a_request_stalled_in_flight(
    mock: MockNorthflank, closable: NorthflankSession, expected: list[str], prefetch: bool
) -> None:
    """Closing the session while the walk waits on a stalled request ends it with an error."""
    nf = closable
    mock.faults.stall(2, 5)
    ids: list[str] = []
    walk = nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE, prefetch=prefetch)
    task = asyncio.create_task(consume(walk, ids))
    await wait_until(lambda: 2 == len(mock.requests) and len(ids) == PER_PAGE)
    await asyncio.sleep(0.01)
    error = await closed_under(nf, task)
    url = (
        f"{mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups?{mock.requests[1].raw_query}"
    )
    assert str(error).startswith(f"GET {url}: the NorthflankSession was closed ")
    assert expected[:PER_PAGE] == ids
    assert set() == await settled()
    assert_no_unclosed_resources()


async def test_close_with_a_prefetch_in_flight(
    mock: MockNorthflank, closable: NorthflankSession, expected: list[str]
) -> None:
    """Closing while the next page is being prefetched ends the walk at its next step."""
    nf = closable
    mock.faults.stall(2, 5)
    walk = nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE)
    first = [(await anext(walk)).id for _ in range(PER_PAGE)]
    assert expected[:PER_PAGE] == first
    await wait_until(lambda: 1 == mock.in_flight)
    await nf.close()
    assert set() == client_tasks()
    async with asyncio.timeout(1):
        with pytest.raises(SessionClosedError):
            await anext(walk)
    assert_no_unclosed_resources()


@PREFETCH
async def test_close_with_the_walk_idle(
    mock: MockNorthflank, closable: NorthflankSession, expected: list[str], prefetch: bool
) -> None:
    """A walk paused between pages when the session closes fails at its next page."""
    nf = closable
    walk = nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE, prefetch=prefetch)
    assert expected[:PER_PAGE] == [(await anext(walk)).id for _ in range(PER_PAGE)]
    await asyncio.sleep(0.01)  # the prefetch, if any, has landed
    await nf.close()
    with pytest.raises(SessionClosedError):
        await anext(walk)
    assert set() == client_tasks()
    assert_no_unclosed_resources()


class BlockingSleep:
    """An injectable sleep that never returns by itself, and records its calls."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.cancelled = 0
        self.event = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        try:
            await self.event.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


Setup = Callable[[MockNorthflank], object]


@PREFETCH
@pytest.mark.parametrize(
    "setup",
    [
        lambda mock: mock.faults.fail(2, 503),
        lambda mock: mock.faults.rate_limit_budget(1, reset=30),
    ],
    ids=["retry-backoff", "rate-limit-wait"],
)
async def test_close_with_a_sleep_pending(
    mock: MockNorthflank,
    make_session: SessionFactory,
    expected: list[str],
    prefetch: bool,
    setup: Setup,
) -> None:
    """Closing the session during a retry backoff or a rate-limit wait ends the walk at once."""
    sleep = BlockingSleep()
    nf = await make_session(retry=RetryPolicy(sleep=sleep))
    setup(mock)
    ids: list[str] = []
    walk = nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE, prefetch=prefetch)
    task = asyncio.create_task(consume(walk, ids))
    await wait_until(lambda: 1 == len(sleep.waits) and len(ids) == PER_PAGE)
    error = await closed_under(nf, task)
    url = f"{mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups?per_page=10&cursor="
    assert re.fullmatch(
        re.escape(f"GET {url}") + r"[\w-]+: the NorthflankSession was closed [a-z ]+", str(error)
    )
    assert 1 == sleep.cancelled
    assert expected[:PER_PAGE] == ids
    assert set() == await settled()
    assert_no_unclosed_resources()


@PREFETCH
async def test_cancel_during_retry_backoff_passes_through(
    mock: MockNorthflank, make_session: SessionFactory, expected: list[str], prefetch: bool
) -> None:
    """Cancelling the consumer during a backoff sleep raises CancelledError and sends nothing more."""
    sleep = BlockingSleep()
    nf = await make_session(retry=RetryPolicy(sleep=sleep))
    mock.faults.fail(2, 503)
    ids: list[str] = []
    walk = nf.list_backups(PROJECT, ADDON, per_page=PER_PAGE, prefetch=prefetch)
    task = asyncio.create_task(consume(walk, ids))
    await wait_until(lambda: 1 == len(sleep.waits) and len(ids) == PER_PAGE)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 1 == sleep.cancelled
    assert 2 == len(mock.requests)
    assert set() == await settled()
    assert not nf.closed
    assert expected == await all_ids(nf, prefetch)


async def test_close_ends_every_walk_in_flight(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Closing the session ends all of its concurrent walks, each with SessionClosedError."""
    for n in range(5):
        mock.generate_backups(PROJECT, f"addon-{n}", 3)
    mock.faults.stall(range(1, 6), 5)

    async def walk(addon: str) -> list[str]:
        return [b.id async for b in nf.list_backups(PROJECT, addon)]

    tasks = [asyncio.create_task(walk(f"addon-{n}")) for n in range(5)]
    await wait_until(lambda: 5 == mock.in_flight)
    await nf.close()
    async with asyncio.timeout(1):
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [SessionClosedError] * 5 == [type(r) for r in results]
    assert set() == await settled()


async def test_callers_cancel_wins_over_close(
    mock: MockNorthflank, nf: NorthflankSession, expected: list[str]
) -> None:
    """A consumer cancelled by its owner as the session closes sees CancelledError, not ours."""
    mock.faults.stall(1, 5)
    task = asyncio.create_task(consume(nf.list_backups(PROJECT, ADDON, prefetch=False), []))
    await wait_until(lambda: 1 == mock.in_flight)
    task.cancel()
    await nf.close()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert set() == await settled()


Call = Callable[[NorthflankSession], Awaitable[object]]


@pytest.mark.parametrize(
    "call",
    [
        lambda nf: anext(nf.list_backups(PROJECT, ADDON)),
        lambda nf: anext(nf.list_backups(PROJECT, ADDON, prefetch=False)),
        lambda nf: nf.get_backup_page(PROJECT, ADDON),
        lambda nf: anext(nf.list_projects()),
    ],
    ids=["walk", "walk-no-prefetch", "page", "projects"],
)
async def test_closed_session_sends_nothing(
    mock: MockNorthflank, nf: NorthflankSession, expected: list[str], call: Call
) -> None:
    """Every call on a closed session raises SessionClosedError without a request."""
    await nf.close()
    assert nf.closed
    with pytest.raises(SessionClosedError):
        await call(nf)
    assert [] == mock.requests


async def test_closed_session_cannot_be_reopened(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Entering a closed session again raises SessionClosedError."""
    await nf.close()
    with pytest.raises(SessionClosedError, match="is closed"):
        async with nf:
            pass


async def test_closed_given_pool_is_a_clear_error(
    mock: MockNorthflank, make_session: SessionFactory, expected: list[str]
) -> None:
    """A given aiohttp session closed by its owner gives SessionClosedError, without retries."""
    http = aiohttp.ClientSession()
    await http.close()
    nf = await make_session(session=http)
    with pytest.raises(SessionClosedError, match=r"aiohttp\.ClientSession given"):
        await nf.get_backup_page(PROJECT, ADDON)
    assert [] == mock.requests
