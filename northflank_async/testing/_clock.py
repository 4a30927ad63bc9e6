"""ManualClock: a clock for MockNorthflank that moves only when the test says so."""

from __future__ import annotations

import math


def _checked(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


class ManualClock:
    """A monotonic clock read by calling it; it moves only by ``advance`` or ``set``.

    Pass it as ``MockNorthflank(clock=ManualClock())`` to drive the rate-limit window,
    ``RecordedRequest.received_at``, timed changes (``MockNorthflank.at`` and
    ``schedule``), the lifecycle of backups and restores and the expiry of download
    links, without waiting in real time. Latency and stalls still sleep in real time.

    Example:

    ```python
    from northflank_async.testing import ManualClock, MockNorthflank

    clock = ManualClock()
    async with MockNorthflank(clock=clock, rate_limit=2, rate_limit_window=60) as fake:
        fake.faults.rate_limit_budget(0, reset=60)
        clock.advance(60)  # the window is over: a full budget again
        assert fake.rate_limit_remaining == 2
    ```

    :param start: the first reading, in seconds.
    :raises ValueError: ``start`` is not a finite number.
    """

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = _checked(start, "start")

    def __call__(self) -> float:
        """The current reading, in seconds."""
        return self._now

    @property
    def now(self) -> float:
        """The current reading, in seconds (the same as calling the clock)."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` and return the new reading.

        :param seconds: how far to move (a finite number >= 0).
        :returns: the new reading.
        :raises ValueError: a negative or non-finite ``seconds``.
        """
        seconds = _checked(seconds, "seconds")
        if seconds < 0:
            raise ValueError(f"a clock only moves forward: seconds must be >= 0, got {seconds}")
        self._now += seconds
        return self._now

    def set(self, now: float) -> None:
        """Move to the reading ``now``, which must not be earlier than the current one.

        :param now: the new reading, in seconds.
        :raises ValueError: ``now`` is earlier than the current reading, or not finite.
        """
        now = _checked(now, "now")
        if now < self._now:
            raise ValueError(f"a clock only moves forward: {now} is before {self._now}")
        self._now = now

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"
