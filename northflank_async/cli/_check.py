"""The health check command: ``check backups``.

It runs ``NorthflankSession.check_backups`` and writes one verdict per addon: a table
for people (unhealthy addons first), a JSON array, JSON lines as each addon is done,
or the Prometheus text exposition (:mod:`._prometheus`). A summary line goes to
stderr. The exit code is the verdict, for cron and CI: 0 when every addon is healthy,
:data:`~._common.UNHEALTHY` (3) when one is not, 1 for an API or network error, 2 for
a usage error. With ``--output-file`` the output replaces that file whole (a
temporary file renamed into place); with ``-o prometheus`` it is written even when
the run fails, saying ``northflank_backup_check_success 0``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import aclosing, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from .._convert import converter
from .._errors import NorthflankError
from .._health import BackupHealth, describe_span, short_error
from ._common import (
    OK,
    UNHEALTHY,
    Commands,
    Console,
    Failure,
    UsageError,
    common_options,
    option,
    session,
    whole_number,
)
from ._output import counted, format_table, human_size, printable
from ._prometheus import AtomicFile, CheckRun, exposition

__all__ = [
    "CHECK_FORMATS",
    "health_json",
    "health_table",
    "parse_duration",
    "register",
    "summary",
]

#: The ``-o`` formats of ``check backups``, the default first.
CHECK_FORMATS = ("table", "json", "jsonl", "prometheus")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

_DETAILS = (
    "An addon is unhealthy when it has no backups at all, has never completed one, its "
    "last completed backup is older than --max-age, its latest backup failed, or backups "
    "failed within --window; an addon whose backups cannot be read (403, 404, bad data) "
    "is unhealthy too. Exit codes: 0 every addon healthy, 3 any unhealthy, 1 an API or "
    "network error, 2 a usage error. With --output-file the output replaces that file "
    "whole (for node_exporter's textfile collector: -o prometheus --output-file "
    "DIR/northflank_backups.prom); a failed run still writes its prometheus file, with "
    "northflank_backup_check_success 0."
)


def parse_duration(text: str) -> timedelta:
    """An option value: a positive duration such as ``45m``, ``26h``, ``7d`` or ``1.5h``.

    A number (integer or decimal) and one unit: ``s``, ``m``, ``h`` or ``d``.
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 45m, 26h, 7d or 1.5h, got {text!r}"
        )
    number, unit = match.groups()
    try:
        value = timedelta(**{_UNITS[unit]: float(number)})
    except OverflowError:
        raise argparse.ArgumentTypeError(f"duration too long: {text!r}") from None
    if value <= timedelta(0):
        raise argparse.ArgumentTypeError(f"expected a duration above 0, got {text!r}")
    return value


def _concurrency(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def register(commands: Commands) -> None:
    """Add ``check backups``."""
    options = common_options()
    # The check has its own formats: a table by default, and prometheus (no yaml).
    output = options._option_string_actions["-o"]
    output.choices = CHECK_FORMATS
    output.default = CHECK_FORMATS[0]
    output.help = "output format (default table)"
    sub = commands.leaf(
        commands.group("check", help="check the health of backups", metavar="WHAT"),
        "backups",
        _check_backups,
        parents=[options],
        help="Check that every addon has a recent completed backup and no recent failures.",
        details=_DETAILS,
    )
    option(sub, "projectId", metavar="ID", help="only the addons of this project")
    option(
        sub,
        "addonId",
        action="extend",
        nargs="+",
        metavar="ID",
        help="only these addons of --projectId (repeat it, or give several)",
    )
    option(
        sub,
        "max-age",
        type=parse_duration,
        default=timedelta(hours=26),
        metavar="DURATION",
        help="the oldest a last completed backup may be, such as 26h (the default) or 45m",
    )
    sub.add_argument(
        "--window",
        type=parse_duration,
        default=timedelta(days=7),
        metavar="DURATION",
        help="how far back a failed backup counts, such as 7d (the default)",
    )
    option(
        sub,
        "output-file",
        metavar="PATH",
        help="write the output to PATH (replaced whole, atomically) instead of stdout",
    )
    sub.add_argument(
        "--concurrency", type=_concurrency, default=4, metavar="N", help="addons walked at once"
    )


# -- how verdicts are shown -------------------------------------------------------------------


def _order(health: BackupHealth) -> tuple[bool, str, str]:
    """Unhealthy addons first, then by project and addon."""
    return (health.healthy, health.project_id, health.addon_id)


def _count(health: BackupHealth, value: int) -> str:
    return "-" if health.error is not None else str(value)


def _last_completed(health: BackupHealth) -> str:
    if health.error is not None:
        return "-"
    age = health.last_completed_age
    return "never" if age is None else f"{describe_span(age)} ago"


def health_table(results: Sequence[BackupHealth], window: timedelta) -> str:
    """The verdicts as aligned columns, unhealthy addons first; server text escaped."""
    headers = [
        "STATUS",
        "PROJECT",
        "ADDON",
        "LAST COMPLETED",
        f"FAILED ({describe_span(window)})",
        "IN PROGRESS",
        "TOTAL",
        "SIZE",
        "PROBLEMS",
    ]
    rows = [
        [
            printable(cell)
            for cell in (
                "healthy" if health.healthy else "UNHEALTHY",
                health.project_id,
                health.addon_id,
                _last_completed(health),
                _count(health, health.failed_in_window),
                _count(health, health.in_progress),
                _count(health, health.total),
                "-" if health.error is not None else human_size(health.completed_bytes),
                "; ".join(health.problems) or "-",
            )
        ]
        for health in sorted(results, key=_order)
    ]
    return format_table(headers, rows, {3, 4, 5, 6, 7})


def health_json(health: BackupHealth) -> dict[str, Any]:
    """One verdict as a JSON object (camelCase, as the API's); unknown counts are null."""
    known = health.error is None
    age = health.last_completed_age
    last = health.last_completed
    return {
        "projectId": health.project_id,
        "addonId": health.addon_id,
        "healthy": health.healthy,
        "problems": list(health.problems),
        "lastCompleted": None if last is None else converter.unstructure(last),
        "lastCompletedAgeSeconds": None if age is None else age.total_seconds(),
        "failedInWindow": health.failed_in_window if known else None,
        "inProgress": health.in_progress if known else None,
        "total": health.total if known else None,
        "completedBytes": health.completed_bytes if known else None,
        "error": None if health.error is None else short_error(health.error),
    }


def summary(results: Sequence[BackupHealth], max_age: timedelta, window: timedelta) -> str:
    """``3 of 12 addons unhealthy (max age 26 h, window 7 days)``."""
    if not results:
        return "no addons to check"
    unhealthy = sum(not health.healthy for health in results)
    limits = f"max age {describe_span(max_age)}, window {describe_span(window)}"
    return f"{unhealthy} of {counted(len(results), 'addon')} unhealthy ({limits})"


# -- the command ------------------------------------------------------------------------------


@contextmanager
def _destination(path: str | None, stdout: TextIO) -> Iterator[TextIO]:
    """Where the output goes: ``stdout``, or a file that replaces ``path`` at the end.

    The file is created before any request, so a path that cannot be written is a
    usage error that costs no request; a write that fails later is a Failure (exit 1).
    """
    if path is None:
        yield stdout
        return
    if os.path.isdir(path):
        raise UsageError(f"--output-file {path} is a directory; give a file's path")
    try:
        target = AtomicFile(path)
    except OSError as error:
        raise UsageError(f"--output-file {path}: cannot write there: {error.strerror}") from None
    try:
        with target as out:
            yield out
    except OSError as error:  # the disk filled up, say: the file is left as it was
        raise Failure(f"--output-file {path}: cannot write there: {error.strerror}") from None


def _writer(output: str, out: TextIO) -> Callable[[BackupHealth], None]:
    """What is written as each verdict arrives: a JSON line for jsonl, else nothing yet."""

    def write_line(health: BackupHealth) -> None:
        out.write(json.dumps(health_json(health), separators=(",", ":")) + "\n")
        out.flush()

    return write_line if output == "jsonl" else lambda _: None


async def _check_backups(args: argparse.Namespace, console: Console) -> int:
    if args.addon_id and args.project_id is None:
        raise UsageError("--addonId needs --projectId: the project the addons belong to")
    started = time.monotonic()
    now = datetime.now(UTC)
    nf = session(args)  # a missing token or a bad base URL: before the output file is made
    results: list[BackupHealth] = []
    failure: NorthflankError | None = None

    def run(success: bool) -> CheckRun:
        duration = time.monotonic() - started
        return CheckRun(success, duration, now, args.max_age, args.window)

    with _destination(args.output_file, console.stdout) as out:
        arrived = _writer(args.output, out)
        try:
            async with nf:
                checks = nf.check_backups(
                    args.project_id,
                    team_id=args.team_id,
                    addon_ids=args.addon_id,
                    max_age=args.max_age,
                    window=args.window,
                    now=now,
                    concurrency=args.concurrency,
                )
                async with aclosing(checks):
                    async for health in checks:
                        results.append(health)
                        arrived(health)
        except NorthflankError as error:
            if args.output != "prometheus":
                raise
            # Alerting must see a failed run: the file says so, then the command fails.
            out.write(exposition([], run(success=False)))
            failure = error
        else:
            if args.output == "table":
                out.write(health_table(results, args.window))
            elif args.output == "json":
                array = [health_json(health) for health in sorted(results, key=_order)]
                out.write(json.dumps(array, indent=2) + "\n")
            elif args.output == "prometheus":
                out.write(exposition(results, run(success=True)))
        out.flush()
    if failure is not None:
        raise failure
    line = summary(results, args.max_age, args.window)
    if all(health.healthy for health in results):
        console.note(line)
        return OK
    console.alert(line)  # even with --quiet: it is why the exit code is 3
    return UNHEALTHY
