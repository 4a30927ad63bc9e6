"""The listing commands: ``get addon backups``, ``get project backups``, ``list ...``.

``list projects`` and ``list addons`` page like ``get addon backups``. Each command
turns its walk into :class:`~._output.Batch` es: one page (its next cursor goes to
stderr for a script to go on), every page with ``--all``, or, for a project, each
backup of every addon as it arrives.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

from .._models import AddonBackup, Page
from .._session import NorthflankSession
from ._common import (
    OK,
    Commands,
    Console,
    UsageError,
    common_options,
    option,
    paging_options,
    session,
    whole_number,
)
from ._output import (
    ADDON_BACKUPS,
    ADDONS,
    BACKUPS,
    PROJECTS,
    Batch,
    View,
    capped,
    emit,
    make_writer,
    page_batches,
)

__all__ = ["register"]

T = TypeVar("T")


def register(commands: Commands) -> None:
    """Add ``get addon backups``, ``get project backups``, ``list projects`` and ``list addons``."""
    paged = [common_options(), paging_options(page_and_cursor=True)]

    sub = commands.leaf(
        commands.get_group("addon", help="an addon's backups"),
        "backups",
        _get_addon_backups,
        parents=paged,
        help="List the backups of an addon.",
    )
    option(sub, "projectId", required=True, metavar="ID", help="ID of the project")
    option(sub, "addonId", required=True, metavar="ID", help="ID of the addon")

    sub = commands.leaf(
        commands.get_group("project", help="the backups of every addon of a project"),
        "backups",
        _get_project_backups,
        parents=[common_options(), paging_options(page_and_cursor=False)],
        help="Stream every backup of every addon of a project (always every page).",
    )
    option(sub, "projectId", required=True, metavar="ID", help="ID of the project")
    sub.add_argument(
        "--concurrency", type=whole_number, default=4, metavar="N", help="addons walked at once"
    )

    lists = commands.list_group()
    commands.leaf(
        lists,
        "projects",
        _list_projects,
        parents=paged,
        help="List the projects the token can see.",
    )
    sub = commands.leaf(
        lists, "addons", _list_addons, parents=paged, help="List the addons of a project."
    )
    option(sub, "projectId", required=True, metavar="ID", help="ID of the project")


# -- the walk, shared by every listing --------------------------------------------------------


async def _one_page(fetch: Callable[[], Awaitable[Page[T]]]) -> AsyncGenerator[Batch[T], None]:
    page = await fetch()
    paging = page.pagination
    yield Batch(
        page.items, page.rate_limit, next_cursor=paging.cursor if paging.has_next_page else None
    )


async def _write_listing(
    args: argparse.Namespace,
    console: Console,
    view: View[T],
    batches: Callable[[NorthflankSession], AsyncGenerator[Batch[T], None]],
    *,
    walk: bool,
    unit: str,
) -> int:
    """Open a session, write the batches in the chosen format, say the next cursor."""
    if args.max_items is not None and not walk:
        raise UsageError("--max-items needs --all")
    writer = make_writer(args.output, console.stdout, view)  # -o yaml fails here, before a request
    async with session(args) as nf:
        progress = console.progress(view.noun, unit, walk=walk)
        cursor = await emit(capped(batches(nf), args.max_items), [writer], progress)
    if cursor is not None:
        # Always printed, --quiet or not: a script needs it to go on.
        console.stderr.write(f"next cursor: {cursor}\n")
    return OK


async def _paged_listing(
    args: argparse.Namespace,
    console: Console,
    view: View[T],
    one: Callable[[NorthflankSession], Awaitable[Page[T]]],
    every: Callable[[NorthflankSession], AsyncGenerator[Page[T], None]],
) -> int:
    """One page (``one``), or with ``--all`` every page (``every``)."""

    def batches(nf: NorthflankSession) -> AsyncGenerator[Batch[T], None]:
        return page_batches(every(nf)) if args.all else _one_page(lambda: one(nf))

    return await _write_listing(args, console, view, batches, walk=args.all, unit="page")


# -- the commands -------------------------------------------------------------------------------


def _paging_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords every ``list_*_pages`` / ``get_*_page`` call of the SDK takes."""
    return {
        "team_id": args.team_id,
        "per_page": args.per_page,
        "page": args.page,
        "cursor": args.cursor,
    }


async def _get_addon_backups(args: argparse.Namespace, console: Console) -> int:
    ids = (args.project_id, args.addon_id)
    paging = _paging_keywords(args)
    return await _paged_listing(
        args,
        console,
        BACKUPS,
        lambda nf: nf.get_backup_page(*ids, **paging),
        lambda nf: nf.list_backup_pages(*ids, **paging),
    )


async def _list_projects(args: argparse.Namespace, console: Console) -> int:
    paging = _paging_keywords(args)
    return await _paged_listing(
        args,
        console,
        PROJECTS,
        lambda nf: nf.get_project_page(**paging),
        lambda nf: nf.list_project_pages(**paging),
    )


async def _list_addons(args: argparse.Namespace, console: Console) -> int:
    paging = _paging_keywords(args)
    return await _paged_listing(
        args,
        console,
        ADDONS,
        lambda nf: nf.get_addon_page(args.project_id, **paging),
        lambda nf: nf.list_addon_pages(args.project_id, **paging),
    )


async def _addon_backup_batches(
    nf: NorthflankSession, stream: AsyncGenerator[AddonBackup, None]
) -> AsyncGenerator[Batch[AddonBackup], None]:
    """Each backup of a many-addon stream as it arrives; an addon counts once, when it starts."""
    seen: set[tuple[str, str]] = set()
    async with aclosing(stream):
        async for item in stream:
            key = (item.project_id, item.addon_id)
            yield Batch((item,), nf.rate_limit, units=0 if key in seen else 1)
            seen.add(key)


async def _get_project_backups(args: argparse.Namespace, console: Console) -> int:
    def batches(nf: NorthflankSession) -> AsyncGenerator[Batch[AddonBackup], None]:
        stream = nf.stream_backups(
            args.project_id,
            team_id=args.team_id,
            concurrency=args.concurrency,
            per_page=args.per_page,
        )
        return _addon_backup_batches(nf, stream)

    return await _write_listing(args, console, ADDON_BACKUPS, batches, walk=True, unit="addon")
