"""Code a user writes against the public API; pyright checks it in strict mode.

Every name in ``northflank_async.__all__`` is used here with its real types, so an
export that leaks ``Any`` or an unknown type into user code fails the check.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from northflank_async import (
    AddonBackup,
    Backup,
    BackupPage,
    BackupStatus,
    NorthflankError,
    NorthflankSession,
    RateLimit,
    RateLimitError,
    RetryPolicy,
    converter,
)


async def audit() -> None:
    async with NorthflankSession(retry=RetryPolicy(max_wait=3600), max_concurrency=4) as nf:
        backup: Backup
        async for backup in nf.list_backups("default-project", "example-addon", max_items=10):
            created: datetime = backup.created_at
            size: int = backup.config.size
            done: bool = backup.status == BackupStatus.COMPLETED
            print(created, size, done, converter.unstructure(backup))
        page: BackupPage = await nf.get_backup_page("default-project", "example-addon")
        cursor: str | None = page.pagination.cursor
        limit: RateLimit | None = nf.rate_limit
        print(cursor, limit)
        item: AddonBackup
        async for item in nf.stream_backups("default-project", concurrency=2, on_error="skip"):
            print(item.project_id, item.addon_id, item.backup.id)
        async for project in nf.list_projects():
            async for addon in nf.list_addons(project.id):
                print(addon.spec.type, addon.status)
    try:
        pass
    except RateLimitError as error:
        wait: float | None = error.retry_after
        print(wait)
    except NorthflankError as error:
        print(error)


def structure(raw: dict[str, object]) -> Backup:
    return converter.structure(raw, Backup)


if __name__ == "__main__":
    asyncio.run(audit())
