"""The one request function: rate limit, concurrency, retries, status -> exception.

Everything that touches the network goes through :meth:`Transport.get_json`. It reads
each body completely before returning, so no connection is ever held while a caller
works on a page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from . import _jsonlib
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    NorthflankError,
    ResponseValidationError,
    SessionClosedError,
    error_for_status,
    excerpt,
)
from ._log import logger
from ._models import RateLimit
from ._retry import RETRY_STATUSES, RetryPolicy, server_wait

__all__ = ["Transport", "logger"]


T = TypeVar("T")


def parse_rate_limit(headers: Mapping[str, str], now: datetime) -> RateLimit | None:
    """The ``x-ratelimit-*`` headers as a RateLimit, or None when any is missing or bad."""
    try:
        limit = int(headers["x-ratelimit-limit"])
        remaining = int(headers["x-ratelimit-remaining"])
        reset = float(headers["x-ratelimit-reset"])
    except (KeyError, ValueError):
        return None
    if not 0 <= reset < 1e7:  # also refuses nan
        return None
    return RateLimit(limit=limit, remaining=remaining, reset_at=now + timedelta(seconds=reset))


class Transport:
    """Sends GET requests for a session and turns every answer into data or an error."""

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

    async def sleep(self, seconds: float, url: URL) -> None:
        """Sleep with the policy's sleep before a request to ``url``; closing cuts it short."""
        with _Interruptible(self, url, "while the request waited to be sent"):
            await self.retry.sleep(seconds)

    async def _wait_for_budget(self, url: URL) -> None:
        """Sleep until the rate-limit window resets when the last answer left no budget."""
        latest = self.rate_limit
        if latest is None or latest.remaining > 0:
            return
        wait = (latest.reset_at - datetime.now(UTC)).total_seconds()
        if 0 < wait <= self.retry.max_wait:
            logger.warning(
                "rate limit spent (%d requests); waiting %.1f s for the window to reset before GET %s",
                latest.limit,
                wait,
                url,
            )
            await self.sleep(wait, url)

    async def get_json(self, url: URL) -> tuple[Any, RateLimit | None]:
        """GET ``url`` and return its parsed JSON body and rate limit, retrying as the policy says.

        Raises the matching :class:`NorthflankError`; never an aiohttp exception, and
        never one chained to an exception that could hold the request headers.
        """
        policy = self.retry
        attempt = 0
        while True:
            attempt += 1
            await self._wait_for_budget(url)
            failure: NorthflankError
            wait: float | None = None
            started = time.perf_counter()
            try:
                with _Interruptible(self, url, "mid-request"):
                    async with self._semaphore:
                        http = self._client()
                        async with http.get(
                            url,
                            headers=self._headers,
                            allow_redirects=False,
                            # Statuses are ours to judge, even on a session passed in
                            # with raise_for_status=True.
                            raise_for_status=False,
                            timeout=self._timeout,
                        ) as response:
                            body = await response.read()
            except TimeoutError:
                _log_attempt(url, "timeout", attempt, started)
                failure = APITimeoutError(
                    f"GET {url}: no complete answer within {self._timeout_seconds:g} s "
                    f"(attempt {attempt} of {policy.max_attempts})",
                    url=str(url),
                )
            except aiohttp.ClientError as exc:
                _log_attempt(url, type(exc).__name__, attempt, started)
                failure = APIConnectionError(
                    f"GET {url}: {type(exc).__name__}: {exc} "
                    f"(attempt {attempt} of {policy.max_attempts})",
                    url=str(url),
                )
            else:
                status = response.status
                headers = response.headers
                _log_attempt(url, status, attempt, started)
                rate_limit = parse_rate_limit(headers, datetime.now(UTC))
                if rate_limit is not None:
                    self.rate_limit = rate_limit
                if 200 <= status < 300:
                    return _parse_body(body, url, status), rate_limit
                wait = server_wait(status, headers)
                failure = error_for_status(
                    status, body, str(url), reason=response.reason or "", retry_after=wait
                )
                if 300 <= status < 400:
                    failure.message += (
                        f" (redirect to {headers.get('Location', '?')} not followed: "
                        "the API does not redirect and the token must not travel elsewhere)"
                    )
                if status not in RETRY_STATUSES:
                    raise failure
            if attempt >= policy.max_attempts:
                raise failure
            if wait is None:
                wait = policy.backoff(attempt)
            elif wait > policy.max_wait:
                raise failure
            logger.warning(
                "GET %s failed (%s); retrying in %.2f s (attempt %d of %d)",
                url,
                _reason(failure),
                wait,
                attempt + 1,
                policy.max_attempts,
            )
            await self.sleep(wait, url)


class _Interruptible:
    """A stretch of a request (sending it, or waiting to) that closing the session ends.

    :meth:`Transport.close` cancels the task inside it; here that cancellation is taken
    back and becomes :class:`SessionClosedError`. When the task's owner cancelled it
    too, ``CancelledError`` goes on as it is.
    """

    __slots__ = ("_task", "_transport", "_url", "_when")

    def __init__(self, transport: Transport, url: URL, when: str) -> None:
        self._transport = transport
        self._url = url
        self._when = when
        task = asyncio.current_task()
        assert task is not None, "requests run inside an asyncio task"
        self._task = task

    def _error(self) -> SessionClosedError:
        return SessionClosedError(f"GET {self._url}: the NorthflankSession was closed {self._when}")

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


def _log_attempt(url: URL, outcome: int | str, attempt: int, started: float) -> None:
    """The DEBUG line for one request: its URL, status (or failure), attempt and time."""
    if logger.isEnabledFor(logging.DEBUG):
        elapsed = (time.perf_counter() - started) * 1000
        logger.debug("GET %s -> %s (attempt %d, %.1f ms)", url, outcome, attempt, elapsed)


def _reason(failure: NorthflankError) -> str:
    status = getattr(failure, "status", None)
    return f"status {status}" if status is not None else type(failure).__name__


def _parse_body(body: bytes, url: URL, status: int) -> Any:
    if not body.strip():
        raise ResponseValidationError(
            f"GET {url}: the {status} answer has an empty body", url=str(url)
        )
    try:
        return _jsonlib.loads(body)
    except ValueError:
        pass
    raise ResponseValidationError(
        f"GET {url}: the {status} answer is not JSON: {excerpt(body)!r}", url=str(url)
    )
