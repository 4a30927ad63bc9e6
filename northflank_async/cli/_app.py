"""The entry point: the parser built from every command family, :func:`run` and :func:`main`.

:func:`run` parses the command line, wires the SDK's log to stderr, runs the command's
handler and turns what it raises into one line on stderr and an exit code, with any
``--token`` value scrubbed from echoed arguments.
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
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from .._errors import ConfigurationError, NorthflankError
from .._log import logger
from .._version import __version__
from . import _listing, _mock
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
from ._output import MissingYAML

__all__ = ["FAMILIES", "build_parser", "main", "run"]

#: Each command family's ``register``, in the order its commands are listed in ``--help``.
FAMILIES: tuple[Callable[[Commands], None], ...] = (
    _listing.register,
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
    console = Console(out, err, quiet=quiet)
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
        except Failure as error:
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
