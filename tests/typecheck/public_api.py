"""Code a user writes against the public API; pyright checks it in strict mode.

Every name in ``northflank_async.__all__`` is used here with its real types, so an
export that leaks ``Any`` or an unknown type into user code fails the check.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from northflank_async import (
    AddonBackup,
    Backup,
    BackupFailedError,
    BackupHealth,
    BackupPage,
    BackupStatus,
    BackupType,
    DownloadError,
    LastRestore,
    NorthflankError,
    NorthflankSession,
    RateLimit,
    RateLimitError,
    Restore,
    RestorePage,
    RetryPolicy,
    WaitTimeoutError,
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


async def act(nf: NorthflankSession) -> None:
    """Acting on backups, typed as a user writes it."""
    try:
        backup: Backup = await nf.create_backup(
            "default-project", "example-addon", backup_type=BackupType.DUMP, wait=True
        )
    except BackupFailedError as error:
        print(error.status, error.backup)
        return
    except WaitTimeoutError as error:
        print(error.last, error.timeout)
        return
    last: LastRestore | None = backup.last_restore
    restore: Restore = await nf.restore_backup("default-project", "example-addon", backup.id)
    async for state in nf.watch_restore("default-project", "example-addon", backup.id, restore.id):
        print(state.status, last)
    pages: RestorePage = await nf.get_restore_page("default-project", "example-addon")
    print(pages.restores)
    await nf.delete_backup("default-project", "example-addon", backup.id)


async def download(nf: NorthflankSession) -> None:
    """Downloads and the health check, typed as a user writes them."""
    link: str = await nf.get_backup_download_link("default-project", "example-addon", "b1")
    print(link[:8])

    def show(done: int, total: int | None) -> None:
        print(done, total)

    try:
        path: Path = await nf.download_backup(
            "default-project", "example-addon", "b1", Path("/tmp"), progress=show, overwrite=True
        )
    except DownloadError as error:
        expected: int | None = error.expected
        print(error.url, expected, error.received, error.status)
        return
    size = 0
    async for chunk in nf.stream_backup("default-project", "example-addon", "b1"):
        size += len(chunk)
    print(path, size)
    async for health in nf.check_backups(max_age=timedelta(hours=26)):
        verdict: BackupHealth = health
        age: timedelta | None = verdict.last_completed_age
        print(verdict.addon_id, verdict.healthy, verdict.problems, age, verdict.completed_bytes)


def structure(raw: dict[str, object]) -> Backup:
    return converter.structure(raw, Backup)


if __name__ == "__main__":
    asyncio.run(audit())
