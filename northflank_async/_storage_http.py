"""The requests to the storage host a download link points to: resumed, restarted, verified.

:class:`Transfer` reads one backup's bytes through the session's transport (its pool,
never its API headers), and goes on after a dropped connection from the last byte
received. Every text that reaches a message or a log line is scrubbed of the link's
query, a credential.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable

import aiohttp
from yarl import URL

from ._download_rules import (
    ContentRange,
    Progress,
    allowed_target,
    link_secrets,
    parse_content_range,
    plain,
    unsatisfied_total,
    where,
)
from ._errors import DownloadError, excerpt, scrub
from ._log import logger
from ._retry import RETRY_STATUSES, parse_retry_after
from ._transport import Transport

__all__ = ["CHUNK_SIZE", "MAX_REDIRECTS", "RefreshLink", "Transfer"]

#: The most bytes read from the connection at once.
CHUNK_SIZE = 256 * 1024
#: Redirects followed within one request to the storage host.
MAX_REDIRECTS = 5
#: The most of an error answer's body read to quote it.
_ERROR_BODY = 4096
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_REFUSED = frozenset({401, 403})
#: A dropped connection or a stalled one: worth resuming after.
_DROPS = (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, TimeoutError)

#: Fetches a fresh download link from the API (the old one expired).
RefreshLink = Callable[[], Awaitable[URL]]


class _Again(Exception):
    """This request failed in a way another request may mend (internal to :class:`Transfer`)."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        wait: float | None = None,
        full: bool = False,
        refresh: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.wait = wait
        self.full = full
        self.refresh = refresh


class Transfer:
    """One download of one backup's bytes from the storage host.

    ``expected`` is the backup's ``config.size`` (None when unknown); ``fate`` ends
    every error message (``"; nothing was written"``). Use :meth:`chunks` once.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        backup_id: str,
        addon_id: str,
        link: URL,
        refresh: RefreshLink,
        expected: int | None,
        progress: Progress,
        fate: str = "",
    ) -> None:
        self._transport = transport
        self._backup_id = backup_id
        self._addon_id = addon_id
        self._refresh = refresh
        self._expected = expected
        self._progress = progress
        self._fate = fate
        self._secrets: tuple[str, ...] = ()
        self._link = link
        self._use_link(link)
        #: Bytes delivered (to the caller, or to the file since its last rewind).
        self.received = 0
        #: The object's size as the storage host announced it, and where it said so.
        self._total: int | None = None
        self._total_source = ""
        self._etag: str | None = None
        self._attempt = 0
        self._last_status: int | None = None
        #: ``received`` when the link was last fetched anew (None: never).
        self._refreshed_at: int | None = None
        #: The end of a 206's range: the response ends there, maybe short of the total.
        self._range_end: int | None = None

    @property
    def link(self) -> URL:
        """The link in use (a credential: never show it)."""
        return self._link

    def _use_link(self, link: URL) -> None:
        self._link = link
        self._plain = plain(link)
        self._where = where(link)
        self._secrets = tuple(
            dict.fromkeys((*link_secrets(link), *self._secrets, *self._transport.secrets))
        )

    # -- messages -------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _error(self, what: str, *, status: int | None = None) -> DownloadError:
        """A DownloadError about this download: ``what`` went wrong (already scrubbed)."""
        return DownloadError(
            f"backup {self._backup_id} from {self._where}: {what}{self._fate}",
            url=str(self._plain),
            expected=self._total if self._total is not None else self._expected,
            received=self.received,
            status=status if status is not None else self._last_status,
        )

    def _expected_text(self) -> str:
        if self._expected is not None:
            return f"{self._expected:,} (config.size)"
        if self._total is not None:
            return f"{self._total:,} ({self._total_source})"
        return "an unknown number of"

    def _short(self) -> DownloadError:
        return self._error(f"received {self.received:,} bytes, expected {self._expected_text()}")

    # -- the transfer ---------------------------------------------------------------------

    async def chunks(
        self, *, rewind: Callable[[], None] | None = None
    ) -> AsyncGenerator[bytes, None]:
        """The backup's bytes in order, resumed after drops; checked against the totals.

        With ``rewind``, a host that ignores ``Range`` (or an object that changed) is read
        again from byte 0: ``rewind()`` is called first, to discard what was delivered.
        Without it, the bytes already delivered are read and dropped from the new body,
        and an object whose ETag changed raises DownloadError. Raises DownloadError when
        the bytes do not add up, the host refuses, or the attempts are spent.

        A 401 or 403 fetches a new link once; another one is fetched later only if bytes
        arrived in between, so a long download may outlive several links, but a link
        refused right after it was fetched ends the download.
        """
        started = time.monotonic()
        size = f"{self._expected:,} bytes" if self._expected is not None else "size unknown"
        logger.info(
            "downloading backup %s of addon %s (%s) from %s",
            self._backup_id,
            self._addon_id,
            size,
            self._where,
        )
        full = False
        while True:
            self._attempt += 1
            failure: _Again | None = None
            broken: str | None = None
            response: aiohttp.ClientResponse | None = None
            skip = 0
            try:
                response = await self._open(full)
                skip = await self._judge(response, rewind)
                reading = response.content.iter_chunked(CHUNK_SIZE).__aiter__()
                while True:
                    with self._transport.interruptible("GET", self._plain, "mid-download"):
                        try:
                            chunk = await reading.__anext__()
                        except StopAsyncIteration:
                            break
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk, skip = chunk[skip:], 0
                    self.received += len(chunk)
                    self._check_overflow()
                    self._progress.update(self.received)
                    yield chunk
            except _Again as again:
                failure = again
            except aiohttp.ClientSSLError as exc:  # a certificate will not mend by itself
                broken = self._scrub(_describe(exc))
            except _DROPS as exc:
                failure = _Again(self._scrub(_describe(exc)))
            except aiohttp.ClientError as exc:  # a malformed answer, a bad URL, a proxy refusing
                broken = self._scrub(_describe(exc))
            finally:
                if response is not None:
                    response.release()
            if broken is not None:  # raised here, so nothing of aiohttp's is chained
                raise self._error(broken)
            if failure is None:
                if self._range_end is not None and self._partial_range_done():
                    full = False
                    self._attempt -= 1  # the host serves in parts: no failure to count
                    continue
                if self._ended_short(skip):
                    raise self._short()
                break
            if self._have_all():
                logger.debug(
                    "download of backup %s: every byte is in although the answer failed (%s)",
                    self._backup_id,
                    failure.reason,
                )
                break
            full = await self._before_next(failure)
        self._progress.finish(self.received)
        seconds = max(time.monotonic() - started, 1e-9)
        logger.info(
            "downloaded backup %s of addon %s: %s bytes in %.2f s (%.1f MB/s)",
            self._backup_id,
            self._addon_id,
            f"{self.received:,}",
            seconds,
            self.received / seconds / 1e6,
        )

    # -- one request ----------------------------------------------------------------------

    async def _open(self, full: bool) -> aiohttp.ClientResponse:
        """Send the request (from ``received`` unless ``full``), following allowed redirects."""
        headers = {"Accept-Encoding": "gzip"}
        ranged = self.received > 0 and not full
        if ranged:
            headers["Range"] = f"bytes={self.received}-"
            if self._etag is not None and not self._etag.startswith("W/"):
                headers["If-Range"] = self._etag  # a weak ETag may not be used here
        url = self._link
        for hop in range(MAX_REDIRECTS + 1):
            begun = time.perf_counter()
            response = await self._transport.storage_get(url, headers, shown=self._plain)
            status = response.status
            self._last_status = status
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "GET %s%s -> %d (attempt %d, %.1f ms)",
                    where(url),
                    f" Range {headers['Range']}" if ranged else "",
                    status,
                    self._attempt,
                    (time.perf_counter() - begun) * 1000,
                )
            if status not in _REDIRECTS:
                return response
            location = response.headers.get("Location")
            response.release()
            if hop == MAX_REDIRECTS:
                raise self._error(f"more than {MAX_REDIRECTS} redirects", status=status)
            try:
                target = url.join(URL(location or "", encoded=True))
            except (ValueError, TypeError):
                target = URL()
            if not location or not target.absolute or not target.host:
                raise self._error(f"a {status} redirect to no usable URL", status=status)
            if not allowed_target(target):
                raise self._error(
                    f"a {status} redirect to {excerpt(target.scheme, 20)}://"
                    f"{excerpt(target.host_subcomponent or '', 100)}, not followed: "
                    "downloads go only to https (or http on this machine)",
                    status=status,
                )
            self._secrets = tuple(dict.fromkeys((*link_secrets(target), *self._secrets)))
            url = target
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _judge(
        self, response: aiohttp.ClientResponse, rewind: Callable[[], None] | None
    ) -> int:
        """Check an answer before its body is read; return how many bytes of it to drop.

        Raises :class:`_Again` when another request may do better, DownloadError when
        none will.
        """
        status = response.status
        self._range_end = None
        if status in _REFUSED:
            raise _Again(f"status {status}", status=status, refresh=True)
        if status in RETRY_STATUSES:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            raise _Again(f"status {status}", status=status, wait=wait)
        if status == 416:
            size = unsatisfied_total(response.headers.get("Content-Range"))
            if size is not None and size == self.received and self._agrees(size):
                self._set_total(size, "Content-Range")
            raise _Again(f"status 416 for a range from byte {self.received:,}", full=True)
        if status == 206:
            parsed = parse_content_range(response.headers.get("Content-Range"))
            if parsed is None or parsed.start != self.received or not self._agrees(parsed.total):
                raise _Again(
                    f"a 206 whose Content-Range does not continue at byte {self.received:,}",
                    full=True,
                )
            if parsed.total is not None:
                self._set_total(parsed.total, "Content-Range")
            self._range_end = parsed.end
            self._check_length(response, parsed)
            if self._etag is None:
                self._etag = response.headers.get("ETag")
            return 0
        if status != 200:
            body = await self._error_text(response)
            what = f"the storage host answered {status}"
            if status in _REDIRECTS:  # pragma: no cover - _open follows or refuses them
                what += " (a redirect)"
            raise self._error(what + body, status=status)
        return self._whole(response, rewind)

    def _whole(self, response: aiohttp.ClientResponse, rewind: Callable[[], None] | None) -> int:
        """A 200: the whole object, maybe after bytes were delivered; return bytes to drop."""
        announced = response.content_length
        etag = response.headers.get("ETag")
        if announced is not None and self._expected is not None and announced != self._expected:
            raise self._error(
                f"the storage host announces {announced:,} bytes (Content-Length) but the "
                f"backup's config.size is {self._expected:,}"
            )
        skip = 0
        if self.received:
            if rewind is not None:
                logger.warning(
                    "download of backup %s from %s: the storage host sent the whole object "
                    "again; discarding the %s bytes received and reading from the start",
                    self._backup_id,
                    self._where,
                    f"{self.received:,}",
                )
                rewind()
                self.received = 0
                self._total = None
            else:
                changed = self._etag is not None and etag is not None and etag != self._etag
                if changed or (
                    announced is not None and self._total is not None and announced != self._total
                ):
                    raise self._error("the object changed during the download")
                logger.warning(
                    "download of backup %s from %s: the storage host ignored the range; "
                    "reading again from the start, dropping the %s bytes already delivered",
                    self._backup_id,
                    self._where,
                    f"{self.received:,}",
                )
                skip = self.received
        self._etag = etag
        if announced is not None:
            self._set_total(announced, "Content-Length")
        return skip

    def _check_length(self, response: aiohttp.ClientResponse, parsed: ContentRange) -> None:
        """A 206's Content-Length must be its range's length."""
        length = response.content_length
        if length is not None and length != parsed.end - parsed.start + 1:
            raise self._error(
                f"a 206 announces {length:,} bytes (Content-Length) for bytes "
                f"{parsed.start:,}-{parsed.end:,}"
            )

    def _agrees(self, total: int | None) -> bool:
        """Whether an announced total fits what is known of the object's size."""
        if total is None:
            return True
        known = self._expected if self._expected is not None else self._total
        return known is None or total == known

    def _set_total(self, total: int, source: str) -> None:
        self._total = total
        self._total_source = source
        self._progress.total = total

    async def _error_text(self, response: aiohttp.ClientResponse) -> str:
        """``": <start of the body>"`` of an error answer, scrubbed; ``""`` when none came."""
        try:
            with self._transport.interruptible("GET", self._plain, "mid-download"):
                body = await response.content.read(_ERROR_BODY)
        except (*_DROPS, aiohttp.ClientError):
            return ""
        text = self._scrub(excerpt(body))
        return f": {text}" if text else ""

    # -- after a response -----------------------------------------------------------------

    def _check_overflow(self) -> None:
        limit = self._total if self._total is not None else self._expected
        if limit is not None and self.received > limit:
            raise self._error(
                f"received {self.received:,} bytes, more than the {self._expected_text()} expected"
            )

    def _partial_range_done(self) -> bool:
        """A 206 that ended at its range's end, short of the total: ask for the rest."""
        end = self._range_end
        total = self._total
        return (
            end is not None
            and self.received == end + 1
            and total is not None
            and self.received < total
        )

    def _ended_short(self, skip: int) -> bool:
        """Whether a cleanly ended answer left the download short of a known total."""
        if skip:
            return True  # the whole object came again, shorter than what was delivered
        if self._total is not None and self.received != self._total:
            return True
        return self._expected is not None and self.received != self._expected

    def _have_all(self) -> bool:
        """Whether every byte is in although the last answer failed (dropped at its end)."""
        total = self._total if self._total is not None else self._expected
        return total is not None and self.received == total and self._agrees(total)

    async def _before_next(self, failure: _Again) -> bool:
        """Get ready for the next attempt after ``failure``, or raise; True: from byte 0."""
        retry = self._transport.retry
        status = failure.status
        if failure.refresh and self._refreshed_at == self.received:
            raise self._error(
                f"the storage host refused the download link ({status}) even after "
                "fetching a new one",
                status=status,
            )
        if self._attempt >= retry.max_attempts:
            raise self._error(
                f"gave up after {self._attempt} attempts ({failure.reason}): received "
                f"{self.received:,} bytes of {self._expected_text()}",
                status=status,
            )
        wait = 0.0
        if failure.refresh:
            self._use_link(await self._refresh())
            self._refreshed_at = self.received
        elif failure.wait is not None:
            if failure.wait > retry.max_wait:
                raise self._error(
                    f"the storage host answered {status} and asked to wait "
                    f"{failure.wait:g} s, longer than the retry policy's max_wait",
                    status=status,
                )
            wait = failure.wait
        else:
            wait = retry.backoff(self._attempt)
        total = f" of {self._total:,}" if self._total is not None else ""
        action = (
            f"resuming from byte {self.received:,}"
            if self.received and not failure.full
            else "reading it from the start"
        )
        logger.warning(
            "download of backup %s from %s dropped at %s%s bytes (%s%s); %s (attempt %d of %d)",
            self._backup_id,
            self._where,
            f"{self.received:,}",
            total,
            failure.reason,
            "; fetched a new link" if failure.refresh else "",
            action,
            self._attempt + 1,
            retry.max_attempts,
        )
        if wait > 0:
            await self._transport.sleep(wait, "GET", self._plain)
        return failure.full


def _describe(exc: BaseException) -> str:
    """What went wrong with a connection, in a few words (still to be scrubbed)."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"{type(exc).__name__}: no bytes for too long"
    return excerpt(f"{type(exc).__name__}: {exc}", 300)
