"""The one request function over real HTTP: any method with a JSON body, and each call's retry rule.

The public calls only read today; the writes to come send through the same layers, so
these tests drive the transport itself against a small loopback app.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer
from yarl import URL

from northflank_async import RetryPolicy, ServerError
from northflank_async._retry import is_transient
from northflank_async._transport import Transport
from tests.conftest import FakeSleep


@pytest.fixture
async def echo(aiohttp_server: AiohttpServer) -> tuple[URL, list[dict[str, Any]]]:
    """A server that answers 503 to its first request and echoes every request after it."""
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append(
            {
                "method": request.method,
                "content_type": request.content_type,
                "body": json.loads(body) if body else None,
            }
        )
        if len(seen) == 1:
            return web.json_response({"error": {"message": "busy"}}, status=503)
        return web.json_response({"data": {"echo": seen[-1]["body"]}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = await aiohttp_server(app)
    return server.make_url("/v1/things"), seen


def _transport(sleep: FakeSleep) -> Transport:
    return Transport(
        headers={"Authorization": "Bearer t"},
        timeout=5.0,
        retry=RetryPolicy(sleep=sleep),
        max_concurrency=2,
        session=None,
    )


async def test_post_sends_its_json_body_and_is_retried_as_its_rule_allows(
    echo: tuple[URL, list[dict[str, Any]]], fake_sleep: FakeSleep
) -> None:
    """A POST with a JSON body that its rule lets repeat is sent again after a 503, body and all."""
    url, seen = echo
    transport = _transport(fake_sleep)
    try:
        data, _ = await transport.request(
            "POST", url, json={"name": "nightly"}, retryable=is_transient
        )
    finally:
        await transport.close()

    assert {"data": {"echo": {"name": "nightly"}}} == data
    expected = {"method": "POST", "content_type": "application/json", "body": {"name": "nightly"}}
    assert [expected, expected] == seen
    assert 1 == len(fake_sleep.waits)


async def test_a_write_that_must_not_repeat_raises_its_first_failure(
    echo: tuple[URL, list[dict[str, Any]]], fake_sleep: FakeSleep
) -> None:
    """A call whose rule repeats nothing gets the 503 itself, named with its method, after one request."""
    url, seen = echo
    transport = _transport(fake_sleep)
    try:
        with pytest.raises(ServerError) as caught:
            await transport.request("DELETE", url, retryable=lambda _: False)
    finally:
        await transport.close()

    assert f"503 from DELETE {url}: busy" == str(caught.value)
    assert [{"method": "DELETE", "content_type": "application/octet-stream", "body": None}] == seen
    assert [] == fake_sleep.waits
