"""Retries: which failures are tried again, how long the SDK waits, and when it gives up."""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from yarl import URL

from northflank_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NorthflankError,
    NorthflankSession,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
)
from northflank_async._retry import (
    RETRY_STATUSES,
    is_transient,
    next_wait,
    parse_retry_after,
    server_wait,
)
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, FakeSleep, SessionFactory, wait_until

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def always(value: float) -> RetryPolicy:
    """A policy whose jitter always draws ``value`` (recording waits is up to the caller)."""
    return RetryPolicy(random=lambda: value)


def first_page_url(base: URL) -> str:
    """The URL of the first page of PROJECT/ADDON's backups below ``base``."""
    return f"{base}/v1/projects/{PROJECT}/addons/{ADDON}/backups?per_page=100"


@pytest.fixture
def seeded(mock: MockNorthflank) -> MockNorthflank:
    """The mock with three backups for PROJECT/ADDON."""
    mock.generate_backups(PROJECT, ADDON, 3)
    return mock


# -- RetryPolicy and the pure helpers ------------------------------------------------------


def test_policy_defaults() -> None:
    """The defaults are four attempts, a 60 s longest wait, and a 0.5 s to 30 s backoff."""
    policy = RetryPolicy()
    assert (4, 0.5, 30.0, 60.0) == (
        policy.max_attempts,
        policy.backoff_base,
        policy.backoff_max,
        policy.max_wait,
    )
    assert policy.sleep is asyncio.sleep


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_attempts", 0),
        ("max_attempts", -1),
        ("max_attempts", 2.0),
        ("max_attempts", True),
        ("backoff_base", -0.1),
        ("backoff_base", math.nan),
        ("backoff_max", math.inf),
        ("max_wait", -1),
        ("max_wait", "60"),
    ],
)
def test_policy_refuses_bad_values(field: str, value: object) -> None:
    """A policy field that is out of range or of the wrong type is refused with its name."""
    with pytest.raises(ValueError, match=f"RetryPolicy.{field}"):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]  # deliberately wrong types


def test_backoff_is_exponential_and_capped() -> None:
    """With jitter at its top, waits double from backoff_base until backoff_max caps them."""
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0, random=lambda: 1.0)
    assert [1.0, 2.0, 4.0, 5.0, 5.0] == [policy.backoff(n) for n in range(1, 6)]


def test_backoff_never_exceeds_max_wait() -> None:
    """The SDK's own backoff is capped by max_wait too, when that is below backoff_max."""
    policy = RetryPolicy(backoff_base=4.0, backoff_max=100.0, max_wait=10.0, random=lambda: 1.0)
    assert [4.0, 8.0, 10.0, 10.0] == [policy.backoff(n) for n in range(1, 5)]


def test_backoff_of_a_very_late_attempt_does_not_overflow() -> None:
    """A worker allowing thousands of attempts gets backoff_max, not an OverflowError."""
    assert 30.0 == RetryPolicy(random=lambda: 1.0).backoff(5000)


def test_backoff_has_full_jitter() -> None:
    """The wait is the random draw times the ceiling, so it spans 0 up to the ceiling."""
    assert [0.0, 0.0] == [RetryPolicy(random=lambda: 0.0).backoff(n) for n in (1, 3)]
    assert 0.25 * 0.5 * 4 == RetryPolicy(random=lambda: 0.25).backoff(3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("2.5", 2.5),
        ("Wed, 01 May 2024 12:00:30 GMT", 30.0),
        ("Wed, 01 May 2024 11:59:00 GMT", 0.0),
        ("Wed, 01 May 2024 12:01:00 -0000", 60.0),
        (None, None),
        ("", None),
        ("nan", None),
        ("inf", None),
        ("-1", None),
        ("soon", None),
        ("Wed, 99 Foo 2024 25:00:00 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Retry-After is read as seconds or an HTTP date; anything unusable gives None."""
    assert expected == parse_retry_after(value, now=NOW)


def test_server_wait_uses_ratelimit_reset_only_for_429() -> None:
    """x-ratelimit-reset sets the wait of a 429 without Retry-After, and of nothing else."""
    assert 12.0 == server_wait(429, {"x-ratelimit-reset": "12"})
    assert 3.0 == server_wait(429, {"Retry-After": "3", "x-ratelimit-reset": "12"})
    assert None is server_wait(503, {"x-ratelimit-reset": "12"})


# -- which failures are retried ------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
async def test_retryable_status_is_retried(
    seeded: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep, status: int
) -> None:
    """408, 429, 500, 502, 503 and 504 are tried again, and the second answer is used."""
    seeded.faults.fail(1, status, headers={"x-ratelimit-reset": "5"})
    page = await nf.get_backup_page(PROJECT, ADDON)
    assert 3 == len(page.backups)
    assert 2 == len(seeded.requests)
    assert 1 == len(fake_sleep.waits)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (405, APIStatusError),
        (409, ConflictError),
        (410, APIStatusError),
        (422, APIStatusError),
        (451, APIStatusError),
    ],
)
async def test_other_4xx_is_never_retried(
    seeded: MockNorthflank,
    nf: NorthflankSession,
    fake_sleep: FakeSleep,
    status: int,
    error: type[APIStatusError],
) -> None:
    """Every 4xx outside the retry list fails at once, as the class for its status."""
    seeded.faults.fail(1, status)
    with pytest.raises(error) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert error is type(caught.value)
    assert status == caught.value.status
    assert 1 == len(seeded.requests)
    assert [] == fake_sleep.waits


async def test_gives_up_after_max_attempts(
    seeded: MockNorthflank, make_session: SessionFactory
) -> None:
    """A failure that persists is tried max_attempts times in all, then raised."""
    sleep = FakeSleep()
    nf = await make_session(retry=RetryPolicy(max_attempts=3, sleep=sleep))
    seeded.faults.fail(range(1, 10), 503)
    with pytest.raises(ServerError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert 503 == caught.value.status
    assert 3 == len(seeded.requests)
    assert 2 == len(sleep.waits)


@pytest.mark.parametrize("retry", [None, RetryPolicy(max_attempts=1)])
async def test_retrying_can_be_turned_off(
    seeded: MockNorthflank, make_session: SessionFactory, retry: RetryPolicy | None
) -> None:
    """retry=None and max_attempts=1 both send a failing request exactly once."""
    nf = await make_session(retry=retry)
    seeded.faults.fail(1, 503)
    with pytest.raises(ServerError):
        await nf.get_backup_page(PROJECT, ADDON)
    assert 1 == len(seeded.requests)
    assert 1 == nf.retry.max_attempts


async def test_backoff_waits_between_attempts(
    seeded: MockNorthflank, make_session: SessionFactory
) -> None:
    """Without a server-given wait, attempts are spaced by the capped exponential backoff."""
    sleep = FakeSleep()
    policy = RetryPolicy(
        max_attempts=6, backoff_base=1.0, backoff_max=3.0, sleep=sleep, random=lambda: 1.0
    )
    nf = await make_session(retry=policy)
    seeded.faults.fail(range(1, 6), 500)
    page = await nf.get_backup_page(PROJECT, ADDON)
    assert 3 == len(page.backups)
    assert [1.0, 2.0, 3.0, 3.0, 3.0] == sleep.waits


# -- waits the server asks for --------------------------------------------------------------


async def test_retry_after_seconds_sets_the_wait(
    seeded: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep
) -> None:
    """A Retry-After in seconds is slept exactly, instead of the backoff."""
    seeded.faults.fail(1, 503, retry_after="7")
    await nf.get_backup_page(PROJECT, ADDON)
    assert [7.0] == fake_sleep.waits


async def test_retry_after_date_sets_the_wait(
    seeded: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep
) -> None:
    """A Retry-After HTTP date is turned into the seconds from now until then."""
    when = datetime.now(UTC) + timedelta(seconds=30)
    seeded.faults.fail(1, 429, retry_after=format_datetime(when, usegmt=True))
    await nf.get_backup_page(PROJECT, ADDON)
    assert 1 == len(fake_sleep.waits)
    assert 28.0 <= fake_sleep.waits[0] <= 30.0


@pytest.mark.parametrize("value", ["nan", "-5", "inf", "soon", "Mon, 99 Foo 2024 99:99:99 GMT"])
async def test_unusable_retry_after_falls_back_to_backoff(
    seeded: MockNorthflank, make_session: SessionFactory, value: str
) -> None:
    """An unusable Retry-After is ignored: the wait is the policy's own backoff."""
    sleep = FakeSleep()
    nf = await make_session(retry=RetryPolicy(sleep=sleep, random=lambda: 1.0))
    seeded.faults.fail(1, 503, retry_after=value)
    await nf.get_backup_page(PROJECT, ADDON)
    assert [0.5] == sleep.waits


@pytest.mark.parametrize("value", ["nan", "-5", "soon"])
async def test_unusable_retry_after_never_hides_the_status_error(
    seeded: MockNorthflank, make_session: SessionFactory, value: str
) -> None:
    """When the retries run out, an unusable Retry-After still gives the status error."""
    nf = await make_session(retry=None)
    seeded.faults.fail(1, 503, retry_after=value)
    with pytest.raises(ServerError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert (503, None) == (caught.value.status, caught.value.retry_after)


async def test_429_without_retry_after_waits_for_the_reset(
    seeded: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep
) -> None:
    """A 429 without Retry-After waits the x-ratelimit-reset seconds."""
    seeded.faults.fail(1, 429, headers={"x-ratelimit-reset": "12"})
    await nf.get_backup_page(PROJECT, ADDON)
    assert [12.0] == fake_sleep.waits


async def test_wait_beyond_max_wait_is_raised_not_slept(
    seeded: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep
) -> None:
    """A 429 asking for more than max_wait raises RateLimitError at once with retry_after."""
    seeded.faults.fail(1, 429, retry_after="120")
    with pytest.raises(RateLimitError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert 120.0 == caught.value.retry_after
    assert "retry after 120 s" in str(caught.value)
    assert 1 == len(seeded.requests)
    assert [] == fake_sleep.waits


async def test_429_reset_beyond_max_wait_is_raised(
    seeded: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep
) -> None:
    """A 429 whose only hint is an hour-long x-ratelimit-reset is raised, not slept."""
    seeded.faults.fail(1, 429)  # the mock's window: x-ratelimit-reset is 3600
    with pytest.raises(RateLimitError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert 3600.0 == caught.value.retry_after
    assert [] == fake_sleep.waits


async def test_503_wait_beyond_max_wait_is_raised(
    seeded: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep
) -> None:
    """A 503 asking for more than max_wait is raised as ServerError with retry_after."""
    seeded.faults.fail(1, 503, retry_after="61")
    with pytest.raises(ServerError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert 61.0 == caught.value.retry_after
    assert [] == fake_sleep.waits


async def test_worker_with_long_max_wait_sleeps_out_the_window(
    seeded: MockNorthflank, make_session: SessionFactory
) -> None:
    """With max_wait=3600 the SDK sleeps out an hour-long Retry-After and goes on."""
    sleep = FakeSleep()
    nf = await make_session(retry=RetryPolicy(max_wait=3600, sleep=sleep))
    seeded.faults.fail(1, 429, retry_after="3600")
    page = await nf.get_backup_page(PROJECT, ADDON)
    assert 3 == len(page.backups)
    assert [3600.0] == sleep.waits


# -- connection errors and timeouts ---------------------------------------------------------


async def test_dropped_connections_are_retried(
    seeded: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep
) -> None:
    """A connection dropped twice in a row is retried by the SDK and then succeeds."""
    seeded.faults.drop([1, 2])
    page = await nf.get_backup_page(PROJECT, ADDON)
    assert 3 == len(page.backups)
    assert 3 == len(seeded.requests)
    # aiohttp resends once by itself; the second drop is the SDK's to retry.
    assert 1 == len(fake_sleep.waits)


async def test_dropped_connections_fail_without_retries(
    seeded: MockNorthflank, make_session: SessionFactory
) -> None:
    """Without retries, two drops in a row are an APIConnectionError naming the URL."""
    nf = await make_session(retry=None)
    seeded.faults.drop([1, 2])
    with pytest.raises(APIConnectionError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    url = first_page_url(seeded.base_url)
    assert url == caught.value.url
    assert str(caught.value).startswith(f"GET {url}: ServerDisconnectedError")


async def test_connection_refused_is_retried_then_raised(
    make_session: SessionFactory, fake_sleep: FakeSleep
) -> None:
    """A closed port gives APIConnectionError naming the URL, after every attempt."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    nf = await make_session(base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(APIConnectionError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    url = first_page_url(URL(f"http://127.0.0.1:{port}"))
    assert url == caught.value.url
    assert url in str(caught.value)
    assert not isinstance(caught.value, APITimeoutError)
    assert 3 == len(fake_sleep.waits)


async def test_timeout_is_retried(
    seeded: MockNorthflank, make_session: SessionFactory, fake_sleep: FakeSleep
) -> None:
    """A request that exceeds the timeout is tried again, and the second answer is used."""
    nf = await make_session(timeout=0.2)
    seeded.faults.stall(1, 5)
    page = await nf.get_backup_page(PROJECT, ADDON)
    assert 3 == len(page.backups)
    assert 2 == len(seeded.requests)
    assert 1 == len(fake_sleep.waits)


async def test_timeout_after_retries_is_api_timeout_error(
    seeded: MockNorthflank, make_session: SessionFactory
) -> None:
    """Timeouts on every attempt give APITimeoutError, naming the URL and the timeout."""
    nf = await make_session(timeout=0.2, retry=RetryPolicy(max_attempts=2, sleep=FakeSleep()))
    seeded.faults.stall([1, 2], 5)
    with pytest.raises(APITimeoutError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, APIConnectionError)
    url = first_page_url(seeded.base_url)
    assert url == caught.value.url
    assert f"GET {url}: no complete answer within 0.2 s (attempt 2 of 2)" == str(caught.value)
    assert 2 == len(seeded.requests)


async def test_own_cancellation_passes_through(
    seeded: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep
) -> None:
    """Cancelling the task that waits on a request raises CancelledError, never retried."""
    seeded.faults.stall(1, 5)
    task = asyncio.create_task(nf.get_backup_page(PROJECT, ADDON))
    await wait_until(lambda: 1 == seeded.in_flight)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 1 == len(seeded.requests)
    assert [] == fake_sleep.waits


async def test_callers_own_timeout_is_not_wrapped(
    seeded: MockNorthflank, nf: NorthflankSession, fake_sleep: FakeSleep
) -> None:
    """A caller's asyncio.timeout ends the request with the builtin TimeoutError, unretried."""
    seeded.faults.stall(1, 5)
    with pytest.raises(TimeoutError) as caught:
        async with asyncio.timeout(0.1):
            await nf.get_backup_page(PROJECT, ADDON)
    assert TimeoutError is type(caught.value)
    assert 1 == len(seeded.requests)
    assert [] == fake_sleep.waits


# -- logging ----------------------------------------------------------------------------------


async def test_debug_log_has_one_line_per_request(
    seeded: MockNorthflank, nf: NorthflankSession, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG each request logs its method, URL, status, attempt and elapsed time."""
    seeded.faults.fail(1, 502)
    caplog.set_level(logging.DEBUG, logger="northflank_async")
    await nf.get_backup_page(PROJECT, ADDON)
    url = first_page_url(seeded.base_url)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert 2 == len(lines)
    assert lines[0].startswith(f"GET {url} -> 502 (attempt 1, ")
    assert lines[1].startswith(f"GET {url} -> 200 (attempt 2, ")
    assert all(line.endswith(" ms)") for line in lines)


async def test_debug_log_names_failures_without_status(
    seeded: MockNorthflank, make_session: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A request that timed out is logged at DEBUG too, with "timeout" for its status."""
    nf = await make_session(timeout=0.2)
    seeded.faults.stall(1, 5)
    caplog.set_level(logging.DEBUG, logger="northflank_async")
    await nf.get_backup_page(PROJECT, ADDON)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert 2 == len(lines)
    assert " -> timeout (attempt 1, " in lines[0]


async def test_warning_log_per_retry_with_reason_and_wait(
    seeded: MockNorthflank, make_session: SessionFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Each retry logs a WARNING with the reason and the wait."""
    nf = await make_session(retry=RetryPolicy(sleep=FakeSleep(), random=lambda: 1.0))
    seeded.faults.fail(1, 503, retry_after="2").drop([2, 3])
    caplog.set_level(logging.WARNING, logger="northflank_async")
    await nf.get_backup_page(PROJECT, ADDON)
    url = first_page_url(seeded.base_url)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [
        f"GET {url} failed (status 503); retrying in 2.00 s (attempt 2 of 4)",
        f"GET {url} failed (APIConnectionError); retrying in 1.00 s (attempt 3 of 4)",
    ] == [r.getMessage() for r in warnings]
    assert {"northflank_async"} == {r.name for r in warnings}


# -- the retry decision, without a server -------------------------------------------------

TRANSIENT: list[NorthflankError] = [
    APIConnectionError("GET u: reset", url="u"),
    APITimeoutError("GET u: slow", url="u"),
    *(ServerError("x", status=status, url="u") for status in (500, 502, 503, 504)),
    RateLimitError("x", status=429, url="u"),
    APIStatusError("x", status=408, url="u"),
]
FINAL: list[NorthflankError] = [
    NotFoundError("x", status=404, url="u"),
    BadRequestError("x", status=400, url="u"),
    ServerError("x", status=501, url="u"),
    APIStatusError("x", status=302, url="u"),
    ResponseValidationError("x", url="u"),
]


@pytest.mark.parametrize("failure", TRANSIENT, ids=repr)
def test_transient_failures_are_retried_with_backoff(failure: NorthflankError) -> None:
    """A read that got no answer, or a passing status, is sent again after the backoff."""
    policy = RetryPolicy(random=lambda: 1.0)

    assert is_transient(failure)
    assert 0.5 == next_wait(policy, failure, 1, is_transient)
    assert 2.0 == next_wait(policy, failure, 3, is_transient)


@pytest.mark.parametrize("failure", FINAL, ids=repr)
def test_final_failures_are_raised_at_once(failure: NorthflankError) -> None:
    """Any other status, and a bad 2xx body, are never sent again."""
    assert not is_transient(failure)
    assert next_wait(RetryPolicy(), failure, 1, is_transient) is None


def test_spent_attempts_end_the_retries() -> None:
    """After ``max_attempts`` attempts, even a transient failure is raised."""
    failure = ServerError("x", status=503, url="u")

    assert next_wait(RetryPolicy(max_attempts=2), failure, 2, is_transient) is None


@pytest.mark.parametrize(("asked", "expected"), [(12.0, 12.0), (60.0, 60.0), (61.0, None)])
def test_server_wait_is_taken_up_to_max_wait(asked: float, expected: float | None) -> None:
    """The server's own wait replaces the backoff, unless it is longer than ``max_wait``."""
    failure = RateLimitError("x", status=429, url="u", retry_after=asked)

    assert expected == next_wait(RetryPolicy(max_wait=60), failure, 1, is_transient)


def test_each_call_says_what_is_safe_to_repeat() -> None:
    """A call's own rule decides: one that repeats nothing raises even a 503 at once."""
    failure = ServerError("x", status=503, url="u")

    assert next_wait(RetryPolicy(), failure, 1, lambda _: False) is None
