"""MockNorthflank's FaultPlan over loopback HTTP: failures, drops, stalls, bad bodies, cursors."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from northflank_async.testing import Fault, FaultPlan, MockNorthflank

from .support import (
    ADDON,
    AUTH,
    BACKUPS,
    PROJECT,
    Client,
    error_body,
    get_json,
)


@pytest.fixture
async def fresh_session() -> AsyncIterator[Callable[[], aiohttp.ClientSession]]:
    """A factory of sessions without connection reuse, all closed at teardown."""
    sessions: list[aiohttp.ClientSession] = []

    def make() -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True), headers=AUTH
        )
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await session.close()


async def statuses(client: Client, *paths: str) -> list[int]:
    """The status of a GET of each path, in turn."""
    return [(await get_json(client, path))[0] for path in paths]


# ---------------------------------------------------------------------------- fail


async def test_fail_sends_status_with_error_body(client: Client, mock: MockNorthflank) -> None:
    """``fail(n, status)`` answers request n with the API's error JSON, then recovers."""
    assert mock.faults is mock.faults.fail(2, 503, retry_after="7", headers={"X-Extra": "1"})
    assert [200] == await statuses(client, BACKUPS)
    async with client.get(BACKUPS) as resp:
        assert (503, "7", "1", "998") == (
            resp.status,
            resp.headers["Retry-After"],
            resp.headers["X-Extra"],
            resp.headers["x-ratelimit-remaining"],
        )
        assert error_body(2, 503, "Injected fault: HTTP 503") == await resp.json()
    assert [200] == await statuses(client, BACKUPS)


@pytest.mark.parametrize(
    ("kwargs", "content_type"),
    [
        ({}, "text/html"),
        ({"content_type": "text/plain"}, "text/plain"),
        ({"headers": {"Content-Type": "application/xml"}}, "application/xml"),
    ],
)
async def test_fail_with_a_body(
    client: Client, mock: MockNorthflank, kwargs: dict[str, Any], content_type: str
) -> None:
    """``fail(..., body=...)`` sends that body, as text/html unless a content type is given."""
    mock.faults.fail(1, 502, body="<html><h1>502 Bad Gateway</h1></html>", **kwargs)
    async with client.get(BACKUPS) as resp:
        assert (502, content_type, "<html><h1>502 Bad Gateway</h1></html>") == (
            resp.status,
            resp.content_type,
            await resp.text(),
        )


async def test_fail_with_content_type_and_the_error_body(
    client: Client, mock: MockNorthflank
) -> None:
    """``content_type`` without a body relabels the API's error JSON."""
    mock.faults.fail(1, 500, content_type="text/plain")
    async with client.get(BACKUPS) as resp:
        assert (500, "text/plain") == (resp.status, resp.content_type)
        assert error_body(1, 500, "Injected fault: HTTP 500") == await resp.json(content_type=None)


async def test_fail_with_a_large_binary_body(client: Client, mock: MockNorthflank) -> None:
    """``fail`` sends any bytes given, every byte value and megabytes of them, as given."""
    body = bytes(range(256)) * 16 * 1024  # 4 MiB
    mock.faults.fail(1, 500, body=body, content_type="application/octet-stream")
    async with client.get(BACKUPS) as resp:
        assert (500, "application/octet-stream", str(len(body)), body) == (
            resp.status,
            resp.content_type,
            resp.headers["Content-Length"],
            await resp.read(),
        )


async def test_fail_over_a_range_of_requests(client: Client, mock: MockNorthflank) -> None:
    """An iterable of request numbers fails each of them."""
    mock.faults.fail(range(2, 4), 500)
    assert [200, 500, 500, 200] == await statuses(client, *[BACKUPS] * 4)


async def test_fail_path_targets_one_addon(client: Client, mock: MockNorthflank) -> None:
    """``fail_path`` fails only matching paths, ``times`` times or always."""
    mock.add_addon(PROJECT, "other")
    mock.faults.fail_path("/addons/other/", 403, times=2).fail_path("/v1/projects", 418, times=0)
    other = f"/v1/projects/{PROJECT}/addons/other/backups"
    assert [403, 200, 403, 200] == await statuses(client, other, BACKUPS, other, other)
    mock.faults.clear().fail_path("/addons/other/", 404)
    assert [404, 404, 200] == await statuses(client, other, other, BACKUPS)


async def test_numbered_fault_wins_over_path_fault(client: Client, mock: MockNorthflank) -> None:
    """A fault planned by number replaces a matching path fault, which is not spent."""
    mock.faults.fail_path(ADDON, 404, times=1).fail(1, 500)
    assert [500, 404, 200] == await statuses(client, BACKUPS, BACKUPS, BACKUPS)


async def test_first_replacing_fault_wins_and_stalls_add_up(
    client: Client, mock: MockNorthflank
) -> None:
    """Of several faults on one request the first replacing one answers, after every stall."""
    mock.faults.stall(1, 0.1).fail(1, 502).stall(1, 0.1).fail(1, 503)
    started = time.monotonic()
    assert [502, 200] == await statuses(client, BACKUPS, BACKUPS)
    assert time.monotonic() - started >= 0.2


# ---------------------------------------------------------------------- drop, stall


async def test_drop_closes_the_connection(
    mock: MockNorthflank, fresh_session: Callable[[], aiohttp.ClientSession]
) -> None:
    """``drop(n)`` closes the connection: the client sees a disconnect, not a response."""
    # aiohttp retries an idempotent request once after a disconnect: drop both tries.
    mock.faults.drop([1, 2])
    async with mock:
        session = fresh_session()
        url = mock.base_url.with_path(BACKUPS)
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with session.get(url):
                pass
        async with session.get(url) as resp:
            assert 200 == resp.status
    assert [1, 2, 3] == [r.number for r in mock.requests]


async def test_drop_sends_no_bytes(mock: MockNorthflank) -> None:
    """On the wire a dropped request gets end-of-stream and not one byte."""
    mock.faults.drop(1)
    async with mock:
        reader, writer = await asyncio.open_connection(mock.base_url.host, mock.base_url.port)
        writer.write(f"GET {BACKUPS} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        assert b"" == await reader.read()
        writer.close()
        await writer.wait_closed()


async def test_stall_delays_the_answer(client: Client, mock: MockNorthflank) -> None:
    """``stall(n, s)`` answers request n normally after s seconds."""
    mock.faults.stall(1, 0.2)
    started = time.monotonic()
    status, body = await get_json(client, BACKUPS)
    assert time.monotonic() - started >= 0.2
    assert (200, 50) == (status, body["pagination"]["count"])


async def test_long_stall_does_not_hold_up_close(
    mock: MockNorthflank, fresh_session: Callable[[], aiohttp.ClientSession]
) -> None:
    """A client timing out on a long stall, then ``close()``, both return promptly."""
    mock.faults.stall(1, 60)
    await mock.start()
    session = fresh_session()
    with pytest.raises(asyncio.TimeoutError):
        async with session.get(
            mock.base_url.with_path(BACKUPS), timeout=aiohttp.ClientTimeout(total=0.1)
        ):
            pass
    started = time.monotonic()
    await mock.close()
    assert time.monotonic() - started < 5
    assert 0 == mock.in_flight


async def test_shutdown_wakes_stalled_requests(
    mock: MockNorthflank,
    aiohttp_server: AiohttpServer,
    fresh_session: Callable[[], aiohttp.ClientSession],
) -> None:
    """Closing the server ends a long stall at once and the request is still answered."""
    mock.faults.stall(1, 60)
    server = await aiohttp_server(mock.make_app())
    session = fresh_session()

    async def fetch() -> int:
        async with session.get(server.make_url(BACKUPS)) as resp:
            await resp.read()
            return resp.status

    task = asyncio.create_task(fetch())
    await asyncio.wait_for(mock.wait_for_requests(1), 5)
    assert 1 == mock.in_flight
    started = time.monotonic()
    await server.close()
    assert 200 == await task
    assert time.monotonic() - started < 5
    assert 0 == mock.in_flight


async def test_no_stall_once_the_app_shuts_down(
    mock: MockNorthflank, aiohttp_client: AiohttpClient
) -> None:
    """A request arriving after its app began shutting down is answered without its stall."""
    app = mock.make_app()
    client = await aiohttp_client(app, headers=AUTH)
    await app.shutdown()
    mock.faults.stall(1, 60)
    started = time.monotonic()
    assert [200] == await statuses(client, BACKUPS)
    assert time.monotonic() - started < 5


# ------------------------------------------------------------------------- endless


async def wait_until_idle(mock: MockNorthflank) -> None:
    """Wait (5 s at most) until the mock handles no request."""
    for _ in range(500):
        if mock.in_flight == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{mock.in_flight} requests still in flight")


@pytest.mark.parametrize(
    ("kwargs", "status", "content_type"),
    [
        ({}, 200, "application/json"),
        ({"status": 502, "content_type": "text/html"}, 502, "text/html"),
    ],
)
async def test_endless_sends_until_the_client_leaves(
    client: Client, mock: MockNorthflank, kwargs: dict[str, Any], status: int, content_type: str
) -> None:
    """``endless`` sends its status and spaces without end; a client may read some and leave."""
    mock.faults.endless(1, **kwargs)
    async with client.get(BACKUPS) as resp:
        assert (status, content_type, None, "chunked") == (
            resp.status,
            resp.content_type,
            resp.headers.get("Content-Length"),
            resp.headers.get("Transfer-Encoding"),
        )
        assert b" " * (1 << 20) == await resp.content.readexactly(1 << 20)
        resp.close()  # leave without reading the rest: the connection is closed
    await wait_until_idle(mock)
    assert [200] == await statuses(client, BACKUPS)


async def test_endless_does_not_hold_up_close(
    mock: MockNorthflank, fresh_session: Callable[[], aiohttp.ClientSession]
) -> None:
    """``close()`` returns at once under a client that stopped reading, and cuts the body."""
    mock.faults.endless(1, chunk_size=1000)
    await mock.start()
    async with fresh_session().get(mock.base_url.with_path(BACKUPS)) as resp:
        assert b" " * 5000 == await resp.content.readexactly(5000)
        await asyncio.sleep(0.2)  # the server's writes back up: it waits for the client
        assert 1 == mock.in_flight
        started = time.monotonic()
        await mock.close()
        assert time.monotonic() - started < 2  # not aiohttp's 5 s shutdown timeout
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()  # what was sent, then the cut: never a complete body
    assert 0 == mock.in_flight


# ------------------------------------------------------------------ bodies, cursors


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((), {}, (200, "application/json", b"<html>not json</html>")),
        ((b"",), {}, (200, "application/json", b"")),
        ((b"{", 500), {"content_type": "text/plain"}, (500, "text/plain", b"{")),
    ],
)
async def test_bad_json_bodies(
    client: Client,
    mock: MockNorthflank,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    expected: tuple[int, str, bytes],
) -> None:
    """``bad_json`` sends a body that is not JSON, still labelled JSON unless told otherwise."""
    mock.faults.bad_json(1, *args, **kwargs)
    async with client.get(BACKUPS) as resp:
        assert expected == (resp.status, resp.content_type, await resp.read())


async def test_repeat_cursor_loops(client: Client, mock: MockNorthflank) -> None:
    """``repeat_cursor`` returns the request's own cursor, or one for the same page."""
    stored = mock.backups(PROJECT, ADDON)
    mock.faults.repeat_cursor([1, 3])
    _, first = await get_json(client, BACKUPS, per_page=10)
    assert (stored[:10], True) == (first["data"]["backups"], first["pagination"]["hasNextPage"])
    _, again = await get_json(client, BACKUPS, per_page=10, cursor=first["pagination"]["cursor"])
    assert stored[:10] == again["data"]["backups"]
    cursor = again["pagination"]["cursor"]
    _, second = await get_json(client, BACKUPS, per_page=10, cursor=cursor)
    assert (stored[10:20], cursor) == (second["data"]["backups"], second["pagination"]["cursor"])


@pytest.mark.parametrize(("page", "count"), [(1, 50), (9, 0)])
async def test_omit_cursor(client: Client, mock: MockNorthflank, page: int, count: int) -> None:
    """``omit_cursor`` says there is a next page but gives no cursor, even past the last page."""
    mock.faults.omit_cursor(1)
    _, body = await get_json(client, BACKUPS, page=page)
    assert {"hasNextPage": True, "count": count} == body["pagination"]


async def test_redirect(client: Client, mock: MockNorthflank) -> None:
    """``redirect`` answers with the status and Location given."""
    mock.faults.redirect(1, "https://evil.example/steal", status=307)
    async with client.get(BACKUPS, allow_redirects=False) as resp:
        assert (307, "https://evil.example/steal", b"Redirecting") == (
            resp.status,
            resp.headers["Location"],
            await resp.read(),
        )


# -------------------------------------------------------------------- the plan itself


async def test_clear_and_planned(client: Client, mock: MockNorthflank) -> None:
    """``planned`` lists the faults for a number and ``clear`` forgets all of them."""
    mock.faults.stall(1, 0.5).drop(1).omit_cursor(2).fail_path("/", 500)
    assert [Fault("stall", seconds=0.5), Fault("drop")] == mock.faults.planned(1)
    assert [Fault("omit_cursor")] == mock.faults.planned(2)
    mock.faults.clear()
    assert [] == mock.faults.planned(1)
    assert [200] == await statuses(client, BACKUPS)


@pytest.mark.parametrize(
    ("plan", "error", "message"),
    [
        (lambda p: p.fail(0, 500), ValueError, "request numbers are 1-based ints, got 0"),
        (lambda p: p.drop([True]), ValueError, "request numbers are 1-based ints, got True"),
        (
            lambda p: p.omit_cursor([1, 2.0]),
            ValueError,
            "request numbers are 1-based ints, got 2.0",
        ),
        (lambda p: p.stall(1, -1), ValueError, "seconds must be >= 0"),
        (
            lambda p: p.endless(1, chunk_size=0),
            ValueError,
            "chunk_size must be an int >= 1, got 0",
        ),
        (lambda p: p.fail_path("x", 500, times=-1), ValueError, "times must be >= 0 or None"),
        (
            lambda p: p.rate_limit_budget(1),
            RuntimeError,
            "this FaultPlan is not attached to a MockNorthflank",
        ),
    ],
)
def test_fault_plan_refuses_bad_arguments(
    plan: Callable[[FaultPlan], object], error: type[Exception], message: str
) -> None:
    """Request numbers are 1-based ints, stalls and counts non-negative, budgets need a mock."""
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        plan(FaultPlan())
