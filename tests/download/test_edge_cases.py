"""Rarer turns of a download: odd API and storage answers, a stalled body, a filesystem
without hard links, and a cancel while the file is synced to disk."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import IO

import pytest
from aiohttp import web

from northflank_async import (
    DownloadError,
    NorthflankSession,
    ResponseValidationError,
    RetryPolicy,
    _download_file,
)
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, FakeSleep, wait_until
from tests.download.conftest import BACKUP_ID, SIZE
from tests.download.support import leftovers, serve_origin


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"backup": {}}, "the answer has no data object"),
        ({"data": {"id": BACKUP_ID}}, "data"),
    ],
)
async def test_a_backup_the_api_describes_badly_is_refused(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path, body: object, message: str
) -> None:
    """ResponseValidationError from the backup's read; no link asked, nothing written."""
    mock.faults.fail(1, 200, body=json.dumps(body), content_type="application/json")
    with pytest.raises(ResponseValidationError, match=message):
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert (1, []) == (len(mock.requests), leftovers(tmp_path))


async def test_a_redirect_without_a_location_ends_the_download(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A 302 that says nowhere: DownloadError with the status."""
    async with serve_origin() as origin:

        async def nowhere(request: web.Request) -> web.StreamResponse:
            return web.Response(status=302)

        origin.handler = nowhere
        mock.storage.faults.redirect(origin.url("/b.tar.gz"))
        with pytest.raises(DownloadError, match="a 302 redirect to no usable URL") as caught:
            await anext(nf.stream_backup(PROJECT, ADDON, BACKUP_ID))
    assert 302 == caught.value.status


async def test_a_206_whose_length_contradicts_its_range_is_refused(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Content-Length and Content-Range must agree before a byte is taken."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def confused(request: web.Request) -> web.StreamResponse:
            headers = {"Content-Range": f"bytes 0-{SIZE - 1}/{SIZE}"}
            return web.Response(status=206, body=content[:-10], headers=headers)

        origin.handler = confused
        mock.storage.faults.redirect(origin.url("/b.tar.gz"))
        with pytest.raises(DownloadError, match=f"a 206 announces {SIZE - 10:,} bytes"):
            await anext(nf.stream_backup(PROJECT, ADDON, BACKUP_ID))


async def test_a_body_that_stalls_is_resumed_after_the_read_timeout(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """No byte for the session's timeout: the next request asks for the rest."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def stall_then_serve(request: web.Request) -> web.StreamResponse:
            if len(origin.requests) == 1:
                return await origin.stall_after(request, content, 100_000)
            headers = {"Content-Range": f"bytes 100000-{SIZE - 1}/{SIZE}"}
            return web.Response(status=206, body=content[100_000:], headers=headers)

        origin.handler = stall_then_serve
        mock.storage.faults.redirect(origin.url("/b.tar.gz"), times=2)
        retry = RetryPolicy(sleep=FakeSleep())
        async with NorthflankSession(
            mock.token, base_url=mock.base_url, retry=retry, timeout=0.3
        ) as nf:
            path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert content == path.read_bytes()
    assert "bytes=100000-" == origin.headers[1]["Range"]


async def fixed(chunks: list[bytes]) -> AsyncGenerator[bytes, None]:
    """These chunks, as a download would give them."""
    for chunk in chunks:
        yield chunk


def body(chunks: list[bytes]) -> Callable[[Callable[[], None]], AsyncGenerator[bytes, None]]:
    """A ``chunks`` argument of ``save`` giving these chunks, never rewinding."""
    return lambda _rewind: fixed(chunks)


async def test_without_hard_links_the_file_is_still_moved_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``os.link`` unsupported: checked, then renamed; a file in the way is still refused."""

    def no_links(source: object, target: object) -> None:
        raise PermissionError("this filesystem has no hard links")

    monkeypatch.setattr(os, "link", no_links)
    final = tmp_path / "b.tar.gz"
    assert final == await _download_file.save(final, body([b"ab", b"cd"]), overwrite=False)
    assert b"abcd" == final.read_bytes()
    with pytest.raises(FileExistsError):
        await _download_file.save(final, body([b"new"]), overwrite=False)
    assert (b"abcd", ["b.tar.gz"]) == (final.read_bytes(), leftovers(tmp_path))


async def test_cancelled_while_syncing_the_file_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync thread owns the file until it ends; then the temporary file goes."""
    syncing = threading.Event()
    release = threading.Event()
    real_sync = _download_file._sync_and_close

    def slow_sync(file: IO[bytes]) -> None:
        syncing.set()
        release.wait(5)
        real_sync(file)

    monkeypatch.setattr(_download_file, "_sync_and_close", slow_sync)
    final = tmp_path / "b.tar.gz"
    task = asyncio.create_task(_download_file.save(final, body([b"data"]), overwrite=False))
    await asyncio.to_thread(syncing.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 1 == len(leftovers(tmp_path))  # still the thread's
    release.set()
    await wait_until(lambda: not leftovers(tmp_path))
    assert not final.exists()


async def test_more_bytes_than_the_backup_holds_end_the_download(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A chunked body (no length announced) running past config.size: DownloadError, no file."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def too_long(request: web.Request) -> web.StreamResponse:
            return await origin.chunked(request, content + b"extra bytes")

        origin.handler = too_long
        mock.storage.faults.redirect(origin.url("/b.tar.gz"))
        with pytest.raises(DownloadError, match=f"more than the {SIZE:,} \\(config.size\\)"):
            await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert [] == leftovers(tmp_path)


async def test_a_drop_after_the_last_byte_needs_no_other_request(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """Every byte arrived, then the connection broke: the download is complete as it is."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def cut_at_the_end(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse()
            response.enable_chunked_encoding()  # the end of a chunked body never comes
            await response.prepare(request)
            await response.write(content)
            assert request.transport is not None
            request.transport.close()
            return response

        origin.handler = cut_at_the_end
        mock.storage.faults.redirect(origin.url("/b.tar.gz"))
        path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert content == path.read_bytes()
    assert 1 == len(origin.requests)
