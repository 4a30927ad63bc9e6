"""Every error the SDK raises, rooted at :class:`NorthflankError`.

::

    NorthflankError
    ├── ConfigurationError (ValueError)      bad token, base URL or option, found before any request
    ├── APIStatusError                       the API answered with a non-2xx status
    │   ├── BadRequestError                  400
    │   ├── AuthenticationError              401
    │   ├── PermissionDeniedError            403
    │   ├── NotFoundError                    404
    │   ├── ConflictError                    409
    │   ├── RateLimitError                   429
    │   └── ServerError                      5xx
    ├── APIConnectionError                   no answer: refused, reset, DNS, TLS
    │   └── APITimeoutError (TimeoutError)   no answer within the session's timeout
    ├── ResponseValidationError (ValueError) a 2xx answer that is not what the API documents
    ├── PaginationError                      the cursor chain would loop or cannot go on
    └── SessionClosedError (RuntimeError)    the NorthflankSession was closed under a walk

Messages name the request URL and what was wrong; the API token never appears in a
message, an exception's arguments, or anything chained beneath it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "NorthflankError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "SessionClosedError",
    "error_for_status",
]

_EXCERPT = 200


def excerpt(body: bytes | str, limit: int = _EXCERPT) -> str:
    """The start of a response body, decoded leniently and cut to ``limit`` characters."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class NorthflankError(Exception):
    """The root of every error the SDK raises."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields are not in ``args``: carry them in the state, so errors
        # survive pickling (multiprocessing, task queues) as the same class and values.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[NorthflankError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """An error of ``cls`` with ``args`` and attributes ``state``, without calling __init__."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigurationError(NorthflankError, ValueError):
    """The session cannot be built as asked: no token, an unsafe base URL, a bad option."""


class APIStatusError(NorthflankError):
    """The API answered with an error status.

    ``message``, ``error_id`` and ``details`` come from the API's ``{"error": {...}}``
    body, or ``message`` is the start of the raw body when it is not that JSON.
    ``retry_after`` is the wait in seconds the server asked for, when it asked;
    ``method`` and ``url`` name the request.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        url: str,
        error_id: str | None = None,
        details: Any = None,
        retry_after: float | None = None,
        method: str = "GET",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url
        self.method = method
        self.error_id = error_id
        self.details = details
        self.retry_after = retry_after

    def __str__(self) -> str:
        text = f"{self.status} from {self.method} {self.url}: {self.message}"
        if self.error_id:
            text += f" (error id {self.error_id})"
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g} s)"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, url={self.url!r}, message={self.message!r})"


class BadRequestError(APIStatusError):
    """400: the API refused the request's parameters."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, malformed, expired or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the token may not read this resource."""


class NotFoundError(APIStatusError):
    """404: no such project, addon or route (or the token cannot see it)."""


class ConflictError(APIStatusError):
    """409: the resource is in a state that conflicts with the request."""


class RateLimitError(APIStatusError):
    """429: the token spent its hourly request budget; ``retry_after`` says how long to wait."""


class ServerError(APIStatusError):
    """5xx: the API or a proxy in front of it failed."""


class APIConnectionError(NorthflankError):
    """The request got no HTTP answer: connection refused or reset, DNS or TLS failure."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class APITimeoutError(APIConnectionError, TimeoutError):
    """The request got no complete answer within the session's timeout."""


class ResponseValidationError(NorthflankError, ValueError):
    """A 2xx answer whose body is not the JSON the API documents.

    ``path`` is the JSON path of the bad value (``data.backups[3].config.size``) when
    one value is to blame, else ``None``.
    """

    def __init__(self, message: str, *, url: str, path: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.path = path


class PaginationError(NorthflankError):
    """The cursor chain cannot be followed safely: a cursor came back twice, or is missing."""

    def __init__(self, message: str, *, url: str, page: int) -> None:
        super().__init__(message)
        self.url = url
        self.page = page


class SessionClosedError(NorthflankError, RuntimeError):
    """The NorthflankSession was closed while a request or a walk still needed it."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def _error_fields(body: bytes) -> tuple[str, str | None, Any] | None:
    """``(message, id, details)`` from the API's error JSON, or None when the body is not that."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, Mapping) or not isinstance(error.get("message"), str):
        return None
    error_id = error.get("id")
    return error["message"], error_id if isinstance(error_id, str) else None, error.get("details")


def error_for_status(
    status: int,
    body: bytes,
    url: str,
    *,
    reason: str = "",
    retry_after: float | None = None,
    method: str = "GET",
    location: str | None = None,
) -> APIStatusError:
    """The exception for an error answer: the class follows the status, the text the body.

    A redirect (3xx) says where it pointed (``location``) and that it was not followed.
    """
    cls = _STATUS_CLASSES.get(status) or (ServerError if status >= 500 else APIStatusError)
    fields = _error_fields(body)
    if fields is not None:
        message, error_id, details = fields
    else:
        error_id, details = None, None
        message = excerpt(body) or reason or "no response body"
    if 300 <= status < 400:
        message += (
            f" (redirect to {location or '?'} not followed: "
            "the API does not redirect and the token must not travel elsewhere)"
        )
    return cls(
        message,
        status=status,
        url=url,
        error_id=error_id,
        details=details,
        retry_after=retry_after,
        method=method,
    )
