"""Property: for any page sizes, empty pages, cursor faults and retried failures the fake API
is told to serve, the walk yields exactly the backups served, in order, or stops with the
right error after exactly the backups before it, and never sends a request too many."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any, Literal

import attrs
from hypothesis import event, given, settings
from hypothesis import strategies as st

from northflank_async import NorthflankSession, PaginationError, RetryPolicy, ServerError
from northflank_async.testing import MockNorthflank
from tests.conftest import FakeSleep

PROJECT = "property-project"
MAX_ATTEMPTS = 3

FaultKind = Literal["fail", "repeat_cursor", "omit_cursor"]
Position = tuple[int, int]
"""Where a page starts: (offset into the backups, page index); the mock's cursor encodes it."""


@attrs.frozen
class Outcome:
    """What a walk did: the ids it yielded, how it ended, and the requests it sent."""

    ids: list[str]
    error: type[Exception] | None
    page: int | None
    """The page number a PaginationError named."""
    requests: int


@attrs.frozen
class Scenario:
    """What the fake API is told to serve, and how the walk is made."""

    count: int
    sizes: list[int]
    per_page: int
    faults: dict[int, FaultKind]
    prefetch: bool

    def expected(self) -> tuple[Outcome, int]:
        """The outcome a correct walk has, by a model of the mock; and the pages it fetched."""
        ids = [backup_id(n) for n in range(self.count)]
        served: list[str] = []
        seen: set[Position] = set()
        position: Position = (0, 0)
        numbers = itertools.count(1)
        request = 0
        for page in itertools.count(1):
            for attempt in range(1, MAX_ATTEMPTS + 1):
                request = next(numbers)
                if self.faults.get(request) != "fail":
                    break
                if attempt == MAX_ATTEMPTS:
                    return Outcome(served, ServerError, None, request), page
            offset, index = position
            listed = index < len(self.sizes)
            chunk = ids[offset : offset + (self.sizes[index] if listed else self.per_page)]
            end = offset + len(chunk)
            has_next = end < self.count or (
                listed and (index + 1 < len(self.sizes) or not self.sizes[index])
            )
            following: Position | None = (end, index + 1) if has_next else None
            fault = self.faults.get(request)
            if fault == "repeat_cursor":
                following = position
            served += chunk
            if fault == "omit_cursor" or (following is not None and following in seen):
                return Outcome(served, PaginationError, page, request), page
            if following is None:
                return Outcome(served, None, None, request), page
            seen.add(following)
            position = following
        raise AssertionError("unreachable")  # pragma: no cover


def backup_id(n: int) -> str:
    """The id of the ``n``-th backup of a scenario."""
    return f"backup-{n:04d}"


def backup(n: int) -> dict[str, Any]:
    """A minimal valid backup, as the API sends it."""
    return {
        "id": backup_id(n),
        "name": f"Backup {n}",
        "status": "completed",
        "createdAt": "2024-01-01T00:00:00Z",
        "completedAt": "2024-01-01T00:00:01Z",
        "config": {"size": str(n)},
    }


scenarios = st.builds(
    Scenario,
    count=st.integers(0, 25),
    sizes=st.lists(st.integers(0, 6), max_size=8),
    per_page=st.integers(1, 7),
    faults=st.dictionaries(
        st.integers(1, 14), st.sampled_from(["fail", "repeat_cursor", "omit_cursor"]), max_size=4
    ),
    prefetch=st.booleans(),
)


async def run(mock: MockNorthflank, addon: str, scenario: Scenario) -> Outcome:
    """Serve ``scenario`` from ``mock`` under ``addon`` and walk it with a fresh session."""
    mock.requests.clear()  # request numbers (which faults key on) start at 1 again
    mock.faults.clear()
    mock.add_backups(PROJECT, addon, [backup(n) for n in range(scenario.count)])
    mock.set_page_sizes(PROJECT, addon, scenario.sizes)
    for number, kind in scenario.faults.items():
        if kind == "fail":
            mock.faults.fail(number, 503)
        else:
            getattr(mock.faults, kind)(number)
    ids: list[str] = []
    error: Exception | None = None
    policy = RetryPolicy(max_attempts=MAX_ATTEMPTS, sleep=FakeSleep())
    async with NorthflankSession(mock.token, base_url=mock.base_url, retry=policy) as nf:
        walk = nf.list_backups(
            PROJECT, addon, per_page=scenario.per_page, prefetch=scenario.prefetch
        )
        try:
            async for item in walk:
                ids.append(item.id)
        except (PaginationError, ServerError) as caught:
            error = caught
    page = error.page if isinstance(error, PaginationError) else None
    return Outcome(ids, type(error) if error else None, page, len(mock.requests))


def test_walk_yields_exactly_what_was_served() -> None:
    """Any mix of page sizes, empty pages, cursor faults and retries gives the modelled walk."""
    addons: Iterator[str] = (f"addon-{n}" for n in itertools.count())
    with asyncio.Runner() as runner:
        mock = MockNorthflank(rate_limit=10**9)
        runner.run(mock.start())
        try:

            @settings(max_examples=100, deadline=None)
            @given(scenario=scenarios)
            def check(scenario: Scenario) -> None:
                expected, pages = scenario.expected()
                outcome = runner.run(run(mock, next(addons), scenario))
                assert expected == outcome
                event(outcome.error.__name__ if outcome.error else "finished")
                retries = sum(
                    1
                    for n, kind in scenario.faults.items()
                    if kind == "fail" and n <= outcome.requests
                )
                assert outcome.requests <= pages + retries

            check()
        finally:
            runner.run(mock.close())
