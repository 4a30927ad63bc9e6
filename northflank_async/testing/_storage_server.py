"""GCS's XML errors, as the mock's storage origin answers them.

Its bodies are streamed by ``_server.Connections``, as the API's endless answers are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from xml.sax.saxutils import escape

from aiohttp import web

__all__ = ["xml_error"]

_XML: Final = "application/xml; charset=UTF-8"


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
