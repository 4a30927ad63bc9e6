"""Waiting for a backup or restore: polling at growing, jittered intervals.

The API cannot say when a backup ends; a client learns it only by asking again. A
wait asks about 2 s after it starts, then each interval grows by half up to about
30 s (each jittered by up to a fifth, so many waiting workers do not ask in step):
a backup that takes 10 minutes costs about 26 requests, well within the hourly budget.
Every poll goes through the session's retries and rate-limit handling, and its sleeps
through the session's ``RetryPolicy.sleep``, so closing the session or cancelling the
waiting task stops the wait at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import aclosing
from typing import Protocol, TypeVar

from yarl import URL

from ._errors import BackupFailedError, WaitTimeoutError
from ._transport import Transport

__all__ = ["FIRST_POLL", "MAX_POLL", "check_timeout", "intervals", "settled", "watch"]

#: Seconds before the first poll after the start, and the longest interval.
FIRST_POLL, MAX_POLL = 2.0, 30.0
_GROWTH, _JITTER = 1.5, 0.2


class _Stateful(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def is_final(self) -> bool: ...


S = TypeVar("S", bound=_Stateful)


def check_timeout(timeout: float) -> None:
    """ValueError unless ``timeout`` is a finite number of seconds > 0."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ValueError(f"timeout must be a number of seconds, got {timeout!r}")
    if not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")


def intervals(random: Callable[[], float]) -> Iterator[float]:
    """The pauses between polls: about 2 s, growing by half to about 30 s, jittered."""
    interval = FIRST_POLL
    while True:
        yield interval * (1 - _JITTER + 2 * _JITTER * random())
        interval = min(MAX_POLL, interval * _GROWTH)


async def watch(
    transport: Transport,
    fetch: Callable[[], Awaitable[S]],
    *,
    timeout: float,  # noqa: ASYNC109 - the error carries the last state seen
    what: str,
    url: URL,
) -> AsyncGenerator[S, None]:
    """Each new state ``fetch()`` reports (the first one too), until a final status.

    Raises WaitTimeoutError, carrying the last state, once ``timeout`` seconds have
    passed: measured as the time slept, or the time on this machine's clock when that
    is more (a slow poll counts too).
    """
    started = time.monotonic()
    slept = 0.0
    last: str | None = None
    for pause in intervals(transport.retry.random):
        state = await fetch()
        if state.status != last:
            last = state.status
            yield state
        if state.is_final:
            return
        left = timeout - max(slept, time.monotonic() - started)
        if left <= 0:
            raise WaitTimeoutError(
                f"{what} is still {state.status} after {timeout:g} s; it goes on, "
                "only the wait stopped",
                last=state,
                timeout=timeout,
            )
        pause = min(pause, left)
        await transport.sleep(pause, "GET", url)
        slept += pause
    raise AssertionError("unreachable")  # pragma: no cover - intervals() never ends


async def settled(
    states: AsyncGenerator[S, None], *, what: str, raise_on_failure: bool, restore: bool
) -> S:
    """The final state of ``states``; BackupFailedError when it is not ``completed``."""
    final: S | None = None
    async with aclosing(states):
        async for state in states:
            final = state
    assert final is not None, "watch() yields at least one state"
    if raise_on_failure and final.status != "completed":
        message = f"{what} ended {final.status}"
        if restore:
            raise BackupFailedError(message, restore=final)
        raise BackupFailedError(message, backup=final)
    return final
