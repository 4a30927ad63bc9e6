"""The backups family: an addon's backups, listed page by page."""

from __future__ import annotations

from ._models import Backup, BackupPage
from ._pagination import ListEndpoint

__all__ = ["BACKUPS", "backup_ids"]

#: ``GET /v1/projects/{projectId}/addons/{addonId}/backups``
BACKUPS: ListEndpoint[Backup, BackupPage] = ListEndpoint(
    "/projects/{project_id}/addons/{addon_id}/backups", "backups", Backup, BackupPage
)


def backup_ids(project_id: str, addon_id: str) -> dict[str, str]:
    """The path ids of an addon's backup routes."""
    return {"project_id": project_id, "addon_id": addon_id}
