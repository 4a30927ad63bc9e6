"""What the storage origin's tests share: backups to download, links, and reading bodies."""

from __future__ import annotations

from typing import Any

import aiohttp

from northflank_async.testing import MockNorthflank

from .support import ADDON, AUTH, BACKUPS, PROJECT

SIZE = 300_000
"""The size of the backup ``add_backup`` adds by default (several 64 KiB blocks)."""


def add_backup(
    mock: MockNorthflank,
    backup_id: str = "backup-dl",
    *,
    size: object = str(SIZE),
    status: str = "completed",
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Add a backup of the default addon with this size and status; return the stored dict."""
    backup: dict[str, Any] = {
        "id": backup_id,
        "name": "Download me",
        "status": status,
        "createdAt": "2025-02-03T04:05:06.000Z",
        "completedAt": "2025-02-03T04:15:07.000Z",
        "config": config if config is not None else {"source": {"type": "snapshot"}, "size": size},
    }
    mock.add_backups(PROJECT, ADDON, [backup])
    return mock.backups(PROJECT, ADDON)[-1]


async def get_link(
    session: aiohttp.ClientSession,
    mock: MockNorthflank,
    backup_id: str = "backup-dl",
    team: str | None = None,
) -> str:
    """The download link the API hands out for the backup (through the team form with ``team``)."""
    path = f"{BACKUPS}/{backup_id}/download-link"
    if team is not None:
        path = f"/v1/teams/{team}{path[3:]}"
    url = f"{mock.base_url}{path}"
    async with session.get(url, headers=AUTH) as resp:
        body = await resp.json()
        assert 200 == resp.status, body
    link: str = body["data"]["downloadLink"]
    return link


async def read_until_cut(resp: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    """Every body byte the client receives, and whether the body ended in an error."""
    received = bytearray()
    try:
        async for chunk in resp.content.iter_any():
            received += chunk
    except aiohttp.ClientPayloadError:
        return bytes(received), True
    return bytes(received), False
