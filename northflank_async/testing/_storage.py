"""The mock's storage origin: the host a backup's download link points to.

The API's ``GET .../backups/{backupId}/download-link`` answers a temporary signed URL
on another host (Google Cloud Storage for Northflank), which needs no Northflank
token. ``MockStorage`` is that host, on a loopback port of its own: the route asks it
for a link (``issue_link``), shaped like a GCS V4 signed URL, and it serves the
backup's bytes (``_storage_content``) at that link, with ranges, ``HEAD``, GCS's XML
errors for an unknown or expired link, and the faults of ``StorageFaults``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, quote, unquote

from aiohttp import web
from yarl import URL

from ._http import RecordedRequest
from ._server import Connections, serve, split_target
from ._storage_content import (
    goog_date,
    http_date,
    iter_object,
    object_bytes,
    object_date_ms,
    object_etag,
    object_extension,
    object_size,
    parse_range,
)
from ._storage_faults import Chosen, Planned, StorageFaults
from ._storage_server import xml_error

__all__ = ["BUCKET", "MockStorage", "StorageFaults"]

BUCKET: Final = "northflank-backups"
"""The bucket every link points into: ``/<bucket>/<projectId>/<addonId>/<backupId><ext>``."""
_CREDENTIAL: Final = (
    "mock-storage@northflank-mock.iam.gserviceaccount.com/{day}/auto/storage/goog4_request"
)
_OCTETS: Final = "application/octet-stream"
_CODES: Final = {429: "SlowDown", 500: "InternalError", 503: "ServiceUnavailable"}


@dataclass(frozen=True, slots=True)
class _Link:
    """A download link the API route handed out."""

    segments: tuple[str, ...]
    """The decoded path segments after the bucket: project, addon, object name."""
    backup_id: str
    size: int
    etag: str
    last_modified: str
    issued_at: float
    """The mock's clock reading when issued."""
    lifetime: float
    generation: int


class MockStorage:
    """A fake of the storage host a backup's download link points to (``mock.storage``).

    It serves, on a loopback port of its own, the bytes of every backup a link was
    issued for (``issue_link``, called by the API's ``download-link`` route), the same
    bytes on every run (deterministic from the backup id, ``config.size`` of them):
    ``GET``/``HEAD`` with ``200``, ``Content-Length``, ``Accept-Ranges: bytes``, a stable
    ``ETag`` and ``Last-Modified``; one ``Range`` (``bytes=N-``, ``N-M``, ``-N``) gets
    ``206`` with ``Content-Range``, a start past the end ``416``; a malformed or
    multi-range header, or an ``If-Range`` other than the ``ETag``, gets the whole
    object. A link is valid for ``link_lifetime`` seconds of the mock's clock
    (``X-Goog-Expires``); an expired one answers 403 ``ExpiredToken``, a missing or
    unknown signature, or a path not the link's, 403 ``AccessDenied``, any path outside
    the bucket 404, any method but ``GET``/``HEAD`` 405, all with GCS's XML error body.
    ``Authorization`` is ignored.

    Example:

    ```python
    mock.storage.faults.drop_after(mock.storage.size(backup_id) // 2)  # cut half-way, once
    path = await nf.download_backup(project_id, addon_id, backup_id, "resumed.bin")
    assert path.read_bytes() == mock.storage.content(backup_id)  # resumed, whole
    assert not any("Authorization" in r.headers for r in mock.storage.requests)
    ```

    :param clock: the clock that times the links (the mock's own).
    :param backups: finds a stored backup by id, for ``size()`` of a backup no link was
        issued for (the mock passes its own lookup).
    :param link_lifetime: seconds a link stays valid.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        backups: Callable[[str], Mapping[str, Any] | None] | None = None,
        link_lifetime: int = 900,
    ) -> None:
        self.requests: list[RecordedRequest] = []
        """Every request received, in arrival order.

        Each a [RecordedRequest][northflank_async.testing.RecordedRequest], with its headers
        as received (credentials included).
        """
        self.faults = StorageFaults()
        """The faults planned for the next ``GET``s of the bytes.

        A [StorageFaults][northflank_async.testing.StorageFaults].
        """
        self.links_issued = 0
        """How many links ``issue_link`` made."""
        self.link_lifetime = link_lifetime
        """Seconds a link stays valid, for links issued from now on (settable)."""
        self._clock = clock
        self._backups = backups
        self._links: dict[str, _Link] = {}
        self._latest: dict[str, _Link] = {}
        self._runner: web.AppRunner | None = None
        self._base_url: URL | None = None

    # ---------------------------------------------------------------- objects

    def size(self, backup_id: str) -> int:
        """The object's size in bytes.

        That of the latest link issued for ``backup_id``, else that of the stored backup.

        :param backup_id: the backup's id.
        :returns: the size in bytes.
        :raises KeyError: no link was issued for it and no stored backup has that id.
        """
        link = self._latest.get(backup_id)
        if link is not None:
            return link.size
        backup = self._backups(backup_id) if self._backups is not None else None
        if backup is None:
            raise KeyError(backup_id)
        return object_size(backup)

    def content(self, backup_id: str, start: int = 0, end: int | None = None) -> bytes:
        """The object's bytes ``[start, end)``, exactly as served.

        :param backup_id: the backup's id.
        :param start: the first byte.
        :param end: the byte after the last; None, or past the size: to the end.
        :returns: the bytes.
        :raises KeyError: as ``size()``.
        :raises ValueError: a negative bound.
        """
        if start < 0 or (end is not None and end < 0):
            raise ValueError("start and end must be >= 0")
        size = self.size(backup_id)
        stop = size if end is None else min(end, size)
        return object_bytes(backup_id, start, stop)

    def issue_link(
        self,
        project_id: str,
        addon_id: str,
        backup: Mapping[str, Any],
        *,
        date_ms: int | None = None,
    ) -> str:
        """A fresh signed link to ``backup``'s object, registered with its size as of now.

        The API's ``download-link`` route calls it; a test may too, to fetch bytes with a
        client of its own.

        :param project_id: the project's id (part of the link's path).
        :param addon_id: the addon's id (part of the link's path).
        :param backup: the backup's JSON dict.
        :param date_ms: epoch milliseconds dating the link's ``X-Goog-Date`` and, without a
            ``completedAt`` or ``createdAt``, the object's ``Last-Modified``; None: now.
        :returns: the link, shaped like a GCS V4 signed URL.
        :raises RuntimeError: the origin is not started.
        """
        base = self.base_url
        if date_ms is None:
            date_ms = int(time.time() * 1000)
        backup_id = str(backup.get("id"))
        size = object_size(backup)
        name = backup_id + object_extension(backup)
        segments = (project_id, addon_id, name)
        signature = secrets.token_hex(256)  # GCS: an RSA-2048 signature, 512 hex digits
        stamp = goog_date(date_ms)
        lifetime = self.link_lifetime
        link = _Link(
            segments=segments,
            backup_id=backup_id,
            size=size,
            etag=object_etag(backup_id, size),
            last_modified=http_date(object_date_ms(backup, date_ms)),
            issued_at=self._clock(),
            lifetime=lifetime,
            generation=self.faults._generation,
        )
        self._links[signature] = link
        self._latest[backup_id] = link
        self.links_issued += 1
        path = "/".join(quote(part, safe="") for part in (BUCKET, *segments))
        credential = quote(_CREDENTIAL.format(day=stamp[:8]), safe="")
        query = (
            f"X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential={credential}"
            f"&X-Goog-Date={stamp}&X-Goog-Expires={lifetime}&X-Goog-SignedHeaders=host"
            f"&X-Goog-Signature={signature}"
        )
        return f"{base}/{path}?{query}"

    # ----------------------------------------------------------------- server

    def make_app(self) -> web.Application:
        """A new aiohttp application serving this storage (links stay on this object).

        :returns: the ``aiohttp.web.Application``.
        """
        app = web.Application()
        connections = Connections()

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._handle(request, connections)

        app.router.add_route("*", "/{tail:.*}", handle)
        app.on_shutdown.append(connections.on_shutdown)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> URL:
        """Serve on ``host``:``port`` and return the base URL.

        ``MockNorthflank.start()`` starts it; start it yourself only for a storage of its own.

        :param host: the address to listen on.
        :param port: the port; 0 picks a free one.
        :returns: the base URL.
        :raises RuntimeError: already started.
        """
        if self._runner is not None:
            raise RuntimeError("MockStorage is already started")
        self._runner, self._base_url = await serve(self.make_app(), host, port)
        return self._base_url

    @property
    def started(self) -> bool:
        """Whether ``start()`` serves the origin now."""
        return self._base_url is not None

    @property
    def base_url(self) -> URL:
        """The URL ``start()`` serves on; ``RuntimeError`` when not started."""
        if self._base_url is None:
            raise RuntimeError("MockStorage is not started")
        return self._base_url

    async def close(self) -> None:
        """Stop serving (a no-op when not started); bodies being sent are cut."""
        runner, self._runner, self._base_url = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> MockStorage:
        """Start on a free loopback port."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the server."""
        await self.close()

    # --------------------------------------------------------------- handling

    def _record(self, request: web.BaseRequest) -> RecordedRequest:
        raw_path, raw_query = split_target(request)
        record = RecordedRequest(
            number=len(self.requests) + 1,
            method=request.method,
            raw_path=raw_path,
            path=unquote(raw_path),
            query=dict(parse_qsl(raw_query, keep_blank_values=True)),
            raw_query=raw_query,
            headers=dict(request.headers.items()),
            received_at=self._clock(),
        )
        self.requests.append(record)
        return record

    def _find_link(self, record: RecordedRequest) -> _Link | web.Response:
        """The valid link the request uses, or the 404/403 answer."""
        segments = [unquote(part) for part in record.raw_path.split("/")]
        if segments[:2] != ["", BUCKET]:
            return xml_error(404, "NoSuchBucket", "The specified bucket does not exist.")
        signature = record.query.get("X-Goog-Signature")
        link = self._links.get(signature) if signature else None
        if link is None:
            why = "unknown to this storage" if signature else "missing"
            return xml_error(
                403, "AccessDenied", "Access denied.", f"The request's X-Goog-Signature is {why}."
            )
        if tuple(segments[2:]) != link.segments:
            return xml_error(
                403, "AccessDenied", "Access denied.", "The signature was made for another object."
            )
        expires_at = link.issued_at + link.lifetime
        if self.faults._expired(link.generation) or self._clock() >= expires_at:
            return xml_error(
                403, "ExpiredToken", "The provided token has expired.", "Request signature expired."
            )
        return link

    async def _handle(
        self, request: web.BaseRequest, connections: Connections
    ) -> web.StreamResponse:
        record = self._record(request)
        if request.method not in ("GET", "HEAD"):
            message = f"The specified method is not allowed against this resource: {request.method}"
            return xml_error(405, "MethodNotAllowed", message, headers={"Allow": "GET, HEAD"})
        found = self._find_link(record)
        if isinstance(found, web.Response):
            return found
        link = found
        size = link.size
        header = request.headers.get("Range")
        wanted = parse_range(header, size) if header is not None else None
        if wanted is not None and request.headers.get("If-Range", link.etag) != link.etag:
            wanted = None  # the client's copy is of another object: send this one whole
        chosen = Chosen()
        if request.method == "GET":
            chosen = self.faults._choose(
                wanted is not None, wanted is not None and wanted[0] < size
            )
        if chosen.answer is not None:
            return self._fault_answer(chosen.answer)
        if chosen.ignore_ranges:
            wanted = None
        if wanted is not None and wanted[0] >= size:
            return xml_error(
                416,
                "InvalidRange",
                "The requested range cannot be satisfied.",
                str(header),
                {"Content-Range": f"bytes */{size}"},
            )
        start, end = wanted if wanted is not None else (0, size)
        return await self._object_answer(
            request, link, start, end, wanted is not None, chosen, connections
        )

    def _fault_answer(self, fault: Planned) -> web.Response:
        if fault.kind == "redirect":
            headers = {"Location": fault.location, "Content-Type": "text/plain; charset=utf-8"}
            return web.Response(status=fault.number, body=b"Redirecting", headers=headers)
        code = _CODES.get(fault.number, "InjectedFault")
        return xml_error(fault.number, code, f"Injected fault: HTTP {fault.number}")

    async def _object_answer(
        self,
        request: web.BaseRequest,
        link: _Link,
        start: int,
        end: int,
        partial: bool,
        chosen: Chosen,
        connections: Connections,
    ) -> web.StreamResponse:
        """200 or 206 with the object's bytes ``[start, end)``, as ``chosen`` bends it."""
        length = announced = end - start
        total = link.size
        sent_end, cut = end, False
        body = chosen.body
        if body is not None and body.kind == "drop_after":
            sent_end, cut = min(end, start + body.number), True
        elif body is not None:  # wrong_length
            announced = max(0, length + body.number)
            total = max(0, total + body.number)
            if body.number > 0:
                cut = True
            else:
                sent_end = start + announced
        headers = {
            "Content-Type": _OCTETS,
            "Content-Length": str(announced),
            "Accept-Ranges": "bytes",
            "ETag": link.etag,
            "Last-Modified": link.last_modified,
        }
        if partial:
            headers["Content-Range"] = (
                f"bytes {start}-{start + announced - 1}/{max(total, start + announced)}"
            )
        status = 206 if partial else 200
        if request.method == "HEAD":
            return web.Response(status=status, headers=headers)
        response = web.StreamResponse(status=status, headers=headers)
        chunks = iter_object(link.backup_id, start, sent_end)
        await connections.stream(request, response, chunks, cut=cut)
        return response
