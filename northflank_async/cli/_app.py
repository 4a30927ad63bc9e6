"""The entry point: the parser built from every command family, :func:`run` and :func:`main`.

:func:`run` parses the command line, wires the SDK's log to stderr, runs the command's
handler and turns what it raises into one line on stderr and an exit code. What it
writes there is scrubbed of secrets (``--token`` values, the tokens in the environment,
the values of unknown options) and has its control characters escaped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TextIO

from .._config import TOKEN_VARIABLES
from .._errors import ConfigurationError, NorthflankError
from .._log import logger
from .._version import __version__
from . import _actions, _check, _download, _listing, _mock
from ._common import (
    API_ERROR,
    BROKEN_PIPE,
    INTERRUPTED,
    PROG,
    USAGE,
    Commands,
    Console,
    Failure,
    Parser,
    UsageError,
)
from ._output import MissingYAML, printable

__all__ = ["FAMILIES", "build_parser", "main", "run"]

#: Each command family's ``register``, in the order its commands are listed in ``--help``.
FAMILIES: tuple[Callable[[Commands], None], ...] = (
    _listing.register,
    _actions.register,
    _download.register,
    _check.register,
    _mock.register,
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every family's commands under one program."""
    parser = Parser(
        prog=PROG,
        description="The Northflank API from the command line, on the northflank-async SDK.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = Commands(parser)
    for register in FAMILIES:
        register(commands)
    return parser


#: What stands in for a token, and for the value of an option no command knows.
_TOKEN, _HIDDEN = "<token>", "<hidden>"


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands right under ``parser``, by name (none for a leaf)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _option_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Every option string of ``parser`` and of the commands under it, with its action."""
    found = dict(parser._option_string_actions)
    for sub in _subcommands(parser).values():
        for string, action in _option_actions(sub).items():
            found.setdefault(string, action)
    return found


def _split(arg: str, options: Mapping[str, argparse.Action]) -> tuple[str, str | None]:
    """An option argument as its option string and its attached value (``-ojson``, ``--x=1``)."""
    if "=" in arg:
        name, value = arg.split("=", 1)
        return name, value
    if not arg.startswith("--") and len(arg) > 2 and arg[:2] in options:
        return arg[:2], arg[2:]
    return arg, None


def _is_option(arg: str) -> bool:
    return arg.startswith("-") and arg not in ("-", "--")


def _takes_value(action: argparse.Action | None) -> bool:
    return action is None or action.nargs != 0


def _option(
    rest: list[str], options: Mapping[str, argparse.Action]
) -> tuple[str, argparse.Action | None, str | None]:
    """Take the option first in ``rest``: its string, its action and its value, if any.

    The value is attached (``--x=1``, ``-ojson``), else the next argument when the option
    takes one (an unknown option is taken to) and that argument is no known option.
    """
    name, value = _split(rest.pop(0), options)
    action = options.get(name)
    if (
        value is None
        and rest
        and _takes_value(action)
        and _split(rest[0], options)[0] not in options
    ):
        value = rest.pop(0)
    return name, action, value


def _secrets(argv: Sequence[str], options: Mapping[str, argparse.Action]) -> dict[str, str]:
    """What must never be echoed, each with what stands in for it.

    The ``--token`` values and the tokens in the environment show as ``<token>``; the
    value given to an option no command knows (``--tokn SECRET``) as ``<hidden>``.
    """
    tokens = {value: _TOKEN for name in TOKEN_VARIABLES if (value := os.environ.get(name))}
    hidden: dict[str, str] = {}
    rest = list(argv[: argv.index("--")] if "--" in argv else argv)
    while rest:
        if not _is_option(rest[0]):
            rest.pop(0)
            continue
        name, action, value = _option(rest, options)
        if value and name == "--token":
            tokens[value] = _TOKEN
        elif value and action is None:
            hidden[value] = _HIDDEN
    return {**hidden, **tokens}


def _scrub(text: str, secrets: Mapping[str, str]) -> str:
    """``text`` with each secret replaced by its stand-in where it stands as a whole word.

    A whole word: between spaces, quotes or brackets, after ``=``, before ``,`` ``.``
    ``:`` or ``;`` (never inside a longer word, so a short secret leaves the text readable).
    """
    for secret in sorted(secrets, key=len, reverse=True):
        pattern = rf"(?<![^\s'\"=(]){re.escape(secret)}(?![^\s'\",.):;])"
        text = re.sub(pattern, secrets[secret], text)
    return text


def _multiline(text: str, secrets: Mapping[str, str]) -> str:
    """``text`` (a traceback) scrubbed, each line with its control characters escaped."""
    return "\n".join(printable(_scrub(line, secrets)) for line in text.split("\n"))


def _check_order(
    argv: Sequence[str], parser: argparse.ArgumentParser, options: Mapping[str, argparse.Action]
) -> None:
    """UsageError for options of a command put before it (``--token T get ...``).

    Only their option strings are named, never their values.
    """
    top = parser._option_string_actions
    moved: list[str] = []
    rest = list(argv)
    while rest and _is_option(rest[0]):
        name = _split(rest[0], options)[0]
        if name not in options or name in top:
            break
        action = _option(rest, options)[1]
        moved.append(name + " ..." if _takes_value(action) else name)
    if not moved:
        return
    words: list[str] = []
    commands = _subcommands(parser)
    while rest and rest[0] in commands:
        words.append(rest[0])
        commands = _subcommands(commands[rest.pop(0)])
    command = " ".join(words) or "COMMAND"
    raise UsageError(f"options go after the command: {PROG} {command} {' '.join(moved)}")


class _Escaped(logging.Formatter):
    """A formatter whose message is scrubbed of secrets and kept on one line."""

    def __init__(self, fmt: str, secrets: Mapping[str, str]) -> None:
        super().__init__(fmt)
        self._secrets = secrets

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(_scrub(super().formatMessage(record), self._secrets))


@contextlib.contextmanager
def _sdk_log(
    stream: TextIO, *, verbose: bool, quiet: bool, secrets: Mapping[str, str]
) -> Iterator[None]:
    """The SDK's log on ``stream``: DEBUG with --verbose, warnings (retries) unless --quiet.

    Each message is scrubbed of ``secrets`` and kept on one line (it may quote the server).
    """
    handler = logging.StreamHandler(stream)
    when = "%(asctime)s " if verbose else ""
    handler.setFormatter(_Escaped(when + "%(name)s %(levelname)s %(message)s", secrets))
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


def _error(stream: TextIO, prog: str, message: str, secrets: Mapping[str, str]) -> None:
    """The one line that ends a failed run: scrubbed of secrets, control characters escaped."""
    stream.write(f"{prog}: error: {printable(_scrub(message, secrets))}\n")
    stream.flush()


def _interrupted(stream: TextIO) -> int:
    stream.write(f"\n{PROG}: interrupted\n")
    stream.flush()
    return INTERRUPTED


async def run(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code.

    ``stdout``, ``stderr`` and ``stdin`` default to ``sys``'s (stdin answers a question,
    such as the confirmation of ``delete backup``).
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    options = _option_actions(parser)
    secrets = _secrets(argv, options)
    try:
        _check_order(argv, parser, options)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except UsageError as error:
        _error(err, error.prog, str(error), secrets)
        return USAGE
    except SystemExit as done:  # --help, --version
        return done.code if isinstance(done.code, int) else USAGE
    verbose: bool = args.verbose if "verbose" in args else False
    quiet: bool = args.quiet if "quiet" in args else False
    console = Console(out, err, quiet=quiet, stdin=stdin)
    code = USAGE
    with _sdk_log(err, verbose=verbose, quiet=quiet, secrets=secrets):
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
        except Failure as error:
            failure, code = error, API_ERROR
    if verbose:
        err.write(_multiline("".join(traceback.format_exception(failure)), secrets))
    # The SDK scrubs its own token from server text; a token from elsewhere (the other
    # variable, a mistyped option) may still be quoted, so the line is scrubbed again.
    prog = failure.prog if isinstance(failure, UsageError) else PROG
    _error(err, prog, str(failure), secrets)
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
