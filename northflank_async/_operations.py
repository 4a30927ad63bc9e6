"""Acting on backups: start, abort, delete, retain and restore, each exactly once.

:class:`BackupOperations` is a part of ``NorthflankSession`` (it inherits these
methods). Every write goes through :func:`~._writes.write_once` with a ``settle`` that
reads back what the API holds (through :class:`~._backup_state.BackupState`, its base),
so a lost answer never makes a second backup or a second restore.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import aclosing

from ._backup_args import generated_name, new_backup_body, source_query
from ._backup_state import BackupState, check_restore_id
from ._backups import (
    ABORT,
    ABORT_RESTORE,
    BACKUP,
    BACKUPS,
    RESTORE,
    RETAIN,
    backup_ids,
    backup_restores,
    one_backup_ids,
)
from ._errors import (
    NotFoundError,
    ResponseValidationError,
    display_url,
)
from ._models import (
    AdditionalDestination,
    Backup,
    BackupType,
    CompressionType,
    Restore,
)
from ._wait import check_timeout
from ._writes import NOT_DONE, write_once

__all__ = ["BackupOperations"]

#: Statuses that say an abort is done or under way.
_ABORTED = frozenset({"aborting", "aborted"})
#: Lookups of a restore the API just started, a second apart, before giving up.
_NEW_RESTORE_LOOKUPS = 3


class BackupOperations(BackupState):
    """The calls that act on one backup and its restores.

    A part of [NorthflankSession][northflank_async.NorthflankSession], which inherits
    these methods (and those of its base, which read and wait): call them on the session.
    """

    # -- writes ---------------------------------------------------------------------------

    async def create_backup(
        self,
        project_id: str,
        addon_id: str,
        *,
        team_id: str | None = None,
        name: str | None = None,
        backup_type: BackupType | str | None = None,
        compression_type: CompressionType | str | None = None,
        custom_destination_id: str | None = None,
        additional_destinations: Sequence[AdditionalDestination] | None = None,
        wait: bool = False,
        timeout: float = 3600.0,  # noqa: ASYNC109 - it bounds the wait, not the request
    ) -> Backup:
        """Start a backup of an addon, exactly once; with ``wait``, return it completed.

        Arguments are checked before any request (``ValueError``). Without ``name``, the
        SDK names the backup itself (``backup <UTC date time> <random suffix>``) so that it
        can recognise it; with a name of yours, it first notes which backups already carry
        it (one walk of the addon's backups). Should the answer be lost (a dropped
        connection, a read timeout, a 5xx), the SDK looks for that backup before it ever
        sends the request again, so a retry never starts a second backup.

        With ``wait=True``, it waits up to ``timeout`` seconds for a final status, as
        ``wait_for_backup`` does.

        Example:

        ```python
        from northflank_async import BackupFailedError, WaitTimeoutError

        try:
            backup = await nf.create_backup(
                project_id, addon_id, name="before migration", wait=True, timeout=1800
            )
        except BackupFailedError as error:  # failed, aborted or not-supported
            print("no migration:", error)
        except WaitTimeoutError as error:  # the backup goes on; only the wait stopped
            print("not yet:", error.last.status)
        else:
            print(backup.id, backup.status, backup.config.size)  # completed
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param name: the backup's name: 3 to 39 letters and digits, in words joined by one
            ``-``, space, ``/`` or ``:``; None: the SDK names it itself.
        :param backup_type: ``"snapshot"`` (the API's default) or ``"dump"``
            ([BackupType][northflank_async.BackupType]).
        :param compression_type: a dump's compression, ``"gz"`` or ``"zstd"``
            ([CompressionType][northflank_async.CompressionType]); dumps only.
        :param custom_destination_id: the custom destination a dump is written to; dumps only.
        :param additional_destinations: further copies of a snapshot, each an
            [AdditionalDestination][northflank_async.AdditionalDestination] (kept 1 to 120
            days); snapshots only.
        :param wait: wait for a final status and return the backup completed.
        :param timeout: seconds the wait may last (a finite number > 0); used with ``wait``.
        :returns: the new [Backup][northflank_async.Backup] (``completed``, with ``wait``).
        :raises ValueError: a bad argument (name, type, an option of the other backup type,
            a retention outside 1 to 120 days, ``timeout``), before any request.
        :raises NotFoundError: no such project or addon (404).
        :raises BadRequestError: the API refused the backup's options (400).
        :raises BackupFailedError: with ``wait``: the backup ended ``failed``, ``aborted`` or
            ``not-supported``.
        :raises WaitTimeoutError: with ``wait``: no final status within ``timeout`` (the
            backup goes on).
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        body = new_backup_body(
            name=name,
            backup_type=backup_type,
            compression_type=compression_type,
            custom_destination_id=custom_destination_id,
            additional_destinations=additional_destinations,
        )
        _check_wait(wait, timeout)
        ids = backup_ids(project_id, addon_id)
        url = self._client.url(BACKUPS.route, ids, team_id)
        known: set[str] = set()
        if name is None:
            body["name"] = generated_name()
        else:
            async with aclosing(self._every(BACKUPS, ids, team_id)) as backups:
                known = {backup.id async for backup in backups if backup.name == name}

        async def settle() -> Backup | object:
            async with aclosing(self._every(BACKUPS, ids, team_id)) as backups:
                mine = [b async for b in backups if b.name == body["name"] and b.id not in known]
            return max(mine, key=lambda b: b.created_at) if mine else NOT_DONE

        outcome = await write_once(self._client.transport, "POST", url, json=body, settle=settle)
        backup = (
            outcome.data if outcome.settled else self._client.one(outcome.data, Backup, "POST", url)
        )
        assert isinstance(backup, Backup)
        if wait:
            return await self.wait_for_backup(
                project_id, addon_id, backup.id, team_id=team_id, timeout=timeout
            )
        return backup

    async def abort_backup(
        self, project_id: str, addon_id: str, backup_id: str, *, team_id: str | None = None
    ) -> None:
        """Abort a scheduled or running backup; a lost answer is settled by reading its status.

        The backup is ``aborting`` for a while, then ``aborted``: ``wait_for_backup`` with
        ``raise_on_failure=False`` sees it end.

        Example:

        ```python
        backup = await nf.create_backup(project_id, addon_id)
        await nf.abort_backup(project_id, addon_id, backup.id)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :raises ValueError: an id is empty or would change the route, before any request.
        :raises NotFoundError: no such project, addon or backup (404).
        :raises ConflictError: the backup is neither ``scheduled`` nor ``in-progress`` (409).
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        ids = one_backup_ids(project_id, addon_id, backup_id)
        url = self._client.url(ABORT, ids, team_id)

        async def settle() -> object:
            backup = await self.get_backup(project_id, addon_id, backup_id, team_id=team_id)
            return None if backup.status in _ABORTED else NOT_DONE

        await write_once(self._client.transport, "POST", url, settle=settle)

    async def delete_backup(
        self, project_id: str, addon_id: str, backup_id: str, *, team_id: str | None = None
    ) -> None:
        """Delete a backup; after a lost answer, a backup that is gone means it worked.

        Example:

        ```python
        failed = [b.id async for b in nf.list_backups(project_id, addon_id) if b.status == "failed"]
        for failed_id in failed:
            await nf.delete_backup(project_id, addon_id, failed_id)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :raises ValueError: an id is empty or would change the route, before any request.
        :raises NotFoundError: no such project, addon or backup (404).
        :raises ConflictError: the backup is still running, or a restore from it is (409):
            abort it and wait for ``aborted`` first.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        ids = one_backup_ids(project_id, addon_id, backup_id)
        url = self._client.url(BACKUP, ids, team_id)

        async def settle() -> object:
            try:
                await self.get_backup(project_id, addon_id, backup_id, team_id=team_id)
            except NotFoundError:
                return None
            return NOT_DONE

        await write_once(self._client.transport, "DELETE", url, settle=settle)

    async def retain_backup(
        self, project_id: str, addon_id: str, backup_id: str, *, team_id: str | None = None
    ) -> None:
        """Keep a backup a schedule made beyond its expiry (sending it twice does no harm).

        Example:

        ```python
        await nf.retain_backup(project_id, addon_id, backup_id)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :raises ValueError: an id is empty or would change the route, before any request.
        :raises NotFoundError: no such project, addon or backup (404).
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        ids = one_backup_ids(project_id, addon_id, backup_id)
        url = self._client.url(RETAIN, ids, team_id)
        await write_once(self._client.transport, "POST", url, settle=_send_again)

    # -- restores -------------------------------------------------------------------------

    async def restore_backup(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        *,
        team_id: str | None = None,
        source_project_id: str | None = None,
        source_addon_id: str | None = None,
        wait: bool = False,
        timeout: float = 3600.0,  # noqa: ASYNC109 - it bounds the wait, not the request
    ) -> Restore:
        """Restore the addon to a backup, exactly once; with ``wait``, return it completed.

        The addon named by ``project_id`` and ``addon_id`` is the one restored. The
        restores of the backup are noted first (one walk of a short list); should the
        answer be lost, a restore that was not there before is this one, and the request is
        never sent a second time.

        Example:

        ```python
        restore = await nf.restore_backup(project_id, addon_id, backup_id)
        print(restore.id, restore.status, restore.backup_id)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param source_project_id: with ``source_addon_id``: the project of the other addon
            whose backup ``backup_id`` is (a global backup); None: this addon's own.
        :param source_addon_id: the other addon whose backup ``backup_id`` is; given with
            ``source_project_id``, or not at all.
        :param wait: wait for a final status and return the restore completed.
        :param timeout: seconds the wait may last (a finite number > 0); used with ``wait``.
        :returns: the new [Restore][northflank_async.Restore] (``completed``, with ``wait``).
        :raises ValueError: a bad argument (an id, half of a source addon, ``timeout``),
            before any request.
        :raises NotFoundError: no such project, addon or backup (404).
        :raises ConflictError: the backup is not ``completed`` (409).
        :raises BackupFailedError: with ``wait``: the restore ended ``failed`` or ``aborted``.
        :raises WaitTimeoutError: with ``wait``: no final status within ``timeout`` (the
            restore goes on).
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        query = source_query(source_project_id, source_addon_id)
        _check_wait(wait, timeout)
        ids = one_backup_ids(project_id, addon_id, backup_id)
        url = self._client.url(RESTORE, ids, team_id).with_query(query)
        restores = backup_restores(backup_id)
        async with aclosing(self._every(restores, ids, team_id, query)) as before:
            known = {restore.id async for restore in before}

        async def settle() -> Restore | object:
            async with aclosing(self._every(restores, ids, team_id, query)) as after:
                new = [restore async for restore in after if restore.id not in known]
            return max(new, key=lambda r: r.restore_timestamp) if new else NOT_DONE

        outcome = await write_once(self._client.transport, "POST", url, settle=settle)
        if outcome.settled:
            restore = outcome.data
        else:
            restore_id = self._client.data(outcome.data, "POST", url).get("restoreId")
            if not isinstance(restore_id, str) or not restore_id:
                raise ResponseValidationError(
                    f"POST {display_url(url)}: the answer has no restoreId",
                    url=str(url),
                    path="data.restoreId",
                )
            restore = await self._find_restore(
                ids, restore_id, team_id, query, tries=_NEW_RESTORE_LOOKUPS
            )
        assert isinstance(restore, Restore)
        if wait:
            return await self.wait_for_restore(
                project_id,
                addon_id,
                backup_id,
                restore.id,
                team_id=team_id,
                source_project_id=source_project_id,
                source_addon_id=source_addon_id,
                timeout=timeout,
            )
        return restore

    async def abort_restore(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        restore_id: str,
        *,
        team_id: str | None = None,
        source_project_id: str | None = None,
        source_addon_id: str | None = None,
    ) -> None:
        """Abort a running restore; a lost answer is settled by reading its status.

        Example:

        ```python
        restore = await nf.restore_backup(project_id, addon_id, backup_id)
        await nf.abort_restore(project_id, addon_id, backup_id, restore.id)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param restore_id: the restore's id (``Restore.id``).
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param source_project_id: with ``source_addon_id``: the project of the other addon
            whose backup ``backup_id`` is (a global backup); None: this addon's own.
        :param source_addon_id: the other addon whose backup ``backup_id`` is; given with
            ``source_project_id``, or not at all.
        :raises ValueError: a bad argument, before any request.
        :raises NotFoundError: no such project, addon, backup or restore (404).
        :raises ConflictError: the restore is neither ``scheduled`` nor ``in-progress`` (409).
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        check_restore_id(restore_id)
        query = source_query(source_project_id, source_addon_id)
        ids = one_backup_ids(project_id, addon_id, backup_id)
        url = self._client.url(ABORT_RESTORE, ids, team_id).with_query(query)

        async def settle() -> object:
            restore = await self._find_restore(ids, restore_id, team_id, query)
            return None if restore.status in _ABORTED else NOT_DONE

        body = {"restoreId": restore_id}
        await write_once(self._client.transport, "POST", url, json=body, settle=settle)


async def _send_again() -> object:
    """The settle of a write that may be repeated: nothing to look up."""
    return NOT_DONE


def _check_wait(wait: object, timeout: float) -> None:
    if not isinstance(wait, bool):
        raise ValueError(f"wait must be True or False, got {wait!r}")
    check_timeout(timeout)
