"""How the converter names the bad value of data it refuses: its JSON path and the reason."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northflank_async import (
    Backup,
    Pagination,
    ResponseValidationError,
    converter,
)
from northflank_async._convert import structure_items, structure_one
from tests.convert_support import (
    SEED_BACKUP,
)

# -- naming the bad value: the detailed pass -------------------------------------------------


def _seed_with(*path: str | int, value: Any) -> dict[str, Any]:
    backup = copy.deepcopy(SEED_BACKUP)
    parent: Any = backup
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return backup


_DESTINATIONS = "config.additionalDestinations"


@pytest.mark.parametrize(
    ("bad", "path", "reason"),
    [
        pytest.param(
            _seed_with("config", "additionalDestinations", value=""),
            _DESTINATIONS,
            "TypeError: expected a list, got str ''",
            id="destinations-empty-string",
        ),
        pytest.param(
            _seed_with("config", "additionalDestinations", value={}),
            _DESTINATIONS,
            "TypeError: expected a list, got dict {}",
            id="destinations-empty-object",
        ),
        pytest.param(
            _seed_with("config", "additionalDestinations", value=None),
            _DESTINATIONS,
            "TypeError: expected a list, got NoneType None",
            id="destinations-null",
        ),
        pytest.param(
            _seed_with("config", "additionalDestinations", value=["x"]),
            f"{_DESTINATIONS}[0]",
            "TypeError: expected an object for AdditionalDestination, got str 'x'",
            id="destination-string",
        ),
        pytest.param(
            _seed_with("config", "additionalDestinations", 0, "retentionTime", value=7.5),
            f"{_DESTINATIONS}[0].retentionTime",
            "TypeError: expected an integer, got float 7.5",
            id="retention-fraction",
        ),
        pytest.param(
            _seed_with("config", value=[]),
            "config",
            "TypeError: expected an object for BackupConfig, got list []",
            id="config-empty-list",
        ),
        pytest.param(
            _seed_with("config", value=""),
            "config",
            "TypeError: expected an object for BackupConfig, got str ''",
            id="config-empty-string",
        ),
        pytest.param(
            _seed_with("config", "source", value=""),
            "config.source",
            "TypeError: expected an object for BackupSource, got str ''",
            id="source-empty-string",
        ),
        pytest.param(
            _seed_with("config", "source", value=[]),
            "config.source",
            "TypeError: expected an object for BackupSource, got list []",
            id="source-list",
        ),
        pytest.param(
            _seed_with("config", "source", value=0),
            "config.source",
            "TypeError: expected an object for BackupSource, got int 0",
            id="source-zero",
        ),
        pytest.param(
            _seed_with("config", "size", value=" 12"),
            "config.size",
            "ValueError: expected a decimal string of bytes, got ' 12'",
            id="size-space",
        ),
        pytest.param(
            _seed_with("config", "size", value="+12"),
            "config.size",
            "ValueError: expected a decimal string of bytes, got '+12'",
            id="size-plus",
        ),
        pytest.param(
            _seed_with("config", "size", value="1_000"),
            "config.size",
            "ValueError: expected a decimal string of bytes, got '1_000'",
            id="size-underscore",
        ),
        pytest.param(
            _seed_with("config", "size", value="\u0661\u0662"),
            "config.size",
            "ValueError: expected a decimal string of bytes, got '\u0661\u0662'",
            id="size-arabic-indic-digits",
        ),
        pytest.param(
            _seed_with("config", "size", value=-1),
            "config.size",
            "ValueError: expected a decimal string of bytes, got -1",
            id="size-negative-int",
        ),
        pytest.param(
            _seed_with("createdAt", value="2021-13-01T00:00:00Z"),
            "createdAt",
            "ValueError: month must be in 1..12",
            id="time-month-13",
        ),
        pytest.param(
            _seed_with("status", value=["completed"]),
            "status",
            "TypeError: expected a string for BackupStatus, got ['completed']",
            id="status-list",
        ),
    ],
)
def test_wrong_containers_and_values_are_named_exactly(
    bad: dict[str, Any], path: str, reason: str
) -> None:
    """Strings, objects or null where a list or object belongs, and sizes ``int()`` would take
    but the API never sends, are refused, with the JSON path of the value and the reason."""
    with pytest.raises((TypeError, ValueError)):
        converter.structure(bad, Backup)
    with pytest.raises(ResponseValidationError) as caught:
        structure_items(
            [SEED_BACKUP, bad], Backup, url="https://api.test/v1/x", path="data.backups"
        )

    full_path = f"data.backups[1].{path}"
    assert full_path == caught.value.path
    assert f"GET https://api.test/v1/x: invalid value at {full_path}: {reason}" == str(caught.value)


def test_structure_items_names_the_bad_value_after_good_ones() -> None:
    """A page refused by the fast converter is explained item by item, naming the first bad value."""
    bad = _seed_with("config", "additionalDestinations", 0, "retentionTime", value="7")

    with pytest.raises(ResponseValidationError) as caught:
        structure_items(
            [SEED_BACKUP, SEED_BACKUP, bad],
            Backup,
            url="https://api.test/v1/x",
            path="data.backups",
        )

    path = "data.backups[2].config.additionalDestinations[0].retentionTime"
    assert path == caught.value.path
    assert (
        f"GET https://api.test/v1/x: invalid value at {path}: "
        "TypeError: expected an integer, got str '7'"
    ) == str(caught.value)


def test_structure_one_says_required_field_missing() -> None:
    """A missing required key is named by its JSON path, with the reason in words."""
    with pytest.raises(ResponseValidationError) as caught:
        structure_one({"count": 1}, Pagination, url="https://api.test/v1/x", path="pagination")

    assert (
        "GET https://api.test/v1/x: invalid value at pagination.hasNextPage: required field missing"
    ) == str(caught.value)


def test_structure_one_names_a_bad_boolean() -> None:
    """A string where the API's boolean belongs is refused, naming the key and the value."""
    with pytest.raises(ResponseValidationError) as caught:
        structure_one(
            {"hasNextPage": "true", "count": 1},
            Pagination,
            url="https://api.test/v1/x",
            path="pagination",
        )

    assert (
        "GET https://api.test/v1/x: invalid value at pagination.hasNextPage: "
        "TypeError: expected a boolean, got str 'true'"
    ) == str(caught.value)


# -- property: every refusal is explained -----------------------------------------------------

_STATUSES = ["scheduled", "in-progress", "completed", "aborting", "aborted", "failed"]
_OFFSETS = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)), None]
_ABSENT = object()
_TEXT = st.text(max_size=12)


@st.composite
def _timestamps(draw: st.DrawFn) -> str:
    moment = draw(
        st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1))
    ).replace(tzinfo=draw(st.sampled_from(_OFFSETS)))
    text = moment.isoformat(timespec=draw(st.sampled_from(["seconds", "milliseconds", "auto"])))
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


def _optional(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, a JSON null, or (as ``_ABSENT``) no key at all."""
    return st.one_of(values, st.none(), st.just(_ABSENT))


def _known_or_not(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(known), _TEXT)


def _json_object(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not _ABSENT}


@st.composite
def _backups(draw: st.DrawFn) -> dict[str, Any]:
    destinations = st.builds(
        lambda destination_id, retention, kind: _json_object(
            destinationId=destination_id, retentionTime=retention, type=kind
        ),
        _TEXT,
        _optional(st.integers(0, 2**70) | st.integers(0, 400).map(float)),
        _known_or_not(["custom"]),
    )
    config = _json_object(
        size=draw(st.integers(0, 2**70).map(str) | st.integers(0, 2**70)),
        source=draw(
            _optional(
                st.builds(
                    lambda kind: _json_object(type=kind),
                    _optional(_known_or_not(["snapshot", "liveInstance", "externalDump"])),
                )
            )
        ),
        compressionType=draw(_optional(_known_or_not(["gz", "zstd"]))),
        additionalDestinations=draw(
            st.one_of(st.just(_ABSENT), st.lists(destinations, max_size=3))
        ),
        addonVersion=draw(_optional(_TEXT)),
    )
    backup = _json_object(
        id=draw(_TEXT),
        name=draw(_TEXT),
        status=draw(_known_or_not(_STATUSES)),
        createdAt=draw(_timestamps()),
        completedAt=draw(_optional(_timestamps())),
        config=config,
        customDestinationId=draw(_optional(_TEXT)),
    )
    backup.update(draw(st.dictionaries(st.sampled_from(["extra", "labels", "v2"]), _TEXT)))
    return backup


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*path, index))
    return found


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(_backups(), st.data())
def test_any_refusal_names_a_value_inside_the_backup(
    backup: dict[str, Any], data: st.DataObject
) -> None:
    """Any backup the API could send structures; with one value replaced or removed anywhere,
    it still structures the same way through the page path, or is refused with the JSON path
    of a value inside it: the detailed pass always explains what the fast one refused."""
    assert [converter.structure(backup, Backup)] == structure_items(
        [backup], Backup, url="https://api.test/v1/x", path="data.backups"
    )
    path = data.draw(st.sampled_from(_paths(backup)))
    if not path:
        damaged: Any = data.draw(_JSON)
    else:
        damaged = copy.deepcopy(backup)
        parent = damaged
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_JSON)

    try:
        expected = [converter.structure(damaged, Backup)]
    except (TypeError, ValueError, KeyError, AttributeError):
        with pytest.raises(ResponseValidationError) as caught:
            structure_items([damaged], Backup, url="https://api.test/v1/x", path="data.backups")
        bad_path = caught.value.path or ""
        assert bad_path.startswith("data.backups[0]")
        assert str(caught.value).startswith(
            f"GET https://api.test/v1/x: invalid value at {bad_path}: "
        )
    else:
        assert expected == structure_items(
            [damaged], Backup, url="https://api.test/v1/x", path="data.backups"
        )
