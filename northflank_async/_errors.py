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
    ├── APIConnectionError                   no answer: refused, reset, DNS, TLS (.sent)
    │   └── APITimeoutError (TimeoutError)   no answer within the session's timeout
    ├── ResponseValidationError (ValueError) a 2xx answer that is not what the API documents
    │   └── ResponseTooLargeError            an answer larger than the session's max_response_size
    ├── PaginationError                      the cursor chain would loop or cannot go on
    ├── SessionClosedError (RuntimeError)    the NorthflankSession was closed under a walk
    ├── EventLoopError (RuntimeError)        the session was used from a second event loop
    ├── BackupFailedError                    a waited-for backup or restore did not complete
    ├── WaitTimeoutError (TimeoutError)      a wait ran out of time (.last: the state seen)
    └── DownloadError                        a backup's bytes could not be fetched whole and verified

Messages name the request URL (long query values shortened; ``url`` keeps it whole) and
what was wrong. The API token never appears in a message, an exception's arguments, or
anything chained beneath it: text that comes from a server is scrubbed of it first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from . import _jsonlib

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BackupFailedError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "EventLoopError",
    "NorthflankError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ServerError",
    "SessionClosedError",
    "WaitTimeoutError",
    "error_for_status",
]

_EXCERPT = 200
#: A query value longer than this (a cursor is ~100) is shortened where a URL is shown in a message.
_LONG_VALUE = 200
_QUERY_VALUE = re.compile(r"([?&][^=&#]*=)([^&#]{" + str(_LONG_VALUE + 1) + ",})")
_SCRUBBED = "<token>"


def excerpt(body: bytes | str, limit: int = _EXCERPT) -> str:
    """The start of a response body, decoded leniently and cut to ``limit`` characters."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_repr(value: object, limit: int = _EXCERPT) -> str:
    """An excerpt of ``repr(value)``, even for data nested too deeply to print."""
    try:
        return excerpt(repr(value), limit)
    except RecursionError:
        return f"<{type(value).__name__} nested too deeply to show>"


def _shorten_value(match: re.Match[str]) -> str:
    key, value = match.group(1), match.group(2)
    return f"{key}{value[:48]}…({len(value)} chars)"


def display_url(url: object) -> str:
    """``url`` as a message shows it: each query value over 200 characters shortened.

    A 10 KB cursor stays whole on the error's ``url``; the message names its start.
    """
    text = str(url)
    return _QUERY_VALUE.sub(_shorten_value, text) if "?" in text else text


#: A token shorter than this is no real credential (a test's ``"t"``): scrubbing it
#: would garble every message, so it is not scrubbed.
_MIN_SECRET = 8


def secret_forms(token: str) -> tuple[str, ...]:
    """The ways a token can be echoed back in text: as it is, and JSON- or URL-escaped."""
    if len(token) < _MIN_SECRET:
        return ()
    forms = (token, json.dumps(token)[1:-1], quote(token, safe=""))
    return tuple(dict.fromkeys(form for form in forms if form))


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret replaced by ``<token>``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, _SCRUBBED)
    return text


def scrub_bytes(body: bytes, secrets: Sequence[str]) -> bytes:
    """``body`` with every secret (as UTF-8) replaced by ``<token>``, before anything reads it."""
    for secret in secrets:
        raw = secret.encode()
        if raw in body:
            body = body.replace(raw, _SCRUBBED.encode())
    return body


def redact(error: BaseException, secrets: Sequence[str]) -> None:
    """Scrub every secret from the text an error carries: its arguments and string fields.

    ``details`` of an :class:`APIStatusError` come from a body scrubbed as bytes before
    it was parsed (see :func:`scrub_bytes`), so they are not walked here.
    """
    if not secrets:
        return
    if any(isinstance(arg, str) for arg in error.args):
        error.args = tuple(scrub(a, secrets) if isinstance(a, str) else a for a in error.args)
    for name, value in vars(error).items():
        if isinstance(value, str):
            setattr(error, name, scrub(value, secrets))


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
        text = f"{self.status} from {self.method} {display_url(self.url)}: {self.message}"
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
    """The request got no HTTP answer: connection refused or reset, DNS or TLS failure.

    ``sent`` is False when the connection could not even be opened, so the request never
    left this machine; True when it may have reached the API (the connection dropped
    after sending, or the answer was too slow), which matters for a write.
    """

    def __init__(self, message: str, *, url: str, sent: bool = True) -> None:
        super().__init__(message)
        self.url = url
        self.sent = sent


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


class ResponseTooLargeError(ResponseValidationError):
    """An answer whose body is larger than the session's ``max_response_size``.

    Reading stopped at the limit, so memory stays bounded whatever a server sends;
    ``status`` is the answer's status and ``limit`` the size in bytes it passed. It is
    not retried: the same request would bring the same answer.
    """

    def __init__(self, message: str, *, url: str, status: int, limit: int) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.limit = limit


class PaginationError(NorthflankError):
    """The cursor chain cannot be followed safely: a cursor came back twice, or is missing."""

    def __init__(self, message: str, *, url: str, page: int) -> None:
        super().__init__(message)
        self.url = url
        self.page = page


class SessionClosedError(NorthflankError, RuntimeError):
    """The NorthflankSession was closed while a request or a walk still needed it."""


class EventLoopError(NorthflankError, RuntimeError):
    """The session was used from an event loop other than the one it first ran in.

    Its connection pool belongs to that loop. Create one session per event loop: with
    two ``asyncio.run()`` calls, create the session inside the coroutine each one runs.
    """


class BackupFailedError(NorthflankError):
    """A backup (or restore) that was waited for ended in a status other than ``completed``.

    ``backup`` is its last state for a backup wait, ``restore`` for a restore wait (the
    other is None); ``status`` is that final status.
    """

    def __init__(self, message: str, *, backup: Any = None, restore: Any = None) -> None:
        super().__init__(message)
        self.backup = backup
        self.restore = restore
        self.status = str((backup if backup is not None else restore).status)


class WaitTimeoutError(NorthflankError, TimeoutError):
    """A wait for a backup or restore ran out of time before a final status.

    ``last`` is the last state seen (a ``Backup`` or ``Restore``), ``timeout`` the
    seconds waited. The backup or restore itself goes on: only the waiting stopped.
    """

    def __init__(self, message: str, *, last: Any, timeout: float) -> None:
        super().__init__(message)
        self.last = last
        self.timeout = timeout


class DownloadError(NorthflankError):
    """A backup download that could not be completed and verified.

    Raised when the bytes received do not add up to what the storage host announced
    (``Content-Length``, or the total of ``Content-Range``) or to the backup's
    ``config.size``; when the storage host refuses the link (even a fresh one), answers
    with an error, or redirects somewhere a download may not go; and when the
    connection kept dropping past the session's ``RetryPolicy``. Nothing is left on
    disk. ``url`` is the storage host and path only: the link's query string is a
    credential, and never appears here. ``expected`` (None when unknown) and
    ``received`` count bytes; ``status`` is the storage host's last status, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        expected: int | None = None,
        received: int = 0,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.expected = expected
        self.received = received
        self.status = status


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
        parsed = _jsonlib.loads(body)
    except ValueError:  # also nested too deeply, numbers too long, not UTF-8
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, Mapping) or not isinstance(error.get("message"), str):
        return None
    error_id = error.get("id")
    details = error.get("details")
    if not _shallow(details):
        details = None  # nothing could print it: repr() would raise RecursionError
    return error["message"], error_id if isinstance(error_id, str) else None, details


#: How deeply nested an error's ``details`` may be and still be kept.
_MAX_DETAILS_DEPTH = 32


def _shallow(value: Any) -> bool:
    """Whether ``value`` nests lists and dicts at most :data:`_MAX_DETAILS_DEPTH` deep."""
    level: list[Any] = [value]
    for _ in range(_MAX_DETAILS_DEPTH + 1):
        below: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                below.extend(item.values())
            elif isinstance(item, list):
                below.extend(item)
        if not below:
            return True
        level = below
    return False


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
