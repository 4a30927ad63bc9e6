"""The server side of the mock's answers: sleeps, endless bodies, faults, cut connections.

What ``MockNorthflank`` sends instead of a route's answer lives here, away from the
request handling: the per-application state (sleeping requests, streamed and endless bodies),
the response of a planned fault, and closing a connection without an answer.
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Iterator
from urllib.parse import urlsplit

from aiohttp import web
from yarl import URL

from ._faults import Fault
from ._http import HTML, JSON, RecordedRequest, error_response


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, URL]:
    """Serve ``app`` on ``host``:``port`` (0 picks a free port): its runner and base URL.

    Stalled handlers are cancelled at cleanup, waiting at most 5 s; no access log.
    """
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=5.0, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = int(runner.addresses[0][1])
    except BaseException:
        await runner.cleanup()
        raise
    return runner, URL.build(scheme="http", host=host, port=bound_port)


def split_target(request: web.BaseRequest) -> tuple[str, str]:
    """The raw path and raw query of a request, also in absolute form (through a proxy)."""
    target = request.raw_path
    if target.startswith("/"):
        raw_path, _, raw_query = target.partition("?")
        return raw_path, raw_query
    parts = urlsplit(target)
    return parts.path, parts.query


def resolve(waiter: asyncio.Future[None]) -> None:
    """Wake ``waiter`` unless it is already done."""
    if not waiter.done():
        waiter.set_result(None)


class Connections:
    """Per-application state: connections being streamed to or left to close, all cut
    when the app shuts down, so a client that stopped reading holds nothing up."""

    def __init__(self) -> None:
        self.closing = False
        self._streams: set[asyncio.Transport] = set()
        self._lingering: weakref.WeakSet[asyncio.Transport] = weakref.WeakSet()

    async def stream(
        self,
        request: web.BaseRequest,
        response: web.StreamResponse,
        chunks: Iterator[bytes],
        *,
        cut: bool,
    ) -> None:
        """Send ``response`` and ``chunks``; then end it, or close the connection if ``cut``."""
        transport = request.transport
        if not isinstance(transport, asyncio.Transport):
            return  # pragma: no cover - the connection is gone before the answer starts
        self._streams.add(transport)
        try:
            await response.prepare(request)
            await response.write(b"")  # the headers go now, even if no byte follows
            for chunk in chunks:
                if self.closing:
                    break
                await response.write(chunk)
            else:
                if not cut:
                    await response.write_eof()
                    return
                # close(), not abort(): what was written reaches the client, then the end.
                transport.close()
                self._lingering.add(transport)
                return
        except ConnectionError:
            pass  # the client went away, or shutdown cut the connection
        finally:
            self._streams.discard(transport)
        # abort(), not close(): close() would wait to flush what a client may never read.
        transport.abort()

    async def on_shutdown(self, app: web.Application) -> None:
        """Cut every connection being streamed to or left to close."""
        self.closing = True
        for transport in [*self._streams, *self._lingering]:
            transport.abort()


class AppState:
    """Per-application state: sleeping requests, woken early when the app shuts down,
    and endless answers, whose connections are cut then."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        self._connections = Connections()

    @property
    def closing(self) -> bool:
        """Whether the application is shutting down."""
        return self._connections.closing

    async def sleep(self, seconds: float) -> None:
        if self.closing or seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        handle = loop.call_later(seconds, resolve, waiter)
        self._waiters.add(waiter)
        try:
            await waiter
        finally:
            handle.cancel()
            self._waiters.discard(waiter)

    async def endless(
        self, request: web.BaseRequest, response: web.StreamResponse, chunk: bytes
    ) -> None:
        """Send ``response``, then ``chunk`` again and again until the connection ends."""
        await self._connections.stream(request, response, itertools.repeat(chunk), cut=True)

    async def on_shutdown(self, app: web.Application) -> None:
        for waiter in self._waiters:
            resolve(waiter)
        await self._connections.on_shutdown(app)


def close_unanswered(request: web.BaseRequest) -> web.StreamResponse:
    """Close the request's connection without sending a byte of an answer.

    Returns what the handler returns: writing it to the closed transport makes aiohttp
    treat the request as a client disconnect (nothing is sent, nothing logged as an
    error). The client sees the connection end, as when a proxy or the network drops it.
    """
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response()


async def endless_response(
    request: web.BaseRequest, fault: Fault, headers: dict[str, str], state: AppState
) -> web.StreamResponse:
    """The fault's status, then its chunk over and over until the connection ends."""
    assert fault.body is not None
    headers["Content-Type"] = fault.content_type or JSON
    response = web.StreamResponse(status=fault.status, headers=headers)
    await state.endless(request, response, fault.body)
    return response


def fault_response(
    request: web.BaseRequest,
    record: RecordedRequest,
    fault: Fault,
    headers: dict[str, str],
) -> web.StreamResponse:
    """The answer a ``drop``, ``redirect``, ``fail`` or ``bad_json`` fault sends instead."""
    if fault.kind == "drop":
        return close_unanswered(request)
    if fault.kind == "redirect":
        assert fault.location is not None
        headers["Location"] = fault.location
        headers["Content-Type"] = "text/plain; charset=utf-8"
        return web.Response(status=fault.status, body=b"Redirecting", headers=headers)
    if fault.body is None:
        message = f"Injected fault: HTTP {fault.status}"
        response = error_response(record.number, fault.status, message, headers)
    else:
        headers["Content-Type"] = fault.content_type or HTML
        response = web.Response(status=fault.status, body=fault.body, headers=headers)
    if fault.content_type is not None:
        response.headers["Content-Type"] = fault.content_type
    for key, value in fault.headers:
        response.headers[key] = value
    return response
