"""Faults for writes: an answer lost after the write was carried out, a refusal before acting,
and the recorded body of each request."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from northflank_async.testing import Fault, FaultPlan, ManualClock, MockNorthflank

from .support import ADDON, AUTH, BACKUPS, PROJECT, Client, error_body, filled_mock, send


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at 0 s."""
    return ManualClock()


@pytest.fixture
def mock(clock: ManualClock) -> MockNorthflank:
    """A mock on ``clock`` with one addon holding 120 generated backups."""
    return filled_mock(clock=clock)


@pytest.fixture
async def served(mock: MockNorthflank) -> AsyncIterator[MockNorthflank]:
    """The mock, started on a loopback port."""
    async with mock:
        yield mock


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A session with the mock's token that opens a new connection for every request."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector, headers=AUTH) as session:
        yield session


def url(mock: MockNorthflank, path: str) -> str:
    """The mock's URL of ``path``."""
    return str(mock.base_url.with_path(path))


def count(mock: MockNorthflank) -> int:
    """How many backups the default addon holds."""
    return len(mock.backups(PROJECT, ADDON))


# ------------------------------------------------------------------ lose_answer


async def test_lose_answer_carries_out_the_write_and_drops_the_connection(
    served: MockNorthflank, http: aiohttp.ClientSession
) -> None:
    """``lose_answer(n)``: the backup is started, the client sees the connection end."""
    assert served.faults is served.faults.lose_answer(1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(url(served, BACKUPS), json={"name": "lost answer"}):
            pass
    assert 121 == count(served)
    assert ("lost answer", "scheduled") == (
        served.backups(PROJECT, ADDON)[-1]["name"],
        served.backups(PROJECT, ADDON)[-1]["status"],
    )
    [request] = served.requests
    assert ("POST", {"name": "lost answer"}) == (request.method, request.body)
    async with http.post(url(served, BACKUPS), json={"name": "answered"}) as resp:
        assert (200, "answered") == (resp.status, (await resp.json())["data"]["name"])
    assert 122 == count(served)


async def test_a_lost_answer_sends_no_bytes(served: MockNorthflank) -> None:
    """On the wire, a write whose answer is lost gets end-of-stream and not one byte."""
    served.faults.lose_answer(1)
    reader, writer = await asyncio.open_connection(served.base_url.host, served.base_url.port)
    writer.write(
        f"POST {BACKUPS} HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH['Authorization']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".encode()
    )
    await writer.drain()
    assert b"" == await reader.read()
    writer.close()
    await writer.wait_closed()
    assert 121 == count(served)


async def test_lose_answer_path_by_method(
    served: MockNorthflank, http: aiohttp.ClientSession
) -> None:
    """``lose_answer_path(s, method="POST")``: reads of the path are answered; one POST is lost."""
    served.faults.lose_answer_path("/backups", method="post")
    async with http.get(url(served, BACKUPS)) as resp:
        assert 200 == resp.status
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(url(served, BACKUPS), json={}):
            pass
    async with http.post(url(served, BACKUPS), json={}) as resp:
        assert 200 == resp.status
    assert 122 == count(served)


async def test_a_lost_delete_is_carried_out(
    served: MockNorthflank, http: aiohttp.ClientSession, clock: ManualClock
) -> None:
    """A DELETE whose answer is lost deleted the backup: asking again finds it gone."""
    backup_id = served.backups(PROJECT, ADDON)[0]["id"]
    served.faults.lose_answer_path(f"/backups/{backup_id}", method="DELETE", times=None)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.delete(url(served, f"{BACKUPS}/{backup_id}")):
            pass
    assert backup_id not in {b["id"] for b in served.backups(PROJECT, ADDON)}
    async with http.get(url(served, f"{BACKUPS}/{backup_id}")) as resp:
        assert 404 == resp.status


async def test_an_error_answer_is_lost_too(
    served: MockNorthflank, http: aiohttp.ClientSession
) -> None:
    """Whatever the route answered (a 409 here) is lost."""
    backup_id = served.backups(PROJECT, ADDON)[0]["id"]
    served.faults.lose_answer(1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(url(served, f"{BACKUPS}/{backup_id}/abort")):
            pass


async def test_a_fault_that_answers_wins_over_lose_answer(
    client: Client, mock: MockNorthflank
) -> None:
    """``fail`` and ``lose_answer`` on one request: the 503 is sent and nothing is carried out;
    a path's lost answer is not spent on it."""
    mock.faults.lose_answer(1).fail(1, 503).lose_answer_path("/backups", times=1)
    mock.faults.fail(2, 503)
    for number in (1, 2):
        assert (503, error_body(number, 503, "Injected fault: HTTP 503")) == await send(
            client, "POST", BACKUPS, {}
        )
    assert 120 == count(mock)
    assert [Fault("lose_answer"), Fault("fail", status=503)] == mock.faults.planned(1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await send(client, "POST", BACKUPS, {})
    assert 121 == count(mock)


# ----------------------------------------------------------------- refused, 503


async def test_fail_answers_without_running_the_route(client: Client, mock: MockNorthflank) -> None:
    """``fail(n, 503)`` refuses before acting: no backup is started."""
    mock.faults.fail(1, 503, retry_after="2")
    async with client.post(BACKUPS, json={"name": "refused"}) as resp:
        assert (503, "2") == (resp.status, resp.headers["Retry-After"])
    assert 120 == count(mock)
    assert {"name": "refused"} == mock.requests[0].body


async def test_fail_path_by_method(client: Client, mock: MockNorthflank) -> None:
    """``fail_path(s, 503, method="POST", times=2)`` refuses two POSTs; GETs go through."""
    mock.faults.fail_path("/backups", 503, method="POST", times=2)
    results = [
        (await send(client, method, BACKUPS, {} if method == "POST" else None))[0]
        for method in ["GET", "POST", "GET", "POST", "POST"]
    ]
    assert [200, 503, 200, 503, 200] == results
    assert 121 == count(mock)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (lambda p: p.fail_path("x", 503, method="PO ST"), "got 'PO ST'"),
        (lambda p: p.lose_answer_path("x", method=""), "got ''"),
        (lambda p: p.lose_answer_path("x", method=1), "got 1"),
    ],
)
def test_method_filters_are_http_methods(plan: Callable[[FaultPlan], object], message: str) -> None:
    """A method filter is a word such as POST (any case)."""
    expected = f"method must be an HTTP method such as 'POST' or None, {message}"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        plan(FaultPlan())


@pytest.mark.parametrize("times", [-1, True, 1.5])
def test_lose_answer_path_counts_are_whole(times: Any) -> None:
    """``times`` is an int >= 0 or None."""
    with pytest.raises(ValueError, match=r"^times must be >= 0 or None$"):
        FaultPlan().lose_answer_path("x", times=times)


async def test_clear_forgets_lost_answers(client: Client, mock: MockNorthflank) -> None:
    """``clear`` forgets the lost answers planned by path too."""
    mock.faults.lose_answer_path("/", times=None).lose_answer(1)
    mock.faults.clear()
    assert 200 == (await send(client, "POST", BACKUPS, {}))[0]


# -------------------------------------------------------------- recorded bodies


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({}, None),
        ({"json": {"name": "abc", "backupType": "dump"}}, {"name": "abc", "backupType": "dump"}),
        ({"json": [1, 2]}, [1, 2]),
        ({"data": b"not json"}, None),
        ({"data": b"\xff\xfe"}, None),
        ({"data": b'"text"', "headers": {"Content-Type": "text/plain"}}, "text"),
    ],
)
async def test_the_json_body_is_recorded(
    client: Client, mock: MockNorthflank, kwargs: dict[str, Any], body: Any
) -> None:
    """``RecordedRequest.body`` is the parsed JSON body, or None (none, or not JSON)."""
    async with client.post(BACKUPS, **kwargs):
        pass
    assert body == mock.requests[0].body


async def test_a_body_is_recorded_for_a_dropped_request_too(
    served: MockNorthflank, http: aiohttp.ClientSession
) -> None:
    """A request a fault answers still has its body recorded; ``drop`` starts nothing."""
    served.faults.drop(1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.post(url(served, BACKUPS), json={"name": "dropped"}):
            pass
    assert ({"name": "dropped"}, 120) == (served.requests[0].body, count(served))
