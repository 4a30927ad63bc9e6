"""NorthflankSession: the SDK's one public face.

It holds the configuration, the connection pool (through its transport) and closing,
and offers a short typed method per API call. Each method hands its work to its
family module (``_backups``, ``_projects``, ``_stream``) through a :class:`Client`.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncGenerator, Iterable
from types import TracebackType
from typing import Literal, Self

import aiohttp
from yarl import URL

from ._backups import BACKUPS, backup_ids
from ._checks import CONTROL, is_int, path_segment
from ._client import Client
from ._config import resolve_base_url, resolve_token
from ._download import BackupDownloads
from ._errors import ConfigurationError, secret_forms
from ._health import BackupHealthChecks
from ._models import (
    Addon,
    AddonBackup,
    AddonPage,
    Backup,
    BackupPage,
    Project,
    ProjectPage,
    RateLimit,
)
from ._operations import BackupOperations
from ._pagination import PageQuery
from ._projects import ADDONS, PROJECTS
from ._restores import RestoreListing
from ._retry import NO_RETRY, RetryPolicy
from ._stream import SkipCallback, stream_backups
from ._transport import DEFAULT_MAX_RESPONSE_SIZE, Transport
from ._version import __version__

__all__ = ["NorthflankSession"]


class NorthflankSession(BackupOperations, RestoreListing, BackupDownloads, BackupHealthChecks):
    """An async client of the Northflank API with one connection pool.

    Use it as ``async with NorthflankSession() as nf:``, or call ``await nf.close()``.

    :param token: the API token; else ``NORTHFLANK_API_TOKEN``, else ``NF_API_TOKEN``.
    :param base_url: else ``NORTHFLANK_API_BASE_URL``, ``NF_API_HOST``, ``NF_HOST``,
        else ``https://api.northflank.com``. Plain ``http://`` only for loopback hosts.
    :param team_id: use the ``/v1/teams/{teamId}/...`` routes (organisation tokens).
    :param timeout: seconds each request may take, connecting included.
    :param session: an ``aiohttp.ClientSession`` to send requests with; it is used as
        it is and never closed by this session.
    :param user_agent: added to the ``User-Agent`` header after ``northflank-async/<v>``.
    :param retry: the :class:`RetryPolicy`; ``None`` turns retrying off.
    :param max_concurrency: requests in flight at once across every walk of the session.
    :param max_response_size: the largest answer body read, in bytes (default 4 MiB; a
        page of 100 backups is tens of KiB). A larger one raises
        :class:`ResponseTooLargeError` once the limit is reached, and is not retried.
    :param trust_env: honour ``HTTPS_PROXY``, ``HTTP_PROXY`` and ``NO_PROXY`` (and proxy
        credentials in ``~/.netrc``), as most HTTP stacks do; ``False`` always connects
        directly. Only for the pool the session creates (not a ``session`` passed in).

    A session belongs to the event loop it is first used in; from another loop its
    calls raise :class:`EventLoopError`. Create one per loop.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | URL | None = None,
        team_id: str | None = None,
        timeout: float = 30.0,
        session: aiohttp.ClientSession | None = None,
        user_agent: str | None = None,
        retry: RetryPolicy | None = RetryPolicy(),  # noqa: B008 - frozen, so safe to share
        max_concurrency: int = 8,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        trust_env: bool = True,
    ) -> None:
        env = os.environ
        secret = resolve_token(token, env)
        url = resolve_base_url(base_url, env)
        if team_id is not None:
            try:
                path_segment("team_id", team_id)
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout < math.inf
        ):
            raise ConfigurationError(
                f"timeout must be a finite number of seconds > 0, got {timeout!r}"
            )
        if not is_int(max_concurrency) or max_concurrency < 1:
            raise ConfigurationError(
                f"max_concurrency must be an int >= 1, got {max_concurrency!r}"
            )
        if not is_int(max_response_size) or max_response_size < 1024:
            raise ConfigurationError(
                f"max_response_size must be an int >= 1024 (bytes), got {max_response_size!r}"
            )
        if not isinstance(trust_env, bool):
            raise ConfigurationError(f"trust_env must be True or False, got {trust_env!r}")
        agent = f"northflank-async/{__version__}"
        if user_agent:
            if CONTROL.search(user_agent):
                raise ConfigurationError("user_agent must not hold control characters")
            agent = f"{agent} {user_agent}"
        transport = Transport(
            headers={
                "Authorization": f"Bearer {secret}",
                "Accept": "application/json",
                "User-Agent": agent,
            },
            timeout=float(timeout),
            retry=retry if retry is not None else NO_RETRY,
            max_concurrency=max_concurrency,
            session=session,
            max_response_size=max_response_size,
            trust_env=trust_env,
            secrets=secret_forms(secret),
        )
        self._transport = transport
        self._client = Client(transport, url, team_id)

    def __repr__(self) -> str:
        return f"NorthflankSession(base_url={str(self.base_url)!r}, team_id={self.team_id!r})"

    @property
    def base_url(self) -> URL:
        """The API's base URL."""
        return self._client.base_url

    @property
    def team_id(self) -> str | None:
        """The team whose routes are used when a call names none."""
        return self._client.team_id

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._transport.retry

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate limit the latest response reported, or None before any response."""
        return self._transport.rate_limit

    @property
    def closed(self) -> bool:
        """Whether the session is closed."""
        return self._transport.closed

    async def __aenter__(self) -> Self:
        self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool (unless it was passed in) and end open walks."""
        await self._transport.close()

    # -- backups --------------------------------------------------------------------------

    def list_backups(
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
    ) -> AsyncGenerator[Backup, None]:
        """Every backup of an addon, oldest page first, one page held at a time.

        ``page`` starts at that page number, ``cursor`` resumes a walk from a cursor it
        returned, ``max_items`` stops after that many backups. Arguments are checked
        here, before any request: a bad one raises ``ValueError``.
        """
        ids = backup_ids(project_id, addon_id)
        query = PageQuery(per_page, page, cursor)
        return self._client.items(
            BACKUPS, ids, team_id, query, prefetch=prefetch, max_items=max_items
        )

    def list_backup_pages(
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
    ) -> AsyncGenerator[BackupPage, None]:
        """Every page of an addon's backups, each with its pagination and rate limit.

        With ``max_items``, no page is requested once the pages so far hold that many
        backups (the last page may hold more: cut it yourself, or use ``list_backups``).
        """
        ids = backup_ids(project_id, addon_id)
        query = PageQuery(per_page, page, cursor)
        return self._client.pages(
            BACKUPS, ids, team_id, query, prefetch=prefetch, max_items=max_items
        )

    async def get_backup_page(
        self,
        project_id: str,
        addon_id: str,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
    ) -> BackupPage:
        """One page of an addon's backups, in exactly one request (plus retries)."""
        ids = backup_ids(project_id, addon_id)
        return await self._client.page(BACKUPS, ids, team_id, PageQuery(per_page, page, cursor))

    # -- projects and addons --------------------------------------------------------------

    def list_projects(
        self,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
        max_items: int | None = None,
        prefetch: bool = True,
    ) -> AsyncGenerator[Project, None]:
        """Every project the token (or ``team_id``) can see."""
        query = PageQuery(per_page, page, cursor)
        return self._client.items(
            PROJECTS, {}, team_id, query, prefetch=prefetch, max_items=max_items
        )

    def list_project_pages(
        self,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
        max_items: int | None = None,
        prefetch: bool = True,
    ) -> AsyncGenerator[ProjectPage, None]:
        """Every page of projects (``max_items`` as for ``list_backup_pages``)."""
        query = PageQuery(per_page, page, cursor)
        return self._client.pages(
            PROJECTS, {}, team_id, query, prefetch=prefetch, max_items=max_items
        )

    async def get_project_page(
        self,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
    ) -> ProjectPage:
        """One page of projects, in exactly one request (plus retries)."""
        return await self._client.page(PROJECTS, {}, team_id, PageQuery(per_page, page, cursor))

    def list_addons(
        self,
        project_id: str,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
        max_items: int | None = None,
        prefetch: bool = True,
    ) -> AsyncGenerator[Addon, None]:
        """Every addon of a project."""
        query = PageQuery(per_page, page, cursor)
        ids = {"project_id": project_id}
        return self._client.items(
            ADDONS, ids, team_id, query, prefetch=prefetch, max_items=max_items
        )

    def list_addon_pages(
        self,
        project_id: str,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
        max_items: int | None = None,
        prefetch: bool = True,
    ) -> AsyncGenerator[AddonPage, None]:
        """Every page of a project's addons (``max_items`` as for ``list_backup_pages``)."""
        ids = {"project_id": project_id}
        query = PageQuery(per_page, page, cursor)
        return self._client.pages(
            ADDONS, ids, team_id, query, prefetch=prefetch, max_items=max_items
        )

    async def get_addon_page(
        self,
        project_id: str,
        *,
        team_id: str | None = None,
        per_page: int = 100,
        page: int | None = None,
        cursor: str | None = None,
    ) -> AddonPage:
        """One page of a project's addons, in exactly one request (plus retries)."""
        ids = {"project_id": project_id}
        return await self._client.page(ADDONS, ids, team_id, PageQuery(per_page, page, cursor))

    # -- many addons at once ----------------------------------------------------------------

    def stream_backups(
        self,
        project_id: str | None = None,
        *,
        team_id: str | None = None,
        addon_ids: Iterable[str] | None = None,
        concurrency: int = 4,
        per_page: int = 100,
        on_error: Literal["raise", "skip"] = "raise",
        on_skip: SkipCallback | None = None,
    ) -> AsyncGenerator[AddonBackup, None]:
        """Every backup of many addons, up to ``concurrency`` addon walks at once.

        With ``addon_ids``, those addons of ``project_id``; with only ``project_id``,
        every addon of that project; with neither, every addon of every project the
        token (or ``team_id``) can see. Backups arrive as they come: in order within an
        addon, interleaved across addons. A slow consumer holds the walks back, so
        memory stays near ``concurrency`` pages.

        ``on_error="skip"`` lets the other addons go on when one addon's walk fails (a
        404 for an addon deleted mid-run, a 403, data that cannot be read): the failure
        is logged at WARNING and passed to ``on_skip(project_id, addon_id, error)`` if
        given (``addon_id`` None when a project's addons could not be listed). Failures
        that would fail every addon (401, 429, the network, 5xx) always end the stream.
        """
        return stream_backups(
            self._client,
            project_id,
            team_id=team_id,
            addon_ids=addon_ids,
            concurrency=concurrency,
            per_page=per_page,
            on_error=on_error,
            on_skip=on_skip,
        )
