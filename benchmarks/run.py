"""Benchmark: what a user of the SDK feels, against a bare aiohttp walk, on one machine.

Run from the repository root::

    pip install -e ".[speedups]" && python benchmarks/run.py     # about 2 minutes
    python benchmarks/run.py --quick                            # about 70 s

``MockNorthflank`` serves 20,000 generated backups from separate processes, one with no
latency and one that delays every request by ``--latency`` (20 ms by default; the real
API answers in tens to hundreds of milliseconds). A worker process walks them with
``list_backups`` (typed models, prefetch on as by default) and with the bare loop (one
``aiohttp.ClientSession`` following ``pagination.cursor``, ``json.loads`` of each body
into dicts, nothing else); every variant at both latencies runs once per round, the
rounds interleaved, and the structuring samples are taken between the rounds. It prints
medians and the ratios against the targets, and exits with status 1 when a target is
missed:

- at ``--latency``, the ``list_backups`` walk takes at most 1.02x the wall time of the
  bare loop: prefetch hides all structuring behind the next request;
- at 0 ms latency (a loopback artefact no user meets), at most 1.5x;
- structuring alone costs at most 12 microseconds per backup of the documented
  example's shape (CPU time of the structuring thread, on already parsed JSON);
- a fresh process walking 200,000 backups peaks within 10 MiB of one walking 20,000.

``prefetch=False`` walks are shown for comparison, without a target. Take figures on a
quiet machine with two free cores: at 0 ms, the server builds the next page while the
client structures this one only when both processes can run at once. Nothing here is
part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from _harness import Child, Verdict, machine

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
from northflank_async.testing import MockNorthflank, example_backup

PROJECT = "default-project"
ADDON = "example-addon"
TOKEN = "nf-test-token"
#: Private switch of ``northflank_async._jsonlib``: use stdlib json even with orjson.
STDLIB_SWITCH = "_NORTHFLANK_ASYNC_STDLIB_JSON"

LATENT_RATIO_TARGET = 1.02
LOOPBACK_RATIO_TARGET = 1.5
STRUCTURE_US_TARGET = 12.0
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


async def walk_bare(base_url: str, per_page: int) -> int:
    """The bare loop: one ClientSession following the cursor, json.loads into dicts."""
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


async def walk_sdk(base_url: str, per_page: int, prefetch: bool) -> int:
    """Every backup through ``list_backups``, as a user writes it."""
    count = 0
    async with NorthflankSession(TOKEN, base_url=base_url) as nf:
        async for _backup in nf.list_backups(PROJECT, ADDON, per_page=per_page, prefetch=prefetch):
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
            converter.structure(json.loads(self.bodies[shape][0]), list[Backup])  # warm up
        self.count = count

    def measure(self, shape: str, passes: int, way: str) -> list[float]:
        """CPU microseconds per backup to structure every page, one figure per pass.

        Each page is parsed just before it is structured, as in a walk, and only the
        structuring is timed. ``way`` is ``converter`` (what the SDK does) or ``by_hand``
        (:func:`by_hand`, no checks).
        """
        hook = list[Backup]
        structure: Callable[[Any], object] = {
            "converter": lambda page: converter.structure(page, hook),
            "by_hand": lambda page: [by_hand(backup) for backup in page],
        }[way]
        loads, thread_time = json.loads, time.thread_time
        cpu = []
        for _ in range(passes):
            total = 0.0
            for body in self.bodies[shape]:
                page = loads(body)
                started = thread_time()
                structure(page)
                total += thread_time() - started
            cpu.append(total / self.count * 1e6)
        return cpu


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
        elif op == "bare":
            reply = timed(walk_bare(request["url"], request["per_page"]))
        elif op == "sdk":
            reply = timed(walk_sdk(request["url"], request["per_page"], request["prefetch"]))
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
    result = timed(walk_sdk(base_url, per_page, True))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({**result, "before_kib": before, "peak_kib": peak}), flush=True)


# ------------------------------------------------------------------ the orchestrator


@contextmanager
def server(backups: int, latency: float = 0.0) -> Iterator[str]:
    """A MockNorthflank serving ``backups`` backups in its own process; its base URL."""
    child = Child(__file__, "_serve", str(backups), str(latency))
    try:
        yield child.line()
    finally:
        child.close()


def peak_rss(url: str, per_page: int, env: dict[str, str]) -> dict[str, float]:
    """Walk every backup of ``url`` in a fresh process; its peak RSS and timings."""
    child = Child(__file__, "_rss", url, str(per_page), env=env)
    try:
        result: dict[str, float] = json.loads(child.line())
    finally:
        child.close()
    return result


@dataclass
class Row:
    """The runs of one variant."""

    label: str
    latency: float
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


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


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the table; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backups", type=int, default=20_000, help="backups per walk")
    parser.add_argument("--big", type=int, default=200_000, help="backups of the large RSS walk")
    parser.add_argument("--runs", type=int, default=5, help="runs per variant, at least 5")
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument(
        "--latency", type=float, default=0.02, help="seconds the slow server waits per request"
    )
    parser.add_argument(
        "--stdlib-json", action="store_true", help="the SDK parses with json even with orjson"
    )
    parser.add_argument("--quick", action="store_true", help="3 runs, no prefetch=False walks")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = 3
    elif args.runs < 5:
        parser.error("--runs must be at least 5 (or use --quick)")
    started = time.perf_counter()
    print(f"northflank-async benchmark on {machine()}", flush=True)

    env = {STDLIB_SWITCH: "1" if args.stdlib_json else ""}
    walker = Child(__file__, "_worker", env=env)
    structurer = Child(__file__, "_worker", env=env)
    parser_name = walker.ask(op="parser")
    verdicts: list[Verdict] = []
    try:
        structurer.ask(op="prepare", count=args.backups, per_page=args.per_page)
        # (shape, way) -> CPU microseconds per backup, one a pass
        structuring: dict[tuple[str, str], list[float]] = {
            ("seed", "converter"): [],
            ("mock", "converter"): [],
            ("seed", "by_hand"): [],
        }

        def structure(record: bool) -> None:
            for (shape, way), samples in structuring.items():
                passes = 2 if (shape, way) == ("seed", "converter") else 1
                cost = structurer.ask(op="structure", shape=shape, passes=passes, way=way)
                if record:
                    samples += cost

        # -- 1. the walks, at 0 ms and at --latency, interleaved; structuring in between
        with server(args.backups) as fast_url, server(args.backups, args.latency) as slow_url:
            variants: list[tuple[Row, Run]] = []
            references: dict[float, Row] = {}
            sdk_rows: dict[float, Row] = {}
            for latency, url in ((0.0, fast_url), (args.latency, slow_url)):

                def bare(url: str = url) -> dict[str, float]:
                    answer: dict[str, float] = walker.ask(
                        op="bare", url=url, per_page=args.per_page
                    )
                    return answer

                references[latency] = Row("bare aiohttp + json.loads, dicts", latency)
                variants.append((references[latency], bare))
                for prefetch in (True, False) if not args.quick else (True,):

                    def sdk(url: str = url, prefetch: bool = prefetch) -> dict[str, float]:
                        answer: dict[str, float] = walker.ask(
                            op="sdk", url=url, per_page=args.per_page, prefetch=prefetch
                        )
                        return answer

                    label = f"list_backups, {parser_name}"
                    row = Row(label if prefetch else f"{label}, prefetch=False", latency)
                    if prefetch:
                        sdk_rows[latency] = row
                    variants.append((row, sdk))
            interleave(variants, args.runs, args.backups, structure)
            small = peak_rss(fast_url, args.per_page, env)

        print(
            f"\nWalk of {args.backups} backups, {args.per_page} per page, {args.runs} "
            "interleaved runs each: median wall time, the client's CPU time, and the ratio "
            "to the bare loop at the same latency"
        )
        for row, _ in variants:
            ratio = row.median / references[row.latency].median
            print(
                f"  {row.latency * 1000:4.0f} ms  {row.label:<40} {row.median * 1000:6.0f} ms  "
                f"cpu {statistics.median(row.cpu) * 1000:5.0f} ms  {ratio:5.3f}x"
            )
        for latency, limit in ((args.latency, LATENT_RATIO_TARGET), (0.0, LOOPBACK_RATIO_TARGET)):
            ratio = sdk_rows[latency].median / references[latency].median
            verdicts.append(
                Verdict(f"walk at {latency * 1000:g} ms / bare loop", ratio, limit, "x")
            )

        seed_us = statistics.median(structuring["seed", "converter"])
        print(
            f"\nStructuring alone, on parsed JSON in pages of {args.per_page}: CPU time per "
            f"backup, median of the passes over {args.backups} backups taken between the "
            "rounds above (fastest pass)"
        )
        for (shape, way), samples in structuring.items():
            label = {
                "converter": "converter.structure(page, list[Backup])",
                "by_hand": "by hand: the four __init__s, no checks",
            }[way]
            print(
                f"  {label:<42} {shape} shape "
                f"{statistics.median(samples):5.2f} us ({min(samples):.2f})"
            )
        by_hand_us = statistics.median(structuring["seed", "by_hand"])
        print(
            f"  the converter takes {seed_us / by_hand_us:.2f}x the time of the hand-written function"
        )
        verdicts.append(
            Verdict(
                "structuring, per backup of the seed's shape", seed_us, STRUCTURE_US_TARGET, " us"
            )
        )

        # -- 2. peak RSS: the large walk (the small one ran against the first server)
        with server(args.big) as url:
            big = peak_rss(url, args.per_page, env)
        print(f"\nPeak RSS of a fresh process walking with list_backups ({parser_name})")
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
        walker.close()
        structurer.close()

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
        serve(int(sys.argv[2]), float(sys.argv[3]))
    elif command == "_worker":
        worker()
    elif command == "_rss":
        rss_walk(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
