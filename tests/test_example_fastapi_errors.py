"""examples/fastapi_app.py: SDK errors become HTTP answers that leak nothing upstream."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from examples import fastapi_app
from northflank_async import RetryPolicy
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, FakeSleep
from tests.example_support import asgi_client

NO_ACCESS = "the backup service may not read this from the Northflank API"
FAILED = "the Northflank API failed"


def _app(mock: MockNorthflank, fake_sleep: FakeSleep, **settings: Any) -> Any:
    """The example app against ``mock``, retrying twice at most through ``fake_sleep``."""
    settings.setdefault("token", mock.token)
    settings.setdefault("base_url", str(mock.base_url))
    settings.setdefault("retry", RetryPolicy(max_attempts=2, sleep=fake_sleep))
    return fastapi_app.create_app(fastapi_app.Settings(**settings))


def _url(addon: str = ADDON, suffix: str = "") -> str:
    return f"/projects/{PROJECT}/addons/{addon}/backups{suffix}"


@pytest.mark.parametrize(
    ("plan", "settings", "params", "status", "detail"),
    [
        pytest.param(lambda m: None, {"token": "nf-wrong"}, {}, 502, NO_ACCESS, id="upstream-401"),
        pytest.param(
            lambda m: m.faults.fail_path(f"/addons/{ADDON}/backups", 403),
            {},
            {},
            502,
            NO_ACCESS,
            id="upstream-403",
        ),
        pytest.param(
            lambda m: m.faults.fail_path("/backups", 500), {}, {}, 502, FAILED, id="upstream-500"
        ),
        pytest.param(
            lambda m: None,
            {},
            {"cursor": "not-a-cursor"},
            400,
            "the Northflank API refused the query: is the cursor from this list?",
            id="foreign-cursor",
        ),
    ],
)
async def test_upstream_failure_becomes_a_safe_answer(
    mock: MockNorthflank,
    fake_sleep: FakeSleep,
    plan: Callable[[MockNorthflank], object],
    settings: dict[str, Any],
    params: dict[str, str],
    status: int,
    detail: str,
) -> None:
    """Each upstream failure gets its status and a fixed message, without the token or details."""
    mock.generate_backups(PROJECT, ADDON, 3)
    plan(mock)
    async with asgi_client(_app(mock, fake_sleep, **settings)) as client:
        response = await client.get(_url(), params=params)

    assert (status, {"detail": detail}) == (response.status_code, response.json())
    assert mock.token not in response.text
    assert "nf-wrong" not in response.text


@pytest.mark.parametrize("suffix", ["", ".ndjson"])
async def test_unknown_addon_is_404(
    mock: MockNorthflank, fake_sleep: FakeSleep, suffix: str
) -> None:
    """An addon the API does not know is a 404 on both endpoints."""
    mock.add_addon(PROJECT, ADDON)
    async with asgi_client(_app(mock, fake_sleep)) as client:
        response = await client.get(_url("no-such-addon", suffix))

    assert (404, {"detail": "no such project or addon"}) == (
        response.status_code,
        response.json(),
    )


async def test_upstream_500_is_retried_before_the_502(
    mock: MockNorthflank, fake_sleep: FakeSleep
) -> None:
    """A 500 is asked again as the app's retry policy allows before the client gets its 502."""
    mock.generate_backups(PROJECT, ADDON, 3)
    mock.faults.fail_path("/backups", 500)
    async with asgi_client(_app(mock, fake_sleep)) as client:
        await client.get(_url())

    assert 2 == len(mock.requests)


async def test_rate_limit_is_503_with_retry_after_rounded_up(
    mock: MockNorthflank, fake_sleep: FakeSleep
) -> None:
    """A 429 asking for a longer wait than max_wait is a 503 whose Retry-After is rounded up."""
    mock.generate_backups(PROJECT, ADDON, 3)
    mock.faults.fail(1, 429, retry_after="119.2")
    app = _app(mock, fake_sleep, retry=RetryPolicy(max_wait=5, sleep=fake_sleep))
    async with asgi_client(app) as client:
        response = await client.get(_url())

    assert (503, "120", []) == (
        response.status_code,
        response.headers.get("retry-after"),
        fake_sleep.waits,
    )


@pytest.mark.parametrize(
    ("upstream", "passed_on"), [("1e308", "3600"), ("3600.5", "3600"), ("0", "1"), ("0.2", "1")]
)
async def test_rate_limit_retry_after_is_bounded(
    mock: MockNorthflank, fake_sleep: FakeSleep, upstream: str, passed_on: str
) -> None:
    """The 503's Retry-After stays within 1..3600 whole seconds, whatever the API asked for."""
    mock.generate_backups(PROJECT, ADDON, 3)
    mock.faults.fail(1, 429, retry_after=upstream)
    async with asgi_client(_app(mock, fake_sleep, retry=None)) as client:
        response = await client.get(_url())

    assert (503, passed_on, 1) == (
        response.status_code,
        response.headers.get("retry-after"),
        len(mock.requests),
    )


async def test_unreachable_api_is_502(mock: MockNorthflank, fake_sleep: FakeSleep) -> None:
    """An API that refuses connections is a 502."""
    async with MockNorthflank() as gone:
        closed = str(gone.base_url)  # once closed, its port refuses connections
    async with asgi_client(_app(mock, fake_sleep, base_url=closed)) as client:
        response = await client.get(_url())

    assert (502, {"detail": FAILED}) == (response.status_code, response.json())


@pytest.mark.parametrize("per_page", ["0", "101", "ten"])
async def test_per_page_out_of_range_is_422_without_a_request(
    mock: MockNorthflank, fake_sleep: FakeSleep, per_page: str
) -> None:
    """per_page outside 1..100 is FastAPI's 422, and the API is not asked."""
    async with asgi_client(_app(mock, fake_sleep)) as client:
        response = await client.get(_url(), params={"per_page": per_page})

    assert (422, ["query", "per_page"], []) == (
        response.status_code,
        response.json()["detail"][0]["loc"],
        mock.requests,
    )


async def test_ndjson_error_after_the_first_page_ends_with_an_error_line(
    mock: MockNorthflank, fake_sleep: FakeSleep
) -> None:
    """A failure past the first page ends the stream with a safe error line."""
    mock.generate_backups(PROJECT, ADDON, 30)
    mock.faults.fail(2, 403)
    async with asgi_client(_app(mock, fake_sleep)) as client:
        response = await client.get(_url(suffix=".ndjson"), params={"per_page": 10})

    lines = [json.loads(line) for line in response.text.splitlines()]
    assert 200 == response.status_code
    assert [b["id"] for b in mock.backups(PROJECT, ADDON)[:10]] == [b["id"] for b in lines[:-1]]
    assert {"error": {"status": 502, "message": NO_ACCESS}} == lines[-1]
