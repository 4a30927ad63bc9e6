"""What the examples share: the real API when a token is set, else an in-process mock.

With ``NF_API_TOKEN`` (or ``NORTHFLANK_API_TOKEN``) set, the examples talk to the real
API and read ``NF_PROJECT_ID`` and ``NF_ADDON_ID``. Without one, they start
:class:`~northflank_async.testing.MockNorthflank` on a loopback port, fill it with
generated backups, say so in one line on stderr, and point the session at it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

from northflank_async import NorthflankSession, RetryPolicy
from northflank_async.testing import MockNorthflank

__all__ = [
    "MOCK_ADDON",
    "MOCK_ADDONS",
    "MOCK_PROJECT",
    "Api",
    "api_or_mock",
    "start_mock",
    "token_from_env",
]

MOCK_PROJECT = "default-project"
MOCK_ADDON = "example-addon"
#: The mock's addons of MOCK_PROJECT: their kind and how many backups each holds.
MOCK_ADDONS = {
    MOCK_ADDON: ("postgresql", 250),
    "example-redis": ("redis", 120),
    "example-mongodb": ("mongodb", 40),
}


class Api(NamedTuple):
    """A session and the project and addon the example works on."""

    nf: NorthflankSession
    project_id: str
    addon_id: str


def token_from_env() -> str | None:
    """The API token from the environment, if one is set (looked up as the SDK does)."""
    return os.environ.get("NORTHFLANK_API_TOKEN") or os.environ.get("NF_API_TOKEN") or None


async def start_mock() -> MockNorthflank:
    """A started MockNorthflank holding MOCK_PROJECT and the addons of MOCK_ADDONS."""
    mock = MockNorthflank()
    for addon_id, (kind, count) in MOCK_ADDONS.items():
        mock.add_addon(MOCK_PROJECT, addon_id, addon_type=kind)
        mock.generate_backups(MOCK_PROJECT, addon_id, count)
    await mock.start()
    return mock


@asynccontextmanager
async def api_or_mock(
    *,
    retry: RetryPolicy | None = RetryPolicy(),  # noqa: B008 - frozen, so safe to share
    required: tuple[str, ...] = ("NF_PROJECT_ID", "NF_ADDON_ID"),
) -> AsyncIterator[Api]:
    """A session against the real API (``NF_API_TOKEN`` set) or an in-process mock.

    ``required`` names the variables the caller needs with the real API; a missing one
    ends the program with a message naming it.
    """
    token = token_from_env()
    if token is not None:
        missing = [name for name in required if not os.environ.get(name)]
        if missing:
            raise SystemExit(f"NF_API_TOKEN is set, so set {' and '.join(missing)} too")
        project_id = os.environ.get("NF_PROJECT_ID", "")
        addon_id = os.environ.get("NF_ADDON_ID", "")
        async with NorthflankSession(token, retry=retry) as nf:
            yield Api(nf, project_id, addon_id)
        return
    mock = await start_mock()
    try:
        print(
            f"NF_API_TOKEN is not set: using an in-process mock API at {mock.base_url}",
            file=sys.stderr,
        )
        async with NorthflankSession(mock.token, base_url=mock.base_url, retry=retry) as nf:
            yield Api(nf, MOCK_PROJECT, MOCK_ADDON)
    finally:
        await mock.close()
