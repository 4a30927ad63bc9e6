"""Fixtures of the tests of acting on backups: a mock on a hand-moved clock, and a
session whose sleeps (retry backoffs and polling pauses) move that clock instead of waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from northflank_async import NorthflankSession, RetryPolicy
from northflank_async.testing import ManualClock, MockNorthflank
from tests.conftest import ADDON, PROJECT
from tests.ops.support import ClockSleep


@pytest.fixture
def clock() -> ManualClock:
    """The clock the mock's backups and restores move on."""
    return ManualClock()


@pytest.fixture
async def ops_mock(clock: ManualClock) -> AsyncIterator[MockNorthflank]:
    """A MockNorthflank on ``clock`` with PROJECT/ADDON holding three completed backups."""
    async with MockNorthflank(clock=clock) as server:
        server.add_project(PROJECT)
        server.add_addon(PROJECT, ADDON)
        server.generate_backups(PROJECT, ADDON, 3)
        yield server


@pytest.fixture
def sleep(clock: ManualClock) -> ClockSleep:
    """The sleep of the session under test."""
    return ClockSleep(clock)


@pytest.fixture
async def ops(ops_mock: MockNorthflank, sleep: ClockSleep) -> AsyncIterator[NorthflankSession]:
    """A session against ``ops_mock`` whose every sleep moves the mock's clock."""
    retry = RetryPolicy(sleep=sleep, random=lambda: 0.5)
    async with NorthflankSession(ops_mock.token, base_url=ops_mock.base_url, retry=retry) as nf:
        yield nf


@pytest.fixture
async def ops_real(ops_mock: MockNorthflank) -> AsyncIterator[NorthflankSession]:
    """A session against ``ops_mock`` that sleeps in real time (to be cancelled or closed)."""
    async with NorthflankSession(ops_mock.token, base_url=ops_mock.base_url) as nf:
        yield nf
