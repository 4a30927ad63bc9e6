"""The backups family: the routes of an addon's backups and restores.

The list routes are :class:`ListEndpoint` s on the generic paginator; the routes of
one backup are path templates for ``Client.url``.
"""

from __future__ import annotations

import attrs

from ._models import Backup, BackupPage, Pagination, RateLimit, Restore, RestorePage
from ._pagination import ListEndpoint

__all__ = [
    "ABORT",
    "ABORT_RESTORE",
    "BACKUP",
    "BACKUPS",
    "DOWNLOAD_LINK",
    "RESTORE",
    "RESTORES",
    "RETAIN",
    "backup_ids",
    "backup_restores",
    "one_backup_ids",
]

_ADDON = "/projects/{project_id}/addons/{addon_id}"

#: ``GET`` (list) and ``POST`` (start one) ``/v1/projects/{projectId}/addons/{addonId}/backups``
BACKUPS: ListEndpoint[Backup, BackupPage] = ListEndpoint(
    _ADDON + "/backups", "backups", Backup, BackupPage
)
#: ``GET .../restores``: every restore of the addon.
RESTORES: ListEndpoint[Restore, RestorePage] = ListEndpoint(
    _ADDON + "/restores", "restores", Restore, RestorePage
)
#: ``GET`` and ``DELETE .../backups/{backupId}``
BACKUP = _ADDON + "/backups/{backup_id}"
ABORT = BACKUP + "/abort"
RETAIN = BACKUP + "/retain"
RESTORE = BACKUP + "/restore"
ABORT_RESTORE = BACKUP + "/abort-restore"
#: ``GET .../backups/{backupId}/download-link``: a temporary link to the backup's file.
DOWNLOAD_LINK = BACKUP + "/download-link"


def backup_restores(backup_id: str) -> ListEndpoint[Restore, RestorePage]:
    """``GET .../backups/{backupId}/restores``, each restore's ``backup_id`` filled in.

    The API leaves ``backupId`` out of these items, as the route names the backup.
    """

    def page(
        restores: list[Restore], pagination: Pagination, rate: RateLimit | None
    ) -> RestorePage:
        filled = [
            r if r.backup_id is not None else attrs.evolve(r, backup_id=backup_id) for r in restores
        ]
        return RestorePage(filled, pagination, rate)

    return ListEndpoint(BACKUP + "/restores", "restores", Restore, page)


def backup_ids(project_id: str, addon_id: str) -> dict[str, str]:
    """The path ids of an addon's backup routes."""
    return {"project_id": project_id, "addon_id": addon_id}


def one_backup_ids(project_id: str, addon_id: str, backup_id: str) -> dict[str, str]:
    """The path ids of one backup's routes (``Client.url`` checks each)."""
    return {"project_id": project_id, "addon_id": addon_id, "backup_id": backup_id}
