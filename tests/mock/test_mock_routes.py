"""MockNorthflank's routes over loopback HTTP: auth, the listing routes, 404 and 405."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from northflank_async.testing import MockNorthflank, example_backup

from .support import (
    ADDON,
    AUTH,
    BACKUPS,
    PROJECT,
    TOKEN,
    Client,
    error_body,
    get_json,
)

#: The backup of the API reference's example response.
SEED_BACKUP: dict[str, Any] = example_backup()
TEAM = "/v1/teams/example-team"


# ---------------------------------------------------------------------------- auth


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"bearer {TOKEN}", TOKEN, ""])
async def test_bad_or_missing_token_is_401(
    mock: MockNorthflank, aiohttp_client: AiohttpClient, header: str | None
) -> None:
    """A missing or inexact bearer token gets 401 with the error body, never echoing it."""
    client = await aiohttp_client(mock.make_app())
    headers = {} if header is None else {"Authorization": header}
    async with client.get(BACKUPS, headers=headers) as resp:
        assert 401 == resp.status
        assert "application/json" == resp.content_type
        assert "999" == resp.headers["x-ratelimit-remaining"]
        text = await resp.text()
    assert error_body(1, 401, "Unauthenticated: a valid API token is required") == json.loads(text)
    assert [False] == [r.authorized for r in mock.requests]


# -------------------------------------------------------------------------- routes


@pytest.mark.parametrize("path", ["/v1/projects", f"{TEAM}/projects"])
async def test_projects_route(client: Client, mock: MockNorthflank, path: str) -> None:
    """The project route, with or without the team, lists the projects in insertion order."""
    mock.add_project("second", description="The second one")
    expected = [
        {"id": PROJECT, "name": "Default project"},
        {"id": "second", "name": "second", "description": "The second one"},
    ]
    assert (
        200,
        {"data": {"projects": expected}, "pagination": {"hasNextPage": False, "count": 2}},
    ) == await get_json(client, path)


@pytest.mark.parametrize(
    "path", [f"/v1/projects/{PROJECT}/addons", f"{TEAM}/projects/{PROJECT}/addons"]
)
async def test_addons_route(client: Client, mock: MockNorthflank, path: str) -> None:
    """The addon route, with or without the team, lists addons with appId, tags, spec, status."""
    mock.add_addon(PROJECT, "cache", addon_type="redis", status="paused", description="d")
    expected = [
        {
            "id": ADDON,
            "name": ADDON,
            "appId": f"/example-team/{PROJECT}/{ADDON}",
            "tags": ["prod"],
            "spec": {"type": "mongodb"},
            "status": "running",
        },
        {
            "id": "cache",
            "name": "cache",
            "appId": f"/example-team/{PROJECT}/cache",
            "tags": [],
            "description": "d",
            "spec": {"type": "redis"},
            "status": "paused",
        },
    ]
    assert (
        200,
        {"data": {"addons": expected}, "pagination": {"hasNextPage": False, "count": 2}},
    ) == await get_json(client, path)


@pytest.mark.parametrize("path", [BACKUPS, TEAM + BACKUPS[3:]])
async def test_backups_route_serves_the_seed_shape(
    aiohttp_client: AiohttpClient, path: str
) -> None:
    """Raw backups added as the API's JSON come back verbatim in the API's envelope."""
    mock = MockNorthflank()
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    assert (
        200,
        {"data": {"backups": [SEED_BACKUP]}, "pagination": {"hasNextPage": False, "count": 1}},
    ) == await get_json(client, path)
    assert [SEED_BACKUP] == mock.backups(PROJECT, ADDON)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/", "Not found"),
        ("/v1", "Not found"),
        ("/v2/projects", "Not found"),
        ("/v1/projects/", "Not found"),
        ("/v1/projects/default-project", "Not found"),
        ("/v1/projects/default-project/addons/example-addon", "Not found"),
        (BACKUPS + "/x", "Backup x not found"),
        (BACKUPS + "/x/y", "Not found"),
        (TEAM, "Not found"),
        ("/v1/teams/projects", "Not found"),
        (TEAM + "/nowhere", "Not found"),
        ("/v1/teams/other-team/projects", "Team other-team not found"),
        ("/v1/teams/other-team/nowhere", "Team other-team not found"),
        (
            f"/v1/projects/{PROJECT}/addons/nope/backups",
            f"Addon nope not found in project {PROJECT}",
        ),
        (f"/v1/projects/nope/addons/{ADDON}/backups", f"Addon {ADDON} not found in project nope"),
        ("/v1/projects/nope/addons", "Project nope not found"),
    ],
)
async def test_unknown_route_team_or_id_is_404(client: Client, path: str, message: str) -> None:
    """An unknown path, another team, or an unknown project or addon is 404 saying which."""
    assert (404, error_body(1, 404, message)) == await get_json(client, path)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        *[
            (method, path, "GET")
            for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
            for path in ["/v1/projects", "/v1/teams/other-team/projects"]
        ],
        *[(method, BACKUPS, "GET, POST") for method in ["PUT", "DELETE", "PATCH", "OPTIONS"]],
        ("PUT", BACKUPS + "/x", "DELETE, GET"),
        ("GET", BACKUPS + "/x/abort", "POST"),
        ("DELETE", f"/v1/projects/{PROJECT}/addons/{ADDON}/restores", "GET"),
    ],
)
async def test_method_no_route_serves_is_405(
    client: Client, method: str, path: str, allow: str
) -> None:
    """A method no route serves on a known path is 405 with ``Allow``, whatever the team."""
    async with client.request(method, path) as resp:
        assert (405, allow) == (resp.status, resp.headers["Allow"])
        assert error_body(1, 405, f"Method {method} not allowed") == await resp.json()


async def test_head_is_405_without_a_body(client: Client) -> None:
    """HEAD is not served: 405 with ``Allow`` and, as HEAD wants, no body."""
    async with client.head(BACKUPS) as resp:
        assert (405, "GET, POST", b"") == (resp.status, resp.headers["Allow"], await resp.read())


async def test_405_comes_before_401(mock: MockNorthflank, aiohttp_client: AiohttpClient) -> None:
    """Without a token, a method the path does not serve is still 405, not 401."""
    client = await aiohttp_client(mock.make_app())
    async with client.put(BACKUPS) as resp:
        assert (405, "GET, POST") == (resp.status, resp.headers["Allow"])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (AUTH, (404, error_body(1, 404, "Not found"))),
        ({}, (401, error_body(1, 401, "Unauthenticated: a valid API token is required"))),
    ],
)
async def test_other_method_on_unknown_path_is_404_after_401(
    mock: MockNorthflank,
    aiohttp_client: AiohttpClient,
    headers: dict[str, str],
    expected: tuple[int, dict[str, Any]],
) -> None:
    """A path no route knows is 404 for any method, checked after the token (401)."""
    client = await aiohttp_client(mock.make_app(), headers=headers)
    async with client.post("/v1/nowhere", json={"x": 1}) as resp:
        assert expected == (resp.status, await resp.json())


async def test_a_get_with_a_body_is_served(client: Client, mock: MockNorthflank) -> None:
    """A body sent with a GET is read and ignored: the page is the same as without one."""
    async with client.get(BACKUPS, data=b'{"ignored": true}') as resp:
        assert 200 == resp.status
        body = await resp.json()
    assert mock.backups(PROJECT, ADDON)[:50] == body["data"]["backups"]


async def test_encoded_slash_is_one_id(mock: MockNorthflank, client: Client) -> None:
    """``a%2Fb`` in the raw path routes to the single id ``a/b``; a real slash does not."""
    mock.add_backups("a/b", "c/d", [SEED_BACKUP])
    url = client.make_url("/").with_path("/v1/projects/a%2Fb/addons/c%2Fd/backups", encoded=True)
    async with client.session.get(url) as resp:
        assert 200 == resp.status
        assert [SEED_BACKUP] == (await resp.json())["data"]["backups"]
    assert "/v1/projects/a%2Fb/addons/c%2Fd/backups" == mock.requests[-1].raw_path
    assert "/v1/projects/a/b/addons/c/d/backups" == mock.requests[-1].path
    url = client.make_url("/").with_path("/v1/projects/a%2Fb/addons", encoded=True)
    async with client.session.get(url) as resp:
        assert ["c/d"] == [a["id"] for a in (await resp.json())["data"]["addons"]]
    assert 404 == (await get_json(client, "/v1/projects/a/b/addons/c/d/backups"))[0]


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
    assert (BACKUPS, {"per_page": "2"}) == (mock.requests[0].raw_path, mock.requests[0].query)
