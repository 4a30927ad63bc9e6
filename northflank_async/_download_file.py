"""Where a download is written: the destination's checks, a temporary file beside it, and
the move into place once every byte is in and verified.

Whatever ends a download early (an error, cancellation, the session closing) removes
the temporary file and leaves the destination as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import IO

import attrs
from yarl import URL

from ._download_rules import file_extension

__all__ = ["SYNC_EVERY", "Destination", "save"]

#: Bytes written between two syncs to disk during a download (each in a worker thread).
SYNC_EVERY = 32 * 1024 * 1024
#: The longest part of the final name put in the temporary file's name.
_NAME_IN_TEMP = 120

Chunks = Callable[[Callable[[], None]], AsyncGenerator[bytes, None]]
"""Gives the bytes to write; called with a ``rewind()`` that discards what was written."""


@attrs.frozen
class Destination:
    """Where a backup is to be written: a file, or a directory to name the file in."""

    path: Path
    directory: bool
    overwrite: bool
    backup_id: str

    @classmethod
    def check(cls, destination: object, backup_id: str, *, overwrite: bool) -> Destination:
        """Check ``destination`` before any request.

        Raises ValueError when it is not a path (or is empty), FileExistsError when the
        file exists and not ``overwrite``, FileNotFoundError when its directory does
        not exist.
        """
        if not isinstance(destination, str | os.PathLike):
            raise ValueError(f"destination must be a path, got {type(destination).__name__}")
        text = os.fspath(destination)
        if not isinstance(text, str) or not text:
            raise ValueError(f"destination must be a non-empty str path, got {destination!r}")
        path = Path(text)
        if text.endswith(("/", os.sep)) and not path.is_dir():
            raise FileNotFoundError(f"the directory {path} does not exist")
        if path.is_dir():
            if "/" in backup_id or "\\" in backup_id or "\x00" in backup_id:
                raise ValueError(
                    f"backup_id {backup_id!r} cannot name a file: give destination a file name"
                )
            return cls(path, True, overwrite, backup_id)
        if os.path.lexists(path) and not overwrite:
            raise _exists(path, "already exists; pass overwrite=True to replace it")
        parent = path.parent
        if not parent.is_dir():
            raise FileNotFoundError(f"the directory {parent} of the destination does not exist")
        return cls(path, False, overwrite, backup_id)

    def final(self, link: URL) -> Path:
        """The file to write: in a directory, the backup id and the link's extension.

        Raises FileExistsError when that file exists and not ``overwrite``, or when it
        is a directory.
        """
        if not self.directory:
            return self.path
        path = self.path / (self.backup_id + file_extension(link))
        if path.is_dir():
            raise _exists(path, "is a directory")
        if os.path.lexists(path) and not self.overwrite:
            raise _exists(path, "already exists; pass overwrite=True to replace it")
        return path


async def save(final: Path, chunks: Chunks, *, overwrite: bool) -> Path:
    """Write ``chunks`` to a temporary file beside ``final``, then move it into place.

    The temporary file (``.<name>.<random>.part``, mode 0600: a backup holds data) is
    synced to disk before the move; with ``overwrite``, the move replaces ``final``,
    without it, it fails with FileExistsError if ``final`` appeared meanwhile. On any
    error or cancellation the temporary file is removed and ``final`` is untouched.
    """
    directory = final.parent
    prefix = "." + final.name[:_NAME_IN_TEMP] + "."
    fd, temp = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".part")
    file = os.fdopen(fd, "wb")
    syncing: asyncio.Future[None] | None = None
    try:

        def rewind() -> None:
            file.seek(0)
            file.truncate()

        unsynced = 0
        async with aclosing(chunks(rewind)) as body:
            async for chunk in body:
                file.write(chunk)
                unsynced += len(chunk)
                if unsynced >= SYNC_EVERY and (syncing is None or syncing.done()):
                    if syncing is not None:
                        syncing.result()  # a failed sync fails the download
                    # The bytes so far go to disk in a thread while more arrive, so the
                    # sync at the end has little left to do.
                    file.flush()
                    syncing = asyncio.get_running_loop().run_in_executor(None, os.fsync, fd)
                    unsynced = 0
        if syncing is not None:
            await asyncio.shield(syncing)
        # fsync may take seconds for a large file: in a thread, so the loop goes on.
        syncing = asyncio.get_running_loop().run_in_executor(None, _sync_and_close, file)
        await asyncio.shield(syncing)
        _move(temp, final, overwrite=overwrite)
    except BaseException:
        if syncing is not None and not syncing.done():
            # A thread is syncing the file: it is closed and removed once that ends.
            syncing.add_done_callback(lambda _: _discard(file, temp))
        else:
            _discard(file, temp)
        raise
    _sync_directory(directory)
    return final


def _sync_and_close(file: IO[bytes]) -> None:
    """Flush ``file`` to disk and close it (in a worker thread)."""
    try:
        file.flush()
        os.fsync(file.fileno())
    finally:
        file.close()


def _move(temp: str, final: Path, *, overwrite: bool) -> None:
    """Put ``temp`` in place as ``final``, atomically; never over a file unless ``overwrite``."""
    if overwrite:
        os.replace(temp, final)
        return
    try:
        os.link(temp, final)  # fails if final exists, whenever it appeared
    except FileExistsError:
        raise
    except OSError:
        # No hard links on this filesystem (FAT, some network ones): check, then rename.
        if os.path.lexists(final):
            raise _exists(final, "appeared during the download") from None
        os.replace(temp, final)
        return
    with contextlib.suppress(OSError):  # the backup is in place; a stray link is harmless
        os.unlink(temp)


def _exists(path: Path, what: str) -> FileExistsError:
    """FileExistsError saying ``<path> <what>`` (``filename`` unset: it would replace the text)."""
    return FileExistsError(f"{path} {what}")


def _discard(file: IO[bytes], temp: str) -> None:
    """Close and remove the temporary file, whatever state it is in."""
    with contextlib.suppress(OSError):
        file.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); skipped where directories cannot be synced."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
