"""The fake-API commands: ``demo`` (the SDK against a fake API, in-process) and
``mock serve`` (that fake API as a server), in-process and as a real process."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import os
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from northflank_async import Backup, BackupStatus, NorthflankSession
from northflank_async.cli import run
from northflank_async.cli._output import human_size
from northflank_async.testing import MockNorthflank
from tests.cli_support import TtyStringIO, cli, start_cli

ALL_STATUSES = {str(status) for status in BackupStatus}


async def demo_backups(count: int) -> tuple[str, list[Backup]]:
    """The addon the demo streams and its backups, read through the SDK from the same fake team."""
    async with MockNorthflank() as mock:
        mock.generate_team(projects=1, addons_per_project=3, backups_per_addon=count)
        async with NorthflankSession(mock.token, base_url=mock.base_url) as nf:
            addon = (await nf.get_addon_page("project-1", per_page=1)).addons[0]
            backups = [b async for b in nf.list_backups("project-1", addon.id)]
    return f"{addon.id} ({addon.spec.type})", backups


def summary_lines(backups: list[Backup]) -> list[str]:
    """The demo's summary of ``backups`` split into words: by status, the total, then counts."""
    count: Counter[str] = Counter()
    size: Counter[str] = Counter()
    for backup in backups:
        count[backup.status] += 1
        size[backup.status] += backup.config.size
    rows = [
        f"{status} {count[status]} {human_size(size[status])}"
        for status in BackupStatus
        if status in count
    ]
    sources = Counter(b.config.source.type if b.config.source else "-" for b in backups)
    compressions = Counter(b.config.compression_type or "-" for b in backups)
    return [
        "STATUS BACKUPS SIZE",
        *rows,
        f"total {len(backups)} {human_size(sum(size.values()))}",
        "sources: " + ", ".join(f"{name} {n}" for name, n in sources.most_common()),
        "compression: " + ", ".join(f"{name} {n}" for name, n in compressions.most_common()),
    ]


# -- demo --------------------------------------------------------------------------------------------


async def test_demo_streams_a_generated_addon_and_summarises_it() -> None:
    """The demo needs no token: it prints every backup of one addon and a summary by status."""
    addon, backups = await demo_backups(60)

    result = await cli("demo", "--backups", "60", "--latency", "0")

    lines = result.out.splitlines()
    blank = lines.index("")
    check = lines.index("", blank + 1)  # then the health check's table (tests/test_cli_check.py)
    assert 0 == result.code
    assert "ID NAME STATUS CREATED COMPLETED SIZE SOURCE COMPRESSION" == " ".join(lines[0].split())
    assert [b.id for b in backups] == [line.split()[0] for line in lines[1:blank]]
    assert summary_lines(backups) == [" ".join(line.split()) for line in lines[blank + 1 : check]]
    assert ALL_STATUSES == {str(b.status) for b in backups}
    assert re.fullmatch(
        r"A fake Northflank API \(MockNorthflank\) is serving a generated team on "
        r"http://127\.0\.0\.1:\d+\.\n"
        rf"Streaming every backup of addon {re.escape(addon)} of project-1, 50 per page, "
        r"through NorthflankSession\.list_backup_pages:\n\n\n"
        r"60 backups in 2 pages\.\n\n"
        r"Checking the backups of a fake team .*:\n\n"
        r"\d+ of \d+ addons unhealthy \(max age 26 h, window 7 days\)\n\n"
        r"\d+\.\d\d s in all\. Next: `northflank-async check backups` checks your own team "
        r"\(exit code 3 when an addon is unhealthy\); `northflank-async mock serve` runs this "
        r"fake API for your own client \(--realistic: this team\)\.\n",
        result.err,
    ), result.err


async def test_demo_quiet_prints_only_the_table_and_summary() -> None:
    """demo --quiet leaves stderr empty, even on a terminal."""
    result = await cli("demo", "--backups", "30", "--latency", "0", "--quiet", stderr=TtyStringIO())

    assert (0, "") == (result.code, result.err)
    assert 31 == result.out.splitlines().index("")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("--per_page", "0"),
            "argument --per_page/--perPage/--per-page: expected 1 to 100, got '0'",
        ),
        (
            ("--per-page", "101"),
            "argument --per_page/--perPage/--per-page: expected 1 to 100, got '101'",
        ),
        (("--backups", "10001"), "argument --backups: expected 0 to 10000, got '10001'"),
        (("--backups", "many"), "argument --backups: expected an integer, got 'many'"),
    ],
)
async def test_demo_checks_every_argument_before_printing(
    argv: tuple[str, ...], message: str
) -> None:
    """A bad --per_page or --backups is a usage error alone: no banner, no table, exit 2."""
    result = await cli("demo", "--latency", "0", *argv)

    assert (2, "", f"northflank-async demo: error: {message}\n") == (
        result.code,
        result.out,
        result.err,
    )


# -- mock serve, in-process -----------------------------------------------------------------------


async def test_mock_serve_refuses_a_non_loopback_host() -> None:
    """mock serve on a non-loopback host needs --allow-non-loopback: exit 2, nothing served."""
    result = await cli("mock", "serve", "--host", "0.0.0.0", "--port", "0")

    assert (2, "") == (result.code, result.out)
    assert (
        "northflank-async: error: --host 0.0.0.0 is not a loopback address: the fake API "
        "accepts a fixed, known token; add --allow-non-loopback to serve it to other machines "
        "anyway\n"
    ) == result.err


async def test_mock_serve_on_a_busy_port_exits_1(mock: MockNorthflank) -> None:
    """mock serve on a port already in use says so and exits 1."""
    port = str(mock.base_url.port)

    result = await cli("mock", "serve", "--port", port, "--backups", "1")

    assert (1, "") == (result.code, result.out)
    assert result.err.startswith(
        f"northflank-async: error: cannot serve on 127.0.0.1 port {port}: "
    )
    assert result.err.endswith(f"{os.strerror(errno.EADDRINUSE).lower()}\n")


@asynccontextmanager
async def serving(
    err: io.StringIO,
) -> AsyncIterator[tuple[asyncio.Task[int], list[str], str]]:
    """`mock serve --port 0 --backups 5` as a task; yields it, one addon's backup IDs, the banner."""
    printed = asyncio.Event()

    class Announcing(io.StringIO):
        def flush(self) -> None:
            printed.set()

    out = Announcing()
    task = asyncio.create_task(
        run(["mock", "serve", "--port", "0", "--backups", "5"], stdout=out, stderr=err)
    )
    try:
        await asyncio.wait_for(printed.wait(), 10)
        assert out.getvalue().endswith("Press Ctrl-C to stop.\n")
        match = re.search(
            r"export NORTHFLANK_API_BASE_URL=(\S+) NORTHFLANK_API_TOKEN=(\S+)", out.getvalue()
        )
        assert match is not None
        url, token = match.groups()
        async with NorthflankSession(token, base_url=url) as nf:
            backups = [b.id async for b in nf.list_backups("project-1", "postgresql-1")]
        yield task, backups, out.getvalue()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_mock_serve_in_process_serves_until_cancelled() -> None:
    """mock serve prints a base URL that answers the API's routes, until its task is cancelled."""
    async with serving(io.StringIO()) as (task, backups, _):
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert 5 == len(backups)


async def test_mock_serve_stops_on_sigterm_and_counts_the_requests() -> None:
    """SIGTERM ends mock serve with exit 0 and a note of how many requests it answered."""
    err = io.StringIO()
    async with serving(err) as (task, backups, _):
        signal.raise_signal(signal.SIGTERM)
        code = await asyncio.wait_for(task, 10)

    assert (0, 5, "stopped after 1 requests\n") == (code, len(backups), err.getvalue())


# -- as a real process ------------------------------------------------------------------------------


async def test_subprocess_demo_leaves_nothing_behind(tmp_path: Path) -> None:
    """`python -m northflank_async demo` runs with no token and writes no file."""
    process = await start_cli("demo", "--backups", "80", cwd=tmp_path)
    out, err = await asyncio.wait_for(process.communicate(), 60)

    assert 0 == process.returncode, err
    assert re.search(rb"\ntotal +80 ", out)
    assert [] == os.listdir(tmp_path)


async def test_subprocess_mock_serve_answers_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """`mock serve --port 0` prints its URL and token, answers requests, and exits 0 on SIGINT."""
    process = await start_cli("mock", "serve", "--port", "0", "--backups", "20", cwd=tmp_path)
    assert process.stdout is not None
    banner = b""
    while b"Press Ctrl-C to stop." not in banner:
        banner += await asyncio.wait_for(process.stdout.readline(), 30)
    match = re.search(rb"export NORTHFLANK_API_BASE_URL=(\S+) NORTHFLANK_API_TOKEN=(\S+)", banner)
    assert match is not None
    url, token = (group.decode() for group in match.groups())

    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/v1/projects", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        status, body = response.status, await response.json()
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), 30)

    assert (200, ["project-1", "project-2"]) == (
        status,
        [p["id"] for p in body["data"]["projects"]],
    )
    assert (0, b"stopped after 1 requests\n") == (process.returncode, err)


async def test_mock_serve_answers_the_official_clis_login_check() -> None:
    """The banner's `northflank login` line works: GET /v1/login takes that token, and no other."""
    async with serving(io.StringIO()) as (task, _, banner):
        match = re.search(r"northflank login --token (\S+) --host (\S+) ", banner)
        assert match is not None
        token, host = match.groups()
        async with aiohttp.ClientSession() as http:
            for bearer, status in ((token, 200), ("not-the-token", 401)):
                headers = {"Authorization": f"Bearer {bearer}"}
                async with http.get(f"{host}/v1/login", headers=headers) as answer:
                    body = await answer.json()
                    assert status == answer.status
                    assert ("data" in body) is (status == 200)
        task.cancel()
