"""Tests for northflank_async.testing.MockNorthflank, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import copy
import gc
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from northflank_async.testing import (
    Fault,
    FaultPlan,
    MockNorthflank,
    RecordedRequest,
    example_backup,
)

TOKEN = "nf-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BACKUPS = "/v1/projects/default-project/addons/example-addon/backups"

#: The backup of the API reference's example response.
SEED_BACKUP: dict[str, Any] = example_backup()

Client = TestClient[Any, Any]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def mock() -> MockNorthflank:
    """A mock with one addon holding 120 generated backups."""
    m = MockNorthflank()
    m.add_project("default-project", name="Default project")
    m.add_addon("default-project", "example-addon", addon_type="mongodb", tags=["prod"])
    m.generate_backups("default-project", "example-addon", 120)
    return m


@pytest.fixture
async def client(mock: MockNorthflank, aiohttp_client: AiohttpClient) -> Client:
    """A test client bound to the mock's app, sending the right token."""
    return await aiohttp_client(mock.make_app(), headers=AUTH)


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


async def get_json(client: Client, path: str, **params: str | int) -> tuple[int, Any]:
    """GET ``path`` and return (status, parsed JSON body)."""
    async with client.get(path, params=params) as resp:
        return resp.status, await resp.json()


async def walk(client: Client, path: str, key: str, **params: str | int) -> list[dict[str, Any]]:
    """Follow cursors from the first page to the last and return every item."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(10_000):
        query = dict(params)
        if cursor is not None:
            query["cursor"] = cursor
        status, body = await get_json(client, path, **query)
        assert status == 200
        items.extend(body["data"][key])
        assert body["pagination"]["count"] == len(body["data"][key])
        if not body["pagination"]["hasNextPage"]:
            assert "cursor" not in body["pagination"]
            return items
        cursor = body["pagination"]["cursor"]
    raise AssertionError("the walk did not end")


def assert_error_body(body: Any, status: int) -> dict[str, Any]:
    """Check the API's error form and return the inner error object."""
    error: dict[str, Any] = body["error"]
    assert status == error["status"]
    assert isinstance(error["message"], str)
    assert isinstance(error["id"], str)
    assert error["id"]
    assert set(error) <= {"status", "message", "id", "details"}
    return error


# ---------------------------------------------------------------------------- auth


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"bearer {TOKEN}", TOKEN, ""])
async def test_bad_or_missing_token_is_401(
    mock: MockNorthflank, aiohttp_client: AiohttpClient, header: str | None
) -> None:
    """A missing or inexact bearer token gets 401 with the error body, never echoing it."""
    client = await aiohttp_client(mock.make_app())
    headers = {} if header is None else {"Authorization": header}
    async with client.get(BACKUPS, headers=headers) as resp:
        assert resp.status == 401
        text = await resp.text()
        assert resp.content_type == "application/json"
        assert resp.headers["x-ratelimit-remaining"] == "999"
    error = assert_error_body(json.loads(text), 401)
    assert "Unauthenticated" in error["message"]
    assert "wrong" not in text
    assert TOKEN not in text
    assert [r.authorized for r in mock.requests] == [False]


# -------------------------------------------------------------------------- routes


async def test_projects_route_with_and_without_team(client: Client, mock: MockNorthflank) -> None:
    """Both project routes list the stored projects in insertion order."""
    mock.add_project("second", description="The second one")
    expected = [
        {"id": "default-project", "name": "Default project"},
        {"id": "second", "name": "second", "description": "The second one"},
    ]
    for path in ("/v1/projects", "/v1/teams/example-team/projects"):
        status, body = await get_json(client, path)
        assert status == 200
        assert {
            "data": {"projects": expected},
            "pagination": {"hasNextPage": False, "count": 2},
        } == body


async def test_addons_route_with_and_without_team(client: Client, mock: MockNorthflank) -> None:
    """Both addon routes list the project's addons with appId, tags, spec and status."""
    mock.add_addon("default-project", "cache", addon_type="redis", status="paused", description="d")
    expected = [
        {
            "id": "example-addon",
            "name": "example-addon",
            "appId": "/example-team/default-project/example-addon",
            "tags": ["prod"],
            "spec": {"type": "mongodb"},
            "status": "running",
        },
        {
            "id": "cache",
            "name": "cache",
            "appId": "/example-team/default-project/cache",
            "tags": [],
            "description": "d",
            "spec": {"type": "redis"},
            "status": "paused",
        },
    ]
    for path in (
        "/v1/projects/default-project/addons",
        "/v1/teams/example-team/projects/default-project/addons",
    ):
        status, body = await get_json(client, path)
        assert status == 200
        assert expected == body["data"]["addons"]
        assert body["pagination"] == {"hasNextPage": False, "count": 2}


async def test_backups_route_serves_the_seed_shape(aiohttp_client: AiohttpClient) -> None:
    """Raw backups added as the API's JSON come back byte-for-byte in the seed's envelope."""
    mock = MockNorthflank()
    mock.add_backups("default-project", "example-addon", [SEED_BACKUP])
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    for path in (BACKUPS, "/v1/teams/example-team" + BACKUPS[3:]):
        status, body = await get_json(client, path)
        assert status == 200
        assert body == {
            "data": {"backups": [SEED_BACKUP]},
            "pagination": {"hasNextPage": False, "count": 1},
        }
    assert mock.backups("default-project", "example-addon") == [SEED_BACKUP]


async def test_other_team_is_404(client: Client) -> None:
    """A team route naming another team is not found."""
    status, body = await get_json(client, "/v1/teams/other-team/projects")
    assert status == 404
    assert assert_error_body(body, 404)["message"] == "Team other-team not found"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/v1",
        "/v2/projects",
        "/v1/projects/",
        "/v1/projects/default-project",
        "/v1/projects/default-project/addons/example-addon",
        "/v1/projects/default-project/addons/example-addon/backups/x",
        "/v1/teams/example-team",
    ],
)
async def test_unknown_path_is_404(client: Client, path: str) -> None:
    """Any path outside the three routes gets 404 with the error body."""
    status, body = await get_json(client, path)
    assert status == 404
    assert_error_body(body, 404)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/v1/projects/default-project/addons/nope/backups",
            "Addon nope not found in project default-project",
        ),
        (
            "/v1/projects/nope/addons/example-addon/backups",
            "Addon example-addon not found in project nope",
        ),
        ("/v1/projects/nope/addons", "Project nope not found"),
    ],
)
async def test_unknown_project_or_addon_is_404(client: Client, path: str, message: str) -> None:
    """An unknown project or addon is 404 naming the ids."""
    status, body = await get_json(client, path)
    assert status == 404
    assert message == assert_error_body(body, 404)["message"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_non_get_is_405(client: Client, method: str) -> None:
    """Any method other than GET gets 405 with the error body."""
    async with client.request(method, BACKUPS) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "GET"
        assert_error_body(await resp.json(), 405)


async def test_encoded_slash_is_one_id(mock: MockNorthflank, client: Client) -> None:
    """``a%2Fb`` in the raw path routes to the single id ``a/b``."""
    mock.add_backups("a/b", "c/d", [SEED_BACKUP])
    url = client.make_url("/").with_path("/v1/projects/a%2Fb/addons/c%2Fd/backups", encoded=True)
    async with client.session.get(url) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["data"]["backups"] == [SEED_BACKUP]
    assert mock.requests[-1].raw_path == "/v1/projects/a%2Fb/addons/c%2Fd/backups"
    assert mock.requests[-1].path == "/v1/projects/a/b/addons/c/d/backups"
    url = client.make_url("/").with_path("/v1/projects/a%2Fb/addons", encoded=True)
    async with client.session.get(url) as resp:
        addons = (await resp.json())["data"]["addons"]
    assert [a["id"] for a in addons] == ["c/d"]
    status, _ = await get_json(client, "/v1/projects/a/b/addons/c/d/backups")
    assert status == 404


# ---------------------------------------------------------------------- pagination


@pytest.mark.parametrize("per_page", [1, 7, 40, 50, 100])
async def test_cursor_walk_covers_everything_once(
    client: Client, mock: MockNorthflank, per_page: int
) -> None:
    """Following cursors yields every stored backup exactly once, in order."""
    items = await walk(client, BACKUPS, "backups", per_page=per_page)
    assert mock.backups("default-project", "example-addon") == items
    expected_requests = -(-120 // per_page)
    assert expected_requests == len(mock.requests)


async def test_default_per_page_and_opaque_cursor(client: Client) -> None:
    """Without per_page the default of 50 applies and the cursor is urlsafe base64."""
    status, body = await get_json(client, BACKUPS)
    assert status == 200
    assert body["pagination"]["count"] == 50
    assert True is body["pagination"]["hasNextPage"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", body["pagination"]["cursor"])


async def test_projects_and_addons_paginate(client: Client, mock: MockNorthflank) -> None:
    """Projects and addons use the same cursor pagination."""
    for i in range(5):
        mock.add_project(f"p{i}")
        mock.add_addon("default-project", f"a{i}")
    projects = await walk(client, "/v1/projects", "projects", per_page=2)
    assert [p["id"] for p in projects] == ["default-project", "p0", "p1", "p2", "p3", "p4"]
    addons = await walk(client, "/v1/projects/default-project/addons", "addons", per_page=4)
    assert [a["id"] for a in addons] == ["example-addon", "a0", "a1", "a2", "a3", "a4"]


async def test_page_parameter_offsets(client: Client, mock: MockNorthflank) -> None:
    """``page=n`` serves items from (n-1)*per_page, and beyond the end an empty last page."""
    stored = mock.backups("default-project", "example-addon")
    status, body = await get_json(client, BACKUPS, per_page=30, page=3)
    assert status == 200
    assert stored[60:90] == body["data"]["backups"]
    assert True is body["pagination"]["hasNextPage"]
    status, body = await get_json(client, BACKUPS, per_page=30, page=4)
    assert stored[90:] == body["data"]["backups"]
    assert body["pagination"] == {"hasNextPage": False, "count": 30}
    status, body = await get_json(client, BACKUPS, per_page=30, page=99)
    assert body == {"data": {"backups": []}, "pagination": {"hasNextPage": False, "count": 0}}


async def test_cursor_wins_over_page(client: Client, mock: MockNorthflank) -> None:
    """When both are given, the cursor decides the page."""
    stored = mock.backups("default-project", "example-addon")
    _, first = await get_json(client, BACKUPS, per_page=10)
    cursor = first["pagination"]["cursor"]
    _, body = await get_json(client, BACKUPS, per_page=10, page=5, cursor=cursor)
    assert stored[10:20] == body["data"]["backups"]


@pytest.mark.parametrize("value", ["0", "101", "abc", "", "-1", "1.5", " 5", "1_0", "+5", "٣"])
async def test_bad_per_page_is_400(client: Client, value: str) -> None:
    """per_page outside 1..100 or not a plain integer gets 400 naming the parameter."""
    status, body = await get_json(client, BACKUPS, per_page=value)
    assert status == 400
    assert assert_error_body(body, 400)["details"]["parameter"] == "per_page"


@pytest.mark.parametrize("value", ["0", "-1", "x", ""])
async def test_bad_page_is_400(client: Client, value: str) -> None:
    """page below 1 or not an integer gets 400 naming the parameter."""
    status, body = await get_json(client, BACKUPS, page=value)
    assert status == 400
    assert assert_error_body(body, 400)["details"]["parameter"] == "page"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "!!!!",
        "abcde",
        _b64(b"not json"),
        _b64(b"[1, 2]"),
        _b64(b'{"k": ["backups", "default-project", "example-addon"], "o": -1, "p": 0}'),
        _b64(b'{"k": ["backups", "default-project", "example-addon"], "o": true, "p": 0}'),
        _b64(b'{"k": ["backups", "default-project", "example-addon"], "o": 1.5, "p": 0}'),
        _b64(b'{"k": ["backups", "default-project", "example-addon"], "o": 1}'),
        _b64(b'{"k": ["backups", "default-project", "other-addon"], "o": 0, "p": 0}'),
        _b64(b"\xff\xfe"),
    ],
)
async def test_bad_cursor_is_400(client: Client, cursor: str) -> None:
    """A cursor that does not decode, or is not this list's, gets 400."""
    status, body = await get_json(client, BACKUPS, cursor=cursor)
    assert status == 400
    assert assert_error_body(body, 400)["details"]["parameter"] == "cursor"


async def test_cursor_of_another_collection_is_400(client: Client, mock: MockNorthflank) -> None:
    """A real cursor from the projects list is refused on the backups list."""
    for i in range(3):
        mock.add_project(f"p{i}")
    _, body = await get_json(client, "/v1/projects", per_page=1)
    status, body = await get_json(client, BACKUPS, cursor=body["pagination"]["cursor"])
    assert status == 400
    assert_error_body(body, 400)


async def test_cursor_survives_a_restart(
    fresh_session: Callable[[], aiohttp.ClientSession],
) -> None:
    """A cursor from one server stays valid on a new server with the same data."""
    first, second = MockNorthflank(seed=3), MockNorthflank(seed=3)
    for m in (first, second):
        m.generate_backups("default-project", "example-addon", 30)
    session = fresh_session()
    async with first, session.get(first.base_url.with_path(BACKUPS) % {"per_page": 10}) as resp:
        cursor = (await resp.json())["pagination"]["cursor"]
    async with second:
        url = second.base_url.with_path(BACKUPS) % {"per_page": 10, "cursor": cursor}
        async with session.get(url) as resp:
            body = await resp.json()
    assert second.backups("default-project", "example-addon")[10:20] == body["data"]["backups"]


async def test_set_page_sizes_serves_exact_pages(client: Client, mock: MockNorthflank) -> None:
    """Listed sizes, zeros included, are served in order, then pages of per_page."""
    mock.set_page_sizes("default-project", "example-addon", [0, 3, 0, 0, 100, 0])
    counts: list[int] = []
    has_next: list[bool] = []
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"per_page": 7}
        if cursor is not None:
            params["cursor"] = cursor
        status, body = await get_json(client, BACKUPS, **params)
        assert status == 200
        counts.append(body["pagination"]["count"])
        has_next.append(body["pagination"]["hasNextPage"])
        items.extend(body["data"]["backups"])
        if not body["pagination"]["hasNextPage"]:
            break
        cursor = body["pagination"]["cursor"]
    assert counts == [0, 3, 0, 0, 100, 0, 7, 7, 3]
    assert has_next == [True] * 8 + [False]
    assert mock.backups("default-project", "example-addon") == items


async def test_set_page_sizes_past_the_data(aiohttp_client: AiohttpClient) -> None:
    """Listed sizes beyond the data end the walk once the last listed page is served."""
    mock = MockNorthflank()
    mock.generate_backups("p", "a", 4)
    mock.set_page_sizes("p", "a", [3, 5, 5])
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    pages = await _pages(client, "/v1/projects/p/addons/a/backups")
    assert [page["pagination"]["count"] for page in pages] == [3, 1, 0]
    mock.set_page_sizes("p", "a", [])
    pages = await _pages(client, "/v1/projects/p/addons/a/backups", per_page=2)
    assert [page["pagination"]["count"] for page in pages] == [2, 2]


async def _pages(client: Client, path: str, **params: str | int) -> list[dict[str, Any]]:
    """Every page body of a cursor walk."""
    pages: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        status, body = await get_json(client, path, **query)
        assert status == 200
        pages.append(body)
        if not body["pagination"]["hasNextPage"]:
            return pages
        query["cursor"] = body["pagination"]["cursor"]


async def test_set_page_sizes_with_page_parameter(client: Client, mock: MockNorthflank) -> None:
    """``page=n`` lands on the n-th listed page, then continues in per_page pages."""
    stored = mock.backups("default-project", "example-addon")
    mock.set_page_sizes("default-project", "example-addon", [2, 0, 5])
    _, body = await get_json(client, BACKUPS, page=3, per_page=10)
    assert stored[2:7] == body["data"]["backups"]
    _, body = await get_json(client, BACKUPS, page=5, per_page=10)
    assert stored[17:27] == body["data"]["backups"]


# -------------------------------------------------------------------------- faults


async def test_fail_sends_status_with_error_body(client: Client, mock: MockNorthflank) -> None:
    """``fail(n, status)`` answers request n with the API's error JSON, then recovers."""
    plan = mock.faults.fail(2, 503, retry_after="7", headers={"X-Extra": "1"})
    assert plan is mock.faults
    assert (await get_json(client, BACKUPS))[0] == 200
    async with client.get(BACKUPS) as resp:
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "7"
        assert resp.headers["X-Extra"] == "1"
        assert "x-ratelimit-remaining" in resp.headers
        assert_error_body(await resp.json(), 503)
    assert (await get_json(client, BACKUPS))[0] == 200


async def test_fail_with_html_body(client: Client, mock: MockNorthflank) -> None:
    """``fail(..., body=...)`` sends that body as text/html, like a proxy page."""
    mock.faults.fail(1, 502, body="<html><h1>502 Bad Gateway</h1></html>")
    async with client.get(BACKUPS) as resp:
        assert resp.status == 502
        assert resp.content_type == "text/html"
        assert await resp.text() == "<html><h1>502 Bad Gateway</h1></html>"


async def test_fail_over_a_range_of_requests(client: Client, mock: MockNorthflank) -> None:
    """An iterable of request numbers fails each of them."""
    mock.faults.fail(range(2, 4), 500)
    statuses = [(await get_json(client, BACKUPS))[0] for _ in range(4)]
    assert statuses == [200, 500, 500, 200]


async def test_fail_path_targets_one_addon(client: Client, mock: MockNorthflank) -> None:
    """``fail_path`` fails only matching paths, ``times`` times or always."""
    mock.add_addon("default-project", "other")
    mock.faults.fail_path("/addons/other/", 403, times=2).fail_path("/v1/projects", 418, times=0)
    other = "/v1/projects/default-project/addons/other/backups"
    statuses = [(await get_json(client, p))[0] for p in (other, BACKUPS, other, other)]
    assert statuses == [403, 200, 403, 200]
    mock.faults.clear().fail_path("/addons/other/", 404)
    statuses = [(await get_json(client, p))[0] for p in (other, other, BACKUPS)]
    assert statuses == [404, 404, 200]


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
            assert resp.status == 200
    assert [r.number for r in mock.requests] == [1, 2, 3]


async def test_stall_delays_the_answer(client: Client, mock: MockNorthflank) -> None:
    """``stall(n, s)`` answers request n normally after s seconds."""
    mock.faults.stall(1, 0.2)
    started = time.monotonic()
    status, body = await get_json(client, BACKUPS)
    assert time.monotonic() - started >= 0.2
    assert status == 200
    assert body["pagination"]["count"] == 50


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
    assert mock.in_flight == 0


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
    assert mock.in_flight == 1
    started = time.monotonic()
    await server.close()
    assert await task == 200
    assert time.monotonic() - started < 5
    assert mock.in_flight == 0


async def test_drop_sends_no_bytes(mock: MockNorthflank) -> None:
    """On the wire a dropped request gets end-of-stream and not one byte."""
    mock.faults.drop(1)
    async with mock:
        reader, writer = await asyncio.open_connection(mock.base_url.host, mock.base_url.port)
        writer.write(f"GET {BACKUPS} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()


async def test_bad_json_bodies(client: Client, mock: MockNorthflank) -> None:
    """``bad_json`` sends 200 with a non-JSON body, empty included."""
    mock.faults.bad_json(1).bad_json(2, b"").bad_json(3, b"{", 500, content_type="text/plain")
    async with client.get(BACKUPS) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        assert await resp.read() == b"<html>not json</html>"
    async with client.get(BACKUPS) as resp:
        assert resp.status == 200
        assert await resp.read() == b""
    async with client.get(BACKUPS) as resp:
        assert resp.status == 500
        assert resp.content_type == "text/plain"
        assert await resp.read() == b"{"


async def test_repeat_cursor_loops(client: Client, mock: MockNorthflank) -> None:
    """``repeat_cursor`` returns the request's own cursor, or one for the same page."""
    stored = mock.backups("default-project", "example-addon")
    mock.faults.repeat_cursor([1, 3])
    _, first = await get_json(client, BACKUPS, per_page=10)
    assert stored[:10] == first["data"]["backups"]
    assert True is first["pagination"]["hasNextPage"]
    _, again = await get_json(client, BACKUPS, per_page=10, cursor=first["pagination"]["cursor"])
    assert stored[:10] == again["data"]["backups"]
    cursor = again["pagination"]["cursor"]
    _, second = await get_json(client, BACKUPS, per_page=10, cursor=cursor)
    assert stored[10:20] == second["data"]["backups"]
    assert cursor == second["pagination"]["cursor"]


async def test_omit_cursor(client: Client, mock: MockNorthflank) -> None:
    """``omit_cursor`` says there is a next page but gives no cursor, even on the last page."""
    mock.faults.omit_cursor([1, 2])
    _, body = await get_json(client, BACKUPS)
    assert body["pagination"] == {"hasNextPage": True, "count": 50}
    _, body = await get_json(client, BACKUPS, page=9)
    assert body["pagination"] == {"hasNextPage": True, "count": 0}


async def test_redirect(client: Client, mock: MockNorthflank) -> None:
    """``redirect`` answers with the status and Location given."""
    mock.faults.redirect(1, "https://evil.example/steal", status=307)
    async with client.get(BACKUPS, allow_redirects=False) as resp:
        assert resp.status == 307
        assert resp.headers["Location"] == "https://evil.example/steal"


async def test_rate_limit_budget_then_429(client: Client, mock: MockNorthflank) -> None:
    """``rate_limit_budget`` sets what is left now; past it the answer is 429."""
    mock.faults.rate_limit_budget(2, reset=30)
    remaining = []
    for _ in range(2):
        async with client.get(BACKUPS) as resp:
            assert resp.status == 200
            remaining.append(resp.headers["x-ratelimit-remaining"])
    assert remaining == ["1", "0"]
    async with client.get(BACKUPS) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == resp.headers["x-ratelimit-reset"]
        assert 0 < int(resp.headers["Retry-After"]) <= 30


async def test_clear_and_planned(client: Client, mock: MockNorthflank) -> None:
    """``planned`` lists the faults for a number and ``clear`` forgets all of them."""
    mock.faults.stall(1, 0.5).drop(1).omit_cursor(2)
    assert [Fault("stall", seconds=0.5), Fault("drop")] == mock.faults.planned(1)
    mock.faults.clear()
    assert mock.faults.planned(1) == []
    assert (await get_json(client, BACKUPS))[0] == 200


def test_fault_plan_refuses_bad_arguments() -> None:
    """Request numbers are 1-based ints, stalls non-negative, budgets need a mock."""
    plan = FaultPlan()
    with pytest.raises(ValueError, match="1-based"):
        plan.fail(0, 500)
    with pytest.raises(ValueError, match="1-based"):
        plan.drop([True])
    with pytest.raises(ValueError, match="seconds"):
        plan.stall(1, -1)
    with pytest.raises(ValueError, match="times"):
        plan.fail_path("x", 500, times=-1)
    with pytest.raises(RuntimeError, match="not attached"):
        plan.rate_limit_budget(1)
    with pytest.raises(ValueError, match="remaining"):
        MockNorthflank().faults.rate_limit_budget(-1)


# ----------------------------------------------------------------------- recording


async def test_recording_without_the_token(
    mock: MockNorthflank, aiohttp_client: AiohttpClient
) -> None:
    """Every request is recorded in order, 401s included, with the token redacted."""
    client = await aiohttp_client(mock.make_app())
    async with client.get(
        "/v1/projects/a%2Fb/addons?per_page=5&x=%20y&x=z", headers={"Authorization": "Bearer nope"}
    ) as resp:
        assert resp.status == 401
    async with client.get(BACKUPS, headers={**AUTH, "User-Agent": "ua/1"}) as resp:
        assert resp.status == 200
    first, second = mock.requests
    assert isinstance(first, RecordedRequest)
    assert first.number == 1
    assert first.method == "GET"
    assert first.raw_path == "/v1/projects/a%2Fb/addons"
    assert first.path == "/v1/projects/a/b/addons"
    assert first.raw_query == "per_page=5&x=%20y&x=z"
    assert first.query == {"per_page": "5", "x": "z"}
    assert first.headers["Authorization"] == "Bearer <redacted>"
    assert False is first.authorized
    assert second.number == 2
    assert second.headers["Authorization"] == "Bearer <redacted>"
    assert second.headers["User-Agent"] == "ua/1"
    assert True is second.authorized
    assert first.received_at <= second.received_at
    assert TOKEN not in repr(mock.requests)


# ---------------------------------------------------------------------- rate limit


async def test_rate_limit_counts_down_to_429(aiohttp_client: AiohttpClient) -> None:
    """Each request spends one; at zero the answer is 429 with Retry-After; the window rolls."""
    clock = FakeClock()
    mock = MockNorthflank(rate_limit=3, rate_limit_window=60, clock=clock)
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    seen = []
    for step in range(4):
        clock.now += 10 if step else 0
        async with client.get("/v1/projects") as resp:
            seen.append(
                (
                    resp.status,
                    resp.headers["x-ratelimit-limit"],
                    resp.headers["x-ratelimit-remaining"],
                    resp.headers["x-ratelimit-reset"],
                    resp.headers.get("Retry-After"),
                )
            )
            body = await resp.json()
    assert seen == [
        (200, "3", "2", "60", None),
        (200, "3", "1", "50", None),
        (200, "3", "0", "40", None),
        (429, "3", "0", "30", "30"),
    ]
    assert_error_body(body, 429)
    assert mock.rate_limit_remaining == 0
    clock.now += 30.5
    assert mock.rate_limit_remaining == 3
    async with client.get("/v1/projects") as resp:
        assert (
            resp.status,
            resp.headers["x-ratelimit-remaining"],
            resp.headers["x-ratelimit-reset"],
        ) == (200, "2", "60")


async def test_reset_rate_limit(aiohttp_client: AiohttpClient) -> None:
    """``reset_rate_limit`` starts a fresh window with a full budget."""
    mock = MockNorthflank(rate_limit=1)
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    statuses = [(await get_json(client, "/v1/projects"))[0] for _ in range(2)]
    mock.reset_rate_limit()
    statuses.append((await get_json(client, "/v1/projects"))[0])
    assert statuses == [200, 429, 200]
    assert mock.rate_limit == 1


async def test_errors_carry_rate_limit_headers(client: Client) -> None:
    """404s and 400s carry the rate-limit headers too."""
    for path in ("/nowhere", BACKUPS + "?per_page=0"):
        async with client.get(path) as resp:
            assert resp.status in (400, 404)
            assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= {
                k.lower() for k in resp.headers
            }


# ----------------------------------------------------------------- server lifecycle


async def test_wait_for_requests(client: Client, mock: MockNorthflank) -> None:
    """``wait_for_requests`` returns once that many requests have arrived."""
    await mock.wait_for_requests(0)
    waiter = asyncio.create_task(mock.wait_for_requests(2))
    await get_json(client, BACKUPS)
    await asyncio.sleep(0)
    assert not waiter.done()
    await get_json(client, BACKUPS)
    await asyncio.wait_for(waiter, 5)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(mock.wait_for_requests(3), 0.01)
    assert mock._request_waiters == []


async def test_in_flight_tracking(client: Client, mock: MockNorthflank) -> None:
    """Concurrent requests are counted while handled, latency included."""
    mock.latency = 0.2  # generous: all five must arrive before the first answers
    results = await asyncio.gather(*(get_json(client, BACKUPS) for _ in range(5)))
    assert [status for status, _ in results] == [200] * 5
    assert mock.max_in_flight == 5
    assert mock.in_flight == 0


async def test_start_close_and_context_manager(
    fresh_session: Callable[[], aiohttp.ClientSession],
) -> None:
    """``start`` binds a free port and ``close`` releases it; ``async with`` does both."""
    mock = MockNorthflank()
    with pytest.raises(RuntimeError, match="not started"):
        _ = mock.base_url
    url = await mock.start()
    assert url == mock.base_url
    assert url.host == "127.0.0.1"
    assert url.port
    with pytest.raises(RuntimeError, match="already started"):
        await mock.start()
    session = fresh_session()
    async with session.get(url.with_path("/v1/projects")) as resp:
        assert resp.status == 200
    await mock.close()
    await mock.close()
    with pytest.raises(RuntimeError, match="not started"):
        _ = mock.base_url
    with pytest.raises(aiohttp.ClientConnectionError):
        async with session.get(url.with_path("/v1/projects")):
            pass
    async with MockNorthflank() as other, session.get(other.base_url / "v1/projects") as resp:
        assert resp.status == 200
    with pytest.raises(RuntimeError):
        _ = other.base_url


async def test_start_on_a_busy_port_fails_cleanly(mock: MockNorthflank) -> None:
    """``start`` on a port already in use raises and leaves the mock unstarted."""
    async with MockNorthflank() as other:
        with pytest.raises(OSError, match=r"(?i)address already in use"):
            await mock.start(port=other.base_url.port or 0)
    with pytest.raises(RuntimeError, match="not started"):
        _ = mock.base_url


async def test_absolute_form_request_target(mock: MockNorthflank) -> None:
    """A proxy-style absolute request target is routed and recorded by its path."""
    async with mock:
        reader, writer = await asyncio.open_connection(mock.base_url.host, mock.base_url.port)
        writer.write(
            f"GET http://x{BACKUPS}?per_page=2 HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        response = await reader.read()
        writer.close()
        await writer.wait_closed()
    assert response.startswith(b"HTTP/1.1 200 ")
    assert mock.requests[0].raw_path == BACKUPS
    assert mock.requests[0].query == {"per_page": "2"}


async def test_app_works_with_aiohttp_server(
    mock: MockNorthflank,
    aiohttp_server: AiohttpServer,
    fresh_session: Callable[[], aiohttp.ClientSession],
) -> None:
    """``make_app()`` runs under the ``aiohttp_server`` fixture, state shared with the mock."""
    server = await aiohttp_server(mock.make_app())
    session = fresh_session()
    async with session.get(server.make_url(BACKUPS)) as resp:
        assert resp.status == 200
    assert len(mock.requests) == 1


# ----------------------------------------------------------------------- generation


def test_generate_backups_is_realistic() -> None:
    """Generated backups use every enum value, the API's formats and ascending times."""
    mock = MockNorthflank()
    backups = mock.generate_backups("p", "a", 500)
    assert len({b["id"] for b in backups}) == 500
    assert {b["status"] for b in backups} == {
        "scheduled",
        "in-progress",
        "completed",
        "aborting",
        "aborted",
        "failed",
        "not-supported",
    }
    completed = sum(b["status"] == "completed" for b in backups)
    assert completed > 300
    assert {b["config"]["source"]["type"] for b in backups} == {
        "fileUpload",
        "liveInstance",
        "snapshot",
        "externalDump",
        "sameAddon",
    }
    assert {"gz", "zstd"} == {b["config"]["compressionType"] for b in backups}
    time_re = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
    dest_re = re.compile(r"[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*")
    created = [b["createdAt"] for b in backups]
    assert created == sorted(created)
    assert len(set(created)) == len(created)
    sizes = [int(b["config"]["size"]) for b in backups if b["status"] == "completed"]
    assert min(sizes) >= 1024
    assert max(sizes) > 2**30
    assert any("additionalDestinations" in b["config"] for b in backups)
    assert any("customDestinationId" in b for b in backups)
    for b in backups:
        assert re.fullmatch(r"backup-\d{6}-[0-9a-f]{6}", b["id"])
        assert time_re.fullmatch(b["createdAt"])
        assert re.fullmatch(r"[0-9]+", b["config"]["size"])
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?", b["config"]["addonVersion"])
        assert b["name"].endswith(b["createdAt"][:10])
        if b["status"] in ("scheduled", "in-progress", "aborting"):
            assert b.get("completedAt") is None
        else:
            assert time_re.fullmatch(b["completedAt"])
            assert b["completedAt"] > b["createdAt"]
        for d in b["config"].get("additionalDestinations", []):
            assert dest_re.fullmatch(d["destinationId"])
            assert isinstance(d["retentionTime"], int)
            assert d["type"] == "custom"
        if "customDestinationId" in b:
            assert dest_re.fullmatch(b["customDestinationId"])
    assert backups == mock.backups("p", "a")


def test_generate_many_backups() -> None:
    """A large batch (the GC-paused path) gives unique ids and leaves the GC enabled."""
    backups = MockNorthflank().generate_backups("p", "a", 20_000)
    assert len({b["id"] for b in backups}) == 20_000
    assert gc.isenabled()


def test_generate_backups_is_deterministic() -> None:
    """The same seed and ids give the same backups; another seed or addon does not."""
    a = MockNorthflank(seed=1).generate_backups("p", "a", 50)
    assert a == MockNorthflank(seed=1).generate_backups("p", "a", 50)
    assert a != MockNorthflank(seed=2).generate_backups("p", "a", 50)
    assert a != MockNorthflank(seed=1).generate_backups("p", "b", 50)


def test_generate_backups_continues_the_sequence() -> None:
    """A second call appends later backups with fresh ids."""
    mock = MockNorthflank()
    first = copy.deepcopy(mock.generate_backups("p", "a", 10))
    second = mock.generate_backups("p", "a", 10)
    assert first + second == mock.backups("p", "a")
    assert len({b["id"] for b in first + second}) == 20
    assert first[-1]["createdAt"] < second[0]["createdAt"]
    assert second[0]["id"][:14] == "backup-000010-"
    assert mock.generate_backups("p", "a", 0) == []


def test_generate_team() -> None:
    """``generate_team`` makes project-1.. with addons of several kinds, each with backups."""
    mock = MockNorthflank()
    mock.generate_team(projects=2, addons_per_project=5, backups_per_addon=4)
    assert [p["id"] for p in mock.projects()] == ["project-1", "project-2"]
    addons = mock.addons("project-1")
    assert [a["id"] for a in addons] == [
        "postgresql-1",
        "mongodb-2",
        "redis-3",
        "mysql-4",
        "minio-5",
    ]
    assert {"postgresql", "mongodb", "redis", "mysql", "minio"} == {
        a["spec"]["type"] for a in addons
    }
    for project in ("project-1", "project-2"):
        for addon in mock.addons(project):
            assert len(mock.backups(project, addon["id"])) == 4


def test_store_helpers() -> None:
    """add_* create parents, update in place, and refuse bad arguments."""
    mock = MockNorthflank()
    mock.add_backups("p", "a", [{"id": "x"}])
    assert mock.add_project("p") == {"id": "p", "name": "p"}
    assert mock.add_project("p", name="P", description="d") == {
        "id": "p",
        "name": "P",
        "description": "d",
    }
    addon = mock.add_addon("p", "a", addon_type="redis")
    assert addon["spec"]["type"] == "redis"
    assert mock.backups("p", "a") == [{"id": "x"}]
    assert mock.projects() == [{"id": "p", "name": "P", "description": "d"}]
    assert [a["id"] for a in mock.addons("p")] == ["a"]
    with pytest.raises(KeyError):
        mock.backups("p", "missing")
    with pytest.raises(KeyError):
        mock.addons("missing")
    with pytest.raises(ValueError, match="page sizes"):
        mock.set_page_sizes("p", "a", [1, -1])
    with pytest.raises(ValueError, match="count"):
        mock.generate_backups("p", "a", -1)
    with pytest.raises(ValueError, match="default_per_page"):
        MockNorthflank(default_per_page=101)
