"""The team-wide stream: every backup of many addons, through a bounded pool of addon walks.

Both ``stream_backups`` and the health check (``_health``) build on one internal
stream of :data:`AddonEvent` s (:func:`addon_events`): the pages of each addon's walk
as they arrive, and, when asked for, the end of each walk (with the error that ended
it, if one did), so a consumer learns when an addon is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from typing import Literal, TypeAlias

import attrs

from ._backups import BACKUPS, backup_ids
from ._checks import is_int, path_segment
from ._client import Client
from ._errors import (
    NorthflankError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    ResponseValidationError,
)
from ._log import logger
from ._models import AddonBackup, Backup
from ._pagination import PageQuery
from ._projects import ADDONS, PROJECTS

__all__ = [
    "SKIPPABLE",
    "AddonEvent",
    "SkipCallback",
    "WalkEnd",
    "WalkPage",
    "addon_events",
    "check_scope",
    "stream_backups",
]

#: Called as ``on_skip(project_id, addon_id, error)`` for an addon skipped on error;
#: ``addon_id`` is None when the project's addons could not be listed at all.
SkipCallback = Callable[[str, str | None, NorthflankError], None]

#: Failures that concern one addon (or one project) only, which ``on_error="skip"``
#: passes over: it is gone or forbidden, or its own data cannot be read. Anything that
#: would fail every other addon too (a bad token, the rate limit, the network, the
#: server, a closed session) ends the stream whatever ``on_error`` says.
SKIPPABLE = (NotFoundError, PermissionDeniedError, ResponseValidationError, PaginationError)


@attrs.frozen
class WalkPage:
    """One non-empty page of one addon's backups, as a walk hands it to the consumer."""

    project_id: str
    addon_id: str
    backups: list[Backup]


@attrs.frozen
class WalkEnd:
    """The end of one addon's walk, after its last page.

    ``error`` is the failure that concerned this addon only (one of :data:`SKIPPABLE`)
    and stopped its walk early; None when every page was read.
    """

    project_id: str
    addon_id: str
    error: NorthflankError | None = None


#: What :func:`addon_events` yields.
AddonEvent: TypeAlias = WalkPage | WalkEnd


@attrs.frozen
class _Failed:
    """An error that ends the stream (raised to the consumer in order of arrival)."""

    error: BaseException


_DONE = object()


def check_scope(
    project_id: str | None,
    addon_ids: Iterable[str] | None,
    team_id: str | None,
    concurrency: int,
) -> list[str] | None:
    """The addon ids to walk (each once, in the order given; None: discover them).

    Raises ValueError for a bad argument, before any request: ``addon_ids`` as one
    string or without ``project_id``, an id that is not one path segment, a
    ``concurrency`` that is not an int >= 1.
    """
    if isinstance(addon_ids, str):
        raise ValueError(f"addon_ids must be a list of ids, not the string {addon_ids!r}")
    # Each addon once, in the order given.
    ids = None if addon_ids is None else list(dict.fromkeys(addon_ids))
    if ids is not None:
        if project_id is None:
            raise ValueError("addon_ids needs the project_id they belong to")
        for addon_id in ids:
            path_segment("addon_id", addon_id)
    if project_id is not None:
        path_segment("project_id", project_id)
    if team_id is not None:
        path_segment("team_id", team_id)
    if not is_int(concurrency) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    return ids


async def _addresses(
    client: Client,
    project_id: str | None,
    addon_ids: list[str] | None,
    team_id: str | None,
    query: PageQuery,
    skip: SkipCallback | None,
) -> AsyncGenerator[tuple[str, str], None]:
    """The ``(project_id, addon_id)`` pairs to walk, discovered page by page.

    With ``skip``, a project whose addons cannot be listed (deleted mid-run, 403) is
    reported and passed over; a failure to list the projects always ends the stream.
    """
    if project_id is not None and addon_ids is not None:
        for addon_id in addon_ids:
            yield project_id, addon_id
        return
    if project_id is not None:
        projects: AsyncGenerator[str, None] = _one(project_id)
    else:
        projects = _project_ids(client, team_id, query)
    async with aclosing(projects):
        async for project in projects:
            ids = {"project_id": project}
            addons = client.items(ADDONS, ids, team_id, query, prefetch=True, max_items=None)
            try:
                async with aclosing(addons):
                    async for addon in addons:
                        yield project, addon.id
            except SKIPPABLE as error:
                if skip is None:
                    raise
                skip(project, None, error)


async def _one(value: str) -> AsyncGenerator[str, None]:
    yield value


async def _project_ids(
    client: Client, team_id: str | None, query: PageQuery
) -> AsyncGenerator[str, None]:
    projects = client.items(PROJECTS, {}, team_id, query, prefetch=True, max_items=None)
    async with aclosing(projects):
        async for project in projects:
            yield project.id


def stream_backups(
    client: Client,
    project_id: str | None = None,
    *,
    team_id: str | None = None,
    addon_ids: Iterable[str] | None = None,
    concurrency: int = 4,
    per_page: int = 100,
    on_error: Literal["raise", "skip"] = "raise",
    on_skip: SkipCallback | None = None,
) -> AsyncGenerator[AddonBackup, None]:
    """See ``NorthflankSession.stream_backups``; arguments are checked here, at the call."""
    ids = check_scope(project_id, addon_ids, team_id, concurrency)
    if on_error not in ("raise", "skip"):
        raise ValueError(f'on_error must be "raise" or "skip", got {on_error!r}')
    query = PageQuery(per_page)  # checks per_page; every walk of the stream uses it

    def skip(project: str, addon: str | None, error: NorthflankError) -> None:
        what = f"addon {addon}" if addon is not None else "the addons"
        logger.warning("skipping the backups of %s of project %s: %s", what, project, error)
        if on_skip is not None:
            on_skip(project, addon, error)

    report = skip if on_error == "skip" else None
    events = addon_events(client, project_id, ids, team_id, concurrency, query, skip=report)
    return _backups(events)


async def _backups(
    events: AsyncGenerator[AddonEvent, None],
) -> AsyncGenerator[AddonBackup, None]:
    """Each backup of each page, with the project and addon it belongs to."""
    async with aclosing(events):
        async for event in events:
            assert isinstance(event, WalkPage)  # no WalkEnd: ends were not asked for
            for backup in event.backups:
                yield AddonBackup(event.project_id, event.addon_id, backup)


def addon_events(
    client: Client,
    project_id: str | None,
    addon_ids: list[str] | None,
    team_id: str | None,
    concurrency: int,
    query: PageQuery,
    *,
    skip: SkipCallback | None = None,
    ends: bool = False,
) -> AsyncGenerator[AddonEvent, None]:
    """The pages of every addon in scope, ``concurrency`` walks at once (arguments checked).

    With ``ends``, a :class:`WalkEnd` follows each addon's last page, and a failure
    that concerns one addon only (:data:`SKIPPABLE`) ends that addon's walk with it as
    ``error`` while the other walks go on. Without ``ends``, such a failure is passed
    to ``skip`` (then the walks go on) or, without ``skip``, ends the stream. A
    project whose addons cannot be listed goes to ``skip`` if given, else ends the
    stream (its addons are unknown, so no walk could report it). Anything else that
    fails (401, 429, the network, 5xx) always ends the stream.
    """
    addresses = _addresses(client, project_id, addon_ids, team_id, query, skip)
    return _events(client, addresses, team_id, concurrency, query, skip, ends)


async def _events(
    client: Client,
    addresses: AsyncGenerator[tuple[str, str], None],
    team_id: str | None,
    concurrency: int,
    query: PageQuery,
    skip: SkipCallback | None,
    ends: bool,
) -> AsyncGenerator[AddonEvent, None]:
    # Each slot of the queue holds one page (or one end); a consumer that stops reading
    # stops the walks once it is full, so memory stays near `concurrency` pages.
    queue: asyncio.Queue[AddonEvent | _Failed | object] = asyncio.Queue(maxsize=concurrency)
    lock = asyncio.Lock()

    async def next_address() -> tuple[str, str] | None:
        async with lock:  # one async generator, many readers: take turns
            return await anext(addresses, None)

    async def walk(project: str, addon: str) -> None:
        ids = backup_ids(project, addon)
        pages = client.pages(BACKUPS, ids, team_id, query, prefetch=True)
        async with aclosing(pages):
            async for page in pages:
                if page.backups:
                    await queue.put(WalkPage(project, addon, page.backups))

    async def worker() -> None:
        try:
            while (address := await next_address()) is not None:
                project, addon = address
                failure: NorthflankError | None = None
                try:
                    await walk(project, addon)
                except SKIPPABLE as error:
                    if ends:
                        failure = error
                    elif skip is None:
                        raise
                    else:
                        skip(project, addon, error)
                if ends:
                    await queue.put(WalkEnd(project, addon, failure))
        except Exception as error:
            await queue.put(_Failed(error))
        else:
            await queue.put(_DONE)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    running = len(workers)
    try:
        while running:
            item = await queue.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, _Failed):
                raise item.error
            else:
                assert isinstance(item, WalkPage | WalkEnd)
                yield item
    finally:
        for task in workers:
            task.cancel()
        await asyncio.wait(workers)
        await addresses.aclose()
