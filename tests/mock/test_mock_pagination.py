"""MockNorthflank's list pagination over loopback HTTP: cursors, per_page, page, page sizes."""

from __future__ import annotations

import base64
import re
from typing import Any

import aiohttp
import pytest
from pytest_aiohttp import AiohttpClient

from northflank_async.testing import MockNorthflank

from .support import (
    ADDON,
    AUTH,
    BACKUPS,
    PROJECT,
    Client,
    error_body,
    filled_mock,
    get_json,
    pages,
    walk,
)


def b64(raw: bytes) -> str:
    """``raw`` as unpadded urlsafe base64, the cursor's encoding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("per_page", [1, 7, 40, 50, 100])
async def test_cursor_walk_covers_everything_once(
    client: Client, mock: MockNorthflank, per_page: int
) -> None:
    """Following cursors yields every stored backup exactly once, in order, page by page."""
    items = await walk(client, BACKUPS, "backups", per_page=per_page)
    assert mock.backups(PROJECT, ADDON) == items
    assert -(-120 // per_page) == len(mock.requests)


async def test_default_per_page_and_opaque_cursor(client: Client) -> None:
    """Without per_page the default of 50 applies and the cursor is urlsafe base64."""
    status, body = await get_json(client, BACKUPS)
    assert (200, 50, True) == (
        status,
        body["pagination"]["count"],
        body["pagination"]["hasNextPage"],
    )
    assert re.fullmatch(r"[A-Za-z0-9_-]+", body["pagination"]["cursor"])


async def test_default_per_page_is_settable(aiohttp_client: AiohttpClient) -> None:
    """``default_per_page`` sets the page size used when a request gives none."""
    client = await aiohttp_client(filled_mock(default_per_page=7).make_app(), headers=AUTH)
    assert [7] * 17 + [1] == [body["pagination"]["count"] for body in await pages(client, BACKUPS)]


@pytest.mark.parametrize("default_per_page", [0, 101])
def test_default_per_page_out_of_range_is_refused(default_per_page: int) -> None:
    """``default_per_page`` outside 1..100 is refused when the mock is made."""
    with pytest.raises(ValueError, match=r"^default_per_page must be within 1\.\.100$"):
        MockNorthflank(default_per_page=default_per_page)


@pytest.mark.parametrize(
    ("path", "key", "per_page", "expected"),
    [
        ("/v1/projects", "projects", 2, [PROJECT, "p0", "p1", "p2", "p3", "p4"]),
        (f"/v1/projects/{PROJECT}/addons", "addons", 4, [ADDON, "a0", "a1", "a2", "a3", "a4"]),
    ],
)
async def test_projects_and_addons_paginate(
    client: Client, mock: MockNorthflank, path: str, key: str, per_page: int, expected: list[str]
) -> None:
    """Projects and addons use the same cursor pagination as backups."""
    for i in range(5):
        mock.add_project(f"p{i}")
        mock.add_addon(PROJECT, f"a{i}")
    assert expected == [item["id"] for item in await walk(client, path, key, per_page=per_page)]


@pytest.mark.parametrize(
    ("page", "start", "end", "has_next"),
    [(1, 0, 30, True), (3, 60, 90, True), (4, 90, 120, False), (99, 120, 120, False)],
)
async def test_page_parameter_offsets(
    client: Client, mock: MockNorthflank, page: int, start: int, end: int, has_next: bool
) -> None:
    """``page=n`` serves items from (n-1)*per_page, and beyond the end an empty last page."""
    status, body = await get_json(client, BACKUPS, per_page=30, page=page)
    assert (200, mock.backups(PROJECT, ADDON)[start:end]) == (status, body["data"]["backups"])
    assert (has_next, end - start) == (
        body["pagination"]["hasNextPage"],
        body["pagination"]["count"],
    )


async def test_cursor_wins_over_page(client: Client, mock: MockNorthflank) -> None:
    """When both are given, the cursor decides the page."""
    _, first = await get_json(client, BACKUPS, per_page=10)
    cursor = first["pagination"]["cursor"]
    _, body = await get_json(client, BACKUPS, per_page=10, page=5, cursor=cursor)
    assert mock.backups(PROJECT, ADDON)[10:20] == body["data"]["backups"]


@pytest.mark.parametrize("value", ["0", "101", "abc", "", "-1", "1.5", " 5", "1_0", "+5", "٣"])
async def test_bad_per_page_is_400(client: Client, value: str) -> None:
    """per_page outside 1..100 or not a plain integer gets 400 naming the parameter."""
    details = {"parameter": "per_page", "reason": "must be an integer from 1 to 100"}
    message = "per_page must be an integer between 1 and 100"
    assert (400, error_body(1, 400, message, details)) == await get_json(
        client, BACKUPS, per_page=value
    )


@pytest.mark.parametrize("value", ["0", "-1", "x", ""])
async def test_bad_page_is_400(client: Client, value: str) -> None:
    """page below 1 or not an integer gets 400 naming the parameter."""
    details = {"parameter": "page", "reason": "must be an integer >= 1"}
    message = "page must be an integer of at least 1"
    assert (400, error_body(1, 400, message, details)) == await get_json(
        client, BACKUPS, page=value
    )


INVALID_CURSOR = error_body(
    1, 400, "Invalid cursor", {"parameter": "cursor", "reason": "not a cursor for this list"}
)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "!!!!",
        "abcde",
        b64(b"not json"),
        b64(b"[1, 2]"),
        b64(b'{"k": ["backups", "default-project", "example-addon"], "o": -1, "p": 0}'),
        b64(b'{"k": ["backups", "default-project", "example-addon"], "o": true, "p": 0}'),
        b64(b'{"k": ["backups", "default-project", "example-addon"], "o": 1.5, "p": 0}'),
        b64(b'{"k": ["backups", "default-project", "example-addon"], "o": 1}'),
        b64(b'{"k": ["backups", "default-project", "other-addon"], "o": 0, "p": 0}'),
        b64(b"\xff\xfe"),
    ],
)
async def test_bad_cursor_is_400(client: Client, cursor: str) -> None:
    """A cursor that does not decode, or is not this list's, gets 400."""
    assert (400, INVALID_CURSOR) == await get_json(client, BACKUPS, cursor=cursor)


async def test_cursor_of_another_collection_is_400(client: Client, mock: MockNorthflank) -> None:
    """A real cursor from the projects list is refused on the backups list."""
    for i in range(3):
        mock.add_project(f"p{i}")
    _, body = await get_json(client, "/v1/projects", per_page=1)
    status, body = await get_json(client, BACKUPS, cursor=body["pagination"]["cursor"])
    assert (400, error_body(2, 400, "Invalid cursor", INVALID_CURSOR["error"]["details"])) == (
        status,
        body,
    )


async def test_cursor_survives_a_restart() -> None:
    """A cursor from one server stays valid on a new server with the same data."""
    first, second = MockNorthflank(seed=3), MockNorthflank(seed=3)
    for m in (first, second):
        m.generate_backups(PROJECT, ADDON, 30)
    async with aiohttp.ClientSession(headers=AUTH) as session:
        async with first, session.get(first.base_url.with_path(BACKUPS) % {"per_page": 10}) as resp:
            cursor = (await resp.json())["pagination"]["cursor"]
        async with second:
            url = second.base_url.with_path(BACKUPS) % {"per_page": 10, "cursor": cursor}
            async with session.get(url) as resp:
                body = await resp.json()
    assert second.backups(PROJECT, ADDON)[10:20] == body["data"]["backups"]


async def test_set_page_sizes_serves_exact_pages(client: Client, mock: MockNorthflank) -> None:
    """Listed sizes, zeros included, are served in order, then pages of per_page."""
    mock.set_page_sizes(PROJECT, ADDON, [0, 3, 0, 0, 100, 0])
    bodies = await pages(client, BACKUPS, per_page=7)
    assert [0, 3, 0, 0, 100, 0, 7, 7, 3] == [body["pagination"]["count"] for body in bodies]
    assert [True] * 8 + [False] == [body["pagination"]["hasNextPage"] for body in bodies]
    assert mock.backups(PROJECT, ADDON) == [b for body in bodies for b in body["data"]["backups"]]


async def test_set_page_sizes_past_the_data(aiohttp_client: AiohttpClient) -> None:
    """Listed sizes beyond the data end the walk once the last listed page is served."""
    mock = MockNorthflank()
    mock.generate_backups("p", "a", 4)
    mock.set_page_sizes("p", "a", [3, 5, 5])
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    bodies = await pages(client, "/v1/projects/p/addons/a/backups")
    assert [3, 1, 0] == [body["pagination"]["count"] for body in bodies]
    mock.set_page_sizes("p", "a", [])
    bodies = await pages(client, "/v1/projects/p/addons/a/backups", per_page=2)
    assert [2, 2] == [body["pagination"]["count"] for body in bodies]


@pytest.mark.parametrize(("page", "start", "end"), [(1, 0, 2), (2, 2, 2), (3, 2, 7), (5, 17, 27)])
async def test_set_page_sizes_with_page_parameter(
    client: Client, mock: MockNorthflank, page: int, start: int, end: int
) -> None:
    """``page=n`` lands on the n-th listed page, then continues in per_page pages."""
    mock.set_page_sizes(PROJECT, ADDON, [2, 0, 5])
    _, body = await get_json(client, BACKUPS, page=page, per_page=10)
    assert mock.backups(PROJECT, ADDON)[start:end] == body["data"]["backups"]


@pytest.mark.parametrize("sizes", [[1, -1], [True], [1.0]])
def test_set_page_sizes_refuses_what_is_not_a_size(sizes: list[Any]) -> None:
    """Page sizes must be ints of at least zero (not bools, not floats)."""
    with pytest.raises(ValueError, match=r"^page sizes must be ints >= 0$"):
        MockNorthflank().set_page_sizes("p", "a", sizes)
