"""The docs harness itself, on small pages of its own: what Python blocks are given and
how they run and fail, and how console commands run against a fake API served from a
thread (over real loopback HTTP)."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.docs.blocks import Block, Command, parse_console, parse_markdown
from tests.docs.runner import (
    ADDON_ID,
    PROJECT_ID,
    check_no_tasks_left,
    cli_environment,
    page_fixtures,
    run_command,
    run_console_block,
    run_python_blocks,
    serve_script,
    served_fake_api,
)


def python_blocks(text: str) -> list[Block]:
    """The Python blocks of a dedented page ``page.md``."""
    return parse_markdown(textwrap.dedent(text), "page.md").python_blocks()


def failure_of(error: pytest.ExceptionInfo[BaseException]) -> str:
    """The message a failed page shows."""
    return str(error.value)


# -- Python blocks --------------------------------------------------------------------------------


async def test_the_fixtures_are_the_conventions_data_environment_and_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Blocks get a mock of the conventions' data, an open session, the ids, an
    environment pointing at the mock (nothing else Northflank or proxy), and a fresh
    directory holding an empty backups/; all of it undone afterwards."""
    monkeypatch.setenv("NF_HOST", "https://elsewhere.example")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NORTHFLANK_TEAM", "other-team")
    home = Path.cwd()

    async with page_fixtures(monkeypatch, tmp_path / "page") as fixtures:
        mock, nf = fixtures["mock"], fixtures["nf"]
        inside = {n: os.environ.get(n) for n in ("NF_HOST", "HTTPS_PROXY", "NORTHFLANK_TEAM")}
        environment = (os.environ["NORTHFLANK_API_BASE_URL"], os.environ["NORTHFLANK_API_TOKEN"])
        served = (str(mock.base_url), mock.token)
        [backup] = [
            b for b in mock.backups(PROJECT_ID, ADDON_ID) if b["id"] == fixtures["backup_id"]
        ]
        teams = [p["id"] for p in mock.projects()]
        sizes = [len(mock.backups(p, a["id"])) for p in teams for a in mock.addons(p)]
        fetched = await nf.get_backup_page(PROJECT_ID, ADDON_ID, per_page=1)
        where, listed = Path.cwd(), os.listdir()

    assert ("project-1", "postgresql-1") == (fixtures["project_id"], fixtures["addon_id"])
    assert {"NF_HOST": None, "HTTPS_PROXY": None, "NORTHFLANK_TEAM": None} == inside
    assert served == environment
    assert ("completed", "backup-000000-cb7ea1") == (backup["status"], backup["id"])
    assert ["project-1", "project-2", "default-project"] == teams
    assert [250] * 7 == sizes
    assert (0.1, 0.2) == (mock.backup_lifecycle.scheduled, mock.backup_lifecycle.in_progress)
    assert 1 == len(fetched.backups)
    assert (tmp_path / "page", ["backups"]) == (where, listed)
    assert nf.closed
    assert (home, "https://elsewhere.example") == (Path.cwd(), os.environ["NF_HOST"])


async def test_blocks_share_one_namespace_and_run_awaits_here_scripts_in_a_thread(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Names flow from block to block; top-level await uses the page's session; a script
    ending in asyncio.run(main()) runs in a thread while the mock keeps serving."""
    blocks = python_blocks(
        """\
        ```python
        import asyncio
        from dataclasses import dataclass
        from northflank_async import NorthflankSession
        ```

        ```python
        page = await nf.get_backup_page(project_id, addon_id, per_page=3)
        results["awaited"] = [backup.id for backup in page.backups]
        results["module"] = (__name__, __import__("sys").modules[__name__].__dict__ is globals())
        ```

        ```python
        from __future__ import annotations

        @dataclass
        class Seen:
            count: int

        async def main() -> None:
            async with NorthflankSession() as own:
                page = await own.get_backup_page("default-project", "example-addon", per_page=2)
                results["script"] = Seen(len(page.backups))

        asyncio.run(main())
        ```
        """
    )
    results: dict[str, Any] = {}

    async with page_fixtures(monkeypatch, tmp_path) as fixtures:
        await run_python_blocks(blocks, {**fixtures, "results": results})
        first = [b["id"] for b in fixtures["mock"].backups(PROJECT_ID, ADDON_ID)[:3]]
    await check_no_tasks_left("page.md")

    assert first == results["awaited"]
    assert ("__docs__", True) == results["module"]
    assert 2 == results["script"].count
    assert "__docs__" not in sys.modules


async def test_a_failing_block_is_named_with_a_traceback_in_the_pages_lines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The failure names page:line and the exception; the traceback's lines are the
    page's, with their source; later blocks do not run."""
    blocks = python_blocks(
        """\
        # A page

        ```python
        def ratio(total):
            return total / 0

        ratio(1)
        ```

        ```python
        results.append("ran")
        ```
        """
    )
    results: list[str] = []

    async with page_fixtures(monkeypatch, tmp_path) as fixtures:
        with pytest.raises(pytest.fail.Exception) as failed:
            await run_python_blocks(blocks, {**fixtures, "results": results})

    message = failure_of(failed)
    assert message.startswith("page.md:3: ZeroDivisionError('division by zero')\n")
    assert 'File "page.md:3", line 7, in <module>\n    ratio(1)' in message
    assert 'File "page.md:3", line 5, in ratio\n    return total / 0' in message
    assert "runner.py" not in message
    assert [] == results


async def test_an_awaited_failure_and_a_syntax_error_name_their_block(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An API error raised by top-level await, and a block that does not compile, fail
    naming their block."""
    awaited = python_blocks(
        "```python\nawait nf.get_backup_page(project_id, 'no-such-addon')\n```\n"
    )
    broken = python_blocks("text\n\n```python\nif True\n    pass\n```\n")

    async with page_fixtures(monkeypatch, tmp_path) as fixtures:
        with pytest.raises(pytest.fail.Exception) as not_found:
            await run_python_blocks(awaited, fixtures)
        with pytest.raises(pytest.fail.Exception) as syntax:
            await run_python_blocks(broken, fixtures)

    assert failure_of(not_found).startswith("page.md:1: NotFoundError(")
    assert 'File "page.md:1", line 2, in <module>' in failure_of(not_found)
    assert failure_of(syntax).startswith("page.md:3: the block does not compile: ")
    assert "(page.md:3, line 4)" in failure_of(syntax)


async def test_no_run_blocks_are_skipped_and_a_zero_exit_is_success(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A no-run block does not run; SystemExit(0) ends a block normally, SystemExit(2)
    fails it."""
    passing = python_blocks(
        """\
        <!-- docs: no-run: a real account -->
        ```python
        raise RuntimeError("needs the real API")
        ```
        ```python
        results.append("before")
        raise SystemExit(0)
        ```
        ```python
        results.append("after")
        ```
        """
    )
    exiting = python_blocks("```python\nimport sys\nsys.exit(2)\n```\n")
    results: list[str] = []

    async with page_fixtures(monkeypatch, tmp_path) as fixtures:
        await run_python_blocks(passing, {**fixtures, "results": results})
        with pytest.raises(pytest.fail.Exception) as exited:
            await run_python_blocks(exiting, fixtures)

    assert ["before", "after"] == results
    assert "page.md:1: the block exited with 2" == failure_of(exited)


async def test_a_block_past_its_time_limit_fails_awaited_or_in_a_thread(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Both kinds of block are stopped at the limit and named; a TimeoutError the block
    raises itself is reported as its own exception."""
    awaited = python_blocks("```python\nawait asyncio.sleep(30)\n```\n")
    threaded = python_blocks("```python\nrelease.wait(30)\n```\n")
    own = python_blocks("```python\nraise TimeoutError('the block said so')\n```\n")
    release = threading.Event()

    failures: list[str] = []
    async with page_fixtures(monkeypatch, tmp_path) as fixtures:
        names = {**fixtures, "asyncio": __import__("asyncio"), "release": release}
        for blocks in (awaited, threaded, own):
            with pytest.raises(pytest.fail.Exception) as failed:
                await run_python_blocks(blocks, names, limit=0.05)
            failures.append(failure_of(failed))
    release.set()  # the abandoned thread ends

    assert ["page.md:1: the block did not finish within 0.05 s"] * 2 == failures[:2]
    assert failures[2].startswith("page.md:1: TimeoutError('the block said so')")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "import aiohttp\nawait asyncio.sleep(0)\nhttp = aiohttp.ClientSession()",
            "Unclosed client session",
        ),
        ("handle = open('left-open.txt', 'w')", "unclosed file"),
    ],
)
async def test_resources_the_blocks_leave_open_fail_the_page(
    code: str, expected: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An aiohttp session or a file the blocks never close fails the page, by name."""
    blocks = python_blocks(f"```python\nimport asyncio\n{code}\n```\n")

    async with page_fixtures(monkeypatch, tmp_path) as fixtures:
        with pytest.raises(pytest.fail.Exception) as failed:
            await run_python_blocks(blocks, fixtures)

    assert failure_of(failed).startswith(
        "page.md: the blocks left resources open:\nResourceWarning: "
    )
    assert expected in failure_of(failed)


async def test_tasks_the_blocks_leave_running_fail_the_page_and_are_cancelled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A task still running after the page is cancelled, and named in the failure."""
    blocks = python_blocks(
        "```python\nimport asyncio\nawait asyncio.sleep(0)\nleft = asyncio.create_task(asyncio.sleep(30), name='forgotten')\nresults.append(left)\n```\n"
    )
    results: list[Any] = []

    async with page_fixtures(monkeypatch, tmp_path) as fixtures:
        await run_python_blocks(blocks, {**fixtures, "results": results})
    with pytest.raises(pytest.fail.Exception) as failed:
        await check_no_tasks_left("page.md")

    assert failure_of(failed).startswith("page.md: the blocks left tasks running:\n<Task ")
    assert "name='forgotten'" in failure_of(failed)
    assert results[0].cancelled()


# -- console blocks -------------------------------------------------------------------------------


def console_block(text: str, *, realistic: bool = False) -> Block:
    """A console block of page.md opening at line 1, as the parser gives it."""
    marker = "<!-- docs: realistic -->\n" if realistic else ""
    [block] = parse_markdown(f"{marker}```console\n{textwrap.dedent(text)}```\n", "page.md").blocks
    return block


def test_console_blocks_get_the_data_of_mock_serve() -> None:
    """The fake API of a console block serves what `mock serve` (or `mock serve
    --realistic`) serves, its lifecycle included, from a thread while this one waits."""
    with served_fake_api() as mock:
        projects = [p["id"] for p in mock.projects()]
        addons = {
            p: [(a["id"], len(mock.backups(p, a["id"]))) for a in mock.addons(p)] for p in projects
        }
        lifecycle = (mock.backup_lifecycle.scheduled, mock.backup_lifecycle.in_progress)
    with served_fake_api(realistic=True) as realistic:
        teams = [p["id"] for p in realistic.projects()]

    assert {
        "project-1": [("postgresql-1", 250), ("mongodb-2", 250), ("redis-3", 250)],
        "project-2": [("mongodb-1", 250), ("redis-2", 250), ("mysql-3", 250)],
    } == addons
    assert (1.0, 3.0) == lifecycle
    assert ["storefront", "billing", "analytics"] == teams


def test_cli_environment_points_at_the_mock_and_drops_other_settings() -> None:
    """Northflank and proxy variables go, the venv's bin comes first on PATH, the rest
    stays, and the two variables point at the mock."""
    base = {
        "PATH": "/usr/bin",
        "HOME": "/home/me",
        "NF_API_TOKEN": "x",
        "no_proxy": "*",
        "NORTHFLANK_X": "y",
    }

    with served_fake_api() as mock:
        env = cli_environment(mock, base)
        served = (str(mock.base_url), mock.token)

    assert {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin",
        "HOME": "/home/me",
        "NORTHFLANK_API_BASE_URL": served[0],
        "NORTHFLANK_API_TOKEN": served[1],
    } == env


def test_console_commands_run_in_order_with_the_expected_codes(tmp_path: Path) -> None:
    """CLI commands run with bash against one fake API, sharing a directory; `$ echo $?`
    sets a non-zero code; commands without northflank-async are not run."""
    block = console_block(
        """\
        $ northflank-async get addon backups --projectId project-1 --addonId postgresql-1 \\
            -o json > backups.json && test -s backups.json
        $ false
        $ northflank-async check backups --max-age 26h --window 7d
        $ echo $?
        3
        $ northflank-async backup addon --projectId project-1 --addonId redis-3 | tail -n 1
        """
    )

    run_console_block(block, parse_console(block), tmp_path)

    assert ["backups", "backups.json"] == sorted(os.listdir(tmp_path))


def test_a_wrong_exit_code_shows_the_command_codes_and_output(tmp_path: Path) -> None:
    """The failure names page:line, the command, both codes and the stderr tail."""
    block = console_block(
        "$ northflank-async list projects\n$ northflank-async list addons --projectId nowhere\n"
    )

    with pytest.raises(pytest.fail.Exception) as failed:
        run_console_block(block, parse_console(block), tmp_path)

    message = failure_of(failed)
    assert message.startswith(
        "page.md:3: `northflank-async list addons --projectId nowhere` exited with 1, expected 0\n"
    )
    assert "--- stderr (last 40 lines) ---\nnorthflank-async: error: 404 from GET" in message


def test_the_realistic_marker_serves_the_realistic_team(tmp_path: Path) -> None:
    """With the marker, the realistic team's projects exist; without it, they do not."""
    text = "$ northflank-async list addons --projectId storefront\n"

    run_console_block(
        console_block(text, realistic=True), parse_console(console_block(text)), tmp_path
    )
    with pytest.raises(pytest.fail.Exception, match="exited with 1, expected 0"):
        run_console_block(console_block(text), parse_console(console_block(text)), tmp_path)


def test_serve_script_frees_the_port_and_stays_in_the_foreground() -> None:
    """`--port N` becomes `--port 0`, a missing one is added, a trailing `&` goes."""
    assert [
        "northflank-async mock serve --port 0 --realistic",
        "northflank-async mock serve --port 0 --backups 5",
        "northflank-async mock serve --port 0",
    ] == [
        serve_script("northflank-async mock serve --port 8080 --realistic"),
        serve_script("northflank-async mock serve --port=9000 --backups 5 &"),
        serve_script("northflank-async mock serve"),
    ]


def test_mock_serve_is_stopped_with_ctrl_c_once_it_serves(tmp_path: Path) -> None:
    """`mock serve` on its documented port runs until its banner, then exits 0 on SIGINT."""
    block = console_block("$ northflank-async mock serve --port 8080 --backups 5\n")

    [command] = parse_console(block)
    outcome = run_command(command, os.environ, tmp_path)

    assert (0, "") == (outcome.code, outcome.note)
    assert "Press Ctrl-C to stop." in outcome.stdout
    assert "http://127.0.0.1:8080" not in outcome.stdout
    assert "stopped after 0 requests" in outcome.stderr


def test_a_command_past_its_time_limit_is_killed_and_reported(tmp_path: Path) -> None:
    """A command that does not end in time is killed, with its group; no code, a note."""
    command = Command(1, "sleep 30; northflank-async --version")

    outcome = run_command(command, os.environ, tmp_path, timeout=0.2)

    assert (None, "it did not end within 0.2 s") == (outcome.code, outcome.note)
