"""The pure rules of writes and waits: what a failure says about a write, the name made
for a backup, the checks of a new backup's arguments, the polling intervals."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from northflank_async import (
    AdditionalDestination,
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from northflank_async._backup_args import generated_name, new_backup_body, source_query
from northflank_async._errors import APIStatusError, NorthflankError
from northflank_async._wait import FIRST_POLL, MAX_POLL, intervals
from northflank_async._writes import may_have_acted, nothing_was_done

URL = "https://api.example/v1/projects/p/addons/a/backups"


def status(cls: type[APIStatusError], code: int) -> APIStatusError:
    return cls("x", status=code, url=URL, method="POST")


@pytest.mark.parametrize(
    ("failure", "nothing", "maybe"),
    [
        (APIConnectionError("refused", url=URL, sent=False), True, False),
        (APITimeoutError("connect timeout", url=URL, sent=False), True, False),
        (status(RateLimitError, 429), True, False),
        (APIConnectionError("dropped", url=URL), False, True),
        (APITimeoutError("read timeout", url=URL), False, True),
        (status(ServerError, 500), False, True),
        (status(ServerError, 502), False, True),
        (status(ServerError, 503), False, True),
        (status(APIStatusError, 408), False, True),
        (status(BadRequestError, 400), False, False),
        (status(NotFoundError, 404), False, False),
        (status(ConflictError, 409), False, False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, NorthflankError) else str(v),
)
def test_what_a_failure_says_about_a_write(
    failure: NorthflankError, nothing: bool, maybe: bool
) -> None:
    """Unsent and 429: the API did nothing. Dropped, timed out, 408, 5xx: it may have acted."""
    assert (nothing, maybe) == (nothing_was_done(failure), may_have_acted(failure))


def test_generated_names_are_valid_and_unique() -> None:
    """The SDK's own backup names pass the API's rules, and do not repeat."""
    names = [generated_name() for _ in range(2000)]
    assert len(set(names)) == len(names)
    for name in names[:50]:
        assert new_backup_body(
            name=name,
            backup_type=None,
            compression_type=None,
            custom_destination_id=None,
            additional_destinations=None,
        ) == {"name": name}
        assert re.fullmatch(r"backup \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [a-z0-9]{6}", name)
        assert 3 <= len(name) <= 39


def body(**kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = dict.fromkeys(
        (
            "name",
            "backup_type",
            "compression_type",
            "custom_destination_id",
            "additional_destinations",
        )
    )
    options.update(kwargs)
    return new_backup_body(**options)


def test_the_body_holds_only_the_keys_given() -> None:
    """camelCase, nothing that was not asked for."""
    assert {} == body()
    assert {"backupType": "dump", "compressionType": "zstd", "customDestinationId": "my-dest"} == (
        body(backup_type="dump", compression_type="zstd", custom_destination_id="my-dest")
    )
    destination = AdditionalDestination(destination_id="offsite-1", retention_time=7, type="custom")
    assert {
        "name": "before migration",
        "additionalDestinations": [
            {"destinationId": "offsite-1", "retentionTime": 7, "type": "custom"}
        ],
    } == body(name="before migration", additional_destinations=[destination])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "ab"}, "3 to 39 characters"),
        ({"name": "x" * 40}, "3 to 39 characters"),
        ({"name": "two  spaces"}, "letters and digits"),
        ({"name": "trailing-"}, "letters and digits"),
        ({"name": "émigré"}, "letters and digits"),
        ({"name": 7}, "must be a string"),
        ({"backup_type": "full"}, "backup_type must be one of snapshot, dump"),
        ({"backup_type": "dump", "compression_type": "xz"}, "compression_type must be one of"),
        ({"compression_type": "gz"}, "compression_type is for dump backups only"),
        ({"custom_destination_id": "dest-1"}, "custom_destination_id is for dump backups only"),
        ({"backup_type": "dump", "custom_destination_id": "d"}, "3 to 100 characters"),
        ({"backup_type": "dump", "custom_destination_id": "a--b"}, "joined by single '-'"),
        (
            {
                "backup_type": "dump",
                "additional_destinations": [
                    AdditionalDestination(destination_id="off-1", type="custom")
                ],
            },
            "snapshot backups only",
        ),
        (
            {
                "additional_destinations": [
                    AdditionalDestination(destination_id="off-1", retention_time=0, type="custom")
                ]
            },
            "retention_time must be 1 to 120 days, got 0",
        ),
        (
            {
                "additional_destinations": [
                    AdditionalDestination(destination_id="off-1", retention_time=121, type="custom")
                ]
            },
            "retention_time must be 1 to 120 days, got 121",
        ),
        (
            {"additional_destinations": [AdditionalDestination(destination_id="off-1", type="s3")]},
            "type must be 'custom'",
        ),
        (
            {"additional_destinations": [{"destinationId": "off-1"}]},
            "must be an AdditionalDestination",
        ),
        ({"additional_destinations": "off-1"}, "must be a list"),
    ],
)
def test_bad_arguments_of_a_new_backup(options: dict[str, Any], message: str) -> None:
    """Everything the API would refuse is refused with ValueError, naming the argument."""
    with pytest.raises(ValueError, match=re.escape(message)):
        body(**options)


@pytest.mark.parametrize(
    ("project", "addon", "expected"),
    [
        (None, None, {}),
        ("p2", "a2", {"sourceProjectId": "p2", "sourceAddonId": "a2"}),
    ],
)
def test_source_query(project: str | None, addon: str | None, expected: dict[str, str]) -> None:
    """Both source ids, or neither."""
    assert expected == source_query(project, addon)


@pytest.mark.parametrize(("project", "addon"), [("p2", None), (None, "a2"), ("", "a2")])
def test_source_query_refuses_half_a_source(project: str | None, addon: str | None) -> None:
    """One source id without the other (or an empty one) is refused."""
    with pytest.raises(ValueError, match="source"):
        source_query(project, addon)


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999])
def test_poll_intervals_grow_from_about_2_to_about_30_seconds(draw: float) -> None:
    """Jittered by a fifth at most, growing by half, capped near 30 s."""
    pauses = list(itertools.islice(intervals(lambda: draw), 20))
    assert FIRST_POLL * 0.8 <= pauses[0] <= FIRST_POLL * 1.2
    assert all(MAX_POLL * 0.8 <= p <= MAX_POLL * 1.2 for p in pauses[10:])
    assert pauses == sorted(pauses)


def test_a_ten_minute_backup_costs_at_most_40_polls() -> None:
    """Even with the shortest jitter, 600 s of waiting takes no more than 40 polls."""
    elapsed, polls = 0.0, 0
    for pause in intervals(lambda: 0.0):
        polls += 1
        if elapsed >= 600:
            break
        elapsed += pause
    assert polls <= 40
