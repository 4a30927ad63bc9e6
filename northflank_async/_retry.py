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
    504; never any other 4xx. A retry in the middle of a walk repeats the same cursor, so
    no item is lost or repeated; writes are retried only where that cannot act twice
    (see [create_backup][northflank_async.NorthflankSession.create_backup]).

    The wait before attempt ``n + 1`` is the server's ``Retry-After`` (or, on a 429
    without it, ``x-ratelimit-reset``) when it sent one, else a random time between 0
    and ``min(backoff_max, backoff_base * 2 ** (n - 1))`` ("full jitter"). A wait the
    server asks for that is longer than ``max_wait`` is never slept: the error is raised
    at once with its ``retry_after`` set, for the caller to decide; the SDK's own
    backoff is capped at ``max_wait``. The default ``max_wait`` of 60 s suits request
    handlers; a worker that should sit out the API's hourly rate-limit window sets
    ``max_wait=3600``.

    Example:

    ```python
    from northflank_async import NorthflankSession, RetryPolicy

    policy = RetryPolicy(max_attempts=6, max_wait=3600)  # a patient worker
    async with NorthflankSession(retry=policy) as worker:
        async for backup in worker.list_backups(project_id, addon_id, max_items=10):
            print(backup.id)
    ```

    Values are checked when built (a bad one raises ``ValueError``). A policy is frozen:
    build another with ``attrs.evolve(policy, max_attempts=10)``.
    """

    max_attempts: int = attrs.field(default=4, validator=_at_least_one)
    """Attempts in all, the first one included; 1 turns retrying off."""
    backoff_base: float = attrs.field(default=0.5, validator=_positive)
    """Seconds: the cap of the first backoff, doubled at each attempt."""
    backoff_max: float = attrs.field(default=30.0, validator=_positive)
    """Seconds: the largest cap the doubling reaches."""
    max_wait: float = attrs.field(default=60.0, validator=_positive)
    """Seconds: the longest wait slept before a retry.

    A server asking for longer (``Retry-After``) gets its error raised at once.
    """
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, repr=False)
    """The coroutine function that waits (``asyncio.sleep``).

    Tests pass one that returns at once, so retries need no real time; the waits of
    ``wait_for_backup`` and its kind go through it too.
    """
    random: Callable[[], float] = attrs.field(default=random.random, repr=False)
    """The source of jitter, a float in ``[0, 1)`` (``random.random``).

    Tests pass ``lambda: 1.0`` to make every backoff its cap.
    """

    def backoff(self, attempt: int) -> float:
        """The jittered wait after failed attempt number ``attempt``, in seconds.

        Never more than ``backoff_max`` nor ``max_wait``.

        Example:

        ```python
        from northflank_async import RetryPolicy

        policy = RetryPolicy(random=lambda: 1.0)  # no jitter: every wait is its cap
        print([policy.backoff(n) for n in (1, 2, 3, 8)])  # [0.5, 1.0, 2.0, 30.0]
        ```

        :param attempt: the 1-based number of the attempt that failed.
        :returns: seconds to wait before the next attempt.
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
