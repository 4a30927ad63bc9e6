"""What the example tests share: where the examples are, how to run one copied alone.

Not a test module: helpers for ``tests/test_example_*.py``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from northflank_async.testing import MockNorthflank

__all__ = [
    "EXAMPLES",
    "MOCK_ADDON",
    "MOCK_PROJECT",
    "REPOSITORY",
    "TIMEOUT",
    "asgi_client",
    "clean_environment",
    "copy_alone",
    "generated_backups",
    "run_alone",
]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REPOSITORY = EXAMPLES.parent
TIMEOUT = 60  # seconds a script may take before the test gives up on it
#: The project and addon the examples' built-in mock serves when no token is set.
MOCK_PROJECT = "default-project"
MOCK_ADDON = "example-addon"


def generated_backups(
    addon_id: str = MOCK_ADDON, count: int = 250, addon_type: str = "postgresql"
) -> list[dict[str, Any]]:
    """The backups a fresh MockNorthflank generates for ``addon_id`` of MOCK_PROJECT."""
    mock = MockNorthflank()
    mock.add_addon(MOCK_PROJECT, addon_id, addon_type=addon_type)
    return mock.generate_backups(MOCK_PROJECT, addon_id, count)


def clean_environment() -> dict[str, str]:
    """A fresh shell's environment: no API token or base URL, no PYTHONPATH, no coverage."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {name: os.environ[name] for name in keep if name in os.environ}


def copy_alone(name: str, directory: Path) -> Path:
    """Copy examples/<name> alone into ``directory`` (made if missing); return the copy."""
    directory.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(EXAMPLES / name, directory / name))


def run_alone(name: str, directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a copy of examples/<name>, alone in ``directory``, there, in a clean environment."""
    script = copy_alone(name, directory)
    return subprocess.run(
        [sys.executable, script.name, *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=directory,
        env=clean_environment(),
    )


@asynccontextmanager
async def _lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan as a server does: startup first, shutdown at the end."""
    received: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    sent: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    running = asyncio.create_task(app(scope, received.get, sent.put))
    await received.put({"type": "lifespan.startup"})
    if (await sent.get())["type"] != "lifespan.startup.complete":
        await running  # raises what failed the startup
        raise AssertionError("the app's startup failed")
    try:
        yield
    finally:
        await received.put({"type": "lifespan.shutdown"})
        shutdown = await sent.get()
        await running
        assert "lifespan.shutdown.complete" == shutdown["type"], shutdown


@asynccontextmanager
async def asgi_client(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to ``app`` in process, between its startup and shutdown."""
    async with _lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
