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
    """How backups and restores the API starts move on the mock's clock, and their state.

    A part of [MockNorthflank][northflank_async.testing.MockNorthflank], which inherits
    these methods.
    """

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

        A backup (``POST .../backups``) or restore (``POST .../restore``) is ``scheduled``
        for ``scheduled`` seconds on the mock's clock, ``in-progress`` for ``in_progress``
        seconds, then ends ``outcome``; an abort keeps it ``aborting`` for ``abort`` seconds,
        then ``aborted``. Defaults: ``scheduled=1.0``, ``in_progress=3.0``,
        ``outcome="completed"``, ``abort=1.0`` (short, so a demo on real time moves).
        Arguments left None keep their value; runs already started keep theirs.

        Example:

        ```python
        mock.set_backup_lifecycle(scheduled=0.1, in_progress=0.2, outcome="failed")
        backup = await nf.create_backup(project_id, addon_id)
        done = await nf.wait_for_backup(project_id, addon_id, backup.id, raise_on_failure=False)
        print(done.status)  # failed
        mock.set_backup_lifecycle(outcome="completed")
        ```

        :param scheduled: seconds a new run stays ``scheduled``.
        :param in_progress: seconds it then stays ``in-progress``.
        :param outcome: how it ends: ``"completed"`` or ``"failed"``.
        :param abort: seconds an aborted run stays ``aborting`` before ``aborted``.
        :returns: the [BackupLifecycle][northflank_async.testing.BackupLifecycle] now in force.
        :raises ValueError: a negative or non-finite time, or another outcome.
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

        It fails when it would have completed (and can still be aborted before).

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the id of a backup started by ``POST .../backups``.
        :raises ValueError: an unknown backup, one that has ended or is ``aborting``, or one
            added or generated rather than started by ``POST .../backups`` (those do not move).
        :raises KeyError: an unknown project or addon.
        """
        self._store.apply_due()
        key: RunKey = ("backup", project_id, addon_id, backup_id)
        set_outcome(self._store, key, "failed")

    def fail_restore(self, project_id: str, addon_id: str, restore_id: str) -> None:
        """Make a ``scheduled`` or ``in-progress`` restore into this addon end ``failed``.

        As ``fail_backup``; ``project_id`` and ``addon_id`` name the addon restored.

        :param project_id: the project of the addon restored.
        :param addon_id: the addon restored.
        :param restore_id: the restore's id.
        :raises ValueError: an unknown restore, or one that has ended or is ``aborting``.
        :raises KeyError: an unknown project or addon.
        """
        self._store.apply_due()
        key: RunKey = ("restore", project_id, addon_id, restore_id)
        set_outcome(self._store, key, "failed")

    def restores(self, project_id: str, addon_id: str) -> list[dict[str, Any]]:
        """The restores into the addon, oldest first, as of the clock (the stored dicts).

        Each is ``{"id", "status", "restoreTimestamp", "completedAt"?, "backupId"}``.

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :returns: the restores' JSON dicts.
        :raises KeyError: an unknown project or addon.
        """
        self._store.apply_due()
        return list(self._store.projects[project_id].addons[addon_id].restores)

    def is_retained(self, project_id: str, addon_id: str, backup_id: str) -> bool:
        """Whether ``POST .../retain`` marked this backup (deleting it drops the mark).

        The mark is kept by the mock, not in the backup's JSON: the API does not show it.

        Example:

        ```python
        await nf.retain_backup(project_id, addon_id, backup_id)
        assert mock.is_retained(project_id, addon_id, backup_id)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :returns: True once the backup was retained.
        """
        return (project_id, addon_id, backup_id) in self._store.retained
