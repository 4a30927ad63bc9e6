"""Fixtures of the download tests: a mock holding small backups, and a session whose
retries never wait."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from northflank_async import NorthflankSession, RetryPolicy
from northflank_async.testing import MockNorthflank, example_backup
from tests.conftest import ADDON, PROJECT, FakeSleep

#: The backup most tests download: 300 KiB and a few bytes, so it spans several chunks.
BACKUP_ID = "backup-one"
SIZE = 300 * 1024 + 17


def add_backup(
    mock: MockNorthflank,
    backup_id: str,
    size: int,
    *,
    status: str = "completed",
    source: str = "snapshot",
) -> dict[str, Any]:
    """Store a backup of PROJECT/ADDON whose object is ``size`` bytes (0: size unknown)."""
    backup = example_backup()
    backup.update(id=backup_id, name=f"Backup {backup_id}", status=status)
    backup["config"].update(size=str(size), source={"type": source})
    mock.add_backups(PROJECT, ADDON, [backup])
    return backup


@pytest.fixture
async def mock() -> AsyncIterator[MockNorthflank]:
    """A running MockNorthflank (and its storage) holding BACKUP_ID, completed, SIZE bytes."""
    async with MockNorthflank() as server:
        server.add_project(PROJECT)
        server.add_addon(PROJECT, ADDON)
        add_backup(server, BACKUP_ID, SIZE)
        yield server


@pytest.fixture
def sleeps() -> FakeSleep:
    """The retry waits of ``nf``, recorded instead of slept."""
    return FakeSleep()


@pytest.fixture
async def nf(mock: MockNorthflank, sleeps: FakeSleep) -> AsyncIterator[NorthflankSession]:
    """A session against ``mock`` whose retries sleep through ``sleeps`` (at once)."""
    retry = RetryPolicy(sleep=sleeps, random=lambda: 0.5)
    async with NorthflankSession(mock.token, base_url=mock.base_url, retry=retry) as session:
        yield session
