"""Walks that survive faults: retries mid-walk, the rate limit, bounded concurrency,
pagination that cannot loop, and clear errors for answers that are not the API's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from yarl import URL

from northflank_async import (
    APIStatusError,
    NorthflankSession,
    NotFoundError,
    PaginationError,
    RateLimit,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
)
from northflank_async._responses import parse_rate_limit
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, FakeSleep, SessionFactory

PER_PAGE = 5
PAGES = 10


@pytest.fixture
def ten_pages(mock: MockNorthflank) -> list[str]:
    """Fifty backups for PROJECT/ADDON, ten pages of five; returns their ids in order."""
    return [b["id"] for b in mock.generate_backups(PROJECT, ADDON, PER_PAGE * PAGES)]


def backups_url(mock: MockNorthflank) -> str:
    """The backups route of PROJECT/ADDON on the mock, without a query."""
    return f"{mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups"


async def ids_until_error(
    nf: NorthflankSession, *, prefetch: bool = True, **kwargs: object
) -> tuple[list[str], BaseException | None]:
    """The backup ids a walk yields, and the error that ended it (None if it finished)."""
    ids: list[str] = []
    try:
        async for backup in nf.list_backups(
            PROJECT,
            ADDON,
            per_page=PER_PAGE,
            prefetch=prefetch,
            **kwargs,  # type: ignore[arg-type]  # keyword arguments passed through
        ):
            ids.append(backup.id)
    except Exception as error:
        return ids, error
    return ids, None


# -- a retry mid-walk repeats the same request ------------------------------------------------


@pytest.mark.parametrize("prefetch", [True, False])
@pytest.mark.parametrize("failing", [1, 5, PAGES], ids=["first", "middle", "last"])
async def test_retry_mid_walk_repeats_the_same_cursor(
    mock: MockNorthflank,
    nf: NorthflankSession,
    ten_pages: list[str],
    failing: int,
    prefetch: bool,
) -> None:
    """A 503 on one page is retried with the same query; every backup comes once, in order."""
    mock.faults.fail(failing, 503)
    ids, error = await ids_until_error(nf, prefetch=prefetch)
    assert None is error
    assert ten_pages == ids
    assert PAGES + 1 == len(mock.requests)
    queries = [r.raw_query for r in mock.requests]
    assert queries[failing - 1] == queries[failing]
    walk = queries[:failing] + queries[failing + 1 :]
    assert PAGES == len(set(walk))
    assert "per_page=5" == walk[0]
    assert all(q.startswith("per_page=5&cursor=") for q in walk[1:])


@pytest.mark.parametrize("prefetch", [True, False])
async def test_dropped_connection_mid_walk_repeats_the_same_cursor(
    mock: MockNorthflank, nf: NorthflankSession, ten_pages: list[str], prefetch: bool
) -> None:
    """Two drops in a row on page 4 are retried with page 4's cursor; nothing is lost."""
    mock.faults.drop([4, 5])
    ids, error = await ids_until_error(nf, prefetch=prefetch)
    assert None is error
    assert ten_pages == ids
    assert PAGES + 2 == len(mock.requests)
    queries = [r.raw_query for r in mock.requests]
    assert queries[3] == queries[4] == queries[5]


@pytest.mark.parametrize("prefetch", [True, False])
async def test_timeout_mid_walk_repeats_the_same_cursor(
    mock: MockNorthflank, make_session: SessionFactory, ten_pages: list[str], prefetch: bool
) -> None:
    """A page that times out is asked for again with the same cursor."""
    nf = await make_session(timeout=0.2)
    mock.faults.stall(3, 5)
    ids, error = await ids_until_error(nf, prefetch=prefetch)
    assert None is error
    assert ten_pages == ids
    queries = [r.raw_query for r in mock.requests]
    assert PAGES + 1 == len(queries)
    assert queries[2] == queries[3]


# -- the rate limit ------------------------------------------------------------------------


async def test_rate_limit_is_on_each_page_and_the_session(
    mock: MockNorthflank, nf: NorthflankSession, ten_pages: list[str]
) -> None:
    """Every page carries the rate-limit headers as a RateLimit; nf.rate_limit is the latest."""
    initial = nf.rate_limit
    before = datetime.now(UTC)
    pages = [p async for p in nf.list_backup_pages(PROJECT, ADDON, per_page=PER_PAGE)]
    after = datetime.now(UTC)
    assert [1000 - n for n in range(1, PAGES + 1)] == [
        p.rate_limit.remaining for p in pages if p.rate_limit
    ]
    assert {1000} == {p.rate_limit.limit for p in pages if p.rate_limit}
    last = pages[-1].rate_limit
    assert last is not None
    assert (None, last) == (initial, nf.rate_limit)
    assert before + timedelta(seconds=3598) <= last.reset_at <= after + timedelta(seconds=3600)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "5"},
        {"x-ratelimit-limit": "many", "x-ratelimit-remaining": "5", "x-ratelimit-reset": "9"},
        {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "5", "x-ratelimit-reset": "nan"},
        {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "5", "x-ratelimit-reset": "-1"},
        {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "5", "x-ratelimit-reset": "1e9"},
    ],
)
def test_unusable_rate_limit_headers_give_none(headers: dict[str, str]) -> None:
    """Missing or unusable x-ratelimit-* headers give no RateLimit rather than an error."""
    assert None is parse_rate_limit(headers, datetime(2024, 5, 1, tzinfo=UTC))


def test_rate_limit_headers_give_a_rate_limit() -> None:
    """The reset, in seconds from the answer, becomes an absolute reset_at."""
    now = datetime(2024, 5, 1, tzinfo=UTC)
    headers = {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "90"}
    assert RateLimit(limit=1000, remaining=0, reset_at=now + timedelta(seconds=90)) == (
        parse_rate_limit(headers, now)
    )


def test_rate_limit_is_a_plain_value() -> None:
    """RateLimit compares by value, so a test can state the one it expects."""
    reset = datetime(2024, 5, 1, tzinfo=UTC)
    assert RateLimit(limit=10, remaining=0, reset_at=reset) == RateLimit(
        limit=10, remaining=0, reset_at=reset
    )


@pytest.mark.parametrize("prefetch", [True, False])
async def test_spent_budget_waits_for_the_reset_instead_of_a_429(
    mock: MockNorthflank, make_session: SessionFactory, prefetch: bool
) -> None:
    """When a response leaves no budget, the next request first sleeps until the reset."""
    expected = [b["id"] for b in mock.generate_backups(PROJECT, ADDON, 3 * PER_PAGE)]
    mock.faults.rate_limit_budget(1, reset=30)
    waits: list[float] = []
    sent_before_wait: list[int] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        sent_before_wait.append(len(mock.requests))
        mock.reset_rate_limit()

    nf = await make_session(retry=RetryPolicy(sleep=sleep))
    ids, error = await ids_until_error(nf, prefetch=prefetch)
    assert None is error
    assert expected == ids
    assert [1] == sent_before_wait
    assert 1 == len(waits)
    assert 28.0 <= waits[0] <= 30.0
    assert 3 == len(mock.requests)  # a 429 would have been retried: a fourth request
    assert nf.rate_limit is not None
    assert 998 == nf.rate_limit.remaining


async def test_spent_budget_beyond_max_wait_is_raised(
    mock: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep
) -> None:
    """A budget that resets after max_wait is not slept: the 429 is raised with retry_after."""
    expected = [b["id"] for b in mock.generate_backups(PROJECT, ADDON, 2 * PER_PAGE)]
    mock.faults.rate_limit_budget(1, reset=120)
    ids, error = await ids_until_error(nf)
    assert expected[:PER_PAGE] == ids
    assert isinstance(error, RateLimitError)
    assert 120.0 == error.retry_after
    assert [] == fake_sleep.waits
    assert 2 == len(mock.requests)


@pytest.mark.parametrize(("limit", "walks"), [(3, 10), (8, 20)])
async def test_max_concurrency_bounds_requests_in_flight(
    mock: MockNorthflank, make_session: SessionFactory, limit: int, walks: int
) -> None:
    """However many walks run at once, at most max_concurrency requests are in flight."""
    for n in range(walks):
        mock.generate_backups(PROJECT, f"addon-{n}", 4 * PER_PAGE)
    mock.latency = 0.02
    nf = await make_session(max_concurrency=limit) if limit != 8 else await make_session()

    async def walk(addon: str) -> int:
        return len([b async for b in nf.list_backups(PROJECT, addon, per_page=PER_PAGE)])

    counts = await asyncio.gather(*(walk(f"addon-{n}") for n in range(walks)))
    assert [4 * PER_PAGE] * walks == counts
    assert limit == mock.max_in_flight


# -- pagination that cannot loop -------------------------------------------------------------


@pytest.mark.parametrize("prefetch", [True, False])
@pytest.mark.parametrize("page", [2, 5, PAGES])
async def test_repeated_cursor_raises_after_the_good_pages(
    mock: MockNorthflank, nf: NorthflankSession, ten_pages: list[str], page: int, prefetch: bool
) -> None:
    """A page whose next cursor is its own raises PaginationError naming the page and URL."""
    mock.faults.repeat_cursor(page)
    ids, error = await ids_until_error(nf, prefetch=prefetch)
    assert ten_pages[: page * PER_PAGE] == ids
    assert isinstance(error, PaginationError)
    assert page == error.page
    request = mock.requests[page - 1]
    url = f"{backups_url(mock)}?{request.raw_query}"
    assert url == error.url
    assert f"page {page} of GET {url}: the cursor " in str(error)
    assert "already used" in str(error)
    assert page == len(mock.requests)


@pytest.mark.parametrize("prefetch", [True, False])
@pytest.mark.parametrize("page", [1, 4, PAGES])
async def test_missing_cursor_raises_after_the_good_pages(
    mock: MockNorthflank, nf: NorthflankSession, ten_pages: list[str], page: int, prefetch: bool
) -> None:
    """hasNextPage without a cursor raises PaginationError after yielding that page."""
    mock.faults.omit_cursor(page)
    ids, error = await ids_until_error(nf, prefetch=prefetch)
    assert ten_pages[: page * PER_PAGE] == ids
    assert isinstance(error, PaginationError)
    assert page == error.page
    assert f"page {page} of GET {error.url}: hasNextPage is true but the answer has no cursor" in (
        str(error)
    )
    assert page == len(mock.requests)


async def test_resumed_walk_catches_its_own_start_cursor(
    mock: MockNorthflank, nf: NorthflankSession, ten_pages: list[str]
) -> None:
    """A walk resumed from a cursor refuses to follow that same cursor again."""
    first = await nf.get_backup_page(PROJECT, ADDON, per_page=PER_PAGE)
    assert first.pagination.cursor is not None
    mock.faults.repeat_cursor(2)
    ids, error = await ids_until_error(nf, cursor=first.pagination.cursor)
    assert ten_pages[PER_PAGE : 2 * PER_PAGE] == ids
    assert isinstance(error, PaginationError)
    assert 1 == error.page


async def test_empty_pages_with_a_next_page_are_followed(
    mock: MockNorthflank, nf: NorthflankSession, ten_pages: list[str]
) -> None:
    """Empty pages that say hasNextPage are followed until the real end."""
    mock.set_page_sizes(PROJECT, ADDON, [5, 0, 0, 40, 0, 5])
    ids, error = await ids_until_error(nf)
    assert None is error
    assert ten_pages == ids
    assert [5, 0, 0, 40, 0, 5] == [
        p.pagination.count async for p in nf.list_backup_pages(PROJECT, ADDON, per_page=PER_PAGE)
    ]


async def test_repeat_after_empty_pages_is_still_caught(
    mock: MockNorthflank, nf: NorthflankSession, ten_pages: list[str]
) -> None:
    """A cursor repeated after a run of empty pages still raises PaginationError."""
    mock.set_page_sizes(PROJECT, ADDON, [3, 0, 0, 4])
    mock.faults.repeat_cursor(3)
    ids, error = await ids_until_error(nf)
    assert ten_pages[:3] == ids
    assert isinstance(error, PaginationError)
    assert 3 == error.page


@pytest.fixture
async def cycling_api() -> AsyncIterator[URL]:
    """A loopback API whose backups pages go c1 -> c2 -> c1: a loop of two cursors."""
    nexts = {None: "c1", "c1": "c2", "c2": "c1"}

    async def handle(request: web.Request) -> web.Response:
        cursor = request.query.get("cursor")
        backup = {
            "id": f"after-{cursor}",
            "name": "b",
            "status": "completed",
            "createdAt": "2024-01-01T00:00:00Z",
            "completedAt": "2024-01-01T00:00:01Z",
            "config": {"size": "1"},
        }
        pagination = {"hasNextPage": True, "cursor": nexts[cursor], "count": 1}
        return web.json_response({"data": {"backups": [backup]}, "pagination": pagination})

    app = web.Application()
    app.router.add_get("/v1/projects/{project}/addons/{addon}/backups", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield URL.build(scheme="http", host="127.0.0.1", port=int(runner.addresses[0][1]))
    await runner.cleanup()


async def test_cursor_cycle_is_caught(cycling_api: URL, make_session: SessionFactory) -> None:
    """A cursor that comes back two pages later (a cycle, not a self-loop) is caught."""
    nf = await make_session(base_url=cycling_api)
    ids, error = await ids_until_error(nf)
    assert ["after-None", "after-c1", "after-c2"] == ids
    assert isinstance(error, PaginationError)
    assert 3 == error.page
    assert "'c1' was already used" in str(error)


# -- answers that are not the API's ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", "the 200 answer has an empty body"),
        (b"  \n", "the 200 answer has an empty body"),
        (b"<html>not json</html>", "the 200 answer is not JSON: '<html>not json</html>'"),
        (b'{"data": {"backups": [', 'the 200 answer is not JSON: \'{"data": {"backups": [\''),
        (b"\xff\xfe{}", "the 200 answer is not JSON: '\ufffd\ufffd{}'"),
        (b"null", "the answer has no valid data.backups: None"),
        (b"[]", "the answer has no valid data.backups: []"),
        (b'{"data": {}}', "the answer has no valid data.backups: {'data': {}}"),
        (
            b'{"data": {"backups": {}}, "pagination": {"hasNextPage": false, "count": 0}}',
            "the answer has no valid data.backups: ",
        ),
        (
            b'{"data": {"backups": []}}',
            "the answer has no valid pagination: {'data': {'backups': []}}",
        ),
    ],
)
async def test_bad_200_body_is_a_validation_error(
    mock: MockNorthflank,
    nf: NorthflankSession,
    fake_sleep: FakeSleep,
    body: bytes,
    expected: str,
) -> None:
    """A 200 that is empty, not JSON, or lacks data.backups or pagination is refused clearly."""
    mock.add_addon(PROJECT, ADDON)
    mock.faults.bad_json(1, body)
    with pytest.raises(ResponseValidationError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    url = f"{backups_url(mock)}?per_page=100"
    assert url == caught.value.url
    assert str(caught.value).startswith(f"GET {url}: {expected}")
    assert None is caught.value.__cause__
    assert 1 == len(mock.requests)
    assert [] == fake_sleep.waits


async def test_long_bad_body_is_cut_to_an_excerpt(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """The excerpt of a long non-JSON body stays short."""
    mock.add_addon(PROJECT, ADDON)
    mock.faults.bad_json(1, b"<html>" + b"x" * 10_000 + b"</html>")
    with pytest.raises(ResponseValidationError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert len(str(caught.value)) < 400
    assert "<html>xxxx" in str(caught.value)


@pytest.mark.parametrize("prefetch", [True, False])
async def test_bad_body_mid_walk_comes_after_the_good_pages(
    mock: MockNorthflank, nf: NorthflankSession, ten_pages: list[str], prefetch: bool
) -> None:
    """A bad answer on page 3 raises after pages 1 and 2 were yielded."""
    mock.faults.bad_json(3)
    ids, error = await ids_until_error(nf, prefetch=prefetch)
    assert ten_pages[: 2 * PER_PAGE] == ids
    assert isinstance(error, ResponseValidationError)
    assert 3 == len(mock.requests)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(502, ServerError), (404, NotFoundError), (429, RateLimitError), (418, APIStatusError)],
)
async def test_html_error_page_gives_the_status_error(
    mock: MockNorthflank,
    make_session: SessionFactory,
    status: int,
    error_type: type[APIStatusError],
) -> None:
    """An error status with an HTML body (a proxy's page) gives its class, the body as message."""
    nf = await make_session(retry=None)
    mock.add_addon(PROJECT, ADDON)
    html = "<html>\n  <body><h1>Bad Gateway</h1>\n  nginx</body>\n</html>"
    mock.faults.fail(1, status, body=html)
    with pytest.raises(error_type) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert error_type is type(caught.value)
    assert status == caught.value.status
    assert "<html> <body><h1>Bad Gateway</h1> nginx</body> </html>" == caught.value.message
    assert (None, None) == (caught.value.error_id, caught.value.details)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Bad Gateway"),
        (b'{"message": "upstream down"}', '{"message": "upstream down"}'),
        (b'{"error": "upstream down"}', '{"error": "upstream down"}'),
    ],
)
async def test_error_body_that_is_not_the_apis_json(
    mock: MockNorthflank, make_session: SessionFactory, body: bytes, message: str
) -> None:
    """An error body that is empty or other JSON gives the reason phrase or the raw body."""
    nf = await make_session(retry=None)
    mock.add_addon(PROJECT, ADDON)
    mock.faults.fail(1, 502, body=body, content_type="application/json")
    with pytest.raises(ServerError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert message == caught.value.message


async def test_api_error_json_gives_message_and_id(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """The API's own error JSON gives the message and error id after retries run out."""
    nf = await make_session(retry=RetryPolicy(max_attempts=2, sleep=FakeSleep()))
    mock.add_addon(PROJECT, ADDON)
    mock.faults.fail([1, 2], 500)
    with pytest.raises(ServerError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert ("Injected fault: HTTP 500", "mock-error-000002") == (
        caught.value.message,
        caught.value.error_id,
    )
