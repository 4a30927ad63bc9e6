"""The command line as a process: ``main()`` in its own event loop, real signals, closed
pipes, the console script and ``python -m northflank_async``."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import os
import runpy
import signal
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from northflank_async.cli import main
from northflank_async.cli._app import build_parser
from northflank_async.testing import MockNorthflank
from tests.cli_support import BACKUPS_ARGS, api_json, connect, mock_in_thread, start_cli
from tests.conftest import ADDON, PROJECT

# -- main(): the synchronous entry point ------------------------------------------------------------


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


def test_main_points_a_closed_stdout_at_devnull(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After a closed pipe, main() returns 141 and sends stdout's descriptor to /dev/null."""
    with (tmp_path / "stdout").open("w+b") as target:

        class ClosedPipe(io.StringIO):
            def write(self, text: str) -> int:
                raise BrokenPipeError

            def fileno(self) -> int:
                return target.fileno()

        stderr = io.StringIO()
        monkeypatch.setattr(sys, "stdout", ClosedPipe())
        monkeypatch.setattr(sys, "stderr", stderr)
        code = main(["demo", "--backups", "5", "--latency", "0", "--quiet"])
        os.write(target.fileno(), b"flushed at exit")

    assert (141, "", b"") == (code, stderr.getvalue(), (tmp_path / "stdout").read_bytes())


def test_console_script_is_declared() -> None:
    """`pip install .` installs the northflank-async console script, pointing at main."""
    (script,) = entry_points(group="console_scripts", name="northflank-async")

    assert "northflank_async.cli:main" == script.value
    assert main is script.load()


def test_importing_the_main_module_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """Importing ``northflank_async.__main__`` (not running it) only makes ``main`` available."""
    spec = importlib.util.find_spec("northflank_async.__main__")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)  # kept out of sys.modules, for runpy's sake
    spec.loader.exec_module(module)

    assert main is module.main
    assert ("", "") == tuple(capsys.readouterr())


def test_python_dash_m_runs_the_command_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m northflank_async`` is the same command line, with its exit code."""
    monkeypatch.setattr(sys, "argv", ["northflank-async", "--help"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("northflank_async", run_name="__main__", alter_sys=True)

    assert 0 == exited.value.code
    assert build_parser().format_help() == capsys.readouterr().out


# -- as a real process ------------------------------------------------------------------------------


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


async def test_subprocess_hides_the_environments_token_pasted_as_an_argument(
    tmp_path: Path,
) -> None:
    """The token of $NORTHFLANK_API_TOKEN, pasted as the command, is echoed as <token>."""
    token = "nf-pasted-t0ken"
    process = await start_cli(
        token, "list", "projects", env={"NORTHFLANK_API_TOKEN": token}, cwd=tmp_path
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)

    assert (2, b"") == (process.returncode, out)
    assert err.startswith(b"northflank-async: error: argument COMMAND: invalid choice: '<token>'")
    assert token.encode() not in err
