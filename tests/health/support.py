"""What the health check's tests share: the moment of the check and backups dated from it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from northflank_async import BackupHealth, NorthflankSession
from northflank_async.testing import example_backup

#: The check's ``now``: the date a mock on a ManualClock gives its first reading.
NOW = datetime(2025, 1, 1, tzinfo=UTC)
PROJECT = "shop"

_numbers = itertools.count(1)


def iso(moment: datetime) -> str:
    """A moment as the API writes it: ``2025-01-01T00:00:00.000Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def backup(
    status: str,
    created: timedelta,
    *,
    took: timedelta | None = timedelta(minutes=5),
    size: int = 1000,
) -> dict[str, Any]:
    """A backup created ``created`` before :data:`NOW`, final ``took`` later (None: no completedAt).

    A backup that is not final has ``completedAt: null``, as the API sends it.
    """
    raw = example_backup()
    created_at = NOW - created
    final = status in ("completed", "failed", "aborted", "not-supported")
    raw.update(
        id=f"backup-{next(_numbers)}",
        name=f"{status} {created}",
        status=status,
        createdAt=iso(created_at),
        completedAt=iso(created_at + took) if final and took is not None else None,
    )
    raw["config"]["size"] = str(size)
    return raw


async def verdicts(nf: NorthflankSession, *args: Any, **kwargs: Any) -> dict[str, BackupHealth]:
    """Every verdict of ``check_backups`` (as of :data:`NOW` unless told), by addon id."""
    kwargs.setdefault("now", NOW)
    found: dict[str, BackupHealth] = {}
    async for health in nf.check_backups(*args, **kwargs):
        assert health.addon_id not in found
        found[health.addon_id] = health
    return found


async def verdict(nf: NorthflankSession, addon_id: str, **kwargs: Any) -> BackupHealth:
    """The verdict on one addon of :data:`PROJECT`."""
    found = await verdicts(nf, PROJECT, addon_ids=[addon_id], **kwargs)
    return found[addon_id]
