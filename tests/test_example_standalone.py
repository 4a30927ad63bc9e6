"""Each example, copied alone into an empty directory, runs there with no token set.

Every test here starts a Python process in a clean environment (no API token, no
PYTHONPATH) whose only file is the copied example, so an import of a sibling module,
or a need for a token or the network, fails it. All of it stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from northflank_async import Backup, converter
from tests.example_support import (
    MOCK_ADDON,
    MOCK_PROJECT,
    REPOSITORY,
    TIMEOUT,
    clean_environment,
    copy_alone,
    generated_backups,
    run_alone,
)

MOCK_SAYS = "NF_API_TOKEN is not set: using an in-process mock API at http://127.0.0.1:"


def _listed(raw: list[dict[str, object]]) -> str:
    """What list_backups.py prints for these API backups."""
    return "".join(
        f"{b.id}  {b.status:<13}  {b.created_at:%Y-%m-%d %H:%M}  {b.config.size:>14,} bytes\n"
        for b in (converter.structure(item, Backup) for item in raw)
    )


@pytest.mark.parametrize(
    ("name", "args", "out"),
    [
        pytest.param("list_backups.py", [], _listed(generated_backups()), id="list_backups"),
        pytest.param(
            "worker_pool.py",
            ["--workers", "4", "--checkpoint", "walk.json"],
            f"processed 250 backups of addon {MOCK_ADDON} of project {MOCK_PROJECT}, 0 failed\n",
            id="worker_pool",
        ),
    ],
)
def test_script_copied_alone_runs_to_the_end_against_its_mock(
    tmp_path: Path, name: str, args: list[str], out: str
) -> None:
    """A copied script runs to the end on its built-in mock, saying so on its first stderr line."""
    result = run_alone(name, tmp_path, *args)

    assert (0, out) == (result.returncode, result.stdout), result.stderr
    assert result.stderr.startswith(MOCK_SAYS)


def test_backup_then_migrate_copied_alone_migrates_once_its_mock_backup_completed(
    tmp_path: Path,
) -> None:
    """A copy backs up its mock's addon, prints each status to ``completed``, then migrates."""
    result = run_alone("backup_then_migrate.py", tmp_path, "--name", "before migration")

    assert 0 == result.returncode, result.stderr
    assert (1, True) == (len(result.stderr.splitlines()), result.stderr.startswith(MOCK_SAYS))
    started, *states, migrating, done = result.stdout.splitlines()
    backup_id = started.split()[2]  # "started backup <id> ('<name>') of addon <addon>"
    assert f"started backup {backup_id} ('before migration') of addon {MOCK_ADDON}" == started
    assert (f"backup {backup_id}: scheduled", f"backup {backup_id}: completed") == (
        states[0],
        states[-1],
    )
    assert (f"migrating... (should it go wrong, restore backup {backup_id})", "migration done") == (
        migrating,
        done,
    )


def test_fastapi_app_copied_alone_imports_without_a_token_starting_nothing(
    tmp_path: Path,
) -> None:
    """Importing a copy of fastapi_app builds its ``app`` silently: no token, no mock started."""
    copy_alone("fastapi_app.py", tmp_path)
    code = "import fastapi_app; print(type(fastapi_app.app).__name__)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=tmp_path,
        env=clean_environment(),
    )

    assert (0, "FastAPI\n", "") == (result.returncode, result.stdout, result.stderr)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _uvicorn() -> list[str]:
    """The ``uvicorn`` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("uvicorn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "uvicorn"]


def _first_answer(server: subprocess.Popen[str], url: str) -> httpx.Response:
    """The server's answer to GET ``url``, asked until it listens (TIMEOUT seconds at most)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            return httpx.get(url, timeout=TIMEOUT)
        except httpx.ConnectError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.mark.skipif(os.name != "posix", reason="stops the server with SIGTERM")
@pytest.mark.parametrize(
    ("command", "where"),
    [
        pytest.param([*_uvicorn(), "fastapi_app:app"], "copy", id="uvicorn-copy"),
        pytest.param([*_uvicorn(), "examples.fastapi_app:app"], "repository", id="uvicorn-repo"),
        pytest.param([sys.executable, "fastapi_app.py"], "copy", id="python-script-copy"),
    ],
)
def test_fastapi_app_served_without_a_token_answers_from_its_mock(
    tmp_path: Path, command: list[str], where: str
) -> None:
    """Served on 127.0.0.1 (uvicorn, or the script itself), the app answers from its own mock."""
    cwd = REPOSITORY if where == "repository" else copy_alone("fastapi_app.py", tmp_path).parent
    port = _free_port()
    server = subprocess.Popen(
        [*command, "--port", str(port)],  # uvicorn's host and the script's: 127.0.0.1
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=clean_environment(),
    )
    try:
        response = _first_answer(
            server,
            f"http://127.0.0.1:{port}/projects/{MOCK_PROJECT}/addons/{MOCK_ADDON}/backups"
            "?per_page=3",
        )
    finally:
        server.terminate()  # SIGTERM: uvicorn shuts down, the lifespan closes the mock
        try:
            _, err = server.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()

    expected = [b["id"] for b in generated_backups()[:3]]
    assert (200, expected) == (response.status_code, [b["id"] for b in response.json()["backups"]])
    # Uvicorn (0.29 on) ends a graceful shutdown by re-raising the signal it caught.
    assert (-signal.SIGTERM, False) == (server.returncode, "Traceback" in err), err
    assert "NF_API_TOKEN is not set: serving an in-process mock API at http://127.0.0.1:" in err
