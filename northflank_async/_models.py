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
    """Where a backup (or a restore) is in its life.

    A ``StrEnum``: ``backup.status == "completed"`` holds whether the field holds the
    member or, for a status the API added later, the plain string it sent. The final
    statuses are ``completed``, ``failed``, ``aborted`` and ``not-supported``
    (``Backup.is_final``).

    Example:

    ```python
    from northflank_async import BackupStatus

    backup = await nf.get_backup(project_id, addon_id, backup_id)
    print(backup.status == BackupStatus.COMPLETED, backup.status == "completed")  # True True
    ```
    """

    SCHEDULED = "scheduled"
    """Waiting to start."""
    IN_PROGRESS = "in-progress"
    """Being taken (or, for a restore, being restored)."""
    COMPLETED = "completed"
    """Ended well: a backup can now be downloaded and restored."""
    ABORTING = "aborting"
    """Being aborted; ``aborted`` follows."""
    ABORTED = "aborted"
    """Aborted before it ended (final)."""
    FAILED = "failed"
    """Ended without completing (final)."""
    NOT_SUPPORTED = "not-supported"
    """The addon does not support it (final)."""


#: The statuses after which a backup (or a restore) changes no more.
FINAL_STATUSES = frozenset({"completed", "failed", "aborted", "not-supported"})


class BackupType(enum.StrEnum):
    """What kind of backup to take: a disk snapshot (the default) or a database dump."""

    SNAPSHOT = "snapshot"
    """A snapshot of the addon's disk (the API's default)."""
    DUMP = "dump"
    """A dump of the database, compressed as ``compression_type`` says."""


class BackupSourceType(enum.StrEnum):
    """How a backup was taken (``BackupConfig.source.type``)."""

    FILE_UPLOAD = "fileUpload"
    """Imported from an uploaded file (``fileUpload``)."""
    LIVE_INSTANCE = "liveInstance"
    """Dumped from the running addon (``liveInstance``)."""
    SNAPSHOT = "snapshot"
    """A snapshot of the addon's disk (``snapshot``)."""
    EXTERNAL_DUMP = "externalDump"
    """Imported from a dump of an external database (``externalDump``)."""
    SAME_ADDON = "sameAddon"
    """Made from the addon itself (``sameAddon``)."""


class CompressionType(enum.StrEnum):
    """The compression of a dump backup."""

    GZ = "gz"
    """Compressed with gzip."""
    ZSTD = "zstd"
    """Compressed with Zstandard."""


class DestinationType(enum.StrEnum):
    """The kind of an additional backup destination."""

    CUSTOM = "custom"
    """A custom destination of the team (the only kind)."""


class AddonStatus(enum.StrEnum):
    """Where an addon is in its life (``Addon.status``).

    A ``StrEnum``; a status the API added later arrives as the plain string.
    """

    PRE_DEPLOYMENT = "preDeployment"
    """Created, not deployed yet."""
    TRIGGER_ALLOCATION = "triggerAllocation"
    """About to ask for its resources."""
    ALLOCATING = "allocating"
    """Its resources are being allocated."""
    POST_DEPLOYMENT = "postDeployment"
    """Deployed, finishing its setup."""
    RUNNING = "running"
    """Running."""
    PAUSED = "paused"
    """Paused."""
    SCALING = "scaling"
    """Changing its resources or replicas."""
    UPGRADING = "upgrading"
    """Moving to another version."""
    RESETTING = "resetting"
    """Being reset."""
    BACKUP = "backup"
    """Taking a backup."""
    RESTORE = "restore"
    """Being restored from a backup."""
    FAILED = "failed"
    """Failed."""
    ERROR = "error"
    """In error."""
    ERROR_ALLOCATING = "errorAllocating"
    """Its resources could not be allocated."""
    DELETING = "deleting"
    """Being deleted."""
    DELETED = "deleted"
    """Deleted."""


@attrs.frozen(kw_only=True)
class BackupSource:
    """Where a backup's data came from."""

    type: BackupSourceType | str | None = None
    """How the backup was taken, or None when the API did not say.

    A [BackupSourceType][northflank_async.BackupSourceType], or the plain string of a
    kind the API added later.
    """


@attrs.frozen(kw_only=True)
class AdditionalDestination:
    """A custom destination that keeps a further copy of a backup.

    Pass a list of them as ``create_backup(additional_destinations=...)`` (snapshots only).

    Example:

    ```python
    from northflank_async import AdditionalDestination

    offsite = AdditionalDestination(destination_id="offsite-s3", retention_time=30, type="custom")
    print(offsite)
    ```
    """

    destination_id: str
    """The id of the custom destination."""
    retention_time: int | None = None
    """Days the copy is kept (1 to 120), or None when not set."""
    type: DestinationType | str
    """The destination's kind: ``custom`` ([DestinationType][northflank_async.DestinationType])."""


@attrs.frozen(kw_only=True)
class BackupConfig:
    """How a backup was taken and how large it is."""

    size: int
    """Bytes (the API sends a decimal string; this is an int)."""
    source: BackupSource | None = None
    """Where the data came from, or None."""
    compression_type: CompressionType | str | None = None
    """A dump's compression ([CompressionType][northflank_async.CompressionType]), or None."""
    additional_destinations: tuple[AdditionalDestination, ...] = ()
    """The further copies of the backup (empty when none)."""
    addon_version: str | None = None
    """The addon's version when the backup was taken, or None."""


@attrs.frozen(kw_only=True)
class LastRestore:
    """The latest restore of the addon from a backup, as the backup reports it."""

    restore_timestamp: datetime
    """When the restore started (timezone-aware)."""
    status: BackupStatus | str
    """The restore's status ([BackupStatus][northflank_async.BackupStatus], or a plain string)."""
    completed_at: datetime | None = None
    """When the restore ended; None until it ended."""


@attrs.frozen(kw_only=True)
class Backup:
    """One backup of an addon.

    Frozen; timestamps are timezone-aware datetimes, ``config.size`` an int.
    [converter][northflank_async.converter] turns one into the API's JSON and back.

    Example:

    ```python
    backup = await nf.get_backup(project_id, addon_id, backup_id)
    if backup.status == "completed" and backup.completed_at is not None:
        print(backup.name, backup.completed_at - backup.created_at, backup.config.size)
    ```
    """

    id: str
    """The backup's id."""
    name: str
    """The backup's name."""
    status: BackupStatus | str
    """Where it is in its life.

    A [BackupStatus][northflank_async.BackupStatus], or the plain string of a status the
    API added later; compare with ``==`` either way.
    """
    created_at: datetime
    """When it was created (timezone-aware)."""
    completed_at: datetime | None = attrs.field(default=None, metadata=KEEP_NULL)
    """When it ended; None while it has not."""
    config: BackupConfig
    """Its size and how it was taken."""
    custom_destination_id: str | None = None
    """The custom destination of a dump, or None."""
    last_restore: LastRestore | None = None
    """The latest restore from it; only from ``get_backup``, and only once it was restored."""
    uid: str | None = None
    """A unique id sent by newer versions of the API, or None."""

    @property
    def is_final(self) -> bool:
        """Whether the status is final: ``completed``, ``failed``, ``aborted`` or ``not-supported``."""
        return self.status in FINAL_STATUSES


@attrs.frozen(kw_only=True)
class Restore:
    """One restore of an addon from one of its backups (or another addon's)."""

    id: str
    """The restore's id."""
    status: BackupStatus | str
    """Where it is in its life: a ``BackupStatus``, or a plain string."""
    restore_timestamp: datetime
    """When the restore started (timezone-aware)."""
    completed_at: datetime | None = None
    """When it ended; None until then."""
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
    """The project's id."""
    name: str
    """The project's name."""
    description: str | None = None
    """The project's description, or None."""
    uid: str | None = None
    """A unique id sent by newer versions of the API, or None."""


@attrs.frozen(kw_only=True)
class AddonSpec:
    """What an addon runs."""

    type: str
    """The addon kind: ``postgresql``, ``mongodb``, ``redis``, ..."""


@attrs.frozen(kw_only=True)
class Addon:
    """A stateful addon (a database, a cache, a bucket) of a project."""

    id: str
    """The addon's id."""
    name: str
    """The addon's name."""
    app_id: str
    """The API's ``appId`` of the addon."""
    tags: tuple[str, ...]
    """The addon's tags."""
    description: str | None = None
    """The addon's description, or None."""
    spec: AddonSpec
    """What it runs."""
    status: AddonStatus | str
    """Where it is in its life ([AddonStatus][northflank_async.AddonStatus], or a plain string)."""
    uid: str | None = None
    """A unique id sent by newer versions of the API, or None."""


@attrs.frozen
class AddonBackup:
    """A backup together with the project and addon it belongs to.

    What [NorthflankSession.stream_backups][northflank_async.NorthflankSession.stream_backups]
    yields.
    """

    project_id: str
    """The project of the addon."""
    addon_id: str
    """The addon the backup belongs to."""
    backup: Backup
    """The backup."""


@attrs.frozen(kw_only=True)
class Pagination:
    """Where a page stands in its walk."""

    has_next_page: bool
    """Whether another page follows."""
    cursor: str | None = None
    """Opaque; pass it back as ``cursor=`` to get the next page (None on the last page)."""
    count: int
    """How many items this page holds."""


@attrs.frozen(kw_only=True)
class RateLimit:
    """The token's request budget, as the latest answer reported it.

    Read it as ``nf.rate_limit`` or a page's ``rate_limit``.
    """

    limit: int
    """Requests allowed per window."""
    remaining: int
    """Requests left in the current window."""
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
    """One page of an addon's backups.

    ``items`` is ``backups``, so code can handle every page class alike.
    """

    backups: list[Backup]
    """The backups of this page, in the order the API sent them."""
    pagination: Pagination
    """Where this page stands in its walk (its ``cursor`` leads on)."""
    rate_limit: RateLimit | None = None
    """The rate limit its answer reported, or None."""

    @property
    def items(self) -> list[Backup]:
        """The backups of this page."""
        return self.backups


@attrs.frozen
class RestorePage(Page[Restore]):
    """One page of restores (of an addon, or of one of its backups)."""

    restores: list[Restore]
    """The restores of this page, in the order the API sent them."""
    pagination: Pagination
    """Where this page stands in its walk (its ``cursor`` leads on)."""
    rate_limit: RateLimit | None = None
    """The rate limit its answer reported, or None."""

    @property
    def items(self) -> list[Restore]:
        """The restores of this page."""
        return self.restores


@attrs.frozen
class ProjectPage(Page[Project]):
    """One page of projects."""

    projects: list[Project]
    """The projects of this page, in the order the API sent them."""
    pagination: Pagination
    """Where this page stands in its walk (its ``cursor`` leads on)."""
    rate_limit: RateLimit | None = None
    """The rate limit its answer reported, or None."""

    @property
    def items(self) -> list[Project]:
        """The projects of this page."""
        return self.projects


@attrs.frozen
class AddonPage(Page[Addon]):
    """One page of a project's addons."""

    addons: list[Addon]
    """The addons of this page, in the order the API sent them."""
    pagination: Pagination
    """Where this page stands in its walk (its ``cursor`` leads on)."""
    rate_limit: RateLimit | None = None
    """The rate limit its answer reported, or None."""

    @property
    def items(self) -> list[Addon]:
        """The addons of this page."""
        return self.addons
