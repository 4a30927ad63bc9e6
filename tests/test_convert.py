"""The cattrs converter: the API's JSON to the models and back, and what it refuses."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from northflank_async import (
    AdditionalDestination,
    Backup,
    BackupConfig,
    BackupPage,
    BackupSource,
    BackupSourceType,
    BackupStatus,
    CompressionType,
    DestinationType,
    NorthflankSession,
    Pagination,
    ResponseValidationError,
    converter,
)
from northflank_async.testing import MockNorthflank, example_backup
from tests.conftest import ADDON, PROJECT

#: The backup of the documented example response, verbatim.
SEED_BACKUP: dict[str, Any] = {
    "id": "example-backup",
    "name": "Example Backup",
    "status": "completed",
    "createdAt": "2021-01-20T11:19:53.175Z",
    "completedAt": "2021-01-20T11:19:54.494Z",
    "config": {
        "source": {"type": "snapshot"},
        "size": "1234",
        "compressionType": "gz",
        "additionalDestinations": [
            {
                "destinationId": "example-backup-destination",
                "retentionTime": 7,
                "type": "custom",
            }
        ],
        "addonVersion": "4.4.8",
    },
    "customDestinationId": "example-backup-destination",
}

#: The documented example response, verbatim.
SEED_RESPONSE: dict[str, Any] = {
    "data": {"backups": [SEED_BACKUP]},
    "pagination": {"hasNextPage": False, "count": 1},
}

EXPECTED_BACKUP = Backup(
    id="example-backup",
    name="Example Backup",
    status=BackupStatus.COMPLETED,
    created_at=datetime(2021, 1, 20, 11, 19, 53, 175000, tzinfo=UTC),
    completed_at=datetime(2021, 1, 20, 11, 19, 54, 494000, tzinfo=UTC),
    config=BackupConfig(
        source=BackupSource(type=BackupSourceType.SNAPSHOT),
        size=1234,
        compression_type=CompressionType.GZ,
        additional_destinations=(
            AdditionalDestination(
                destination_id="example-backup-destination",
                retention_time=7,
                type=DestinationType.CUSTOM,
            ),
        ),
        addon_version="4.4.8",
    ),
    custom_destination_id="example-backup-destination",
)

#: The smallest backup the API may send: only the required fields.
MINIMAL_BACKUP: dict[str, Any] = {
    "id": "b1",
    "name": "Minimal",
    "status": "scheduled",
    "createdAt": "2024-02-29T23:59:59.000Z",
    "config": {"size": "0"},
}


def _seed(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SEED_BACKUP)
    data.update(changes)
    return data


def _seed_config(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SEED_BACKUP)
    data["config"].update(changes)
    return data


# -- the documented example ---------------------------------------------------------------


def test_testing_example_backup_is_the_seed_verbatim() -> None:
    """``northflank_async.testing.example_backup()`` is the API reference's example, fresh each call."""
    first = example_backup()
    first["config"]["size"] = "0"
    assert SEED_BACKUP == example_backup()


def test_seed_example_structures_to_the_expected_backup() -> None:
    """The documented example backup becomes exactly the expected Backup, field by field."""
    backup = converter.structure(SEED_BACKUP, Backup)

    assert EXPECTED_BACKUP == backup
    assert "example-backup" == backup.id
    assert "Example Backup" == backup.name
    assert BackupStatus.COMPLETED is backup.status
    assert datetime(2021, 1, 20, 11, 19, 53, 175000, tzinfo=UTC) == backup.created_at
    assert backup.created_at.utcoffset() is not None
    assert datetime(2021, 1, 20, 11, 19, 54, 494000, tzinfo=UTC) == backup.completed_at
    assert backup.config.source is not None
    assert BackupSourceType.SNAPSHOT is backup.config.source.type
    assert 1234 == backup.config.size
    assert int is type(backup.config.size)
    assert CompressionType.GZ is backup.config.compression_type
    assert tuple is type(backup.config.additional_destinations)
    destination = backup.config.additional_destinations[0]
    assert "example-backup-destination" == destination.destination_id
    assert 7 == destination.retention_time
    assert DestinationType.CUSTOM is destination.type
    assert "4.4.8" == backup.config.addon_version
    assert "example-backup-destination" == backup.custom_destination_id


def test_seed_example_pagination_structures() -> None:
    """The documented example's pagination object becomes the expected Pagination."""
    pagination = converter.structure(SEED_RESPONSE["pagination"], Pagination)

    assert Pagination(has_next_page=False, cursor=None, count=1) == pagination


async def test_seed_example_through_the_api(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """The documented example served over HTTP becomes the expected one-backup page."""
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    page = await nf.get_backup_page(PROJECT, ADDON)

    assert [EXPECTED_BACKUP] == page.backups
    assert Pagination(has_next_page=False, cursor=None, count=1) == page.pagination
    assert isinstance(page, BackupPage)


def test_seed_example_round_trips_to_the_same_json() -> None:
    """Unstructuring the example Backup gives back exactly the documented JSON."""
    assert SEED_BACKUP == converter.unstructure(converter.structure(SEED_BACKUP, Backup))


def test_unstructure_writes_the_api_forms() -> None:
    """Unstructured keys are camelCase, size a decimal string, times ``...Z`` with milliseconds."""
    data = converter.unstructure(EXPECTED_BACKUP)

    assert {
        "id",
        "name",
        "status",
        "createdAt",
        "completedAt",
        "config",
        "customDestinationId",
    } == set(data)
    assert "1234" == data["config"]["size"]
    assert "2021-01-20T11:19:53.175Z" == data["createdAt"]
    assert "completed" == data["status"]
    assert str is type(data["status"])


def test_unstructure_writes_whole_seconds_with_milliseconds() -> None:
    """A timestamp on a whole second still carries ``.000`` before the Z."""
    backup = converter.structure(MINIMAL_BACKUP, Backup)

    assert "2024-02-29T23:59:59.000Z" == converter.unstructure(backup)["createdAt"]


def test_minimal_backup_round_trips_without_the_absent_fields() -> None:
    """Optional fields absent from the JSON stay absent; completedAt comes back as null."""
    backup = converter.structure(MINIMAL_BACKUP, Backup)

    assert {**MINIMAL_BACKUP, "completedAt": None} == converter.unstructure(backup)


def test_completed_at_null_round_trips_as_null() -> None:
    """A null completedAt is None, and is written back as null, not left out."""
    data = _seed(completedAt=None)
    backup = converter.structure(data, Backup)

    assert backup.completed_at is None
    assert data == converter.unstructure(backup)


# -- optional and unknown content ---------------------------------------------------------


def test_completed_at_omitted_is_none() -> None:
    """A backup without completedAt (still scheduled) has ``completed_at`` None."""
    data = _seed()
    del data["completedAt"]

    assert converter.structure(data, Backup).completed_at is None


def test_additional_destinations_absent_is_empty_tuple() -> None:
    """Without additionalDestinations the field is an empty tuple."""
    data = _seed()
    del data["config"]["additionalDestinations"]

    assert () == converter.structure(data, Backup).config.additional_destinations


def test_minimal_backup_structures_with_defaults() -> None:
    """A backup with only its required fields gets None and () for everything else."""
    backup = converter.structure(MINIMAL_BACKUP, Backup)

    assert (
        Backup(
            id="b1",
            name="Minimal",
            status=BackupStatus.SCHEDULED,
            created_at=datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
            config=BackupConfig(size=0),
        )
        == backup
    )


def test_unknown_keys_are_ignored() -> None:
    """Keys the API adds later, at any level, are ignored."""
    data = _seed(region="eu-west", labels={"a": 1})
    data["config"]["encryption"] = "aes256"
    data["config"]["source"]["origin"] = "cron"
    data["config"]["additionalDestinations"][0]["bucket"] = "x"

    assert EXPECTED_BACKUP == converter.structure(data, Backup)


# -- enumerations ------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(BackupStatus))
def test_every_backup_status_structures_to_its_member(status: BackupStatus) -> None:
    """Every documented backup status becomes its BackupStatus member."""
    assert status is converter.structure(_seed(status=status.value), Backup).status


@pytest.mark.parametrize("source", list(BackupSourceType))
def test_every_source_type_structures_to_its_member(source: BackupSourceType) -> None:
    """Every documented source type becomes its BackupSourceType member."""
    backup = converter.structure(_seed_config(source={"type": source.value}), Backup)

    assert BackupSource(type=source) == backup.config.source
    assert source is backup.config.source.type


@pytest.mark.parametrize("compression", list(CompressionType))
def test_every_compression_type_structures_to_its_member(compression: CompressionType) -> None:
    """Both compression types become their CompressionType member."""
    backup = converter.structure(_seed_config(compressionType=compression.value), Backup)

    assert compression is backup.config.compression_type


def test_unknown_enum_values_stay_plain_strings() -> None:
    """Values the API adds later stay the plain strings it sent, and round-trip unchanged."""
    data = _seed(status="restoring")
    data["config"]["source"] = {"type": "crossRegion"}
    data["config"]["compressionType"] = "lz4"
    data["config"]["additionalDestinations"][0]["type"] = "managed"

    backup = converter.structure(data, Backup)

    assert "restoring" == backup.status
    assert str is type(backup.status)
    assert backup.config.source is not None
    assert "crossRegion" == backup.config.source.type
    assert "lz4" == backup.config.compression_type
    assert "managed" == backup.config.additional_destinations[0].type
    assert data == converter.unstructure(backup)


def test_status_compares_to_a_string_either_way() -> None:
    """``backup.status == "completed"`` holds for the member and for a plain string."""
    known = converter.structure(SEED_BACKUP, Backup)
    assert known.status == "completed"
    assert known.status == BackupStatus.COMPLETED
    unknown = converter.structure(_seed(status="restoring"), Backup)
    assert unknown.status == "restoring"
    assert unknown.status != BackupStatus.COMPLETED


# -- sizes and timestamps ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "size"),
    [("0", 0), ("1234", 1234), ("34359738368", 34_359_738_368), (1234, 1234)],
)
def test_size_accepts_decimal_strings_and_ints(raw: object, size: int) -> None:
    """Size is read from the API's decimal string (or a plain non-negative int)."""
    assert size == converter.structure(_seed_config(size=raw), Backup).config.size


def test_timestamp_with_offset_is_kept_aware() -> None:
    """A timestamp with a numeric offset is the same instant, and written back in UTC."""
    backup = converter.structure(_seed(createdAt="2021-01-20T12:19:53.175+01:00"), Backup)

    assert datetime(2021, 1, 20, 11, 19, 53, 175000, tzinfo=UTC) == backup.created_at
    assert "2021-01-20T11:19:53.175Z" == converter.unstructure(backup)["createdAt"]


# -- what is refused, through a walk -----------------------------------------------------


def _missing(key: str) -> dict[str, Any]:
    data = _seed()
    del data[key]
    return data


def _missing_size() -> dict[str, Any]:
    data = _seed()
    del data["config"]["size"]
    return data


def _with_retention(value: object) -> dict[str, Any]:
    data = _seed()
    data["config"]["additionalDestinations"][0]["retentionTime"] = value
    return data


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        pytest.param(_missing("id"), "data.backups[3].id", id="id-missing"),
        pytest.param(_missing("createdAt"), "data.backups[3].createdAt", id="createdAt-missing"),
        pytest.param(_missing("config"), "data.backups[3].config", id="config-missing"),
        pytest.param(_missing_size(), "data.backups[3].config.size", id="size-missing"),
        pytest.param(_seed(name=42), "data.backups[3].name", id="name-int"),
        pytest.param(_seed(status=None), "data.backups[3].status", id="status-null"),
        pytest.param(_seed(createdAt=1611141593), "data.backups[3].createdAt", id="time-int"),
        pytest.param(_seed(createdAt="yesterday"), "data.backups[3].createdAt", id="time-text"),
        pytest.param(_seed_config(size="12x"), "data.backups[3].config.size", id="size-12x"),
        pytest.param(_seed_config(size=1.5), "data.backups[3].config.size", id="size-float"),
        pytest.param(_seed_config(size="-1"), "data.backups[3].config.size", id="size-negative"),
        pytest.param(_seed_config(size=True), "data.backups[3].config.size", id="size-bool"),
        pytest.param(
            _with_retention(True),
            "data.backups[3].config.additionalDestinations[0].retentionTime",
            id="retention-bool",
        ),
        pytest.param(
            _with_retention("7"),
            "data.backups[3].config.additionalDestinations[0].retentionTime",
            id="retention-string",
        ),
        pytest.param(
            _seed_config(additionalDestinations={"destinationId": "x"}),
            "data.backups[3].config.additionalDestinations",
            id="destinations-object",
        ),
        pytest.param(
            _seed_config(additionalDestinations="offsite"),
            "data.backups[3].config.additionalDestinations",
            id="destinations-string",
        ),
        pytest.param(
            _seed_config(source="snapshot"),
            "data.backups[3].config.source",
            id="source-string",
        ),
        pytest.param(
            _seed(config=["1234"]),
            "data.backups[3].config",
            id="config-list",
        ),
    ],
)
async def test_bad_backup_raises_with_url_and_json_path(
    mock: MockNorthflank, nf: NorthflankSession, bad: dict[str, Any], path: str
) -> None:
    """A bad value in the fourth backup raises ResponseValidationError naming URL and path."""
    mock.generate_backups(PROJECT, ADDON, 3)
    mock.add_backups(PROJECT, ADDON, [bad])

    with pytest.raises(ResponseValidationError) as caught:
        async for _ in nf.list_backups(PROJECT, ADDON):
            pass

    error = caught.value
    url = f"{mock.base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups?per_page=100"
    assert path == error.path
    assert url == error.url
    assert f"GET {url}: invalid value at {path}: " in str(error)
    assert isinstance(error, ValueError)


async def test_bad_pagination_raises_with_its_path(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A pagination object with a bad count names ``pagination.count``."""
    mock.generate_backups(PROJECT, ADDON, 1)
    mock.faults.bad_json(
        1, b'{"data": {"backups": []}, "pagination": {"hasNextPage": false, "count": "1"}}'
    )

    with pytest.raises(ResponseValidationError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)

    assert "pagination.count" == caught.value.path


async def test_missing_items_list_raises(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """An answer without ``data.backups`` raises ResponseValidationError naming that path."""
    mock.generate_backups(PROJECT, ADDON, 1)
    mock.faults.bad_json(1, b'{"data": {}, "pagination": {"hasNextPage": false, "count": 0}}')

    with pytest.raises(ResponseValidationError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)

    assert "data.backups" == caught.value.path
