"""The arguments of a new backup, checked before any request, and the body they make.

Pure functions: what the API would refuse with a 400 is refused here with ValueError,
so a bad call costs no request and no budget.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ._checks import CONTROL
from ._convert import converter
from ._models import AdditionalDestination, BackupType, CompressionType, DestinationType

__all__ = ["generated_name", "new_backup_body", "source_query"]

_NAME = re.compile(r"[a-zA-Z0-9]+((-|\s|/|:)[a-zA-Z0-9]+)*")
_DESTINATION_ID = re.compile(r"[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*")
_SUFFIX = "abcdefghijklmnopqrstuvwxyz0123456789"


def generated_name() -> str:
    """A name the API accepts and no other backup has: the date and a random suffix.

    ``backup 2026-12-03 10:15:07 k3x9q2`` (33 characters). The date is only a label for
    people; the suffix (36**6 values) is what makes the name unique.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    suffix = "".join(secrets.choice(_SUFFIX) for _ in range(6))
    return f"backup {now} {suffix}"


def _name(name: object) -> str:
    if not isinstance(name, str):
        raise ValueError(f"name must be a string, got {type(name).__name__}")
    if not 3 <= len(name) <= 39:
        raise ValueError(f"name must be 3 to 39 characters long, got {len(name)}")
    if CONTROL.search(name) or not _NAME.fullmatch(name):
        raise ValueError(
            f"name {name!r} must be letters and digits, in words joined by one '-', ' ', '/' or ':'"
        )
    return name


def _choice(value: object, enum: type[BackupType] | type[CompressionType], what: str) -> str:
    allowed = [member.value for member in enum]
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _destination_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not 3 <= len(value) <= 100:
        raise ValueError(f"{what} must be a string of 3 to 100 characters, got {value!r}")
    if not _DESTINATION_ID.fullmatch(value):
        raise ValueError(f"{what} {value!r} must be letters and digits joined by single '-'")
    return value


def _destinations(value: object) -> list[dict[str, Any]]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ValueError("additional_destinations must be a list of AdditionalDestination")
    found: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        what = f"additional_destinations[{index}]"
        if not isinstance(item, AdditionalDestination):
            raise ValueError(f"{what} must be an AdditionalDestination, got {item!r}")
        _destination_id(item.destination_id, f"{what}.destination_id")
        retention = item.retention_time
        if retention is not None and (
            isinstance(retention, bool)
            or not isinstance(retention, int)
            or not 1 <= retention <= 120
        ):
            raise ValueError(f"{what}.retention_time must be 1 to 120 days, got {retention!r}")
        if item.type != DestinationType.CUSTOM:
            raise ValueError(f"{what}.type must be 'custom', got {item.type!r}")
        found.append(converter.unstructure(item))
    return found


def new_backup_body(
    *,
    name: str | None,
    backup_type: BackupType | str | None,
    compression_type: CompressionType | str | None,
    custom_destination_id: str | None,
    additional_destinations: Sequence[AdditionalDestination] | None,
) -> dict[str, Any]:
    """The body of ``POST .../backups``: only the keys given, in camelCase; ValueError if bad.

    Dump-only options (``compression_type``, ``custom_destination_id``) are refused on
    a snapshot (the default type), and ``additional_destinations`` on a dump.
    """
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = _name(name)
    kind = BackupType.SNAPSHOT
    if backup_type is not None:
        kind = BackupType(_choice(backup_type, BackupType, "backup_type"))
        body["backupType"] = kind.value
    if compression_type is not None:
        body["compressionType"] = _choice(compression_type, CompressionType, "compression_type")
    if custom_destination_id is not None:
        body["customDestinationId"] = _destination_id(
            custom_destination_id, "custom_destination_id"
        )
    if additional_destinations is not None:
        body["additionalDestinations"] = _destinations(additional_destinations)
    if kind is BackupType.SNAPSHOT:
        for key, option in (
            ("compressionType", "compression_type"),
            ("customDestinationId", "custom_destination_id"),
        ):
            if key in body:
                raise ValueError(f"{option} is for dump backups only: add backup_type='dump'")
    elif "additionalDestinations" in body:
        raise ValueError("additional_destinations is for snapshot backups only, not dumps")
    return body


def source_query(source_project_id: str | None, source_addon_id: str | None) -> dict[str, str]:
    """The query naming another addon's backup to restore from: both ids, or neither."""
    if (source_project_id is None) != (source_addon_id is None):
        raise ValueError("give source_project_id and source_addon_id together, or neither")
    if source_project_id is None or source_addon_id is None:
        return {}
    for what, value in (
        ("source_project_id", source_project_id),
        ("source_addon_id", source_addon_id),
    ):
        if not isinstance(value, str) or not value or CONTROL.search(value):
            raise ValueError(f"{what} must be a non-empty id, got {value!r}")
    return {"sourceProjectId": source_project_id, "sourceAddonId": source_addon_id}
