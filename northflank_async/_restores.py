"""Listing restores: an addon's, or one backup's, on the generic paginator.

:class:`RestoreListing` is a part of ``NorthflankSession`` (it inherits these methods).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from ._backup_args import source_query
from ._backups import RESTORES, backup_ids, backup_restores, one_backup_ids
from ._client import Client
from ._models import Restore, RestorePage
from ._pagination import PageQuery

__all__ = ["RestoreListing"]


class RestoreListing:
    """The list calls of restores, with their page forms.

    A part of [NorthflankSession][northflank_async.NorthflankSession], which inherits
    these methods: call them on the session.
    """

    _client: Client

    def list_restores(
        self,
        project_id: str,
        addon_id: str,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
        max_items: int | None = None,
        prefetch: bool = True,
    ) -> AsyncGenerator[Restore, None]:
        """Every restore into an addon (each with the ``backup_id`` it restored).

        Example:

        ```python
        async for restore in nf.list_restores(project_id, addon_id):
            print(restore.id, restore.status, restore.backup_id, restore.restore_timestamp)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param per_page: items per page asked of the API, 1 to 100.
        :param page: start at this page number (1-based) instead of the first; not with
            ``cursor``.
        :param cursor: resume from a cursor an earlier page returned
            (``page.pagination.cursor``); not with ``page``.
        :param max_items: stop after this many items, requesting no page that is not
            needed; None: every item.
        :param prefetch: request the next page while the caller works on this one (one
            request ahead); False: one request at a time.
        :returns: an async generator of [Restore][northflank_async.Restore].
        :raises ValueError: a bad argument, at the call, before any request.
        :raises NotFoundError: no such project or addon (404).
        :raises PaginationError: the API's cursor chain would loop or cannot go on.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        query = PageQuery(per_page, page, cursor)
        ids = backup_ids(project_id, addon_id)
        return self._client.items(
            RESTORES, ids, team_id, query, prefetch=prefetch, max_items=max_items
        )

    def list_restore_pages(
        self,
        project_id: str,
        addon_id: str,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
        max_items: int | None = None,
        prefetch: bool = True,
    ) -> AsyncGenerator[RestorePage, None]:
        """Every page of an addon's restores (``max_items`` as for ``list_backup_pages``).

        Example:

        ```python
        async for page in nf.list_restore_pages(project_id, addon_id):
            print(len(page.restores), page.pagination.has_next_page)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param per_page: items per page asked of the API, 1 to 100.
        :param page: start at this page number (1-based) instead of the first; not with
            ``cursor``.
        :param cursor: resume from a cursor an earlier page returned
            (``page.pagination.cursor``); not with ``page``.
        :param max_items: stop after this many items, requesting no page that is not
            needed; None: every item.
        :param prefetch: request the next page while the caller works on this one (one
            request ahead); False: one request at a time.
        :returns: an async generator of [RestorePage][northflank_async.RestorePage].
        :raises ValueError: a bad argument, at the call, before any request.
        :raises NotFoundError: no such project or addon (404).
        :raises PaginationError: the API's cursor chain would loop or cannot go on.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        query = PageQuery(per_page, page, cursor)
        ids = backup_ids(project_id, addon_id)
        return self._client.pages(
            RESTORES, ids, team_id, query, prefetch=prefetch, max_items=max_items
        )

    async def get_restore_page(
        self,
        project_id: str,
        addon_id: str,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
    ) -> RestorePage:
        """One page of an addon's restores, in exactly one request (plus retries).

        Example:

        ```python
        page = await nf.get_restore_page(project_id, addon_id, per_page=10)
        print([restore.id for restore in page.restores])
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param per_page: items per page asked of the API, 1 to 100.
        :param page: start at this page number (1-based) instead of the first; not with
            ``cursor``.
        :param cursor: resume from a cursor an earlier page returned
            (``page.pagination.cursor``); not with ``page``.
        :returns: the [RestorePage][northflank_async.RestorePage].
        :raises ValueError: a bad argument, before any request.
        :raises NotFoundError: no such project or addon (404).
        :raises NorthflankError: any other failure of the request, after retries.
        """
        ids = backup_ids(project_id, addon_id)
        return await self._client.page(RESTORES, ids, team_id, PageQuery(per_page, page, cursor))

    def list_backup_restores(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
        source_project_id: str | None = None,
        source_addon_id: str | None = None,
        max_items: int | None = None,
        prefetch: bool = True,
    ) -> AsyncGenerator[Restore, None]:
        """Every restore from one backup, into any addon.

        Example:

        ```python
        async for restore in nf.list_backup_restores(project_id, addon_id, backup_id):
            print(restore.id, restore.status)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param per_page: items per page asked of the API, 1 to 100.
        :param page: start at this page number (1-based) instead of the first; not with
            ``cursor``.
        :param cursor: resume from a cursor an earlier page returned
            (``page.pagination.cursor``); not with ``page``.
        :param source_project_id: with ``source_addon_id``: the project of the other addon
            whose backup ``backup_id`` is (a global backup); None: this addon's own.
        :param source_addon_id: the other addon whose backup ``backup_id`` is; given with
            ``source_project_id``, or not at all.
        :param max_items: stop after this many items, requesting no page that is not
            needed; None: every item.
        :param prefetch: request the next page while the caller works on this one (one
            request ahead); False: one request at a time.
        :returns: an async generator of [Restore][northflank_async.Restore].
        :raises ValueError: a bad argument, at the call, before any request.
        :raises NotFoundError: no such project, addon or backup (404).
        :raises PaginationError: the API's cursor chain would loop or cannot go on.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        query = PageQuery(per_page, page, cursor, _source(source_project_id, source_addon_id))
        ids = one_backup_ids(project_id, addon_id, backup_id)
        endpoint = backup_restores(backup_id)
        return self._client.items(
            endpoint, ids, team_id, query, prefetch=prefetch, max_items=max_items
        )

    def list_backup_restore_pages(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
        source_project_id: str | None = None,
        source_addon_id: str | None = None,
        max_items: int | None = None,
        prefetch: bool = True,
    ) -> AsyncGenerator[RestorePage, None]:
        """Every page of one backup's restores (``max_items`` as for ``list_backup_pages``).

        Example:

        ```python
        async for page in nf.list_backup_restore_pages(project_id, addon_id, backup_id):
            print([restore.status for restore in page.restores])
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param per_page: items per page asked of the API, 1 to 100.
        :param page: start at this page number (1-based) instead of the first; not with
            ``cursor``.
        :param cursor: resume from a cursor an earlier page returned
            (``page.pagination.cursor``); not with ``page``.
        :param source_project_id: with ``source_addon_id``: the project of the other addon
            whose backup ``backup_id`` is (a global backup); None: this addon's own.
        :param source_addon_id: the other addon whose backup ``backup_id`` is; given with
            ``source_project_id``, or not at all.
        :param max_items: stop after this many items, requesting no page that is not
            needed; None: every item.
        :param prefetch: request the next page while the caller works on this one (one
            request ahead); False: one request at a time.
        :returns: an async generator of [RestorePage][northflank_async.RestorePage].
        :raises ValueError: a bad argument, at the call, before any request.
        :raises NotFoundError: no such project, addon or backup (404).
        :raises PaginationError: the API's cursor chain would loop or cannot go on.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
        query = PageQuery(per_page, page, cursor, _source(source_project_id, source_addon_id))
        ids = one_backup_ids(project_id, addon_id, backup_id)
        endpoint = backup_restores(backup_id)
        return self._client.pages(
            endpoint, ids, team_id, query, prefetch=prefetch, max_items=max_items
        )

    async def get_backup_restore_page(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
        source_project_id: str | None = None,
        source_addon_id: str | None = None,
    ) -> RestorePage:
        """One page of one backup's restores, in exactly one request (plus retries).

        Example:

        ```python
        page = await nf.get_backup_restore_page(project_id, addon_id, backup_id)
        print([restore.id for restore in page.restores])
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param per_page: items per page asked of the API, 1 to 100.
        :param page: start at this page number (1-based) instead of the first; not with
            ``cursor``.
        :param cursor: resume from a cursor an earlier page returned
            (``page.pagination.cursor``); not with ``page``.
        :param source_project_id: with ``source_addon_id``: the project of the other addon
            whose backup ``backup_id`` is (a global backup); None: this addon's own.
        :param source_addon_id: the other addon whose backup ``backup_id`` is; given with
            ``source_project_id``, or not at all.
        :returns: the [RestorePage][northflank_async.RestorePage].
        :raises ValueError: a bad argument, before any request.
        :raises NotFoundError: no such project, addon or backup (404).
        :raises NorthflankError: any other failure of the request, after retries.
        """
        ids = one_backup_ids(project_id, addon_id, backup_id)
        endpoint = backup_restores(backup_id)
        return await self._client.page(
            endpoint,
            ids,
            team_id,
            PageQuery(per_page, page, cursor, _source(source_project_id, source_addon_id)),
        )


def _source(project_id: str | None, addon_id: str | None) -> tuple[tuple[str, str], ...]:
    """The query naming the addon a global backup belongs to, as PageQuery's ``extra``."""
    return tuple(source_query(project_id, addon_id).items())
