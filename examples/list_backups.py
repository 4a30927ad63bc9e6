"""Print every backup of one addon, one line each.

    NF_API_TOKEN=... NF_PROJECT_ID=my-project NF_ADDON_ID=my-addon python list_backups.py
    python list_backups.py        # no token: generated backups from an in-process mock API

This file stands alone: copy it anywhere the ``northflank-async`` package is installed.
Without ``NF_API_TOKEN`` (or ``NORTHFLANK_API_TOKEN``) it lists generated backups from
an in-process ``northflank_async.testing.MockNorthflank`` on 127.0.0.1 instead, and
says so on stderr.
The whole program is the ``async with`` and the ``async for`` in main().
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from northflank_async import NorthflankError, NorthflankSession
from northflank_async.testing import MockNorthflank


@asynccontextmanager
async def connect() -> AsyncIterator[tuple[NorthflankSession, str, str]]:
    """A session and the project and addon to list: the real API's, or a mock's."""
    if os.environ.get("NORTHFLANK_API_TOKEN") or os.environ.get("NF_API_TOKEN"):
        project_id, addon_id = os.environ.get("NF_PROJECT_ID"), os.environ.get("NF_ADDON_ID")
        if not (project_id and addon_id):
            raise SystemExit("NF_API_TOKEN is set, so set NF_PROJECT_ID and NF_ADDON_ID too")
        async with NorthflankSession() as nf:
            yield nf, project_id, addon_id
        return
    async with MockNorthflank() as mock:
        mock.add_addon("default-project", "example-addon")
        mock.generate_backups("default-project", "example-addon", 250)
        print(
            f"NF_API_TOKEN is not set: using an in-process mock API at {mock.base_url}",
            file=sys.stderr,
        )
        async with NorthflankSession(mock.token, base_url=mock.base_url) as nf:
            yield nf, "default-project", "example-addon"


async def main() -> None:
    """Open a session, stream the addon's backups page by page, print a line each."""
    async with connect() as (nf, project_id, addon_id):
        async for backup in nf.list_backups(project_id, addon_id):
            print(
                f"{backup.id}  {backup.status:<13}  {backup.created_at:%Y-%m-%d %H:%M}"
                f"  {backup.config.size:>14,} bytes"
            )


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except NorthflankError as error:  # names the URL and what went wrong, never the token
        sys.exit(f"error: {error}")
