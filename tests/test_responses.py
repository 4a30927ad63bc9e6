"""The pure layer of the request function: an answer's status, headers and body to data or error.

No server here: each test hands :func:`decode` a recorded answer, as the transport
reads it, and checks what the SDK makes of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from yarl import URL

from northflank_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimit,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from northflank_async._responses import Answer, decode

URL_ = URL("https://api.example.test/v1/projects/p/addons/a/backups?per_page=2")
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
RATE_HEADERS = {
    "x-ratelimit-limit": "1000",
    "x-ratelimit-remaining": "998",
    "x-ratelimit-reset": "120",
}
API_ERROR = b'{"error": {"status": 404, "message": "Addon a not found", "id": "err-1"}}'


def _decode(status: int, body: bytes, headers: dict[str, str] | None = None) -> object:
    decoded = decode("GET", URL_, Answer(status, headers or {}, body, "Reason"), now=NOW)
    return decoded.error if decoded.error is not None else decoded.data


def test_2xx_json_body_is_the_data() -> None:
    """A 200 with a JSON body gives exactly the parsed body and no error."""
    decoded = decode("GET", URL_, Answer(200, {}, b'{"data": {"backups": []}}'), now=NOW)

    assert {"data": {"backups": []}} == decoded.data
    assert decoded.error is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"", "the 200 answer has an empty body", id="empty"),
        pytest.param(b" \n ", "the 200 answer has an empty body", id="blank"),
        pytest.param(
            b"<html>oops</html>", "the 200 answer is not JSON: '<html>oops</html>'", id="html"
        ),
    ],
)
def test_2xx_without_json_is_a_validation_error(body: bytes, message: str) -> None:
    """A 2xx answer without a JSON body gives ResponseValidationError naming method, URL and why."""
    error = _decode(200, body)

    assert isinstance(error, ResponseValidationError)
    assert f"GET {URL_}: {message}" == str(error)
    assert str(URL_) == error.url


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, RateLimitError),
        (418, APIStatusError),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_status_gives_its_error_class_and_the_apis_message(
    status: int, cls: type[APIStatusError]
) -> None:
    """An error status gives its class, with the message and id of the API's error JSON."""
    error = _decode(status, API_ERROR)

    assert type(error) is cls
    assert isinstance(error, APIStatusError)
    assert (status, "Addon a not found", "err-1") == (error.status, error.message, error.error_id)
    assert f"{status} from GET {URL_}: Addon a not found (error id err-1)" == str(error)


def test_method_is_named_in_the_error() -> None:
    """The error of a POST says POST, in its text and its ``method``."""
    answer = Answer(409, {}, b'{"error": {"message": "busy"}}')

    error = decode("POST", URL_, answer, now=NOW).error

    assert isinstance(error, ConflictError)
    assert "POST" == error.method
    assert f"409 from POST {URL_}: busy" == str(error)


def test_redirect_is_an_error_naming_its_location() -> None:
    """A 3xx is not followed: its error names where it pointed and why it stopped."""
    answer = Answer(302, {"Location": "https://elsewhere.test/x"}, b"", "Found")

    error = decode("GET", URL_, answer, now=NOW).error

    assert isinstance(error, APIStatusError)
    assert (
        "Found (redirect to https://elsewhere.test/x not followed: the API does not "
        "redirect and the token must not travel elsewhere)"
    ) == error.message


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        pytest.param(503, {"Retry-After": "7"}, 7.0, id="retry-after"),
        pytest.param(429, {"x-ratelimit-reset": "30"}, 30.0, id="429-reset"),
        pytest.param(503, {"x-ratelimit-reset": "30"}, None, id="503-reset-ignored"),
        pytest.param(500, {"Retry-After": "soon"}, None, id="unusable"),
    ],
)
def test_error_carries_the_wait_the_server_asked_for(
    status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    """``retry_after`` is the server's usable ``Retry-After``, or a 429's rate-limit reset."""
    error = _decode(status, API_ERROR, headers)

    assert isinstance(error, APIStatusError)
    assert retry_after == error.retry_after


@pytest.mark.parametrize("status", [200, 429, 503])
def test_rate_limit_is_read_from_every_answer(status: int) -> None:
    """The rate-limit headers are read whatever the status, dated from ``now``."""
    decoded = decode("GET", URL_, Answer(status, RATE_HEADERS, b"{}"), now=NOW)

    expected = RateLimit(limit=1000, remaining=998, reset_at=NOW + timedelta(seconds=120))
    assert expected == decoded.rate_limit


def test_answer_without_rate_limit_headers_has_none() -> None:
    """An answer without the ``x-ratelimit-*`` headers reports no rate limit."""
    assert decode("GET", URL_, Answer(200, {}, b"{}"), now=NOW).rate_limit is None
