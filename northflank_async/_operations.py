"""Acting on backups: read one, start, abort, delete, retain and restore, and wait.

:class:`BackupOperations` is a part of ``NorthflankSession`` (it inherits these
methods). Every write goes through :func:`~._writes.write_once` with a ``settle`` that
reads back what the API holds, so a lost answer never makes a second backup or a second
restore; every wait goes through :mod:`._wait`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Mapping, Sequence
from contextlib import aclosing
from typing import Any, TypeVar

from ._backup_args import generated_name, new_backup_body, source_query
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
from ._client import Client
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
from ._pagination import ListEndpoint, PageQuery
from ._wait import check_timeout, settled, watch
from ._writes import NOT_DONE, write_once

__all__ = ["BackupOperations"]

T = TypeVar("T")

#: Statuses that say an abort is done or under way.
_ABORTED = frozenset({"aborting", "aborted"})
#: Lookups of a restore the API just started, a second apart, before giving up.
_NEW_RESTORE_LOOKUPS = 3


class BackupOperations:
    """The calls that act on one backup, its restores, and the waits for them."""

    _client: Client

    # -- helpers --------------------------------------------------------------------------

    def _every(
        self,
        endpoint: ListEndpoint[T, Any],
        ids: Mapping[str, str],
        team_id: str | None,
        query: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[T, None]:
        """Every item of a list route, page after page (``query``: the route's filters)."""
        extra = tuple((query or {}).items())
        return self._client.items(
            endpoint, ids, team_id, PageQuery(extra=extra), prefetch=True, max_items=None
        )

    async def _find_restore(
        self,
        ids: Mapping[str, str],
        restore_id: str,
        team_id: str | None,
        source: Mapping[str, str],
        *,
        tries: int = 1,
    ) -> Restore:
        """The restore ``restore_id`` among its backup's restores; NotFoundError if absent.

        ``source`` is the query naming another addon whose backup it is (or empty);
        with ``tries``, a restore the API just started is looked for again, a second apart.
        """
        endpoint = backup_restores(ids["backup_id"])
        url = self._client.url(endpoint.route, ids, team_id).with_query(source)
        for attempt in range(tries):
            if attempt:
                await self._client.transport.sleep(1.0, "GET", url)
            async with aclosing(self._every(endpoint, ids, team_id, source)) as restores:
                async for restore in restores:
                    if restore.id == restore_id:
                        return restore
        raise NotFoundError(
            f"restore {restore_id} is not among the restores of backup {ids['backup_id']}",
            status=404,
            url=str(url),
        )

    # -- one backup -----------------------------------------------------------------------

    async def get_backup(
        self, project_id: str, addon_id: str, backup_id: str, *, team_id: str | None = None
    ) -> Backup:
        """One backup, with ``last_restore`` when it was ever restored."""
        url = self._client.url(BACKUP, one_backup_ids(project_id, addon_id, backup_id), team_id)
        data, _ = await self._client.transport.get_json(url)
        return self._client.one(data, Backup, "GET", url)

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
        SDK names the backup itself (``backup <UTC date time> <random suffix>``) so that
        it can recognise it; with a name of yours, it first notes which backups already
        carry it (one walk of the addon's backups). Should the answer be lost, the SDK
        looks for that backup before it ever sends the request again.

        With ``wait=True``, waits up to ``timeout`` seconds for a final status, as
        :meth:`wait_for_backup` does (``BackupFailedError``, ``WaitTimeoutError``).
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
        """Abort a scheduled or running backup; a lost answer is settled by reading its status."""
        ids = one_backup_ids(project_id, addon_id, backup_id)
        url = self._client.url(ABORT, ids, team_id)

        async def settle() -> object:
            backup = await self.get_backup(project_id, addon_id, backup_id, team_id=team_id)
            return None if backup.status in _ABORTED else NOT_DONE

        await write_once(self._client.transport, "POST", url, settle=settle)

    async def delete_backup(
        self, project_id: str, addon_id: str, backup_id: str, *, team_id: str | None = None
    ) -> None:
        """Delete a backup; after a lost answer, a backup that is gone means it worked."""
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
        """Keep a backup a schedule made beyond its expiry (sending it twice does no harm)."""
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

        ``source_project_id`` and ``source_addon_id`` name another addon whose backup
        ``backup_id`` is (a global backup). The restores of the backup are noted first
        (one walk of a short list); should the answer be lost, a restore that was not
        there before is this one, and the request is never sent a second time.
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
        """Abort a running restore; a lost answer is settled by reading its status."""
        _check_restore_id(restore_id)
        query = source_query(source_project_id, source_addon_id)
        ids = one_backup_ids(project_id, addon_id, backup_id)
        url = self._client.url(ABORT_RESTORE, ids, team_id).with_query(query)

        async def settle() -> object:
            restore = await self._find_restore(ids, restore_id, team_id, query)
            return None if restore.status in _ABORTED else NOT_DONE

        body = {"restoreId": restore_id}
        await write_once(self._client.transport, "POST", url, json=body, settle=settle)

    # -- waiting --------------------------------------------------------------------------

    def watch_backup(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        *,
        team_id: str | None = None,
        timeout: float = 3600.0,
    ) -> AsyncGenerator[Backup, None]:
        """The backup each time its status changes (the first state too), until a final one.

        Polls ``get_backup`` about 2 s after the start, then at intervals growing to
        about 30 s. Past ``timeout`` seconds, ``WaitTimeoutError`` carrying the last
        state. A final status ends the walk; it never raises for ``failed``.
        """
        check_timeout(timeout)
        ids = one_backup_ids(project_id, addon_id, backup_id)
        url = self._client.url(BACKUP, ids, team_id)

        def fetch() -> Awaitable[Backup]:
            return self.get_backup(project_id, addon_id, backup_id, team_id=team_id)

        what = f"backup {backup_id}"
        return watch(self._client.transport, fetch, timeout=timeout, what=what, url=url)

    def watch_restore(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        restore_id: str,
        *,
        team_id: str | None = None,
        source_project_id: str | None = None,
        source_addon_id: str | None = None,
        timeout: float = 3600.0,
    ) -> AsyncGenerator[Restore, None]:
        """The restore each time its status changes, until a final one (as ``watch_backup``).

        Each poll walks the backup's restores (a short list) for this one.
        """
        _check_restore_id(restore_id)
        check_timeout(timeout)
        query = source_query(source_project_id, source_addon_id)
        ids = one_backup_ids(project_id, addon_id, backup_id)
        url = self._client.url(backup_restores(backup_id).route, ids, team_id).with_query(query)

        def fetch() -> Awaitable[Restore]:
            return self._find_restore(ids, restore_id, team_id, query)

        what = f"restore {restore_id} of backup {backup_id}"
        return watch(self._client.transport, fetch, timeout=timeout, what=what, url=url)

    async def wait_for_backup(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        *,
        team_id: str | None = None,
        timeout: float = 3600.0,  # noqa: ASYNC109 - the error carries the last state seen
        raise_on_failure: bool = True,
    ) -> Backup:
        """Wait for a final status and return the backup.

        ``failed``, ``aborted`` or ``not-supported`` raise ``BackupFailedError`` (with
        ``.backup``) unless ``raise_on_failure=False``; past ``timeout`` seconds,
        ``WaitTimeoutError`` (with ``.last``). Cancelling the task stops the polling.
        """
        states = self.watch_backup(
            project_id, addon_id, backup_id, team_id=team_id, timeout=timeout
        )
        what = f"backup {backup_id}"
        return await settled(states, what=what, raise_on_failure=raise_on_failure, restore=False)

    async def wait_for_restore(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        restore_id: str,
        *,
        team_id: str | None = None,
        source_project_id: str | None = None,
        source_addon_id: str | None = None,
        timeout: float = 3600.0,  # noqa: ASYNC109 - the error carries the last state seen
        raise_on_failure: bool = True,
    ) -> Restore:
        """Wait for a restore's final status, as :meth:`wait_for_backup` (``.restore``)."""
        states = self.watch_restore(
            project_id,
            addon_id,
            backup_id,
            restore_id,
            team_id=team_id,
            source_project_id=source_project_id,
            source_addon_id=source_addon_id,
            timeout=timeout,
        )
        what = f"restore {restore_id} of backup {backup_id}"
        return await settled(states, what=what, raise_on_failure=raise_on_failure, restore=True)


async def _send_again() -> object:
    """The settle of a write that may be repeated: nothing to look up."""
    return NOT_DONE


def _check_restore_id(restore_id: object) -> None:
    if not isinstance(restore_id, str) or not restore_id:
        raise ValueError(f"restore_id must be a non-empty string, got {restore_id!r}")


def _check_wait(wait: object, timeout: float) -> None:
    if not isinstance(wait, bool):
        raise ValueError(f"wait must be True or False, got {wait!r}")
    check_timeout(timeout)
