"""From one HTTP answer to parsed data or the right error: pure functions, no I/O.

The transport reads an answer whole, then hands it to :func:`decode`; everything the
SDK decides from a status, its headers and its body is decided here, so every rule
can be tested on recorded samples without a server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from yarl import URL

from . import _jsonlib
from ._errors import (
    NorthflankError,
    ResponseValidationError,
    display_url,
    error_for_status,
    excerpt,
    scrub,
    scrub_bytes,
)
from ._models import RateLimit
from ._retry import server_wait

__all__ = ["Answer", "Decoded", "decode", "parse_rate_limit"]


@attrs.frozen
class Answer:
    """One HTTP answer as it was read: status, headers and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    reason: str = ""


@attrs.frozen
class Decoded:
    """What an answer means: its data, or the error to raise; and the rate limit it reported."""

    rate_limit: RateLimit | None
    data: Any = None
    error: NorthflankError | None = None


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


def decode(
    method: str,
    url: URL,
    answer: Answer,
    *,
    now: datetime | None = None,
    secrets: Sequence[str] = (),
) -> Decoded:
    """The meaning of ``answer`` to ``method url``.

    A 2xx answer gives its parsed JSON body (an empty or unreadable body is a
    :class:`ResponseValidationError`); any other status gives the
    :class:`APIStatusError` subclass for it, with the API's message, the wait the
    server asked for, and for a redirect where it pointed. Whatever the body, only
    the SDK's errors come out. Text of the server's that an error keeps is scrubbed
    of ``secrets`` (the session's token) first. ``now`` dates the rate limit's reset
    (default: the current time).
    """
    rate_limit = parse_rate_limit(answer.headers, now or datetime.now(UTC))
    status = answer.status
    if 200 <= status < 300:
        return _success(method, url, answer, rate_limit, secrets)
    location = answer.headers.get("Location")
    error = error_for_status(
        status,
        scrub_bytes(answer.body, secrets),
        str(url),
        reason=scrub(answer.reason, secrets),
        retry_after=server_wait(status, answer.headers),
        method=method,
        location=None if location is None else scrub(location, secrets),
    )
    return Decoded(rate_limit, error=error)


def _success(
    method: str,
    url: URL,
    answer: Answer,
    rate_limit: RateLimit | None,
    secrets: Sequence[str],
) -> Decoded:
    """The JSON body of a 2xx answer, or the ResponseValidationError saying why there is none."""
    body = answer.body
    if not body.strip():
        problem = "has an empty body"
    else:
        try:
            return Decoded(rate_limit, data=_jsonlib.loads(body))
        except _jsonlib.JSONProblem as exc:
            problem = f"cannot be read as JSON: {exc}"
        except ValueError:
            problem = f"is not JSON: {excerpt(scrub_bytes(body, secrets))!r}"
    error = ResponseValidationError(
        f"{method} {display_url(url)}: the {answer.status} answer {problem}", url=str(url)
    )
    return Decoded(rate_limit, error=error)
