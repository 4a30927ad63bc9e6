"""The health check's pure helpers: durations in words and errors in a few words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from northflank_async import (
    APIConnectionError,
    NorthflankError,
    NotFoundError,
    PaginationError,
    ResponseValidationError,
)
from northflank_async._health import describe_span, short_error

URL = "http://127.0.0.1:1/v1/projects/p/addons/a/backups?per_page=100"


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(0), "0 s"),
        (timedelta(seconds=-5), "0 s"),
        (timedelta(seconds=59.9), "59 s"),
        (timedelta(minutes=1), "1 min"),
        (timedelta(minutes=45, seconds=59), "45 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=26, minutes=30, seconds=59), "26 h 30 min"),
        (timedelta(hours=71, minutes=59), "71 h 59 min"),
        (timedelta(hours=72), "3 days"),
        (timedelta(days=5, hours=3, minutes=59), "5 days 3 h"),
        (timedelta(days=7), "7 days"),
    ],
)
def test_describe_span(span: timedelta, text: str) -> None:
    """A duration is cut to its two largest units; hours up to 72, then days."""
    assert text == describe_span(span)


def test_a_status_error_is_its_status_and_message() -> None:
    """An API error reads as its status and the API's message, without the URL."""
    error = NotFoundError("Addon a not found", status=404, url=URL, error_id="e-1")

    assert "404 Addon a not found" == short_error(error)


def test_a_validation_error_drops_the_request() -> None:
    """A validation error loses its ``GET <url>:`` lead-in."""
    error = ResponseValidationError(f"GET {URL}: invalid value at data.backups[0].size", url=URL)

    assert "invalid value at data.backups[0].size" == short_error(error)


def test_a_pagination_error_names_the_backup_list() -> None:
    """The request inside a pagination error's message becomes "the backup list"."""
    error = PaginationError(f"page 3 of GET {URL}: no cursor; stopped", url=URL, page=3)

    assert "page 3 of the backup list: no cursor; stopped" == short_error(error)


def test_a_long_error_is_cut() -> None:
    """A long message is cut to 200 characters."""
    error = APIConnectionError("x" * 500, url=URL)

    assert 200 == len(short_error(error))
    assert short_error(error).endswith("…")


def test_an_error_without_a_url_is_its_message() -> None:
    """An error that names no request is shown as it is."""
    assert "the session was closed" == short_error(NorthflankError("the session was closed"))
