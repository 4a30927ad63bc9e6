"""What the MockNorthflank tests share: constants, a filled mock, and HTTP helpers."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from northflank_async.testing import MockNorthflank

TOKEN = "nf-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROJECT = "default-project"
ADDON = "example-addon"
BACKUPS = f"/v1/projects/{PROJECT}/addons/{ADDON}/backups"

Client = TestClient[Any, Any]


def filled_mock(**kwargs: Any) -> MockNorthflank:
    """A mock (built with ``kwargs``) with one mongodb addon holding 120 generated backups."""
    mock = MockNorthflank(**kwargs)
    mock.add_project(PROJECT, name="Default project")
    mock.add_addon(PROJECT, ADDON, addon_type="mongodb", tags=["prod"])
    mock.generate_backups(PROJECT, ADDON, 120)
    return mock


def error_body(number: int, status: int, message: str, details: object = None) -> dict[str, Any]:
    """The API's error JSON the mock sends as its answer to request ``number``."""
    error: dict[str, Any] = {"status": status, "message": message, "id": f"mock-error-{number:06d}"}
    if details is not None:
        error["details"] = details
    return {"error": error}


async def get_json(client: Client, path: str, **params: str | int) -> tuple[int, Any]:
    """GET ``path`` and return (status, parsed JSON body)."""
    async with client.get(path, params=params) as resp:
        return resp.status, await resp.json()


async def pages(client: Client, path: str, **params: str | int) -> list[dict[str, Any]]:
    """Every page body of a cursor walk from the first page to the last."""
    bodies: list[dict[str, Any]] = []
    query = dict(params)
    for _ in range(10_000):
        status, body = await get_json(client, path, **query)
        assert 200 == status
        assert len(body["data"][next(iter(body["data"]))]) == body["pagination"]["count"]
        bodies.append(body)
        if not body["pagination"]["hasNextPage"]:
            assert "cursor" not in body["pagination"]
            return bodies
        query["cursor"] = body["pagination"]["cursor"]
    raise AssertionError("the walk did not end")


async def walk(client: Client, path: str, key: str, **params: str | int) -> list[dict[str, Any]]:
    """Follow cursors from the first page to the last and return every item."""
    return [item for body in await pages(client, path, **params) for item in body["data"][key]]


async def send(
    client: Client, method: str, path: str, body: Any = None, **params: str
) -> tuple[int, Any]:
    """``method path`` with ``body`` as JSON (none when None); return (status, parsed JSON)."""
    async with client.request(method, path, json=body, params=params) as resp:
        return resp.status, await resp.json()


async def start_backup(client: Client, body: Any = None, path: str = BACKUPS) -> dict[str, Any]:
    """Start a backup with ``body`` (``{}`` when None) on ``path``; return its JSON."""
    status, answer = await send(client, "POST", path, body if body is not None else {})
    assert 200 == status, answer
    assert ["data"] == list(answer)
    backup: dict[str, Any] = answer["data"]
    return backup


async def get_backup(client: Client, backup_id: str) -> dict[str, Any]:
    """The backup as ``GET .../backups/{id}`` of the default addon serves it."""
    status, answer = await send(client, "GET", f"{BACKUPS}/{backup_id}")
    assert 200 == status, answer
    backup: dict[str, Any] = answer["data"]
    return backup
