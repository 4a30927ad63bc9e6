"""Helpers for the command line's tests: run it in-process, in a thread's loop, or as a process.

In-process tests await :func:`northflank_async.cli.run` against the ``mock`` fixture; a
few run ``python -m northflank_async`` as a real process against a mock served by the
test, to prove the console script, the environment variables, Ctrl-C and the pipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from northflank_async import Backup, converter
from northflank_async.cli import run
from northflank_async.testing import MockNorthflank, example_backup
from tests.conftest import ADDON, PROJECT

#: The backup of the API reference's example response.
SEED_BACKUP: dict[str, Any] = example_backup()
BACKUPS_ARGS = ("get", "addon", "backups", "--projectId", PROJECT, "--addonId", ADDON)


class TtyStringIO(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Result:
    """What one run of the command line returned and printed."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err


def connect(mock: MockNorthflank) -> list[str]:
    """The options that point the command line at ``mock``."""
    return ["--base-url", str(mock.base_url), "--token", mock.token]


async def cli(
    *argv: str, stdout: io.StringIO | None = None, stderr: io.StringIO | None = None
) -> Result:
    """Run the command line in this event loop with captured streams."""
    out = stdout if stdout is not None else io.StringIO()
    err = stderr if stderr is not None else io.StringIO()
    code = await run(list(argv), stdout=out, stderr=err)
    return Result(code, out.getvalue(), err.getvalue())


def api_json(raw: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The backups as the CLI prints them: the converter's round trip of the API's JSON."""
    return [converter.unstructure(converter.structure(b, Backup)) for b in raw]


@contextlib.contextmanager
def mock_in_thread() -> Iterator[MockNorthflank]:
    """A MockNorthflank served by its own event loop in a background thread."""
    loop = asyncio.new_event_loop()
    mock = MockNorthflank()
    ready = threading.Event()

    def serve() -> None:
        loop.run_until_complete(mock.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(mock.close())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield mock
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


async def start_cli(
    *argv: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> asyncio.subprocess.Process:
    """``python -m northflank_async argv`` with piped stdout and stderr."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "northflank_async",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
