"""Helpers of the download tests: a small storage origin of the test's own, and checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from yarl import URL

from northflank_async.testing import MockNorthflank

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Origin:
    """A loopback HTTP origin whose answers each test writes (``handler``).

    The mock's storage redirects to it (``mock.storage.faults.redirect``), so a test can
    serve what the mock's storage cannot: a chunked body, a changed object, a stall.
    """

    def __init__(self) -> None:
        self.handler: Handler | None = None
        self.requests: list[web.Request] = []
        self.headers: list[dict[str, str]] = []
        self.gone = asyncio.Event()
        """Set when a body being sent finds that the client went away."""
        self.release = asyncio.Event()
        """Set to let a stalled body go on (the origin sets it itself when closing)."""
        self.base_url = URL()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request)
        self.headers.append(dict(request.headers.items()))
        assert self.handler is not None, "the test sets the origin's handler"
        return await self.handler(request)

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this origin."""
        return str(self.base_url.with_path(path))

    async def stall_after(
        self, request: web.Request, body: bytes, sent: int, *, etag: str = '"v1"'
    ) -> web.StreamResponse:
        """Announce ``body`` whole, send its first ``sent`` bytes, then wait for ``release``.

        ``gone`` is set when the client hangs up meanwhile.
        """
        response = web.StreamResponse(
            headers={"Content-Length": str(len(body)), "ETag": etag},
        )
        await response.prepare(request)
        await response.write(body[:sent])
        try:
            while not self.release.is_set():
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                await asyncio.sleep(0.005)
        finally:  # also when aiohttp cancels the handler as the client hangs up
            if not self.release.is_set():
                self.gone.set()
        return response

    @staticmethod
    async def cut_after(
        request: web.Request, body: bytes, sent: int, *, etag: str = '"v1"'
    ) -> web.StreamResponse:
        """Answer 200 announcing ``body`` whole, send ``sent`` bytes of it, cut the connection."""
        response = web.StreamResponse(headers={"Content-Length": str(len(body)), "ETag": etag})
        await response.prepare(request)
        await response.write(body[:sent])
        assert request.transport is not None
        request.transport.close()
        return response

    @staticmethod
    async def chunked(request: web.Request, body: bytes) -> web.StreamResponse:
        """Answer 200 with ``body`` in chunked encoding: no length announced."""
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 64 * 1024):
            await response.write(body[start : start + 64 * 1024])
        await response.write_eof()
        return response


@asynccontextmanager
async def serve_origin() -> AsyncIterator[Origin]:
    """An :class:`Origin` listening on 127.0.0.1, closed afterwards."""
    origin = Origin()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", origin._handle)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    origin.base_url = URL.build(scheme="http", host="127.0.0.1", port=runner.addresses[0][1])
    try:
        yield origin
    finally:
        origin.release.set()
        await runner.cleanup()


def leftovers(directory: Path) -> list[str]:
    """Every file name in ``directory``, temporary ones included."""
    return sorted(path.name for path in directory.iterdir())


def api_paths(mock: MockNorthflank) -> list[str]:
    """The path of every API request, in order, after the addon's backups route."""
    return [r.path.rpartition("/backups/")[2] for r in mock.requests]


def signatures(mock: MockNorthflank) -> list[str]:
    """Every link signature the storage saw (the credential in a link)."""
    found = (r.query.get("X-Goog-Signature") for r in mock.storage.requests)
    return [signature for signature in found if signature]
