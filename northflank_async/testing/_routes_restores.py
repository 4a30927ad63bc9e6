"""The restores family: restoring an addon from a backup, aborting it, listing restores.

The routes of one backup (``.../addons/{addonId}/backups/{backupId}/restore``,
``/abort-restore``, ``/restores``) find the backup in the path's addon, or, with the
query ``sourceProjectId`` and ``sourceAddonId`` (both or neither: 400 otherwise), in
that other addon (a global backup). The path's addon is the one restored. A restore
moves on the clock as a backup does (see ``_lifecycle``).
"""

from __future__ import annotations

from ._backup_body import restore_id
from ._http import ApiError, JSONDict
from ._lifecycle import abort_restore, addon_or_404, backup_or_404, start_restore
from ._routes import Call, Routes
from ._store import Addon, BackupKey

routes = Routes()

_ADDON = "/projects/{projectId}/addons/{addonId}"
_BACKUP = _ADDON + "/backups/{backupId}"


def _source(call: Call) -> tuple[Addon, BackupKey, JSONDict]:
    """(the path's addon, the backup's key, the backup), by the path and the source query."""
    project_id, addon_id = call.params["projectId"], call.params["addonId"]
    target = addon_or_404(call.store, project_id, addon_id)
    query = call.record.query
    source_project, source_addon = query.get("sourceProjectId"), query.get("sourceAddonId")
    if (source_project is None) != (source_addon is None):
        given, missing = (
            ("sourceProjectId", "sourceAddonId")
            if source_addon is None
            else ("sourceAddonId", "sourceProjectId")
        )
        reason = f"goes with {given}: give both or neither"
        raise ApiError(400, f"{missing} {reason}", {"parameter": missing, "reason": reason})
    for name, value in (("sourceProjectId", source_project), ("sourceAddonId", source_addon)):
        if value == "":
            reason = "must not be empty"
            raise ApiError(400, f"{name} {reason}", {"parameter": name, "reason": reason})
    if source_project is None or source_addon is None:
        source_project, source_addon, holder = project_id, addon_id, target
    else:
        holder = addon_or_404(call.store, source_project, source_addon)
    key = (source_project, source_addon, call.params["backupId"])
    return target, key, backup_or_404(holder, key[2])


def _without_backup_id(restore: JSONDict) -> JSONDict:
    return {name: value for name, value in restore.items() if name != "backupId"}


@routes.post(_BACKUP + "/restore")
def restore(call: Call) -> JSONDict:
    """Restore the path's addon from a ``completed`` backup: ``{"data": {"restoreId"}}``.

    Any other status of the backup is 409. The restore is ``scheduled`` now and
    becomes the backup's ``lastRestore``.
    """
    target, key, backup = _source(call)
    started = start_restore(
        call.store, call.params["projectId"], call.params["addonId"], target, key, backup
    )
    return {"data": {"restoreId": started["id"]}}


@routes.post(_BACKUP + "/abort-restore")
def abort(call: Call) -> JSONDict:
    """Abort a restore of this backup (body ``{"restoreId"}``): ``{"data": {}}``, ``aborting``.

    A body without a ``restoreId`` string is 400; a restore that is not one of this
    backup's into the path's addon is 404; one that is not ``scheduled`` or
    ``in-progress`` is 409 saying its status. It is ``aborted`` after the abort time.
    """
    target, key, _ = _source(call)
    wanted = restore_id(call.body)
    for found in target.restores:
        if found["id"] == wanted and found.get("backupId") == key[2]:
            abort_restore(call.store, call.params["projectId"], call.params["addonId"], found)
            return {"data": {}}
    raise ApiError(404, f"Restore {wanted} of backup {key[2]} not found")


@routes.get(_BACKUP + "/restores")
def list_backup_restores(call: Call) -> JSONDict:
    """Every restore from this backup (into any addon), oldest first, paginated.

    Items are ``{"id", "status", "restoreTimestamp", "completedAt"?}`` (the route
    names the backup, so no ``backupId``); ``per_page``, ``page`` and ``cursor`` as on
    the backup list.
    """
    _, key, _ = _source(call)
    items = [_without_backup_id(r) for r in call.store.restores_of.get(key, ())]
    return call.page("restores", ["restores", *key], items)


@routes.get(_ADDON + "/restores")
def list_addon_restores(call: Call) -> JSONDict:
    """Every restore into this addon, oldest first, each with its ``backupId``, paginated."""
    project_id, addon_id = call.params["projectId"], call.params["addonId"]
    target = addon_or_404(call.store, project_id, addon_id)
    return call.page("restores", ["restores", project_id, addon_id], target.restores)
