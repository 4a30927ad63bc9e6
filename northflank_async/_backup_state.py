"""Reading a backup's or a restore's state: once, as it changes, and until it is final.

:class:`BackupState` is a part of ``NorthflankSession`` (it inherits these methods), and
the base of ``_operations.BackupOperations``, whose writes read back through it (a lost
answer is settled by what the API holds) and wait through it. Every wait goes through
:mod:`._wait`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Mapping
from contextlib import aclosing
from typing import Any, TypeVar

from ._backup_args import source_query
from ._backups import BACKUP, backup_restores, one_backup_ids
from ._client import Client
from ._errors import NotFoundError
from ._models import Backup, Restore
from ._pagination import ListEndpoint, PageQuery
from ._wait import check_timeout, settled, watch

__all__ = ["BackupState", "check_restore_id"]

T = TypeVar("T")


class BackupState:
    """The calls that read one backup or restore, and watch or wait for its final status.

    A part of [NorthflankSession][northflank_async.NorthflankSession], which inherits
    these methods: call them on the session.
    """

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
        """One backup, with ``last_restore`` when it was ever restored.

        Example:

        ```python
        backup = await nf.get_backup(project_id, addon_id, backup_id)
        print(backup.name, backup.status, backup.config.size, backup.last_restore)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :returns: the [Backup][northflank_async.Backup] as the API holds it now.
        :raises ValueError: an id is empty or would change the route, before any request.
        :raises NotFoundError: no such project, addon or backup (404).
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        url = self._client.url(BACKUP, one_backup_ids(project_id, addon_id, backup_id), team_id)
        data, _ = await self._client.transport.get_json(url)
        return self._client.one(data, Backup, "GET", url)

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

        Polls ``get_backup`` about 2 s after the start, then at intervals growing to about
        30 s (a 10-minute backup costs about 26 requests). A final status ends the walk;
        it never raises for ``failed``: use it for a progress line, server-sent events or
        a log.

        Example:

        ```python
        backup = await nf.create_backup(project_id, addon_id)
        async for state in nf.watch_backup(project_id, addon_id, backup.id, timeout=600):
            print(state.status)  # each new status once: scheduled, (in-progress), completed
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param timeout: seconds the watch may last (a finite number > 0).
        :returns: an async generator of [Backup][northflank_async.Backup] states.
        :raises ValueError: a bad argument, at the call, before any request.
        :raises WaitTimeoutError: no final status within ``timeout``; ``last`` is the last
            state seen.
        :raises NotFoundError: the backup does not exist (any more).
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
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

        Example:

        ```python
        restore = await nf.restore_backup(project_id, addon_id, backup_id)
        async for state in nf.watch_restore(project_id, addon_id, backup_id, restore.id):
            print(state.status)
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
        :param timeout: seconds the watch may last (a finite number > 0).
        :returns: an async generator of [Restore][northflank_async.Restore] states.
        :raises ValueError: a bad argument, at the call, before any request.
        :raises WaitTimeoutError: no final status within ``timeout``; ``last`` is the last
            state seen.
        :raises NotFoundError: the backup or restore does not exist.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        check_restore_id(restore_id)
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
        """Wait for a backup's final status and return the backup.

        Polls as ``watch_backup`` does. Cancelling the waiting task, or closing the
        session, stops the polling at once.

        Example:

        ```python
        backup = await nf.create_backup(project_id, addon_id)
        done = await nf.wait_for_backup(project_id, addon_id, backup.id, timeout=1800)
        print(done.status, done.completed_at)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param timeout: seconds the wait may last (a finite number > 0).
        :param raise_on_failure: False returns a backup that ended ``failed``, ``aborted``
            or ``not-supported`` instead of raising.
        :returns: the [Backup][northflank_async.Backup] in its final status.
        :raises ValueError: a bad argument, before any request.
        :raises BackupFailedError: the backup ended ``failed``, ``aborted`` or
            ``not-supported`` (``.backup``, ``.status``), unless ``raise_on_failure=False``.
        :raises WaitTimeoutError: no final status within ``timeout`` (``.last``: the last
            state seen); the backup goes on.
        :raises NotFoundError: the backup does not exist (any more).
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
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
        """Wait for a restore's final status and return it, as ``wait_for_backup`` does.

        Example:

        ```python
        restore = await nf.restore_backup(project_id, addon_id, backup_id)
        done = await nf.wait_for_restore(project_id, addon_id, backup_id, restore.id, timeout=1800)
        print(done.status, done.completed_at)
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
        :param timeout: seconds the wait may last (a finite number > 0).
        :param raise_on_failure: False returns a restore that ended ``failed`` or
            ``aborted`` instead of raising.
        :returns: the [Restore][northflank_async.Restore] in its final status.
        :raises ValueError: a bad argument, before any request.
        :raises BackupFailedError: the restore ended other than ``completed`` (``.restore``,
            ``.status``), unless ``raise_on_failure=False``.
        :raises WaitTimeoutError: no final status within ``timeout`` (``.last``: the last
            state seen); the restore goes on.
        :raises NotFoundError: the backup or restore does not exist.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
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


def check_restore_id(restore_id: object) -> None:
    """Refuse a ``restore_id`` that is not a non-empty string (before any request)."""
    if not isinstance(restore_id, str) or not restore_id:
        raise ValueError(f"restore_id must be a non-empty string, got {restore_id!r}")
