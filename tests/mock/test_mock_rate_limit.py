"""MockNorthflank's rate limit over loopback HTTP: the window, its headers, 429, budgets."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from pytest_aiohttp import AiohttpClient

from northflank_async.testing import ManualClock, MockNorthflank

from .support import AUTH, BACKUPS, Client, error_body, filled_mock, get_json


def rate_headers(headers: Mapping[str, str]) -> tuple[str, str, str, str | None]:
    """(limit, remaining, reset, Retry-After) of a response's (case-insensitive) headers."""
    return (
        headers["x-ratelimit-limit"],
        headers["x-ratelimit-remaining"],
        headers["x-ratelimit-reset"],
        headers.get("Retry-After"),
    )


async def test_rate_limit_counts_down_to_429(aiohttp_client: AiohttpClient) -> None:
    """Each request spends one; at zero the answer is 429 with Retry-After; the window rolls."""
    clock = ManualClock(1000.0)
    mock = MockNorthflank(rate_limit=3, rate_limit_window=60, clock=clock)
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    seen = []
    for step in range(4):
        clock.advance(10 if step else 0)
        async with client.get("/v1/projects") as resp:
            seen.append((resp.status, *rate_headers(resp.headers)))
            body = await resp.json()
    assert [
        (200, "3", "2", "60", None),
        (200, "3", "1", "50", None),
        (200, "3", "0", "40", None),
        (429, "3", "0", "30", "30"),
    ] == seen
    assert error_body(4, 429, "Rate limit exceeded") == body
    assert 0 == mock.rate_limit_remaining
    clock.advance(30.5)
    assert 3 == mock.rate_limit_remaining
    async with client.get("/v1/projects") as resp:
        assert (200, "3", "2", "60", None) == (resp.status, *rate_headers(resp.headers))


async def test_reset_rate_limit(aiohttp_client: AiohttpClient) -> None:
    """``reset_rate_limit`` starts a fresh window with a full budget."""
    mock = MockNorthflank(rate_limit=1)
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    statuses = [(await get_json(client, "/v1/projects"))[0] for _ in range(2)]
    mock.reset_rate_limit()
    statuses.append((await get_json(client, "/v1/projects"))[0])
    assert ([200, 429, 200], 1) == (statuses, mock.rate_limit)


async def test_rate_limit_budget_then_429(aiohttp_client: AiohttpClient) -> None:
    """``rate_limit_budget`` sets what is left now; past it the answer is 429."""
    clock = ManualClock()
    mock = filled_mock(clock=clock)
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    assert mock.faults is mock.faults.rate_limit_budget(2, reset=30)
    seen = []
    for _ in range(3):
        async with client.get(BACKUPS) as resp:
            seen.append((resp.status, *rate_headers(resp.headers)))
        clock.advance(1)
    assert [
        (200, "1000", "1", "30", None),
        (200, "1000", "0", "29", None),
        (429, "1000", "0", "28", "28"),
    ] == seen


@pytest.mark.parametrize(("remaining", "reset"), [(-1, 10.0), (1, 0.0), (1, -5.0)])
def test_rate_limit_budget_refuses_bad_values(remaining: int, reset: float) -> None:
    """A negative budget or a window not ending in the future is refused."""
    with pytest.raises(ValueError, match=r"^remaining must be >= 0 and reset > 0$"):
        MockNorthflank().faults.rate_limit_budget(remaining, reset=reset)


@pytest.fixture
async def client(aiohttp_client: AiohttpClient) -> Client:
    """A test client bound to a filled mock whose clock stands still."""
    return await aiohttp_client(filled_mock(clock=ManualClock()).make_app(), headers=AUTH)


@pytest.mark.parametrize(
    ("path", "status"), [("/nowhere", 404), (BACKUPS + "?per_page=0", 400), (BACKUPS, 200)]
)
async def test_every_answer_carries_rate_limit_headers(
    client: Client, path: str, status: int
) -> None:
    """Errors carry the rate-limit headers as pages do."""
    async with client.get(path) as resp:
        assert (status, "1000", "999", "3600", None) == (resp.status, *rate_headers(resp.headers))
