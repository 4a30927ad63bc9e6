"""Print every backup of one addon, one line each.

    NF_API_TOKEN=... NF_PROJECT_ID=default-project NF_ADDON_ID=example-addon \\
        python examples/list_backups.py

Without NF_API_TOKEN it runs against an in-process mock API (see _common.py).
The whole program is the ``async with`` and the ``async for`` in main().
"""

from __future__ import annotations

import asyncio
import sys

from _common import api_or_mock

from northflank_async import NorthflankError


async def main() -> None:
    """Open a session, stream the addon's backups page by page, print a line each."""
    async with api_or_mock() as (nf, project_id, addon_id):
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
