"""The commands that act on backups: start, read, delete, abort, retain, restore.

``backup addon`` and ``restore addon backup`` print the new backup or restore (with
``--wait``, its final state, its status changes shown on a terminal meanwhile);
``get addon backup`` prints one backup. ``delete backup``, ``abort addon backup``,
``retain addon backup`` and ``abort addon restore`` print nothing on stdout: a line on
stderr says what was done (not with ``--quiet``), the exit code says whether it was.
``get addon restores`` and ``get addon backup restores`` page like ``get addon backups``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from typing import Any, Protocol, TypeVar

from .._errors import WaitTimeoutError
from .._models import BackupType, CompressionType
from ._common import (
    API_ERROR,
    OK,
    PROG,
    Commands,
    Console,
    Failure,
    Group,
    Handler,
    Parser,
    UsageError,
    common_options,
    id_options,
    option,
    paging_options,
    session,
)
from ._listing import PAGING_DETAILS, paged_listing, paging_keywords
from ._output import BACKUPS, RESTORES, one_writer, printable

__all__ = ["DEFAULT_TIMEOUT", "register"]

#: Seconds ``--wait`` waits by default, as the SDK's ``timeout``.
DEFAULT_TIMEOUT = 3600.0

_ONE_LINE_DETAILS = (
    "Prints nothing on stdout: a line on stderr says what was done (not with --quiet); "
    "the exit code is 0 once the API took the request (-o is accepted and unused)."
)


#: The help of each verb group this family creates, in the program's --help.
_VERBS = {
    "abort": "abort a running backup or restore",
    "retain": "keep a backup past its expiry",
    "restore": "restore an addon to a backup",
}


class _Stateful(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...


S = TypeVar("S", bound=_Stateful)


def _timeout(text: str) -> float:
    """An option value: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


#: ``--sourceProjectId`` and ``--sourceAddonId``: the addon a global backup is of.
_SOURCE_IDS = (
    ("sourceProjectId", "the project of --sourceAddonId (give both or neither)"),
    ("sourceAddonId", "the addon the backup belongs to, if another one (a global backup)"),
)


def _wait_options(parser: Parser, noun: str) -> None:
    parser.add_argument(
        "--wait",
        action="store_true",
        help=f"wait until the {noun} ends and print its final state: exit 0 if completed, "
        "1 if it failed, was aborted or is not supported, or on --timeout",
    )
    parser.add_argument(
        "--timeout",
        type=_timeout,
        metavar="SECONDS",
        help=f"with --wait: stop waiting after SECONDS (default {DEFAULT_TIMEOUT:g}); "
        f"the {noun} itself goes on",
    )


def _wait_details(noun: str) -> str:
    return (
        f"With --wait, each status change of the {noun} and the time so far go to stderr "
        "on a terminal (not with --quiet); stdout gets the last state seen whatever the "
        f"end, for a script to go on with its id. On a timeout or Ctrl-C (exit 130) the "
        f"{noun} itself goes on: only the waiting stops."
    )


def _leaf(
    commands: Commands,
    group: Group,
    name: str,
    handler: Handler,
    *,
    ids: tuple[str, ...] = ("projectId", "addonId", "backupId"),
    source: bool = False,
    **kwargs: Any,
) -> Parser:
    """``commands.leaf`` with its ``--<id>`` options (``source``: and ``--source<...>Id``).

    Its name is kept as ``args.prog``, for the handler's usage errors.
    """
    sub = commands.leaf(group, name, handler, **kwargs)
    sub.set_defaults(prog=sub.prog)
    id_options(sub, *ids)
    for flag, text in _SOURCE_IDS if source else ():
        option(sub, flag, metavar="ID", help=text)
    return sub


def _needs(parser: Parser, handler: Handler, *dests: str) -> Handler:
    """``handler`` after checking that the options ``dests`` were given.

    For a command with subcommands, where argparse cannot require them.
    """

    async def checked(args: argparse.Namespace, console: Console) -> int:
        missing = [
            "/".join(action.option_strings)
            for action in parser._actions
            if action.dest in dests and getattr(args, action.dest) is None
        ]
        if missing:
            parser.error("the following arguments are required: " + ", ".join(missing))
        return await handler(args, console)

    return checked


def register(commands: Commands) -> None:
    """Add the commands acting on one backup or restore, and the restore listings.

    Each handler finds its command's name in ``args.prog``, for its usage errors.
    """
    one = [common_options()]
    paged = [common_options(), paging_options(page_and_cursor=True)]

    sub = _leaf(
        commands,
        commands.group("backup", help="start a backup of an addon", metavar="RESOURCE"),
        "addon",
        _backup_addon,
        ids=("projectId", "addonId"),
        parents=one,
        help="Start a backup of an addon and print it.",
        details="Without --name, the SDK names the backup 'backup <UTC date time> <suffix>', "
        "so a lost answer is settled without a second backup. " + _wait_details("backup"),
    )
    option(sub, "name", metavar="NAME", help="3 to 39 letters and digits, words joined by - / :")
    kinds, compressions = [k.value for k in BackupType], [c.value for c in CompressionType]
    option(sub, "backupType", choices=kinds, help="snapshot (the API's default) or dump")
    option(sub, "compressionType", choices=compressions, help="dumps only (the API's default gz)")
    option(sub, "customDestinationId", metavar="ID", help="a saved destination; dumps only")
    _wait_options(sub, "backup")

    get_addon = commands.get_group("addon", help="an addon's backups and restores")
    sub = commands.branch(
        "get",
        "addon",
        "backup",
        handler=_get_backup,
        parents=one,
        help="Print one backup (with 'restores': its restores; 'download': a download link).",
        details="Prints the backup, with lastRestore once it was restored. "
        "'get addon backup restores --help' tells of its restores.",
    )
    id_options(sub, "projectId", "addonId", "backupId", required=False)
    ids = "--projectId ID --addonId ID --backupId ID"
    sub.usage = (
        f"%(prog)s [options] {ids}\n       %(prog)s restores [options] {ids}"
        f"\n       %(prog)s download [options] {ids}"
    )
    checked = _needs(sub, _get_backup, "project_id", "addon_id", "backup_id")
    sub.set_defaults(handler=checked, prog=sub.prog)
    _leaf(
        commands,
        commands.group("get", "addon", "backup", help="", metavar="SUBCOMMAND"),
        "restores",
        _get_backup_restores,
        source=True,
        parents=paged,
        help="List the restores of one backup.",
        details=PAGING_DETAILS,
    )
    _leaf(
        commands,
        get_addon,
        "restores",
        _get_addon_restores,
        ids=("projectId", "addonId"),
        parents=paged,
        help="List the restores of an addon.",
        details=PAGING_DETAILS,
    )

    sub = _leaf(
        commands,
        commands.group("delete", help="delete a backup", metavar="RESOURCE"),
        "backup",
        _delete_backup,
        parents=one,
        help="Delete a backup of an addon, after a confirmation.",
        details="Asks on a terminal first; where stdin is not a terminal, refuses without "
        "--force (exit 2). Declined: exit 1, nothing deleted. " + _ONE_LINE_DETAILS,
    )
    sub.add_argument("--force", action="store_true", help="delete without asking")

    for verb, noun, handler, text in (
        ("abort", "backup", _abort_backup, "Abort a scheduled or running backup."),
        ("retain", "backup", _retain_backup, "Keep a backup a schedule made past its expiry."),
        ("restore", "backup", _restore_backup, "Restore an addon to a backup; print the restore."),
        ("abort", "restore", _abort_restore, "Abort a running restore."),
    ):
        commands.group(verb, help=_VERBS[verb], metavar="RESOURCE")
        restoring = handler is _restore_backup
        sub = _leaf(
            commands,
            commands.group(verb, "addon", help=f"{verb} an addon's {noun}", metavar="WHAT"),
            noun,
            handler,
            ids=("projectId", "addonId", "backupId", *(["restoreId"] if noun == "restore" else [])),
            source=noun == "restore" or restoring,
            parents=one,
            help=text,
            details=_wait_details("restore") if restoring else _ONE_LINE_DETAILS,
        )
        if restoring:
            _wait_options(sub, "restore")


# -- one backup ------------------------------------------------------------------------------


def _what(args: argparse.Namespace) -> str:
    return f"backup {args.backup_id} of addon {args.addon_id} in project {args.project_id}"


def _wait_timeout(args: argparse.Namespace) -> float:
    if args.timeout is not None and not args.wait:
        raise UsageError("--timeout is for --wait: add --wait or leave --timeout out", args.prog)
    return DEFAULT_TIMEOUT if args.timeout is None else float(args.timeout)


def _check_backup_type(args: argparse.Namespace) -> None:
    """The SDK's check of dump-only options, in the command line's words."""
    if args.backup_type == BackupType.DUMP:
        return
    for given, flag in (
        (args.compression_type, "compressionType"),
        (args.custom_destination_id, "customDestinationId"),
    ):
        if given is not None:
            raise UsageError(f"--{flag} is for dump backups only: add --backupType dump", args.prog)


async def _follow(
    console: Console,
    states: AsyncGenerator[S, None],
    what: str,
    show: Callable[[S], None],
    started: float,
) -> S:
    """The final state of a watch, each change shown on a terminal.

    Failure (exit 1) unless it completed, WaitTimeoutError past the timeout, each after
    the last state went to stdout; on Ctrl-C, a line saying that ``what`` goes on.
    """
    live = not console.quiet and console.stderr.isatty()
    last: S | None = None
    try:
        async with aclosing(states):
            async for state in states:
                last = state
                if live:
                    elapsed = time.monotonic() - started
                    console.note(printable(f"{what}: {state.status} ({elapsed:.1f} s)"))
    except WaitTimeoutError as error:
        show(error.last)
        raise
    except (KeyboardInterrupt, asyncio.CancelledError):
        # After the terminal's ^C, then before run()'s "interrupted".
        console.alert("\n" + printable(f"{PROG}: {what} goes on; only the wait was interrupted"))
        raise
    assert last is not None, "a watch yields at least one state"
    if last.status != "completed":
        show(last)
        raise Failure(printable(f"{what} ended {last.status}"))
    return last


async def _backup_addon(args: argparse.Namespace, console: Console) -> int:
    timeout = _wait_timeout(args)
    _check_backup_type(args)
    show = one_writer(args.output, console.stdout, BACKUPS)
    started = time.monotonic()
    async with session(args) as nf:
        backup = await nf.create_backup(
            args.project_id,
            args.addon_id,
            team_id=args.team_id,
            name=args.name,
            backup_type=args.backup_type,
            compression_type=args.compression_type,
            custom_destination_id=args.custom_destination_id,
        )
        if args.wait:
            states = nf.watch_backup(
                args.project_id, args.addon_id, backup.id, team_id=args.team_id, timeout=timeout
            )
            backup = await _follow(console, states, f"backup {backup.id}", show, started)
    show(backup)
    return OK


async def _get_backup(args: argparse.Namespace, console: Console) -> int:
    show = one_writer(args.output, console.stdout, BACKUPS)
    async with session(args) as nf:
        backup = await nf.get_backup(
            args.project_id, args.addon_id, args.backup_id, team_id=args.team_id
        )
    show(backup)
    return OK


def _confirm(console: Console, question: str) -> bool:
    """Ask ``question`` on stderr; whether the line read from stdin says y or yes."""
    console.stderr.write(question)
    console.stderr.flush()
    answer = console.stdin.readline()
    if not answer.endswith("\n"):  # end of input: end the question's line
        console.stderr.write("\n")
    return answer.strip().lower() in ("y", "yes")


async def _delete_backup(args: argparse.Namespace, console: Console) -> int:
    what = printable(_what(args))
    if not args.force and not console.stdin.isatty():
        raise UsageError(
            f"not deleting {what} without --force: stdin is not a terminal, so no one can confirm",
            args.prog,
        )
    async with session(args) as nf:
        if not args.force and not _confirm(console, f"Delete {what}? [y/N] "):
            console.alert(f"{PROG}: cancelled: {what} was not deleted")
            return API_ERROR
        await nf.delete_backup(args.project_id, args.addon_id, args.backup_id, team_id=args.team_id)
    console.note(f"deleted {what}")
    return OK


async def _abort_backup(args: argparse.Namespace, console: Console) -> int:
    async with session(args) as nf:
        await nf.abort_backup(args.project_id, args.addon_id, args.backup_id, team_id=args.team_id)
    console.note(printable(f"aborting {_what(args)}"))
    return OK


async def _retain_backup(args: argparse.Namespace, console: Console) -> int:
    async with session(args) as nf:
        await nf.retain_backup(args.project_id, args.addon_id, args.backup_id, team_id=args.team_id)
    console.note(printable(f"retained {_what(args)}: it is kept past its expiry"))
    return OK


# -- restores --------------------------------------------------------------------------------


def _source(args: argparse.Namespace) -> dict[str, Any]:
    return {"source_project_id": args.source_project_id, "source_addon_id": args.source_addon_id}


async def _restore_backup(args: argparse.Namespace, console: Console) -> int:
    timeout = _wait_timeout(args)
    show = one_writer(args.output, console.stdout, RESTORES)
    started = time.monotonic()
    ids = (args.project_id, args.addon_id, args.backup_id)
    async with session(args) as nf:
        restore = await nf.restore_backup(*ids, team_id=args.team_id, **_source(args))
        if args.wait:
            states = nf.watch_restore(
                *ids, restore.id, team_id=args.team_id, timeout=timeout, **_source(args)
            )
            what = f"restore {restore.id} of backup {args.backup_id}"
            restore = await _follow(console, states, what, show, started)
    show(restore)
    return OK


async def _abort_restore(args: argparse.Namespace, console: Console) -> int:
    async with session(args) as nf:
        await nf.abort_restore(
            args.project_id,
            args.addon_id,
            args.backup_id,
            args.restore_id,
            team_id=args.team_id,
            **_source(args),
        )
    console.note(printable(f"aborting restore {args.restore_id} of {_what(args)}"))
    return OK


async def _get_addon_restores(args: argparse.Namespace, console: Console) -> int:
    ids = (args.project_id, args.addon_id)
    paging = paging_keywords(args)
    return await paged_listing(
        args,
        console,
        RESTORES,
        lambda nf: nf.get_restore_page(*ids, **paging),
        lambda nf: nf.list_restore_pages(*ids, **paging, max_items=args.max_items),
    )


async def _get_backup_restores(args: argparse.Namespace, console: Console) -> int:
    ids = (args.project_id, args.addon_id, args.backup_id)
    keywords = {**paging_keywords(args), **_source(args)}
    return await paged_listing(
        args,
        console,
        RESTORES,
        lambda nf: nf.get_backup_restore_page(*ids, **keywords),
        lambda nf: nf.list_backup_restore_pages(*ids, **keywords, max_items=args.max_items),
    )
