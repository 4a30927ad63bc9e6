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
    """An async client of the Northflank API, holding one connection pool.

    Use it as ``async with NorthflankSession() as nf:``, or call ``await nf.close()``
    when done. Every call of the API is a method of the session; the lists are async
    generators that walk every page. Every request to the API goes through the
    session's [RetryPolicy][northflank_async.RetryPolicy], its rate-limit handling and
    its ``max_concurrency``.

    A session belongs to the event loop it is first used in; from another loop its
    calls raise [EventLoopError][northflank_async.EventLoopError]. Create it inside
    the coroutine that ``asyncio.run()`` runs, one per loop.

    Example:

    ```python
    import asyncio

    from northflank_async import NorthflankSession


    async def main() -> None:
        async with NorthflankSession() as nf:  # the token from NORTHFLANK_API_TOKEN
            async for backup in nf.list_backups("project-1", "postgresql-1", max_items=3):
                print(backup.id, backup.status, backup.created_at, backup.config.size)


    asyncio.run(main())
    ```

    :param token: the API token; else the ``NORTHFLANK_API_TOKEN`` environment
        variable, else ``NF_API_TOKEN``.
    :param base_url: the API's base URL; else ``NORTHFLANK_API_BASE_URL``,
        ``NF_API_HOST``, ``NF_HOST``, else ``https://api.northflank.com``. Plain
        ``http://`` only for loopback hosts.
    :param team_id: use the ``/v1/teams/{teamId}/...`` routes (organisation tokens) for
        every call that names no team of its own.
    :param timeout: seconds each request may take, connecting included.
    :param session: an ``aiohttp.ClientSession`` to send the API's requests with; it is
        used as it is and never closed by this session.
    :param user_agent: added to the ``User-Agent`` header after ``northflank-async/<version>``.
    :param retry: the [RetryPolicy][northflank_async.RetryPolicy]; None turns retrying off.
    :param max_concurrency: requests in flight at once, across every walk of the session.
    :param max_response_size: the largest answer body read, in bytes (default 4 MiB; a
        page of 100 backups is tens of KiB). A larger one raises
        [ResponseTooLargeError][northflank_async.ResponseTooLargeError] once the limit is
        reached, and is not retried.
    :param trust_env: honour ``HTTPS_PROXY``, ``HTTP_PROXY`` and ``NO_PROXY`` (and proxy
        credentials in ``~/.netrc``), as most HTTP stacks do; False always connects
        directly. Only for the pool the session creates (not a ``session`` passed in).
    :raises ConfigurationError: no token, an unsafe or malformed base URL, or an option
        out of range (a ``ValueError`` too); nothing is sent.
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
        """The API's base URL, as resolved from the argument or the environment."""
        return self._client.base_url

    @property
    def team_id(self) -> str | None:
        """The team whose routes are used when a call names none.

        None: the plain ``/v1/...`` routes, for the token's own team.
        """
        return self._client.team_id

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in force (one that never retries when built with ``retry=None``)."""
        return self._transport.retry

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate limit the latest answer reported, or None before any answer.

        When it says no request is left and the reset is within the policy's ``max_wait``,
        the next request waits for the reset rather than spend a request on a 429.
        """
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
        """Close the connection pool (unless it was passed in) and end the walks still open.

        A walk or request still running raises
        [SessionClosedError][northflank_async.SessionClosedError]. Closing twice is
        harmless, and closing works from another event loop too. ``async with`` calls it
        on the way out.
        """
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

        An async generator: requests start with the iteration. Each answer is read whole
        before its backups are yielded, so no connection is held while the loop body runs.
        Breaking out of the loop leaves at most the prefetched request in flight until the
        generator is closed: wrap it in ``contextlib.aclosing(...)`` to end it at once.

        Example:

        ```python
        async for backup in nf.list_backups(project_id, addon_id, max_items=5):
            print(backup.id, backup.status, backup.created_at, backup.config.size)
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
        :returns: an async generator of [Backup][northflank_async.Backup].
        :raises ValueError: a bad argument, at the call, before any request.
        :raises NotFoundError: no such project or addon (404), or the token cannot see it.
        :raises AuthenticationError: the token is missing, expired or revoked (401).
        :raises PaginationError: the API's cursor chain would loop or cannot go on.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
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
        backups; the last page may hold more (cut it yourself, or use ``list_backups``).

        Example:

        ```python
        async for page in nf.list_backup_pages(project_id, addon_id, per_page=100):
            print(len(page.backups), page.pagination.has_next_page, page.rate_limit)
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
        :returns: an async generator of [BackupPage][northflank_async.BackupPage].
        :raises ValueError: a bad argument, at the call, before any request.
        :raises NotFoundError: no such project or addon (404), or the token cannot see it.
        :raises AuthenticationError: the token is missing, expired or revoked (401).
        :raises PaginationError: the API's cursor chain would loop or cannot go on.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
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
        """One page of an addon's backups, in exactly one request (plus retries).

        For paging by hand: hand ``page.pagination.cursor`` to your own client, and ask
        for the next page with ``cursor=`` when it comes back.

        Example:

        ```python
        first = await nf.get_backup_page(project_id, addon_id, per_page=20)
        if first.pagination.has_next_page:
            cursor = first.pagination.cursor
            second = await nf.get_backup_page(project_id, addon_id, per_page=20, cursor=cursor)
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
        :returns: the [BackupPage][northflank_async.BackupPage].
        :raises ValueError: a bad argument, before any request.
        :raises NotFoundError: no such project or addon (404), or the token cannot see it.
        :raises NorthflankError: any other failure of the request, after retries.
        """
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
        """Every project the token (or ``team_id``) can see.

        Example:

        ```python
        async for project in nf.list_projects():
            print(project.id, project.name)
        ```

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
        :returns: an async generator of [Project][northflank_async.Project].
        :raises ValueError: a bad argument, at the call, before any request.
        :raises NotFoundError: no such team (404), or the token cannot see it.
        :raises AuthenticationError: the token is missing, expired or revoked (401).
        :raises PaginationError: the API's cursor chain would loop or cannot go on.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
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
        """Every page of projects (``max_items`` as for ``list_backup_pages``).

        Example:

        ```python
        async for page in nf.list_project_pages(per_page=10):
            print([project.id for project in page.projects])
        ```

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
        :returns: an async generator of [ProjectPage][northflank_async.ProjectPage].
        :raises ValueError: a bad argument, at the call, before any request.
        :raises NotFoundError: no such team (404), or the token cannot see it.
        :raises AuthenticationError: the token is missing, expired or revoked (401).
        :raises PaginationError: the API's cursor chain would loop or cannot go on.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
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
        """One page of projects, in exactly one request (plus retries).

        Example:

        ```python
        page = await nf.get_project_page(per_page=10)
        print([project.id for project in page.projects], page.pagination.has_next_page)
        ```

        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param per_page: items per page asked of the API, 1 to 100.
        :param page: start at this page number (1-based) instead of the first; not with
            ``cursor``.
        :param cursor: resume from a cursor an earlier page returned
            (``page.pagination.cursor``); not with ``page``.
        :returns: the [ProjectPage][northflank_async.ProjectPage].
        :raises ValueError: a bad argument, before any request.
        :raises NotFoundError: no such team (404), or the token cannot see it.
        :raises NorthflankError: any other failure of the request, after retries.
        """
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
        """Every addon of a project.

        Example:

        ```python
        async for addon in nf.list_addons(project_id):
            print(addon.id, addon.spec.type, addon.status)
        ```

        :param project_id: the project's id.
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
        :returns: an async generator of [Addon][northflank_async.Addon].
        :raises ValueError: a bad argument, at the call, before any request.
        :raises NotFoundError: no such project (404), or the token cannot see it.
        :raises AuthenticationError: the token is missing, expired or revoked (401).
        :raises PaginationError: the API's cursor chain would loop or cannot go on.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
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
        """Every page of a project's addons (``max_items`` as for ``list_backup_pages``).

        Example:

        ```python
        async for page in nf.list_addon_pages(project_id):
            print([addon.id for addon in page.addons])
        ```

        :param project_id: the project's id.
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
        :returns: an async generator of [AddonPage][northflank_async.AddonPage].
        :raises ValueError: a bad argument, at the call, before any request.
        :raises NotFoundError: no such project (404), or the token cannot see it.
        :raises AuthenticationError: the token is missing, expired or revoked (401).
        :raises PaginationError: the API's cursor chain would loop or cannot go on.
        :raises NorthflankError: any other failure of a request (the network, the rate limit,
            5xx after retries, a body that is not what the API documents).
        """
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
        """One page of a project's addons, in exactly one request (plus retries).

        Example:

        ```python
        page = await nf.get_addon_page(project_id)
        print([addon.id for addon in page.addons])
        ```

        :param project_id: the project's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param per_page: items per page asked of the API, 1 to 100.
        :param page: start at this page number (1-based) instead of the first; not with
            ``cursor``.
        :param cursor: resume from a cursor an earlier page returned
            (``page.pagination.cursor``); not with ``page``.
        :returns: the [AddonPage][northflank_async.AddonPage].
        :raises ValueError: a bad argument, before any request.
        :raises NotFoundError: no such project (404), or the token cannot see it.
        :raises NorthflankError: any other failure of the request, after retries.
        """
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

        With ``addon_ids``, those addons of ``project_id``; with only ``project_id``, every
        addon of that project; with neither, every addon of every project the token (or
        ``team_id``) can see. Backups arrive as they come: in order within an addon,
        interleaved across addons. A slow consumer holds the walks back, so memory stays
        near ``concurrency`` pages, and every request still goes through the session's
        ``max_concurrency`` and rate-limit handling.

        Example:

        ```python
        from collections import Counter

        failed = Counter()
        async for item in nf.stream_backups(project_id, on_error="skip"):
            if item.backup.status == "failed":
                failed[item.addon_id] += 1
        print(failed.most_common())
        ```

        :param project_id: the project whose addons to walk; None: every project.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param addon_ids: only these addons of ``project_id`` (each walked once, in the
            order given); None: every addon of the project.
        :param concurrency: addon walks at once (an int >= 1).
        :param per_page: backups per page asked of the API, 1 to 100.
        :param on_error: ``"raise"`` ends the stream at the first failure; ``"skip"`` lets
            the other addons go on when one addon's walk fails on its own account (a 404 for
            an addon deleted mid-run, a 403, data that cannot be read): the failure is logged
            at WARNING and passed to ``on_skip``. Failures that would fail every addon (401,
            429, the network, 5xx after retries) always end the stream.
        :param on_skip: called as ``on_skip(project_id, addon_id, error)`` for each walk
            skipped (``addon_id`` None when a project's addons could not be listed).
        :returns: an async generator of [AddonBackup][northflank_async.AddonBackup].
        :raises ValueError: a bad argument (``addon_ids`` without ``project_id``, or as one
            string; a bad id; ``concurrency`` < 1), at the call, before any request.
        :raises NotFoundError: with ``on_error="raise"``: a project or addon does not exist.
        :raises AuthenticationError: the token is missing, expired or revoked (401).
        :raises NorthflankError: any other failure that ends the stream (the rate limit past
            the policy's ``max_wait``, the network, 5xx after retries).
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
