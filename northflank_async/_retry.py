"""When to try a request again, and how long to wait first; pure functions, no I/O."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import attrs

from ._checks import is_int
from ._errors import APIConnectionError, APIStatusError, NorthflankError

__all__ = [
    "NO_RETRY",
    "RETRY_STATUSES",
    "RetryPolicy",
    "Retryable",
    "is_transient",
    "next_wait",
    "parse_retry_after",
    "server_wait",
]

#: Statuses worth a second try: timeouts, rate limiting and passing server trouble.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ValueError(
            f"RetryPolicy.{attribute.name} must be a finite number >= 0, got {value!r}"
        )


def _at_least_one(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not (is_int(value) and value >= 1):
        raise ValueError(f"RetryPolicy.{attribute.name} must be an int >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a session retries a request that failed for a reason that may pass.

    Retried: connection errors, timeouts, and the statuses 408, 429, 500, 502, 503 and
    504; never any other 4xx. The wait before attempt ``n + 1`` is the server's
    ``Retry-After`` (or, on a 429 without it, ``x-ratelimit-reset``) when it sent one,
    else a random time between 0 and ``min(backoff_max, backoff_base * 2 ** (n - 1))``
    ("full jitter"). A wait the server asks for that is longer than ``max_wait`` is never
    slept: the error is raised at once with its ``retry_after`` set, for the caller to
    decide; the SDK's own backoff is capped at ``max_wait``. The default
    ``max_wait`` of 60 s suits request handlers; a worker that should sit out the API's
    hourly rate-limit window sets ``max_wait=3600``.

    ``sleep`` and ``random`` are there for tests, which need not wait in real time.
    """

    max_attempts: int = attrs.field(default=4, validator=_at_least_one)
    """Attempts in all, the first one included; 1 turns retrying off."""
    backoff_base: float = attrs.field(default=0.5, validator=_positive)
    backoff_max: float = attrs.field(default=30.0, validator=_positive)
    max_wait: float = attrs.field(default=60.0, validator=_positive)
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, repr=False)
    random: Callable[[], float] = attrs.field(default=random.random, repr=False)

    def backoff(self, attempt: int) -> float:
        """The jittered wait after failed attempt number ``attempt`` (1-based).

        Never more than ``backoff_max`` nor ``max_wait``.
        """
        # The exponent is capped so that a policy with thousands of attempts cannot overflow.
        growth = self.backoff_base * 2.0 ** min(attempt - 1, 64)
        return self.random() * min(self.backoff_max, self.max_wait, growth)


#: Used when a session is built with ``retry=None``.
NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date), or None.

    A value that cannot be used (``nan``, ``inf``, negative, a bad date) gives None, so
    the caller falls back to its own backoff.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def server_wait(status: int, headers: Mapping[str, str]) -> float | None:
    """The wait the server asked for on an error answer, if it asked in a usable way."""
    wait = parse_retry_after(headers.get("Retry-After"))
    if wait is None and status == 429:
        wait = parse_retry_after(headers.get("x-ratelimit-reset"))
    return wait


#: Which failures a call may send again: each call says what is safe to repeat for it.
Retryable = Callable[[NorthflankError], bool]


def is_transient(failure: NorthflankError) -> bool:
    """Whether a read may be sent again after ``failure``: no answer, or a passing status."""
    if isinstance(failure, APIStatusError):
        return failure.status in RETRY_STATUSES
    return isinstance(failure, APIConnectionError)


def next_wait(
    policy: RetryPolicy, failure: NorthflankError, attempt: int, retryable: Retryable
) -> float | None:
    """Seconds to wait before sending again after failed attempt ``attempt``, or None.

    None means ``failure`` is to be raised now: ``retryable`` refuses it, the attempts
    are spent, or the server asked for a wait longer than the policy's ``max_wait``.
    """
    if not retryable(failure) or attempt >= policy.max_attempts:
        return None
    asked = failure.retry_after if isinstance(failure, APIStatusError) else None
    if asked is None:
        return policy.backoff(attempt)
    return asked if asked <= policy.max_wait else None
