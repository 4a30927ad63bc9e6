"""Benchmark: the SDK's typed walk against a hand-written aiohttp walk, on one machine.

Run from the repository root::

    pip install -e ".[speedups]" && python benchmarks/run.py     # about 75 s
    python benchmarks/run.py --quick                            # about 35 s

``MockNorthflank`` serves the backups from a separate process (one per data set), so
the client measured has a core to itself on a two-core machine. The clients run in
worker processes, one per JSON parser (stdlib ``json``, and orjson when the
``speedups`` extra is installed); the runs of every variant are interleaved, and the
structuring samples are taken between the rounds of walks. It prints medians and the
ratios against the targets, and exits with status 1 when a target is missed:

- a walk through ``list_backups`` (typed models, prefetch on as by default) takes at
  most 1.2x the wall time of the hand-written walk (one ``aiohttp.ClientSession``
  following the cursor, ``json.loads`` into dicts), with each parser;
- structuring alone costs at most 5 microseconds per backup of the documented
  example's shape (CPU time of the structuring thread, on already parsed JSON);
- with server latency L and a consumer spending L on each page, the walk with
  prefetch takes at most 0.65x the time of the walk without;
- a fresh process walking 200,000 backups peaks within 10 MiB of one walking 20,000.

Nothing here is part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import aiohttp
import cattrs

from northflank_async import (
    AdditionalDestination,
    Backup,
    BackupConfig,
    BackupSource,
    BackupSourceType,
    BackupStatus,
    CompressionType,
    DestinationType,
    NorthflankSession,
    converter,
)
from northflank_async._convert import _configure
from northflank_async.testing import MockNorthflank, example_backup

#: The converter as it was before it was tuned: the same rules on cattrs' generated functions.
cattrs_converter = cattrs.Converter()
_configure(cattrs_converter, compiled=False)

PROJECT = "default-project"
ADDON = "example-addon"
TOKEN = "nf-test-token"
#: Private switch of ``northflank_async._jsonlib``: use stdlib json even with orjson.
STDLIB_SWITCH = "_NORTHFLANK_ASYNC_STDLIB_JSON"

WALK_RATIO_TARGET = 1.2
STRUCTURE_US_TARGET = 5.0
PREFETCH_RATIO_TARGET = 0.65
RSS_MIB_TARGET = 10.0

#: The backup of the API reference's example response.
SEED_BACKUP: dict[str, Any] = example_backup()


# ------------------------------------------------------------------------ the server


def serve(backups: int, latency: float) -> None:
    """Serve ``backups`` generated backups; print the base URL; stop when stdin closes."""

    async def run_server() -> None:
        mock = MockNorthflank(latency=latency, rate_limit=1_000_000_000)
        mock.generate_backups(PROJECT, ADDON, backups)
        async with mock:
            print(mock.base_url, flush=True)
            stop = asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
            while not stop.done():
                # The mock records every request; forget them so that it stays as fast.
                mock.requests.clear()
                await asyncio.wait([stop], timeout=0.5)

    asyncio.run(run_server())


# ----------------------------------------------------------------------- the clients


async def walk_dicts(base_url: str, per_page: int) -> int:
    """The reference: one ClientSession following the cursor, json.loads into dicts."""
    url = f"{base_url}/v1/projects/{PROJECT}/addons/{ADDON}/backups"
    params = {"per_page": str(per_page)}
    count = 0
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        while True:
            async with http.get(url, params=params) as response:
                response.raise_for_status()
                page = json.loads(await response.read())
            for _backup in page["data"]["backups"]:
                count += 1
            pagination = page["pagination"]
            if not pagination["hasNextPage"]:
                return count
            params = {"per_page": str(per_page), "cursor": pagination["cursor"]}


async def walk_sdk(base_url: str, per_page: int, prefetch: bool, page_sleep: float) -> int:
    """``list_backups``; or, with a consumer sleeping on each page, ``list_backup_pages``."""

    count = 0
    async with NorthflankSession(TOKEN, base_url=base_url) as nf:
        if page_sleep > 0:
            async for page in nf.list_backup_pages(
                PROJECT, ADDON, per_page=per_page, prefetch=prefetch
            ):
                count += len(page.backups)
                await asyncio.sleep(page_sleep)
        else:
            async for _backup in nf.list_backups(
                PROJECT, ADDON, per_page=per_page, prefetch=prefetch
            ):
                count += 1
    return count


def seed_shaped(count: int) -> list[dict[str, Any]]:
    """``count`` backups shaped like the documented example, with their own ids, times, sizes."""
    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    backups = []
    for i in range(count):
        backup = copy.deepcopy(SEED_BACKUP)
        created = start + timedelta(hours=i, milliseconds=rng.randrange(3_600_000))
        completed = created + timedelta(milliseconds=rng.randrange(2_000, 900_000))
        backup["id"] = f"backup-{i:06d}-{rng.randrange(1 << 24):06x}"
        backup["name"] = f"Nightly backup {created:%Y-%m-%d}"
        backup["createdAt"] = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        backup["completedAt"] = completed.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        backup["config"]["size"] = str(rng.randrange(1 << 10, 1 << 35))
        backups.append(backup)
    return backups


class Structuring:
    """Response bodies kept in a worker, parsed and structured on request."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[bytes]] = {}
        self.count = 0

    def prepare(self, count: int, per_page: int) -> None:
        """``count`` backups of each shape, as the bodies of pages of ``per_page``."""
        for shape in ("seed", "mock"):
            if shape == "seed":
                backups = seed_shaped(count)
            else:
                backups = MockNorthflank().generate_backups(PROJECT, ADDON, count)
            self.bodies[shape] = [
                json.dumps(backups[i : i + per_page]).encode() for i in range(0, count, per_page)
            ]
            converter.structure(json.loads(self.bodies[shape][0]), list[Backup])  # compile
        self.count = count

    def measure(self, shape: str, passes: int, way: str = "converter") -> dict[str, list[float]]:
        """Microseconds per backup, CPU and wall time, to structure every page, per pass.

        Each page is parsed just before it is structured, as in a walk, and only the
        structuring is timed. ``way`` is ``converter`` (what the SDK does), ``by_hand``
        (:func:`by_hand`, no checks) or ``cattrs`` (the rules on cattrs' generated functions).
        """
        hook = list[Backup]
        structure: Callable[[Any], object] = {
            "converter": lambda page: converter.structure(page, hook),
            "cattrs": lambda page: cattrs_converter.structure(page, hook),
            "by_hand": lambda page: [by_hand(backup) for backup in page],
        }[way]
        loads, thread_time, perf_counter = json.loads, time.thread_time, time.perf_counter
        cpu, wall = [], []
        for _ in range(passes):
            cpu_total = wall_total = 0.0
            for body in self.bodies[shape]:
                page = loads(body)
                started_cpu, started_wall = thread_time(), perf_counter()
                structure(page)
                cpu_total += thread_time() - started_cpu
                wall_total += perf_counter() - started_wall
            cpu.append(cpu_total / self.count * 1e6)
            wall.append(wall_total / self.count * 1e6)
        return {"cpu": cpu, "wall": wall}


_STATUSES = BackupStatus._value2member_map_
_SOURCES = BackupSourceType._value2member_map_
_COMPRESSIONS = CompressionType._value2member_map_
_DESTINATION_TYPES = DestinationType._value2member_map_


def by_hand(raw: dict[str, Any]) -> Backup:
    """The same four frozen objects built through their __init__ by a plain function.

    What one could write without the converter, checking nothing.
    """
    config = raw["config"]
    source = config.get("source")
    completed_at = raw.get("completedAt")
    compression = config.get("compressionType")
    return Backup(
        id=raw["id"],
        name=raw["name"],
        status=_STATUSES.get(raw["status"], raw["status"]),
        created_at=datetime.fromisoformat(raw["createdAt"]),
        completed_at=None if completed_at is None else datetime.fromisoformat(completed_at),
        config=BackupConfig(
            size=int(config["size"]),
            source=None
            if source is None
            else BackupSource(type=_SOURCES.get(source.get("type"), source.get("type"))),
            compression_type=None
            if compression is None
            else _COMPRESSIONS.get(compression, compression),
            additional_destinations=tuple(
                AdditionalDestination(
                    destination_id=destination["destinationId"],
                    retention_time=destination.get("retentionTime"),
                    type=_DESTINATION_TYPES.get(destination["type"], destination["type"]),
                )
                for destination in config.get("additionalDestinations", ())
            ),
            addon_version=config.get("addonVersion"),
        ),
        custom_destination_id=raw.get("customDestinationId"),
    )


def timed(coro: Coroutine[Any, Any, int]) -> dict[str, float]:
    """Run a walk in a fresh event loop; its wall and CPU seconds and its item count."""
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    count = asyncio.run(coro)
    return {
        "seconds": time.perf_counter() - started_wall,
        "cpu": time.process_time() - started_cpu,
        "count": count,
    }


def worker() -> None:
    """Answer JSON requests from stdin, one a line, on stdout."""
    from northflank_async import _jsonlib

    structuring = Structuring()
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        reply: Any = None
        if op == "parser":
            reply = _jsonlib.PARSER
        elif op == "dicts":
            reply = timed(walk_dicts(request["url"], request["per_page"]))
        elif op == "sdk":
            reply = timed(
                walk_sdk(
                    request["url"], request["per_page"], request["prefetch"], request["page_sleep"]
                )
            )
        elif op == "prepare":
            structuring.prepare(request["count"], request["per_page"])
        elif op == "structure":
            reply = structuring.measure(request["shape"], request["passes"], request["way"])
        else:
            raise ValueError(f"unknown op {op!r}")
        print(json.dumps(reply), flush=True)


def rss_walk(base_url: str, per_page: int) -> None:
    """Walk every backup with list_backups in this fresh process; print the peak RSS."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = timed(walk_sdk(base_url, per_page, True, 0.0))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({**result, "before_kib": before, "peak_kib": peak}), flush=True)


# ------------------------------------------------------------------ the orchestrator


class Child:
    """A Python subprocess running this file with a private command, spoken to by lines."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def line(self) -> str:
        """The child's next line of output."""
        assert self.process.stdout is not None
        text = self.process.stdout.readline()
        if not text:
            raise RuntimeError(f"{self.process.args!r} exited with {self.process.wait()}")
        return text.strip()

    def ask(self, **request: Any) -> Any:
        """Send one request to a worker; its decoded answer."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.line())

    def close(self) -> None:
        """Close its stdin (which ends it) and wait for it."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def server(backups: int, latency: float = 0.0) -> Iterator[str]:
    """A MockNorthflank serving ``backups`` backups in its own process; its base URL."""
    child = Child("_serve", str(backups), str(latency))
    try:
        yield child.line()
    finally:
        child.close()


def peak_rss(url: str, per_page: int) -> dict[str, float]:
    """Walk every backup of ``url`` in a fresh process; its peak RSS and timings."""
    child = Child("_rss", url, str(per_page))
    try:
        result: dict[str, float] = json.loads(child.line())
    finally:
        child.close()
    return result


@dataclass
class Row:
    """The runs of one variant."""

    label: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class Verdict:
    """One target: what was measured against what is required."""

    name: str
    value: float
    limit: float
    unit: str

    @property
    def ok(self) -> bool:
        return self.value <= self.limit


Run = Callable[[], dict[str, float]]


def interleave(
    rows: list[tuple[Row, Run]],
    runs: int,
    expected: int,
    between: Callable[[bool], None] = lambda _record: None,
) -> None:
    """Run each variant once per round (a warm-up round first), rotating the order.

    ``between(record)`` runs after every round, to take other samples at the same pace.
    """
    for round_number in range(runs + 1):
        shift = round_number % len(rows)
        for row, run in rows[shift:] + rows[:shift]:
            result = run()
            if result["count"] != expected:
                raise RuntimeError(f"{row.label}: walked {result['count']} of {expected}")
            if round_number > 0:
                row.seconds.append(result["seconds"])
                row.cpu.append(result["cpu"])
        between(round_number > 0)


def machine() -> str:
    """Cores, CPU model, Python and library versions."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")),
                model,
            )
    except OSError:
        pass
    versions = []
    for package in ("aiohttp", "attrs", "cattrs", "orjson"):
        try:
            versions.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            versions.append(f"no {package}")
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, " + ", ".join(
        versions
    )


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the table; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backups", type=int, default=20_000, help="backups per walk")
    parser.add_argument("--big", type=int, default=200_000, help="backups of the large RSS walk")
    parser.add_argument("--runs", type=int, default=7, help="runs per variant, at least 5")
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.01, help="server latency, prefetch test")
    parser.add_argument(
        "--prefetch-backups", type=int, default=5_000, help="backups of the prefetch test"
    )
    parser.add_argument("--quick", action="store_true", help="3 runs, a smaller prefetch test")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 3
        args.prefetch_backups = min(args.prefetch_backups, 2_000)
    elif args.runs < 5:
        parser.error("--runs must be at least 5 (or use --quick)")
    started = time.perf_counter()
    print(f"northflank-async benchmark on {machine()}", flush=True)

    walkers = {"json": Child("_worker", env={STDLIB_SWITCH: "1"})}
    fast = Child("_worker", env={STDLIB_SWITCH: ""})
    if fast.ask(op="parser") == "orjson":
        walkers["orjson"] = fast
    else:
        fast.close()
    default_parser = "orjson" if "orjson" in walkers else "json"
    structurer = Child("_worker")
    verdicts: list[Verdict] = []
    try:
        structurer.ask(op="prepare", count=args.backups, per_page=args.per_page)
        # (shape, way) -> CPU microseconds per backup, one a pass
        structuring: dict[tuple[str, str], list[float]] = {
            ("seed", "converter"): [],
            ("mock", "converter"): [],
            ("seed", "by_hand"): [],
            ("seed", "cattrs"): [],
        }

        def structure(record: bool) -> None:
            for (shape, way), samples in structuring.items():
                passes = 2 if way == "converter" else 1
                cost = structurer.ask(op="structure", shape=shape, passes=passes, way=way)
                if record:
                    samples += cost["cpu"]

        # -- 1. the walk against the hand-written dict walk; structuring in between
        with server(args.backups) as url:
            reference = Row("hand-written aiohttp + json.loads, dicts")

            def dicts() -> dict[str, float]:
                answer: dict[str, float] = walkers["json"].ask(
                    op="dicts", url=url, per_page=args.per_page
                )
                return answer

            variants: list[tuple[Row, Run]] = [(reference, dicts)]
            for name, child in walkers.items():
                for prefetch in (True, False):

                    def sdk(child: Child = child, prefetch: bool = prefetch) -> dict[str, float]:
                        answer: dict[str, float] = child.ask(
                            op="sdk",
                            url=url,
                            per_page=args.per_page,
                            prefetch=prefetch,
                            page_sleep=0,
                        )
                        return answer

                    variants.append((Row(f"list_backups, {name}, prefetch={prefetch}"), sdk))
            interleave(variants, args.runs, args.backups, structure)
            small = peak_rss(url, args.per_page)

        print(
            f"\nWalk of {args.backups} backups, {args.per_page} per page, {args.runs} "
            "interleaved runs each: median wall time, and the client's CPU time"
        )
        for row, _ in variants:
            ratio = row.median / reference.median
            print(
                f"  {row.label:<42} {row.median * 1000:6.0f} ms  "
                f"{row.median / args.backups * 1e6:5.1f} us/backup  "
                f"cpu {statistics.median(row.cpu) * 1000:5.0f} ms  {ratio:5.2f}x"
            )
            if "prefetch=True" in row.label:
                verdicts.append(Verdict(f"{row.label} / dict walk", ratio, WALK_RATIO_TARGET, "x"))

        seed_us = statistics.median(structuring["seed", "converter"])
        print(
            f"\nStructuring alone, on parsed JSON in pages of {args.per_page}: CPU time per "
            f"backup, median of {len(structuring['seed', 'converter'])} passes over "
            f"{args.backups} backups taken between the rounds above (fastest pass)"
        )
        for (shape, way), samples in structuring.items():
            label = {
                "converter": "converter.structure(page, list[Backup])",
                "by_hand": "by hand: the four __init__s, no checks",
                "cattrs": "before: cattrs' generated functions",
            }[way]
            print(
                f"  {label:<42} {'seed' if shape == 'seed' else 'mock'} shape "
                f"{statistics.median(samples):5.2f} us ({min(samples):.2f})"
            )
        verdicts.append(
            Verdict(
                "structuring, per backup of the seed's shape", seed_us, STRUCTURE_US_TARGET, " us"
            )
        )

        # -- 2. prefetch with a slow server and a slow consumer
        with server(args.prefetch_backups, args.latency) as url:
            rows: list[tuple[Row, Run]] = []
            for prefetch in (False, True):

                def slow(prefetch: bool = prefetch) -> dict[str, float]:
                    answer: dict[str, float] = walkers[default_parser].ask(
                        op="sdk",
                        url=url,
                        per_page=args.per_page,
                        prefetch=prefetch,
                        page_sleep=args.latency,
                    )
                    return answer

                rows.append((Row(f"list_backup_pages, prefetch={prefetch}"), slow))
            interleave(rows, args.runs, args.prefetch_backups)
        without, with_ = rows[0][0], rows[1][0]
        print(
            f"\nPrefetch: {args.prefetch_backups} backups, server latency "
            f"{args.latency * 1000:g} ms, a consumer sleeping {args.latency * 1000:g} ms a page"
        )
        for row in (without, with_):
            print(f"  {row.label:<42} {row.median * 1000:6.0f} ms")
        ratio = with_.median / without.median
        verdicts.append(Verdict("prefetch / no prefetch", ratio, PREFETCH_RATIO_TARGET, "x"))

        # -- 3. peak RSS: the large walk (the small one ran against the first server)
        with server(args.big) as url:
            big = peak_rss(url, args.per_page)
        print(f"\nPeak RSS of a fresh process walking with list_backups ({default_parser})")
        for walked, result in ((args.backups, small), (args.big, big)):
            print(
                f"  {walked:>7} backups  {result['peak_kib'] / 1024:5.1f} MiB "
                f"({result['before_kib'] / 1024:.1f} MiB before the walk, "
                f"walked in {result['seconds']:.1f} s)"
            )
        growth = (big["peak_kib"] - small["peak_kib"]) / 1024
        verdicts.append(
            Verdict(
                f"RSS growth, {args.backups} -> {args.big} backups", growth, RSS_MIB_TARGET, " MiB"
            )
        )
    finally:
        for child in [*walkers.values(), structurer]:
            child.close()

    print("\nTargets")
    for verdict in verdicts:
        status = "ok" if verdict.ok else "MISSED"
        print(
            f"  {verdict.name:<50} {verdict.value:6.2f}{verdict.unit:<4} "
            f"(at most {verdict.limit:g}{verdict.unit})  {status}"
        )
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    return 0 if all(verdict.ok for verdict in verdicts) else 1


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "_serve":
        serve(int(sys.argv[2]), float(sys.argv[3]))
    elif command == "_worker":
        worker()
    elif command == "_rss":
        rss_walk(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
