"""Shared fixtures: a MockNorthflank on a free loopback port and a session pointed at it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from northflank_async import NorthflankSession, RetryPolicy
from northflank_async.testing import MockNorthflank

PROJECT = "default-project"
ADDON = "example-addon"


async def wait_until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (say, a count of the mock's requests) until it holds, for 2 s at most."""
    async with asyncio.timeout(2):
        while not condition():  # noqa: ASYNC110 - the mock's counters have no event to await
            await asyncio.sleep(0.002)


class FakeSleep:
    """An injectable sleep that records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture(autouse=True)
def _no_api_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own Northflank variables out of every test."""
    for name in (
        "NORTHFLANK_API_TOKEN",
        "NF_API_TOKEN",
        "NORTHFLANK_API_BASE_URL",
        "NF_API_HOST",
        "NF_HOST",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def mock() -> AsyncIterator[MockNorthflank]:
    """A running, empty MockNorthflank on 127.0.0.1."""
    async with MockNorthflank() as server:
        yield server


@pytest.fixture
def fake_sleep() -> FakeSleep:
    """A sleep for RetryPolicy that returns at once and records the waits."""
    return FakeSleep()


@pytest.fixture
def retry(fake_sleep: FakeSleep) -> RetryPolicy:
    """The default retry policy, but sleeping through ``fake_sleep``."""
    return RetryPolicy(sleep=fake_sleep)


SessionFactory = Callable[..., Awaitable[NorthflankSession]]


@pytest.fixture
async def make_session(mock: MockNorthflank, retry: RetryPolicy) -> AsyncIterator[SessionFactory]:
    """Build sessions against ``mock`` (closed after the test); keywords override defaults."""
    sessions: list[NorthflankSession] = []

    async def factory(**kwargs: object) -> NorthflankSession:
        kwargs.setdefault("base_url", mock.base_url)
        kwargs.setdefault("retry", retry)
        token = kwargs.pop("token", mock.token)
        session = NorthflankSession(token, **kwargs)  # type: ignore[arg-type]  # test keywords
        sessions.append(session)
        return session

    yield factory
    for session in sessions:
        await session.close()


@pytest.fixture
async def nf(make_session: SessionFactory) -> NorthflankSession:
    """A session against ``mock`` whose retries sleep through ``fake_sleep``."""
    return await make_session()
