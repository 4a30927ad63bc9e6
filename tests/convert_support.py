"""The API reference's example backup and small variations of it, for the converter tests."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from northflank_async import (
    AdditionalDestination,
    Backup,
    BackupConfig,
    BackupSource,
    BackupSourceType,
    BackupStatus,
    CompressionType,
    DestinationType,
)

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


def seed(**changes: Any) -> dict[str, Any]:
    """A copy of the example backup with ``changes`` to its top-level keys."""
    data = copy.deepcopy(SEED_BACKUP)
    data.update(changes)
    return data


def seed_config(**changes: Any) -> dict[str, Any]:
    """A copy of the example backup with ``changes`` to its ``config``."""
    data = copy.deepcopy(SEED_BACKUP)
    data["config"].update(changes)
    return data
