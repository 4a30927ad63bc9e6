"""The ``northflank-async`` command line (also ``python -m northflank_async``).

::

    northflank-async get addon backups --projectId P --addonId A [--all] [-o json|jsonl|yaml|table]
    northflank-async get project backups --projectId P [--concurrency N]
    northflank-async list projects | list addons --projectId P
    northflank-async demo                 # the SDK against a fake API, no account needed
    northflank-async mock serve           # that fake API as a server for other clients

Exit codes: 0 success, 1 an API or network error, 2 a usage error (bad or missing
arguments, no token), 130 interrupted (Ctrl-C), 141 stdout closed by its reader.
:func:`run` is the whole program as a coroutine; :func:`main` runs it with
``asyncio.run``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import shlex
import signal
import sys
import time
import traceback
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from contextlib import aclosing
from typing import Any, NoReturn, TextIO, TypeVar

from ._cli_output import (
    ADDON_BACKUPS,
    ADDONS,
    BACKUPS,
    FORMATS,
    PROJECTS,
    Batch,
    MissingYAML,
    Progress,
    Summary,
    View,
    Writer,
    capped,
    emit,
    make_writer,
)
from ._config import TOKEN_VARIABLES, is_loopback
from ._errors import ConfigurationError, NorthflankError
from ._log import logger
from ._models import AddonBackup, Page
from ._pagination import MAX_PER_PAGE
from ._session import NorthflankSession
from ._version import __version__

__all__ = ["main", "run"]

PROG = "northflank-async"
T = TypeVar("T")

#: Exit codes.
OK, API_ERROR, USAGE, INTERRUPTED, BROKEN_PIPE = 0, 1, 2, 130, 141


class UsageError(Exception):
    """The command line cannot be run as given; ``prog`` names the (sub)command."""

    def __init__(self, message: str, prog: str = PROG) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog)


class _Console:
    """Where the program writes: data to ``stdout``; progress, notes and errors to ``stderr``."""

    def __init__(self, stdout: TextIO, stderr: TextIO, *, quiet: bool) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.quiet = quiet

    def note(self, text: str) -> None:
        """A line for people, left out with ``--quiet``."""
        if not self.quiet:
            self.stderr.write(text + "\n")
            self.stderr.flush()

    def progress(self, noun: str, unit: str, *, walk: bool) -> Progress:
        """A progress line for a walk, drawn only on a terminal and never with ``--quiet``."""
        enabled = walk and not self.quiet and self.stderr.isatty()
        return Progress(
            self.stderr,
            noun=noun,
            unit=unit,
            enabled=enabled,
            shares_screen=enabled and self.stdout.isatty(),
        )


# -- options ---------------------------------------------------------------------------------


def _spellings(name: str) -> tuple[str, list[str]]:
    """``(dest, ["--name", ...])``: the name as given, then its camel, snake and kebab forms."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_").lower()
    head, *rest = snake.split("_")
    camel = head + "".join(part.title() for part in rest)
    forms = dict.fromkeys([name, camel, snake, snake.replace("_", "-")])
    return snake, ["--" + form for form in forms]


def _option(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> None:
    dest, flags = _spellings(name)
    parser.add_argument(*flags, dest=dest, **kwargs)


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _port(text: str) -> int:
    value = _whole_number(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 <= value <= 60:
        raise argparse.ArgumentTypeError(f"expected 0 to 60 seconds, got {text!r}")
    return value


def _common() -> _Parser:
    """The options every listing command shares: output, chattiness, where and who."""
    parser = _Parser(add_help=False)
    parser.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default="json",
        help="output format (default json; yaml needs PyYAML)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log every request on stderr; tracebacks on errors"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress and no notes on stderr (errors stay)"
    )
    parser.add_argument(
        "--token",
        help=f"API token (default: ${TOKEN_VARIABLES[0]} or ${TOKEN_VARIABLES[1]}; "
        "prefer those: arguments show up in the process list)",
    )
    _option(
        parser,
        "base-url",
        help="API base URL (default: $NORTHFLANK_API_BASE_URL, $NF_API_HOST, $NF_HOST, "
        "else https://api.northflank.com)",
    )
    _option(parser, "teamId", metavar="ID", help="use the /v1/teams/{teamId}/... routes")
    return parser


def _paging(*, page_and_cursor: bool) -> _Parser:
    parser = _Parser(add_help=False)
    _option(
        parser,
        "per_page",
        type=_whole_number,
        default=MAX_PER_PAGE,
        metavar="N",
        help=f"results per request, 1 to 100 (default {MAX_PER_PAGE})",
    )
    if page_and_cursor:
        parser.add_argument(
            "--page", type=_whole_number, metavar="N", help="page number to start at"
        )
        parser.add_argument("--cursor", help="cursor a previous invocation printed, to go on from")
    parser.add_argument("--all", action="store_true", help="follow the cursor through every page")
    _option(
        parser,
        "max-items",
        type=_whole_number,
        metavar="N",
        help="with --all: stop after N results",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: ``get``, ``list``, ``demo`` and ``mock serve``."""
    parser = _Parser(
        prog=PROG,
        description="The Northflank API from the command line, on the northflank-async SDK.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = [_common()]
    paged = [*listing, _paging(page_and_cursor=True)]

    def leaf(
        group: argparse._SubParsersAction[_Parser],
        name: str,
        handler: Callable[[argparse.Namespace, _Console], Awaitable[int]],
        parents: list[_Parser],
        help: str,
    ) -> _Parser:
        sub = group.add_parser(
            name, parents=parents, help=help, description=help, allow_abbrev=False
        )
        sub.set_defaults(handler=handler)
        return sub

    get = commands.add_parser("get", help="get backups").add_subparsers(
        dest="resource", required=True, metavar="RESOURCE"
    )
    addon = get.add_parser("addon", help="an addon's backups").add_subparsers(
        dest="what", required=True, metavar="WHAT"
    )
    sub = leaf(addon, "backups", _get_addon_backups, paged, "List the backups of an addon.")
    _option(sub, "projectId", required=True, metavar="ID", help="ID of the project")
    _option(sub, "addonId", required=True, metavar="ID", help="ID of the addon")

    project = get.add_parser("project", help="the backups of every addon of a project")
    sub = leaf(
        project.add_subparsers(dest="what", required=True, metavar="WHAT"),
        "backups",
        _get_project_backups,
        [*listing, _paging(page_and_cursor=False)],
        "Stream every backup of every addon of a project (always every page).",
    )
    _option(sub, "projectId", required=True, metavar="ID", help="ID of the project")
    sub.add_argument(
        "--concurrency", type=_whole_number, default=4, metavar="N", help="addons walked at once"
    )

    lists = commands.add_parser("list", help="list projects or addons").add_subparsers(
        dest="resource", required=True, metavar="RESOURCE"
    )
    leaf(lists, "projects", _list_projects, paged, "List the projects the token can see.")
    sub = leaf(lists, "addons", _list_addons, paged, "List the addons of a project.")
    _option(sub, "projectId", required=True, metavar="ID", help="ID of the project")

    demo = leaf(
        commands,
        "demo",
        _demo,
        [],
        "Stream the backups of a fake addon through the SDK: no token, no network.",
    )
    demo.add_argument("--backups", type=_whole_number, default=300, metavar="N", help="default 300")
    _option(demo, "per_page", type=_whole_number, default=50, metavar="N", help="default 50")
    demo.add_argument("--latency", type=_seconds, default=0.02, help="seconds per request")
    demo.add_argument("--verbose", action="store_true", help="log every request on stderr")
    demo.add_argument("--quiet", action="store_true", help="no progress and no notes")

    mock = commands.add_parser("mock", help="the fake Northflank API").add_subparsers(
        dest="what", required=True, metavar="WHAT"
    )
    serve = leaf(
        mock,
        "serve",
        _mock_serve,
        [],
        "Serve a fake Northflank API (generated projects, addons and backups) until Ctrl-C.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    serve.add_argument("--port", type=_port, default=8080, help="default 8080; 0: a free port")
    serve.add_argument(
        "--backups", type=_whole_number, default=250, metavar="N", help="per addon, default 250"
    )
    serve.add_argument("--token", default="nf-test-token", help="the token to accept")
    serve.add_argument("--latency", type=_seconds, default=0.0, help="seconds per request")
    _option(
        serve,
        "rate-limit",
        type=_whole_number,
        default=1000,
        metavar="N",
        help="requests allowed per hour, as the API's default (1000)",
    )
    _option(
        serve,
        "allow-non-loopback",
        action="store_true",
        help="allow a --host other than a loopback address",
    )
    return parser


# -- the walk, shared by every listing --------------------------------------------------------


async def _page_batches(pages: AsyncGenerator[Page[T], None]) -> AsyncGenerator[Batch[T], None]:
    async with aclosing(pages):
        async for page in pages:
            yield Batch(page.items, page.rate_limit)


async def _one_page(fetch: Callable[[], Awaitable[Page[T]]]) -> AsyncGenerator[Batch[T], None]:
    page = await fetch()
    paging = page.pagination
    yield Batch(
        page.items, page.rate_limit, next_cursor=paging.cursor if paging.has_next_page else None
    )


def _session(args: argparse.Namespace) -> NorthflankSession:
    if args.token is None and not any(os.environ.get(name) for name in TOKEN_VARIABLES):
        raise UsageError("no API token: set " + " or ".join(TOKEN_VARIABLES) + " (or pass --token)")
    return NorthflankSession(args.token, base_url=args.base_url, team_id=args.team_id)


async def _write_listing(
    args: argparse.Namespace,
    console: _Console,
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
    async with _session(args) as nf:
        progress = console.progress(view.noun, unit, walk=walk)
        cursor = await emit(capped(batches(nf), args.max_items), [writer], progress)
    if cursor is not None:
        # Always printed, --quiet or not: a script needs it to go on.
        console.stderr.write(f"next cursor: {cursor}\n")
    return OK


async def _paged_listing(
    args: argparse.Namespace,
    console: _Console,
    view: View[T],
    one: Callable[[NorthflankSession], Awaitable[Page[T]]],
    every: Callable[[NorthflankSession], AsyncGenerator[Page[T], None]],
) -> int:
    """One page (``one``), or with ``--all`` every page (``every``)."""

    def batches(nf: NorthflankSession) -> AsyncGenerator[Batch[T], None]:
        return _page_batches(every(nf)) if args.all else _one_page(lambda: one(nf))

    return await _write_listing(args, console, view, batches, walk=args.all, unit="page")


# -- the commands -------------------------------------------------------------------------------


def _paging_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords every ``list_*_pages`` / ``get_*_page`` call of the SDK takes."""
    return {
        "team_id": args.team_id,
        "per_page": args.per_page,
        "page": args.page,
        "cursor": args.cursor,
    }


async def _get_addon_backups(args: argparse.Namespace, console: _Console) -> int:
    ids = (args.project_id, args.addon_id)
    paging = _paging_options(args)
    return await _paged_listing(
        args,
        console,
        BACKUPS,
        lambda nf: nf.get_backup_page(*ids, **paging),
        lambda nf: nf.list_backup_pages(*ids, **paging),
    )


async def _list_projects(args: argparse.Namespace, console: _Console) -> int:
    paging = _paging_options(args)
    return await _paged_listing(
        args,
        console,
        PROJECTS,
        lambda nf: nf.get_project_page(**paging),
        lambda nf: nf.list_project_pages(**paging),
    )


async def _list_addons(args: argparse.Namespace, console: _Console) -> int:
    paging = _paging_options(args)
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


async def _get_project_backups(args: argparse.Namespace, console: _Console) -> int:
    def batches(nf: NorthflankSession) -> AsyncGenerator[Batch[AddonBackup], None]:
        stream = nf.stream_backups(
            args.project_id,
            team_id=args.team_id,
            concurrency=args.concurrency,
            per_page=args.per_page,
        )
        return _addon_backup_batches(nf, stream)

    return await _write_listing(args, console, ADDON_BACKUPS, batches, walk=True, unit="addon")


async def _demo(args: argparse.Namespace, console: _Console) -> int:
    from .testing import MockNorthflank  # only the demo and the mock server need it

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
            await emit(_page_batches(pages), writers, progress)
    console.note(
        f"\n{progress.items} backups in {progress.units} pages, {time.perf_counter() - started:.2f} s "
        f"in all. Next: `{PROG} mock serve` runs this fake API for your own client."
    )
    return OK


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


async def _mock_serve(args: argparse.Namespace, console: _Console) -> int:
    from .testing import MockNorthflank

    if not is_loopback(args.host) and not args.allow_non_loopback:
        raise UsageError(
            f"--host {args.host} is not a loopback address: the fake API accepts a fixed, "
            "known token; add --allow-non-loopback to serve it to other machines anyway"
        )
    mock = MockNorthflank(token=args.token, latency=args.latency, rate_limit=args.rate_limit)
    mock.generate_team(projects=2, addons_per_project=3, backups_per_addon=args.backups)
    stop = asyncio.Event()
    with _stop_signals(stop):
        try:
            url = await mock.start(args.host, args.port)
        except OSError as error:
            raise _Failure(
                f"cannot serve on {args.host} port {args.port}: {error.strerror}"
            ) from None
        try:
            token = shlex.quote(args.token)
            out = console.stdout
            out.write(
                f"MockNorthflank: a fake Northflank API on {url}\n"
                f"token: {args.token}\n"
                f"data: projects project-1 and project-2, 3 addons each, {args.backups} backups "
                "per addon\n\n"
                "Point a client at it:\n"
                f"  export NORTHFLANK_API_BASE_URL={url} NORTHFLANK_API_TOKEN={token}\n"
                f"  {PROG} list addons --projectId project-1 -o table\n"
                f"  {PROG} get addon backups --projectId project-1 --addonId postgresql-1 "
                "--all -o table\n"
                f"  curl -H 'Authorization: Bearer {args.token}' {url}/v1/projects\n\n"
                "Press Ctrl-C to stop.\n"
            )
            out.flush()
            await stop.wait()
        finally:
            await mock.close()
    console.note(f"stopped after {len(mock.requests)} requests")
    return OK


# -- running ---------------------------------------------------------------------------------------


class _Failure(Exception):
    """An operational failure outside the SDK (exit 1), with a message for people."""


def _secrets(argv: Sequence[str]) -> list[str]:
    """The ``--token`` values on the command line, never to be echoed."""
    found = [arg.split("=", 1)[1] for arg in argv if arg.startswith("--token=")]
    found += [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--token"]
    return [secret for secret in found if secret]


def _scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with each secret replaced where it stands as a whole (quoted) argument."""
    for secret in secrets:
        text = re.sub(rf"(?<![^\s'=]){re.escape(secret)}(?![^\s',])", "<token>", text)
    return text


@contextlib.contextmanager
def _sdk_log(stream: TextIO, *, verbose: bool, quiet: bool) -> Iterator[None]:
    """The SDK's log on ``stream``: DEBUG with --verbose, warnings (retries) unless --quiet."""
    handler = logging.StreamHandler(stream)
    when = "%(asctime)s " if verbose else ""
    handler.setFormatter(logging.Formatter(when + "%(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    level = logger.level
    logger.addHandler(handler)
    if verbose:
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _interrupted(stream: TextIO) -> int:
    stream.write(f"\n{PROG}: interrupted\n")
    stream.flush()
    return INTERRUPTED


async def run(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    secrets = _secrets(argv)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = build_parser().parse_args(argv)
    except UsageError as error:
        err.write(f"{error.prog}: error: {_scrub(str(error), secrets)}\n")
        return USAGE
    except SystemExit as done:  # --help, --version
        return done.code if isinstance(done.code, int) else USAGE
    verbose: bool = args.verbose if "verbose" in args else False
    quiet: bool = args.quiet if "quiet" in args else False
    console = _Console(out, err, quiet=quiet)
    code = USAGE
    with _sdk_log(err, verbose=verbose, quiet=quiet):
        try:
            return int(await args.handler(args, console))
        except KeyboardInterrupt:
            return _interrupted(err)
        except BrokenPipeError:
            return BROKEN_PIPE  # the reader of stdout left (`| head`): nothing more to say
        except (UsageError, ConfigurationError, MissingYAML) as error:
            failure: Exception = error
        except NorthflankError as error:
            failure, code = error, API_ERROR
        except ValueError as error:  # an argument the SDK refused before any request
            failure = error
        except _Failure as error:
            failure, code = error, API_ERROR
    if verbose:
        traceback.print_exception(failure, file=err)
    # The SDK never puts the token in a message; only echoed arguments need scrubbing.
    prog = failure.prog if isinstance(failure, UsageError) else PROG
    err.write(f"{prog}: error: {failure}\n")
    err.flush()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: run the command line in a new event loop; return the exit code."""
    try:
        code = asyncio.run(run(argv))
    except KeyboardInterrupt:  # Ctrl-C cancelled the run; it cleaned up on its way out
        return _interrupted(sys.stderr)
    if code == BROKEN_PIPE:
        # Python flushes stdout at exit, which would fail again and print a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return code
