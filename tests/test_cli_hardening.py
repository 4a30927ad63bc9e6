"""The command line against hostile or mistyped input: no secret is echoed, an error is
one line with its control characters escaped, and options put before their command
are named as such, in-process."""

from __future__ import annotations

import io
import json
import logging

import pytest

from northflank_async.cli import _app
from northflank_async.testing import MockNorthflank
from tests.cli_support import BACKUPS_ARGS, cli, connect
from tests.conftest import ADDON, PROJECT

SECRET = "s3cret-t0ken"
COMMANDS = "(choose from 'get', 'list', 'backup', 'delete', 'abort', 'retain', 'restore', 'download', 'check', 'demo', 'mock')"


def error_body(message: str) -> str:
    """The API's error JSON with ``message``, as a fault's body."""
    return json.dumps({"error": {"status": 403, "message": message, "id": "err-1"}})


# -- no secret in a message ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("list", "projects", "--tokn", SECRET),
            "northflank-async: error: unrecognized arguments: --tokn <hidden>\n",
        ),
        (
            ("list", "projects", "--tokn=" + SECRET),
            "northflank-async: error: unrecognized arguments: --tokn=<hidden>\n",
        ),
        (
            ("--tokn", SECRET, "list", "projects"),
            f"northflank-async: error: argument COMMAND: invalid choice: '<hidden>' {COMMANDS}\n",
        ),
        (
            ("--tokn=" + SECRET, "list", "projects"),
            "northflank-async: error: unrecognized arguments: --tokn=<hidden>\n",
        ),
    ],
    ids=["after-spaced", "after-attached", "before-spaced", "before-attached"],
)
async def test_an_unknown_options_value_is_hidden(argv: tuple[str, ...], message: str) -> None:
    """A mistyped --token (any option no command knows) has its value hidden, before or after."""
    result = await cli(*argv)

    assert (2, "", message) == (result.code, result.out, result.err)


@pytest.mark.parametrize("variable", ["NORTHFLANK_API_TOKEN", "NF_API_TOKEN"])
async def test_a_token_from_the_environment_pasted_as_an_argument_is_hidden(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """The token of either variable, pasted where a command or an argument goes, is <token>."""
    monkeypatch.setenv(variable, SECRET)

    first = await cli(SECRET, "list", "projects")
    last = await cli("list", "projects", SECRET)

    assert (2, 2) == (first.code, last.code)
    assert f"northflank-async: error: argument COMMAND: invalid choice: '<token>' {COMMANDS}\n" == (
        first.err
    )
    assert "northflank-async: error: unrecognized arguments: <token>\n" == last.err


@pytest.mark.parametrize("verbose", [False, True], ids=["plain", "verbose"])
async def test_a_token_quoted_by_the_server_is_scrubbed_from_the_error(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch, verbose: bool
) -> None:
    """A token the session did not send (so the SDK cannot scrub it) is <token> in the error."""
    monkeypatch.setenv("NF_API_TOKEN", SECRET)  # --token wins, the variable is not sent
    mock.add_addon(PROJECT, ADDON)
    mock.faults.fail(
        1, 403, body=error_body(f"{SECRET} is not yours"), content_type="application/json"
    )

    result = await cli(*BACKUPS_ARGS, *connect(mock), *(["--verbose"] if verbose else []))

    url = f"{mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups?per_page=100"
    assert (1, "") == (result.code, result.out)
    assert SECRET not in result.err
    assert result.err.endswith(
        f"northflank-async: error: 403 from GET {url}: <token> is not yours (error id err-1)\n"
    )


# -- one line, control characters escaped ----------------------------------------------------------


@pytest.mark.parametrize("verbose", [False, True], ids=["plain", "verbose"])
async def test_a_servers_control_characters_never_reach_the_terminal(
    mock: MockNorthflank, verbose: bool
) -> None:
    """An error message with ESC and CR LF is one escaped line; --verbose's traceback too."""
    mock.add_addon(PROJECT, ADDON)
    forged = "gone\x1b[2J\r\nnorthflank-async: error: forged"
    mock.faults.fail(1, 403, body=error_body(forged), content_type="application/json")

    result = await cli(*BACKUPS_ARGS, *connect(mock), *(["--verbose"] if verbose else []))

    url = f"{mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups?per_page=100"
    assert (1, "") == (result.code, result.out)
    assert not {"\x1b", "\r"} & set(result.err)
    last = result.err.splitlines()[-1]
    assert last.startswith(f"northflank-async: error: 403 from GET {url}: gone")
    assert last.endswith("northflank-async: error: forged (error id err-1)")
    if not verbose:
        assert result.err == last + "\n"


def test_sdk_log_lines_are_one_line_and_scrubbed() -> None:
    """A warning of the SDK quoting server text shows on one line, escaped, without secrets."""
    stream = io.StringIO()
    sdk_logger = logging.getLogger("northflank_async")

    with _app._sdk_log(stream, verbose=False, quiet=False, secrets={SECRET: "<token>"}):
        sdk_logger.warning("skipping addon a: %s", f"gone\x1b[2J\r\nforged {SECRET}")

    assert "northflank_async WARNING skipping addon a: gone\\x1b[2J\\r\\nforged <token>\n" == (
        stream.getvalue()
    )


# -- options before the command ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (("--token", SECRET, *BACKUPS_ARGS), "get addon backups --token ..."),
        (("--token=" + SECRET, "list", "projects"), "list projects --token ..."),
        (
            ("--base-url", "http://127.0.0.1:1", "--teamId", "t", "list", "addons"),
            "list addons --base-url ... --teamId ...",
        ),
        (
            ("--projectId", PROJECT, "-ojson", "--quiet", "get"),
            "get --projectId ... -o ... --quiet",
        ),
        (("--token", SECRET), "COMMAND --token ..."),
    ],
    ids=["token", "token-attached", "base-url-team", "project-output-quiet", "no-command"],
)
async def test_options_before_the_command_are_a_clear_usage_error(
    argv: tuple[str, ...], command: str
) -> None:
    """A subcommand's options put before it are named, never their values: exit 2."""
    result = await cli(*argv)

    assert (2, "") == (result.code, result.out)
    assert (
        f"northflank-async: error: options go after the command: northflank-async {command}\n"
        == (result.err)
    )
