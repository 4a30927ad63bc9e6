"""The one request function, in three layers.

- :func:`~._responses.decode` (pure): an answer's status, headers and body become
  data or the right error, and the rate limit;
- :meth:`Transport.attempt`: one request, any method and JSON body, under the
  session's concurrency limit, ended by closing the session, with aiohttp's failures
  mapped to ours; it reads each body completely (up to ``max_response_size``) before
  returning, so no connection is ever held while a caller works on a page;
- :meth:`Transport.request`: the retry loop over the session's :class:`RetryPolicy`,
  waiting for rate-limit budget first; each call says which failures are safe to
  repeat (a read: any transient one).

Downloads open their requests to a storage host with :meth:`Transport.storage_get`:
the same pool (never the API's headers), no concurrency slot, no total timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    EventLoopError,
    NorthflankError,
    ResponseTooLargeError,
    SessionClosedError,
    display_url,
    redact,
    scrub,
)
from ._log import logger
from ._models import RateLimit
from ._responses import Answer, decode
from ._retry import Retryable, RetryPolicy, is_transient, next_wait

__all__ = ["DEFAULT_MAX_RESPONSE_SIZE", "Transport"]

T = TypeVar("T")

_Proxy = tuple[URL | None, aiohttp.BasicAuth | None]
_NO_PROXY: _Proxy = (None, None)

#: The largest answer body a session reads unless told otherwise: 4 MiB, where a page
#: of 100 backups is tens of KiB.
DEFAULT_MAX_RESPONSE_SIZE = 4 * 1024 * 1024


class Transport:
    """Sends a session's requests and turns every answer into data or an error."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str],
        timeout: float,
        retry: RetryPolicy,
        max_concurrency: int,
        session: aiohttp.ClientSession | None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        trust_env: bool = True,
        secrets: Sequence[str] = (),
    ) -> None:
        self._headers = dict(headers)
        self.secrets = tuple(secrets)
        self.max_response_size = max_response_size
        self._trust_env = trust_env
        # The proxy (and its credentials) for each (scheme, host, port), looked up once.
        self._proxies: dict[tuple[str, str | None, int | None], _Proxy] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timeout_seconds = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=timeout)
        # A download may take an hour: no total, but ``timeout`` to connect and between bytes.
        self._storage_timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeout, sock_read=timeout
        )
        self.retry = retry
        self._max_concurrency = max_concurrency
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._http = session
        self._owns_http = session is None
        # The pool for storage hosts when the session passed in sends default headers.
        self._storage_http: aiohttp.ClientSession | None = None
        self._closed = False
        self._closed_event = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Tasks inside an _Interruptible stretch, and those close() cancelled there.
        self._active: set[asyncio.Task[Any]] = set()
        self._interrupted: set[asyncio.Task[Any]] = set()
        self.rate_limit: RateLimit | None = None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._closed

    def check_loop(self) -> None:
        """Bind the session to the running event loop on first use; refuse any other loop."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise EventLoopError(
                "this NorthflankSession belongs to another event loop (its connection pool "
                "was opened there); create one session per event loop, for example inside "
                "the coroutine that asyncio.run() runs"
            )

    def shown(self, url: object) -> str:
        """``url`` as messages and log lines show it: shortened, and scrubbed of the token."""
        return scrub(display_url(url), self.secrets)

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise SessionClosedError("the NorthflankSession is closed")
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=max(self._max_concurrency, 10))
            # The environment's proxy is looked up here (see _proxy), not by aiohttp's
            # trust_env, which looks it up in a thread for every request: that delay
            # held each prefetch back until the page before it was structured.
            self._http = aiohttp.ClientSession(connector=connector)
        elif self._http.closed:
            raise SessionClosedError(
                "the aiohttp.ClientSession given to NorthflankSession is closed"
            )
        return self._http

    def _proxy(self, url: URL) -> _Proxy:
        """The proxy from ``HTTP(S)_PROXY`` / ``NO_PROXY`` (credentials from ``~/.netrc``)
        for ``url``'s origin, looked up once per origin; none when not ``trust_env`` or
        when the aiohttp session was passed in (it follows its own ``trust_env``)."""
        if not self._trust_env or not self._owns_http:
            return _NO_PROXY
        origin = (url.scheme, url.host, url.port)
        found = self._proxies.get(origin)
        if found is None:
            try:
                found = get_env_proxy_for_url(url)
            except LookupError:  # none for this scheme, or NO_PROXY names the host
                found = _NO_PROXY
            self._proxies[origin] = found
        return found

    def open(self) -> None:
        """Create the owned aiohttp session now (it needs a running event loop)."""
        self.check_loop()
        self._client()

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coro`` as a task that :meth:`close` cancels if it is still running."""
        if self._closed:
            coro.close()
            raise SessionClosedError("the NorthflankSession is closed")
        try:
            self.check_loop()
        except EventLoopError:
            coro.close()
            raise
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Cancel the session's background requests and close the pool it owns.

        A second call, even while the first is still closing, returns once all is closed.
        """
        if self._closed:
            await self._closed_event.wait()
            return
        self._closed = True
        loop = self._loop
        try:
            if loop is None or loop is asyncio.get_running_loop():
                await self._shut()
            elif loop.is_running():  # a loop in another thread: close the pool there
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._shut(), loop))
            else:
                # That loop has stopped: nothing of its can be awaited any more. The
                # sessions are detached, so they are closed rather than reported as
                # leaked; their idle sockets go with the garbage collector, as they would have.
                if self._http is not None and self._owns_http:
                    self._http.detach()
                if self._storage_http is not None:
                    self._storage_http.detach()
        finally:
            self._closed_event.set()

    async def _shut(self) -> None:
        """Close in the session's own loop: end its tasks, then the pool it owns."""
        # A request or retry wait running in a caller's task ends with SessionClosedError
        # (see _Interruptible); the session's own background tasks are simply cancelled.
        for task in self._active - self._tasks - {asyncio.current_task()}:
            self._interrupted.add(task)
            task.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        if self._http is not None and self._owns_http:
            await self._http.close()
        if self._storage_http is not None:
            await self._storage_http.close()

    async def sleep(self, seconds: float, method: str, url: URL) -> None:
        """Sleep with the policy's sleep before a request; closing the session cuts it short."""
        with _Interruptible(self, method, url, "while the request waited to be sent"):
            await self.retry.sleep(seconds)

    async def _wait_for_budget(self, method: str, url: URL) -> None:
        """Sleep until the rate-limit window resets when the last answer left no budget."""
        latest = self.rate_limit
        if latest is None or latest.remaining > 0:
            return
        wait = (latest.reset_at - datetime.now(UTC)).total_seconds()
        if 0 < wait <= self.retry.max_wait:
            logger.warning(
                "rate limit spent (%d requests); waiting %.1f s for the window to reset before %s %s",
                latest.limit,
                wait,
                method,
                self.shown(url),
            )
            await self.sleep(wait, method, url)

    async def attempt(self, method: str, url: URL, *, json: Any = None, attempt: int = 1) -> Answer:
        """Send one request and read its whole answer, whatever its status.

        Raises :class:`APIConnectionError` (:class:`APITimeoutError`) when no complete
        answer came, :class:`SessionClosedError` when the session was closed; never an
        aiohttp exception, nor one chained to an exception that could hold the headers.
        """
        failure: NorthflankError
        started = time.perf_counter()
        of = f"attempt {attempt} of {self.retry.max_attempts}"
        limit = self.max_response_size
        self.check_loop()  # before the semaphore, which is bound to the first loop too
        try:
            with _Interruptible(self, method, url, "mid-request"):
                async with self._semaphore:
                    http = self._client()
                    proxy, proxy_auth = self._proxy(url)
                    async with http.request(
                        method,
                        url,
                        json=json,
                        headers=self._headers,
                        proxy=proxy,
                        proxy_auth=proxy_auth,
                        middlewares=_NOT_RESENT if method in _RESENT_BY_AIOHTTP else None,
                        allow_redirects=False,
                        # Statuses are ours to judge, even on a session passed in
                        # with raise_for_status=True.
                        raise_for_status=False,
                        timeout=self._timeout,
                    ) as response:
                        body = await _read_bounded(response, limit)
        except TimeoutError as exc:
            self._log_attempt(method, url, "timeout", attempt, started)
            shown = self.shown(url)
            failure = APITimeoutError(
                f"{method} {shown}: no complete answer within {self._timeout_seconds:g} s ({of})",
                url=str(url),
                sent=not isinstance(exc, aiohttp.ConnectionTimeoutError),
            )
        except aiohttp.ClientError as exc:
            self._log_attempt(method, url, type(exc).__name__, attempt, started)
            shown = self.shown(url)
            reason = str(exc) if isinstance(exc, _Lost) else f"{type(exc).__name__}: {exc}"
            failure = APIConnectionError(
                f"{method} {shown}: {scrub(reason, self.secrets)} ({of})",
                url=str(url),
                # No connection, so nothing was sent: a write may be sent again at once.
                sent=not isinstance(
                    exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError
                ),
            )
        else:
            self._log_attempt(method, url, response.status, attempt, started)
            if body is not None:
                return Answer(response.status, response.headers, body, response.reason or "")
            failure = ResponseTooLargeError(
                f"{method} {self.shown(url)}: the {response.status} answer is larger than "
                f"max_response_size ({limit:,} bytes); stopped reading it",
                url=str(url),
                status=response.status,
                limit=limit,
            )
        raise failure  # outside the except blocks: nothing of aiohttp's is chained

    def _log_attempt(
        self, method: str, url: URL, outcome: int | str, attempt: int, started: float
    ) -> None:
        """The DEBUG line for one request: its URL, status (or failure), attempt and time.

        The URL is shortened and scrubbed only when the line is logged, so a request
        that succeeds without DEBUG logging pays for none of it.
        """
        if logger.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            shown = self.shown(url)
            logger.debug(
                "%s %s -> %s (attempt %d, %.1f ms)", method, shown, outcome, attempt, elapsed
            )

    async def request(
        self,
        method: str,
        url: URL,
        *,
        json: Any = None,
        retryable: Retryable = is_transient,
    ) -> tuple[Any, RateLimit | None]:
        """Send ``method url`` until it succeeds or the policy gives up; return data and rate limit.

        ``retryable`` says which failures are safe to send again; a read repeats any
        transient one. Raises the matching :class:`NorthflankError`.
        """
        attempt = 0
        while True:
            attempt += 1
            await self._wait_for_budget(method, url)
            failure: NorthflankError
            try:
                answer = await self.attempt(method, url, json=json, attempt=attempt)
            except APIConnectionError as error:
                failure = error
            else:
                decoded = decode(method, url, answer, secrets=self.secrets)
                if decoded.rate_limit is not None:
                    self.rate_limit = decoded.rate_limit
                if decoded.error is None:
                    return decoded.data, decoded.rate_limit
                failure = decoded.error
            redact(failure, self.secrets)
            wait = next_wait(self.retry, failure, attempt, retryable)
            if wait is None:
                raise failure
            logger.warning(
                "%s %s failed (%s); retrying in %.2f s (attempt %d of %d)",
                method,
                self.shown(url),
                _reason(failure),
                wait,
                attempt + 1,
                self.retry.max_attempts,
            )
            await self.sleep(wait, method, url)

    async def get_json(self, url: URL) -> tuple[Any, RateLimit | None]:
        """GET ``url``: its parsed JSON body and rate limit, retried as a read."""
        return await self.request("GET", url)

    # -- requests to a storage host (downloads) -------------------------------------------

    def interruptible(self, method: str, url: URL, when: str) -> _Interruptible:
        """A ``with`` block that closing the session ends with :class:`SessionClosedError`.

        ``url`` is what its message shows: pass it without a query that holds a credential.
        """
        return _Interruptible(self, method, url, when)

    def _storage_client(self) -> aiohttp.ClientSession:
        """The pool for storage hosts: the session's own, unless it would add headers.

        A session passed in may carry default headers (the user's ``Authorization``) or
        a default ``auth``, which it would send to any host; downloads then go through
        a bare pool of the SDK's own (closed with the session), with that session's
        ``trust_env``.
        """
        http = self._client()
        if self._owns_http or not (http.headers or http.auth is not None):
            return http
        if self._storage_http is None:
            self._storage_http = aiohttp.ClientSession(trust_env=http.trust_env)
        return self._storage_http

    async def storage_get(
        self, url: URL, headers: Mapping[str, str], *, shown: URL
    ) -> aiohttp.ClientResponse:
        """Open ``GET url`` on a storage host; the caller reads the body and releases it.

        Unlike API requests it takes no concurrency slot and spends no rate-limit
        budget, sends only ``headers`` (never the API's), follows no redirect, leaves
        the body as stored (no decompression), and has no total timeout: the session's
        timeout bounds connecting and each wait for bytes. ``shown`` (the URL without
        its query, a credential) names the request if the session is closed meanwhile.
        aiohttp's errors go to the caller, which resumes after them.
        """
        self.check_loop()
        with _Interruptible(self, "GET", shown, "mid-download"):
            http = self._storage_client()
            proxy, proxy_auth = self._proxy(url)
            return await http.get(
                url,
                headers=headers,
                proxy=proxy,
                proxy_auth=proxy_auth,
                allow_redirects=False,
                raise_for_status=False,
                auto_decompress=False,
                timeout=self._storage_timeout,
            )


class _Interruptible:
    """A stretch of a request (sending it, or waiting to) that closing the session ends.

    :meth:`Transport.close` cancels the task inside it; here that cancellation is taken
    back and becomes :class:`SessionClosedError`. When the task's owner cancelled it
    too, ``CancelledError`` goes on as it is.
    """

    __slots__ = ("_method", "_task", "_transport", "_url", "_when")

    def __init__(self, transport: Transport, method: str, url: URL, when: str) -> None:
        self._transport = transport
        self._method = method
        self._url = url
        self._when = when
        task = asyncio.current_task()
        assert task is not None, "requests run inside an asyncio task"
        self._task = task

    def _error(self) -> SessionClosedError:
        shown = self._transport.shown(self._url)
        return SessionClosedError(
            f"{self._method} {shown}: the NorthflankSession was closed {self._when}"
        )

    def __enter__(self) -> None:
        if self._transport.closed:
            raise self._error()
        self._transport._active.add(self._task)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transport = self._transport
        transport._active.discard(self._task)
        if self._task in transport._interrupted:
            transport._interrupted.discard(self._task)
            if self._task.uncancel() == 0:
                raise self._error() from None


#: Writes aiohttp would send a second time by itself when their connection drops
#: (it counts DELETE among the idempotent methods); the SDK decides that instead.
_RESENT_BY_AIOHTTP = frozenset({"DELETE", "PUT"})


class _Lost(aiohttp.ClientConnectionError):
    """A write's connection dropped after sending; in place of aiohttp's own error, which
    aiohttp would answer by sending the write again without a word."""


async def _not_resent(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """A client middleware: a write whose connection dropped is not sent again by aiohttp."""
    try:
        return await handler(request)
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
        raise  # nothing was sent; aiohttp does not resend these either
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _Lost(f"{type(exc).__name__}: {exc}") from None


_NOT_RESENT = (_not_resent,)


async def _read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The whole body of ``response``, or None as soon as it is known to pass ``limit`` bytes."""
    length = response.content_length
    if length is not None and length > limit:
        return None  # refused unread: leaving it closes the connection
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(failure: NorthflankError) -> str:
    status = getattr(failure, "status", None)
    return f"status {status}" if status is not None else type(failure).__name__
