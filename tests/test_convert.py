"""The cattrs converter: the API's JSON to the models and back, and what it refuses."""

from __future__ import annotations

import copy
import json
import types
from datetime import UTC, datetime
from typing import Any

import attrs
import cattrs
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
from northflank_async._convert import structure_one
from northflank_async.testing import MockNorthflank, example_backup
from tests.conftest import ADDON, PROJECT
from tests.convert_support import (
    EXPECTED_BACKUP,
    MINIMAL_BACKUP,
    SEED_BACKUP,
    SEED_RESPONSE,
    seed,
    seed_config,
)

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
    data = seed(completedAt=None)
    backup = converter.structure(data, Backup)

    assert backup.completed_at is None
    assert data == converter.unstructure(backup)


# -- optional and unknown content ---------------------------------------------------------


def test_completed_at_omitted_is_none() -> None:
    """A backup without completedAt (still scheduled) has ``completed_at`` None."""
    data = seed()
    del data["completedAt"]

    assert converter.structure(data, Backup).completed_at is None


def test_additional_destinations_absent_is_empty_tuple() -> None:
    """Without additionalDestinations the field is an empty tuple."""
    data = seed()
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
    data = seed(region="eu-west", labels={"a": 1})
    data["config"]["encryption"] = "aes256"
    data["config"]["source"]["origin"] = "cron"
    data["config"]["additionalDestinations"][0]["bucket"] = "x"

    assert EXPECTED_BACKUP == converter.structure(data, Backup)


# -- enumerations ------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(BackupStatus))
def test_every_backup_status_structures_to_its_member(status: BackupStatus) -> None:
    """Every documented backup status becomes its BackupStatus member."""
    assert status is converter.structure(seed(status=status.value), Backup).status


@pytest.mark.parametrize("source", list(BackupSourceType))
def test_every_source_type_structures_to_its_member(source: BackupSourceType) -> None:
    """Every documented source type becomes its BackupSourceType member."""
    backup = converter.structure(seed_config(source={"type": source.value}), Backup)

    assert BackupSource(type=source) == backup.config.source
    assert source is backup.config.source.type


@pytest.mark.parametrize("compression", list(CompressionType))
def test_every_compression_type_structures_to_its_member(compression: CompressionType) -> None:
    """Both compression types become their CompressionType member."""
    backup = converter.structure(seed_config(compressionType=compression.value), Backup)

    assert compression is backup.config.compression_type


def test_unknown_enum_values_stay_plain_strings() -> None:
    """Values the API adds later stay the plain strings it sent, and round-trip unchanged."""
    data = seed(status="restoring")
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
    unknown = converter.structure(seed(status="restoring"), Backup)
    assert unknown.status == "restoring"
    assert unknown.status != BackupStatus.COMPLETED


# -- sizes and timestamps ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "size"),
    [("0", 0), ("1234", 1234), ("34359738368", 34_359_738_368), (1234, 1234)],
)
def test_size_accepts_decimal_strings_and_ints(raw: object, size: int) -> None:
    """Size is read from the API's decimal string (or a plain non-negative int)."""
    assert size == converter.structure(seed_config(size=raw), Backup).config.size


def test_timestamp_with_offset_is_kept_aware() -> None:
    """A timestamp with a numeric offset is the same instant, and written back in UTC."""
    backup = converter.structure(seed(createdAt="2021-01-20T12:19:53.175+01:00"), Backup)

    assert datetime(2021, 1, 20, 11, 19, 53, 175000, tzinfo=UTC) == backup.created_at
    assert "2021-01-20T11:19:53.175Z" == converter.unstructure(backup)["createdAt"]


# -- what is refused, through a walk -----------------------------------------------------


def _missing(key: str) -> dict[str, Any]:
    data = seed()
    del data[key]
    return data


def _missing_size() -> dict[str, Any]:
    data = seed()
    del data["config"]["size"]
    return data


def _with_retention(value: object) -> dict[str, Any]:
    data = seed()
    data["config"]["additionalDestinations"][0]["retentionTime"] = value
    return data


@pytest.mark.parametrize(
    ("bad", "path"),
    [
        pytest.param(_missing("id"), "data.backups[3].id", id="id-missing"),
        pytest.param(_missing("createdAt"), "data.backups[3].createdAt", id="createdAt-missing"),
        pytest.param(_missing("config"), "data.backups[3].config", id="config-missing"),
        pytest.param(_missing_size(), "data.backups[3].config.size", id="size-missing"),
        pytest.param(seed(name=42), "data.backups[3].name", id="name-int"),
        pytest.param(seed(status=None), "data.backups[3].status", id="status-null"),
        pytest.param(seed(createdAt=1611141593), "data.backups[3].createdAt", id="time-int"),
        pytest.param(seed(createdAt="yesterday"), "data.backups[3].createdAt", id="time-text"),
        pytest.param(seed_config(size="12x"), "data.backups[3].config.size", id="size-12x"),
        pytest.param(seed_config(size=1.5), "data.backups[3].config.size", id="size-float"),
        pytest.param(seed_config(size="-1"), "data.backups[3].config.size", id="size-negative"),
        pytest.param(seed_config(size=True), "data.backups[3].config.size", id="size-bool"),
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
            seed_config(additionalDestinations={"destinationId": "x"}),
            "data.backups[3].config.additionalDestinations",
            id="destinations-object",
        ),
        pytest.param(
            seed_config(additionalDestinations="offsite"),
            "data.backups[3].config.additionalDestinations",
            id="destinations-string",
        ),
        pytest.param(
            seed_config(source="snapshot"),
            "data.backups[3].config.source",
            id="source-string",
        ),
        pytest.param(
            seed(config=["1234"]),
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


# -- integers ------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "days"), [(7, 7), (7.0, 7), (0, 0), (None, None)])
def test_integers_accept_whole_numbers_only(raw: object, days: int | None) -> None:
    """An int field takes a JSON integer, a float with no fraction (as an int), or null."""
    destination = converter.structure(
        {"destinationId": "d", "retentionTime": raw, "type": "custom"}, AdditionalDestination
    )

    assert days == destination.retention_time
    assert type(days) is type(destination.retention_time)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (7.5, "expected an integer, got float 7.5"),
        (True, "expected an integer, got bool True"),
        ("7", "expected an integer, got str '7'"),
    ],
)
def test_integers_refuse_fractions_booleans_and_strings(raw: object, reason: str) -> None:
    """``7.5``, ``true`` and ``"7"`` are no integer, whatever ``int()`` would make of them."""
    with pytest.raises(TypeError) as caught:
        converter.structure(
            {"destinationId": "d", "retentionTime": raw, "type": "custom"}, AdditionalDestination
        )

    assert reason == str(caught.value)


# -- the converter and the models ----------------------------------------------------------


def test_converter_is_a_cattrs_converter() -> None:
    """The exported converter is a plain cattrs Converter users can structure and unstructure with."""
    assert isinstance(converter, cattrs.Converter)
    assert SEED_BACKUP == converter.unstructure(converter.structure(SEED_BACKUP, Backup), Backup)


def test_a_mapping_that_is_no_dict_is_read_like_a_dict() -> None:
    """A read-only mapping of the example structures to the expected Backup."""
    assert EXPECTED_BACKUP == converter.structure(
        types.MappingProxyType(copy.deepcopy(SEED_BACKUP)), Backup
    )


def test_only_str_enum_or_str_unions_are_tolerant_enums() -> None:
    """``SomeStrEnum | str`` (optionally ``| None``) keeps unknown values; ``int | str`` is no enum."""
    status: Any = BackupStatus | str
    compression: Any = CompressionType | str | None
    not_an_enum: Any = int | str

    assert BackupStatus.COMPLETED is converter.structure("completed", status)
    assert "nope" == converter.structure("nope", status)
    assert converter.structure(None, compression) is None
    with pytest.raises(cattrs.StructureHandlerNotFoundError, match=r"int \| str"):
        converter.structure("7", not_an_enum)


@attrs.frozen(kw_only=True)
class _Checked:
    name: str = attrs.field(validator=attrs.validators.min_len(2))
    tags: list[str] = attrs.Factory(list)
    seen: bool = attrs.field(init=False, default=False)


def test_models_are_built_by_their_init() -> None:
    """A model's validators, factories and init=False defaults apply: it is built by __init__."""
    assert _Checked(name="ab") == converter.structure({"name": "ab"}, _Checked)
    with pytest.raises(ValueError, match="Length of 'name' must be >= 2"):
        converter.structure({"name": "a"}, _Checked)


@attrs.frozen
class _PostInit:
    name: str

    def __attrs_post_init__(self) -> None:
        if self.name == "bad":
            raise ValueError("post-init refused 'bad'")


@attrs.frozen
class _OwnNew:
    name: str

    def __new__(cls, *args: object, **kwargs: object) -> _OwnNew:
        instance: _OwnNew = super().__new__(cls)
        return instance


@pytest.mark.parametrize("cls", [_PostInit, _OwnNew])
def test_models_with_post_init_or_own_new_structure(cls: type[Any]) -> None:
    """A model with __attrs_post_init__ or its own __new__ is built, and its fields checked."""
    assert cls(name="ok") == converter.structure({"name": "ok"}, cls)
    with pytest.raises(TypeError, match=r"^expected a string, got int 5$"):
        converter.structure({"name": 5}, cls)


def test_post_init_runs_and_can_refuse() -> None:
    """The post-init hook of a structured model runs, and its refusal reaches the caller."""
    with pytest.raises(ValueError, match="post-init refused 'bad'"):
        converter.structure({"name": "bad"}, _PostInit)


def test_structure_one_names_the_object_a_model_refused() -> None:
    """A refusal by the model itself (its post-init) names the object's own path."""
    with pytest.raises(ResponseValidationError) as caught:
        structure_one({"name": "bad"}, _PostInit, url="https://api.test/v1/x", path="data.item")

    assert "data.item" == caught.value.path
    assert (
        "GET https://api.test/v1/x: invalid value at data.item: ValueError: post-init refused 'bad'"
    ) == str(caught.value)


@attrs.frozen(kw_only=True, cache_hash=True)
class _CachedHash:
    name: str
    size: int | None = None


def test_model_with_cached_hash_can_be_hashed() -> None:
    """A structured ``cache_hash=True`` model hashes like one built by hand (its cache slot is set)."""
    structured = converter.structure({"name": "a", "size": 1}, _CachedHash)

    assert hash(_CachedHash(name="a", size=1)) == hash(structured)
    assert {_CachedHash(name="a", size=1)} == {structured}


@attrs.frozen(kw_only=True)
class _Node:
    name: str
    children: tuple[_Node, ...] = ()
    parent: _Node | None = None


def test_recursive_model_structures_and_names_a_deep_bad_value() -> None:
    """A model that contains itself structures at every level, and a bad leaf is named by path."""
    tree = {"name": "root", "children": [{"name": "a", "children": [{"name": "b"}]}]}

    assert _Node(
        name="root", children=(_Node(name="a", children=(_Node(name="b"),)),)
    ) == converter.structure(tree, _Node)
    assert _Node(name="c", parent=_Node(name="p")) == converter.structure(
        {"name": "c", "parent": {"name": "p"}}, _Node
    )
    tree["children"][0]["children"][0]["name"] = 1  # type: ignore[index]  # nested test data
    with pytest.raises(ResponseValidationError) as caught:
        structure_one(tree, _Node, url="https://api.test/v1/tree", path="data.tree")
    assert "data.tree.children[0].children[0].name" == caught.value.path


@pytest.mark.parametrize("addon_type", ["postgresql", "mongodb", "redis"])
def test_generated_backups_structure(addon_type: str) -> None:
    """Two thousand of MockNorthflank's generated backups structure, in order, sizes as ints."""
    mock = MockNorthflank(seed=1)
    mock.add_addon("p", "a", addon_type=addon_type)
    backups = json.loads(json.dumps(mock.generate_backups("p", "a", 2000)))

    structured = converter.structure(backups, list[Backup])

    assert [b["id"] for b in backups] == [b.id for b in structured]
    assert [int(b["config"]["size"]) for b in backups] == [b.config.size for b in structured]
