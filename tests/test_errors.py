"""The exception tree, status -> exception, and what each error carries."""

from __future__ import annotations

import json
import pickle

import pytest

from northflank_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    NorthflankError,
    NorthflankSession,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    SessionClosedError,
)
from northflank_async._errors import error_for_status
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, SessionFactory


@pytest.fixture
async def once(make_session: SessionFactory) -> NorthflankSession:
    """A session that does not retry, so each planned fault is the final answer."""
    return await make_session(retry=None)


def _url(mock: MockNorthflank, addon: str = ADDON, query: str = "per_page=100") -> str:
    return f"{mock.base_url}/v1/projects/{PROJECT}/addons/{addon}/backups?{query}"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (402, APIStatusError),
        (405, APIStatusError),
        (410, APIStatusError),
        (418, APIStatusError),
        (422, APIStatusError),
    ],
)
async def test_status_maps_to_its_exception_class(
    mock: MockNorthflank, once: NorthflankSession, status: int, cls: type[APIStatusError]
) -> None:
    """Each error status from the API raises exactly its class, carrying the error body."""
    mock.generate_backups(PROJECT, ADDON, 1)
    mock.faults.fail(1, status)

    with pytest.raises(APIStatusError) as caught:
        await once.get_backup_page(PROJECT, ADDON)

    error = caught.value
    assert cls is type(error)
    assert status == error.status
    assert f"Injected fault: HTTP {status}" == error.message
    assert "mock-error-000001" == error.error_id
    assert error.details is None
    assert _url(mock) == error.url
    assert 1 == len(mock.requests)


async def test_retry_policy_of_one_attempt_raises_server_error_at_once(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """With ``RetryPolicy(max_attempts=1)`` a 503 raises ServerError after one request."""
    nf = await make_session(retry=RetryPolicy(max_attempts=1))
    mock.generate_backups(PROJECT, ADDON, 1)
    mock.faults.fail(1, 503)

    with pytest.raises(ServerError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)

    assert 503 == caught.value.status
    assert 1 == len(mock.requests)


async def test_unknown_addon_is_not_found(mock: MockNorthflank, once: NorthflankSession) -> None:
    """The API's own 404 for an unknown addon becomes NotFoundError with its message."""
    mock.generate_backups(PROJECT, ADDON, 1)

    with pytest.raises(NotFoundError) as caught:
        async for _ in once.list_backups(PROJECT, "no-such-addon"):
            pass

    error = caught.value
    assert 404 == error.status
    assert f"Addon no-such-addon not found in project {PROJECT}" == error.message
    assert "mock-error-000001" == error.error_id
    assert _url(mock, "no-such-addon") == error.url


async def test_wrong_token_is_authentication_error(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """A token the API does not accept raises AuthenticationError (401), not retried."""
    nf = await make_session(token="not-the-token")
    mock.generate_backups(PROJECT, ADDON, 1)

    with pytest.raises(AuthenticationError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)

    assert 401 == caught.value.status
    assert "Unauthenticated: a valid API token is required" == caught.value.message
    assert 1 == len(mock.requests)


async def test_bad_request_carries_the_api_details(
    mock: MockNorthflank, once: NorthflankSession
) -> None:
    """The API's 400 for a cursor it did not issue carries its message and details."""
    mock.generate_backups(PROJECT, ADDON, 1)

    with pytest.raises(BadRequestError) as caught:
        await once.get_backup_page(PROJECT, ADDON, cursor="bogus")

    error = caught.value
    assert "Invalid cursor" == error.message
    assert {"parameter": "cursor", "reason": "not a cursor for this list"} == error.details
    assert "mock-error-000001" == error.error_id
    assert _url(mock, query="per_page=100&cursor=bogus") == error.url


async def test_error_body_fields_are_taken_as_sent(
    mock: MockNorthflank, once: NorthflankSession
) -> None:
    """A JSON error body's message, id and details become the error's attributes."""
    mock.generate_backups(PROJECT, ADDON, 1)
    body = {
        "error": {
            "status": 409,
            "message": "Addon is being restored",
            "id": "err-42",
            "details": [{"field": "addonId"}],
        }
    }
    mock.faults.fail(1, 409, body=json.dumps(body), content_type="application/json")

    with pytest.raises(ConflictError) as caught:
        await once.get_backup_page(PROJECT, ADDON)

    error = caught.value
    assert ("Addon is being restored", "err-42", [{"field": "addonId"}]) == (
        error.message,
        error.error_id,
        error.details,
    )
    assert f"409 from GET {_url(mock)}: Addon is being restored (error id err-42)" == str(error)


async def test_html_error_page_becomes_the_message(
    mock: MockNorthflank, once: NorthflankSession
) -> None:
    """A proxy's HTML 502 page raises ServerError whose message is the start of the page."""
    mock.generate_backups(PROJECT, ADDON, 1)
    mock.faults.fail(1, 502, body="<html>\n<h1>502 Bad Gateway</h1>\n</html>")

    with pytest.raises(ServerError) as caught:
        await once.get_backup_page(PROJECT, ADDON)

    error = caught.value
    assert "<html> <h1>502 Bad Gateway</h1> </html>" == error.message
    assert error.error_id is None
    assert error.details is None


# -- the tree ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        RateLimitError,
        ServerError,
    ],
)
def test_status_errors_are_api_status_errors(cls: type[Exception]) -> None:
    """Every status-specific error is an APIStatusError and a NorthflankError."""
    assert issubclass(cls, APIStatusError)
    assert issubclass(cls, NorthflankError)


def test_exception_tree() -> None:
    """The other errors sit where the tree says, and subclass the matching builtin."""
    assert issubclass(APIStatusError, NorthflankError)
    assert issubclass(ConfigurationError, NorthflankError)
    assert issubclass(ConfigurationError, ValueError)
    assert issubclass(APIConnectionError, NorthflankError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APITimeoutError, TimeoutError)
    assert issubclass(ResponseValidationError, NorthflankError)
    assert issubclass(ResponseValidationError, ValueError)
    assert issubclass(PaginationError, NorthflankError)
    assert issubclass(SessionClosedError, NorthflankError)
    assert issubclass(SessionClosedError, RuntimeError)
    assert issubclass(NorthflankError, Exception)
    assert not issubclass(APIStatusError, ValueError)
    assert not issubclass(APIConnectionError, TimeoutError)


# -- error_for_status, the pure function -------------------------------------------------

URL = "https://api.northflank.com/v1/projects/p/addons/a/backups?per_page=100"


def test_error_for_status_reads_the_api_error_json() -> None:
    """The API's error JSON gives message, id and details; the status picks the class."""
    body = b'{"error": {"status": 403, "message": "Forbidden", "id": "e1", "details": {"x": 1}}}'

    error = error_for_status(403, body, URL)

    assert PermissionDeniedError is type(error)
    assert (403, "Forbidden", "e1", {"x": 1}, URL) == (
        error.status,
        error.message,
        error.error_id,
        error.details,
        error.url,
    )
    assert error.retry_after is None


def test_error_for_status_on_html_uses_the_start_of_the_body() -> None:
    """An HTML body's message is its start, whitespace collapsed, cut to 200 characters."""
    body = b"<html>\r\n  <head><title>502 Bad Gateway</title></head>\n<body>" + b"x" * 400

    error = error_for_status(502, body, URL, reason="Bad Gateway")

    assert ServerError is type(error)
    expected = ("<html> <head><title>502 Bad Gateway</title></head> <body>" + "x" * 400)[:199]
    assert expected + "…" == error.message
    assert 200 == len(error.message)
    assert error.error_id is None
    assert error.details is None


def test_error_for_status_on_short_html() -> None:
    """A short HTML body is the whole message, unchanged but for whitespace."""
    error = error_for_status(503, b"<h1>Service Unavailable</h1>\n", URL)

    assert "<h1>Service Unavailable</h1>" == error.message


def test_error_for_status_on_invalid_utf8() -> None:
    """Bytes that are not UTF-8 are replaced, not raised on."""
    error = error_for_status(500, b"oops \xff\xfe", URL)

    assert "oops \ufffd\ufffd" == error.message


def test_error_for_status_on_empty_body_uses_the_reason() -> None:
    """An empty body falls back to the HTTP reason, then to a fixed text."""
    assert "Gateway Timeout" == error_for_status(504, b"", URL, reason="Gateway Timeout").message
    assert "no response body" == error_for_status(504, b"", URL).message


@pytest.mark.parametrize(
    "body",
    [
        b'{"message": "top-level"}',
        b'{"error": "just a string"}',
        b'{"error": {"status": 500}}',
        b'{"error": {"message": 42}}',
        b"[1, 2]",
    ],
)
def test_error_for_status_on_other_json_uses_the_text(body: bytes) -> None:
    """JSON that is not the API's error object is quoted as text, with no id or details."""
    error = error_for_status(500, body, URL)

    assert body.decode() == error.message
    assert error.error_id is None
    assert error.details is None


def test_error_for_status_keeps_retry_after_and_ignores_a_non_string_id() -> None:
    """``retry_after`` is passed through, and an id that is not a string is dropped."""
    error = error_for_status(
        429, b'{"error": {"message": "slow down", "id": 7}}', URL, retry_after=30
    )

    assert RateLimitError is type(error)
    assert 30 == error.retry_after
    assert error.error_id is None
    assert f"429 from GET {URL}: slow down (retry after 30 s)" == str(error)


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, BadRequestError), (418, APIStatusError), (501, ServerError), (599, ServerError)],
)
def test_error_for_status_class_by_status(status: int, cls: type[APIStatusError]) -> None:
    """Unlisted 4xx statuses give APIStatusError and every 5xx gives ServerError."""
    assert cls is type(error_for_status(status, b"", URL))


@pytest.mark.parametrize(
    "error",
    [
        NotFoundError("gone", status=404, url="u", error_id="e-1", details={"k": 1}),
        RateLimitError("slow down", status=429, url="u", retry_after=12.5),
        APITimeoutError("no answer", url="u"),
        ResponseValidationError("bad", url="u", path="data.backups[0].id"),
        PaginationError("loop", url="u", page=3),
        SessionClosedError("closed"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_survive_pickling(error: NorthflankError) -> None:
    """An error pickles and unpickles to the same class, message and attributes."""
    copy = pickle.loads(pickle.dumps(error))

    assert (type(error), str(error), error.args, vars(error)) == (
        type(copy),
        str(copy),
        copy.args,
        vars(copy),
    )
