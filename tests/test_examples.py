"""The examples, run against MockNorthflank: as scripts, and through their async entry points."""

from __future__ import annotations

import asyncio
import collections
import importlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from northflank_async import (
    AddonBackup,
    Backup,
    NorthflankSession,
    PaginationError,
    PermissionDeniedError,
    RetryPolicy,
    converter,
)
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, FakeSleep

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 60  # seconds a script may take before the test gives up on it


def _example(name: str) -> ModuleType:
    """Import examples/<name>.py the way the scripts import each other (examples/ on the path)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(name)


common = _example("_common")
worker_pool = _example("worker_pool")
fastapi_app = _example("fastapi_app")


def _script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run examples/<name> with this interpreter, without any API token in its environment."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=EXAMPLES.parent,
    )


def _demo_backups(addon_id: str = common.MOCK_ADDON) -> list[dict[str, Any]]:
    """The backups the examples' in-process mock serves for ``addon_id``, in order."""
    mock = MockNorthflank()
    for addon, (kind, count) in common.MOCK_ADDONS.items():
        mock.add_addon(common.MOCK_PROJECT, addon, addon_type=kind)
        mock.generate_backups(common.MOCK_PROJECT, addon, count)
    return mock.backups(common.MOCK_PROJECT, addon_id)


# -- list_backups.py ----------------------------------------------------------------------


def test_list_backups_prints_one_line_per_backup_of_the_mock() -> None:
    """Without a token the list example says it uses the mock and prints every backup in order."""
    result = _script("list_backups.py")
    expected = _demo_backups()
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0].startswith(
        "NF_API_TOKEN is not set: using an in-process mock API at http://127.0.0.1:"
    )
    lines = result.stdout.splitlines()
    assert [(b["id"], b["status"], f"{int(b['config']['size']):,}") for b in expected] == [
        (line.split()[0], line.split()[1], line.split()[4]) for line in lines
    ]


# -- worker_pool.py -----------------------------------------------------------------------


class Recorder:
    """An injectable ``process`` that records each backup id, finishing out of order."""

    def __init__(self, fail: frozenset[str] = frozenset()) -> None:
        self.ids: list[str] = []
        self.fail = fail
        self.count = 0
        self.reached = asyncio.Event()
        self.stop_after: int | None = None

    async def __call__(self, item: AddonBackup) -> None:
        # 0 to 3 turns of the event loop: workers finish in another order than they start.
        for _ in range(hash(item.backup.id) % 4):
            await asyncio.sleep(0)
        if item.backup.id in self.fail:
            raise RuntimeError("checksum mismatch")
        self.ids.append(item.backup.id)
        self.count += 1
        if self.stop_after is not None and self.count >= self.stop_after:
            self.reached.set()


def _ids(mock: MockNorthflank, addon: str = ADDON) -> list[str]:
    return [b["id"] for b in mock.backups(PROJECT, addon)]


async def test_worker_pool_processes_every_backup_once_and_marks_the_checkpoint_complete(
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
    assert (95, [], 10, 0) == (
        summary.processed,
        summary.failed_ids,
        summary.pages,
        summary.pages_before,
    )
    assert {
        "project_id": PROJECT,
        "addon_id": ADDON,
        "cursor": None,
        "complete": True,
        "pages": 10,
        "backups": 95,
    } == json.loads(checkpoint.read_text())
    assert ["walk.json"] == os.listdir(tmp_path)  # the temporary file was renamed


async def test_worker_pool_checkpoint_never_skips_an_unfinished_page(
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

    assert (30, 3) == (summary.processed, json.loads(checkpoint.read_text())["pages"])


async def test_worker_pool_restart_after_a_kill_finishes_only_the_unfinished_pages(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A run cancelled mid-walk resumes from its checkpoint and processes exactly the rest."""
    mock.generate_backups(PROJECT, ADDON, 100)
    ids = _ids(mock)
    checkpoint = tmp_path / "walk.json"
    first = Recorder()
    first.stop_after = 45
    task = asyncio.create_task(
        worker_pool.run(
            nf, PROJECT, ADDON, workers=4, checkpoint=checkpoint, process=first, per_page=10
        )
    )
    await asyncio.wait_for(first.reached.wait(), TIMEOUT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    saved = json.loads(checkpoint.read_text())
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
    assert (done, 10 - done) == (summary.pages_before, summary.pages)
    assert json.loads(checkpoint.read_text())["complete"] is True


async def test_worker_pool_reports_a_failed_backup_and_goes_on(
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


async def test_worker_pool_api_error_finishes_the_queued_pages_then_raises(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A 403 on page 3 ends the run with the error, after pages 1 and 2 are processed and saved."""
    mock.generate_backups(PROJECT, ADDON, 50)
    mock.faults.fail(3, 403)
    checkpoint = tmp_path / "walk.json"
    process = Recorder()

    with pytest.raises(PermissionDeniedError):
        await worker_pool.run(
            nf, PROJECT, ADDON, workers=2, checkpoint=checkpoint, process=process, per_page=10
        )

    assert sorted(_ids(mock)[:20]) == sorted(process.ids)
    assert (2, False) == (
        json.loads(checkpoint.read_text())["pages"],
        json.loads(checkpoint.read_text())["complete"],
    )


async def test_worker_pool_keeps_the_last_good_cursor_when_one_is_missing(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A page with a next page but no cursor ends the run; the checkpoint keeps page 1's cursor."""
    mock.generate_backups(PROJECT, ADDON, 50)
    first = await nf.get_backup_page(PROJECT, ADDON, per_page=10)  # request 1
    mock.faults.omit_cursor(3)  # the walk's second page
    checkpoint = tmp_path / "walk.json"

    with pytest.raises(PaginationError):
        await worker_pool.run(
            nf, PROJECT, ADDON, workers=2, checkpoint=checkpoint, process=Recorder(), per_page=10
        )

    saved = json.loads(checkpoint.read_text())
    assert (1, False, first.pagination.cursor) == (
        saved["pages"],
        saved["complete"],
        saved["cursor"],
    )


async def test_worker_pool_complete_checkpoint_sends_no_request(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A restart from a complete checkpoint processes nothing and asks the API nothing."""
    mock.generate_backups(PROJECT, ADDON, 5)
    checkpoint = tmp_path / "walk.json"
    await worker_pool.run(nf, PROJECT, ADDON, checkpoint=checkpoint, process=Recorder())
    requests = len(mock.requests)

    summary = await worker_pool.run(nf, PROJECT, ADDON, checkpoint=checkpoint, process=Recorder())

    assert (0, 1, requests) == (summary.processed, summary.pages_before, len(mock.requests))


async def test_worker_pool_refuses_the_checkpoint_of_another_addon(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A checkpoint written for one addon is not used to resume another."""
    mock.generate_backups(PROJECT, ADDON, 5)
    mock.generate_backups(PROJECT, "other-addon", 5)
    checkpoint = tmp_path / "walk.json"
    await worker_pool.run(nf, PROJECT, ADDON, checkpoint=checkpoint, process=Recorder())

    with pytest.raises(worker_pool.CheckpointError, match="not of addon other-addon"):
        await worker_pool.run(nf, PROJECT, "other-addon", checkpoint=checkpoint)


@pytest.mark.parametrize("text", ["{not json", '{"cursor": 7}', "[]"])
async def test_worker_pool_refuses_a_damaged_checkpoint(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path, text: str
) -> None:
    """A checkpoint file that is not one this program wrote stops the run before any request."""
    checkpoint = tmp_path / "walk.json"
    checkpoint.write_text(text)

    with pytest.raises(worker_pool.CheckpointError, match=r"walk\.json is not"):
        await worker_pool.run(nf, PROJECT, ADDON, checkpoint=checkpoint)
    assert [] == mock.requests


async def test_worker_pool_project_mode_processes_every_backup_of_every_addon_once(
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


def test_worker_pool_script_runs_to_the_end_against_the_mock(tmp_path: Path) -> None:
    """The script processes the mock addon, then every addon of the mock project, exit code 0."""
    checkpoint = tmp_path / "walk.json"
    single = _script("worker_pool.py", "--workers", "4", "--checkpoint", str(checkpoint))
    project = _script("worker_pool.py", "--project", common.MOCK_PROJECT, "--per-page", "30")
    total = sum(count for _, count in common.MOCK_ADDONS.values())

    assert (0, 0) == (single.returncode, project.returncode), single.stderr + project.stderr
    assert (
        f"processed 250 backups of addon {common.MOCK_ADDON} of project "
        f"{common.MOCK_PROJECT}, 0 failed\n"
    ) == single.stdout
    assert f"processed {total} backups of every addon of project default-project, 0 failed\n" == (
        project.stdout
    )
    assert json.loads(checkpoint.read_text())["complete"] is True


def test_worker_pool_script_refuses_a_checkpoint_in_project_mode(tmp_path: Path) -> None:
    """--checkpoint with --project is a usage error (exit code 2), before any work."""
    result = _script("worker_pool.py", "--project", "p", "--checkpoint", str(tmp_path / "c"))

    assert 2 == result.returncode
    assert "--checkpoint works in single-addon mode only" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
async def test_worker_pool_script_ctrl_c_leaves_a_checkpoint_a_restart_finishes(
    tmp_path: Path,
) -> None:
    """Ctrl-C mid-walk exits 130 with a consistent checkpoint; a restart processes the rest."""
    checkpoint = tmp_path / "walk.json"
    args = ["--workers", "2", "--per-page", "20", "--checkpoint", str(checkpoint)]
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / "worker_pool.py"),
        *args,
        "--delay",
        "0.05",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stderr is not None
    while b"2 pages done" not in await asyncio.wait_for(child.stderr.readline(), TIMEOUT):
        pass
    child.send_signal(signal.SIGINT)
    _, rest = await asyncio.wait_for(child.communicate(), TIMEOUT)

    saved = json.loads(checkpoint.read_text())
    assert (130, False) == (child.returncode, saved["complete"])
    assert rest.decode().endswith(f"interrupted; {checkpoint} holds every fully processed page\n")
    assert saved["backups"] == saved["pages"] * 20

    again = _script("worker_pool.py", *args)
    assert 0 == again.returncode
    assert (
        f"INFO worker_pool: resuming after page {saved['pages']} ({saved['backups']} backups) "
        f"from {checkpoint}"
    ) == again.stderr.splitlines()[1]
    assert again.stdout.startswith(f"processed {250 - saved['backups']} backups of addon")


# -- fastapi_app.py -----------------------------------------------------------------------


@asynccontextmanager
async def _client(mock: MockNorthflank, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client of the example app, its lifespan running, pointed at ``mock``."""
    settings.setdefault("token", mock.token)
    settings.setdefault("base_url", str(mock.base_url))
    app = fastapi_app.create_app(fastapi_app.Settings(**settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def _as_served(raw: list[dict[str, Any]]) -> list[Any]:
    """The API's backup JSON as the app serves it: through the models and the converter."""
    return [converter.unstructure(converter.structure(b, Backup)) for b in raw]


def _url(addon: str = ADDON, suffix: str = "") -> str:
    return f"/projects/{PROJECT}/addons/{addon}/backups{suffix}"


async def test_fastapi_pages_handed_on_by_cursor_cover_every_backup(
    mock: MockNorthflank,
) -> None:
    """Following nextCursor from page to page gives every backup once, as camelCase JSON."""
    expected = mock.generate_backups(PROJECT, ADDON, 95)
    served: list[dict[str, Any]] = []
    cursors: list[str | None] = []
    async with _client(mock) as client:
        params: dict[str, Any] = {"per_page": 20}
        while True:
            response = await client.get(_url(), params=params)
            assert 200 == response.status_code
            body = response.json()
            served += body["backups"]
            cursors.append(body["nextCursor"])
            if body["nextCursor"] is None:
                break
            params["cursor"] = body["nextCursor"]

    assert _as_served(expected) == served
    assert [True, True, True, True, False] == [c is not None for c in cursors]


async def test_fastapi_ndjson_streams_every_backup(mock: MockNorthflank) -> None:
    """The NDJSON endpoint streams every backup, one parseable JSON object a line."""
    expected = mock.generate_backups(PROJECT, ADDON, 130)
    async with _client(mock) as client:
        response = await client.get(_url(suffix=".ndjson"), params={"per_page": 50})

    assert (200, "application/x-ndjson") == (
        response.status_code,
        response.headers["content-type"],
    )
    assert _as_served(expected) == [json.loads(line) for line in response.text.splitlines()]


async def test_fastapi_ndjson_of_an_addon_without_backups_is_empty(
    mock: MockNorthflank,
) -> None:
    """An addon with no backups streams an empty 200 body."""
    mock.add_addon(PROJECT, ADDON)
    async with _client(mock) as client:
        response = await client.get(_url(suffix=".ndjson"))

    assert (200, b"") == (response.status_code, response.content)


async def test_fastapi_ndjson_error_after_the_first_page_ends_with_an_error_line(
    mock: MockNorthflank, fake_sleep: FakeSleep
) -> None:
    """A failure past the first page ends the stream with a safe error line."""
    mock.generate_backups(PROJECT, ADDON, 30)
    mock.faults.fail(2, 403)
    async with _client(mock, retry=RetryPolicy(sleep=fake_sleep)) as client:
        response = await client.get(_url(suffix=".ndjson"), params={"per_page": 10})

    lines = [json.loads(line) for line in response.text.splitlines()]
    assert 200 == response.status_code
    assert [b["id"] for b in mock.backups(PROJECT, ADDON)[:10]] == [b["id"] for b in lines[:-1]]
    assert {
        "error": {
            "status": 502,
            "message": "the backup service may not read this from the Northflank API",
        }
    } == lines[-1]


@pytest.mark.parametrize("suffix", ["", ".ndjson"])
async def test_fastapi_unknown_addon_is_404(mock: MockNorthflank, suffix: str) -> None:
    """An addon the API does not know is a 404 on both endpoints."""
    mock.add_addon(PROJECT, ADDON)
    async with _client(mock) as client:
        response = await client.get(_url("no-such-addon", suffix))

    assert (404, {"detail": "no such project or addon"}) == (
        response.status_code,
        response.json(),
    )


async def test_fastapi_wrong_token_is_502_without_details(mock: MockNorthflank) -> None:
    """An upstream 401 is the server's fault: 502, naming neither the token nor the upstream error."""
    mock.generate_backups(PROJECT, ADDON, 3)
    async with _client(mock, token="nf-wrong-secret-token") as client:
        response = await client.get(_url())

    assert (502, {"detail": "the backup service may not read this from the Northflank API"}) == (
        response.status_code,
        response.json(),
    )
    assert "nf-wrong-secret-token" not in response.text
    assert "Unauthenticated" not in response.text


async def test_fastapi_upstream_403_is_502(mock: MockNorthflank) -> None:
    """An upstream 403 is answered 502 with the same safe message."""
    mock.generate_backups(PROJECT, ADDON, 3)
    mock.faults.fail_path(f"/addons/{ADDON}/backups", 403)
    async with _client(mock) as client:
        response = await client.get(_url())

    assert (502, {"detail": "the backup service may not read this from the Northflank API"}) == (
        response.status_code,
        response.json(),
    )


async def test_fastapi_rate_limit_is_503_with_retry_after_rounded_up(
    mock: MockNorthflank, fake_sleep: FakeSleep
) -> None:
    """A 429 asking for a longer wait than max_wait is a 503 whose Retry-After is rounded up."""
    mock.generate_backups(PROJECT, ADDON, 3)
    mock.faults.fail(1, 429, retry_after="119.2")
    async with _client(mock, retry=RetryPolicy(max_wait=5, sleep=fake_sleep)) as client:
        response = await client.get(_url())

    assert (503, "120", []) == (
        response.status_code,
        response.headers.get("retry-after"),
        fake_sleep.waits,
    )


async def test_fastapi_upstream_server_error_is_502(
    mock: MockNorthflank, fake_sleep: FakeSleep
) -> None:
    """A 500 that outlasts the retries is a 502 with a generic message."""
    mock.generate_backups(PROJECT, ADDON, 3)
    mock.faults.fail_path("/backups", 500)
    async with _client(mock, retry=RetryPolicy(max_attempts=2, sleep=fake_sleep)) as client:
        response = await client.get(_url())

    assert (502, {"detail": "the Northflank API failed"}, 2) == (
        response.status_code,
        response.json(),
        len(mock.requests),
    )


async def test_fastapi_unreachable_api_is_502(fake_sleep: FakeSleep) -> None:
    """An API that refuses connections is a 502."""
    async with MockNorthflank() as gone:
        base_url = str(gone.base_url)
    app = fastapi_app.create_app(
        fastapi_app.Settings(
            token="t", base_url=base_url, retry=RetryPolicy(max_attempts=2, sleep=fake_sleep)
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get(_url())

    assert (502, {"detail": "the Northflank API failed"}) == (
        response.status_code,
        response.json(),
    )


async def test_fastapi_foreign_cursor_is_400(mock: MockNorthflank) -> None:
    """A cursor the API refuses is the client's mistake: 400."""
    mock.generate_backups(PROJECT, ADDON, 3)
    async with _client(mock) as client:
        response = await client.get(_url(), params={"cursor": "not-a-cursor"})

    assert 400 == response.status_code


@pytest.mark.parametrize("per_page", ["0", "101", "ten"])
async def test_fastapi_per_page_out_of_range_is_422_without_a_request(
    mock: MockNorthflank, per_page: str
) -> None:
    """per_page outside 1..100 is FastAPI's 422, and the API is not asked."""
    async with _client(mock) as client:
        response = await client.get(_url(), params={"per_page": per_page})

    assert (422, ["query", "per_page"], []) == (
        response.status_code,
        response.json()["detail"][0]["loc"],
        mock.requests,
    )


def _asgi_scope(path: str, query: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }


async def test_fastapi_ndjson_client_disconnect_stops_the_upstream_walk(
    mock: MockNorthflank,
) -> None:
    """A client that leaves after the first lines ends the walk: no request to the API follows."""
    mock.generate_backups(PROJECT, ADDON, 200)  # 100 pages of 2
    app = fastapi_app.create_app(
        fastapi_app.Settings(token=mock.token, base_url=str(mock.base_url))
    )
    gone = asyncio.Event()
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body"):
            gone.set()

    async with app.router.lifespan_context(app):
        await asyncio.wait_for(
            app(_asgi_scope(_url(suffix=".ndjson"), b"per_page=2"), receive, send), TIMEOUT
        )
        after_close = len(mock.requests)
        for _ in range(20):
            await asyncio.sleep(0)

    first_body = next(m["body"] for m in sent if m.get("body"))
    assert [b["id"] for b in mock.backups(PROJECT, ADDON)[:2]] == [
        json.loads(line)["id"] for line in first_body.splitlines()
    ]
    assert after_close <= 3  # the first page, the next one, perhaps its prefetch
    assert after_close == len(mock.requests)


async def test_fastapi_ndjson_disconnect_under_uvicorn_stops_the_upstream_walk(
    mock: MockNorthflank,
) -> None:
    """Served by uvicorn, a client closing the stream after one line ends the upstream walk."""
    uvicorn = pytest.importorskip("uvicorn")
    import aiohttp

    mock.generate_backups(PROJECT, ADDON, 2000)  # 200 pages of 10
    app = fastapi_app.create_app(
        fastapi_app.Settings(token=mock.token, base_url=str(mock.base_url))
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # connections queue up until uvicorn accepts them
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    url = f"http://127.0.0.1:{port}{_url(suffix='.ndjson')}?per_page=10"
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            first = json.loads(await response.content.readline())
    finally:
        # Uvicorn's shutdown waits for the request to end: a stream that went on after
        # the client left would run to its last page first.
        server.should_exit = True
        await asyncio.wait_for(serving, TIMEOUT)
        listener.close()

    assert mock.backups(PROJECT, ADDON)[0]["id"] == first["id"]
    assert len(mock.requests) < 200
