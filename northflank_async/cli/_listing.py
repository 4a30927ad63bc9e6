"""The listing commands: ``get addon backups``, ``get project backups``, ``list ...``.

``list projects`` and ``list addons`` page like ``get addon backups``, which does what
the official CLI does: every page by default, one page with ``--page`` or ``--cursor``
(every page from there with ``--all``). Each command turns its walk into
:class:`~._output.Batch` es, or, for a project, each backup of every addon as it
arrives. Where the listing stopped before its end (one page, ``--max-items``), the next
cursor goes to stderr for a script to go on.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import aclosing
from typing import Any, TypeVar

from .._errors import NorthflankError
from .._log import logger
from .._models import AddonBackup, Page
from .._session import NorthflankSession
from ._common import (
    OK,
    PARTIAL,
    Commands,
    Console,
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
    counted,
    emit,
    make_writer,
    page_batch,
    page_batches,
    printable,
)

__all__ = ["PAGING_DETAILS", "paged_listing", "paging_keywords", "register"]

T = TypeVar("T")

#: How a paged listing pages, in its ``--help``.
PAGING_DETAILS = (
    "Like the official CLI: every page, unless --page or --cursor asks for one page "
    "(--all: every page from there on). Where the listing stops before its end (one "
    "page, --max-items), the next cursor goes to stderr as 'next cursor: X'."
)


def register(commands: Commands) -> None:
    """Add ``get addon backups``, ``get project backups``, ``list projects`` and ``list addons``."""
    paged = [common_options(), paging_options(page_and_cursor=True)]

    sub = commands.leaf(
        commands.get_group("addon", help="an addon's backups and restores"),
        "backups",
        _get_addon_backups,
        parents=paged,
        help="List the backups of an addon.",
        details=PAGING_DETAILS,
    )
    option(sub, "projectId", required=True, metavar="ID", help="ID of the project")
    option(sub, "addonId", required=True, metavar="ID", help="ID of the addon")

    sub = commands.leaf(
        commands.get_group("project", help="the backups of every addon of a project"),
        "backups",
        _get_project_backups,
        parents=[common_options(), paging_options(page_and_cursor=False)],
        help="Stream every backup of every addon of a project (always every page).",
        details="With --skip-errors, an addon that cannot be read (deleted, forbidden) is "
        f"reported on stderr and passed over; the command exits {PARTIAL} once the others "
        "are printed.",
    )
    option(sub, "projectId", required=True, metavar="ID", help="ID of the project")
    sub.add_argument(
        "--concurrency", type=whole_number, default=4, metavar="N", help="addons walked at once"
    )
    option(
        sub,
        "skip-errors",
        action="store_true",
        help="go on past an addon that cannot be read (deleted, forbidden): "
        f"say so on stderr, then exit {PARTIAL}",
    )

    lists = commands.list_group()
    commands.leaf(
        lists,
        "projects",
        _list_projects,
        parents=paged,
        help="List the projects the token can see.",
        details=PAGING_DETAILS,
    )
    sub = commands.leaf(
        lists,
        "addons",
        _list_addons,
        parents=paged,
        help="List the addons of a project.",
        details=PAGING_DETAILS,
    )
    option(sub, "projectId", required=True, metavar="ID", help="ID of the project")


# -- the walk, shared by every listing --------------------------------------------------------


async def _one_page(fetch: Callable[[], Awaitable[Page[T]]]) -> AsyncGenerator[Batch[T], None]:
    yield page_batch(await fetch())


def _say_where_it_stopped(console: Console, last: Batch[Any] | None, noun: str) -> None:
    """The next cursor, if the listing stopped before its end (always printed: a script
    needs it to go on), after a note if ``--max-items`` cut the last page."""
    if last is None or last.next_cursor is None:
        return
    if last.left_out:
        console.note(
            printable(
                f"note: {counted(last.left_out, noun)} of the last page not shown "
                "(--max-items); the next cursor goes on after them "
                "(a --max-items multiple of --per_page ends on a page boundary)"
            )
        )
    console.alert(printable(f"next cursor: {last.next_cursor}"))


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
    writer = make_writer(args.output, console.stdout, view)  # -o yaml fails here, before a request
    async with session(args) as nf:
        progress = console.progress(view.noun, unit, walk=walk)
        last = await emit(capped(batches(nf), args.max_items), [writer], progress)
    _say_where_it_stopped(console, last, view.noun)
    return OK


async def paged_listing(
    args: argparse.Namespace,
    console: Console,
    view: View[T],
    one: Callable[[NorthflankSession], Awaitable[Page[T]]],
    every: Callable[[NorthflankSession], AsyncGenerator[Page[T], None]],
) -> int:
    """Every page (``every``, which stops at ``--max-items``), or one page (``one``) for
    ``--page`` or ``--cursor`` without ``--all``."""
    walk = args.all or (args.page is None and args.cursor is None)

    def batches(nf: NorthflankSession) -> AsyncGenerator[Batch[T], None]:
        return page_batches(every(nf)) if walk else _one_page(lambda: one(nf))

    return await _write_listing(args, console, view, batches, walk=walk, unit="page")


# -- the commands -------------------------------------------------------------------------------


def paging_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords every ``list_*_pages`` / ``get_*_page`` call of the SDK takes."""
    return {
        "team_id": args.team_id,
        "per_page": args.per_page,
        "page": args.page,
        "cursor": args.cursor,
    }


async def _get_addon_backups(args: argparse.Namespace, console: Console) -> int:
    ids = (args.project_id, args.addon_id)
    paging = paging_keywords(args)
    return await paged_listing(
        args,
        console,
        BACKUPS,
        lambda nf: nf.get_backup_page(*ids, **paging),
        lambda nf: nf.list_backup_pages(*ids, **paging, max_items=args.max_items),
    )


async def _list_projects(args: argparse.Namespace, console: Console) -> int:
    paging = paging_keywords(args)
    return await paged_listing(
        args,
        console,
        PROJECTS,
        lambda nf: nf.get_project_page(**paging),
        lambda nf: nf.list_project_pages(**paging, max_items=args.max_items),
    )


async def _list_addons(args: argparse.Namespace, console: Console) -> int:
    paging = paging_keywords(args)
    return await paged_listing(
        args,
        console,
        ADDONS,
        lambda nf: nf.get_addon_page(args.project_id, **paging),
        lambda nf: nf.list_addon_pages(args.project_id, **paging, max_items=args.max_items),
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


class _SkipsReportedHere(logging.Filter):
    """Drops the SDK's warning for a skipped addon: the command reports each skip itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("skipping the backups of ")


@contextlib.contextmanager
def _skips_reported_here() -> Iterator[None]:
    """Keep the SDK's skip warnings off stderr while the command says them itself."""
    only_once = _SkipsReportedHere()
    logger.addFilter(only_once)
    try:
        yield
    finally:
        logger.removeFilter(only_once)


async def _get_project_backups(args: argparse.Namespace, console: Console) -> int:
    skipped: list[tuple[str, str | None]] = []

    def on_skip(project_id: str, addon_id: str | None, error: NorthflankError) -> None:
        # Printed even with --quiet: it is why the exit code is not 0.
        skipped.append((project_id, addon_id))
        what = "the addons" if addon_id is None else f"addon {addon_id}"
        console.alert(printable(f"skipped {what} of project {project_id}: {error}"))

    def batches(nf: NorthflankSession) -> AsyncGenerator[Batch[AddonBackup], None]:
        stream = nf.stream_backups(
            args.project_id,
            team_id=args.team_id,
            concurrency=args.concurrency,
            per_page=args.per_page,
            on_error="skip" if args.skip_errors else "raise",
            on_skip=on_skip,
        )
        return _addon_backup_batches(nf, stream)

    with _skips_reported_here():
        code = await _write_listing(args, console, ADDON_BACKUPS, batches, walk=True, unit="addon")
    return PARTIAL if skipped else code
