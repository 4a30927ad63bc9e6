"""The command line as a program: parsing, help and version, errors and exit codes, the
``--token`` kept out of messages, the SDK's log, Ctrl-C and a closed stdout, in-process."""

from __future__ import annotations

import argparse
import io
import json
import logging

import pytest

import northflank_async
from northflank_async import NorthflankSession
from northflank_async.cli import _app
from northflank_async.cli._common import Commands, Console, option
from northflank_async.testing import MockNorthflank
from tests.cli_support import BACKUPS_ARGS, api_json, cli, connect
from tests.conftest import ADDON, PROJECT

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

    url = f"{mock.base_url}/v1/projects/{PROJECT}/addons/gone/backups?per_page=100"
    assert 1 == result.code
    assert "\nTraceback (most recent call last):\n" in result.err
    assert f"northflank_async._errors.NotFoundError: 404 from GET {url}: " in result.err
    assert result.err.endswith(
        f"\nnorthflank-async: error: 404 from GET {url}: Addon gone not found in project "
        f"{PROJECT} (error id mock-error-000001)\n"
    )


async def test_invalid_response_is_an_api_error_not_a_usage_error(mock: MockNorthflank) -> None:
    """A 2xx body that is not the API's JSON (a ValueError too) exits 1, not 2."""
    mock.generate_backups(PROJECT, ADDON, 3)
    mock.faults.bad_json(1)

    result = await cli(*BACKUPS_ARGS, *connect(mock))

    url = f"{mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups?per_page=100"
    assert 1 == result.code
    assert result.err.startswith(f"northflank-async: error: GET {url}: ")
    assert "not JSON" in result.err


async def test_wrong_token_exits_1_without_echoing_it(mock: MockNorthflank) -> None:
    """A refused token exits 1 with the API's 401, and the token is never printed."""
    result = await cli(
        *BACKUPS_ARGS, "--base-url", str(mock.base_url), "--token", "s3cret-t0ken", "--verbose"
    )

    url = f"{mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups?per_page=100"
    assert 1 == result.code
    assert result.err.endswith(
        f"\nnorthflank-async: error: 401 from GET {url}: Unauthenticated: "
        "a valid API token is required (error id mock-error-000001)\n"
    )
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
            ("get", "addon", "backups", "--projectId", "..", "--addonId", ADDON),
            "northflank-async: error: project_id must not be '..': it would change the route\n",
        ),
        (
            ("get", "project", "backups", "--projectId", PROJECT, "--concurrency", "0"),
            "northflank-async: error: concurrency must be an int >= 1, got 0\n",
        ),
    ],
)
async def test_usage_errors_exit_2_before_any_request(
    mock: MockNorthflank, argv: tuple[str, ...], message: str
) -> None:
    """Bad or missing arguments, or ones the SDK refuses, print one line, exit 2, send nothing."""
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
        (
            ("mock", "serve", "--port", "70000"),
            "northflank-async mock serve: error: argument --port: "
            "expected a port from 0 to 65535, got '70000'\n",
        ),
    ],
)
async def test_option_values_are_checked_by_type(argv: tuple[str, ...], message: str) -> None:
    """Counts, ports and seconds are checked when parsed: one line naming the option, exit 2."""
    result = await cli(*argv)

    assert (2, "", message) == (result.code, result.out, result.err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("get",), "northflank-async get: error: the following arguments are required: RESOURCE\n"),
        (
            BACKUPS_ARGS,
            "northflank-async: error: no API token: set NORTHFLANK_API_TOKEN or NF_API_TOKEN "
            "(or pass --token)\n",
        ),
        (
            (*BACKUPS_ARGS, "--base-url", "http://api.example.com", "--token", "t"),
            "northflank-async: error: base_url 'http://api.example.com' is plain http: the token "
            "would travel in clear text; use https:// (plain http is allowed only for loopback "
            "hosts)\n",
        ),
    ],
    ids=["no-subcommand", "no-token", "plain-http"],
)
async def test_what_cannot_run_is_a_usage_error(argv: tuple[str, ...], message: str) -> None:
    """A missing subcommand, no token, or a base URL the SDK refuses: one line, exit 2."""
    result = await cli(*argv)

    assert (2, "", message) == (result.code, result.out, result.err)


async def test_a_misplaced_token_is_not_echoed_in_a_usage_error() -> None:
    """argparse quotes bad arguments; a --token value is replaced before printing."""
    result = await cli("--token", "t", "list", "projects")
    other = await cli("list", "projects", "--token=t", "--colour=t", "--t")

    assert (2, 2) == (result.code, other.code)
    assert (
        "northflank-async: error: options go after the command: "
        "northflank-async list projects --token ...\n"
    ) == result.err
    assert "northflank-async: error: unrecognized arguments: --colour=<token> --t\n" == other.err


# -- help, version, the command tree ----------------------------------------------------------------


async def test_help_exits_0_on_stdout() -> None:
    """--help prints the usage and every spelling of each option on stdout, and exits 0."""
    result = await cli("get", "addon", "backups", "--help")

    assert (0, "") == (result.code, result.err)
    assert result.out.startswith("usage: northflank-async get addon backups [-h]")
    assert "\nList the backups of an addon.\n" in result.out
    assert "\n  --projectId ID, --project_id ID, --project-id ID\n" in result.out


async def test_version_names_the_package_version() -> None:
    """--version prints the program and the package's version on stdout, and exits 0."""
    result = await cli("--version")

    assert (0, f"northflank-async {northflank_async.__version__}\n", "") == (
        result.code,
        result.out,
        result.err,
    )


async def test_two_families_add_leaves_to_one_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second family adds `get addon <x>` beside `get addon backups`; the group keeps its help."""

    async def show(args: argparse.Namespace, console: Console) -> int:
        console.stdout.write(f"extra for {args.addon_id}\n")
        return 0

    def register(commands: Commands) -> None:
        group = commands.get_group("addon", help="not shown: the group exists already")
        sub = commands.leaf(group, "extra", show, help="An extra leaf.")
        option(sub, "addonId", required=True, metavar="ID", help="ID of the addon")

    monkeypatch.setattr(_app, "FAMILIES", (*_app.FAMILIES, register))

    extra = await cli("get", "addon", "extra", "--addon-id", ADDON)
    group_help = await cli("get", "addon", "--help")
    get_help = await cli("get", "--help")

    assert (0, f"extra for {ADDON}\n") == (extra.code, extra.out)
    assert "  WHAT\n    backups   List the backups of an addon.\n" in group_help.out
    assert "\n    extra     An extra leaf.\n" in group_help.out
    assert "\n    addon     an addon's backups and restores\n" in get_help.out


# -- the SDK's log, Ctrl-C, a closed stdout ----------------------------------------------------------


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


@pytest.mark.parametrize("quiet", [False, True], ids=["default", "quiet"])
async def test_quiet_silences_retry_warnings(mock: MockNorthflank, quiet: bool) -> None:
    """A retried 503 is a WARNING on stderr, which --quiet leaves out; the output is whole."""
    raw = mock.generate_backups(PROJECT, ADDON, 3)
    mock.faults.fail(1, 503, retry_after="0")  # no wait before the second attempt

    result = await cli(*BACKUPS_ARGS, *connect(mock), *(["--quiet"] if quiet else []))

    url = f"{mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups?per_page=100"
    warning = f"northflank_async WARNING GET {url} failed (status 503); retrying in 0.00 s"
    assert (0, {"backups": api_json(raw)}) == (result.code, json.loads(result.out))
    assert 2 == len(mock.requests)
    assert ("" if quiet else f"{warning} (attempt 2 of 4)\n") == result.err


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
