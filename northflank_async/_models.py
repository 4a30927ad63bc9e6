"""The API's objects as frozen attrs classes; they know nothing about JSON.

Field names are the snake_case forms of the API's camelCase keys; the one converter in
``_convert`` maps between the two. An enumeration field is typed ``SomeEnum | str``:
a value the API adds later arrives as the plain string it sent, and since the enums
are ``StrEnum``s, ``backup.status == "completed"`` holds either way.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Generic, TypeVar

import attrs

__all__ = [
    "AdditionalDestination",
    "Addon",
    "AddonBackup",
    "AddonPage",
    "AddonSpec",
    "AddonStatus",
    "Backup",
    "BackupConfig",
    "BackupPage",
    "BackupSource",
    "BackupSourceType",
    "BackupStatus",
    "BackupType",
    "CompressionType",
    "DestinationType",
    "LastRestore",
    "Page",
    "Pagination",
    "Project",
    "ProjectPage",
    "RateLimit",
    "Restore",
    "RestorePage",
]

T = TypeVar("T")

#: Field metadata: emit the key (as ``null``) even when the value is ``None``.
KEEP_NULL = {"keep_null": True}


class BackupStatus(enum.StrEnum):
    """Where a backup is in its life."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    ABORTING = "aborting"
    ABORTED = "aborted"
    FAILED = "failed"
    NOT_SUPPORTED = "not-supported"


#: The statuses after which a backup (or a restore) changes no more.
FINAL_STATUSES = frozenset({"completed", "failed", "aborted", "not-supported"})


class BackupType(enum.StrEnum):
    """What kind of backup to take: a disk snapshot (the default) or a database dump."""

    SNAPSHOT = "snapshot"
    DUMP = "dump"


class BackupSourceType(enum.StrEnum):
    """How a backup was taken."""

    FILE_UPLOAD = "fileUpload"
    LIVE_INSTANCE = "liveInstance"
    SNAPSHOT = "snapshot"
    EXTERNAL_DUMP = "externalDump"
    SAME_ADDON = "sameAddon"


class CompressionType(enum.StrEnum):
    """The compression of a dump backup."""

    GZ = "gz"
    ZSTD = "zstd"


class DestinationType(enum.StrEnum):
    """The kind of an additional backup destination."""

    CUSTOM = "custom"


class AddonStatus(enum.StrEnum):
    """Where an addon is in its life."""

    PRE_DEPLOYMENT = "preDeployment"
    TRIGGER_ALLOCATION = "triggerAllocation"
    ALLOCATING = "allocating"
    POST_DEPLOYMENT = "postDeployment"
    RUNNING = "running"
    PAUSED = "paused"
    SCALING = "scaling"
    UPGRADING = "upgrading"
    RESETTING = "resetting"
    BACKUP = "backup"
    RESTORE = "restore"
    FAILED = "failed"
    ERROR = "error"
    ERROR_ALLOCATING = "errorAllocating"
    DELETING = "deleting"
    DELETED = "deleted"


@attrs.frozen(kw_only=True)
class BackupSource:
    """Where a backup's data came from."""

    type: BackupSourceType | str | None = None


@attrs.frozen(kw_only=True)
class AdditionalDestination:
    """A custom destination that keeps a further copy of a backup."""

    destination_id: str
    retention_time: int | None = None
    """Days the copy is kept."""
    type: DestinationType | str


@attrs.frozen(kw_only=True)
class BackupConfig:
    """How a backup was taken and how large it is."""

    size: int
    """Bytes (the API sends a decimal string)."""
    source: BackupSource | None = None
    compression_type: CompressionType | str | None = None
    additional_destinations: tuple[AdditionalDestination, ...] = ()
    addon_version: str | None = None


@attrs.frozen(kw_only=True)
class LastRestore:
    """The latest restore of the addon from a backup, as the backup reports it."""

    restore_timestamp: datetime
    """When the restore started."""
    status: BackupStatus | str
    completed_at: datetime | None = None
    """``None`` until the restore ended."""


@attrs.frozen(kw_only=True)
class Backup:
    """One backup of an addon."""

    id: str
    name: str
    status: BackupStatus | str
    created_at: datetime
    completed_at: datetime | None = attrs.field(default=None, metadata=KEEP_NULL)
    """``None`` while the backup has not completed."""
    config: BackupConfig
    custom_destination_id: str | None = None
    last_restore: LastRestore | None = None
    """Only from ``get_backup``, and only once the backup was restored."""
    uid: str | None = None
    """Sent by newer versions of the API."""

    @property
    def is_final(self) -> bool:
        """Whether the status is final: ``completed``, ``failed``, ``aborted`` or ``not-supported``."""
        return self.status in FINAL_STATUSES


@attrs.frozen(kw_only=True)
class Restore:
    """One restore of an addon from one of its backups (or another addon's)."""

    id: str
    status: BackupStatus | str
    restore_timestamp: datetime
    """When the restore started."""
    completed_at: datetime | None = None
    """``None`` until the restore ended."""
    backup_id: str | None = None
    """The backup restored (the SDK fills it in for the restores of one backup too)."""

    @property
    def is_final(self) -> bool:
        """Whether the status is final: ``completed``, ``failed``, ``aborted`` or ``not-supported``."""
        return self.status in FINAL_STATUSES


@attrs.frozen(kw_only=True)
class Project:
    """A project of the team."""

    id: str
    name: str
    description: str | None = None
    uid: str | None = None
    """Sent by newer versions of the API."""


@attrs.frozen(kw_only=True)
class AddonSpec:
    """What an addon runs."""

    type: str
    """The addon kind: ``postgresql``, ``mongodb``, ``redis``, ..."""


@attrs.frozen(kw_only=True)
class Addon:
    """A stateful addon (a database, a cache, a bucket) of a project."""

    id: str
    name: str
    app_id: str
    tags: tuple[str, ...]
    description: str | None = None
    spec: AddonSpec
    status: AddonStatus | str
    uid: str | None = None
    """Sent by newer versions of the API."""


@attrs.frozen
class AddonBackup:
    """A backup together with the project and addon it belongs to."""

    project_id: str
    addon_id: str
    backup: Backup


@attrs.frozen(kw_only=True)
class Pagination:
    """Where a page stands in its walk."""

    has_next_page: bool
    cursor: str | None = None
    """Opaque; pass it back as ``cursor=`` to get the next page."""
    count: int
    """How many items this page holds."""


@attrs.frozen(kw_only=True)
class RateLimit:
    """The token's request budget, as the latest response reported it."""

    limit: int
    remaining: int
    reset_at: datetime
    """When the window resets and ``remaining`` is back to ``limit`` (timezone-aware)."""


class Page(Generic[T]):
    """What every page class offers: its ``items``, ``pagination`` and ``rate_limit``."""

    __slots__ = ()

    pagination: Pagination
    rate_limit: RateLimit | None

    @property
    def items(self) -> list[T]:
        """The objects of this page, in the order the API sent them."""
        raise NotImplementedError  # pragma: no cover - every page class overrides it


@attrs.frozen
class BackupPage(Page[Backup]):
    """One page of an addon's backups."""

    backups: list[Backup]
    pagination: Pagination
    rate_limit: RateLimit | None = None

    @property
    def items(self) -> list[Backup]:
        """The backups of this page."""
        return self.backups


@attrs.frozen
class RestorePage(Page[Restore]):
    """One page of restores (of an addon, or of one of its backups)."""

    restores: list[Restore]
    pagination: Pagination
    rate_limit: RateLimit | None = None

    @property
    def items(self) -> list[Restore]:
        """The restores of this page."""
        return self.restores


@attrs.frozen
class ProjectPage(Page[Project]):
    """One page of projects."""

    projects: list[Project]
    pagination: Pagination
    rate_limit: RateLimit | None = None

    @property
    def items(self) -> list[Project]:
        """The projects of this page."""
        return self.projects


@attrs.frozen
class AddonPage(Page[Addon]):
    """One page of a project's addons."""

    addons: list[Addon]
    pagination: Pagination
    rate_limit: RateLimit | None = None

    @property
    def items(self) -> list[Addon]:
        """The addons of this page."""
        return self.addons
