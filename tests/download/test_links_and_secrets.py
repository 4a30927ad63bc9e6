"""The link and the token stay at home: what storage requests carry, expired links,
redirects, and no link in any log line or error."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from northflank_async import (
    DownloadError,
    NorthflankSession,
    ResponseValidationError,
    RetryPolicy,
)
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, FakeSleep
from tests.download.conftest import BACKUP_ID, SIZE
from tests.download.support import api_paths, leftovers, serve_origin, signatures

API_HEADERS = ("Authorization", "User-Agent")


def assert_no_api_headers(headers: dict[str, str]) -> None:
    """None of the API's headers, nor the user's, in a storage request."""
    assert "Authorization" not in headers
    assert "X-Team-Secret" not in headers
    assert not headers.get("User-Agent", "").startswith("northflank-async")
    assert "application/json" != headers.get("Accept")
    assert "gzip" == headers["Accept-Encoding"]


async def test_the_link_is_returned_as_the_api_sent_it(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """One API request; the link points to the storage host and works without a token."""
    link = await nf.get_backup_download_link(PROJECT, ADDON, BACKUP_ID)
    assert [f"{BACKUP_ID}/download-link"] == api_paths(mock)
    assert link.startswith(f"{mock.storage.base_url}/northflank-backups/{PROJECT}/{ADDON}/")
    async with aiohttp.ClientSession() as plain, plain.get(link) as response:
        assert SIZE == len(await response.read())


@pytest.mark.parametrize(
    ("link", "problem"),
    [
        ("http://storage.example/b.tar.gz?sig=secret-signature", "is not an https URL"),
        ("/relative/b.tar.gz?sig=secret-signature", "is not an absolute URL"),
        (12345, "is not a string"),
    ],
)
async def test_a_link_that_is_not_https_is_refused(
    mock: MockNorthflank, nf: NorthflankSession, link: object, problem: str
) -> None:
    """ResponseValidationError saying what is wrong, never quoting the link."""
    body = json.dumps({"data": {"downloadLink": link}})
    mock.faults.fail(1, 200, body=body, content_type="application/json")
    with pytest.raises(ResponseValidationError, match=problem) as caught:
        await nf.get_backup_download_link(PROJECT, ADDON, BACKUP_ID)
    assert "secret-signature" not in f"{caught.value} {caught.value!r} {caught.value.args}"


async def test_storage_requests_carry_none_of_the_apis_headers(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """No Authorization, no API User-Agent or Accept: only what a download needs."""
    mock.storage.faults.drop_after(1000)
    await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert 2 == len(mock.storage.requests)
    for request in mock.storage.requests:
        assert_no_api_headers(request.headers)
    assert all("Authorization" in r.headers for r in mock.requests)


@pytest.fixture
async def user_http(mock: MockNorthflank) -> AsyncIterator[aiohttp.ClientSession]:
    """The user's own aiohttp session, sending the token (and more) with every request."""
    headers = {"Authorization": f"Bearer {mock.token}", "X-Team-Secret": "s3cret-team-value"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield session


async def test_a_users_session_with_default_headers_does_not_leak_them(
    mock: MockNorthflank, user_http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """Downloads go through a bare pool of the SDK's own, closed with the session."""
    retry = RetryPolicy(sleep=FakeSleep())
    async with NorthflankSession(
        mock.token, base_url=mock.base_url, session=user_http, retry=retry
    ) as nf:
        path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
        chunks = [chunk async for chunk in nf.stream_backup(PROJECT, ADDON, BACKUP_ID)]
    assert mock.storage.content(BACKUP_ID) == path.read_bytes() == b"".join(chunks)
    assert 2 == len(mock.storage.requests)
    for request in mock.storage.requests:
        assert_no_api_headers(request.headers)
    assert not user_http.closed  # the user's session is theirs to close


async def test_a_users_bare_session_is_used_for_downloads_too(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """Without default headers, the user's session (and its pool) does the download."""
    async with aiohttp.ClientSession() as bare:
        async with NorthflankSession(mock.token, base_url=mock.base_url, session=bare) as nf:
            await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
        assert not bare.closed
    assert_no_api_headers(mock.storage.requests[0].headers)


async def test_an_expired_link_is_fetched_anew_once_and_the_download_goes_on(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """A 403 after a drop: one more link request, then a resume on the new link."""
    mock.storage.faults.drop_after(100_000)
    expired = False

    def expire(done: int, total: int | None) -> None:
        nonlocal expired
        if not expired:
            mock.storage.faults.expire_links()
            expired = True

    path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path, progress=expire)
    assert mock.storage.content(BACKUP_ID) == path.read_bytes()
    assert [BACKUP_ID, f"{BACKUP_ID}/download-link", f"{BACKUP_ID}/download-link"] == api_paths(
        mock
    )
    assert 2 == mock.storage.links_issued
    _, refused, resumed = mock.storage.requests
    assert "bytes=100000-" == refused.headers["Range"] == resumed.headers["Range"]
    old, _, new = signatures(mock)
    assert old != new


async def test_a_fresh_link_refused_at_once_ends_the_download(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """403, a new link, 403 again before any byte: DownloadError, one re-fetch only."""
    mock.storage.faults.fail(403, times=3)
    with pytest.raises(DownloadError) as caught:
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert str(caught.value).endswith(
        "the storage host refused the download link (403) even after fetching a new one"
        "; nothing was written"
    )
    assert (403, 0) == (caught.value.status, caught.value.received)
    assert 3 == len(mock.requests)  # the backup, its link, one fresh link
    assert 2 == len(mock.storage.requests)
    assert [] == leftovers(tmp_path)


async def test_a_long_download_may_outlive_several_links(mock: MockNorthflank) -> None:
    """Bytes arrived between two refusals, so the second one fetches a link too.

    Each refusal and each resume is a storage request of the retry policy's attempts.
    """
    mock.storage.faults.drop_after(50_000, times=2)
    received = bytearray()
    retry = RetryPolicy(max_attempts=5, sleep=FakeSleep())
    async with NorthflankSession(mock.token, base_url=mock.base_url, retry=retry) as nf:
        async for chunk in nf.stream_backup(PROJECT, ADDON, BACKUP_ID):
            received += chunk
            if len(received) in (50_000, 100_000):  # where each answer is cut
                mock.storage.faults.expire_links()
    assert mock.storage.content(BACKUP_ID) == bytes(received)
    assert 3 == mock.storage.links_issued
    ranges = [r.headers.get("Range") for r in mock.storage.requests]
    assert [None, "bytes=50000-", "bytes=50000-", "bytes=100000-", "bytes=100000-"] == ranges
    assert 3 == len(set(signatures(mock)))


async def test_a_redirect_to_loopback_http_is_followed(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """The origin redirected to serves the bytes; it gets none of the API's headers."""
    content = mock.storage.content(BACKUP_ID)
    async with serve_origin() as origin:

        async def serve(request: web.Request) -> web.StreamResponse:
            return web.Response(body=content, headers={"ETag": '"v1"'})

        origin.handler = serve
        mock.storage.faults.redirect(origin.url("/mirror/b.tar.gz"), status=307)
        path = await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert content == path.read_bytes()
    assert ["/mirror/b.tar.gz"] == [r.path for r in origin.requests]
    assert_no_api_headers(origin.headers[0])


async def test_a_redirect_off_https_is_refused_naming_only_scheme_and_host(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """DownloadError at once; the message names the scheme and host, no path or query."""
    mock.storage.faults.redirect("http://mirror.example/b.tar.gz?token=other-secret-value")
    with pytest.raises(DownloadError) as caught:
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    message = str(caught.value)
    assert "a 302 redirect to http://mirror.example, not followed" in message
    assert "other-secret-value" not in message
    assert (302, 1) == (caught.value.status, len(mock.storage.requests))
    assert [] == leftovers(tmp_path)


async def test_endless_redirects_end_the_download(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path
) -> None:
    """More than five redirects in a row: DownloadError."""
    link = await nf.get_backup_download_link(PROJECT, ADDON, BACKUP_ID)
    mock.storage.faults.redirect(link, times=10)
    with pytest.raises(DownloadError, match="more than 5 redirects"):
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    assert 6 == len(mock.storage.requests)


async def test_no_link_in_any_log_line_or_error(
    mock: MockNorthflank,
    nf: NorthflankSession,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Drops, an expired link and a final 404, logged at DEBUG: no signature anywhere."""
    mock.storage.faults.drop_after(10_000)
    mock.storage.faults.fail(503)
    errors: list[BaseException] = []
    with caplog.at_level(logging.DEBUG, logger="northflank_async"):
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
        mock.storage.faults.fail(403)
        mock.storage.faults.fail(404)
        with pytest.raises(DownloadError) as caught:
            await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path, overwrite=True)
        errors.append(caught.value)
        mock.storage.faults.redirect(str(mock.storage.base_url) + "/x?leak=redirect-secret")
        with pytest.raises(DownloadError) as caught:
            await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path, overwrite=True)
        errors.append(caught.value)
    secrets = [*set(signatures(mock)), "redirect-secret", "gserviceaccount", "X-Goog-"]
    texts = [record.getMessage() for record in caplog.records]
    texts += [f"{e} {e!r} {e.args} {vars(e)}" for e in errors]
    assert any("storage host answered 404" in text for text in texts)
    assert any("resuming from byte 10,000" in text for text in texts)
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert mock.token not in text


async def test_a_download_logs_its_start_and_end_at_info(
    mock: MockNorthflank, nf: NorthflankSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Backup, addon, size and host/path at the start; bytes, time and rate at the end."""
    with caplog.at_level(logging.INFO, logger="northflank_async"):
        await nf.download_backup(PROJECT, ADDON, BACKUP_ID, tmp_path)
    start, end = [r.getMessage() for r in caplog.records]
    assert (
        f"downloading backup {BACKUP_ID} of addon {ADDON} ({SIZE:,} bytes) from "
        f"127.0.0.1/northflank-backups/{PROJECT}/{ADDON}/{BACKUP_ID}.tar.gz"
    ) == start
    assert end.startswith(f"downloaded backup {BACKUP_ID} of addon {ADDON}: {SIZE:,} bytes in ")
    assert end.endswith(" MB/s)")
