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
    """The root of every error the SDK raises.

    Catch it to handle every failure of a call at once. Messages name the request's
    URL (long query values shortened) and what was wrong, never the API token: text
    that comes from a server is scrubbed of it first. Errors survive pickling with their
    class and attributes (for multiprocessing and task queues).

    Example:

    ```python
    from northflank_async import NorthflankError

    try:
        await nf.get_backup(project_id, addon_id, "no-such-backup")
    except NorthflankError as error:
        print(type(error).__name__, error)
    ```
    """

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
    """The session cannot be built as asked: no token, an unsafe base URL, a bad option.

    Raised by ``NorthflankSession(...)`` before any request; also a ``ValueError``.
    """


class APIStatusError(NorthflankError):
    """The API answered with an error status.

    The subclass follows the status (404: [NotFoundError][northflank_async.NotFoundError],
    ...); a status without one of its own (405, 422, ...) is an ``APIStatusError``.
    ``message``, ``error_id`` and ``details`` come from the API's ``{"error": {...}}``
    body, or ``message`` is the start of the raw body when it is not that JSON.

    Example:

    ```python
    from northflank_async import APIStatusError

    try:
        await nf.get_backup(project_id, addon_id, "no-such-backup")
    except APIStatusError as error:
        print(error.status, error.message, error.error_id, error.url)
    ```

    :param message: the API's message, or the start of the body.
    :param status: the HTTP status of the answer.
    :param url: the URL of the request, in full.
    :param error_id: the API's id of the error, if it sent one.
    :param details: the API's ``details`` of the error, if it sent them.
    :param retry_after: seconds the server asked to wait, if it asked.
    :param method: the HTTP method of the request.
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
        """The API's message, or the start of the raw body."""
        self.status = status
        """The HTTP status of the answer."""
        self.url = url
        """The request's URL, whole (a message shortens long query values)."""
        self.method = method
        """The request's HTTP method."""
        self.error_id = error_id
        """The API's id of this error (quote it to support), or None."""
        self.details = details
        """The API's ``details`` of the error (often which field was wrong), or None.

        Dropped (None) when nested more than 32 levels deep.
        """
        self.retry_after = retry_after
        """Seconds the server asked to wait, or None.

        From ``Retry-After`` (or ``x-ratelimit-reset`` on a 429). When it is longer than the
        policy's ``max_wait``, the error is raised at once instead of waiting.
        """

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
    """400: the API refused the request's parameters or body."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, malformed, expired or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the token may not read or change this resource."""


class NotFoundError(APIStatusError):
    """404: no such project, addon, backup or route (or the token cannot see it)."""


class ConflictError(APIStatusError):
    """409: the resource is in a state that conflicts with the request.

    For example: aborting a backup that has ended, deleting one still running, or
    restoring or downloading one that has not completed.
    """


class RateLimitError(APIStatusError):
    """429: the token spent its hourly request budget; ``retry_after`` says how long to wait.

    Raised once the session's [RetryPolicy][northflank_async.RetryPolicy] gives up: at
    once when the server asks for a wait longer than its ``max_wait``.
    """


class ServerError(APIStatusError):
    """5xx: the API or a proxy in front of it failed (raised after the retries)."""


class APIConnectionError(NorthflankError):
    """The request got no HTTP answer: connection refused or reset, DNS or TLS failure.

    Raised after the session's retries are spent.

    :param message: what went wrong.
    :param url: the URL of the request.
    :param sent: whether the request may have reached the API.
    """

    def __init__(self, message: str, *, url: str, sent: bool = True) -> None:
        super().__init__(message)
        self.url = url
        """The request's URL."""
        self.sent = sent
        """Whether the request may have reached the API.

        False when the connection could not even be opened, so the request never left
        this machine; True when it may have (the connection dropped after sending, or the
        answer was too slow), which matters for a write.
        """


class APITimeoutError(APIConnectionError, TimeoutError):
    """The request got no complete answer within the session's timeout.

    Also a ``TimeoutError``.
    """


class ResponseValidationError(NorthflankError, ValueError):
    """A 2xx answer whose body is not the JSON the API documents.

    Also a ``ValueError``. Raised too for a body that is no JSON at all, nested too
    deeply, with a number too long, or not UTF-8.

    :param message: what was wrong, with the request's URL.
    :param url: the URL of the request.
    :param path: the JSON path of the bad value, if one value is to blame.
    """

    def __init__(self, message: str, *, url: str, path: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        """The request's URL."""
        self.path = path
        """The JSON path of the bad value (``data.backups[3].config.size``), or None.

        None when no one value is to blame.
        """


class ResponseTooLargeError(ResponseValidationError):
    """An answer whose body is larger than the session's ``max_response_size``.

    Reading stopped at the limit, so memory stays bounded whatever a server sends. It
    is not retried: the same request would bring the same answer.

    :param message: what was wrong, with the request's URL.
    :param url: the URL of the request.
    :param status: the answer's HTTP status.
    :param limit: the size in bytes the body passed.
    """

    def __init__(self, message: str, *, url: str, status: int, limit: int) -> None:
        super().__init__(message, url=url)
        self.status = status
        """The answer's HTTP status."""
        self.limit = limit
        """The size in bytes the body passed (``max_response_size``)."""


class PaginationError(NorthflankError):
    """The cursor chain cannot be followed safely: a cursor came back twice, or is missing.

    Also raised after 100 empty pages in a row that each say there is more. The pages
    before it were yielded.

    :param message: what was wrong, with the request's URL.
    :param url: the URL of the page that carried the bad cursor.
    :param page: the 1-based number of that page in the walk.
    """

    def __init__(self, message: str, *, url: str, page: int) -> None:
        super().__init__(message)
        self.url = url
        """The URL of the page that carried the bad cursor."""
        self.page = page
        """The 1-based number of that page in the walk."""


class SessionClosedError(NorthflankError, RuntimeError):
    """The NorthflankSession was closed while a request or a walk still needed it.

    Also a ``RuntimeError``.
    """


class EventLoopError(NorthflankError, RuntimeError):
    """The session was used from an event loop other than the one it first ran in.

    Also a ``RuntimeError``. Its connection pool belongs to that loop. Create one session
    per event loop: with two ``asyncio.run()`` calls, create the session inside the
    coroutine each one runs.
    """


class BackupFailedError(NorthflankError):
    """A backup (or restore) that was waited for ended in a status other than ``completed``.

    Raised by the waits (``wait_for_backup``, ``create_backup(wait=True)``, and their
    restore forms) for ``failed``, ``aborted`` or ``not-supported``, unless
    ``raise_on_failure=False``.

    :param message: what ended, and how.
    :param backup: the backup's last state, for a backup wait.
    :param restore: the restore's last state, for a restore wait.
    """

    def __init__(self, message: str, *, backup: Any = None, restore: Any = None) -> None:
        super().__init__(message)
        self.backup = backup
        """The backup's last state, for a backup wait; else None."""
        self.restore = restore
        """The restore's last state, for a restore wait; else None."""
        self.status = str((backup if backup is not None else restore).status)
        """The final status it ended in (``failed``, ``aborted``, ``not-supported``)."""


class WaitTimeoutError(NorthflankError, TimeoutError):
    """A wait for a backup or restore ran out of time before a final status.

    Also a ``TimeoutError``. The backup or restore itself goes on: only the waiting
    stopped.

    :param message: what was waited for, and how long.
    :param last: the last state seen.
    :param timeout: the seconds waited.
    """

    def __init__(self, message: str, *, last: Any, timeout: float) -> None:
        super().__init__(message)
        self.last = last
        """The last state seen: a ``Backup``, or a ``Restore``."""
        self.timeout = timeout
        """The seconds waited."""


class DownloadError(NorthflankError):
    """A backup download that could not be completed and verified.

    Raised when the bytes received do not add up to what the storage host announced
    (``Content-Length``, or the total of ``Content-Range``) or to the backup's
    ``config.size``; when the storage host refuses the link (even a fresh one), answers
    with an error, or redirects somewhere a download may not go; and when the
    connection kept dropping past the session's ``RetryPolicy``. Nothing is left on
    disk.

    :param message: what went wrong.
    :param url: the storage host and path (never the link's query: it is a credential).
    :param expected: the bytes expected, if known.
    :param received: the bytes received.
    :param status: the storage host's last HTTP status, if any.
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
        """The storage host and path only.

        The link's query string is a credential, and never appears here.
        """
        self.expected = expected
        """The bytes expected, or None when unknown."""
        self.received = received
        """The bytes received (by the last attempt)."""
        self.status = status
        """The storage host's last HTTP status, or None."""


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
