"""Running the blocks: Python blocks in one namespace per page against a fresh fake API,
console commands with bash against a fake API served from a thread.

What every Python block is given (the docs conventions): ``mock`` (a running
``MockNorthflank`` holding the conventions' data), ``nf`` (an open ``NorthflankSession``
against it), ``project_id``, ``addon_id`` and ``backup_id``; the environment points
``NorthflankSession()`` at the mock; the working directory is a fresh one holding an
empty ``backups/``. A block compiles with top-level ``await`` allowed, under the file name
``path:line`` and with the page's own line numbers, so a traceback points into the page.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import gc
import inspect
import linecache
import os
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
import traceback
import types
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from northflank_async import NorthflankSession
from northflank_async.testing import MockNorthflank
from tests.cli_support import mock_in_thread
from tests.docs.blocks import CLI, Block, Command, simple_commands

__all__ = [
    "ADDON_ID",
    "BANNER",
    "PROJECT_ID",
    "TIMEOUT",
    "Outcome",
    "check_no_tasks_left",
    "cli_environment",
    "fill",
    "fill_page",
    "page_fixtures",
    "run_command",
    "run_console_block",
    "run_python_blocks",
    "served_fake_api",
    "unclosed",
]

#: Seconds a block, or a command, may run before it fails.
TIMEOUT = 60.0
PROJECT_ID = "project-1"
ADDON_ID = "postgresql-1"
#: What ``northflank-async mock serve`` prints once it serves.
BANNER = "Press Ctrl-C to stop."
#: The name the blocks' namespace has, as a module (``__name__`` in a block).
MODULE = "__docs__"
_PROXY_VARIABLES = frozenset(
    {"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ws_proxy", "wss_proxy", "ftp_proxy"}
)
_TAIL = 40  # lines of a failed command's output shown


def fill(mock: MockNorthflank, *, realistic: bool = False) -> None:
    """Give a console block's ``mock`` what ``northflank-async mock serve`` serves
    (``realistic``: what ``mock serve --realistic`` serves), its lifecycle included, so
    what a page shows from a run against ``mock serve`` holds in the test."""
    if realistic:
        mock.generate_realistic_team()
    else:
        mock.generate_team(projects=2, addons_per_project=3, backups_per_addon=250)


def fill_page(mock: MockNorthflank) -> None:
    """Give a page's ``mock`` the console data, the ``default-project`` /
    ``example-addon`` backups the README's first example lists, and backups that end
    fast once started."""
    fill(mock)
    mock.generate_backups("default-project", "example-addon", 250)
    mock.set_backup_lifecycle(scheduled=0.1, in_progress=0.2)


def _foreign(name: str) -> bool:
    """Whether an environment variable would point a client elsewhere (a Northflank
    setting of the developer's, or a proxy)."""
    upper = name.upper()
    return upper.startswith(("NORTHFLANK_", "NF_")) or name.lower() in _PROXY_VARIABLES


def cli_environment(mock: MockNorthflank, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment of a command: ``base`` without Northflank or proxy variables, the
    venv's bin first on PATH, and the variables that point the CLI at ``mock``."""
    env = {name: value for name, value in base.items() if not _foreign(name)}
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(part for part in (bindir, base.get("PATH", "")) if part)
    env["NORTHFLANK_API_BASE_URL"] = str(mock.base_url)
    env["NORTHFLANK_API_TOKEN"] = mock.token
    return env


# -- Python blocks --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def page_fixtures(
    monkeypatch: pytest.MonkeyPatch, workdir: Path
) -> AsyncIterator[dict[str, Any]]:
    """A fresh fake API, the environment and working directory of a page, and the names
    its blocks are given; the session closed and the mock stopped afterwards."""
    with monkeypatch.context() as patch:
        for name in list(os.environ):
            if _foreign(name):
                patch.delenv(name)
        async with MockNorthflank() as mock:
            fill_page(mock)
            patch.setenv("NORTHFLANK_API_TOKEN", mock.token)
            patch.setenv("NORTHFLANK_API_BASE_URL", str(mock.base_url))
            (workdir / "backups").mkdir(parents=True, exist_ok=True)
            patch.chdir(workdir)
            backup_id = next(
                backup["id"]
                for backup in mock.backups(PROJECT_ID, ADDON_ID)
                if backup["status"] == "completed"
            )
            async with NorthflankSession() as nf:
                yield {
                    "mock": mock,
                    "nf": nf,
                    "project_id": PROJECT_ID,
                    "addon_id": ADDON_ID,
                    "backup_id": backup_id,
                }


def _compile(block: Block) -> types.CodeType:
    """The block as code whose file name is ``path:line`` and whose line numbers are the
    page's (its source is put in linecache, so a traceback shows the lines)."""
    source = "\n" * block.line + block.text
    linecache.cache[block.where] = (len(source), None, source.splitlines(True), block.where)
    code: types.CodeType = compile(
        source,
        block.where,
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,  # not this module's `from __future__ import annotations`
    )
    return code


async def _in_thread(code: types.CodeType, namespace: dict[str, Any], name: str) -> None:
    """Run ``code`` in a daemon thread of its own, and wait for it.

    Not ``asyncio.to_thread``: a block that never ends would hold the loop's executor,
    and with it the test's teardown; a daemon thread is left behind instead.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def target() -> None:
        error: BaseException | None = None
        try:
            exec(code, namespace)
        except BaseException as exc:  # everything goes back to the test, SystemExit too
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: the test gave up
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=target, name=f"docs block {name}", daemon=True).start()
    await done


def _from_block(error: BaseException, where: str) -> str:
    """The traceback of ``error``, from the block's first frame on (not the harness's)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != where:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb or error.__traceback__))


async def _run_block(block: Block, namespace: dict[str, Any], limit: float) -> None:
    """Run one block: a coroutine (top-level ``await``) in this loop, anything else in a
    thread; fail naming the block on an exception, a non-zero SystemExit or the timeout."""
    try:
        code = _compile(block)
    except SyntaxError as error:
        problem: str | None = f"the block does not compile: {error}"
    else:
        problem = await _problem(block, code, namespace, limit)
    if problem is not None:
        # Failed outside the except clauses: the report shows the block's traceback, not
        # a chain through the harness.
        pytest.fail(f"{block.where}: {problem}", pytrace=False)


async def _problem(
    block: Block, code: types.CodeType, namespace: dict[str, Any], limit: float
) -> str | None:
    """Run the compiled block; what went wrong, or None when it ran to its end."""
    try:
        async with asyncio.timeout(limit) as scope:
            if code.co_flags & inspect.CO_COROUTINE:
                await eval(code, namespace)
            else:
                await _in_thread(code, namespace, block.where)
    except SystemExit as error:
        return None if error.code in (None, 0) else f"the block exited with {error.code!r}"
    except TimeoutError as error:
        if scope.expired():
            return f"the block did not finish within {limit:g} s"
        return f"{error!r}\n\n{_from_block(error, block.where)}"
    except asyncio.CancelledError as error:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # the test itself is being cancelled
        return f"{error!r}\n\n{_from_block(error, block.where)}"
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # what a user's code may raise, pytest's outcomes too
        return f"{error!r}\n\n{_from_block(error, block.where)}"
    return None


@contextlib.contextmanager
def _as_module(module: types.ModuleType) -> Iterator[None]:
    """``sys.modules[MODULE]`` is the blocks' namespace meanwhile, so what looks a class
    up by its module (dataclasses, pickle, ``typing.get_type_hints``) finds it."""
    previous = sys.modules.get(MODULE)
    sys.modules[MODULE] = module
    try:
        yield
    finally:
        if previous is None:
            sys.modules.pop(MODULE, None)
        else:
            sys.modules[MODULE] = previous


def unclosed(release: Callable[[], object] = lambda: None) -> list[str]:
    """Call ``release`` (dropping the last references to what blocks made), collect garbage,
    and return what was found unclosed: each ResourceWarning (an error in this suite) that
    a finalizer raised meanwhile, e.g. an aiohttp session or a file left open."""
    found: list[str] = []
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        found.append(f"{unraisable.exc_type.__name__}: {unraisable.exc_value}")

    sys.unraisablehook = hook
    try:
        release()
        gc.collect()
    finally:
        sys.unraisablehook = previous
    return found


async def run_python_blocks(
    blocks: Sequence[Block], fixtures: Mapping[str, Any], *, limit: float = TIMEOUT
) -> None:
    """Run the blocks in order in one namespace holding ``fixtures`` (no-run ones left
    out); ``pytest.fail`` names the first block that fails, or what the blocks left open
    once their namespace is dropped."""
    module = types.ModuleType(MODULE)
    namespace = module.__dict__
    namespace.update(fixtures)
    try:
        with _as_module(module):
            for block in blocks:
                if not block.no_run:
                    await _run_block(block, namespace, limit)
    finally:
        for block in blocks:
            linecache.cache.pop(block.where, None)
        left = unclosed(namespace.clear)
    if left and blocks:
        pytest.fail(
            f"{blocks[0].path}: the blocks left resources open:\n" + "\n".join(left),
            pytrace=False,
        )


async def check_no_tasks_left(where: str) -> None:
    """Fail (after cancelling them) when the blocks left tasks running in the page's loop,
    or left resources open that only their end released."""
    await asyncio.sleep(0)  # let tasks that just finished settle
    current = asyncio.current_task()
    left = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in left:
        task.cancel()
    if left:
        await asyncio.wait(left, timeout=5)
        pytest.fail(
            f"{where}: the blocks left tasks running:\n" + "\n".join(map(repr, left)),
            pytrace=False,
        )
    found = unclosed()
    if found:
        pytest.fail(f"{where}: the blocks left resources open:\n" + "\n".join(found), pytrace=False)


# -- console blocks -------------------------------------------------------------------------------


@contextlib.contextmanager
def served_fake_api(*, realistic: bool = False) -> Iterator[MockNorthflank]:
    """A MockNorthflank with the conventions' data, served by a thread of its own, so
    commands run as processes (blocking this thread) can talk to it."""
    with mock_in_thread() as mock:
        # Filled before any command runs: the serving thread reads the store only when
        # a request comes in, so nothing races.
        fill(mock, realistic=realistic)
        yield mock


@dataclass(frozen=True)
class Outcome:
    """How a command ended: its exit code (None when it timed out), its output."""

    code: int | None
    stdout: str
    stderr: str
    note: str = ""


def _serves(script: str) -> bool:
    """Whether the command runs ``northflank-async mock serve`` (it serves until Ctrl-C)."""
    for words in simple_commands(script):
        for index, word in enumerate(words):
            if word.rsplit("/", 1)[-1] == CLI and words[index + 1 : index + 3] == ["mock", "serve"]:
                return True
    return False


def serve_script(script: str) -> str:
    """``mock serve`` on a free port (``--port N`` becomes ``--port 0``), in the foreground."""
    script = script.strip()
    if script.endswith("&") and not script.endswith("&&"):
        script = script[:-1].rstrip()
    if re.search(r"--port(=|\s+)\S+", script):
        return re.sub(r"--port(=|\s+)\S+", "--port 0", script)
    return re.sub(r"\bmock\s+serve\b", "mock serve --port 0", script, count=1)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill what is left of the command's process group (a pipeline, a child it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _start(script: str, env: Mapping[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["bash", "-c", script],  # bash from PATH, as a reader's shell
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, to signal or kill as a whole
    )


def _decode(data: bytes | bytearray) -> str:
    return data.decode("utf-8", errors="replace")


def _run_server(script: str, env: Mapping[str, str], cwd: Path, timeout: float) -> Outcome:
    """Start ``mock serve``, wait for its banner, press Ctrl-C (SIGINT to its group)."""
    process = _start(serve_script(script), env, cwd)
    assert process.stdout is not None
    assert process.stderr is not None
    out, err = bytearray(), bytearray()
    received = {process.stdout.fileno(): out, process.stderr.fileno(): err}
    deadline = time.monotonic() + timeout
    note = ""
    try:
        with selectors.DefaultSelector() as selector:
            for fd in received:
                selector.register(fd, selectors.EVENT_READ)
            while BANNER.encode() not in out and selector.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                for key, _ in selector.select(left):
                    chunk = os.read(key.fd, 65536)
                    if chunk:
                        received[key.fd] += chunk
                    else:
                        selector.unregister(key.fd)
        if BANNER.encode() in out:
            os.killpg(process.pid, signal.SIGINT)
        elif process.poll() is None:
            note = f"it did not print {BANNER!r} within {timeout:g} s"
            _kill_group(process)
        else:
            note = f"it ended before printing {BANNER!r}"
        try:
            rest_out, rest_err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            rest_out, rest_err = process.communicate()
            return Outcome(None, _decode(out + rest_out), "", "it did not stop on Ctrl-C")
        return Outcome(process.returncode, _decode(out + rest_out), _decode(err + rest_err), note)
    finally:
        _kill_group(process)


def run_command(
    command: Command, env: Mapping[str, str], cwd: Path, *, timeout: float = TIMEOUT
) -> Outcome:
    """Run a command with ``bash -c`` (no pipefail: a pipeline's code is its last
    command's), or ``mock serve`` until its banner then Ctrl-C."""
    script = command.script
    if _serves(script):
        return _run_server(script, env, cwd, timeout)
    process = _start(script, env, cwd)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = process.communicate()
        return Outcome(None, _decode(out), _decode(err), f"it did not end within {timeout:g} s")
    finally:
        _kill_group(process)
    return Outcome(process.returncode, _decode(out), _decode(err))


def _tail(text: str) -> str:
    lines = text.rstrip("\n").splitlines()
    shown = lines[-_TAIL:]
    skipped = f"[... {len(lines) - len(shown)} lines]\n" if len(lines) > len(shown) else ""
    return skipped + "\n".join(shown)


def failure(path: str, command: Command, outcome: Outcome) -> str:
    """What a failed command's test shows: where, the command, the codes, the output."""
    return (
        f"{path}:{command.line}: `{command.text}` exited with {outcome.code}, expected "
        f"{command.expected_code}" + (f" ({outcome.note})" if outcome.note else "") + "\n"
        f"--- stdout (last {_TAIL} lines) ---\n{_tail(outcome.stdout)}\n"
        f"--- stderr (last {_TAIL} lines) ---\n{_tail(outcome.stderr)}"
    )


def run_console_block(
    block: Block, commands: Sequence[Command], workdir: Path, *, timeout: float = TIMEOUT
) -> None:
    """Run the block's northflank-async commands in order, in ``workdir`` (holding an empty
    ``backups/``), against one fresh fake API; fail at the first unexpected exit code."""
    (workdir / "backups").mkdir(parents=True, exist_ok=True)
    with served_fake_api(realistic=block.realistic) as mock:
        env = cli_environment(mock)
        for command in commands:
            if not command.runs_cli:
                continue
            outcome = run_command(command, env, workdir, timeout=timeout)
            if outcome.code != command.expected_code:
                pytest.fail(failure(block.path, command, outcome), pytrace=False)
