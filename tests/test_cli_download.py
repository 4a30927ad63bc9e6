"""The download commands: `get addon backup download` prints the link; `download backup`
writes the bytes to a file, a directory or stdout, resumed and verified, with a progress
line on a terminal, and the exit codes of every other command."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from northflank_async.cli import run
from northflank_async.cli._download import ByteProgress
from northflank_async.testing import MockNorthflank, example_backup
from tests.cli_support import Result, TtyStringIO, connect
from tests.conftest import ADDON, PROJECT

BACKUP_ID = "backup-to-download"
IDS = ("--projectId", PROJECT, "--addonId", ADDON, "--backupId", BACKUP_ID)
SIZE = 600_000


def add_backup(mock: MockNorthflank, *, status: str = "completed", size: int = SIZE) -> None:
    """A completed backup of ``size`` bytes (the API's example, renamed)."""
    backup: dict[str, Any] = example_backup()
    backup.update(id=BACKUP_ID, status=status)
    backup["config"] = {**backup["config"], "size": str(size)}
    mock.add_backups(PROJECT, ADDON, [backup])


class BinaryStdout(io.TextIOWrapper):
    """A text stdout over bytes, as a pipe's is; ``isatty`` as told."""

    def __init__(self, *, tty: bool = False) -> None:
        self.raw_bytes = io.BytesIO()
        super().__init__(self.raw_bytes, encoding="utf-8")
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


async def download(
    mock: MockNorthflank,
    *argv: str,
    stdout: io.TextIOBase | None = None,
    stderr: io.StringIO | None = None,
) -> Result:
    """Run the command line against ``mock`` with captured streams."""
    out = stdout if stdout is not None else io.StringIO()
    err = stderr if stderr is not None else io.StringIO()
    code = await run([*argv, *connect(mock)], stdout=out, stderr=err)  # type: ignore[arg-type]
    text = out.getvalue() if isinstance(out, io.StringIO) else ""
    return Result(code, text, err.getvalue())


def entries(directory: Path) -> list[str]:
    """The names in ``directory``."""
    return sorted(p.name for p in directory.iterdir())


def leftovers(directory: Path) -> list[str]:
    """The temporary files a download left in ``directory`` (none, ever)."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


# -- get addon backup download -----------------------------------------------------------------


async def test_get_download_link_prints_the_link_as_json(mock: MockNorthflank) -> None:
    """The link comes as the API's `downloadLink`, pointing at the storage host."""
    add_backup(mock)

    result = await download(mock, "get", "addon", "backup", "download", *IDS)

    assert 0 == result.code, result.err
    link = json.loads(result.out)["downloadLink"]
    assert link.startswith(str(mock.storage.base_url))
    assert f"/{BACKUP_ID}." in link
    assert 1 == mock.storage.links_issued


async def test_get_download_link_as_table_is_the_bare_link(mock: MockNorthflank) -> None:
    """`-o table` prints the link alone, for `curl "$(...)"`; jsonl and yaml keep the key."""
    add_backup(mock)

    bare = await download(mock, "get", "addon", "backup", "download", *IDS, "-o", "table")
    line = await download(mock, "get", "addon", "backup", "download", *IDS, "-o", "jsonl")
    yaml = await download(mock, "get", "addon", "backup", "download", *IDS, "-o", "yaml")

    assert bare.out.startswith("http://127.0.0.1:")
    assert 1 == len(bare.out.splitlines())
    assert {"downloadLink"} == set(json.loads(line.out))
    assert yaml.out.startswith("downloadLink: ")


async def test_get_download_link_of_a_running_backup_fails_with_the_api_error(
    mock: MockNorthflank,
) -> None:
    """The API's 409 for a backup that is not completed: exit 1, its message on stderr."""
    add_backup(mock, status="in-progress")

    result = await download(mock, "get", "addon", "backup", "download", *IDS)

    assert 1 == result.code
    assert "409" in result.err
    assert "only a completed backup can be downloaded" in result.err


# -- download backup ----------------------------------------------------------------------------


async def test_download_backup_writes_the_file_and_prints_its_path(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """Every byte the storage host serves, in a file named as asked; its path on stdout."""
    add_backup(mock)
    target = tmp_path / "db.tar.gz"

    result = await download(mock, "download", "backup", *IDS, "-O", str(target))

    assert 0 == result.code, result.err
    assert mock.storage.content(BACKUP_ID) == target.read_bytes()
    assert f"{target}\n" == result.out
    assert f"saved backup {BACKUP_ID} (585.9 KiB, 600,000 bytes) to {target}" in result.err
    assert [] == leftovers(tmp_path)


async def test_download_backup_names_the_file_in_a_directory(
    mock: MockNorthflank, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without -O, into the current directory; with a directory, into it; named after the
    backup with the extension of the link's file."""
    add_backup(mock)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(tmp_path)

    here = await download(mock, "download", "backup", *IDS, "--quiet")
    there = await download(mock, "download", "backup", *IDS, "-O", str(elsewhere), "--quiet")

    assert (0, 0) == (here.code, there.code), here.err + there.err
    expected = mock.storage.content(BACKUP_ID)
    assert expected == (tmp_path / f"{BACKUP_ID}.tar.gz").read_bytes()
    assert expected == (elsewhere / f"{BACKUP_ID}.tar.gz").read_bytes()
    assert "" == here.err  # --quiet: no note


async def test_download_backup_never_replaces_a_file_without_overwrite(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """An existing file: exit 2 before any request, the file untouched; --overwrite replaces it."""
    add_backup(mock)
    target = tmp_path / "db.tar.gz"
    target.write_bytes(b"an older copy")

    refused = await download(mock, "download", "backup", *IDS, "-O", str(target))

    assert 2 == refused.code
    assert f"{target} already exists; pass --overwrite to replace it" in refused.err
    assert [] == mock.requests
    assert b"an older copy" == target.read_bytes()

    replaced = await download(mock, "download", "backup", *IDS, "-O", str(target), "--overwrite")

    assert 0 == replaced.code, replaced.err
    assert mock.storage.content(BACKUP_ID) == target.read_bytes()


async def test_download_backup_into_a_missing_directory_is_a_usage_error(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """A destination whose directory does not exist: exit 2, nothing asked of the API."""
    add_backup(mock)

    result = await download(mock, "download", "backup", *IDS, "-O", str(tmp_path / "no" / "x"))

    assert 2 == result.code
    assert "does not exist" in result.err
    assert [] == mock.requests


async def test_download_backup_resumes_after_a_dropped_connection(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """A connection cut mid-body goes on from the last byte (a Range request); the file is whole."""
    add_backup(mock)
    mock.storage.faults.drop_after(200_000)
    target = tmp_path / "db.tar.gz"

    result = await download(mock, "download", "backup", *IDS, "-O", str(target))

    assert 0 == result.code, result.err
    assert mock.storage.content(BACKUP_ID) == target.read_bytes()
    ranges = [r.headers.get("Range") for r in mock.storage.requests]
    assert [None, "bytes=200000-"] == ranges
    assert "resuming from byte 200,000" in result.err


async def test_download_backup_that_cannot_be_verified_exits_1_and_leaves_nothing(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """A short object: exit 1 naming both counts; no file, no temporary file."""
    add_backup(mock)
    mock.storage.faults.wrong_length(-1000)
    target = tmp_path / "db.tar.gz"

    result = await download(mock, "download", "backup", *IDS, "-O", str(target))

    assert 1 == result.code
    assert "599,000" in result.err
    assert "600,000" in result.err
    assert not target.exists()
    assert [] == leftovers(tmp_path)


async def test_download_backup_of_a_running_backup_exits_1(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """The API's refusal (409) ends the command with exit 1 and writes nothing."""
    add_backup(mock, status="in-progress")

    result = await download(mock, "download", "backup", *IDS, "-O", str(tmp_path / "x"))

    assert 1 == result.code
    assert "409" in result.err
    assert [] == entries(tmp_path)


async def test_download_backup_to_stdout_writes_the_bytes(mock: MockNorthflank) -> None:
    """`-O -` writes the bytes to stdout, for a pipe; the note goes to stderr."""
    add_backup(mock)
    out = BinaryStdout()

    result = await download(mock, "download", "backup", *IDS, "-O", "-", stdout=out)

    assert 0 == result.code, result.err
    out.flush()
    assert mock.storage.content(BACKUP_ID) == out.raw_bytes.getvalue()
    assert f"wrote backup {BACKUP_ID} (585.9 KiB, 600,000 bytes) to stdout" in result.err


async def test_download_backup_refuses_to_write_bytes_to_a_terminal(
    mock: MockNorthflank,
) -> None:
    """`-O -` with stdout on a terminal: exit 2 before any request."""
    add_backup(mock)

    result = await download(
        mock, "download", "backup", *IDS, "-O", "-", stdout=BinaryStdout(tty=True)
    )

    assert 2 == result.code
    assert "refusing to write a backup's bytes to a terminal" in result.err
    assert [] == mock.requests


async def test_download_backup_shows_progress_on_a_terminal(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """On a terminal, the progress line ends at 100 % of the size, on a line of its own."""
    add_backup(mock)
    err = TtyStringIO()

    result = await download(mock, "download", "backup", *IDS, "-O", str(tmp_path / "x"), stderr=err)

    assert 0 == result.code, result.err
    drawn = result.err.split("\r")
    assert f"backup {BACKUP_ID}: 585.9 KiB of 585.9 KiB (100%)" in drawn[-1]
    assert drawn[-1].count("\n") == 2  # the progress line ended, then the note


async def test_download_never_shows_the_link_even_when_verbose(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """The link's signature is a credential: not in --verbose's request lines, nor a warning."""
    add_backup(mock)
    mock.storage.faults.drop_after(1000)

    result = await download(
        mock, "download", "backup", *IDS, "-O", str(tmp_path / "x"), "--verbose"
    )

    assert 0 == result.code, result.err
    assert "X-Goog-Signature" not in result.err
    assert "/northflank-backups/" in result.err  # host and path are shown


# -- the progress line ------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_line_shows_bytes_percent_rate_and_time_left() -> None:
    """Bytes of the total, the percentage, the average rate and the time that leaves."""
    clock = Clock()
    progress = ByteProgress(io.StringIO(), enabled=True, label="backup b1", clock=clock)
    clock.now += 10

    progress.update(100 * 1024 * 1024, 400 * 1024 * 1024)

    assert "backup b1: 100.0 MiB of 400.0 MiB (25%), 10.0 MiB/s, 30 s left" == progress.line()


def test_progress_line_without_a_total_shows_bytes_and_rate() -> None:
    """With no size known, no percentage and no time left."""
    clock = Clock()
    progress = ByteProgress(io.StringIO(), enabled=True, label="backup b1", clock=clock)
    clock.now += 2

    progress.update(4096, None)

    assert "backup b1: 4.0 KiB, 2.0 KiB/s" == progress.line()


@pytest.mark.parametrize(
    ("seconds", "shown"), [(42.2, "42 s"), (185, "3 min 5 s"), (7800, "2 h 10 min")]
)
def test_progress_time_left_reads_naturally(seconds: float, shown: str) -> None:
    """The time left in seconds, minutes or hours, as a person reads it."""
    clock = Clock()
    progress = ByteProgress(io.StringIO(), enabled=True, label="b", clock=clock)
    clock.now += seconds

    progress.update(1, 2)  # half done: as long again to go

    assert progress.line().endswith(f", {shown} left")


def test_progress_disabled_draws_nothing() -> None:
    """Off a terminal (or with --quiet) the line is never drawn, nor ended."""
    stream = io.StringIO()
    progress = ByteProgress(stream, enabled=False, label="b")

    progress.update(10, 20)
    progress.finish()

    assert "" == stream.getvalue()
    assert (10, 20) == (progress.done, progress.total)
