"""Progress reports, and the storage answers a resume must judge: ranges that do not
continue, ranges served in parts, and a body cut after its last byte."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp import web

from northflank_async import DownloadError, NorthflankSession
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, FakeSleep
from tests.download.conftest import BACKUP_ID, SIZE, add_backup
from tests.download.support import Origin, serve_origin

BIG = 6 * 1024 * 1024 + 3


async def test_progress_is_monotonic_and_ends_at_the_total(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """Through a drop and a restart from byte 0, the count never goes back; the last is the total."""
    add_backup(mock, "big", BIG)
    mock.storage.faults.drop_after(3 * 1024 * 1024)
    mock.storage.faults.ignore_ranges()
    calls: list[tuple[int, int | None]] = []
    path = await nf.download_backup(
        PROJECT, ADDON, "big", tmp_path, progress=lambda *call: calls.append(call)
    )
    assert BIG == path.stat().st_size
    assert (BIG, BIG) == calls[-1]
    counts = [done for done, _ in calls]
    assert counts == sorted(counts)
    assert {BIG} == {total for _, total in calls}


async def test_progress_is_called_far_less_often_than_chunks_arrive(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """At most every 0.1 s, plus the final call: a handful for a few MiB on loopback."""
    add_backup(mock, "big", BIG)
    calls: list[tuple[int, int | None]] = []
    chunks = 0
    async for _ in nf.stream_backup(PROJECT, ADDON, "big", progress=lambda *c: calls.append(c)):
        chunks += 1
    assert chunks >= BIG // (256 * 1024)
    assert len(calls) < chunks
    assert (BIG, BIG) == calls[-1]


async def test_a_206_that_does_not_continue_is_read_again_from_the_start(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A Content-Range starting elsewhere than asked: the next request has no Range."""
    content = mock.storage.content(BACKUP_ID)
    answers = 0
    async with serve_origin() as origin:

        async def wrong_range(request: web.Request) -> web.StreamResponse:
            nonlocal answers
            answers += 1
            if answers == 1:
                return await Origin.cut_after(request, content, 100_000)
            if answers == 2:
                headers = {"Content-Range": f"bytes 0-{SIZE - 1}/{SIZE}"}
                return web.Response(status=206, body=content, headers=headers)
            return web.Response(body=content)

        origin.handler = wrong_range
        mock.storage.faults.redirect(origin.url("/b.tar.gz"), times=3)
        path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert content == path.read_bytes()
    assert ["bytes=100000-", None] == [h.get("Range") for h in origin.headers[1:]]


async def test_a_host_that_serves_ranges_in_parts_is_asked_for_the_rest(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A 206 ending before the total is no failure: the next part is asked for at once."""
    content = mock.storage.content(BACKUP_ID)
    part = 100_000
    async with serve_origin() as origin:

        async def in_parts(request: web.Request) -> web.StreamResponse:
            start = int(request.headers.get("Range", "bytes=0-")[6:-1])
            end = min(start + part, SIZE) - 1
            headers = {"Content-Range": f"bytes {start}-{end}/{SIZE}", "ETag": '"v1"'}
            return web.Response(status=206, body=content[start : end + 1], headers=headers)

        origin.handler = in_parts
        mock.storage.faults.redirect(origin.url("/b.tar.gz"), times=4)
        data = b"".join([c async for c in nf.stream_backup(PROJECT, ADDON, BACKUP_ID)])
    assert content == data
    starts = [h.get("Range") for h in origin.headers]
    assert [None, "bytes=100000-", "bytes=200000-", "bytes=300000-"] == starts


async def test_a_body_cut_after_its_last_byte_is_complete(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every byte of config.size arrived before the connection broke: no more requests."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def cut_at_the_end(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(content)
            assert request.transport is not None
            request.transport.close()  # no final chunk: the body never ends cleanly
            return response

        origin.handler = cut_at_the_end
        mock.storage.faults.redirect(origin.url("/b.tar.gz"))
        with caplog.at_level(logging.DEBUG, logger="northflank_async"):
            path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert content == path.read_bytes()
    assert 1 == len(origin.requests)
    assert any("every byte is in although" in r.getMessage() for r in caplog.records)


async def test_a_storage_hosts_retry_after_is_waited(
    mock: MockNorthflank, nf: NorthflankSession, sleeps: FakeSleep
) -> None:
    """A 503 with Retry-After: that wait (not the backoff), then the bytes."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def busy_once(request: web.Request) -> web.StreamResponse:
            if len(origin.requests) == 1:
                return web.Response(status=503, headers={"Retry-After": "2"})
            return web.Response(body=content)

        origin.handler = busy_once
        mock.storage.faults.redirect(origin.url("/b.tar.gz"), times=2)
        data = b"".join([c async for c in nf.stream_backup(PROJECT, ADDON, BACKUP_ID)])
    assert content == data
    assert [2.0] == sleeps.waits


async def test_a_retry_after_past_max_wait_ends_the_download(
    mock: MockNorthflank, nf: NorthflankSession, sleeps: FakeSleep
) -> None:
    """Asked to wait longer than the policy allows: DownloadError at once, no sleep."""
    async with serve_origin() as origin:

        async def busy(request: web.Request) -> web.StreamResponse:
            return web.Response(status=429, headers={"Retry-After": "600"})

        origin.handler = busy
        mock.storage.faults.redirect(origin.url("/b.tar.gz"))
        with pytest.raises(DownloadError, match="asked to wait 600 s") as caught:
            await anext(nf.stream_backup(PROJECT, ADDON, BACKUP_ID))
    assert (429, []) == (caught.value.status, sleeps.waits)


async def test_a_download_takes_no_api_concurrency_slot(mock: MockNorthflank) -> None:
    """With max_concurrency=1, API calls go on while a download holds its connection."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def stall(request: web.Request) -> web.StreamResponse:
            return await origin.stall_after(request, content, 64 * 1024)

        origin.handler = stall
        mock.storage.faults.redirect(origin.url("/b.tar.gz"))
        async with NorthflankSession(mock.token, base_url=mock.base_url, max_concurrency=1) as nf:
            stream = nf.stream_backup(PROJECT, ADDON, BACKUP_ID)
            first = await asyncio.wait_for(anext(stream), 5)  # the body stalls after this
            backup = await asyncio.wait_for(nf.get_backup(PROJECT, ADDON, BACKUP_ID), 5)
            await stream.aclose()
    assert content.startswith(first)
    assert BACKUP_ID == backup.id
