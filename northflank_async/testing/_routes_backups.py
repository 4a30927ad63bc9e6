"""The backups family: an addon's backups, listed, started, read, aborted, retained, deleted,
and the temporary download link of a completed one.

Every route is under ``/v1/projects/{projectId}/addons/{addonId}/backups`` (and its
team form). An unknown project or addon is 404 ``Addon <a> not found in project <p>``,
an unknown backup 404 ``Backup <b> not found``. The writes (POST, DELETE) answer
``{"data": ...}`` as the API does; how a backup moves on the clock is ``_lifecycle``'s.
A download link points to the mock's storage origin (``_storage``), which serves the bytes.
"""

from __future__ import annotations

from ._backup_body import new_backup_options
from ._http import ApiError, JSONDict
from ._lifecycle import (
    abort_backup,
    addon_or_404,
    backup_or_404,
    backup_view,
    create_backup,
    delete_backup,
)
from ._routes import Call, Routes
from ._store import Addon, BackupKey

routes = Routes()

_BACKUPS = "/projects/{projectId}/addons/{addonId}/backups"
_BACKUP = _BACKUPS + "/{backupId}"


def _addon(call: Call) -> Addon:
    return addon_or_404(call.store, call.params["projectId"], call.params["addonId"])


def _backup(call: Call) -> tuple[BackupKey, Addon, JSONDict]:
    addon = _addon(call)
    key = (call.params["projectId"], call.params["addonId"], call.params["backupId"])
    return key, addon, backup_or_404(addon, key[2])


@routes.get(_BACKUPS)
def list_backups(call: Call) -> JSONDict:
    """An addon's backups in the order added, paged by its page sizes; 404 if unknown."""
    project_id, addon_id = call.params["projectId"], call.params["addonId"]
    addon = call.store.addon(project_id, addon_id)
    if addon is None:
        raise ApiError(404, f"Addon {addon_id} not found in project {project_id}")
    key = ["backups", project_id, addon_id]
    return call.page("backups", key, addon.backups, addon.page_sizes)


@routes.post(_BACKUPS)
def start_backup(call: Call) -> JSONDict:
    """Start a backup: ``{"data": <the new backup>}``, ``scheduled``, at the end of the list.

    The body (optional keys ``name``, ``backupType``, ``compressionType``,
    ``customDestinationId``, ``additionalDestinations``) is checked as the API does:
    400 for a body that is not a JSON object, an unknown key, a bad value, or an
    option of the other backup type. The answer is the stored dict as it is now:
    ``id``, ``name``, ``status``, ``createdAt``, ``config{source{type}, size: "0",
    compressionType (dump), additionalDestinations (if given), addonVersion}``,
    ``customDestinationId`` (if given) and ``uid``; no ``completedAt`` yet.
    """
    addon = _addon(call)
    options = new_backup_options(call.body)
    backup = create_backup(
        call.store, call.params["projectId"], call.params["addonId"], addon, options
    )
    return {"data": backup}


@routes.get(_BACKUP)
def get_backup(call: Call) -> JSONDict:
    """One backup as of now; with ``lastRestore`` once a restore was started from it."""
    key, _, backup = _backup(call)
    return {"data": backup_view(call.store, key, backup)}


@routes.delete(_BACKUP)
def remove_backup(call: Call) -> JSONDict:
    """``{"data": {}}``; the backup is gone from then on (its GET, DELETE: 404).

    409 for a backup still ``scheduled``, ``in-progress`` or ``aborting`` (abort it and
    wait for ``aborted``), or one a restore is still running from.
    """
    key, addon, backup = _backup(call)
    delete_backup(call.store, key, addon, backup)
    return {"data": {}}


@routes.post(_BACKUP + "/abort")
def abort(call: Call) -> JSONDict:
    """``{"data": {}}`` for a ``scheduled`` or ``in-progress`` backup, now ``aborting``.

    It is ``aborted`` after the abort time of its lifecycle. Any other status (final,
    or already ``aborting``) is 409 ``Backup <id> is <status>: ...``.
    """
    key, _, backup = _backup(call)
    abort_backup(call.store, key, backup)
    return {"data": {}}


@routes.post(_BACKUP + "/retain")
def retain(call: Call) -> JSONDict:
    """``{"data": {}}``: keep the backup past any expiry (any status; sending it again is fine).

    The mark is not part of the backup's JSON; ``MockNorthflank.is_retained`` reads it.
    """
    key, _, _ = _backup(call)
    call.store.retained.add(key)
    return {"data": {}}


@routes.get(_BACKUP + "/download-link")
def download_link(call: Call) -> JSONDict:
    """``{"data": {"downloadLink": <a fresh signed URL on the mock's storage origin>}}``.

    The link is registered with the storage, with the backup's size as of now. 409 for
    a backup that is not ``completed``; 503 when the storage origin is not started
    (``mock.start()`` starts it; with ``make_app()``, ``mock.storage.start()`` does).
    """
    key, _, backup = _backup(call)
    status = backup.get("status")
    if status != "completed":
        raise ApiError(
            409, f"Backup {key[2]} is {status}: only a completed backup can be downloaded"
        )
    storage = call.storage
    if storage is None or not storage.started:
        raise ApiError(
            503,
            "the mock's storage origin is not started: mock.start() starts it, "
            "or call mock.storage.start() when serving mock.make_app() yourself",
        )
    date_ms = call.store.date_ms(call.store.clock())
    link = storage.issue_link(key[0], key[1], backup, date_ms=date_ms)
    return {"data": {"downloadLink": link}}
