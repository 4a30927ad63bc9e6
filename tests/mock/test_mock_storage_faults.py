"""The storage origin's faults, its memory while streaming, and its shutdown, over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient
from yarl import URL

from northflank_async.testing import MockNorthflank

from .storage_support import SIZE, add_backup, get_link, read_until_cut
from .support import filled_mock


@pytest.fixture
async def started() -> AsyncIterator[MockNorthflank]:
    """A started mock (API and storage) with the 120 generated backups and ``backup-dl``."""
    mock = filled_mock()
    add_backup(mock)
    async with mock:
        yield mock


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain session with no default headers, as a download client uses for links."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def link(started: MockNorthflank, session: aiohttp.ClientSession) -> str:
    """A download link for ``backup-dl`` (300 000 bytes)."""
    return await get_link(session, started)


async def download(
    session: aiohttp.ClientSession, link: str, **headers: str
) -> tuple[int, dict[str, str], bytes, bool]:
    """(status, headers, every byte received, whether the body was cut) of a GET."""
    async with session.get(link, headers=headers, allow_redirects=False) as resp:
        received, cut = await read_until_cut(resp)
        return resp.status, {k.lower(): v for k, v in resp.headers.items()}, received, cut


def content(mock: MockNorthflank, start: int = 0, end: int | None = None) -> bytes:
    """The bytes of ``backup-dl``, as the storage serves them."""
    return mock.storage.content("backup-dl", start, end)


# ------------------------------------------------------------------------ drop_after


@pytest.mark.parametrize(
    ("nbytes", "headers", "status", "start"),
    [(1000, {}, 200, 0), (0, {}, 200, 0), (70_000, {"Range": "bytes=1000-"}, 206, 1000)],
)
async def test_drop_after_cuts_the_body(
    started: MockNorthflank,
    session: aiohttp.ClientSession,
    link: str,
    nbytes: int,
    headers: dict[str, str],
    status: int,
    start: int,
) -> None:
    """``drop_after(n)`` sends the true headers and n bytes, then cuts; the next GET is whole."""
    started.storage.faults.drop_after(nbytes)
    got_status, got_headers, received, cut = await download(session, link, **headers)
    assert (status, str(SIZE - start), content(started, start, start + nbytes), True) == (
        got_status,
        got_headers["content-length"],
        received,
        cut,
    )
    status, _, received, cut = await download(session, link)
    assert (200, content(started), False) == (status, received, cut)


async def test_drop_after_past_the_end_sends_everything(
    started: MockNorthflank, session: aiohttp.ClientSession, link: str
) -> None:
    """``drop_after`` with more bytes than the body sends it whole, then closes the connection."""
    started.storage.faults.drop_after(SIZE, times=2)
    for _ in range(2):
        status, _, received, cut = await download(session, link)
        assert (200, content(started), False) == (status, received, cut)


# ----------------------------------------------------------------------- wrong_length


@pytest.mark.parametrize(
    ("headers", "status", "start", "end", "content_range"),
    [
        ({}, 200, 0, SIZE, None),
        ({"Range": "bytes=1000-1999"}, 206, 1000, 2000, f"bytes 1000-2099/{SIZE + 100}"),
    ],
)
async def test_wrong_length_longer_leaves_the_body_short(
    started: MockNorthflank,
    session: aiohttp.ClientSession,
    link: str,
    headers: dict[str, str],
    status: int,
    start: int,
    end: int,
    content_range: str | None,
) -> None:
    """``wrong_length(+d)`` announces d bytes more, sends the true bytes, then cuts."""
    started.storage.faults.wrong_length(100)
    got_status, got_headers, received, cut = await download(session, link, **headers)
    assert (status, str(end - start + 100), content_range, content(started, start, end), True) == (
        got_status,
        got_headers["content-length"],
        got_headers.get("content-range"),
        received,
        cut,
    )


@pytest.mark.parametrize(
    ("headers", "status", "start", "end", "content_range"),
    [
        ({}, 200, 0, SIZE - 100, None),
        ({"Range": "bytes=1000-1999"}, 206, 1000, 1900, f"bytes 1000-1899/{SIZE - 100}"),
    ],
)
async def test_wrong_length_shorter_ends_cleanly_short(
    started: MockNorthflank,
    session: aiohttp.ClientSession,
    link: str,
    headers: dict[str, str],
    status: int,
    start: int,
    end: int,
    content_range: str | None,
) -> None:
    """``wrong_length(-d)`` announces and sends d bytes fewer, and the answer ends cleanly."""
    started.storage.faults.wrong_length(-100)
    got_status, got_headers, received, cut = await download(session, link, **headers)
    assert (status, str(end - start), content_range, content(started, start, end), False) == (
        got_status,
        got_headers["content-length"],
        got_headers.get("content-range"),
        received,
        cut,
    )


async def test_wrong_length_every_time_until_cleared(
    started: MockNorthflank, session: aiohttp.ClientSession, link: str
) -> None:
    """``times=None`` bends every GET from now on; ``clear()`` ends it."""
    started.storage.faults.wrong_length(-SIZE - 5, times=None)
    for _ in range(3):
        status, headers, received, cut = await download(session, link)
        assert (200, "0", b"", False) == (status, headers["content-length"], received, cut)
    started.storage.faults.clear()
    assert content(started) == (await download(session, link))[2]


# ---------------------------------------------------------------------- ignore_ranges


async def test_ignore_ranges_counts_range_requests_only(
    started: MockNorthflank, session: aiohttp.ClientSession, link: str
) -> None:
    """``ignore_ranges(times=1)`` answers the next request with a Range 200 and the whole object."""
    started.storage.faults.ignore_ranges(times=1)
    assert (200, content(started)) == (await download(session, link))[::2]
    status, headers, received, _ = await download(session, link, Range="bytes=10-19")
    assert (200, None, content(started)) == (status, headers.get("content-range"), received)
    assert (206, content(started, 10, 20)) == (await download(session, link, Range="bytes=10-19"))[
        ::2
    ]


async def test_ignore_ranges_by_default_lasts(
    started: MockNorthflank, session: aiohttp.ClientSession, link: str
) -> None:
    """Without ``times`` every range is ignored, one past the end too, and with another fault."""
    started.storage.faults.ignore_ranges()
    for header in ("bytes=10-19", f"bytes={SIZE}-"):
        assert (200, content(started)) == (await download(session, link, Range=header))[::2]
    started.storage.faults.drop_after(5)
    status, _, received, cut = await download(session, link, Range="bytes=100-")
    assert (200, content(started, 0, 5), True) == (status, received, cut)


# ----------------------------------------------------------------------- fail, redirect


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (503, "ServiceUnavailable"),
        (500, "InternalError"),
        (429, "SlowDown"),
        (404, "InjectedFault"),
    ],
)
async def test_fail_answers_an_xml_error(
    started: MockNorthflank, session: aiohttp.ClientSession, link: str, status: int, code: str
) -> None:
    """``fail(status, times=2)`` answers the next two GETs that status with GCS's XML error."""
    started.storage.faults.fail(status, times=2)
    for _ in range(2):
        got_status, headers, body, _ = await download(session, link)
        assert (status, "application/xml; charset=UTF-8") == (got_status, headers["content-type"])
        assert f"<Code>{code}</Code>" in body.decode()
    assert 200 == (await download(session, link))[0]


@pytest.mark.parametrize(("kwargs", "status"), [({}, 302), ({"status": 307, "times": 1}, 307)])
async def test_redirect(
    started: MockNorthflank,
    session: aiohttp.ClientSession,
    link: str,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    """``redirect(location)`` answers the redirect (302 unless told) to that location, once."""
    started.storage.faults.redirect("http://127.0.0.1:9/elsewhere", **kwargs)
    got_status, headers, _, _ = await download(session, link)
    assert (status, "http://127.0.0.1:9/elsewhere") == (got_status, headers["location"])
    assert 200 == (await download(session, link))[0]


async def test_only_gets_of_the_bytes_take_faults(
    started: MockNorthflank, session: aiohttp.ClientSession, link: str
) -> None:
    """HEAD, refused links and 416s take no fault: the next GET of the bytes does."""
    started.storage.faults.fail(503)
    async with session.head(link) as resp:
        assert 200 == resp.status
    assert 403 == (await download(session, link.replace("Signature=", "Signature=0")))[0]
    assert 416 == (await download(session, link, Range=f"bytes={SIZE}-"))[0]
    assert 503 == (await download(session, link))[0]
    assert 200 == (await download(session, link))[0]


async def test_an_answer_fault_comes_before_body_faults(
    started: MockNorthflank, session: aiohttp.ClientSession, link: str
) -> None:
    """A GET takes a planned ``fail`` alone; the body faults wait for the next GET."""
    started.storage.faults.drop_after(7)
    started.storage.faults.fail(502)
    assert 502 == (await download(session, link))[0]
    assert (content(started, 0, 7), True) == (await download(session, link))[2:]


@pytest.mark.parametrize(
    ("plan", "error"),
    [
        (lambda f: f.drop_after(-1), ValueError),
        (lambda f: f.drop_after(1.5), TypeError),
        (lambda f: f.drop_after(1, times=0), ValueError),
        (lambda f: f.drop_after(1, times=None), ValueError),
        (lambda f: f.wrong_length(0), ValueError),
        (lambda f: f.wrong_length(True), TypeError),
        (lambda f: f.ignore_ranges(times=-1), ValueError),
        (lambda f: f.fail(200), ValueError),
        (lambda f: f.fail(503, times=True), ValueError),
        (lambda f: f.redirect("http://x", status=200), ValueError),
        (lambda f: f.redirect(""), ValueError),
    ],
)
def test_fault_arguments_are_checked(plan: Callable[[Any], None], error: type[Exception]) -> None:
    """A fault that cannot be carried out is refused when planned."""
    faults = MockNorthflank().storage.faults
    with pytest.raises(error):
        plan(faults)


# ------------------------------------------------------------------ memory, shutdown


async def test_a_large_object_streams_in_bounded_memory(session: aiohttp.ClientSession) -> None:
    """Serving 64 MiB never holds more than a few MiB: the body is made as it is sent."""
    mock = filled_mock()
    size = 64 << 20
    add_backup(mock, size=str(size))
    async with mock:
        link = await get_link(session, mock)
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            received = 0
            async with session.get(link) as resp:
                async for chunk in resp.content.iter_chunked(1 << 16):
                    received += len(chunk)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert size == received
    assert peak - baseline < 8 << 20  # loose (about 1 MiB here): the object is 64 MiB


@pytest.mark.parametrize("plan", ["none", "drop_after", "wrong_length"])
async def test_close_does_not_wait_for_a_stalled_client(
    session: aiohttp.ClientSession, plan: str
) -> None:
    """``close()`` returns promptly while a client has stopped reading mid-body; the body is cut."""
    mock = filled_mock()
    add_backup(mock, size=str(64 << 20))
    if plan == "drop_after":
        mock.storage.faults.drop_after(32 << 20)
    elif plan == "wrong_length":
        mock.storage.faults.wrong_length(1)
    await mock.start()
    link = await get_link(session, mock)
    async with session.get(link) as resp:
        assert 1 << 16 == len(await resp.content.readexactly(1 << 16))
        await asyncio.sleep(0.2)  # the server's writes back up: it waits for the client
        async with asyncio.timeout(5):  # not aiohttp's 5 s shutdown timeout, nor forever
            await mock.close()
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    assert not mock.storage.started


async def test_close_cuts_a_connection_left_to_close(session: aiohttp.ClientSession) -> None:
    """A cut body whose last bytes the client never reads does not hold up ``close()``."""
    mock = filled_mock()
    add_backup(mock)
    mock.storage.faults.drop_after(SIZE - 1)
    await mock.start()
    link = await get_link(session, mock)
    async with session.get(link) as resp:
        assert b"" != await resp.content.readexactly(10)
        await asyncio.sleep(0.2)
        async with asyncio.timeout(5):
            await mock.close()


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[URL]:
    """Serve ``app`` on a free loopback port as aiohttp does by default (no handler
    cancellation: a handler learns of a lost client when it writes)."""
    runner = web.AppRunner(app, shutdown_timeout=30.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield URL.build(scheme="http", host="127.0.0.1", port=int(runner.addresses[0][1]))
    finally:
        async with asyncio.timeout(5):  # well before shutdown_timeout: the body was cut
            await runner.cleanup()


async def test_make_app_served_elsewhere_shuts_down_under_a_stalled_client(
    session: aiohttp.ClientSession,
) -> None:
    """``make_app()`` on a server of one's own closes promptly under a client that stopped reading."""
    mock = filled_mock()
    add_backup(mock, size=str(64 << 20))
    async with mock:
        link = URL(await get_link(session, mock))
        async with serve(mock.storage.make_app()) as base:
            resp = await session.get(base.with_path(link.path).with_query(link.query))
            assert 200 == resp.status
            assert 1 << 16 == len(await resp.content.readexactly(1 << 16))
            await asyncio.sleep(0.2)  # the server's writes back up: it waits for the client
        # Leaving serve() shut the server down under the stalled download: it is cut.
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
        resp.release()


async def test_a_client_leaving_mid_body_ends_the_answer(session: aiohttp.ClientSession) -> None:
    """A client that leaves mid-body ends the server's answer; the next GET is whole."""
    mock = filled_mock()
    add_backup(mock, size=str(64 << 20))
    async with mock:
        link = URL(await get_link(session, mock))
        async with serve(mock.storage.make_app()) as base:
            url = base.with_path(link.path).with_query(link.query)
            async with session.get(url) as resp:
                await resp.content.readexactly(1 << 16)
                resp.close()
            async with session.get(url, headers={"Range": "bytes=-5"}) as resp:
                assert (206, mock.storage.content("backup-dl", (64 << 20) - 5)) == (
                    resp.status,
                    await resp.read(),
                )


async def test_no_body_once_the_app_shuts_down(
    session: aiohttp.ClientSession, aiohttp_client: AiohttpClient
) -> None:
    """A GET reaching an app that is shutting down gets its headers, then the cut."""
    mock = filled_mock()
    add_backup(mock)
    async with mock:
        link = URL(await get_link(session, mock))
        app = mock.storage.make_app()
        client = await aiohttp_client(app)
        await app.shutdown()
        async with client.get(link.raw_path_qs) as resp:
            received, cut = await read_until_cut(resp)
        assert (200, b"", True) == (resp.status, received, cut)
