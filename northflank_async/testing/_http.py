"""What the server and the routes share: recorded requests, API errors and JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

JSONDict = dict[str, Any]

JSON: Final = "application/json"
HTML: Final = "text/html; charset=utf-8"
_SEPARATORS: Final = (",", ":")


def dumps(obj: object) -> bytes:
    """Compact JSON bytes, as the API sends them."""
    # check_circular=False: about a third faster on a page of backups; JSON from the
    # API is never circular (a circular dict added by hand raises RecursionError).
    return json.dumps(obj, separators=_SEPARATORS, check_circular=False).encode()


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the mock received it, for a test to assert what a client sent.

    ``MockNorthflank.requests`` and ``MockStorage.requests`` hold them in arrival order.
    ``MockNorthflank`` never stores the bearer token; ``MockStorage`` keeps headers as
    received, so a test can check that none was sent to it.

    Example:

    ```python
    await nf.get_backup_page(project_id, addon_id, per_page=10)
    last = mock.requests[-1]
    print(last.method, last.path, last.query)  # GET /v1/projects/project-1/... {'per_page': '10'}
    assert last.authorized and last.headers["Authorization"] == "Bearer <redacted>"
    ```
    """

    number: int
    """The 1-based position among all requests this mock received."""
    method: str
    """The HTTP method (``GET``, ``POST``, ...)."""
    raw_path: str
    """The path of the raw request target, percent-encoding kept, without the query."""
    path: str
    """The path, percent-decoded."""
    query: dict[str, str]
    """The decoded query parameters; the last value wins."""
    raw_query: str
    """The query string as sent (percent-encoding kept), without the ``?``."""
    headers: dict[str, str]
    """The request's headers.

    ``MockNorthflank`` replaces ``Authorization`` by ``Bearer <redacted>``.
    """
    received_at: float
    """The clock reading when the request arrived (``time.monotonic`` by default)."""
    authorized: bool = False
    """Whether the request carried exactly the expected bearer token."""
    body: Any = None
    """The request body parsed as JSON (whatever its ``Content-Type``), or None.

    None when there is no body or it is not JSON. Recorded for every request, also one
    that a fault answers, so a test can assert what a write sent.
    """


def parse_json(raw: bytes) -> Any:
    """``raw`` parsed as JSON, or ``None`` when it is empty or not JSON (``RecordedRequest.body``)."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


class ApiError(Exception):
    """Raised by the server or a route to answer with the API's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        details: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


def error_response(
    number: int,
    status: int,
    message: str,
    headers: dict[str, str],
    details: object = None,
) -> web.Response:
    """The API's error JSON for request ``number``; ``headers`` gets the content type."""
    error: JSONDict = {"status": status, "message": message, "id": f"mock-error-{number:06d}"}
    if details is not None:
        error["details"] = details
    headers["Content-Type"] = JSON
    return web.Response(status=status, body=dumps({"error": error}), headers=headers)
