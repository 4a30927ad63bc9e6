"""The fault plan (what to break, by request number or path) and the API's rate limit."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from ._http import JSON

FaultKind = Literal[
    "fail",
    "drop",
    "stall",
    "bad_json",
    "repeat_cursor",
    "omit_cursor",
    "redirect",
    "endless",
    "lose_answer",
]
"""The kinds of fault a ``FaultPlan`` can inject.

One per ``FaultPlan`` method of that name; ``fail_path`` plans a ``fail`` and
``lose_answer_path`` a ``lose_answer``.
"""

TERMINAL_KINDS: Final = frozenset({"fail", "drop", "bad_json", "redirect", "endless"})
"""Kinds that replace the answer before the route runs (nothing is carried out).

The others delay or alter a normal answer, or (``lose_answer``) let the route run and
then withhold its answer.
"""


@dataclass(frozen=True, slots=True)
class Fault:
    """One planned misbehaviour for one request, as ``FaultPlan.planned(n)`` lists them.

    Made by the [FaultPlan][northflank_async.testing.FaultPlan] methods; a test reads
    them, it need not build them.
    """

    kind: FaultKind
    """What goes wrong (a [FaultKind][northflank_async.testing.FaultKind])."""
    status: int = 200
    """The status answered (``fail``, ``bad_json``, ``redirect``, ``endless``)."""
    body: bytes | None = None
    """The body to send, or None for the default (``endless``: the chunk sent again and again)."""
    content_type: str | None = None
    """The ``Content-Type`` sent with ``body``, or None for the default."""
    headers: tuple[tuple[str, str], ...] = ()
    """Further headers sent, as ``(name, value)`` pairs."""
    seconds: float = 0.0
    """How long a ``stall`` waits."""
    location: str | None = None
    """Where a ``redirect`` points."""


@dataclass(slots=True)
class _PathFault:
    substring: str
    method: str | None
    fault: Fault
    remaining: int | None

    def takes(self, raw_path: str, method: str) -> bool:
        """Whether this fault has uses left and matches the request (spending one if so)."""
        if self.remaining == 0 or self.substring not in raw_path:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


def _method(method: str | None) -> str | None:
    if method is not None and (not isinstance(method, str) or not method.isalpha()):
        raise ValueError(f"method must be an HTTP method such as 'POST' or None, got {method!r}")
    return None if method is None else method.upper()


def _times(times: int | None) -> int | None:
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
        raise ValueError("times must be >= 0 or None")
    return times


class RateLimiter:
    """The API's fixed-window rate limit: a budget per window from its first request."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._remaining = limit
        self._window_end: float | None = None

    def _roll(self, now: float) -> float:
        if self._window_end is None or now >= self._window_end:
            self._window_end = now + self.window
            self._remaining = self.limit
        return self._window_end

    @property
    def remaining(self) -> int:
        """Requests left in the current window (a full budget once it has ended)."""
        now = self._clock()
        if self._window_end is None or now >= self._window_end:
            return self.limit
        return self._remaining

    def spend(self) -> tuple[bool, int, dict[str, str]]:
        """Spend one request; return (allowed, reset seconds, rate-limit headers)."""
        now = self._clock()
        window_end = self._roll(now)
        allowed = self._remaining > 0
        if allowed:
            self._remaining -= 1
        # Rounded first: (now + 3600) - now can be 3600.0000000002, which is no 3601.
        reset = max(0, math.ceil(round(window_end - now, 6)))
        headers = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self._remaining),
            "x-ratelimit-reset": str(reset),
        }
        return allowed, reset, headers

    def restart(self) -> None:
        """Start a fresh window now, with a full budget."""
        self._window_end = self._clock() + self.window
        self._remaining = self.limit

    def set_budget(self, remaining: int, reset: float) -> None:
        """Leave ``remaining`` requests in a window ending ``reset`` seconds from now."""
        self._window_end = self._clock() + reset
        self._remaining = remaining


def _numbers(n: int | Iterable[int]) -> list[int]:
    numbers = [n] if isinstance(n, int) else list(n)
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ValueError(f"request numbers are 1-based ints, got {number!r}")
    return numbers


def _as_bytes(body: bytes | str | None) -> bytes | None:
    return body.encode() if isinstance(body, str) else body


class FaultPlan:
    """Faults to inject, keyed by the 1-based number of the request received.

    ``MockNorthflank.faults`` is one. Every method taking ``n`` also accepts an iterable
    of numbers (``range(2, 5)``) and returns the plan, so calls chain. Several faults
    may target one request: stalls add up, ``repeat_cursor``/``omit_cursor`` alter a
    normal answer, and the first of ``fail``/``drop``/``bad_json``/``redirect``/``endless``
    replaces the answer before the route runs, so a write so refused is not carried
    out. ``lose_answer`` is the opposite case: the route runs (a write is carried out),
    then the connection closes without the answer. Faults by path (``fail_path``,
    ``lose_answer_path``) apply only when no fault by number of that kind does.

    Example:

    ```python
    from northflank_async import NorthflankSession, RateLimitError
    from northflank_async.testing import MockNorthflank


    async def test_a_long_retry_after_is_raised_not_slept() -> None:
        async with MockNorthflank() as mock:
            mock.generate_backups("p", "a", 10)
            mock.faults.fail(1, 429, retry_after="3600")
            async with NorthflankSession("nf-test-token", base_url=mock.base_url) as nf:
                try:
                    await nf.get_backup_page("p", "a")
                except RateLimitError as error:
                    assert error.retry_after == 3600
                else:
                    raise AssertionError("expected a RateLimitError")


    await test_a_long_retry_after_is_raised_not_slept()
    ```

    :param rate_limiter: the mock's rate limiter, for ``rate_limit_budget``; None for a
        plan of its own (the mock makes its plan itself).
    """

    def __init__(self, rate_limiter: RateLimiter | None = None) -> None:
        self._by_number: dict[int, list[Fault]] = {}
        self._by_path: list[_PathFault] = []
        self._lost_by_path: list[_PathFault] = []
        self._rate_limiter = rate_limiter

    def _add(self, n: int | Iterable[int], fault: Fault) -> FaultPlan:
        for number in _numbers(n):
            self._by_number.setdefault(number, []).append(fault)
        return self

    @staticmethod
    def _failure(
        status: int,
        retry_after: str | None,
        body: bytes | str | None,
        headers: Mapping[str, str] | None,
        content_type: str | None,
    ) -> Fault:
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = retry_after
        return Fault(
            "fail",
            status=status,
            body=_as_bytes(body),
            content_type=content_type,
            headers=tuple(extra.items()),
        )

    def fail(
        self,
        n: int | Iterable[int],
        status: int,
        *,
        retry_after: str | None = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> FaultPlan:
        """Answer request ``n`` with ``status`` instead of handling it.

        The route does not run: a write so answered is not carried out (nothing in the
        store changes), as when the API or a proxy in front of it refuses a request before
        acting (``fail(n, 503)``, say). The body defaults to the API's error JSON; a given
        ``body`` is sent as ``text/html`` unless ``content_type`` (or a ``Content-Type``
        header) says otherwise. Rate-limit headers are still sent; ``headers`` override them.

        :param n: the 1-based number of the request (or an iterable of numbers).
        :param status: the status to answer.
        :param retry_after: the ``Retry-After`` header to send, if any.
        :param body: the body to send instead of the API's error JSON.
        :param headers: further headers to send.
        :param content_type: the ``Content-Type`` of ``body``.
        :returns: the plan, so calls chain.
        """
        return self._add(n, self._failure(status, retry_after, body, headers, content_type))

    def fail_path(
        self,
        substring: str,
        status: int,
        *,
        method: str | None = None,
        times: int | None = None,
        retry_after: str | None = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> FaultPlan:
        """Fail requests whose raw (still encoded) path contains ``substring``.

        As ``fail``, the route does not run. Faults planned by request number take
        precedence.

        Example:

        ```python
        mock.faults.fail_path("/backups", 503, method="POST")  # starting a backup fails
        page = await nf.get_backup_page(project_id, addon_id)  # the list is still served
        mock.faults.clear()
        ```

        :param substring: the part of the path to match (``"/backups"``).
        :param status: the status to answer.
        :param method: fail only requests of this method (``"POST"``, any case); None: all.
        :param times: how many requests fail; None: every one.
        :param retry_after: the ``Retry-After`` header to send, if any.
        :param body: the body to send instead of the API's error JSON.
        :param headers: further headers to send.
        :param content_type: the ``Content-Type`` of ``body``.
        :returns: the plan, so calls chain.
        :raises ValueError: a bad ``method`` or ``times``.
        """
        checked = _method(method)
        remaining = _times(times)
        fault = self._failure(status, retry_after, body, headers, content_type)
        self._by_path.append(_PathFault(substring, checked, fault, remaining))
        return self

    def drop(self, n: int | Iterable[int]) -> FaultPlan:
        """Close the connection of request ``n`` without answering, before handling it.

        The route does not run: a write so dropped is not carried out. See ``lose_answer``
        for one that is carried out and then loses its answer. (aiohttp retries an
        idempotent request once by itself on a dropped keep-alive connection: drop two in a
        row to see a client's own retry.)

        :param n: the 1-based number of the request (or an iterable of numbers).
        :returns: the plan, so calls chain.
        """
        return self._add(n, Fault("drop"))

    def lose_answer(self, n: int | Iterable[int]) -> FaultPlan:
        """Handle request ``n`` as usual, then close its connection instead of answering.

        The route runs, so a write is carried out (a backup is started, a backup is
        deleted, ...), but the client gets no answer: the connection ends without a byte of
        it (aiohttp raises ``ServerDisconnectedError``). This is the case an exactly-once
        client must settle by reading back what the API holds. Whatever the answer would
        have been (an error too) is lost; ``fail``, ``drop`` and the other kinds that replace
        the answer win over it (the route then does not run).

        :param n: the 1-based number of the request (or an iterable of numbers).
        :returns: the plan, so calls chain.
        """
        return self._add(n, Fault("lose_answer"))

    def lose_answer_path(
        self, substring: str, *, method: str | None = None, times: int | None = 1
    ) -> FaultPlan:
        """``lose_answer`` for requests whose raw path contains ``substring``.

        A request that a fault by number already answers or loses spends no use.

        Example:

        ```python
        mock.faults.lose_answer_path("/backups", method="POST")  # the next start loses its answer
        backup = await nf.create_backup(project_id, addon_id)  # settled: found, not sent again
        ```

        :param substring: the part of the path to match.
        :param method: only requests of this method (``"POST"``: the write, not the reads of
            the same path); None: all.
        :param times: how many requests lose their answer; None: every one.
        :returns: the plan, so calls chain.
        :raises ValueError: a bad ``method`` or ``times``.
        """
        checked = _method(method)
        remaining = _times(times)
        self._lost_by_path.append(_PathFault(substring, checked, Fault("lose_answer"), remaining))
        return self

    def stall(self, n: int | Iterable[int], seconds: float) -> FaultPlan:
        """Wait ``seconds`` before handling request ``n`` normally.

        :param n: the 1-based number of the request (or an iterable of numbers).
        :param seconds: how long to wait (>= 0), in real time.
        :returns: the plan, so calls chain.
        :raises ValueError: a negative ``seconds``.
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        return self._add(n, Fault("stall", seconds=seconds))

    def bad_json(
        self,
        n: int | Iterable[int],
        body: bytes = b"<html>not json</html>",
        status: int = 200,
        *,
        content_type: str = JSON,
    ) -> FaultPlan:
        """Answer request ``n`` with a body that is not JSON (``b""`` for empty).

        The ``Content-Type`` still claims JSON unless ``content_type`` is given.

        :param n: the 1-based number of the request (or an iterable of numbers).
        :param body: the body to send.
        :param status: the status to answer.
        :param content_type: the ``Content-Type`` to claim.
        :returns: the plan, so calls chain.
        """
        return self._add(n, Fault("bad_json", status=status, body=body, content_type=content_type))

    def endless(
        self,
        n: int | Iterable[int],
        status: int = 200,
        *,
        content_type: str = JSON,
        chunk_size: int = 64 * 1024,
    ) -> FaultPlan:
        """Answer request ``n`` with ``status`` and a body that never ends.

        The body is spaces (JSON whitespace: a parser keeps waiting for a value), sent in
        chunks of ``chunk_size`` bytes without a ``Content-Length``, until the client goes
        away or the server closes. On close the connection is cut, so the body never looks
        complete; ``close()`` does not wait for it.

        :param n: the 1-based number of the request (or an iterable of numbers).
        :param status: the status to answer.
        :param content_type: the ``Content-Type`` to claim.
        :param chunk_size: the bytes of each chunk (an int >= 1).
        :returns: the plan, so calls chain.
        :raises ValueError: a bad ``chunk_size``.
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
        chunk = b" " * chunk_size
        return self._add(n, Fault("endless", status=status, body=chunk, content_type=content_type))

    def repeat_cursor(self, n: int | Iterable[int]) -> FaultPlan:
        """Answer request ``n`` normally, but with a next cursor pointing at the same page.

        The returned ``pagination.cursor`` is the cursor request ``n`` was made with (or,
        without one, a cursor for the page just served), and ``hasNextPage`` is true, so a
        client that follows it loops.

        :param n: the 1-based number of the request (or an iterable of numbers).
        :returns: the plan, so calls chain.
        """
        return self._add(n, Fault("repeat_cursor"))

    def omit_cursor(self, n: int | Iterable[int]) -> FaultPlan:
        """Answer request ``n`` normally with ``hasNextPage: true`` but no ``cursor``.

        :param n: the 1-based number of the request (or an iterable of numbers).
        :returns: the plan, so calls chain.
        """
        return self._add(n, Fault("omit_cursor"))

    def redirect(self, n: int | Iterable[int], location: str, status: int = 302) -> FaultPlan:
        """Answer request ``n`` with a redirect to ``location``.

        :param n: the 1-based number of the request (or an iterable of numbers).
        :param location: the ``Location`` header.
        :param status: the redirect status (3xx).
        :returns: the plan, so calls chain.
        """
        return self._add(n, Fault("redirect", status=status, location=location))

    def rate_limit_budget(self, remaining: int, *, reset: float = 3600.0) -> FaultPlan:
        """Set the rate-limit budget now: ``remaining`` requests, the window ending in ``reset`` s.

        Example:

        ```python
        mock.faults.rate_limit_budget(0, reset=2)  # the next request would get a 429
        print(mock.rate_limit_remaining)  # 0
        mock.reset_rate_limit()
        ```

        :param remaining: requests left in the window (>= 0).
        :param reset: seconds until the window ends (> 0), on the mock's clock.
        :returns: the plan, so calls chain.
        :raises RuntimeError: the plan is not attached to a ``MockNorthflank``.
        :raises ValueError: a negative ``remaining`` or a ``reset`` not above 0.
        """
        if self._rate_limiter is None:
            raise RuntimeError("this FaultPlan is not attached to a MockNorthflank")
        if remaining < 0 or reset <= 0:
            raise ValueError("remaining must be >= 0 and reset > 0")
        self._rate_limiter.set_budget(remaining, reset)
        return self

    def clear(self) -> FaultPlan:
        """Forget every planned fault (an already set rate-limit budget stays).

        :returns: the plan, so calls chain.
        """
        self._by_number.clear()
        self._by_path.clear()
        self._lost_by_path.clear()
        return self

    def planned(self, n: int) -> list[Fault]:
        """The faults planned by number for request ``n``, in the order they were added.

        :param n: the 1-based number of the request.
        :returns: a new list of [Fault][northflank_async.testing.Fault].
        """
        return list(self._by_number.get(n, ()))

    def _for_request(self, n: int) -> Sequence[Fault]:
        """The faults planned for request ``n``, without a copy (the server's hot path)."""
        return self._by_number.get(n, ())

    def _path_failure(self, raw_path: str, method: str) -> Fault | None:
        """The first path failure matching the request with uses left (spending one), if any."""
        for path_fault in self._by_path:
            if path_fault.takes(raw_path, method):
                return path_fault.fault
        return None

    def _answer_lost(self, faults: Sequence[Fault], raw_path: str, method: str) -> bool:
        """Whether the answer to this request is to be lost (spending a path use if so)."""
        if any(fault.kind == "lose_answer" for fault in faults):
            return True
        return any(path_fault.takes(raw_path, method) for path_fault in self._lost_by_path)
