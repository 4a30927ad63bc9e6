"""The server side of the mock's storage origin: streamed bodies, cuts, and GCS's XML errors.

A body is streamed in pieces and never held whole; connections being streamed to, or
left to close after a cut, are aborted when the application shuts down, so a client
that stopped reading never holds up ``close()`` (as ``AppState.endless`` does for the
API's endless answers).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator, Mapping
from typing import Final
from xml.sax.saxutils import escape

from aiohttp import web

__all__ = ["Connections", "xml_error"]

_XML: Final = "application/xml; charset=UTF-8"


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


def xml_error(
    status: int,
    code: str,
    message: str,
    details: str = "",
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """GCS's XML error answer: ``<Error>`` with ``<Code>``, ``<Message>``, maybe ``<Details>``."""
    body = "<?xml version='1.0' encoding='UTF-8'?>"
    body += f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
    if details:
        body += f"<Details>{escape(details)}</Details>"
    body += "</Error>"
    all_headers = {"Content-Type": _XML, **(headers or {})}
    return web.Response(status=status, body=body.encode(), headers=all_headers)
