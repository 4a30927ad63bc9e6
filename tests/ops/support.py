"""Helpers of the tests of acting on backups."""

from __future__ import annotations

from typing import Any

from northflank_async import Backup, NorthflankSession
from northflank_async.testing import ManualClock, MockNorthflank
from tests.conftest import ADDON, PROJECT


class ClockSleep:
    """A RetryPolicy sleep that moves the mock's clock by the time asked, at once."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


def writes(mock: MockNorthflank) -> list[tuple[str, str]]:
    """The method and path of every write the mock received, in order."""
    return [(r.method, r.path) for r in mock.requests if r.method in ("POST", "DELETE")]


def stored(mock: MockNorthflank) -> list[dict[str, Any]]:
    """The backups the mock holds for PROJECT/ADDON."""
    return mock.backups(PROJECT, ADDON)


def completed_id(mock: MockNorthflank) -> str:
    """The id of a completed backup of PROJECT/ADDON."""
    found: str = next(b["id"] for b in stored(mock) if b["status"] == "completed")
    return found


async def started(nf: NorthflankSession, **options: Any) -> Backup:
    """A backup the API just started (``scheduled``)."""
    return await nf.create_backup(PROJECT, ADDON, **options)
