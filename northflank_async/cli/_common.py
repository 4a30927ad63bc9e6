"""What every command family shares: exit codes, errors, the console, options, the tree.

A family module adds its commands with ``register(commands: Commands)``: it takes the
verb groups it needs (:meth:`Commands.get_group`, :meth:`Commands.list_group`, or any
:meth:`Commands.group`), created by whichever family asks first, and adds its leaves.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeAlias

from .._config import TOKEN_VARIABLES
from .._pagination import MAX_PER_PAGE
from .._session import NorthflankSession
from ._output import FORMATS, Progress

__all__ = [
    "API_ERROR",
    "BROKEN_PIPE",
    "INTERRUPTED",
    "OK",
    "PARTIAL",
    "PROG",
    "UNHEALTHY",
    "USAGE",
    "Commands",
    "Console",
    "Failure",
    "Group",
    "Handler",
    "Parser",
    "UsageError",
    "common_options",
    "id_options",
    "option",
    "paging_options",
    "port",
    "seconds",
    "session",
    "whole_number",
]

PROG = "northflank-async"

#: Exit codes.
OK, API_ERROR, USAGE, INTERRUPTED, BROKEN_PIPE = 0, 1, 2, 130, 141
#: Done, but some of it was skipped (``--skip-errors``): the output is complete without it.
PARTIAL = 4
#: Done, and the check found something wrong (``check backups``: an addon is unhealthy).
UNHEALTHY = 3


class UsageError(Exception):
    """The command line cannot be run as given; ``prog`` names the (sub)command."""

    def __init__(self, message: str, prog: str = PROG) -> None:
        super().__init__(message)
        self.prog = prog


class Failure(Exception):
    """An operational failure outside the SDK (exit 1), with a message for people."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog)


class Console:
    """Where the program writes: data to ``stdout``; progress, notes and errors to ``stderr``.

    ``stdin`` (default ``sys.stdin``) is where a question on ``stderr`` is answered.
    """

    def __init__(
        self, stdout: TextIO, stderr: TextIO, *, quiet: bool, stdin: TextIO | None = None
    ) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin if stdin is not None else sys.stdin
        self.quiet = quiet
        self._progress: Progress | None = None

    def note(self, text: str) -> None:
        """A line for people, left out with ``--quiet``."""
        if not self.quiet:
            self.alert(text)

    def alert(self, text: str) -> None:
        """A line written even with ``--quiet`` (a next cursor, a skipped addon).

        A progress line being drawn is wiped first; the next progress draws it again.
        """
        if self._progress is not None:
            self._progress.wipe()
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def progress(self, noun: str, unit: str, *, walk: bool) -> Progress:
        """A progress line for a walk, drawn only on a terminal and never with ``--quiet``."""
        enabled = walk and not self.quiet and self.stderr.isatty()
        self._progress = Progress(
            self.stderr,
            noun=noun,
            unit=unit,
            enabled=enabled,
            shares_screen=enabled and self.stdout.isatty(),
        )
        return self._progress


#: The width a command's ``details`` are wrapped to in its ``--help``.
_HELP_WIDTH = 78

#: What a command runs: its parsed arguments and the console in, the exit code out.
Handler = Callable[[argparse.Namespace, Console], Awaitable[int]]
#: The subcommands of one group (``get``, ``get addon``, ...).
Group: TypeAlias = "argparse._SubParsersAction[Parser]"

if TYPE_CHECKING:
    _SubParsers = argparse._SubParsersAction[Parser]
else:
    _SubParsers = argparse._SubParsersAction


class _OptionalSubcommands(_SubParsers):
    """The subcommands of a command that also runs on its own (:meth:`Commands.branch`).

    An option of that command given before a subcommand is a usage error: the
    subcommand would silently set it back to its default (``--teamId`` lost).
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        given = [
            action.option_strings[0] + (" ..." if action.nargs != 0 else "")
            for action in parser._actions
            if action.option_strings
            and action.default is not argparse.SUPPRESS
            and getattr(namespace, action.dest, action.default) != action.default
        ]
        if given and isinstance(values, Sequence) and values:
            parser.error(
                f"options go after the subcommand: {parser.prog} {values[0]} {' '.join(given)}"
            )
        super().__call__(parser, namespace, values, option_string)


class Commands:
    """The tree of subcommands under the program, shared by every command family.

    Groups are keyed by their path (``("get", "addon")``) and created on first use, so
    two families can both add leaves under ``get addon``; the first one's help stays.
    """

    def __init__(self, parser: Parser) -> None:
        root: Group = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        self._groups: dict[tuple[str, ...], Group] = {(): root}

    def group(self, *path: str, help: str, metavar: str) -> Group:
        """The subcommands under ``path``; its parent group must exist already."""
        found = self._groups.get(path)
        if found is None:
            parent = self._groups[path[:-1]]
            found = parent.add_parser(path[-1], help=help).add_subparsers(
                dest=metavar.lower(), required=True, metavar=metavar
            )
            self._groups[path] = found
        return found

    def get_group(self, resource: str, *, help: str) -> Group:
        """The leaves of ``get <resource>`` (``get addon backups``: resource ``addon``)."""
        self.group("get", help="get backups and restores", metavar="RESOURCE")
        return self.group("get", resource, help=help, metavar="WHAT")

    def list_group(self) -> Group:
        """The leaves of ``list`` (``list projects``)."""
        return self.group("list", help="list projects or addons", metavar="RESOURCE")

    def leaf(
        self,
        group: Group,
        name: str,
        handler: Handler,
        *,
        help: str,
        details: str | None = None,
        parents: Sequence[Parser] = (),
    ) -> Parser:
        """Add the command ``name`` to ``group``, running ``handler``; ``help`` describes it.

        ``details``, if given, follows ``help`` in the command's own ``--help``.
        """
        description = help
        if details is not None:
            description += "\n\n" + textwrap.fill(details, _HELP_WIDTH)
        sub = group.add_parser(
            name,
            parents=list(parents),
            help=help,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
        )
        sub.set_defaults(handler=handler)
        return sub

    def branch(
        self,
        *path: str,
        handler: Handler,
        help: str,
        details: str | None = None,
        parents: Sequence[Parser] = (),
        metavar: str = "SUBCOMMAND",
    ) -> Parser:
        """A command at ``path`` that runs ``handler`` and also has subcommands.

        (``get addon backup`` and ``get addon backup restores``.) Its parent group must
        exist; :meth:`group` with ``path`` then gives its subcommands, which are optional.
        Its own options go before no subcommand (a usage error), and its handler must
        check those it requires: argparse would require them of the subcommands too.
        """
        sub = self.leaf(
            self._groups[path[:-1]],
            path[-1],
            handler,
            help=help,
            details=details,
            parents=parents,
        )
        self._groups[path] = sub.add_subparsers(
            action=_OptionalSubcommands, dest=metavar.lower(), required=False, metavar=metavar
        )
        return sub

    def top(self, name: str, handler: Handler, *, help: str) -> Parser:
        """Add the command ``name`` right under the program (``demo``)."""
        return self.leaf(self._groups[()], name, handler, help=help)


# -- options ---------------------------------------------------------------------------------


def _spellings(name: str) -> tuple[str, list[str]]:
    """``(dest, ["--name", ...])``: the name as given, then its camel, snake and kebab forms."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_").lower()
    head, *rest = snake.split("_")
    camel = head + "".join(part.title() for part in rest)
    forms = dict.fromkeys([name, camel, snake, snake.replace("_", "-")])
    return snake, ["--" + form for form in forms]


def option(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> None:
    """Add ``--name`` in its camelCase, snake_case and kebab-case spellings too."""
    dest, flags = _spellings(name)
    parser.add_argument(*flags, dest=dest, **kwargs)


def id_options(parser: argparse.ArgumentParser, *names: str, required: bool = True) -> None:
    """``--projectId ID`` and the like, one per name (``backupId``: "ID of the backup")."""
    for name in names:
        noun = name.removesuffix("Id").lower()
        option(parser, name, required=required, metavar="ID", help=f"ID of the {noun}")


def whole_number(text: str) -> int:
    """An option value: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def port(text: str) -> int:
    """An option value: a TCP port, 0 for any free one."""
    value = whole_number(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def seconds(text: str) -> float:
    """An option value: a delay of 0 to 60 seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 <= value <= 60:
        raise argparse.ArgumentTypeError(f"expected 0 to 60 seconds, got {text!r}")
    return value


def common_options(*, output: bool = True) -> Parser:
    """The options every command that calls the API shares: output, chattiness, where and who.

    ``output=False`` leaves out ``-o``, for a command whose output is not an API object.
    """
    parser = Parser(add_help=False)
    if output:
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
    option(
        parser,
        "base-url",
        help="API base URL (default: $NORTHFLANK_API_BASE_URL, $NF_API_HOST, $NF_HOST, "
        "else https://api.northflank.com)",
    )
    option(parser, "teamId", metavar="ID", help="use the /v1/teams/{teamId}/... routes")
    return parser


def paging_options(*, page_and_cursor: bool) -> Parser:
    """``--per_page``, ``--all`` and ``--max-items``; ``--page`` and ``--cursor`` if asked.

    As with the official CLI, a listing walks every page unless ``--page`` or
    ``--cursor`` asks for one page; ``--all`` then walks on from that page.
    """
    parser = Parser(add_help=False)
    option(
        parser,
        "per_page",
        type=whole_number,
        default=MAX_PER_PAGE,
        metavar="N",
        help=f"results per request, 1 to 100 (default {MAX_PER_PAGE})",
    )
    if page_and_cursor:
        parser.add_argument(
            "--page",
            type=whole_number,
            metavar="N",
            help="print only page N (with --all: every page from N on)",
        )
        parser.add_argument(
            "--cursor",
            help="print only the page of a cursor a previous run printed "
            "(with --all: every page from there on)",
        )
        walk_help = "with --page or --cursor: every page from there on (without them: the default)"
        cap_help = (
            "stop after N results, asking for no page past them "
            "(the next cursor goes to stderr if more remain)"
        )
    else:
        walk_help = "every page (always so; accepted like for the other listings)"
        cap_help = "stop after N results in all"
    parser.add_argument("--all", action="store_true", help=walk_help)
    option(parser, "max-items", type=whole_number, metavar="N", help=cap_help)
    return parser


def session(args: argparse.Namespace) -> NorthflankSession:
    """A session from ``--token``, ``--base-url`` and ``--teamId`` (or the environment)."""
    if args.token is None and not any(os.environ.get(name) for name in TOKEN_VARIABLES):
        raise UsageError("no API token: set " + " or ".join(TOKEN_VARIABLES) + " (or pass --token)")
    return NorthflankSession(args.token, base_url=args.base_url, team_id=args.team_id)
