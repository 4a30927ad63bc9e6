"""The fake-API commands: ``demo`` and ``mock serve``.

``demo`` runs the SDK against MockNorthflank in this process and summarises what it
streamed (:class:`Summary`), then checks the backups of a realistic fake team and ends
with the check's table; ``mock serve`` serves MockNorthflank to other clients until
SIGINT or SIGTERM. :mod:`northflank_async.testing` is imported only when one of them runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any, TextIO

from .._config import is_loopback
from .._models import Backup, BackupStatus
from .._pagination import MAX_PER_PAGE
from .._session import NorthflankSession
from ._check import health_table, summary
from ._common import (
    OK,
    PROG,
    Commands,
    Console,
    Failure,
    UsageError,
    option,
    port,
    seconds,
    whole_number,
)
from ._output import (
    BACKUPS,
    Writer,
    backup_source,
    emit,
    format_table,
    human_size,
    make_writer,
    page_batches,
    text_or_dash,
)

__all__ = ["DEMO_MAX_BACKUPS", "Summary", "register"]

#: The most backups ``demo --backups`` generates per addon: a demo, not a load test.
DEMO_MAX_BACKUPS = 10_000


def _from(low: int, high: int) -> Callable[[str], int]:
    """An option value: an integer from ``low`` to ``high``, checked when parsed."""

    def number(text: str) -> int:
        value = whole_number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low} to {high}, got {text!r}")
        return value

    return number


def register(commands: Commands) -> None:
    """Add ``demo`` and ``mock serve``."""
    demo = commands.top(
        "demo",
        _demo,
        help="Stream the backups of a fake addon through the SDK, then check a fake team's "
        "backups: no token, no network.",
    )
    # Every value is checked when parsed, so nothing is printed before a usage error.
    demo.add_argument(
        "--backups",
        type=_from(0, DEMO_MAX_BACKUPS),
        default=300,
        metavar="N",
        help=f"0 to {DEMO_MAX_BACKUPS}, default 300",
    )
    option(
        demo,
        "per_page",
        type=_from(1, MAX_PER_PAGE),
        default=50,
        metavar="N",
        help=f"1 to {MAX_PER_PAGE}, default 50",
    )
    demo.add_argument("--latency", type=seconds, default=0.02, help="seconds per request")
    demo.add_argument("--verbose", action="store_true", help="log every request on stderr")
    demo.add_argument("--quiet", action="store_true", help="no progress and no notes")

    serve = commands.leaf(
        commands.group("mock", help="the fake Northflank API", metavar="WHAT"),
        "serve",
        _mock_serve,
        help="Serve a fake Northflank API (generated projects, addons and backups) until Ctrl-C.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    serve.add_argument("--port", type=port, default=8080, help="default 8080; 0: a free port")
    serve.add_argument(
        "--backups",
        type=whole_number,
        default=250,
        metavar="N",
        help="per addon, default 250 (not with --realistic)",
    )
    serve.add_argument(
        "--realistic",
        action="store_true",
        help="serve a team whose addons' backups are a realistic mix (fresh, stale, failing, "
        "empty, unreadable) for `check backups`, instead of generated ones",
    )
    serve.add_argument("--token", default="nf-test-token", help="the token to accept")
    serve.add_argument("--latency", type=seconds, default=0.0, help="seconds per request")
    option(
        serve,
        "rate-limit",
        type=whole_number,
        default=1000,
        metavar="N",
        help="requests allowed per hour, as the API's default (1000)",
    )
    option(
        serve,
        "allow-non-loopback",
        action="store_true",
        help="allow a --host other than a loopback address",
    )


class Summary:
    """A writer that counts backups by status, source and compression, and their size."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._count: Counter[str] = Counter()
        self._size: Counter[str] = Counter()
        self._sources: Counter[str] = Counter()
        self._compressions: Counter[str] = Counter()

    def write(self, items: Sequence[Backup]) -> None:
        """Count these backups."""
        for backup in items:
            status = str(backup.status)
            self._count[status] += 1
            self._size[status] += backup.config.size
            self._sources[backup_source(backup)] += 1
            self._compressions[text_or_dash(backup.config.compression_type)] += 1

    def close(self, complete: bool) -> None:
        """Print the summary: a table by status, then the sources and compressions."""
        known = [str(status) for status in BackupStatus]
        order = [s for s in known if s in self._count] + sorted(set(self._count) - set(known))
        rows = [[s, str(self._count[s]), human_size(self._size[s])] for s in order]
        rows.append(["total", str(self._count.total()), human_size(sum(self._size.values()))])
        self._out.write("\n" + format_table(["STATUS", "BACKUPS", "SIZE"], rows, {1, 2}))
        for label, counter in (("sources", self._sources), ("compression", self._compressions)):
            listed = ", ".join(f"{name} {count}" for name, count in counter.most_common())
            self._out.write(f"{label}: {listed or '-'}\n")
        self._out.flush()


async def _demo(args: argparse.Namespace, console: Console) -> int:
    from ..testing import MockNorthflank  # only the demo and the mock server need it

    project = "project-1"
    started = time.perf_counter()
    async with MockNorthflank(latency=args.latency) as mock:
        mock.generate_team(projects=1, addons_per_project=3, backups_per_addon=args.backups)
        async with NorthflankSession(mock.token, base_url=mock.base_url) as nf:
            addon = (await nf.get_addon_page(project, per_page=1)).addons[0]
            console.note(
                f"A fake Northflank API (MockNorthflank) is serving a generated team on "
                f"{mock.base_url}.\nStreaming every backup of addon {addon.id} ({addon.spec.type}) "
                f"of {project}, {args.per_page} per page, through NorthflankSession.list_backup_pages:\n"
            )
            pages = nf.list_backup_pages(project, addon.id, per_page=args.per_page)
            progress = console.progress("backup", "page", walk=True)
            writers: list[Writer[Any]] = [
                make_writer("table", console.stdout, BACKUPS),
                Summary(console.stdout),
            ]
            await emit(page_batches(pages), writers, progress)
    console.note(f"\n{progress.items} backups in {progress.units} pages.")
    await _demo_check(args, console)
    console.note(
        f"\n{time.perf_counter() - started:.2f} s in all. Next: `{PROG} check backups` checks "
        f"your own team (exit code 3 when an addon is unhealthy); `{PROG} mock serve` runs "
        "this fake API for your own client (--realistic: this team)."
    )
    return OK


#: The limits the demo checks by: those of ``check backups`` by default.
_DEMO_MAX_AGE, _DEMO_WINDOW = timedelta(hours=26), timedelta(days=7)


async def _demo_check(args: argparse.Namespace, console: Console) -> None:
    """Check the backups of a realistic fake team and print the check's table.

    Some of its addons are unhealthy on purpose; the demo still exits 0.
    """
    from ..testing import MockNorthflank

    async with MockNorthflank(latency=args.latency) as mock:
        mock.generate_realistic_team()
        console.note(
            "\nChecking the backups of a fake team with NorthflankSession.check_backups "
            f"(as `{PROG} check backups` does); some of its addons are unhealthy on purpose:"
        )
        async with NorthflankSession(mock.token, base_url=mock.base_url) as nf:
            checks = nf.check_backups(max_age=_DEMO_MAX_AGE, window=_DEMO_WINDOW)
            results = [health async for health in checks]
    console.stdout.write("\n" + health_table(results, _DEMO_WINDOW))
    console.stdout.flush()
    console.note("\n" + summary(results, _DEMO_MAX_AGE, _DEMO_WINDOW))


@contextlib.contextmanager
def _stop_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (where the event loop can catch signals)."""
    loop = asyncio.get_running_loop()
    caught: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (
            NotImplementedError,
            RuntimeError,
        ):  # pragma: no cover - Windows, or not the main thread
            continue
        caught.append(sig)
    try:
        yield
    finally:
        for sig in caught:
            loop.remove_signal_handler(sig)


async def _mock_serve(args: argparse.Namespace, console: Console) -> int:
    from ..testing import MockNorthflank

    if not is_loopback(args.host) and not args.allow_non_loopback:
        raise UsageError(
            f"--host {args.host} is not a loopback address: the fake API accepts a fixed, "
            "known token; add --allow-non-loopback to serve it to other machines anyway"
        )
    mock = MockNorthflank(token=args.token, latency=args.latency, rate_limit=args.rate_limit)
    if args.realistic:
        kinds = mock.generate_realistic_team()
        projects = list(dict.fromkeys(project for project, _ in kinds))
        data = (
            f"a realistic team: projects {', '.join(projects[:-1])} and {projects[-1]}, "
            f"{len(kinds)} addons whose backups are fresh, stale, failing, empty or unreadable"
        )
        tries = [
            f"{PROG} check backups",
            f"{PROG} list addons --projectId {projects[0]} -o table",
        ]
    else:
        mock.generate_team(projects=2, addons_per_project=3, backups_per_addon=args.backups)
        data = f"projects project-1 and project-2, 3 addons each, {args.backups} backups per addon"
        tries = [
            f"{PROG} list addons --projectId project-1 -o table",
            f"{PROG} get addon backups --projectId project-1 --addonId postgresql-1 -o table",
        ]
    stop = asyncio.Event()
    with _stop_signals(stop):
        try:
            url = await mock.start(args.host, args.port)
        except OSError as error:
            raise Failure(
                f"cannot serve on {args.host} port {args.port}: {error.strerror}"
            ) from None
        try:
            token = shlex.quote(args.token)
            out = console.stdout
            tries = [
                f"export NORTHFLANK_API_BASE_URL={url} NORTHFLANK_API_TOKEN={token}",
                *tries,
                f"curl -H 'Authorization: Bearer {args.token}' {url}/v1/projects",
                f"northflank login --token {token} --host {url}   "
                "# the official CLI: it checks the token with GET /v1/login",
            ]
            out.write(
                f"MockNorthflank: a fake Northflank API on {url}\n"
                f"token: {args.token}\n"
                f"data: {data}\n\n"
                "Point a client at it:\n"
                + "".join(f"  {line}\n" for line in tries)
                + "\nPress Ctrl-C to stop.\n"
            )
            out.flush()
            await stop.wait()
        finally:
            await mock.close()
    console.note(f"stopped after {len(mock.requests)} requests")
    return OK
