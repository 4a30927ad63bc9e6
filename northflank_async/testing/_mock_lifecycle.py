"""MockNorthflank's controls of backups and restores in motion (a part of the mock).

``LifecycleControls`` is a base of ``MockNorthflank``: how long each phase of a new
backup or restore lasts and how it ends, making one fail, and reading the mock-side
state the API does not serve (restores, retained marks).
"""

from __future__ import annotations

from typing import Any

from ._lifecycle import set_outcome
from ._store import BackupLifecycle, Outcome, RunKey, Store


class LifecycleControls:
    """How backups and restores the API starts move on the mock's clock, and their state."""

    _store: Store

    @property
    def backup_lifecycle(self) -> BackupLifecycle:
        """The lifecycle of backups and restores started from now on (see ``set_backup_lifecycle``)."""
        return self._store.lifecycle

    def set_backup_lifecycle(
        self,
        *,
        scheduled: float | None = None,
        in_progress: float | None = None,
        outcome: Outcome | None = None,
        abort: float | None = None,
    ) -> BackupLifecycle:
        """Set how backups and restores started from now on move; return the new lifecycle.

        A backup (``POST .../backups``) or restore (``POST .../restore``) is
        ``scheduled`` for ``scheduled`` seconds on the mock's clock, ``in-progress``
        for ``in_progress`` seconds, then ends ``outcome`` (``"completed"`` or
        ``"failed"``); an abort keeps it ``aborting`` for ``abort`` seconds, then
        ``aborted``. Defaults: ``scheduled=1.0``, ``in_progress=3.0``,
        ``outcome="completed"``, ``abort=1.0`` (short, so a demo on real time moves).
        Arguments left ``None`` keep their value; those already started keep theirs.
        Raises ``ValueError`` for a negative or non-finite time or another outcome.
        """
        current = self._store.lifecycle
        self._store.lifecycle = BackupLifecycle(
            scheduled=current.scheduled if scheduled is None else scheduled,
            in_progress=current.in_progress if in_progress is None else in_progress,
            outcome=current.outcome if outcome is None else outcome,
            abort=current.abort if abort is None else abort,
        )
        return self._store.lifecycle

    def fail_backup(self, project_id: str, addon_id: str, backup_id: str) -> None:
        """Make a ``scheduled`` or ``in-progress`` backup the API started end ``failed``.

        It fails when it would have completed (and still can be aborted before).
        ``ValueError`` for an unknown backup, one that has ended or is ``aborting``,
        or one added or generated rather than started by ``POST .../backups`` (those
        do not move); ``KeyError`` for an unknown project or addon.
        """
        self._store.apply_due()
        key: RunKey = ("backup", project_id, addon_id, backup_id)
        set_outcome(self._store, key, "failed")

    def fail_restore(self, project_id: str, addon_id: str, restore_id: str) -> None:
        """Make a ``scheduled`` or ``in-progress`` restore into this addon end ``failed``.

        As ``fail_backup``; ``project_id``/``addon_id`` name the addon restored.
        """
        self._store.apply_due()
        key: RunKey = ("restore", project_id, addon_id, restore_id)
        set_outcome(self._store, key, "failed")

    def restores(self, project_id: str, addon_id: str) -> list[dict[str, Any]]:
        """The restores into the addon, oldest first, as of the clock (the stored dicts).

        Each is ``{"id", "status", "restoreTimestamp", "completedAt"?, "backupId"}``.
        Raises ``KeyError`` for an unknown project or addon.
        """
        self._store.apply_due()
        return list(self._store.projects[project_id].addons[addon_id].restores)

    def is_retained(self, project_id: str, addon_id: str, backup_id: str) -> bool:
        """Whether ``POST .../retain`` marked this backup (deleting it drops the mark).

        The mark is kept by the mock, not in the backup's JSON: the API does not show it.
        """
        return (project_id, addon_id, backup_id) in self._store.retained
