"""The download commands: ``get addon backup download`` and ``download backup``.

``get addon backup download`` prints the temporary link the API gives (the official
CLI's command); ``download backup`` fetches the backup's bytes with the SDK's
``download_backup`` (resumed, verified, written beside and renamed into place), or with
``stream_backup`` to stdout for ``-O -``. On a terminal, a progress line shows the bytes,
the rate and the time left.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from contextlib import aclosing
from pathlib import Path
from typing import BinaryIO, TextIO

from ._common import OK, Commands, Console, Failure, UsageError, common_options, id_options, session
from ._output import human_size, printable

__all__ = ["ByteProgress", "register"]

_IDS = ("projectId", "addonId", "backupId")


def register(commands: Commands) -> None:
    """Add ``get addon backup download`` and ``download backup``."""
    one = [common_options()]
    sub = commands.leaf(
        commands.group("get", "addon", "backup", help="", metavar="SUBCOMMAND"),
        "download",
        _get_download_link,
        parents=one,
        help="Print a temporary download link of a backup.",
        details="The link needs no token and is valid for a limited time: whoever holds it "
        "can download the backup, so treat it as a secret. 'download backup' fetches the "
        "file itself.",
    )
    id_options(sub, *_IDS)

    sub = commands.leaf(
        commands.group("download", help="download a backup", metavar="RESOURCE"),
        "backup",
        _download_backup,
        parents=[common_options(output=False)],
        help="Download a backup of an addon to a file (or stdout).",
        details="Without -O, the file goes to the current directory, named after the backup "
        "(with the extension of the storage link's file). The bytes go to a hidden '.part' "
        "file beside the destination, which takes its name only once every byte arrived "
        "and the count matched what the storage host and the API announced; a dropped "
        "connection resumes where it stopped. An existing file is never replaced without "
        "--overwrite (exit 2). On a terminal, a progress line shows the bytes, the rate and "
        "the time left. The saved path is printed on stdout.",
    )
    id_options(sub, *_IDS)
    sub.add_argument(
        "-O",
        "--output-file",
        dest="output_file",
        metavar="PATH",
        help="the file or existing directory to write to; '-' writes to stdout (a pipe)",
    )
    sub.add_argument(
        "--overwrite", action="store_true", help="replace the destination file if it exists"
    )
    sub.set_defaults(prog=sub.prog)


async def _get_download_link(args: argparse.Namespace, console: Console) -> int:
    async with session(args) as nf:
        link = await nf.get_backup_download_link(
            args.project_id, args.addon_id, args.backup_id, team_id=args.team_id
        )
    console.stdout.write(_render_link(args.output, link))
    console.stdout.flush()
    return OK


def _render_link(output: str, link: str) -> str:
    """The link as ``-o`` asks: a JSON object, one JSON line, YAML, or the bare link."""
    if output == "table":
        return link + "\n"
    if output == "jsonl":
        return json.dumps({"downloadLink": link}, separators=(",", ":")) + "\n"
    if output == "yaml":
        return f"downloadLink: {json.dumps(link)}\n"  # a JSON string is a YAML scalar
    return json.dumps({"downloadLink": link}, indent=2) + "\n"


async def _download_backup(args: argparse.Namespace, console: Console) -> int:
    what = f"backup {args.backup_id}"
    if args.output_file == "-":
        return await _to_stdout(args, console, what)
    destination = Path(args.output_file) if args.output_file is not None else Path.cwd()
    progress = ByteProgress(console.stderr, enabled=_live(console), label=what)
    started = time.monotonic()
    async with session(args) as nf:
        try:
            path = await nf.download_backup(
                args.project_id,
                args.addon_id,
                args.backup_id,
                destination,
                team_id=args.team_id,
                progress=progress.update,
                overwrite=args.overwrite,
            )
        except (FileExistsError, FileNotFoundError) as error:  # found before any byte came
            # The SDK's words, in the command line's terms.
            text = str(error).replace("overwrite=True", "--overwrite")
            raise UsageError(printable(text), args.prog) from None
        except OSError as error:  # the destination cannot be written: not the API's fault
            where = error.filename or destination
            reason = error.strerror or str(error)
            raise Failure(printable(f"cannot write {where}: {reason}")) from None
        finally:
            progress.finish()
    size = path.stat().st_size
    console.note(printable(f"saved {what} ({_size(size)}) to {path} in {_elapsed(started)}"))
    console.stdout.write(printable(str(path)) + "\n")
    console.stdout.flush()
    return OK


async def _to_stdout(args: argparse.Namespace, console: Console, what: str) -> int:
    """``-O -``: the bytes to stdout, as they arrive (verified at the end)."""
    if args.overwrite:
        raise UsageError("--overwrite goes with a file, not with -O -", args.prog)
    if console.stdout.isatty():
        raise UsageError(
            "refusing to write a backup's bytes to a terminal: pipe it, or use -O PATH",
            args.prog,
        )
    out = _binary(console.stdout, args.prog)
    progress = ByteProgress(console.stderr, enabled=_live(console), label=what)
    started = time.monotonic()
    written = 0
    async with session(args) as nf:
        chunks = nf.stream_backup(
            args.project_id,
            args.addon_id,
            args.backup_id,
            team_id=args.team_id,
            progress=progress.update,
        )
        try:
            async with aclosing(chunks):
                async for chunk in chunks:
                    out.write(chunk)
                    written += len(chunk)
            out.flush()
        finally:
            progress.finish()
    console.note(printable(f"wrote {what} ({_size(written)}) to stdout in {_elapsed(started)}"))
    return OK


def _binary(stream: TextIO, prog: str) -> BinaryIO:
    """The byte stream beneath a text stdout (its text layer flushed first)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        raise UsageError("stdout takes no bytes here; use -O PATH", prog)
    stream.flush()
    return buffer  # type: ignore[no-any-return]


def _live(console: Console) -> bool:
    return not console.quiet and console.stderr.isatty()


def _size(size: int) -> str:
    return f"{human_size(size)}, {size:,} bytes"


def _elapsed(started: float) -> str:
    return f"{time.monotonic() - started:.1f} s"


class ByteProgress:
    """One self-rewriting line on a terminal for a transfer: bytes, percent, rate, time left.

    ``update(done, total)`` is the SDK's progress callback (it calls at most every
    0.1 s); the rate is the average since the first byte, so the time left does not jump
    about with each chunk. Drawn only when ``enabled`` (a terminal, not ``--quiet``).
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        enabled: bool,
        label: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._enabled = enabled
        self._label = label
        self._clock = clock
        self._started = clock()
        self._visible = False
        self.done = 0
        self.total: int | None = None

    def update(self, done: int, total: int | None) -> None:
        """Take the latest count and redraw."""
        self.done, self.total = done, total
        if self._enabled:
            self._stream.write("\r" + self.line() + "\x1b[K")
            self._stream.flush()
            self._visible = True

    def line(self) -> str:
        """The line as it stands: ``backup b1: 12.0 MiB of 1.0 GiB (1%), 40.0 MiB/s, 25 s left``."""
        elapsed = max(self._clock() - self._started, 1e-9)
        rate = self.done / elapsed
        text = f"{self._label}: {human_size(self.done)}"
        if self.total:
            percent = 100 * self.done // self.total
            text += f" of {human_size(self.total)} ({percent}%)"
        text += f", {human_size(int(rate))}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", {_duration((self.total - self.done) / rate)} left"
        return printable(text)

    def finish(self) -> None:
        """End the line (nothing when nothing was drawn)."""
        if self._visible:
            self._stream.write("\n")
            self._stream.flush()
            self._visible = False


def _duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
