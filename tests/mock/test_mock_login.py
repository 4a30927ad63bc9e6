"""MockNorthflank's ``GET /v1/login``, the Northflank CLI's token check, over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from northflank_async.testing import MockNorthflank

from .support import AUTH, TOKEN, error_body

LOGIN = "/v1/login"


@pytest.fixture
async def served(mock: MockNorthflank) -> AsyncIterator[MockNorthflank]:
    """The filled mock, serving on a free loopback port."""
    async with mock:
        yield mock


async def test_login_with_the_token(served: MockNorthflank) -> None:
    """The mock's token gets 200 and a small data object, no pagination; it is recorded."""
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.get(served.base_url.with_path(LOGIN)) as resp:
            assert (200, "application/json", "999") == (
                resp.status,
                resp.content_type,
                resp.headers["x-ratelimit-remaining"],
            )
            assert {"data": {"valid": True, "teamId": None}} == await resp.json()
        async with http.get(served.base_url.with_path(LOGIN)) as resp:
            assert (200, "998") == (resp.status, resp.headers["x-ratelimit-remaining"])
    assert [("GET", LOGIN, True)] * 2 == [(r.method, r.path, r.authorized) for r in served.requests]


@pytest.mark.parametrize("header", [None, "Bearer wrong", TOKEN])
async def test_login_with_another_token_is_401(served: MockNorthflank, header: str | None) -> None:
    """A wrong or missing token gets the usual 401 error body, and is recorded too."""
    headers = {} if header is None else {"Authorization": header}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(served.base_url.with_path(LOGIN)) as resp,
    ):
        assert (401, "999") == (resp.status, resp.headers["x-ratelimit-remaining"])
        body = await resp.json()
    assert error_body(1, 401, "Unauthenticated: a valid API token is required") == body
    assert [("GET", LOGIN, False)] == [(r.method, r.path, r.authorized) for r in served.requests]


async def test_login_spends_the_rate_limit(served: MockNorthflank) -> None:
    """With the budget spent, the token check is a 429 like any request."""
    served.faults.rate_limit_budget(0, reset=30)
    async with (
        aiohttp.ClientSession(headers=AUTH) as http,
        http.get(served.base_url.with_path(LOGIN)) as resp,
    ):
        assert (429, "30") == (resp.status, resp.headers["Retry-After"])
        assert error_body(1, 429, "Rate limit exceeded") == await resp.json()


async def test_login_is_get_only(served: MockNorthflank) -> None:
    """Another method on ``/v1/login`` is 405 with ``Allow: GET``."""
    async with (
        aiohttp.ClientSession(headers=AUTH) as http,
        http.post(served.base_url.with_path(LOGIN)) as resp,
    ):
        assert (405, "GET") == (resp.status, resp.headers["Allow"])
