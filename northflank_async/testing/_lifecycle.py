"""The rules of backups and restores the API starts, on the mock's clock.

A backup started by ``POST .../backups`` and a restore started by ``POST
.../restore`` move on the store's timeline, by the ``BackupLifecycle`` in force when
they started: ``scheduled`` -> ``in-progress`` -> ``completed`` (or ``failed``);
an abort of a ``scheduled`` or ``in-progress`` one makes it ``aborting``, then
``aborted``. Each step is a timed change that acts only when the item is still in
the status it expects, so an abort (or a test changing a status by hand) simply
makes the later steps of the old plan do nothing. Reaching a final status sets
``completedAt`` (the date of that step on the clock); a completed backup gets a
non-zero ``config.size``. Backups added by ``add_backups``/``generate_backups``
never move on their own (``schedule`` changes them), though they can be aborted,
deleted, retained and restored by the same rules.

Dates are ``Store.date_ms`` of the clock reading. A new backup's ``createdAt`` is
at least an hour after the generated history of its addon (every date moves forward
to make it so), so an addon's backups stay in ``createdAt`` order.
"""

from __future__ import annotations

from typing import Final

from ._data import backup_size, latest_addon_version
from ._http import ApiError, JSONDict
from ._store import Addon, BackupKey, Outcome, Run, RunKey, Store

ABORTABLE: Final = frozenset({"scheduled", "in-progress"})
"""Statuses an abort accepts."""
UNDER_WAY: Final = frozenset({"scheduled", "in-progress", "aborting"})
"""Statuses that are not final."""
_HOUR_MS: Final = 3_600_000


def addon_or_404(store: Store, project_id: str, addon_id: str) -> Addon:
    """The addon, or the API's 404 naming it."""
    addon = store.addon(project_id, addon_id)
    if addon is None:
        raise ApiError(404, f"Addon {addon_id} not found in project {project_id}")
    return addon


def backup_or_404(addon: Addon, backup_id: str) -> JSONDict:
    """The addon's backup ``backup_id``, or the API's 404 naming it."""
    for backup in addon.backups:
        if backup.get("id") == backup_id:
            return backup
    raise ApiError(404, f"Backup {backup_id} not found")


def _put_after(item: JSONDict, after: str, key: str, value: object) -> None:
    """Set ``item[key]``, placing a new key right after ``after`` (the API's key order)."""
    if key in item or after not in item:
        item[key] = value
        return
    entries = list(item.items())
    item.clear()
    for name, old in entries:
        item[name] = old
        if name == after:
            item[key] = value


def _finish(store: Store, key: RunKey, item: JSONDict, status: str, when: float) -> None:
    item["status"] = status
    after = "createdAt" if key[0] == "backup" else "restoreTimestamp"
    _put_after(item, after, "completedAt", store.iso(when))
    config = item.get("config")
    if key[0] == "backup" and status == "completed" and isinstance(config, dict):
        config["size"] = str(backup_size(str(store.seed), *key))
    store.runs.pop(key, None)


def _start(store: Store, key: RunKey, item: JSONDict) -> None:
    """Put a new ``scheduled`` item on the timeline by the lifecycle in force."""
    lifecycle = store.lifecycle
    run = Run(item, lifecycle, lifecycle.outcome)
    store.runs[key] = run
    begins = store.clock() + lifecycle.scheduled
    ends = begins + lifecycle.in_progress

    def begin() -> None:
        if item.get("status") == "scheduled":
            item["status"] = "in-progress"

    def end() -> None:
        if item.get("status") == "in-progress":
            _finish(store, key, item, run.outcome, ends)

    store.at(begins, begin)
    store.at(ends, end)


def _abort(store: Store, key: RunKey, item: JSONDict, what: str) -> None:
    """``aborting`` now, ``aborted`` after the run's abort time; 409 unless abortable."""
    status = item.get("status")
    if status not in ABORTABLE:
        raise ApiError(
            409, f"{what} is {status}: only a scheduled or in-progress one can be aborted"
        )
    run = store.runs.get(key)
    lifecycle = run.lifecycle if run is not None else store.lifecycle
    item["status"] = "aborting"
    done = store.clock() + lifecycle.abort

    def aborted() -> None:
        if item.get("status") == "aborting":
            _finish(store, key, item, "aborted", done)

    store.at(done, aborted)


def set_outcome(store: Store, key: RunKey, outcome: Outcome) -> None:
    """Make a running backup or restore the API started end ``outcome``; ValueError if it can't.

    ``key`` names it; its project and addon must exist (``KeyError`` otherwise).
    """
    kind, project_id, addon_id, item_id = key
    addon = store.projects[project_id].addons[addon_id]
    items = addon.backups if kind == "backup" else addon.restores
    item = next((found for found in items if found.get("id") == item_id), None)
    what = f"{kind} {item_id}"
    if item is None:
        raise ValueError(f"{what} not found in addon {addon_id} of project {project_id}")
    run = store.runs.get(key)
    status = item.get("status")
    if status not in ABORTABLE:
        raise ValueError(f"{what} is {status}: only a scheduled or in-progress one can fail")
    if run is None or run.item is not item:
        raise ValueError(f"{what} was not started by the API: it does not move on the clock")
    run.outcome = outcome


# ----------------------------------------------------------------------- backups


def create_backup(
    store: Store, project_id: str, addon_id: str, addon: Addon, options: JSONDict
) -> JSONDict:
    """Start a backup by checked ``options`` (``new_backup_options``); return its dict.

    Without a name, it is ``Backup <date> <time>`` of its ``createdAt`` (UTC). A
    snapshot's source is ``snapshot``; a dump's is ``liveInstance`` (a dump of the
    running database), compressed ``gz`` unless told. ``addonVersion`` is that of the
    addon's newest backup carrying one, else the newest for its type.
    """
    if addon.sequence is not None:
        store.not_before(addon.sequence.last_ms + _HOUR_MS)
    created = store.iso(store.clock())
    backup_id, uid = store.new_id("backup", project_id, addon_id)
    kind = options["backupType"]
    config: JSONDict = {"source": {"type": "snapshot" if kind == "snapshot" else "liveInstance"}}
    config["size"] = "0"
    if kind == "dump":
        config["compressionType"] = options.get("compressionType", "gz")
    if "additionalDestinations" in options:
        config["additionalDestinations"] = options["additionalDestinations"]
    config["addonVersion"] = _addon_version(addon)
    backup: JSONDict = {
        "id": backup_id,
        "name": options.get("name") or f"Backup {created[:10]} {created[11:19]}",
        "status": "scheduled",
        "createdAt": created,
        "config": config,
    }
    if "customDestinationId" in options:
        backup["customDestinationId"] = options["customDestinationId"]
    backup["uid"] = uid
    addon.backups.append(backup)
    _start(store, ("backup", project_id, addon_id, backup_id), backup)
    return backup


def _addon_version(addon: Addon) -> str:
    for backup in reversed(addon.backups):
        config = backup.get("config")
        version = config.get("addonVersion") if isinstance(config, dict) else None
        if isinstance(version, str):
            return version
    spec = addon.data.get("spec")
    return latest_addon_version(spec.get("type") if isinstance(spec, dict) else None)


def backup_view(store: Store, key: BackupKey, backup: JSONDict) -> JSONDict:
    """The answer of ``GET .../backups/{id}``: the backup, plus ``lastRestore`` once restored.

    ``lastRestore`` is ``{"restoreTimestamp", "status", "completedAt"?}`` of the latest
    restore started from this backup (into any addon), as of now.
    """
    restores = store.restores_of.get(key)
    if not restores:
        return backup
    latest = restores[-1]
    last: JSONDict = {"restoreTimestamp": latest["restoreTimestamp"], "status": latest["status"]}
    if "completedAt" in latest:
        last["completedAt"] = latest["completedAt"]
    return {**backup, "lastRestore": last}


def abort_backup(store: Store, key: BackupKey, backup: JSONDict) -> None:
    """Abort a ``scheduled`` or ``in-progress`` backup; 409 saying its status otherwise."""
    _abort(store, ("backup", *key), backup, f"Backup {key[2]}")


def delete_backup(store: Store, key: BackupKey, addon: Addon, backup: JSONDict) -> None:
    """Delete a backup that is neither under way nor being restored; 409 otherwise.

    A ``scheduled``, ``in-progress`` or ``aborting`` backup must be aborted and reach
    ``aborted`` first, and a restore from it must have ended. Its restores stay in the
    restore lists of the addons they went into; its retained mark goes.
    """
    status = backup.get("status")
    if status in UNDER_WAY:
        raise ApiError(
            409,
            f"Backup {key[2]} is {status}: abort it and wait until it is aborted "
            "before deleting it",
        )
    for restore in store.restores_of.get(key, ()):
        if restore.get("status") in UNDER_WAY:
            raise ApiError(
                409,
                f"Backup {key[2]} is being restored (restore {restore['id']} is "
                f"{restore['status']}): wait until the restore has ended before deleting it",
            )
    addon.backups[:] = [b for b in addon.backups if b is not backup]
    store.retained.discard(key)
    store.restores_of.pop(key, None)


# ---------------------------------------------------------------------- restores


def start_restore(
    store: Store, project_id: str, addon_id: str, target: Addon, source: BackupKey, backup: JSONDict
) -> JSONDict:
    """Restore addon ``addon_id`` from the ``completed`` backup ``source``; 409 otherwise.

    The restore (``{"id", "status", "restoreTimestamp", "backupId"}``, ``completedAt``
    added once it ends) joins the target addon's restores and the backup's.
    Restores are not refused while another one runs (the API does not say it would).
    """
    status = backup.get("status")
    if status != "completed":
        raise ApiError(
            409, f"Backup {source[2]} is {status}: only a completed backup can be restored"
        )
    restore_id, _ = store.new_id("restore", project_id, addon_id)
    restore: JSONDict = {
        "id": restore_id,
        "status": "scheduled",
        "restoreTimestamp": store.iso(store.clock()),
        "backupId": source[2],
    }
    target.restores.append(restore)
    store.restores_of.setdefault(source, []).append(restore)
    _start(store, ("restore", project_id, addon_id, restore_id), restore)
    return restore


def abort_restore(store: Store, project_id: str, addon_id: str, restore: JSONDict) -> None:
    """Abort a ``scheduled`` or ``in-progress`` restore; 409 saying its status otherwise."""
    key: RunKey = ("restore", project_id, addon_id, restore["id"])
    _abort(store, key, restore, f"Restore {restore['id']}")
