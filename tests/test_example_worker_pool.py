"""examples/worker_pool.py: its walks through run() and run_project(), and its command line."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from examples import worker_pool
from northflank_async import (
    AddonBackup,
    NorthflankError,
    NorthflankSession,
    PaginationError,
    PermissionDeniedError,
)
from northflank_async.testing import FaultPlan, MockNorthflank
from tests.conftest import ADDON, PROJECT
from tests.example_support import (
    MOCK_ADDON,
    MOCK_PROJECT,
    TIMEOUT,
    clean_environment,
    copy_alone,
    run_alone,
)


class Recorder:
    """An injectable ``process`` that records each backup id, finishing out of order."""

    def __init__(self, fail: frozenset[str] = frozenset(), stop_after: int | None = None) -> None:
        self.ids: list[str] = []
        self.fail = fail
        self.stop_after = stop_after
        self.reached = asyncio.Event()

    async def __call__(self, item: AddonBackup) -> None:
        # 0 to 3 turns of the event loop: workers finish in another order than they start.
        for _ in range(hash(item.backup.id) % 4):
            await asyncio.sleep(0)
        if item.backup.id in self.fail:
            raise RuntimeError("checksum mismatch")
        self.ids.append(item.backup.id)
        if self.stop_after is not None and len(self.ids) >= self.stop_after:
            self.reached.set()


def _ids(mock: MockNorthflank, addon: str = ADDON) -> list[str]:
    return [b["id"] for b in mock.backups(PROJECT, addon)]


def _saved(checkpoint: Path) -> dict[str, Any]:
    saved: dict[str, Any] = json.loads(checkpoint.read_text())
    return saved


# -- run(): one addon, checkpointed ---------------------------------------------------------


async def test_run_processes_every_backup_once_and_marks_the_checkpoint_complete(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """Every backup of a ten-page addon is processed exactly once; the checkpoint ends complete."""
    mock.generate_backups(PROJECT, ADDON, 95)
    checkpoint = tmp_path / "walk.json"
    process = Recorder()

    summary = await worker_pool.run(
        nf, PROJECT, ADDON, workers=4, checkpoint=checkpoint, process=process, per_page=10
    )

    assert sorted(_ids(mock)) == sorted(process.ids)
    assert (95, [], 10, 0, 0) == (
        summary.processed,
        summary.failed_ids,
        summary.pages,
        summary.pages_before,
        summary.exit_code,
    )
    assert {
        "project_id": PROJECT,
        "addon_id": ADDON,
        "cursor": None,
        "complete": True,
        "pages": 10,
        "backups": 95,
    } == _saved(checkpoint)
    assert ["walk.json"] == os.listdir(tmp_path)  # the temporary file was renamed


async def test_run_checkpoint_never_skips_an_unfinished_page(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """With page 2 processed but one backup of page 1 still running, no checkpoint is written."""
    mock.generate_backups(PROJECT, ADDON, 30)
    ids = _ids(mock)
    checkpoint = tmp_path / "walk.json"
    release, page_two_done = asyncio.Event(), asyncio.Event()
    processed: set[str] = set()

    async def process(item: AddonBackup) -> None:
        if item.backup.id == ids[0]:
            await release.wait()
        processed.add(item.backup.id)
        if set(ids[10:20]) <= processed:
            page_two_done.set()

    task = asyncio.create_task(
        worker_pool.run(
            nf, PROJECT, ADDON, workers=3, checkpoint=checkpoint, process=process, per_page=10
        )
    )
    await asyncio.wait_for(page_two_done.wait(), TIMEOUT)
    assert not checkpoint.exists()
    assert set() == processed & set(ids[20:])  # at most two pages are open at once
    release.set()
    summary = await asyncio.wait_for(task, TIMEOUT)

    assert (30, 3) == (summary.processed, _saved(checkpoint)["pages"])


async def test_run_restarted_after_a_kill_finishes_only_the_unfinished_pages(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A run cancelled mid-walk resumes from its checkpoint and processes exactly the rest."""
    mock.generate_backups(PROJECT, ADDON, 100)
    ids = _ids(mock)
    checkpoint = tmp_path / "walk.json"
    first = Recorder(stop_after=45)
    task = asyncio.create_task(
        worker_pool.run(
            nf, PROJECT, ADDON, workers=4, checkpoint=checkpoint, process=first, per_page=10
        )
    )
    await asyncio.wait_for(first.reached.wait(), TIMEOUT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    saved = _saved(checkpoint)
    done = saved["pages"]
    pages = [p async for p in nf.list_backup_pages(PROJECT, ADDON, per_page=10)]
    assert (False, pages[done - 1].pagination.cursor, done * 10) == (
        saved["complete"],
        saved["cursor"],
        saved["backups"],
    )
    assert set(ids[: done * 10]) <= set(first.ids)  # the checkpoint covers only done work

    second = Recorder()
    summary = await worker_pool.run(
        nf, PROJECT, ADDON, workers=4, checkpoint=checkpoint, process=second, per_page=10
    )

    assert ids[done * 10 :] == sorted(second.ids, key=ids.index)
    assert len(second.ids) == len(set(second.ids))
    assert set(ids) == set(first.ids) | set(second.ids)
    assert (done, 10 - done, True) == (
        summary.pages_before,
        summary.pages,
        _saved(checkpoint)["complete"],
    )


async def test_run_reports_a_failed_backup_and_goes_on(
    mock: MockNorthflank,
    nf: NorthflankSession,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A worker's error is logged with the backup id, counted, and makes the exit code 1."""
    mock.generate_backups(PROJECT, ADDON, 25)
    bad = _ids(mock)[7]
    process = Recorder(fail=frozenset({bad}))

    with caplog.at_level(logging.ERROR, logger="worker_pool"):
        summary = await worker_pool.run(
            nf, PROJECT, ADDON, workers=3, checkpoint=tmp_path / "c.json", process=process
        )

    assert ([bad], 25, 24, 1) == (
        summary.failed_ids,
        summary.processed,
        len(process.ids),
        summary.exit_code,
    )
    assert [
        f"backup {bad} of addon {ADDON} (project {PROJECT}) failed: RuntimeError: checksum mismatch"
    ] == [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize(
    ("plan", "error", "processed", "saved_pages"),
    [
        pytest.param(lambda f: f.fail(3, 403), PermissionDeniedError, 20, 2, id="403-on-page-3"),
        pytest.param(lambda f: f.omit_cursor(2), PaginationError, 20, 1, id="no-cursor-on-page-2"),
    ],
)
async def test_run_api_error_finishes_the_queued_backups_then_raises(
    mock: MockNorthflank,
    nf: NorthflankSession,
    tmp_path: Path,
    plan: Callable[[FaultPlan], object],
    error: type[NorthflankError],
    processed: int,
    saved_pages: int,
) -> None:
    """A failed walk raises after the queued backups; the checkpoint keeps the last good cursor."""
    mock.generate_backups(PROJECT, ADDON, 50)
    plan(mock.faults)
    checkpoint = tmp_path / "walk.json"
    process = Recorder()

    with pytest.raises(error):
        await worker_pool.run(
            nf, PROJECT, ADDON, workers=2, checkpoint=checkpoint, process=process, per_page=10
        )

    pages = [p async for p in nf.list_backup_pages(PROJECT, ADDON, per_page=10)]
    assert sorted(_ids(mock)[:processed]) == sorted(process.ids)
    assert (saved_pages, False, pages[saved_pages - 1].pagination.cursor) == (
        _saved(checkpoint)["pages"],
        _saved(checkpoint)["complete"],
        _saved(checkpoint)["cursor"],
    )


async def test_run_from_a_complete_checkpoint_sends_no_request(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A restart from a complete checkpoint processes nothing and asks the API nothing."""
    mock.generate_backups(PROJECT, ADDON, 5)
    checkpoint = tmp_path / "walk.json"
    await worker_pool.run(nf, PROJECT, ADDON, checkpoint=checkpoint, process=Recorder())
    requests = len(mock.requests)

    summary = await worker_pool.run(nf, PROJECT, ADDON, checkpoint=checkpoint, process=Recorder())

    assert (0, 1, requests) == (summary.processed, summary.pages_before, len(mock.requests))


_OTHER_ADDONS_CHECKPOINT = json.dumps(
    {
        "project_id": PROJECT,
        "addon_id": "other-addon",
        "cursor": None,
        "complete": False,
        "pages": 0,
        "backups": 0,
    }
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{not json", r"walk\.json is not JSON: ", id="not-json"),
        pytest.param('{"cursor": 7}', r"walk\.json is not a checkpoint written by", id="object"),
        pytest.param("[]", r"walk\.json is not a checkpoint written by this program$", id="list"),
        pytest.param(
            _OTHER_ADDONS_CHECKPOINT,
            r"walk\.json is the checkpoint of addon other-addon of project default-project, "
            r"not of addon example-addon of project default-project$",
            id="another-addon",
        ),
    ],
)
async def test_run_refuses_a_checkpoint_it_cannot_use_before_any_request(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path, text: str, message: str
) -> None:
    """A damaged checkpoint, or another addon's, stops the run before any request."""
    checkpoint = tmp_path / "walk.json"
    checkpoint.write_text(text)

    with pytest.raises(worker_pool.CheckpointError, match=message):
        await worker_pool.run(nf, PROJECT, ADDON, checkpoint=checkpoint)
    assert [] == mock.requests


# -- run_project(): every addon of a project ------------------------------------------------


async def test_run_project_processes_every_backup_of_every_addon_once(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """The --project mode covers every backup of every addon of the project exactly once."""
    counts = {"pg": 23, "redis": 0, "mongo": 41, "mysql": 7}
    for addon, count in counts.items():
        mock.add_addon(PROJECT, addon)
        mock.generate_backups(PROJECT, addon, count)
    seen: list[tuple[str, str]] = []

    async def process(item: AddonBackup) -> None:
        await asyncio.sleep(0)
        seen.append((item.addon_id, item.backup.id))

    summary = await worker_pool.run_project(
        nf, PROJECT, workers=3, concurrency=2, process=process, per_page=10
    )

    expected = [(addon, backup_id) for addon in counts for backup_id in _ids(mock, addon)]
    assert collections.Counter(expected) == collections.Counter(seen)
    assert (71, 0) == (summary.processed, summary.exit_code)


# -- main(): the command line ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "code", "out", "files"),
    [
        pytest.param(
            ["--workers", "4", "--checkpoint", "walk.json"],
            0,
            f"processed 250 backups of addon {MOCK_ADDON} of project {MOCK_PROJECT}, 0 failed\n",
            ["walk.json"],
            id="one-addon",
        ),
        pytest.param(
            ["--project", MOCK_PROJECT, "--per-page", "30", "--concurrency", "2"],
            0,
            f"processed 410 backups of every addon of project {MOCK_PROJECT}, 0 failed\n",
            [],
            id="project",
        ),
        pytest.param(["--project", "no-such-project"], 1, "", [], id="unknown-project"),
    ],
)
def test_main_without_a_token_runs_against_the_built_in_mock(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    out: str,
    files: list[str],
) -> None:
    """Without a token main() works on its mock's three addons and returns the exit code."""
    monkeypatch.chdir(tmp_path)

    assert code == worker_pool.main(argv)

    captured = capsys.readouterr()
    assert (out, files) == (captured.out, os.listdir(tmp_path))
    assert captured.err.startswith(
        "NF_API_TOKEN is not set: using an in-process mock API at http://127.0.0.1:"
    )


def test_main_refuses_a_checkpoint_in_project_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--checkpoint with --project is a usage error (exit code 2), before any work."""
    with pytest.raises(SystemExit) as stopped:
        worker_pool.main(["--project", "p", "--checkpoint", str(tmp_path / "c")])

    assert 2 == stopped.value.code
    assert capsys.readouterr().err.endswith(
        "error: --checkpoint works in single-addon mode only, not with --project\n"
    )


def test_main_with_a_token_needs_both_ids_for_one_addon(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a token but without NF_PROJECT_ID and NF_ADDON_ID, one addon's walk stops at once."""
    monkeypatch.setenv("NF_API_TOKEN", "nf-test-token")
    monkeypatch.setenv("NORTHFLANK_API_BASE_URL", "http://127.0.0.1:9")  # never reached

    with pytest.raises(SystemExit) as stopped:
        worker_pool.main([])

    assert "NF_API_TOKEN is set, so set NF_PROJECT_ID and NF_ADDON_ID too" == stopped.value.code


async def test_main_with_a_token_works_on_the_api_the_environment_names(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a token and --project, the walk goes to the API of the environment, not a mock."""
    mock.generate_backups(PROJECT, ADDON, 12)
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", mock.token)
    monkeypatch.setenv("NORTHFLANK_API_BASE_URL", str(mock.base_url))
    # main() runs its own event loop: give it a thread, the mock keeps this one.
    code = await asyncio.to_thread(worker_pool.main, ["--project", PROJECT])

    assert 0 == code
    assert {f"/v1/projects/{PROJECT}/addons", f"/v1/projects/{PROJECT}/addons/{ADDON}/backups"} == {
        r.path for r in mock.requests
    }


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
async def test_ctrl_c_leaves_a_checkpoint_a_restart_finishes(tmp_path: Path) -> None:
    """Run alone, Ctrl-C mid-walk exits 130 with a consistent checkpoint; a restart does the rest."""
    script = copy_alone("worker_pool.py", tmp_path)
    args = ["--workers", "2", "--per-page", "20", "--checkpoint", "walk.json"]
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        script.name,
        *args,
        "--delay",
        "0.05",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=clean_environment(),
    )
    assert child.stderr is not None
    try:
        while b"2 pages done" not in await asyncio.wait_for(child.stderr.readline(), TIMEOUT):
            pass
        child.send_signal(signal.SIGINT)
        _, rest = await asyncio.wait_for(child.communicate(), TIMEOUT)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()

    saved = _saved(tmp_path / "walk.json")
    assert (130, False) == (child.returncode, saved["complete"])
    assert rest.decode().endswith("interrupted; walk.json holds every fully processed page\n")
    assert saved["backups"] == saved["pages"] * 20

    again = run_alone("worker_pool.py", tmp_path, *args)
    assert 0 == again.returncode, again.stderr
    assert (
        f"INFO worker_pool: resuming after page {saved['pages']} ({saved['backups']} backups) "
        "from walk.json"
    ) == again.stderr.splitlines()[1]
    assert (
        f"processed {250 - saved['backups']} backups of addon {MOCK_ADDON} of project "
        f"{MOCK_PROJECT}, 0 failed\n"
    ) == again.stdout
