"""The attrs models and their StrEnums: values, defaults, immutability, slots."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from northflank_async import (
    AdditionalDestination,
    Addon,
    AddonBackup,
    AddonPage,
    AddonSpec,
    AddonStatus,
    Backup,
    BackupConfig,
    BackupPage,
    BackupSource,
    BackupSourceType,
    BackupStatus,
    CompressionType,
    DestinationType,
    Pagination,
    Project,
    ProjectPage,
    RateLimit,
)

CREATED = datetime(2021, 1, 20, 11, 19, 53, 175000, tzinfo=UTC)


def _backup(**changes: Any) -> Backup:
    fields: dict[str, Any] = {
        "id": "example-backup",
        "name": "Example Backup",
        "status": BackupStatus.COMPLETED,
        "created_at": CREATED,
        "config": BackupConfig(size=1234),
    }
    fields.update(changes)
    return Backup(**fields)


def _addon() -> Addon:
    return Addon(
        id="example-addon",
        name="Example Addon",
        app_id="/example-team/default-project/example-addon",
        tags=("production",),
        spec=AddonSpec(type="postgresql"),
        status=AddonStatus.RUNNING,
    )


def _pagination() -> Pagination:
    return Pagination(has_next_page=False, count=0)


def _instances() -> list[object]:
    backup = _backup()
    return [
        BackupSource(type=BackupSourceType.SNAPSHOT),
        AdditionalDestination(destination_id="offsite", type=DestinationType.CUSTOM),
        BackupConfig(size=1),
        backup,
        Project(id="default-project", name="Default"),
        AddonSpec(type="redis"),
        _addon(),
        AddonBackup("default-project", "example-addon", backup),
        _pagination(),
        RateLimit(limit=1000, remaining=999, reset_at=CREATED),
        BackupPage([backup], _pagination()),
        ProjectPage([], _pagination()),
        AddonPage([], _pagination()),
    ]


@pytest.mark.parametrize(
    ("enum_cls", "values"),
    [
        (
            BackupStatus,
            [
                "scheduled",
                "in-progress",
                "completed",
                "aborting",
                "aborted",
                "failed",
                "not-supported",
            ],
        ),
        (
            BackupSourceType,
            ["fileUpload", "liveInstance", "snapshot", "externalDump", "sameAddon"],
        ),
        (CompressionType, ["gz", "zstd"]),
        (DestinationType, ["custom"]),
        (
            AddonStatus,
            [
                "preDeployment",
                "triggerAllocation",
                "allocating",
                "postDeployment",
                "running",
                "paused",
                "scaling",
                "upgrading",
                "resetting",
                "backup",
                "restore",
                "failed",
                "error",
                "errorAllocating",
                "deleting",
                "deleted",
            ],
        ),
    ],
)
def test_enum_values_are_exactly_the_documented_ones(
    enum_cls: type[enum.StrEnum], values: list[str]
) -> None:
    """Each StrEnum holds exactly the API's documented values, in documented order."""
    assert values == [member.value for member in enum_cls]


def test_enum_members_compare_equal_to_their_strings() -> None:
    """A StrEnum member equals the API's string, so callers may compare with plain strings."""
    member: str = BackupStatus.COMPLETED
    assert "completed" == member
    assert "in-progress" == str(BackupStatus.IN_PROGRESS)
    assert _backup().status == "completed"
    assert _backup(status="restoring").status == "restoring"


def test_backup_defaults() -> None:
    """Optional Backup and BackupConfig fields default to None and an empty tuple."""
    backup = _backup()
    assert backup.completed_at is None
    assert backup.custom_destination_id is None
    assert backup.config.source is None
    assert backup.config.compression_type is None
    assert () == backup.config.additional_destinations
    assert backup.config.addon_version is None
    assert AdditionalDestination(destination_id="d", type="custom").retention_time is None
    assert BackupSource().type is None


def test_models_are_keyword_only() -> None:
    """The API models take keywords only, so a field reordering cannot silently swap values."""
    with pytest.raises(TypeError):
        Project("default-project", "Default")  # type: ignore[call-arg]  # positional on purpose


def test_models_compare_by_value() -> None:
    """Two models built from the same values are equal and hash alike."""
    assert _backup() == _backup()
    assert hash(_backup()) == hash(_backup())
    assert _backup() != _backup(name="Other")


@pytest.mark.parametrize("instance", _instances(), ids=lambda obj: type(obj).__name__)
def test_models_are_frozen(instance: Any) -> None:
    """Every model refuses attribute assignment after construction."""
    name = attrs.fields(type(instance))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(instance, name, None)


@pytest.mark.parametrize("instance", _instances(), ids=lambda obj: type(obj).__name__)
def test_models_are_slotted(instance: object) -> None:
    """Every model is a slotted class: no per-instance ``__dict__``, no stray attributes."""
    assert "__slots__" in type(instance).__dict__
    assert not hasattr(instance, "__dict__")
    with pytest.raises((AttributeError, TypeError)):
        object.__setattr__(instance, "not_a_field", 1)


def test_addon_backup_is_positional_and_carries_its_addon() -> None:
    """AddonBackup pairs a backup with the project and addon it belongs to."""
    backup = _backup()
    item = AddonBackup("default-project", "example-addon", backup)
    assert ("default-project", "example-addon", backup) == (
        item.project_id,
        item.addon_id,
        item.backup,
    )


def test_pages_expose_their_items() -> None:
    """Each page class's ``items`` is its own list of objects, in order."""
    backups = [_backup(id="b1"), _backup(id="b2")]
    projects = [Project(id="p1", name="P1")]
    addons = [_addon()]
    assert backups == BackupPage(backups, _pagination()).items
    assert projects == ProjectPage(projects, _pagination()).items
    assert addons == AddonPage(addons, _pagination()).items
    assert BackupPage(backups, _pagination()).rate_limit is None
