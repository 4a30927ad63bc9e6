"""Benchmark: downloading a backup with download_backup, against a bare aiohttp loop.

Run from the repository root::

    pip install -e ".[speedups]" && python benchmarks/download.py   # about 90 s
    python benchmarks/download.py --quick                          # about 25 s

``MockNorthflank`` serves completed backups of ``--size`` bytes, 64 MiB and 1 GiB (their
bytes from its loopback storage origin) from a separate process, so that the server's
CPU time is not the client's. A worker process runs each variant below once per round,
the order rotated from round to round (a warm-up round first, not counted; 5 rounds of
1 GiB by default, 3 of 256 MiB with ``--quick``):

- ``download_backup`` on an open ``NorthflankSession`` (``overwrite=True``): its two
  API requests (the backup, then its link), the storage GET streamed to a temporary
  file beside the destination, fsync, rename, fsync of the directory;
- the bare loop, what one writes by hand: one ``aiohttp.ClientSession(auto_decompress=
  False)``, a plain GET of the link from the API, then the storage GET with
  ``async for chunk in resp.content.iter_chunked(256 * 1024): f.write(chunk)`` into a
  temporary file beside the destination, flush, fsync, close, ``os.replace``, fsync of
  the directory: the same durable write;
- the bare loop without any fsync (shown for comparison, without a target).

The timings cover everything after the session is open, link requests included, up to
the file in place. The warm-up round checks every variant's file against the sha256
of the bytes the origin serves (computed in the server process); every round checks
the byte count. Each file is deleted after its run. Then fresh processes each run one
``download_backup`` of 64 MiB and of 1 GiB and report the peak RSS (``ru_maxrss``)
before the download (after imports and opening the session) and after. It prints
medians and the ratios against the targets, and exits with status 1 when a target is
missed:

- ``download_backup`` takes at most 1.10x the median wall time of the bare loop with
  fsync;
- the peak RSS grows by at most 32 MiB during the download, for 64 MiB and for 1 GiB
  alike: the body is streamed, never held.

The files are written in a temporary directory under ``--dir`` (the system's temporary
directory by default), which needs room for twice the largest file (2 GiB at least). Take
figures on a quiet machine with two free cores: the server process sends while the
client writes. Nothing here is part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _harness import Child, Verdict, machine

from northflank_async import NorthflankSession
from northflank_async.testing import MockNorthflank, example_backup

PROJECT = "default-project"
ADDON = "example-addon"
TOKEN = "nf-test-token"

RATIO_TARGET = 1.10
RSS_MIB_TARGET = 32.0

MIB = 1 << 20
GIB = 1 << 30
#: The sizes the peak-RSS processes download, whatever ``--size``.
RSS_SIZES = (64 * MIB, GIB)
#: What the bare loop reads at a time: the SDK's chunk size too.
CHUNK = 256 * 1024
#: Pieces in which the server hashes the bytes it serves (never all at once).
DIGEST_PIECE = 8 * MIB

_UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": MIB, "gib": GIB}


def backup_id(size: int) -> str:
    """The id of the served backup of ``size`` bytes."""
    return f"download-bench-{size}"


# ------------------------------------------------------------------------ the server


def serve(sizes: list[int]) -> None:
    """Serve a completed backup of each size; print the base URL; answer digest requests.

    Each line on stdin names a backup id; the answer is the sha256 (hex) of the bytes
    the storage origin serves for it. Stops when stdin closes.
    """

    async def run_server() -> None:
        mock = MockNorthflank(rate_limit=1_000_000_000)
        backups = []
        for size in sizes:
            backup = example_backup()
            backup["id"] = backup_id(size)
            backup["status"] = "completed"
            backup["config"]["size"] = str(size)
            backups.append(backup)
        mock.add_backups(PROJECT, ADDON, backups)
        loop = asyncio.get_running_loop()
        async with mock:
            print(mock.base_url, flush=True)
            while True:
                # The mock records every request; forget them so that it stays as fast.
                mock.requests.clear()
                mock.storage.requests.clear()
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line:
                    return
                # On the loop, not in a thread: nothing is downloading while it hashes.
                print(served_digest(mock, line.strip()), flush=True)

    asyncio.run(run_server())


def served_digest(mock: MockNorthflank, backup: str) -> str:
    """The sha256 (hex) of the bytes the storage origin serves for ``backup``, in pieces."""
    size = mock.storage.size(backup)
    digest = hashlib.sha256()
    for start in range(0, size, DIGEST_PIECE):
        digest.update(mock.storage.content(backup, start, start + DIGEST_PIECE))
    return digest.hexdigest()


# ----------------------------------------------------------------------- the clients


@dataclass
class Timer:
    """Wall and CPU seconds of the stretch a ``with timer():`` block covers."""

    seconds: float = 0.0
    cpu: float = 0.0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            self.seconds = time.perf_counter() - started_wall
            self.cpu = time.process_time() - started_cpu


async def download_sdk(base_url: str, backup: str, destination: Path, timer: Timer) -> None:
    """``download_backup`` as a user writes it; only the call is timed."""
    async with NorthflankSession(TOKEN, base_url=base_url) as nf:
        with timer():
            await nf.download_backup(PROJECT, ADDON, backup, destination, overwrite=True)


async def download_bare(
    base_url: str, backup: str, destination: Path, timer: Timer, *, durable: bool
) -> None:
    """The bare loop: the link from the API, its bytes to a temporary file, renamed.

    With ``durable``, the file and then its directory are synced, as the SDK does.
    Everything after opening the ClientSession is timed.
    """
    api = f"{base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups/{backup}/download-link"
    directory = destination.parent
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        with timer():
            # The token goes with this request only: the link is for another host.
            async with http.get(api, headers={"Authorization": f"Bearer {TOKEN}"}) as response:
                response.raise_for_status()
                link = (await response.json())["data"]["downloadLink"]
            fd, temp = tempfile.mkstemp(dir=directory, prefix=".bare.", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as file:
                    async with http.get(link) as response:
                        response.raise_for_status()
                        async for chunk in response.content.iter_chunked(CHUNK):
                            file.write(chunk)
                    if durable:
                        file.flush()
                        os.fsync(file.fileno())
                os.replace(temp, destination)
            except BaseException:
                os.unlink(temp)
                raise
            if durable:
                sync_directory(directory)


def sync_directory(directory: Path) -> None:
    """fsync a directory, making a rename in it durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_digest(path: Path) -> str:
    """The sha256 (hex) of a file, read in pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while piece := file.read(DIGEST_PIECE):
            digest.update(piece)
    return digest.hexdigest()


def run_variant(request: dict[str, Any]) -> dict[str, Any]:
    """One download in a fresh event loop; its timings, size and maybe digest; file deleted."""
    destination = Path(request["destination"])
    url, backup, variant = request["url"], request["backup"], request["variant"]
    timer = Timer()
    coro: Coroutine[Any, Any, None]
    if variant == "sdk":
        coro = download_sdk(url, backup, destination, timer)
    else:
        coro = download_bare(url, backup, destination, timer, durable=variant == "bare")
    asyncio.run(coro)
    try:
        reply: dict[str, Any] = {
            "seconds": timer.seconds,
            "cpu": timer.cpu,
            "bytes": destination.stat().st_size,
        }
        if request.get("digest"):
            reply["sha256"] = file_digest(destination)
    finally:
        destination.unlink()
    return reply


def worker() -> None:
    """Answer JSON requests from stdin, one a line, on stdout: one download each."""
    for line in sys.stdin:
        print(json.dumps(run_variant(json.loads(line))), flush=True)


def rss_download(base_url: str, backup: str, destination: str) -> None:
    """One ``download_backup`` in this fresh process; print the peak RSS before and after."""

    async def run() -> dict[str, float]:
        async with NorthflankSession(TOKEN, base_url=base_url) as nf:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            await nf.download_backup(PROJECT, ADDON, backup, destination, overwrite=True)
            seconds = time.perf_counter() - started
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return {"before_kib": before, "peak_kib": peak, "seconds": seconds}

    try:
        result = asyncio.run(run())
        result["bytes"] = os.stat(destination).st_size
    finally:
        if os.path.exists(destination):
            os.unlink(destination)
    print(json.dumps(result), flush=True)


# ------------------------------------------------------------------ the orchestrator


@contextmanager
def server(sizes: list[int]) -> Iterator[tuple[str, Child]]:
    """A MockNorthflank serving a backup of each size in its own process: URL, process."""
    child = Child(__file__, "_serve", *map(str, sizes))
    try:
        yield child.line(), child
    finally:
        child.close()


def peak_rss(url: str, size: int, directory: Path) -> dict[str, float]:
    """Download the backup of ``size`` bytes in a fresh process; its peak RSS and time."""
    destination = directory / f"rss-{size}.tar.gz"
    child = Child(__file__, "_rss", url, backup_id(size), str(destination))
    try:
        result: dict[str, float] = json.loads(child.line())
    finally:
        child.close()
    if result["bytes"] != size:
        raise RuntimeError(f"peak RSS run: downloaded {result['bytes']} of {size} bytes")
    return result


@dataclass
class Row:
    """The runs of one variant."""

    label: str
    variant: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def interleave(
    rows: list[Row],
    rounds: int,
    run: Callable[[Row, bool], dict[str, Any]],
    size: int,
    expected_digest: Callable[[], str],
) -> None:
    """Run each variant once per round (a warm-up round first), rotating the order.

    The warm-up round checks every variant's file against ``expected_digest()``; every
    run's file must have ``size`` bytes.
    """
    for round_number in range(rounds + 1):
        shift = round_number % len(rows)
        for row in rows[shift:] + rows[:shift]:
            result = run(row, round_number == 0)
            if result["bytes"] != size:
                raise RuntimeError(f"{row.label}: downloaded {result['bytes']} of {size} bytes")
            if round_number == 0:
                if result["sha256"] != expected_digest():
                    raise RuntimeError(f"{row.label}: the file differs from the served bytes")
                continue
            row.seconds.append(result["seconds"])
            row.cpu.append(result["cpu"])
        print(f"  round {round_number}/{rounds} done" if round_number else "  warm-up done")


def parse_size(text: str) -> int:
    """A size in bytes from ``1073741824``, ``1GiB``, ``256MiB`` or ``64 KiB``."""
    match = re.fullmatch(r"\s*([0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS or int(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 1GiB or 256MiB")
    return int(match.group(1)) * _UNITS[unit]


def mib(size: int) -> str:
    """``size`` bytes as a short text: ``1024 MiB``."""
    return f"{size / MIB:g} MiB"


def filesystem(path: Path) -> str:
    """The type of the filesystem ``path`` is on (from /proc/mounts), or ``unknown``."""
    best, kind = "", "unknown"
    resolved = str(path.resolve())
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mount = fields[1]
                inside = resolved == mount or resolved.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) > len(best):
                    best, kind = mount, fields[2]
    except OSError:
        pass
    return kind


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the table; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--size", type=parse_size, default=None, help="bytes of the timed backup (default 1GiB)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds of runs, at least 5")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write the files (default: the temp dir)"
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds of 256 MiB")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 3
        size: int = args.size if args.size is not None else 256 * MIB
    else:
        size = args.size if args.size is not None else GIB
        if args.rounds < 5:
            parser.error("--rounds must be at least 5 (or use --quick)")
    base = args.dir if args.dir is not None else Path(tempfile.gettempdir())
    if not base.is_dir():
        parser.error(f"--dir {base} is not a directory")
    # One file at a time, but a deleted file's blocks may take a moment to come back.
    needed = 2 * max(size, *RSS_SIZES)
    free = shutil.disk_usage(base).free
    if free < needed:
        parser.error(f"{base} has {mib(free)} free, {mib(needed)} needed")

    started = time.perf_counter()
    directory = Path(tempfile.mkdtemp(prefix="northflank-download-bench.", dir=base))
    print(f"northflank-async download benchmark on {machine()}", flush=True)
    print(f"files in {directory} ({filesystem(directory)})", flush=True)
    verdicts: list[Verdict] = []
    worker_child = Child(__file__, "_worker")
    try:
        sizes = sorted({size, *RSS_SIZES})
        with server(sizes) as (url, origin):
            digests: dict[str, str] = {}

            def expected_digest() -> str:
                backup = backup_id(size)
                if backup not in digests:
                    digests[backup] = origin.say(backup)
                return digests[backup]

            def run(row: Row, check: bool) -> dict[str, Any]:
                answer: dict[str, Any] = worker_child.ask(
                    variant=row.variant,
                    url=url,
                    backup=backup_id(size),
                    destination=str(directory / f"{row.variant}.tar.gz"),
                    digest=check,
                )
                return answer

            rows = [
                Row("download_backup (fsync, rename)", "sdk"),
                Row("bare aiohttp loop (fsync, rename)", "bare"),
                Row("bare aiohttp loop, no fsync", "bare-no-fsync"),
            ]
            print(f"\n{args.rounds} rounds of {mib(size)}, and a warm-up", flush=True)
            interleave(rows, args.rounds, run, size, expected_digest)
            rss = {rss_size: peak_rss(url, rss_size, directory) for rss_size in RSS_SIZES}

        reference = rows[1]
        print(
            f"\nDownload of a {mib(size)} backup from the loopback mock, {args.rounds} "
            "interleaved rounds: median wall time (fastest), throughput, the client's CPU "
            "time, and the ratio to the bare loop with fsync"
        )
        for row in rows:
            print(
                f"  {row.label:<36} {row.median * 1000:7.0f} ms ({min(row.seconds) * 1000:.0f})"
                f"  {size / row.median / MIB:6.0f} MiB/s"
                f"  cpu {statistics.median(row.cpu) * 1000:6.0f} ms"
                f"  {row.median / reference.median:5.3f}x"
            )
        verdicts.append(
            Verdict(
                f"download_backup of {mib(size)} / bare loop",
                rows[0].median / reference.median,
                RATIO_TARGET,
                "x",
            )
        )

        print("\nPeak RSS of a fresh process running one download_backup")
        growths = []
        for rss_size, result in rss.items():
            growth = (result["peak_kib"] - result["before_kib"]) / 1024
            growths.append(growth)
            print(
                f"  {mib(rss_size):>9}  {result['before_kib'] / 1024:5.1f} MiB before, "
                f"{result['peak_kib'] / 1024:5.1f} MiB after: +{growth:.1f} MiB "
                f"(downloaded in {result['seconds']:.1f} s)"
            )
            verdicts.append(
                Verdict(f"peak RSS growth, {mib(rss_size)}", growth, RSS_MIB_TARGET, " MiB")
            )
        print(f"  difference between the two growths: {growths[-1] - growths[0]:+.1f} MiB")
    finally:
        worker_child.close()
        shutil.rmtree(directory, ignore_errors=True)

    print("\nTargets")
    for verdict in verdicts:
        status = "ok" if verdict.ok else "MISSED"
        print(
            f"  {verdict.name:<50} {verdict.value:6.3f}{verdict.unit:<4} "
            f"(at most {verdict.limit:g}{verdict.unit})  {status}"
        )
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    return 0 if all(verdict.ok for verdict in verdicts) else 1


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "_serve":
        serve([int(arg) for arg in sys.argv[2:]])
    elif command == "_worker":
        worker()
    elif command == "_rss":
        rss_download(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(main())
