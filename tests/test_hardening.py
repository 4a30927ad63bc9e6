"""What a hostile server can send, over real loopback HTTP: bounded memory, only SDK errors.

Each test here fails on the SDK before its hardening: unbounded bodies, RecursionError
and conversion errors escaping, the token echoed into errors and logs, endless empty
pages, long cursors in every message, and a session used from a second event loop.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
import tracemalloc
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import ClientSession, web
from yarl import URL

from northflank_async import (
    BadRequestError,
    ConfigurationError,
    EventLoopError,
    NorthflankError,
    NorthflankSession,
    NotFoundError,
    PaginationError,
    ResponseTooLargeError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
)
from northflank_async._pagination import MAX_EMPTY_PAGES
from northflank_async.testing import MockNorthflank, example_backup
from tests.conftest import ADDON, PROJECT, FakeSleep, SessionFactory
from tests.test_security import SECRET, assert_token_absent

LIMIT = 64 * 1024
DEEP = b"[" * 100_000 + b"]" * 100_000


def page_body(backups: list[Any], *, cursor: str | None = None, more: bool = False) -> bytes:
    """A page of the backups route as the API sends it."""
    return json.dumps(
        {
            "data": {"backups": backups},
            "pagination": {"hasNextPage": more, "cursor": cursor, "count": len(backups)},
        }
    ).encode()


# -- 1. memory is bounded whatever an answer holds -----------------------------------------


async def test_an_endless_answer_stops_at_the_limit_with_bounded_memory(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """A body that never ends is read to the limit only, then refused, and not retried."""
    mock.faults.endless(1)
    nf = await make_session(max_response_size=LIMIT)
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLargeError) as caught:
            await nf.get_backup_page(PROJECT, ADDON)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = caught.value
    assert (200, LIMIT) == (error.status, error.limit)
    assert f"max_response_size ({LIMIT:,} bytes)" in str(error)
    assert str(error).startswith(f"GET {mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/")
    assert isinstance(error, ResponseValidationError)
    assert 1 == len(mock.requests)  # an oversize answer is not asked for again
    assert peak < 8 * LIMIT


@pytest.mark.parametrize(("status", "expected_requests"), [(200, 1), (503, 1), (404, 1)])
async def test_a_large_answer_with_a_length_is_refused_unread(
    mock: MockNorthflank, make_session: SessionFactory, status: int, expected_requests: int
) -> None:
    """A Content-Length past the limit is refused at once, error statuses too, and not retried."""
    mock.faults.fail(1, status, body=b" " * (LIMIT + 1), content_type="application/json")
    nf = await make_session(max_response_size=LIMIT)
    with pytest.raises(ResponseTooLargeError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert status == caught.value.status
    assert f"the {status} answer is larger than max_response_size" in str(caught.value)
    assert expected_requests == len(mock.requests)


async def test_an_answer_of_exactly_the_limit_is_read(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """The limit is inclusive: a page of exactly ``max_response_size`` bytes is fine."""
    body = page_body([example_backup()])
    padded = body[:-1] + b" " * (LIMIT - len(body)) + body[-1:]
    assert LIMIT == len(padded)
    mock.faults.bad_json(1, padded)
    nf = await make_session(max_response_size=LIMIT)
    page = await nf.get_backup_page(PROJECT, ADDON)
    assert [example_backup()["id"]] == [b.id for b in page.backups]


@pytest.mark.parametrize("value", [0, 1023, -1, 1.5, "4MiB", True])
def test_max_response_size_is_checked(value: object) -> None:
    """A limit that is not a whole number of bytes >= 1024 is refused at construction."""
    with pytest.raises(ConfigurationError, match="max_response_size must be an int >= 1024"):
        NorthflankSession("t", max_response_size=value)  # type: ignore[arg-type]


# -- 2. whatever the body, only the SDK's errors --------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (DEEP, "[[[[[[["),
        (b'{"error": {"message": "x", "details": ' + DEEP + b"}}", '{"error": {"message"'),
        (b'{"error": {"message": ' + b"7" * 5000 + b"}}", '{"error": {"message": 7777'),
        (b'{"error": "\xff\xfe"}', '{"error": "'),
    ],
    ids=["deep", "deep-details", "long-number", "not-utf8"],
)
async def test_an_unreadable_error_body_gives_its_status_error(
    mock: MockNorthflank, make_session: SessionFactory, body: bytes, expected: str
) -> None:
    """An error answer whose body cannot be parsed is still its APIStatusError, message safe."""
    mock.faults.fail(1, 400, body=body, content_type="application/json")
    nf = await make_session()
    with pytest.raises(BadRequestError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert caught.value.message.startswith(expected)
    assert len(caught.value.message) <= 200
    assert caught.value.details is None


async def test_details_too_deep_to_print_are_dropped(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """Details that parse (orjson reads 1024 levels) but nest too deeply to repr() are left out."""
    deep = b"[" * 900 + b"]" * 900
    body = b'{"error": {"message": "bad", "details": ' + deep + b"}}"
    mock.faults.fail(1, 400, body=body, content_type="application/json")
    nf = await make_session()
    with pytest.raises(BadRequestError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert ("bad", None) == (caught.value.message, caught.value.details)
    repr(vars(caught.value))  # printable


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (DEEP, "cannot be read as JSON: nested too deeply"),
        (b'{"data": ' + b"9" * 5000 + b"}", "cannot be read as JSON: a number too long"),
        (b'{"data": "\xff"}', "cannot be read as JSON: not UTF-8 text"),
        (b"<html>", "is not JSON: '<html>'"),
    ],
    ids=["deep", "long-number", "not-utf8", "html"],
)
async def test_an_unreadable_success_body_says_why(
    mock: MockNorthflank, make_session: SessionFactory, body: bytes, problem: str
) -> None:
    """A 2xx body that cannot be parsed is a ResponseValidationError naming the reason."""
    mock.faults.bad_json(1, body)
    nf = await make_session()
    with pytest.raises(ResponseValidationError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert f"the 200 answer {problem}" in str(caught.value)
    assert caught.value.__context__ is None


async def test_data_nested_too_deeply_to_print_is_a_validation_error(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """Deep but parseable data where the API sends a page is refused with a printable message."""
    deep = b"[" * 1000 + b"]" * 1000  # orjson reads it; repr() of it would fail
    backup = json.dumps(example_backup()).encode()
    bad_backup = backup[:-1] + b', "name": ' + deep + b"}"
    mock.faults.bad_json(1, b'{"data": ' + deep + b', "pagination": {}}')
    mock.faults.bad_json(2, page_body([])[:-1].replace(b"[]", b"[" + bad_backup + b"]") + b"}")
    nf = await make_session()
    for _ in range(2):
        with pytest.raises(ResponseValidationError) as caught:
            await nf.get_backup_page(PROJECT, ADDON)
        assert len(str(caught.value)) < 600


async def test_a_skipped_addon_with_a_deep_error_body_lets_the_stream_go_on(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """stream_backups(on_error="skip") skips the addon, it does not end on RecursionError."""
    mock.generate_backups(PROJECT, ADDON, 3)
    mock.generate_backups(PROJECT, "other-addon", 2)
    mock.faults.fail_path(f"/addons/{ADDON}/", 404, body=DEEP, content_type="application/json")
    skipped: list[tuple[str | None, type[NorthflankError]]] = []
    nf = await make_session()
    stream = nf.stream_backups(
        PROJECT,
        addon_ids=[ADDON, "other-addon"],
        on_error="skip",
        on_skip=lambda _, addon, error: skipped.append((addon, type(error))),
    )
    got = [item.addon_id async for item in stream]
    assert ["other-addon"] * 2 == got
    assert [(ADDON, NotFoundError)] == skipped


# -- 3. the token never comes back from the server into an error or a log ------------------


ECHO_JSON = json.dumps(
    {
        "error": {
            "message": f"invalid header Authorization: Bearer {SECRET}",
            "id": "bad-token",
            "details": {"headers": {"authorization": f"Bearer {SECRET}"}, "seen": [SECRET]},
        }
    }
)


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (400, ECHO_JSON, "application/json"),
        (503, ECHO_JSON, "application/json"),
        (502, f"<pre>{' ' * 180}Authorization: Bearer {SECRET}</pre>", "text/html"),
        (401, f"bad token {json.dumps(SECRET)}", "text/plain"),
    ],
    ids=["json-400", "json-503-retried", "html-cut-at-the-excerpt", "text-401"],
)
async def test_an_echoed_token_is_scrubbed_from_errors_and_logs(
    caplog: pytest.LogCaptureFixture, status: int, body: str, content_type: str
) -> None:
    """A server echoing the Authorization header leaves no trace of the token anywhere."""
    caplog.set_level(logging.DEBUG, logger="northflank_async")
    async with MockNorthflank(token=SECRET) as mock:
        mock.faults.fail(range(1, 10), status, body=body, content_type=content_type)
        async with NorthflankSession(
            SECRET, base_url=mock.base_url, retry=RetryPolicy(sleep=FakeSleep())
        ) as nf:
            with pytest.raises(NorthflankError) as caught:
                await nf.get_backup_page(PROJECT, ADDON)
    assert_token_absent(caught.value, SECRET)
    assert SECRET not in repr(getattr(caught.value, "details", None))
    assert "<token>" in str(caught.value)
    for record in caplog.records:
        assert SECRET not in record.getMessage()


async def test_a_token_echoed_in_data_is_scrubbed_from_validation_and_paging_errors() -> None:
    """Data quoted in a message (a bad value, a repeated cursor) is scrubbed of the token."""
    bad = {**example_backup(), "status": {"echo": SECRET}}
    async with MockNorthflank(token=SECRET) as mock:
        mock.faults.bad_json(1, page_body([bad]))
        mock.faults.bad_json(2, json.dumps({"data": {"echo": SECRET}}).encode())
        mock.faults.bad_json(3, page_body([example_backup()], cursor=SECRET, more=True))
        mock.faults.bad_json(4, page_body([example_backup()], cursor=SECRET, more=True))
        async with NorthflankSession(SECRET, base_url=mock.base_url, retry=None) as nf:
            for expected in (ResponseValidationError, ResponseValidationError):
                with pytest.raises(expected) as caught:
                    await nf.get_backup_page(PROJECT, ADDON)
                assert_token_absent(caught.value, SECRET)
            with pytest.raises(PaginationError) as repeated:
                async for _ in nf.list_backups(PROJECT, ADDON):
                    pass
    assert_token_absent(repeated.value, SECRET)
    assert "<token>" in str(repeated.value)


# -- 5. a walk of empty pages ends ---------------------------------------------------------


async def test_endless_empty_pages_end_the_walk(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """Empty pages that say there is more end with PaginationError after MAX_EMPTY_PAGES."""
    mock.set_page_sizes(PROJECT, ADDON, [0] * (MAX_EMPTY_PAGES + 50))
    mock.generate_backups(PROJECT, ADDON, 1)
    nf = await make_session()
    with pytest.raises(PaginationError, match=f"{MAX_EMPTY_PAGES} pages in a row were empty"):
        async for _ in nf.list_backups(PROJECT, ADDON, max_items=1, prefetch=False):
            pass
    assert MAX_EMPTY_PAGES == len(mock.requests)


async def test_fewer_empty_pages_are_followed(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """A run just below the bound, then backups, is an ordinary walk."""
    mock.set_page_sizes(PROJECT, ADDON, [0] * (MAX_EMPTY_PAGES - 1) + [2, 0, 1])
    mock.generate_backups(PROJECT, ADDON, 3)
    nf = await make_session()
    got = [b.id async for b in nf.list_backups(PROJECT, ADDON)]
    assert [b["id"] for b in mock.backups(PROJECT, ADDON)] == got


@pytest.fixture
async def long_cursors() -> AsyncIterator[URL]:
    """A server whose every page holds one backup and a fresh 100 KB cursor; 60 pages."""

    async def handle(request: web.Request) -> web.Response:
        number = int(request.query.get("cursor", "0" * 100_000)[:8]) + 1
        cursor = f"{number:08d}" + "c" * 100_000
        body = page_body([example_backup()], cursor=cursor, more=number < 60)
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/projects/{project}/addons/{addon}/backups", handle)
    runner = web.AppRunner(app, max_line_size=200_000)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield URL(f"http://127.0.0.1:{port}")
    await runner.cleanup()


def _sdk_memory(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes held by allocations made under the SDK's own frames (not the test's server)."""
    sdk = tracemalloc.Filter(True, "*/northflank_async/*", all_frames=True)
    return sum(stat.size for stat in snapshot.filter_traces([sdk]).statistics("filename"))


async def test_a_walk_remembers_digests_not_cursors(long_cursors: URL) -> None:
    """60 cursors of 100 KB each: the walk keeps their digests, not 6 MB of cursors."""
    held: list[int] = []
    async with NorthflankSession("t", base_url=long_cursors) as nf:
        tracemalloc.start(64)
        try:
            async for _ in nf.list_backups(PROJECT, ADDON, prefetch=False):
                if len(held) in (5, 55):
                    gc.collect()
                    held.append(_sdk_memory(tracemalloc.take_snapshot()))
                else:
                    held.append(0)
        finally:
            tracemalloc.stop()
    assert 60 == len(held)
    assert held[55] - held[5] < 1_000_000  # 5 MB of cursors would have stayed


# -- 10. messages stay short ---------------------------------------------------------------


async def test_a_long_cursor_is_shortened_in_the_message_only(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """A 5 KB cursor makes a short message; the error's url keeps it whole."""
    cursor = "k" * 5_000
    mock.faults.fail(1, 500)
    nf = await make_session(retry=None)
    with pytest.raises(ServerError) as caught:
        await nf.get_backup_page(PROJECT, ADDON, cursor=cursor)
    assert len(str(caught.value)) < 400
    assert f"cursor={'k' * 48}…(5000 chars)" in str(caught.value)
    assert f"cursor={cursor}" in caught.value.url


def test_a_token_that_is_not_a_string_is_named_so() -> None:
    """NorthflankSession(123) says the token must be a string, not that it holds whitespace."""
    with pytest.raises(ConfigurationError, match="the API token must be a string, got int"):
        NorthflankSession(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "base_url",
    [
        "ftp://admin:hunter2@example.com",
        "http://admin:hunter2@example.com",
        "https://admin:hunter2@[::1",
        "https://admin:hunter2@example.com/?q=1",
    ],
)
def test_base_url_credentials_are_not_echoed(base_url: str) -> None:
    """A configuration error about a base URL never repeats its password."""
    with pytest.raises(ConfigurationError) as caught:
        NorthflankSession("t", base_url=base_url)
    assert "hunter2" not in str(caught.value)
    assert "base_url" in str(caught.value)


# -- 6. a session used from a second event loop --------------------------------------------


@pytest.fixture
def threaded_mock() -> Iterator[MockNorthflank]:
    """A MockNorthflank served from its own thread's loop, so tests can run several loops."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    mock = MockNorthflank()
    mock.generate_backups(PROJECT, ADDON, 3)
    asyncio.run_coroutine_threadsafe(mock.start(), loop).result(5)
    yield mock
    asyncio.run_coroutine_threadsafe(mock.close(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def _use_from_two_loops(mock: MockNorthflank) -> None:
    """A module-level session's mistake: asyncio.run() it twice, then close it in a third."""
    nf = NorthflankSession(mock.token, base_url=mock.base_url)

    async def count() -> int:
        return len([b async for b in nf.list_backups(PROJECT, ADDON)])

    async def one_page() -> int:
        return len((await nf.get_backup_page(PROJECT, ADDON)).backups)

    assert 3 == asyncio.run(count())
    for use in (count, one_page):
        with pytest.raises(EventLoopError, match="belongs to another event loop") as caught:
            asyncio.run(use())
        assert isinstance(caught.value, RuntimeError)
        assert "create one session per event loop" in str(caught.value)
    asyncio.run(nf.close())
    asyncio.run(nf.close())  # twice is fine
    assert nf.closed


def test_a_second_event_loop_is_refused_and_close_still_works(
    threaded_mock: MockNorthflank,
) -> None:
    """Two asyncio.run() calls on one session: a clear error, then a close that does not crash."""
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        _use_from_two_loops(threaded_mock)
        gc.collect()  # the first loop's idle sockets go here, with ResourceWarnings at most
    assert all(issubclass(w.category, ResourceWarning) for w in caught_warnings)


def test_a_session_is_closed_from_another_threads_loop_in_its_own(
    threaded_mock: MockNorthflank,
) -> None:
    """Closing from another loop while the session's loop still runs closes its pool there."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        nf = NorthflankSession(threaded_mock.token, base_url=threaded_mock.base_url)

        async def first() -> int:
            page = await nf.get_backup_page(PROJECT, ADDON)
            return len(page.backups)

        assert 3 == asyncio.run_coroutine_threadsafe(first(), loop).result(5)
        asyncio.run(nf.close())
        assert nf.closed
        http = nf._transport._http
        assert http is not None
        assert http.closed
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


# -- 9. proxies from the environment ---------------------------------------------------------


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[URL, list[str]]]:
    """A loopback forward proxy for plain-http requests; yields its URL and what it carried."""
    carried: list[str] = []

    async def forward(request: web.Request) -> web.Response:
        carried.append(f"{request.method} {request.url}")
        headers = {"Authorization": request.headers.get("Authorization", "")}
        async with (
            ClientSession() as client,
            client.request(request.method, request.url, headers=headers) as answer,
        ):
            body = await answer.read()
            passed = {k: v for k, v in answer.headers.items() if k.lower().startswith("x-")}
            return web.Response(
                status=answer.status, body=body, headers=passed, content_type="application/json"
            )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield URL(f"http://127.0.0.1:{runner.addresses[0][1]}"), carried
    await runner.cleanup()


@pytest.mark.parametrize(
    ("no_proxy", "trust_env", "through_proxy"),
    [(None, None, True), ("127.0.0.1", None, False), (None, False, False)],
    ids=["by-default", "no-proxy", "trust-env-off"],
)
async def test_the_environments_proxy_is_honoured(
    mock: MockNorthflank,
    proxy: tuple[URL, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str | None,
    trust_env: bool | None,
    through_proxy: bool,
) -> None:
    """HTTP_PROXY carries the requests unless NO_PROXY names the host or trust_env=False."""
    proxy_url, carried = proxy
    mock.generate_backups(PROJECT, ADDON, 3)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", str(proxy_url))
    if no_proxy is not None:
        monkeypatch.setenv("NO_PROXY", no_proxy)
    nf = (
        NorthflankSession(mock.token, base_url=mock.base_url)  # the default
        if trust_env is None
        else NorthflankSession(mock.token, base_url=mock.base_url, trust_env=trust_env)
    )
    async with nf:
        got = [b.id async for b in nf.list_backups(PROJECT, ADDON)]
    assert [b["id"] for b in mock.backups(PROJECT, ADDON)] == got
    expected = [f"GET {mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups?per_page=100"]
    assert (expected if through_proxy else []) == carried
    assert 1 == len(mock.requests)  # and the mock took the token: it answers 401 otherwise


def test_trust_env_is_checked() -> None:
    """trust_env takes True or False only."""
    with pytest.raises(ConfigurationError, match="trust_env must be True or False"):
        NorthflankSession("t", trust_env="no")  # type: ignore[arg-type]


async def test_the_proxy_is_looked_up_once_per_host(
    mock: MockNorthflank, proxy: tuple[URL, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment is read at a host's first request, not again for every request.

    (aiohttp's own ``trust_env`` looks the proxy up in a thread per request, which held
    each prefetched request back until the page before it was structured.)
    """
    proxy_url, carried = proxy
    mock.generate_backups(PROJECT, ADDON, 30)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTP_PROXY", str(proxy_url))
    async with NorthflankSession(mock.token, base_url=mock.base_url) as nf:
        pages = nf.list_backup_pages(PROJECT, ADDON, per_page=10)
        first = await anext(pages)
        monkeypatch.setenv("NO_PROXY", "*")  # read once: later requests keep the proxy
        rest = [page async for page in pages]
    assert 30 == len(first.backups) + sum(len(page.backups) for page in rest)
    assert 3 == len(carried)


def test_a_base_url_that_is_not_text_is_named_so() -> None:
    """A base URL of the wrong type says what it must be."""
    with pytest.raises(
        ConfigurationError, match=r"base_url must be a string or a yarl\.URL, got int"
    ):
        NorthflankSession("t", base_url=8080)  # type: ignore[arg-type]
