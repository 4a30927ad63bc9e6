"""``stream_backup`` over loopback HTTP: chunks in order, resumed or re-read, closed early."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

import pytest
from aiohttp import web

from northflank_async import ConflictError, DownloadError, NorthflankSession
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, wait_until
from tests.download.conftest import BACKUP_ID, SIZE, add_backup
from tests.download.support import serve_origin


async def collect(nf: NorthflankSession, backup_id: str = BACKUP_ID) -> bytes:
    """Every chunk of the backup, joined."""
    return b"".join([chunk async for chunk in nf.stream_backup(PROJECT, ADDON, backup_id)])


async def drain(nf: NorthflankSession, into: bytearray) -> None:
    """Append every chunk of the backup to ``into``, as they come."""
    async for chunk in nf.stream_backup(PROJECT, ADDON, BACKUP_ID):
        into += chunk


async def test_a_stream_yields_every_byte_in_order(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """The chunks add up to the object; nothing is requested before the iteration."""
    stream = nf.stream_backup(PROJECT, ADDON, BACKUP_ID)
    assert [] == mock.requests
    async with aclosing(stream):
        chunks = [chunk async for chunk in stream]
    assert all(0 < len(chunk) <= 256 * 1024 for chunk in chunks)
    assert mock.storage.content(BACKUP_ID) == b"".join(chunks)
    assert 2 == len(mock.requests)


async def test_a_stream_resumes_after_a_drop(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """The second storage request asks for the rest; no byte is repeated or missing."""
    mock.storage.faults.drop_after(123_457)
    assert mock.storage.content(BACKUP_ID) == await collect(nf)
    assert "bytes=123457-" == mock.storage.requests[1].headers["Range"]


async def test_a_stream_skips_what_it_delivered_when_ranges_are_ignored(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Chunks already yielded cannot be taken back: the new body's first bytes are dropped."""
    mock.storage.faults.drop_after(100_000, times=2)
    mock.storage.faults.ignore_ranges()
    assert mock.storage.content(BACKUP_ID) == await collect(nf)
    assert 3 == len(mock.storage.requests)


async def test_a_stream_refuses_an_object_that_changed(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A whole new body with another ETag after a drop: DownloadError, not a spliced stream."""
    content = mock.storage.content(BACKUP_ID)
    answers = 0
    async with serve_origin() as origin:

        async def changing(request: web.Request) -> web.StreamResponse:
            nonlocal answers
            answers += 1
            if answers == 1:
                return await origin.cut_after(request, content, 100_000, etag='"v1"')
            return web.Response(body=content, headers={"ETag": '"v2"'})

        origin.handler = changing
        mock.storage.faults.redirect(origin.url("/b.tar.gz"), times=2)
        received = bytearray()
        with pytest.raises(DownloadError, match="the object changed during the download"):
            await drain(nf, received)
    assert content[:100_000] == bytes(received)
    assert ("bytes=100000-", '"v1"') == (
        origin.headers[1]["Range"],
        origin.headers[1]["If-Range"],
    )


async def test_closing_a_stream_early_releases_the_connection(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """``break`` inside ``aclosing``: the storage host sees the client hang up."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def stall(request: web.Request) -> web.StreamResponse:
            return await origin.stall_after(request, content, 64 * 1024)

        origin.handler = stall
        mock.storage.faults.redirect(origin.url("/b.tar.gz"))
        async with aclosing(nf.stream_backup(PROJECT, ADDON, BACKUP_ID)) as stream:
            async for chunk in stream:
                assert content.startswith(chunk)
                break
        await asyncio.wait_for(origin.gone.wait(), 5)
    assert origin.gone.is_set()


async def test_aclose_before_the_end_stops_the_requests(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """After ``aclose()`` no more storage requests are made, even with a drop planned."""
    mock.storage.faults.drop_after(100_000)
    stream = nf.stream_backup(PROJECT, ADDON, BACKUP_ID)
    first = await anext(stream)
    await stream.aclose()
    assert content_start(mock, len(first)) == first
    await wait_until(lambda: len(mock.storage.requests) == 1)
    assert 1 == len(mock.storage.requests)


def content_start(mock: MockNorthflank, size: int) -> bytes:
    """The first ``size`` bytes of the backup's object."""
    return mock.storage.content(BACKUP_ID, 0, size)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"backup_id": ""}, "backup_id must be a non-empty string"),
        ({"backup_id": ".."}, "would change the route"),
        ({"project_id": None}, "project_id must be a non-empty string"),
        ({"progress": "print"}, "progress must be a callable or None"),
        ({"progress": asyncio.sleep}, "not an async function"),
    ],
)
def test_a_stream_checks_its_arguments_at_once(
    mock: MockNorthflank, nf: NorthflankSession, arguments: dict[str, Any], message: str
) -> None:
    """ValueError when called, before iterating and before any request."""
    call: dict[str, Any] = {"project_id": PROJECT, "addon_id": ADDON, "backup_id": BACKUP_ID}
    call.update(arguments)
    with pytest.raises(ValueError, match=message):
        nf.stream_backup(**call)
    assert [] == mock.requests


async def test_a_stream_of_a_backup_not_completed_is_a_conflict(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """The API's 409 for the link ends the stream before any byte."""
    add_backup(mock, "running", 4096, status="scheduled")
    with pytest.raises(ConflictError):
        await collect(nf, "running")
    assert [] == mock.storage.requests


async def test_a_stream_checks_the_total_after_the_last_chunk(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A chunked answer short of config.size: every chunk first, then DownloadError."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def short(request: web.Request) -> web.StreamResponse:
            return await origin.chunked(request, content[:-1])

        origin.handler = short
        mock.storage.faults.redirect(origin.url("/b.tar.gz"))
        received = bytearray()
        with pytest.raises(DownloadError) as caught:
            await drain(nf, received)
    assert content[:-1] == bytes(received)
    assert str(caught.value).endswith(f"expected {SIZE:,} (config.size)")
