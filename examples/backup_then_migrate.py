"""Back up an addon's database, and run a migration only once that backup has completed.

    NF_API_TOKEN=... python backup_then_migrate.py --project my-project --addon my-db
    python backup_then_migrate.py --timeout 600 --name "before migration 42"
    python backup_then_migrate.py        # no token: an in-process mock API, in 2 to 3 s

What a migration script does before it touches a production database: start a backup
(``create_backup``), print its status each time it changes while waiting for it, up
to ``--timeout`` seconds (``watch_backup``), and run the migration (here a stand-in
that only prints) only when the backup ended ``completed``. A backup that ended
``failed`` (or ``aborted``), or a wait that ran out of time, leaves the database as it
was. After a timeout the backup goes on: only the waiting stopped, and the migration
can be run once it has completed.

Without the progress lines the wait is one call, which raises ``BackupFailedError``
for a backup that did not complete and ``WaitTimeoutError`` when the time is up::

    backup = await nf.create_backup(project_id, addon_id, name=name, wait=True, timeout=600)

Exit codes: 0 the backup completed and the migration ran; 1 no migration: the backup
did not complete, the wait timed out, or the API answered with an error; 2 bad
arguments; 130 interrupted (Ctrl-C) before the migration (the backup goes on).

This file stands alone: copy it anywhere the ``northflank-async`` package is installed.
With ``NF_API_TOKEN`` (or ``NORTHFLANK_API_TOKEN``) set it backs up the real addon of
``--project`` and ``--addon`` (default: ``NF_PROJECT_ID`` and ``NF_ADDON_ID``); without
one it starts ``northflank_async.testing.MockNorthflank`` on 127.0.0.1, whose backups
complete in under a second, and says so on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from datetime import UTC, datetime

from northflank_async import (
    Backup,
    BackupStatus,
    NorthflankError,
    NorthflankSession,
    WaitTimeoutError,
)
from northflank_async.testing import MockNorthflank

#: Runs the migration, given the completed backup to restore should it go wrong.
Migration = Callable[[Backup], Awaitable[None]]


async def migrate(backup: Backup) -> None:
    """A stand-in for the real migration (ALTER TABLE ..., a data fix, ...)."""
    print(f"migrating... (should it go wrong, restore backup {backup.id})")
    await asyncio.sleep(0)  # the real one awaits its database calls
    print("migration done")


async def run(
    nf: NorthflankSession,
    project_id: str,
    addon_id: str,
    *,
    name: str | None = None,
    timeout: float = 3600.0,  # noqa: ASYNC109 - it bounds the wait for the backup
    migration: Migration = migrate,
) -> int:
    """Back up the addon, wait for the backup, migrate only if it completed; the exit code."""
    backup = await nf.create_backup(project_id, addon_id, name=name)
    print(f"started backup {backup.id} ({backup.name!r}) of addon {addon_id}")
    try:
        # The backup each time its status changes (its first state too), to a final one.
        async with aclosing(
            nf.watch_backup(project_id, addon_id, backup.id, timeout=timeout)
        ) as states:
            async for backup in states:
                print(f"backup {backup.id}: {backup.status}")
    except WaitTimeoutError as error:
        print(
            f"not migrating: backup {backup.id} is still {error.last.status} after "
            f"{timeout:g} s; the backup goes on, only the wait stopped",
            file=sys.stderr,
        )
        return 1
    if backup.status != BackupStatus.COMPLETED:  # failed, aborted or not-supported
        print(f"not migrating: backup {backup.id} ended {backup.status}", file=sys.stderr)
        return 1
    await migration(backup)
    return 0


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds > 0."""
    value = float(text)  # ValueError: argparse says "invalid seconds value"
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Back up an addon, then run a migration only if the backup completed. "
        "Without NF_API_TOKEN, an in-process mock API is used."
    )
    parser.add_argument(
        "--project", default=os.environ.get("NF_PROJECT_ID"), help="project id (NF_PROJECT_ID)"
    )
    parser.add_argument(
        "--addon", default=os.environ.get("NF_ADDON_ID"), help="addon id (NF_ADDON_ID)"
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=3600.0,
        metavar="SECONDS",
        help="longest wait for the backup (3600); past it, no migration",
    )
    parser.add_argument(
        "--name",
        default=f"before migration {datetime.now(UTC):%Y-%m-%d %H:%M:%S}",
        help="the backup's name (before migration <UTC date time>)",
    )
    return parser


#: Without a token: the project and addon of the mock.
MOCK_PROJECT, MOCK_ADDON = "default-project", "example-addon"


@asynccontextmanager
async def connect(args: argparse.Namespace) -> AsyncIterator[tuple[NorthflankSession, str, str]]:
    """A session and the project and addon to back up: the real API's, or a mock's."""
    if os.environ.get("NORTHFLANK_API_TOKEN") or os.environ.get("NF_API_TOKEN"):
        async with NorthflankSession() as nf:
            yield nf, args.project, args.addon
        return
    async with MockNorthflank() as mock:
        project_id, addon_id = args.project or MOCK_PROJECT, args.addon or MOCK_ADDON
        mock.add_addon(project_id, addon_id)
        # The mock's backups are scheduled 0.2 s, in progress 0.5 s, then completed.
        mock.set_backup_lifecycle(scheduled=0.2, in_progress=0.5)
        print(
            f"NF_API_TOKEN is not set: using an in-process mock API at {mock.base_url}",
            file=sys.stderr,
        )
        async with NorthflankSession(mock.token, base_url=mock.base_url) as nf:
            yield nf, project_id, addon_id


async def _main(args: argparse.Namespace) -> int:
    async with connect(args) as (nf, project_id, addon_id):
        return await run(nf, project_id, addon_id, name=args.name, timeout=args.timeout)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: parse, run, and turn the outcome into an exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    has_token = os.environ.get("NORTHFLANK_API_TOKEN") or os.environ.get("NF_API_TOKEN")
    if has_token and not (args.project and args.addon):
        parser.error(
            "NF_API_TOKEN is set, so give --project and --addon (or NF_PROJECT_ID and NF_ADDON_ID)"
        )
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        print("interrupted: not migrating; a backup already started goes on", file=sys.stderr)
        return 130
    except NorthflankError as error:  # names the URL and what went wrong, never the token
        print(f"error: {error}; not migrating", file=sys.stderr)
        return 1
    except ValueError as error:  # an argument the API would refuse (a --name), before a request
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
