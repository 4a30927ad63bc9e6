"""Fixtures of the health check's tests: the shared ``mock``, on a clock moved by hand.

On a ``ManualClock`` the mock dates "now" 2025-01-01T00:00:00Z (:data:`NOW`), so a team
it generates is as old, against that ``now``, on every run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from northflank_async.testing import ManualClock, MockNorthflank


@pytest.fixture
def clock() -> ManualClock:
    """The clock the mock reads."""
    return ManualClock()


@pytest.fixture
async def mock(clock: ManualClock) -> AsyncIterator[MockNorthflank]:
    """A running, empty MockNorthflank on ``clock`` (it replaces the shared ``mock``)."""
    async with MockNorthflank(clock=clock) as server:
        yield server
