"""Tests for the ``northflank-async`` command line, in-process and as a subprocess.

In-process tests await :func:`northflank_async.cli.run` against the ``mock`` fixture; a
few run ``python -m northflank_async`` as a real process against a mock served by the
test, to prove the console script, the environment variables, Ctrl-C and the pipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import re
import runpy
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from northflank_async import Backup, NorthflankSession, converter
from northflank_async._cli_output import Batch, Progress, human_size
from northflank_async.cli import main, run
from northflank_async.testing import MockNorthflank, example_backup
from tests.conftest import ADDON, PROJECT

#: The backup of the API reference's example response.
SEED_BACKUP: dict[str, Any] = example_backup()
BACKUPS_ARGS = ("get", "addon", "backups", "--projectId", PROJECT, "--addonId", ADDON)
ALL_STATUSES = {
    "scheduled",
    "in-progress",
    "completed",
    "aborting",
    "aborted",
    "failed",
    "not-supported",
}


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


# -- one page, the seed's shape -------------------------------------------------------------


async def test_one_page_prints_the_seed_cli_shape(mock: MockNorthflank) -> None:
    """One page is one request, printed as the seed's indented {"backups": [...]}."""
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await cli(*BACKUPS_ARGS, *connect(mock))

    assert (0, "") == (result.code, result.err)
    assert json.dumps({"backups": api_json([SEED_BACKUP])}, indent=2) + "\n" == result.out
    assert {"backups": [SEED_BACKUP]} == json.loads(result.out)
    assert 1 == len(mock.requests)


async def test_one_page_names_the_next_cursor_on_stderr(mock: MockNorthflank) -> None:
    """A page with a next page prints its backups and 'next cursor: <c>' on stderr."""
    raw = mock.generate_backups(PROJECT, ADDON, 30)

    result = await cli(*BACKUPS_ARGS, "--per_page", "10", *connect(mock))

    assert 0 == result.code
    assert {"backups": api_json(raw[:10])} == json.loads(result.out)
    match = re.fullmatch(r"next cursor: (\S+)\n", result.err)
    assert match is not None
    assert [{"per_page": "10"}] == [r.query for r in mock.requests]


@pytest.mark.parametrize(
    "flags",
    [
        ("--projectId", "--addonId", "--per_page"),
        ("--project-id", "--addon-id", "--per-page"),
        ("--project_id", "--addon_id", "--perPage"),
    ],
)
async def test_camel_snake_and_kebab_spellings_are_one_option(
    mock: MockNorthflank, flags: tuple[str, str, str]
) -> None:
    """--projectId, --project-id and --project_id (and their kin) mean the same thing."""
    raw = mock.generate_backups(PROJECT, ADDON, 5)
    project, addon, per_page = flags

    result = await cli(
        "get", "addon", "backups", project, PROJECT, addon, ADDON, per_page, "3", *connect(mock)
    )

    assert 0 == result.code
    assert {"backups": api_json(raw[:3])} == json.loads(result.out)


async def test_cursor_hand_off_covers_every_backup_exactly_once(mock: MockNorthflank) -> None:
    """Feeding each printed cursor to the next invocation walks every backup once."""
    raw = mock.generate_backups(PROJECT, ADDON, 95)
    seen: list[str] = []
    cursor: list[str] = []
    invocations = 0
    while True:
        result = await cli(*BACKUPS_ARGS, "--per_page", "20", *cursor, *connect(mock))
        invocations += 1
        assert 0 == result.code
        seen += [b["id"] for b in json.loads(result.out)["backups"]]
        if not result.err:
            break
        cursor = ["--cursor", result.err.removeprefix("next cursor: ").rstrip("\n")]

    assert [b["id"] for b in raw] == seen
    assert 5 == invocations


async def test_page_starts_at_that_page_number(mock: MockNorthflank) -> None:
    """--page N asks the API for page N."""
    raw = mock.generate_backups(PROJECT, ADDON, 30)

    result = await cli(*BACKUPS_ARGS, "--per_page", "10", "--page", "3", *connect(mock))

    assert (0, "") == (result.code, result.err)
    assert {"backups": api_json(raw[20:])} == json.loads(result.out)


# -- every page, every format -------------------------------------------------------------------


async def test_all_jsonl_prints_one_compact_backup_per_line(mock: MockNorthflank) -> None:
    """--all -o jsonl prints every backup as one compact JSON line, in API order."""
    raw = mock.generate_backups(PROJECT, ADDON, 250)

    result = await cli(*BACKUPS_ARGS, "--all", "-o", "jsonl", *connect(mock))

    expected = [json.dumps(b, separators=(",", ":")) for b in api_json(raw)]
    assert (0, "") == (result.code, result.err)
    assert expected == result.out.splitlines()
    assert 3 == len(mock.requests)


async def test_all_jsonl_flushes_each_page_as_it_arrives(mock: MockNorthflank) -> None:
    """With --all -o jsonl, each page is on stdout (flushed) before the next one is asked for."""
    mock.generate_backups(PROJECT, ADDON, 250)
    lines_at_flush: list[int] = []

    class Recording(io.StringIO):
        def flush(self) -> None:
            lines_at_flush.append(self.getvalue().count("\n"))

    cli_args = (*BACKUPS_ARGS, "--all", "-o", "jsonl", *connect(mock))
    result = await cli(*cli_args, stdout=Recording())

    assert 0 == result.code
    assert [100, 200, 250, 250] == lines_at_flush


async def test_all_json_is_one_document(mock: MockNorthflank) -> None:
    """--all -o json writes one {"backups": [...]} document, formatted as json.dumps would."""
    raw = mock.generate_backups(PROJECT, ADDON, 230)

    result = await cli(*BACKUPS_ARGS, "--all", "--per-page", "100", *connect(mock))

    assert (0, "") == (result.code, result.err)
    assert json.dumps({"backups": api_json(raw)}, indent=2) + "\n" == result.out


@pytest.mark.parametrize("walk", [(), ("--all", "--per_page", "40")], ids=["page", "all"])
async def test_yaml_is_the_same_data(mock: MockNorthflank, walk: tuple[str, ...]) -> None:
    """-o yaml prints the same backups: key 'backups', a list of the API's JSON objects."""
    raw = mock.generate_backups(PROJECT, ADDON, 90)

    result = await cli(*BACKUPS_ARGS, *walk, "-o", "yaml", *connect(mock))

    assert 0 == result.code
    assert {"backups": api_json(raw)} == yaml.safe_load(result.out)


async def test_yaml_without_pyyaml_is_a_usage_error(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-o yaml without PyYAML exits 2 before any request, saying what to install."""
    monkeypatch.setitem(sys.modules, "yaml", None)

    result = await cli(*BACKUPS_ARGS, "-o", "yaml", *connect(mock))

    assert 2 == result.code
    assert (
        "northflank-async: error: -o yaml needs PyYAML: "
        "pip install 'northflank-async[yaml]' (or PyYAML)\n"
    ) == result.err
    assert [] == mock.requests


async def test_table_shows_aligned_columns_in_human_units(mock: MockNorthflank) -> None:
    """-o table prints aligned columns: times in UTC, sizes in binary units, '-' for none."""
    mock.add_backups(
        PROJECT,
        ADDON,
        [
            {
                "id": "b-1",
                "name": "Nightly",
                "status": "completed",
                "createdAt": "2024-03-01T02:00:00.000Z",
                "completedAt": "2024-03-01T02:03:04.500Z",
                "config": {
                    "size": "1288490189",
                    "source": {"type": "snapshot"},
                    "compressionType": "zstd",
                },
            },
            {
                "id": "b-22",
                "name": "Manual backup",
                "status": "in-progress",
                "createdAt": "2024-03-02T10:30:00.000Z",
                "completedAt": None,
                "config": {"size": "512"},
            },
        ],
    )

    result = await cli(*BACKUPS_ARGS, "-o", "table", *connect(mock))

    assert 0 == result.code
    assert (
        "ID    NAME           STATUS       CREATED               COMPLETED                SIZE  SOURCE    COMPRESSION\n"
        "b-1   Nightly        completed    2024-03-01T02:00:00Z  2024-03-01T02:03:04Z  1.2 GiB  snapshot  zstd\n"
        "b-22  Manual backup  in-progress  2024-03-02T10:30:00Z  -                       512 B  -         -\n"
    ) == result.out


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("json", '{\n  "backups": []\n}\n'),
        ("jsonl", ""),
        ("yaml", "backups: []\n"),
        ("table", "ID  NAME  STATUS  CREATED  COMPLETED  SIZE  SOURCE  COMPRESSION\n"),
    ],
)
async def test_an_addon_without_backups(mock: MockNorthflank, output: str, expected: str) -> None:
    """An addon without backups prints an empty document, nothing, or just the header."""
    mock.add_addon(PROJECT, ADDON)

    result = await cli(*BACKUPS_ARGS, "--all", "-o", output, *connect(mock))

    assert (0, expected, "") == (result.code, result.out, result.err)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1_048_575, "1.0 MiB"),
        (1_288_490_189, "1.2 GiB"),
        (5 * 2**40, "5.0 TiB"),
        (2**50, "1.0 PiB"),
        (2**60, "1024.0 PiB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    """Sizes are shown in binary units with one decimal, never as '1024.0 KiB'."""
    assert text == human_size(size)


async def test_max_items_stops_the_walk(mock: MockNorthflank) -> None:
    """--all --max-items N prints exactly the first N backups."""
    raw = mock.generate_backups(PROJECT, ADDON, 200)

    result = await cli(
        *BACKUPS_ARGS,
        "--all",
        "--max_items",
        "130",
        "--per_page",
        "50",
        "-o",
        "jsonl",
        *connect(mock),
    )

    assert 0 == result.code
    assert [b["id"] for b in raw[:130]] == [
        json.loads(line)["id"] for line in result.out.splitlines()
    ]


async def test_max_items_zero_makes_no_request(mock: MockNorthflank) -> None:
    """--all --max-items 0 prints an empty document without asking the API anything."""
    mock.generate_backups(PROJECT, ADDON, 10)

    result = await cli(*BACKUPS_ARGS, "--all", "--max-items", "0", *connect(mock))

    assert (0, '{\n  "backups": []\n}\n') == (result.code, result.out)
    assert [] == mock.requests


# -- progress, --quiet, --verbose ---------------------------------------------------------------------


async def test_progress_is_drawn_when_stderr_is_a_terminal(mock: MockNorthflank) -> None:
    """On a terminal, --all ends with a progress line of backups, pages and rate limit."""
    mock.generate_backups(PROJECT, ADDON, 250)
    stderr = TtyStringIO()

    result = await cli(*BACKUPS_ARGS, "--all", "-o", "jsonl", *connect(mock), stderr=stderr)

    assert 0 == result.code
    last = result.err.rsplit("\r", 1)[1]
    assert re.fullmatch(
        r"250 backups from 3 pages \(\d+\.\d s\), rate limit 997/1000 left\x1b\[K\n", last
    ), last


async def test_no_progress_with_quiet(mock: MockNorthflank) -> None:
    """--quiet keeps stderr empty even on a terminal."""
    mock.generate_backups(PROJECT, ADDON, 250)

    result = await cli(
        *BACKUPS_ARGS, "--all", "--quiet", "-o", "jsonl", *connect(mock), stderr=TtyStringIO()
    )

    assert (0, 250, "") == (result.code, len(result.out.splitlines()), result.err)


async def test_no_progress_for_a_single_page(mock: MockNorthflank) -> None:
    """One page is not a walk: no progress line, even on a terminal."""
    mock.generate_backups(PROJECT, ADDON, 5)

    result = await cli(*BACKUPS_ARGS, *connect(mock), stderr=TtyStringIO())

    assert (0, "") == (result.code, result.err)


def test_progress_redraws_at_most_every_interval_and_stays_below_output() -> None:
    """The line is redrawn only after its interval, and wiped before output to the same screen."""
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(
        stream, noun="backup", unit="page", enabled=True, shares_screen=True, clock=lambda: now[0]
    )
    batch: Batch[int] = Batch([1, 2], None)

    progress.advance(batch)
    now[0] = 0.05
    progress.advance(batch)
    drawn_once = stream.getvalue()
    progress.before_output()
    progress.advance(batch)
    progress.finish()

    assert "\r2 backups from 1 page (0.0 s)\x1b[K" == drawn_once
    assert (
        drawn_once + "\r\x1b[K"
        "\r6 backups from 3 pages (0.1 s)\x1b[K"
        "\r6 backups from 3 pages (0.1 s)\x1b[K\n"
    ) == stream.getvalue()


async def test_verbose_logs_each_request_at_debug(mock: MockNorthflank) -> None:
    """--verbose prints the SDK's DEBUG line per request, and leaves the logger as it was."""
    mock.generate_backups(PROJECT, ADDON, 3)
    sdk_logger = logging.getLogger("northflank_async")
    handlers, level = list(sdk_logger.handlers), sdk_logger.level

    result = await cli(*BACKUPS_ARGS, "--verbose", *connect(mock))

    url = f"{mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups?per_page=100"
    assert 0 == result.code
    assert f"northflank_async DEBUG GET {url} -> 200 (attempt 1, " in result.err
    assert (handlers, level) == (sdk_logger.handlers, sdk_logger.level)


# -- errors and exit codes ---------------------------------------------------------------------------


async def test_api_error_is_one_line_and_exit_1(mock: MockNorthflank) -> None:
    """An API error prints its status, URL and message on one line and exits 1."""
    mock.add_addon(PROJECT, ADDON)

    result = await cli(
        "get", "addon", "backups", "--projectId", PROJECT, "--addonId", "gone", *connect(mock)
    )

    url = f"{mock.base_url}/v1/projects/{PROJECT}/addons/gone/backups?per_page=100"
    assert (1, "") == (result.code, result.out)
    assert (
        f"northflank-async: error: 404 from GET {url}: Addon gone not found in project "
        f"{PROJECT} (error id mock-error-000001)\n"
    ) == result.err


async def test_verbose_adds_the_traceback(mock: MockNorthflank) -> None:
    """With --verbose an error comes with its traceback, then the same one line."""
    mock.add_addon(PROJECT, ADDON)

    result = await cli(
        "get", "addon", "backups", "--projectId", PROJECT, "--addonId", "gone", "--verbose",
        *connect(mock),
    )  # fmt: skip

    assert 1 == result.code
    assert "Traceback (most recent call last):" in result.err
    assert "northflank_async._errors.NotFoundError: 404 from GET" in result.err
    assert result.err.endswith("(error id mock-error-000001)\n")


async def test_invalid_response_is_an_api_error_not_a_usage_error(mock: MockNorthflank) -> None:
    """A 2xx body that is not the API's JSON (a ValueError too) exits 1, not 2."""
    mock.generate_backups(PROJECT, ADDON, 3)
    mock.faults.bad_json(1)

    result = await cli(*BACKUPS_ARGS, *connect(mock))

    assert 1 == result.code
    assert result.err.startswith("northflank-async: error: GET ")


async def test_wrong_token_exits_1_without_echoing_it(mock: MockNorthflank) -> None:
    """A refused token exits 1 with the API's 401, and the token is never printed."""
    result = await cli(
        *BACKUPS_ARGS, "--base-url", str(mock.base_url), "--token", "s3cret-t0ken", "--verbose"
    )

    assert 1 == result.code
    assert "401 from GET" in result.err
    assert "s3cret-t0ken" not in result.err + result.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("get", "addon", "backups", "--projectId", PROJECT),
            "northflank-async get addon backups: error: the following arguments are required: "
            "--addonId/--addon_id/--addon-id\n",
        ),
        (
            (*BACKUPS_ARGS, "--per_page", "0"),
            "northflank-async: error: per_page must be an int from 1 to 100, got 0\n",
        ),
        (
            (*BACKUPS_ARGS, "--per_page", "lots"),
            "northflank-async get addon backups: error: argument --per_page/--perPage/--per-page: "
            "expected an integer, got 'lots'\n",
        ),
        (
            (*BACKUPS_ARGS, "--page", "2", "--cursor", "abc"),
            "northflank-async: error: give page or cursor, not both: "
            "a cursor already says where to go on\n",
        ),
        (
            (*BACKUPS_ARGS, "-o", "xml"),
            "northflank-async get addon backups: error: argument -o/--output: invalid choice: "
            "'xml' (choose from 'json', 'jsonl', 'yaml', 'table')\n",
        ),
        (
            (*BACKUPS_ARGS, "--max-items", "5"),
            "northflank-async: error: --max-items needs --all\n",
        ),
        (
            ("get", "addon", "backups", "--projectId", "..", "--addonId", ADDON),
            "northflank-async: error: project_id must not be '..': it would change the route\n",
        ),
    ],
)
async def test_usage_errors_exit_2_before_any_request(
    mock: MockNorthflank, argv: tuple[str, ...], message: str
) -> None:
    """Bad or missing arguments print one line, exit 2 and send no request."""
    result = await cli(*argv, *connect(mock))

    assert (2, "", message) == (result.code, result.out, result.err)
    assert [] == mock.requests


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("list", "projects", "--per_page", "-1"),
            "northflank-async list projects: error: argument --per_page/--perPage/--per-page: "
            "expected an integer >= 0, got '-1'\n",
        ),
        (
            ("demo", "--latency", "90"),
            "northflank-async demo: error: argument --latency: expected 0 to 60 seconds, got '90'\n",
        ),
        (
            ("demo", "--latency", "soon"),
            "northflank-async demo: error: argument --latency: expected seconds, got 'soon'\n",
        ),
    ],
)
async def test_option_values_are_checked_by_type(argv: tuple[str, ...], message: str) -> None:
    """Counts and seconds are checked when parsed: one line naming the option, exit 2."""
    result = await cli(*argv)

    assert (2, "", message) == (result.code, result.out, result.err)


async def test_a_missing_subcommand_is_a_usage_error() -> None:
    """`get` alone names what is missing and exits 2."""
    result = await cli("get")

    assert (2, "northflank-async get: error: the following arguments are required: RESOURCE\n") == (
        result.code,
        result.err,
    )


async def test_missing_token_names_the_environment_variables() -> None:
    """Without a token the exit is 2 and the message says which variables to set."""
    result = await cli(*BACKUPS_ARGS)

    assert (2, "") == (result.code, result.out)
    assert (
        "northflank-async: error: no API token: set NORTHFLANK_API_TOKEN or NF_API_TOKEN "
        "(or pass --token)\n"
    ) == result.err


async def test_plain_http_to_a_remote_host_is_a_usage_error() -> None:
    """A base URL the SDK refuses (ConfigurationError) exits 2 with the SDK's reason."""
    result = await cli(*BACKUPS_ARGS, "--base-url", "http://api.example.com", "--token", "t")

    assert 2 == result.code
    assert result.err.startswith(
        "northflank-async: error: base_url 'http://api.example.com' is plain http"
    )


async def test_environment_variables_give_token_and_base_url(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NF_API_TOKEN and NORTHFLANK_API_BASE_URL are enough, as for the SDK."""
    raw = mock.generate_backups(PROJECT, ADDON, 2)
    monkeypatch.setenv("NF_API_TOKEN", mock.token)
    monkeypatch.setenv("NORTHFLANK_API_BASE_URL", str(mock.base_url))

    result = await cli(*BACKUPS_ARGS)

    assert (0, {"backups": api_json(raw)}) == (result.code, json.loads(result.out))


async def test_a_misplaced_token_is_not_echoed_in_a_usage_error() -> None:
    """argparse quotes bad arguments; a --token value is replaced before printing."""
    result = await cli("--token", "t", "list", "projects")
    other = await cli("list", "projects", "--token=t", "--colour=t", "--t")

    assert (2, 2) == (result.code, other.code)
    assert (
        "northflank-async: error: argument COMMAND: invalid choice: '<token>' "
        "(choose from 'get', 'list', 'demo', 'mock')\n"
    ) == result.err
    assert "northflank-async: error: unrecognized arguments: --colour=<token> --t\n" == other.err


async def test_help_exits_0_on_stdout() -> None:
    """--help prints the usage on stdout and exits 0."""
    result = await cli("get", "addon", "backups", "--help")

    assert (0, "") == (result.code, result.err)
    assert result.out.startswith("usage: northflank-async get addon backups [-h]")


async def test_keyboard_interrupt_exits_130_with_the_output_so_far(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C mid-walk exits 130, keeps the backups written so far and closes the session."""
    mock.generate_backups(PROJECT, ADDON, 500)
    closed: list[bool] = []
    close = NorthflankSession.close

    async def recording_close(self: NorthflankSession) -> None:
        await close(self)
        closed.append(self.closed)

    monkeypatch.setattr(NorthflankSession, "close", recording_close)

    class InterruptedOnSecondPage(io.StringIO):
        def write(self, text: str) -> int:
            if self.getvalue():
                raise KeyboardInterrupt
            return super().write(text)

    result = await cli(
        *BACKUPS_ARGS, "--all", "-o", "jsonl", *connect(mock), stdout=InterruptedOnSecondPage()
    )

    assert 130 == result.code
    assert 100 == len(result.out.splitlines())
    assert "\nnorthflank-async: interrupted\n" == result.err
    assert [True] == closed
    assert 0 == mock.in_flight
    assert len(mock.requests) <= 3  # the page written, the one that failed, one prefetch


async def test_closed_stdout_exits_141_quietly(mock: MockNorthflank) -> None:
    """When the reader of stdout goes away (`| head`), the walk stops with 141 and no message."""
    mock.generate_backups(PROJECT, ADDON, 300)

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    result = await cli(*BACKUPS_ARGS, "--all", "-o", "jsonl", *connect(mock), stdout=ClosedPipe())

    assert (141, "") == (result.code, result.err)


# -- main(): the synchronous entry point ------------------------------------------------------------


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


def test_main_runs_its_own_event_loop(capsys: pytest.CaptureFixture[str]) -> None:
    """main(argv) runs the command in a new event loop and returns the exit code."""
    with mock_in_thread() as mock:
        raw = mock.generate_backups(PROJECT, ADDON, 3)
        code = main([*BACKUPS_ARGS, *connect(mock)])

    captured = capsys.readouterr()
    assert (0, "") == (code, captured.err)
    assert {"backups": api_json(raw)} == json.loads(captured.out)


def test_main_turns_a_real_sigint_into_130(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real SIGINT during a walk cancels it cleanly; main() returns 130 after the output so far."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    stderr = io.StringIO()

    class InterruptingStdout(io.StringIO):
        def write(self, text: str) -> int:
            if not self.getvalue():
                signal.raise_signal(signal.SIGINT)  # as if Ctrl-C came after the first page
            return super().write(text)

    stdout = InterruptingStdout()
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    with mock_in_thread() as mock:
        mock.generate_backups(PROJECT, ADDON, 500)
        code = main([*BACKUPS_ARGS, "--all", "-o", "jsonl", *connect(mock)])
        in_flight = mock.in_flight

    assert (130, 0) == (code, in_flight)
    assert 100 == len(stdout.getvalue().splitlines())
    assert "\nnorthflank-async: interrupted\n" == stderr.getvalue()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_console_script_is_declared() -> None:
    """`pip install .` installs the northflank-async console script, pointing at main."""
    (script,) = entry_points(group="console_scripts", name="northflank-async")

    assert "northflank_async.cli:main" == script.value


# -- projects, addons, and every backup of a project -----------------------------------------------


async def test_list_projects_json_and_table(mock: MockNorthflank) -> None:
    """`list projects` prints the API's project JSON, or a table."""
    mock.add_project("alpha", name="Alpha", description="First")
    mock.add_project("beta", name="Beta")

    as_json = await cli("list", "projects", *connect(mock))
    as_table = await cli("list", "projects", "-o", "table", *connect(mock))

    assert {
        "projects": [
            {"id": "alpha", "name": "Alpha", "description": "First"},
            {"id": "beta", "name": "Beta"},
        ]
    } == json.loads(as_json.out)
    assert "ID     NAME   DESCRIPTION\nalpha  Alpha  First\nbeta   Beta   -\n" == as_table.out


async def test_list_projects_with_team_uses_the_team_route(mock: MockNorthflank) -> None:
    """--teamId sends the request to /v1/teams/{teamId}/projects."""
    mock.add_project("alpha")

    result = await cli("list", "projects", "--team-id", mock.team_id, *connect(mock))

    assert 0 == result.code
    assert [f"/v1/teams/{mock.team_id}/projects"] == [r.path for r in mock.requests]


async def test_list_addons_every_page(mock: MockNorthflank) -> None:
    """`list addons --all` walks every page of a project's addons."""
    for n in range(5):
        mock.add_addon(PROJECT, f"db-{n}", addon_type="redis", tags=["a", "b"] if n == 0 else ())

    result = await cli(
        "list", "addons", "--projectId", PROJECT, "--all", "--per_page", "2", "-o", "jsonl",
        *connect(mock),
    )  # fmt: skip
    table = await cli("list", "addons", "--project-id", PROJECT, "-o", "table", *connect(mock))

    assert [f"db-{n}" for n in range(5)] == [json.loads(x)["id"] for x in result.out.splitlines()]
    assert 3 == len([r for r in mock.requests if r.query.get("per_page") == "2"])
    assert (
        "ID    NAME  TYPE   STATUS   TAGS\n"
        "db-0  db-0  redis  running  a,b\n"
        "db-1  db-1  redis  running  -\n"
    ) == "".join(table.out.splitlines(keepends=True)[:3])


async def test_project_backups_stream_every_addon_with_its_ids(mock: MockNorthflank) -> None:
    """`get project backups` prints each backup of each addon plus its projectId and addonId."""
    expected = {
        (addon, b["id"]): {"projectId": PROJECT, "addonId": addon, **api_json([b])[0]}
        for addon in ("db-a", "db-b", "db-c")
        for b in mock.generate_backups(PROJECT, addon, 120)
    }

    result = await cli(
        "get", "project", "backups", "--projectId", PROJECT, "--concurrency", "2", "-o", "jsonl",
        *connect(mock),
    )  # fmt: skip

    printed = [json.loads(line) for line in result.out.splitlines()]
    assert (0, "") == (result.code, result.err)
    assert expected == {(b["addonId"], b["id"]): b for b in printed}
    assert 360 == len(printed)


async def test_project_backups_progress_counts_addons(mock: MockNorthflank) -> None:
    """On a terminal, `get project backups` counts the backups and the addons walked."""
    for addon in ("db-a", "db-b"):
        mock.generate_backups(PROJECT, addon, 30)

    result = await cli(
        "get", "project", "backups", "--projectId", PROJECT, "-o", "table", *connect(mock),
        stderr=TtyStringIO(),
    )  # fmt: skip

    assert 0 == result.code
    assert result.out.startswith("PROJECT          ADDON  ID  ")
    assert 61 == len(result.out.splitlines())
    assert re.fullmatch(
        r"60 backups from 2 addons \(\d+\.\d s\), rate limit 997/1000 left\x1b\[K\n",
        result.err.rsplit("\r", 1)[1],
    )


async def test_project_backups_max_items(mock: MockNorthflank) -> None:
    """`get project backups --max-items N` stops after N backups in all."""
    mock.generate_backups(PROJECT, "db-a", 50)
    mock.generate_backups(PROJECT, "db-b", 50)

    result = await cli(
        "get", "project", "backups", "--projectId", PROJECT, "--max-items", "7", *connect(mock)
    )

    assert (0, 7) == (result.code, len(json.loads(result.out)["backups"]))


async def test_project_backups_refuses_zero_concurrency(mock: MockNorthflank) -> None:
    """--concurrency 0 is refused by the SDK's check: exit 2, no request."""
    result = await cli(
        "get", "project", "backups", "--projectId", PROJECT, "--concurrency", "0", *connect(mock)
    )

    assert (2, "northflank-async: error: concurrency must be an int >= 1, got 0\n") == (
        result.code,
        result.err,
    )
    assert [] == mock.requests


# -- demo and mock serve ----------------------------------------------------------------------------


async def test_demo_streams_a_generated_addon_and_summarises_it() -> None:
    """The demo needs no token: it prints every backup of one addon and a summary by status."""
    result = await cli("demo", "--backups", "60", "--latency", "0")

    lines = result.out.splitlines()
    header = lines[0].split()
    summary = lines[lines.index("") + 1 :]
    statuses = {line.split()[0] for line in summary[1:8]}
    assert 0 == result.code
    assert [
        "ID",
        "NAME",
        "STATUS",
        "CREATED",
        "COMPLETED",
        "SIZE",
        "SOURCE",
        "COMPRESSION",
    ] == header
    assert 61 == lines.index("")
    assert ALL_STATUSES == statuses
    assert ["total", "60"] == summary[8].split()[:2]
    assert summary[9].startswith("sources: ")
    assert summary[10].startswith("compression: ")
    assert "60 backups in 2 pages" in result.err


async def test_demo_quiet_prints_only_the_table_and_summary() -> None:
    """demo --quiet leaves stderr empty."""
    result = await cli("demo", "--backups", "30", "--latency", "0", "--quiet", stderr=TtyStringIO())

    assert (0, "") == (result.code, result.err)


async def test_mock_serve_refuses_a_non_loopback_host() -> None:
    """mock serve on a non-loopback host needs --allow-non-loopback: exit 2, nothing served."""
    result = await cli("mock", "serve", "--host", "0.0.0.0", "--port", "0")

    assert (2, "") == (result.code, result.out)
    assert result.err.startswith(
        "northflank-async: error: --host 0.0.0.0 is not a loopback address"
    )


async def test_mock_serve_refuses_a_port_out_of_range() -> None:
    """mock serve --port 70000 is a usage error (exit 2), not a traceback."""
    result = await cli("mock", "serve", "--port", "70000")

    assert (2, "") == (result.code, result.out)
    assert "expected a port from 0 to 65535" in result.err


async def test_mock_serve_on_a_busy_port_exits_1(mock: MockNorthflank) -> None:
    """mock serve on a port already in use says so and exits 1."""
    port = str(mock.base_url.port)

    result = await cli("mock", "serve", "--port", port, "--backups", "1")

    assert 1 == result.code
    assert result.err.startswith(
        f"northflank-async: error: cannot serve on 127.0.0.1 port {port}: "
    )


async def test_mock_serve_in_process_serves_until_cancelled() -> None:
    """mock serve prints a base URL that answers the API's routes, until its task ends."""
    printed = asyncio.Event()

    class Announcing(io.StringIO):
        def flush(self) -> None:
            printed.set()

    out = Announcing()
    task = asyncio.create_task(
        run(["mock", "serve", "--port", "0", "--backups", "5"], stdout=out, stderr=io.StringIO())
    )
    await asyncio.wait_for(printed.wait(), 10)
    match = re.search(
        r"export NORTHFLANK_API_BASE_URL=(\S+) NORTHFLANK_API_TOKEN=(\S+)", out.getvalue()
    )
    assert match is not None
    url, token = match.groups()
    async with NorthflankSession(token, base_url=url) as nf:
        backups = [b.id async for b in nf.list_backups("project-1", "postgresql-1")]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert 5 == len(backups)
    assert out.getvalue().endswith("Press Ctrl-C to stop.\n")


# -- as a real process ------------------------------------------------------------------------------


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


async def test_subprocess_ctrl_c_exits_130_after_flushing(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """A real SIGINT during --all stops the walk: exit 130, the pages so far on stdout."""
    mock.generate_backups(PROJECT, ADDON, 2000)
    mock.latency = 0.05  # 200 pages: 10 s if it were not interrupted
    env = {"NORTHFLANK_API_BASE_URL": str(mock.base_url), "NORTHFLANK_API_TOKEN": mock.token}
    process = await start_cli(
        *BACKUPS_ARGS, "--all", "--per_page", "10", "-o", "jsonl", env=env, cwd=tmp_path
    )
    assert process.stdout is not None
    first = await asyncio.wait_for(process.stdout.readline(), 30)

    process.send_signal(signal.SIGINT)
    rest, err = await asyncio.wait_for(process.communicate(), 30)

    lines = [first, *rest.splitlines(keepends=True)]
    assert 130 == process.returncode
    assert b"\nnorthflank-async: interrupted\n" == err
    assert 0 == len(lines) % 10  # whole pages only
    assert len(lines) < 2000


async def test_subprocess_closed_pipe_exits_quietly(mock: MockNorthflank, tmp_path: Path) -> None:
    """Like `| head -1`: the reader closes stdout, the CLI exits 141 with nothing on stderr."""
    mock.generate_backups(PROJECT, ADDON, 2000)
    mock.latency = 0.01
    env = {"NORTHFLANK_API_BASE_URL": str(mock.base_url), "NORTHFLANK_API_TOKEN": mock.token}
    read, write = os.pipe()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "northflank_async", *BACKUPS_ARGS, "--all", "--per_page", "10",
        "-o", "jsonl", stdout=write, stderr=asyncio.subprocess.PIPE, env={**os.environ, **env},
        cwd=tmp_path,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read, "rb") as reader:
        first = await asyncio.to_thread(reader.readline)
    _, err = await asyncio.wait_for(process.communicate(), 30)

    assert (141, b"") == (process.returncode, err)
    assert b'{"id":"backup-000000-' == first[:21]


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


def test_python_dash_m_runs_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m northflank_async`` is the same command line, with its exit code."""
    monkeypatch.setattr(sys, "argv", ["northflank-async", "--help"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("northflank_async", run_name="__main__", alter_sys=True)

    assert 0 == exited.value.code
    assert "get" in capsys.readouterr().out
