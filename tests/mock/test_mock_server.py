"""MockNorthflank as a server: recording requests, serving, starting and closing, waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from northflank_async.testing import ManualClock, MockNorthflank, RecordedRequest

from .support import AUTH, BACKUPS, TOKEN, Client, filled_mock, get_json


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A session without connection reuse sending the right token."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector, headers=AUTH) as session:
        yield session


# ----------------------------------------------------------------------- recording


async def test_recording_without_the_token(aiohttp_client: AiohttpClient) -> None:
    """Every request is recorded in order, 401s included, with the token redacted."""
    clock = ManualClock(5.0)
    mock = filled_mock(clock=clock)
    client = await aiohttp_client(mock.make_app())
    async with client.get(
        "/v1/projects/a%2Fb/addons?per_page=5&x=%20y&x=z", headers={"Authorization": "Bearer nope"}
    ) as resp:
        assert 401 == resp.status
    clock.advance(2.5)
    async with client.get(BACKUPS, headers={**AUTH, "User-Agent": "ua/1"}) as resp:
        assert 200 == resp.status
    first, second = mock.requests
    assert (
        RecordedRequest(
            number=1,
            method="GET",
            raw_path="/v1/projects/a%2Fb/addons",
            path="/v1/projects/a/b/addons",
            query={"per_page": "5", "x": "z"},
            raw_query="per_page=5&x=%20y&x=z",
            headers={**first.headers, "Authorization": "Bearer <redacted>"},
            received_at=5.0,
            authorized=False,
        )
        == first
    )
    assert (2, "Bearer <redacted>", "ua/1", True, 7.5) == (
        second.number,
        second.headers["Authorization"],
        second.headers["User-Agent"],
        second.authorized,
        second.received_at,
    )
    assert TOKEN not in repr(mock.requests)


@pytest.mark.parametrize(
    ("header", "recorded"),
    [("Basic dXNlcjpwYXNz", "<redacted>"), ("BEARER x", "Bearer <redacted>")],
)
async def test_proxy_authorization_is_redacted_too(
    client: Client, mock: MockNorthflank, header: str, recorded: str
) -> None:
    """Any credential header is recorded redacted, keeping only a bearer scheme."""
    async with client.get(BACKUPS, headers={"Proxy-Authorization": header}) as resp:
        assert 200 == resp.status
    assert recorded == mock.requests[0].headers["Proxy-Authorization"]


def test_clock_is_the_one_given() -> None:
    """``clock`` is the clock the mock was made with, ``time.monotonic`` by default."""
    clock = ManualClock()
    assert (time.monotonic, clock) == (MockNorthflank().clock, MockNorthflank(clock=clock).clock)


# ---------------------------------------------------------------------- concurrency


async def test_wait_for_requests(client: Client, mock: MockNorthflank) -> None:
    """``wait_for_requests`` returns once that many requests have arrived."""
    await mock.wait_for_requests(0)
    waiter = asyncio.create_task(mock.wait_for_requests(2))
    await get_json(client, BACKUPS)
    await asyncio.sleep(0)
    assert False is waiter.done()
    await get_json(client, BACKUPS)
    await asyncio.wait_for(waiter, 5)
    assert 2 == len(mock.requests)


async def test_a_wait_given_up_leaves_the_mock_working(
    client: Client, mock: MockNorthflank
) -> None:
    """A wait given up on leaves nothing behind: requests are served and new waits return."""
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(mock.wait_for_requests(1), 0.01)
    later = asyncio.create_task(mock.wait_for_requests(2))
    assert [200, 200] == [(await get_json(client, BACKUPS))[0] for _ in range(2)]
    await asyncio.wait_for(later, 5)
    await asyncio.wait_for(mock.wait_for_requests(2), 5)


async def test_in_flight_tracking(client: Client, mock: MockNorthflank) -> None:
    """Concurrent requests are counted while handled, latency included."""
    mock.latency = 0.2  # generous: all five must arrive before the first answers
    results = await asyncio.gather(*(get_json(client, BACKUPS) for _ in range(5)))
    assert ([200] * 5, 5, 0) == (
        [status for status, _ in results],
        mock.max_in_flight,
        mock.in_flight,
    )


# ----------------------------------------------------------------------- lifecycle


async def test_start_close_and_context_manager(session: aiohttp.ClientSession) -> None:
    """``start`` binds a free port and ``close`` releases it; ``async with`` does both."""
    mock = MockNorthflank()
    with pytest.raises(RuntimeError, match=r"^MockNorthflank is not started$"):
        _ = mock.base_url
    url = await mock.start()
    assert (url, "127.0.0.1", True) == (mock.base_url, url.host, bool(url.port))
    with pytest.raises(RuntimeError, match=r"^MockNorthflank is already started$"):
        await mock.start()
    async with session.get(url.with_path("/v1/projects")) as resp:
        assert 200 == resp.status
    await mock.close()
    await mock.close()
    with pytest.raises(RuntimeError, match=r"^MockNorthflank is not started$"):
        _ = mock.base_url
    with pytest.raises(aiohttp.ClientConnectionError):
        async with session.get(url.with_path("/v1/projects")):
            pass
    async with MockNorthflank() as other, session.get(other.base_url / "v1/projects") as resp:
        assert 200 == resp.status
    with pytest.raises(RuntimeError, match=r"^MockNorthflank is not started$"):
        _ = other.base_url


async def test_start_on_a_busy_port_fails_cleanly(mock: MockNorthflank) -> None:
    """``start`` on a port already in use raises and leaves the mock unstarted."""
    async with MockNorthflank() as other:
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            await mock.start(port=other.base_url.port or 0)
    with pytest.raises(RuntimeError, match=r"^MockNorthflank is not started$"):
        _ = mock.base_url


async def test_app_works_with_aiohttp_server(
    mock: MockNorthflank, aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    """``make_app()`` runs under the ``aiohttp_server`` fixture, state shared with the mock."""
    server = await aiohttp_server(mock.make_app())
    async with session.get(server.make_url(BACKUPS)) as resp:
        assert 200 == resp.status
    assert [BACKUPS] == [r.path for r in mock.requests]


async def test_two_apps_share_one_mock(
    mock: MockNorthflank, aiohttp_server: AiohttpServer, session: aiohttp.ClientSession
) -> None:
    """Apps made from one mock number their requests together and serve the same store."""
    servers = [await aiohttp_server(mock.make_app()) for _ in range(2)]
    for server in [*servers, servers[0]]:
        async with session.get(server.make_url("/v1/projects")) as resp:
            assert 200 == resp.status
    assert [1, 2, 3] == [r.number for r in mock.requests]
