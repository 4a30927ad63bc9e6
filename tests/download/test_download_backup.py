"""``download_backup`` over loopback HTTP: the file, resumes and restarts, verification,
and nothing left behind whatever ends a download."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from pathlib import Path

import pytest
from aiohttp import web

from northflank_async import (
    ConflictError,
    DownloadError,
    NorthflankSession,
    SessionClosedError,
    _download_file,
)
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, FakeSleep
from tests.download.conftest import BACKUP_ID, SIZE, add_backup
from tests.download.support import api_paths, leftovers, serve_origin

FILE = f"{BACKUP_ID}.tar.gz"


async def test_a_download_writes_the_object_byte_for_byte(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """Two API requests (the backup, its link), one storage request, a 0600 file, no leftovers."""
    path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path / "copy.tar.gz")
    assert tmp_path / "copy.tar.gz" == path
    assert mock.storage.content(BACKUP_ID) == path.read_bytes()
    assert SIZE == path.stat().st_size
    assert 0o600 == stat.S_IMODE(path.stat().st_mode)
    assert [BACKUP_ID, f"{BACKUP_ID}/download-link"] == api_paths(mock)
    assert 1 == len(mock.storage.requests)
    assert ["copy.tar.gz"] == leftovers(tmp_path)


async def test_a_drop_mid_body_is_resumed_from_the_last_byte(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path, sleeps: FakeSleep
) -> None:
    """The second request asks for the rest only (Range and If-Range); every byte is in order."""
    mock.storage.faults.drop_after(100_000)
    path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert mock.storage.content(BACKUP_ID) == path.read_bytes()
    first, second = mock.storage.requests
    assert "Range" not in first.headers
    assert "bytes=100000-" == second.headers["Range"]
    assert second.headers["If-Range"].startswith('"')
    assert 1 == len(sleeps.waits)  # one backoff, slept through the policy's sleep
    assert 2 == len(mock.requests)  # a resume asks the API for nothing


async def test_a_host_that_ignores_ranges_is_read_again_from_the_start(
    mock: MockNorthflank,
    nf: NorthflankSession,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 200 to a Range request: what was written is discarded, the file is still exact."""
    mock.storage.faults.drop_after(200_000)
    mock.storage.faults.ignore_ranges()
    with caplog.at_level(logging.WARNING, logger="northflank_async"):
        path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert mock.storage.content(BACKUP_ID) == path.read_bytes()
    assert "bytes=200000-" == mock.storage.requests[1].headers["Range"]
    assert any("discarding the 200,000 bytes" in r.getMessage() for r in caplog.records)
    assert [FILE] == leftovers(tmp_path)


async def test_a_length_short_of_config_size_is_refused_before_reading(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A Content-Length that disagrees with config.size ends the download at once."""
    mock.storage.faults.wrong_length(-24)
    with pytest.raises(DownloadError) as caught:
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    error = caught.value
    assert (
        f"backup {BACKUP_ID} from 127.0.0.1/northflank-backups/{PROJECT}/{ADDON}/{FILE}: the "
        f"storage host announces {SIZE - 24:,} bytes (Content-Length) but the backup's "
        f"config.size is {SIZE:,}; nothing was written"
    ) == str(error)
    assert (SIZE, 0, 200) == (error.expected, error.received, error.status)
    assert 1 == len(mock.storage.requests)
    assert [] == leftovers(tmp_path)


async def test_an_answer_that_ends_short_names_both_counts(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A clean chunked answer shorter than config.size: DownloadError with both counts."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def short(request: web.Request) -> web.StreamResponse:
            return await origin.chunked(request, content[:-24])

        origin.handler = short
        mock.storage.faults.redirect(origin.url("/short.tar.gz"))
        with pytest.raises(DownloadError) as caught:
            await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert str(caught.value).endswith(
        f": received {SIZE - 24:,} bytes, expected {SIZE:,} (config.size); nothing was written"
    )
    assert (SIZE, SIZE - 24) == (caught.value.expected, caught.value.received)
    assert [] == leftovers(tmp_path)


async def test_a_length_that_keeps_overstating_spends_the_attempts(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """With no config.size, a host that announces more than it sends fails after 4 attempts."""
    add_backup(mock, "unsized", 0)  # config.size 0: only the host's word counts
    mock.storage.faults.wrong_length(100, times=None)
    with pytest.raises(DownloadError, match="gave up after 4 attempts") as caught:
        await nf.download_backup(PROJECT, ADDON, "unsized", tmp_path)
    assert 4 == len(mock.storage.requests)
    assert caught.value.expected == mock.storage.size("unsized") + 100
    assert [] == leftovers(tmp_path)


async def test_a_length_that_overstates_config_size_is_refused_at_once(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """With config.size known, an overstated length is caught before any byte is read."""
    mock.storage.faults.wrong_length(100, times=None)
    with pytest.raises(DownloadError, match=f"announces {SIZE + 100:,} bytes"):
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert 1 == len(mock.storage.requests)


async def test_a_backup_of_unknown_size_takes_what_the_host_announces(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """config.size 0: the Content-Length is the only check, and it holds."""
    add_backup(mock, "unsized", 0)
    mock.storage.faults.drop_after(10_000)
    path = await nf.download_backup(PROJECT, ADDON, "unsized", tmp_path)
    assert mock.storage.content("unsized") == path.read_bytes()


async def test_drops_past_the_retry_policy_end_the_download(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """Four drops with the default four attempts: DownloadError with the counts, no file."""
    mock.storage.faults.drop_after(50_000, times=4)
    with pytest.raises(DownloadError) as caught:
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    message = str(caught.value)
    assert "gave up after 4 attempts (ClientPayloadError" in message
    assert f"received 200,000 bytes of {SIZE:,} (config.size); nothing was written" in message
    assert (SIZE, 200_000) == (caught.value.expected, caught.value.received)
    assert 4 == len(mock.storage.requests)
    assert [] == leftovers(tmp_path)


async def test_a_storage_error_is_retried(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path, sleeps: FakeSleep
) -> None:
    """A 503 from the storage host is worth another try, after a backoff."""
    mock.storage.faults.fail(503)
    path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert mock.storage.content(BACKUP_ID) == path.read_bytes()
    assert 2 == len(mock.storage.requests)
    assert 1 == len(sleeps.waits)


async def test_a_404_from_storage_ends_the_download_at_once(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """Another 4xx is final: DownloadError with its status, one storage request."""
    mock.storage.faults.fail(404)
    with pytest.raises(DownloadError, match="the storage host answered 404") as caught:
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert 404 == caught.value.status
    assert 1 == len(mock.storage.requests)
    assert [] == leftovers(tmp_path)


async def test_an_existing_file_needs_overwrite_and_is_checked_before_any_request(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """FileExistsError and the old file untouched; with overwrite=True, it is replaced."""
    target = tmp_path / "copy"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, target)
    assert ([], [], b"old") == (mock.requests, mock.storage.requests, target.read_bytes())
    await nf.download_backup(PROJECT, ADDON, BACKUP_ID, target, overwrite=True)
    assert mock.storage.content(BACKUP_ID) == target.read_bytes()
    assert ["copy"] == leftovers(tmp_path)


async def test_a_missing_directory_is_refused_before_any_request(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """FileNotFoundError, and no request at all."""
    with pytest.raises(FileNotFoundError):
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path / "nope" / "copy")
    assert ([], []) == (mock.requests, mock.storage.requests)


async def test_a_directory_destination_names_the_file_after_the_backup(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """The backup id plus the extension of the link's file: ``.tar.gz``, ``.dump.gz``."""
    add_backup(mock, "dumped", 4096, source="liveInstance")
    assert tmp_path / FILE == await nf.download_backup(PROJECT, ADDON, BACKUP_ID, str(tmp_path))
    assert tmp_path / "dumped.dump.gz" == await nf.download_backup(
        PROJECT, ADDON, "dumped", tmp_path
    )
    assert [FILE, "dumped.dump.gz"] == leftovers(tmp_path)


async def test_a_name_taken_in_the_directory_is_refused_before_the_bytes(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """Known only once the link is: FileExistsError before any storage request."""
    (tmp_path / FILE).write_bytes(b"old")
    with pytest.raises(FileExistsError):
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert ([], b"old") == (mock.storage.requests, (tmp_path / FILE).read_bytes())
    await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path, overwrite=True)
    assert mock.storage.content(BACKUP_ID) == (tmp_path / FILE).read_bytes()


async def test_a_backup_that_is_not_completed_is_the_apis_conflict(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """The API's 409 for the link surfaces as ConflictError; the storage is never asked."""
    add_backup(mock, "running", 4096, status="in-progress")
    with pytest.raises(ConflictError):
        await nf.download_backup(PROJECT, ADDON, "running", tmp_path)
    assert ([], []) == (mock.storage.requests, leftovers(tmp_path))


async def test_a_failing_progress_callback_ends_the_download_cleanly(
    nf: NorthflankSession, tmp_path: Path
) -> None:
    """Its exception goes to the caller; no file, no temporary file."""

    def progress(done: int, total: int | None) -> None:
        raise RuntimeError("the screen went away")

    with pytest.raises(RuntimeError, match="the screen went away"):
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path, progress=progress)
    assert [] == leftovers(tmp_path)


async def test_cancelling_mid_transfer_leaves_nothing_behind(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """Cancelled while the storage host stalls mid-body: no file, no ``.part``."""
    content = mock.storage.content(BACKUP_ID)
    started = asyncio.Event()
    async with serve_origin() as origin:

        async def stall(request: web.Request) -> web.StreamResponse:
            return await origin.stall_after(request, content, 100_000)

        origin.handler = stall
        mock.storage.faults.redirect(origin.url("/stall.tar.gz"))
        task = asyncio.create_task(
            nf.download_backup(
                PROJECT, ADDON, BACKUP_ID, tmp_path, progress=lambda *_: started.set()
            )
        )
        await started.wait()
        assert any(name.endswith(".part") for name in leftovers(tmp_path))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [] == leftovers(tmp_path)


async def test_closing_the_session_mid_download_ends_it_cleanly(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """SessionClosedError naming host and path only, no file, no ``.part``."""
    content = mock.storage.content(BACKUP_ID)
    started = asyncio.Event()
    async with serve_origin() as origin:

        async def stall(request: web.Request) -> web.StreamResponse:
            return await origin.stall_after(request, content, 100_000)

        origin.handler = stall
        mock.storage.faults.redirect(origin.url("/stall.tar.gz"))
        task = asyncio.create_task(
            nf.download_backup(
                PROJECT, ADDON, BACKUP_ID, tmp_path, progress=lambda *_: started.set()
            )
        )
        await started.wait()
        await nf.close()
        with pytest.raises(SessionClosedError) as caught:
            await task
    assert "mid-download" in str(caught.value)
    assert "?" not in str(caught.value)
    assert [] == leftovers(tmp_path)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"backup_id": ""}, "backup_id must be a non-empty string"),
        ({"addon_id": "%2e%2e"}, "would change the route"),
        ({"overwrite": "yes"}, "overwrite must be True or False"),
        ({"progress": 3}, "progress must be a callable or None"),
        ({"destination": ""}, "destination must be a non-empty str path"),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    mock: MockNorthflank,
    nf: NorthflankSession,
    tmp_path: Path,
    arguments: dict[str, object],
    message: str,
) -> None:
    """ValueError, and neither the API nor the storage host is asked anything."""
    call: dict[str, object] = {
        "project_id": PROJECT,
        "addon_id": ADDON,
        "backup_id": BACKUP_ID,
        "destination": tmp_path,
    }
    call.update(arguments)
    with pytest.raises(ValueError, match=message):
        await nf.download_backup(**call)  # type: ignore[arg-type]  # deliberately bad types
    assert ([], [], []) == (mock.requests, mock.storage.requests, leftovers(tmp_path))


async def test_the_file_is_synced_to_disk_as_it_grows(
    mock: MockNorthflank,
    nf: NorthflankSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every SYNC_EVERY bytes a sync runs in a thread while the bytes go on; the file is exact."""
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(_download_file, "SYNC_EVERY", 64 * 1024)
    monkeypatch.setattr(os, "fsync", fsync)
    path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert mock.storage.content(BACKUP_ID) == path.read_bytes()
    assert len(synced) >= 2  # at least one sync on the way, and the last one
    assert SIZE == synced[-2]  # the file whole when synced at the end (then the directory)
    assert any(size < SIZE for size in synced)


async def test_a_failed_sync_on_the_way_fails_the_download_and_leaves_nothing(
    mock: MockNorthflank,
    nf: NorthflankSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A disk that cannot take the bytes (an fsync's OSError) ends the download, cleaned up."""

    def fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_download_file, "SYNC_EVERY", 16 * 1024)
    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="No space left on device"):
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert [] == leftovers(tmp_path)
