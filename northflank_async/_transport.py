"""The one request function, in three layers.

- :func:`~._responses.decode` (pure): an answer's status, headers and body become
  data or the right error, and the rate limit;
- :meth:`Transport.attempt`: one request, any method and JSON body, under the
  session's concurrency limit, ended by closing the session, with aiohttp's failures
  mapped to ours; it reads each body completely before returning, so no connection is
  ever held while a caller works on a page;
- :meth:`Transport.request`: the retry loop over the session's :class:`RetryPolicy`,
  waiting for rate-limit budget first; each call says which failures are safe to
  repeat (a read: any transient one).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from ._errors import APIConnectionError, APITimeoutError, NorthflankError, SessionClosedError
from ._log import logger
from ._models import RateLimit
from ._responses import Answer, decode
from ._retry import Retryable, RetryPolicy, is_transient, next_wait

__all__ = ["Transport"]

T = TypeVar("T")


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
    ) -> None:
        self._headers = dict(headers)
        self._timeout_seconds = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=timeout)
        self.retry = retry
        self._max_concurrency = max_concurrency
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._http = session
        self._owns_http = session is None
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

    def _client(self) -> aiohttp.ClientSession:
        if self._closed:
            raise SessionClosedError("the NorthflankSession is closed")
        if self._http is None:
            connector = aiohttp.TCPConnector(limit=max(self._max_concurrency, 10))
            self._http = aiohttp.ClientSession(connector=connector)
        elif self._http.closed:
            raise SessionClosedError(
                "the aiohttp.ClientSession given to NorthflankSession is closed"
            )
        return self._http

    def open(self) -> None:
        """Create the owned aiohttp session now (it needs a running event loop)."""
        self._client()

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coro`` as a task that :meth:`close` cancels if it is still running."""
        if self._closed:
            coro.close()
            raise SessionClosedError("the NorthflankSession is closed")
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
        # A request or retry wait running in a caller's task ends with SessionClosedError
        # (see _Interruptible); the session's own background tasks are simply cancelled.
        for task in self._active - self._tasks - {asyncio.current_task()}:
            self._interrupted.add(task)
            task.cancel()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        try:
            if tasks:
                await asyncio.wait(tasks)
            if self._http is not None and self._owns_http:
                await self._http.close()
        finally:
            self._closed_event.set()

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
                url,
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
        try:
            with _Interruptible(self, method, url, "mid-request"):
                async with self._semaphore:
                    http = self._client()
                    async with http.request(
                        method,
                        url,
                        json=json,
                        headers=self._headers,
                        allow_redirects=False,
                        # Statuses are ours to judge, even on a session passed in
                        # with raise_for_status=True.
                        raise_for_status=False,
                        timeout=self._timeout,
                    ) as response:
                        body = await response.read()
        except TimeoutError:
            _log_attempt(method, url, "timeout", attempt, started)
            failure = APITimeoutError(
                f"{method} {url}: no complete answer within {self._timeout_seconds:g} s ({of})",
                url=str(url),
            )
        except aiohttp.ClientError as exc:
            _log_attempt(method, url, type(exc).__name__, attempt, started)
            failure = APIConnectionError(
                f"{method} {url}: {type(exc).__name__}: {exc} ({of})", url=str(url)
            )
        else:
            _log_attempt(method, url, response.status, attempt, started)
            return Answer(response.status, response.headers, body, response.reason or "")
        raise failure  # outside the except blocks: nothing of aiohttp's is chained

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
                decoded = decode(method, url, answer)
                if decoded.rate_limit is not None:
                    self.rate_limit = decoded.rate_limit
                if decoded.error is None:
                    return decoded.data, decoded.rate_limit
                failure = decoded.error
            wait = next_wait(self.retry, failure, attempt, retryable)
            if wait is None:
                raise failure
            logger.warning(
                "%s %s failed (%s); retrying in %.2f s (attempt %d of %d)",
                method,
                url,
                _reason(failure),
                wait,
                attempt + 1,
                self.retry.max_attempts,
            )
            await self.sleep(wait, method, url)

    async def get_json(self, url: URL) -> tuple[Any, RateLimit | None]:
        """GET ``url``: its parsed JSON body and rate limit, retried as a read."""
        return await self.request("GET", url)


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
        return SessionClosedError(
            f"{self._method} {self._url}: the NorthflankSession was closed {self._when}"
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


def _log_attempt(method: str, url: URL, outcome: int | str, attempt: int, started: float) -> None:
    """The DEBUG line for one request: its URL, status (or failure), attempt and time."""
    if logger.isEnabledFor(logging.DEBUG):
        elapsed = (time.perf_counter() - started) * 1000
        logger.debug("%s %s -> %s (attempt %d, %.1f ms)", method, url, outcome, attempt, elapsed)


def _reason(failure: NorthflankError) -> str:
    status = getattr(failure, "status", None)
    return f"status {status}" if status is not None else type(failure).__name__
