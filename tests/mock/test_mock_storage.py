"""The download-link route and the storage origin serving a backup's bytes, over loopback HTTP."""

from __future__ import annotations

import asyncio
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy
from yarl import URL

import northflank_async.testing as testing
from northflank_async.testing import ManualClock, MockNorthflank, MockStorage, StorageFaults

from .storage_support import SIZE, add_backup, get_link
from .support import ADDON, AUTH, BACKUPS, PROJECT, Client, error_body, filled_mock, send

OBJECT = f"/northflank-backups/{PROJECT}/{ADDON}/backup-dl.tar.gz"
LAST_MODIFIED = "Mon, 03 Feb 2025 04:15:07 GMT"


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


def xml_code(text: str) -> str:
    """The ``<Code>`` of a GCS XML error body."""
    root = ET.fromstring(text)
    assert "Error" == root.tag
    code = root.findtext("Code")
    assert code is not None
    return code


async def fetch(
    session: aiohttp.ClientSession, url: str | URL, method: str = "GET", **headers: str
) -> tuple[int, CIMultiDictProxy[str], bytes]:
    """(status, headers, body) of ``method url`` with these headers, redirects not followed."""
    async with session.request(
        method, url, headers=headers, allow_redirects=False, auto_decompress=False
    ) as resp:
        return resp.status, resp.headers, await resp.read()


# ---------------------------------------------------------------------------- the route


async def test_link_is_a_signed_url_on_the_storage_origin(
    started: MockNorthflank, session: aiohttp.ClientSession
) -> None:
    """The route answers ``{"data": {"downloadLink"}}``: a GCS-style signed URL on the storage."""
    url = f"{started.base_url}{BACKUPS}/backup-dl/download-link"
    async with session.get(url, headers=AUTH) as resp:
        assert (200, "application/json") == (resp.status, resp.content_type)
        body = await resp.json()
    assert ["data"] == list(body)
    assert ["downloadLink"] == list(body["data"])
    link = URL(body["data"]["downloadLink"])
    storage = started.storage.base_url
    assert (storage.scheme, storage.host, storage.port, OBJECT) == (
        link.scheme,
        link.host,
        link.port,
        link.raw_path,
    )
    assert storage.port != started.base_url.port
    query = link.query
    assert [
        "X-Goog-Algorithm",
        "X-Goog-Credential",
        "X-Goog-Date",
        "X-Goog-Expires",
        "X-Goog-SignedHeaders",
        "X-Goog-Signature",
    ] == list(query)
    assert ("GOOG4-RSA-SHA256", "900", "host") == (
        query["X-Goog-Algorithm"],
        query["X-Goog-Expires"],
        query["X-Goog-SignedHeaders"],
    )
    assert re.fullmatch(r"\d{8}T\d{6}Z", query["X-Goog-Date"])
    credential = query["X-Goog-Credential"].split("/")
    assert (credential[1], credential[2:]) == (
        query["X-Goog-Date"][:8],
        ["auto", "storage", "goog4_request"],
    )
    assert re.fullmatch(r"[0-9a-f]{64,}", query["X-Goog-Signature"])
    assert 1 == started.storage.links_issued


async def test_each_link_is_fresh(started: MockNorthflank, session: aiohttp.ClientSession) -> None:
    """Two links for one backup carry different signatures, and both work."""
    first, second = [await get_link(session, started) for _ in range(2)]
    assert URL(first).query["X-Goog-Signature"] != URL(second).query["X-Goog-Signature"]
    assert 2 == started.storage.links_issued
    for link in (first, second):
        assert 200 == (await fetch(session, link, "HEAD"))[0]


@pytest.mark.parametrize(
    ("config", "name"),
    [
        ({"source": {"type": "snapshot"}, "size": "5000"}, "backup-dl.tar.gz"),
        ({"source": {"type": "liveInstance"}, "size": "5000"}, "backup-dl.dump.gz"),
        (
            {"source": {"type": "liveInstance"}, "size": "5000", "compressionType": "zstd"},
            "backup-dl.dump.zst",
        ),
    ],
)
async def test_object_name_by_backup_kind(
    session: aiohttp.ClientSession, config: dict[str, Any], name: str
) -> None:
    """The object's name ends ``.tar.gz`` for a snapshot, ``.dump.gz``/``.dump.zst`` for a dump."""
    mock = filled_mock()
    add_backup(mock, config=config)
    async with mock:
        link = URL(await get_link(session, mock))
        assert name == link.raw_parts[-1]
        assert 200 == (await fetch(session, link))[0]


async def test_path_segments_are_percent_encoded(session: aiohttp.ClientSession) -> None:
    """Ids with a space or a slash are one encoded segment each, and the link still serves."""
    mock = MockNorthflank()
    mock.add_addon("my project", "db/1")
    mock.add_backups("my project", "db/1", [{"id": "b/2", "status": "completed"}])
    async with mock:
        url = f"{mock.base_url}/v1/projects/my%20project/addons/db%2F1/backups/b%2F2/download-link"
        async with session.get(url, headers=AUTH) as resp:
            assert 200 == resp.status
            link = (await resp.json())["data"]["downloadLink"]
        assert "/northflank-backups/my%20project/db%2F1/b%2F2.tar.gz" == URL(link).raw_path
        status, _, body = await fetch(session, link)
        assert (200, mock.storage.content("b/2")) == (status, body)


async def test_team_form(started: MockNorthflank, session: aiohttp.ClientSession) -> None:
    """The team form of the route hands out a working link; another team is 404."""
    link = await get_link(session, started, team=started.team_id)
    assert 200 == (await fetch(session, link, "HEAD"))[0]
    with pytest.raises(AssertionError, match="Team other-team not found"):
        await get_link(session, started, team="other-team")
    assert 1 == started.storage.links_issued


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"{BACKUPS}/nope/download-link", "Backup nope not found"),
        (
            f"/v1/projects/{PROJECT}/addons/nope/backups/backup-dl/download-link",
            f"Addon nope not found in project {PROJECT}",
        ),
        (
            f"/v1/projects/nope/addons/{ADDON}/backups/backup-dl/download-link",
            f"Addon {ADDON} not found in project nope",
        ),
    ],
)
async def test_unknown_ids_are_404(
    client: Client, mock: MockNorthflank, path: str, message: str
) -> None:
    """An unknown project, addon or backup is the API's 404, as on the other backup routes."""
    add_backup(mock)
    assert (404, error_body(1, 404, message)) == await send(client, "GET", path)
    assert 0 == mock.storage.links_issued


@pytest.mark.parametrize("status", ["scheduled", "in-progress", "aborting", "failed", "aborted"])
async def test_only_a_completed_backup_has_a_link(
    client: Client, mock: MockNorthflank, status: str
) -> None:
    """Any status but ``completed`` is 409, naming the backup and its status."""
    add_backup(mock, "backup-x", status=status)
    message = f"Backup backup-x is {status}: only a completed backup can be downloaded"
    assert (409, error_body(1, 409, message)) == await send(
        client, "GET", f"{BACKUPS}/backup-x/download-link"
    )


async def test_the_route_needs_the_token(
    started: MockNorthflank, session: aiohttp.ClientSession
) -> None:
    """Without the API token the route is 401 and no link is issued."""
    url = f"{started.base_url}{BACKUPS}/backup-dl/download-link"
    async with session.get(url, headers={"Authorization": "Bearer wrong"}) as resp:
        assert 401 == resp.status
    async with session.get(url) as resp:
        assert 401 == resp.status
    assert 0 == started.storage.links_issued


async def test_503_until_the_storage_is_started(client: Client, mock: MockNorthflank) -> None:
    """Serving ``make_app()`` alone, the route is 503 until ``storage.start()``; then 200."""
    add_backup(mock)
    path = f"{BACKUPS}/backup-dl/download-link"
    status, body = await send(client, "GET", path)
    assert 503 == status
    assert body["error"]["message"].startswith("the mock's storage origin is not started: ")
    with pytest.raises(RuntimeError, match="not started"):
        _ = mock.storage.base_url
    base = await mock.storage.start(host="127.0.0.1", port=0)
    try:
        status, body = await send(client, "GET", path)
        assert 200 == status
        assert URL(body["data"]["downloadLink"]).port == base.port == mock.storage.base_url.port
    finally:
        await mock.storage.close()
    assert not mock.storage.started


async def test_start_and_close_drive_both_origins() -> None:
    """``start()`` starts the storage too, ``close()`` closes both; a started storage is kept."""
    mock = MockNorthflank()
    assert not mock.storage.started
    async with mock:
        assert mock.storage.started
    assert not mock.storage.started
    base = await mock.storage.start()
    async with mock:
        assert base == mock.storage.base_url
        with pytest.raises(RuntimeError, match="already started"):
            await mock.storage.start()
    assert not mock.storage.started


async def test_a_backup_the_api_completes_serves_its_size(session: aiohttp.ClientSession) -> None:
    """A backup started through the API and completed on the clock serves ``config.size`` bytes."""
    clock = ManualClock()
    mock = filled_mock(clock=clock)
    async with mock:
        url = f"{mock.base_url}{BACKUPS}"
        async with session.post(url, json={}, headers=AUTH) as resp:
            backup_id = (await resp.json())["data"]["id"]
        clock.advance(4)
        [backup] = [b for b in mock.backups(PROJECT, ADDON) if b["id"] == backup_id]
        assert "completed" == backup["status"]
        size = int(backup["config"]["size"])
        assert size == mock.storage.size(backup_id)  # before any link: the stored backup's
        link = await get_link(session, mock, backup_id)
        status, headers, _ = await fetch(session, link, "HEAD")
        assert (200, str(size)) == (status, headers["Content-Length"])
        assert "20250101" == URL(link).query["X-Goog-Date"][:8]


# ---------------------------------------------------------------------------- the object


async def test_get_serves_the_whole_object(
    started: MockNorthflank, session: aiohttp.ClientSession
) -> None:
    """A GET is 200 with the object's headers and exactly ``content()``, ``size()`` bytes."""
    link = await get_link(session, started)
    status, headers, body = await fetch(session, link)
    assert 200 == status
    assert (
        "application/octet-stream",
        str(SIZE),
        "bytes",
        LAST_MODIFIED,
    ) == (
        headers["Content-Type"],
        headers["Content-Length"],
        headers["Accept-Ranges"],
        headers["Last-Modified"],
    )
    assert re.fullmatch(r'"[0-9a-f]{32}"', headers["ETag"])
    assert "Content-Range" not in headers
    assert (SIZE, SIZE, started.storage.content("backup-dl")) == (
        started.storage.size("backup-dl"),
        len(body),
        body,
    )


async def test_head_sends_the_headers_only(
    started: MockNorthflank, session: aiohttp.ClientSession
) -> None:
    """HEAD answers the GET's status and headers without a body; a range too."""
    link = await get_link(session, started)
    _, got, _ = await fetch(session, link)
    status, headers, body = await fetch(session, link, "HEAD")
    assert (200, b"") == (status, body)
    keys = ["Content-Type", "Content-Length", "Accept-Ranges", "ETag", "Last-Modified"]
    assert [got[k] for k in keys] == [headers[k] for k in keys]
    status, headers, body = await fetch(session, link, "HEAD", Range="bytes=10-19")
    assert (206, "10", f"bytes 10-19/{SIZE}", b"") == (
        status,
        headers["Content-Length"],
        headers["Content-Range"],
        body,
    )


@pytest.mark.parametrize(
    ("size", "check"),
    [("0", True), ("not a number", True), (None, True), ("70000", False)],
)
async def test_size_is_fixed_when_the_link_is_issued(
    session: aiohttp.ClientSession, size: object, check: bool
) -> None:
    """A link keeps the size of its issue; an unreadable or zero size serves 1024..2047 bytes."""
    mock = filled_mock()
    backup = add_backup(mock, size=size)
    async with mock:
        first = await get_link(session, mock)
        backup["config"]["size"] = "200000"
        second = await get_link(session, mock)
        _, first_headers, first_body = await fetch(session, first)
        _, second_headers, second_body = await fetch(session, second)
    if check:
        assert 1024 <= len(first_body) < 2048
    assert (200_000, second_body) == (
        mock.storage.size("backup-dl"),
        mock.storage.content("backup-dl"),
    )
    assert first_body == second_body[: len(first_body)]
    assert first_headers["ETag"] != second_headers["ETag"]


async def test_size_and_content_without_a_link(mock: MockNorthflank) -> None:
    """``size()``/``content()`` read the stored backup before any link; unknown ids raise."""
    add_backup(mock, size="5000")
    assert 5000 == mock.storage.size("backup-dl")
    whole = mock.storage.content("backup-dl")
    assert (5000, whole[10:20], whole[4990:]) == (
        len(whole),
        mock.storage.content("backup-dl", 10, 20),
        mock.storage.content("backup-dl", 4990, 10**9),
    )
    assert b"" == mock.storage.content("backup-dl", 30, 20)
    with pytest.raises(KeyError):
        mock.storage.size("nope")
    with pytest.raises(KeyError):
        MockStorage().content("backup-dl")
    with pytest.raises(ValueError, match=">= 0"):
        mock.storage.content("backup-dl", -1)


# ---------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=100-", 100, SIZE),
        ("bytes=100-199", 100, 200),
        ("bytes=0-0", 0, 1),
        ("bytes=65530-65545", 65530, 65546),
        ("bytes=200000-999999999", 200000, SIZE),
        ("bytes=-10", SIZE - 10, SIZE),
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE),
    ],
)
async def test_one_range_is_206(
    started: MockNorthflank, session: aiohttp.ClientSession, header: str, start: int, end: int
) -> None:
    """One satisfiable range is 206 with its bytes, ``Content-Range`` and ``Content-Length``."""
    link = await get_link(session, started)
    status, headers, body = await fetch(session, link, Range=header)
    assert (206, f"bytes {start}-{end - 1}/{SIZE}", str(end - start)) == (
        status,
        headers["Content-Range"],
        headers["Content-Length"],
    )
    assert started.storage.content("backup-dl", start, end) == body


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 9}", "bytes=-0"])
async def test_a_range_past_the_end_is_416(
    started: MockNorthflank, session: aiohttp.ClientSession, header: str
) -> None:
    """A range no byte satisfies is 416 with ``Content-Range: bytes */TOTAL``."""
    link = await get_link(session, started)
    status, headers, body = await fetch(session, link, Range=header)
    assert (416, f"bytes */{SIZE}", "InvalidRange") == (
        status,
        headers["Content-Range"],
        xml_code(body.decode()),
    )


@pytest.mark.parametrize("header", ["bytes=5-1", "bytes=0-1,5-6", "items=0-9", "bytes=x-"])
async def test_a_malformed_range_is_ignored(
    started: MockNorthflank, session: aiohttp.ClientSession, header: str
) -> None:
    """A malformed or multi-range header gets 200 and the whole object."""
    link = await get_link(session, started)
    status, headers, body = await fetch(session, link, Range=header)
    assert (200, "Content-Range" in headers, started.storage.content("backup-dl")) == (
        status,
        False,
        body,
    )


async def test_if_range(started: MockNorthflank, session: aiohttp.ClientSession) -> None:
    """``If-Range`` with the ETag keeps the range; any other value gets the whole object."""
    link = await get_link(session, started)
    etag = (await fetch(session, link, "HEAD"))[1]["ETag"]
    status, _, body = await fetch(session, link, Range="bytes=10-19", **{"If-Range": etag})
    assert (206, started.storage.content("backup-dl", 10, 20)) == (status, body)
    for other in ('"other"', f"W/{etag}", LAST_MODIFIED):
        status, headers, body = await fetch(
            session, link, Range="bytes=10-19", **{"If-Range": other}
        )
        assert (200, str(SIZE), SIZE) == (status, headers["Content-Length"], len(body))


# ---------------------------------------------------------------------------- refusals


async def test_unknown_links_are_403_access_denied(
    started: MockNorthflank, session: aiohttp.ClientSession
) -> None:
    """No query, an unknown signature, or another object's path: 403 ``AccessDenied`` in XML."""
    link = URL(await get_link(session, started))
    add_backup(started, "backup-other")
    other = URL(await get_link(session, started, "backup-other"))
    tampered = link.update_query({"X-Goog-Signature": "0" * 512})
    for url in (link.with_query(None), tampered, other.with_query(link.query)):
        async with session.get(url) as resp:
            assert (403, "application/xml", "AccessDenied") == (
                resp.status,
                resp.content_type,
                xml_code(await resp.text()),
            )
            assert (await resp.text()).startswith("<?xml version='1.0' encoding='UTF-8'?><Error>")


async def test_paths_outside_the_bucket_and_other_methods(
    started: MockNorthflank, session: aiohttp.ClientSession
) -> None:
    """A path outside the bucket is 404; any method but GET and HEAD is 405."""
    link = URL(await get_link(session, started))
    for path in ("/", "/other-bucket/x", "/v1/projects"):
        status, _, body = await fetch(session, link.with_path(path))
        assert (404, "NoSuchBucket") == (status, xml_code(body.decode()))
    status, headers, body = await fetch(session, link, "PUT")
    assert (405, "GET, HEAD", "MethodNotAllowed") == (
        status,
        headers["Allow"],
        xml_code(body.decode()),
    )


async def test_expired_links_are_403_expired_token(
    started: MockNorthflank, session: aiohttp.ClientSession
) -> None:
    """After ``expire_links()`` old links are 403 ``ExpiredToken``, new ones work; ``clear()`` undoes it."""
    old = await get_link(session, started)
    started.storage.faults.expire_links()
    new = await get_link(session, started)
    for method in ("GET", "HEAD"):
        assert 403 == (await fetch(session, old, method))[0]
    status, _, body = await fetch(session, old)
    assert (403, "ExpiredToken") == (status, xml_code(body.decode()))
    assert 200 == (await fetch(session, new))[0]
    started.storage.faults.clear()
    assert 200 == (await fetch(session, old))[0]


async def test_links_expire_on_the_clock(session: aiohttp.ClientSession) -> None:
    """A link works for ``X-Goog-Expires`` seconds of the mock's clock, then is expired."""
    clock = ManualClock()
    mock = filled_mock(clock=clock)
    add_backup(mock)
    async with mock:
        link = await get_link(session, mock)
        clock.advance(899.5)
        assert 200 == (await fetch(session, link, "HEAD"))[0]
        clock.advance(0.5)
        status, _, body = await fetch(session, link)
        assert (403, "ExpiredToken") == (status, xml_code(body.decode()))
        mock.storage.link_lifetime = 60
        short = URL(await get_link(session, mock))
        assert "60" == short.query["X-Goog-Expires"]


# ---------------------------------------------------------------------------- records


async def test_requests_are_recorded_as_received(
    started: MockNorthflank, session: aiohttp.ClientSession
) -> None:
    """Every storage request is recorded with its headers as sent, ``Authorization`` included."""
    link = URL(await get_link(session, started))
    await fetch(session, link)
    await fetch(session, link, "HEAD", Authorization="Bearer nf-test-token", Range="bytes=1-2")
    first, second = started.storage.requests
    assert (1, "GET", OBJECT, OBJECT, False) == (
        first.number,
        first.method,
        first.raw_path,
        first.path,
        "Authorization" in first.headers,
    )
    assert dict(link.query) == first.query
    assert link.raw_query_string == first.raw_query
    assert (2, "HEAD", "Bearer nf-test-token", "bytes=1-2") == (
        second.number,
        second.method,
        second.headers["Authorization"],
        second.headers["Range"],
    )
    # The API's own records never include the storage's requests.
    assert all(r.path.startswith("/v1/") for r in started.requests)


def test_exports() -> None:
    """The package exports ``MockStorage`` and ``StorageFaults``, and the mock owns one."""
    assert {"MockStorage", "StorageFaults"} <= set(testing.__all__)
    mock = MockNorthflank()
    assert (MockStorage, StorageFaults) == (type(mock.storage), type(mock.storage.faults))
    assert 0 == mock.storage.links_issued


async def test_issue_link_and_the_storage_on_its_own(session: aiohttp.ClientSession) -> None:
    """A ``MockStorage`` of its own serves the links it issues; it issues none unstarted."""
    storage = MockStorage()
    backup = {"id": "b1", "status": "completed", "config": {"size": "4096"}}
    with pytest.raises(RuntimeError, match="not started"):
        storage.issue_link("p", "a", backup)
    async with storage:
        link = URL(storage.issue_link("p", "a", backup))
        assert "/northflank-backups/p/a/b1.tar.gz" == link.raw_path
        assert re.fullmatch(r"20\d{6}T\d{6}Z", link.query["X-Goog-Date"])  # today's date
        status, _, body = await fetch(session, link)
        assert (200, storage.content("b1"), 4096) == (status, body, storage.size("b1"))
    assert not storage.started
    await storage.close()  # closing again is a no-op


async def test_a_port_in_use_leaves_the_storage_stopped(started: MockNorthflank) -> None:
    """``start()`` on a port already taken raises and leaves the storage unstarted."""
    storage = MockStorage()
    with pytest.raises(OSError, match="address already in use"):
        await storage.start(port=started.base_url.port or 0)
    assert not storage.started


async def test_an_absolute_form_target_is_served(started: MockNorthflank) -> None:
    """A request target in absolute form (as through a proxy) is recorded and served."""
    async with aiohttp.ClientSession() as session:
        link = URL(await get_link(session, started))
    reader, writer = await asyncio.open_connection(link.host, link.port)
    writer.write(f"HEAD {link} HTTP/1.1\r\nHost: {link.host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    [record] = started.storage.requests
    assert (OBJECT, link.query["X-Goog-Signature"]) == (
        record.raw_path,
        record.query["X-Goog-Signature"],
    )
