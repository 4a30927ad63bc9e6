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
    """The list calls of restores, with their page forms."""

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
        """Every restore of an addon (each with its ``backup_id``)."""
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
        """Every page of an addon's restores."""
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
        """One page of an addon's restores, in exactly one request (plus retries)."""
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
        """Every restore of one backup (``source_*``: a backup of that other addon)."""
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
        """Every page of one backup's restores."""
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
        """One page of one backup's restores, in exactly one request (plus retries)."""
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
