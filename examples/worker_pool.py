"""Process every backup of an addon with a pool of async workers, resumably.

    python examples/worker_pool.py --workers 8 --checkpoint walk.json
    python examples/worker_pool.py --project default-project --workers 8

A producer walks the addon's backups page by page (``list_backup_pages``) into a
bounded ``asyncio.Queue``; ``--workers`` tasks take backups off it and process each one
(here a stand-in check with a short random wait). The queue's bound is the
backpressure: however many backups the addon has, memory holds a few pages.

After every page whose backups have all been processed, the checkpoint file gets the
cursor that fetches the page after it (written atomically: a temporary file, then
``os.replace``). Workers finish out of order, so the checkpoint only moves over a
contiguous run of finished pages, and the producer keeps at most ``MAX_OPEN_PAGES``
unfinished pages. Killed at any point and restarted with the same ``--checkpoint``,
the walk resumes from that cursor: every backup is processed at least once, and only
the pages in flight at the kill are processed twice.

Ctrl-C cancels the workers, closes the session and leaves the checkpoint as it was
last written. A failed check is logged with the backup's id and counted, and the exit
code is 1 when any failed. The session waits out the API's hourly rate-limit window
(``RetryPolicy(max_wait=3600)``) instead of failing.

This file stands alone: copy it anywhere the ``northflank-async`` package is installed.
With ``NF_API_TOKEN`` (or ``NORTHFLANK_API_TOKEN``) set it works on the real API (the
addon of ``NF_PROJECT_ID`` and ``NF_ADDON_ID``); without one it starts
``northflank_async.testing.MockNorthflank`` on 127.0.0.1 with generated backups in three
addons of project ``default-project``, and says so on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import logging
import os
import random
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from northflank_async import (
    AddonBackup,
    BackupPage,
    BackupStatus,
    NorthflankError,
    NorthflankSession,
    RetryPolicy,
)
from northflank_async.testing import MockNorthflank

logger = logging.getLogger("worker_pool")

#: Processes one backup; an exception it raises counts that backup as failed.
Process = Callable[[AddonBackup], Awaitable[None]]
#: A queued backup and the number of the page it came from (0 when pages are not tracked).
Job = tuple[int, AddonBackup]

#: Pages the producer may have handed out before the oldest of them is finished.
MAX_OPEN_PAGES = 2


async def simulated_check(item: AddonBackup, *, max_delay: float = 0.01) -> None:
    """A stand-in for real work (download and verify a dump, copy it elsewhere)."""
    await asyncio.sleep(random.uniform(0, max_delay))
    backup = item.backup
    if backup.status == BackupStatus.COMPLETED and backup.config.size <= 0:
        raise ValueError("the backup is completed but empty")


class CheckpointError(ValueError):
    """The checkpoint file cannot be used for this walk."""


@dataclass(frozen=True)
class Checkpoint:
    """How far the walk of one addon's backups got, over every run."""

    project_id: str
    addon_id: str
    cursor: str | None = None
    """Fetches the page after the last fully processed one; None: start at the first."""
    complete: bool = False
    """Every page has been processed."""
    pages: int = 0
    backups: int = 0

    @classmethod
    def load(cls, path: Path, project_id: str, addon_id: str) -> Checkpoint:
        """The checkpoint in ``path``, or a fresh one when the file does not exist."""
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(project_id, addon_id)
        except ValueError as error:
            raise CheckpointError(f"{path} is not JSON: {error}") from None
        kinds = {"project_id": str, "addon_id": str, "complete": bool, "pages": int, "backups": int}
        if (
            not isinstance(data, dict)
            or any(not isinstance(data.get(key), kind) for key, kind in kinds.items())
            or not isinstance(data.get("cursor"), str | None)
        ):
            raise CheckpointError(f"{path} is not a checkpoint written by this program")
        checkpoint = cls(**{name: data[name] for name in [*kinds, "cursor"]})
        if (checkpoint.project_id, checkpoint.addon_id) != (project_id, addon_id):
            raise CheckpointError(
                f"{path} is the checkpoint of addon {checkpoint.addon_id} of project "
                f"{checkpoint.project_id}, not of addon {addon_id} of project {project_id}"
            )
        return checkpoint

    def save(self, path: Path) -> None:
        """Write atomically: a restart finds either the previous checkpoint or this one."""
        temporary = path.with_name(f".{path.name}.tmp")
        with temporary.open("w", encoding="utf-8") as file:
            json.dump(dataclasses.asdict(self), file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)


@dataclass
class Summary:
    """What one run did."""

    processed: int = 0
    """Backups processed in this run, failed ones included."""
    failed_ids: list[str] = field(default_factory=list)
    pages: int = 0
    """Pages fully processed in this run (single-addon mode)."""
    pages_before: int = 0
    """Pages the checkpoint said were done before this run."""

    @property
    def exit_code(self) -> int:
        """0 when every backup was processed without error, else 1."""
        return 1 if self.failed_ids else 0


class _Pages:
    """Counts each page's unfinished backups; moves the checkpoint over finished pages."""

    def __init__(
        self, state: Checkpoint, path: Path | None, max_open: int, summary: Summary
    ) -> None:
        self.state = state
        self._path = path
        self._summary = summary
        self._slots = asyncio.Semaphore(max_open)
        self._opened = 0  # pages of this run are numbered from 1, in walk order
        self._finished = 0  # pages 1.._finished are done and in the checkpoint
        self._left: dict[int, int] = {}  # page number -> backups not processed yet
        self._after: dict[int, tuple[int, bool, str | None]] = {}  # size, hasNextPage, cursor

    async def open(self, page: BackupPage) -> int:
        """Number the page; wait while MAX_OPEN_PAGES earlier pages are unfinished."""
        await self._slots.acquire()
        self._opened += 1
        number = self._opened
        self._left[number] = len(page.backups)
        paging = page.pagination
        self._after[number] = (len(page.backups), paging.has_next_page, paging.cursor)
        if not page.backups:
            self._advance()
        return number

    def done(self, number: int) -> None:
        """One backup of page ``number`` has been processed."""
        self._left[number] -= 1
        if self._left[number] == 0:
            self._advance()

    def _advance(self) -> None:
        moved = False
        while self._left.get(self._finished + 1) == 0:
            size, has_next, cursor = self._after[self._finished + 1]
            if has_next and cursor is None:
                # The API gave no way on (the walk raises PaginationError): keep the
                # last good cursor rather than one that would restart from page 1.
                break
            self._finished += 1
            del self._left[self._finished]
            del self._after[self._finished]
            self.state = dataclasses.replace(
                self.state,
                cursor=cursor if has_next else None,
                complete=not has_next,
                pages=self.state.pages + 1,
                backups=self.state.backups + size,
            )
            self._summary.pages += 1
            self._slots.release()
            moved = True
        if moved:
            # A small synchronous write: no await, so a cancellation cannot split it.
            if self._path is not None:
                self.state.save(self._path)
            logger.info(
                "%d pages done (%d backups)%s",
                self.state.pages,
                self.state.backups,
                ": every backup is processed" if self.state.complete else "",
            )


async def _pool(
    feed: Callable[[asyncio.Queue[Job | None]], Awaitable[None]],
    *,
    workers: int,
    process: Process,
    summary: Summary,
    done: Callable[[int], None],
) -> None:
    """Run ``feed`` into a bounded queue that ``workers`` tasks drain through ``process``."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=2 * workers)

    async def worker() -> None:
        while (job := await queue.get()) is not None:
            page, item = job
            try:
                await process(item)
            except Exception as error:
                summary.failed_ids.append(item.backup.id)
                logger.error(
                    "backup %s of addon %s (project %s) failed: %s: %s",
                    item.backup.id,
                    item.addon_id,
                    item.project_id,
                    type(error).__name__,
                    error,
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                )
            else:
                logger.debug("backup %s of addon %s processed", item.backup.id, item.addon_id)
            summary.processed += 1
            done(page)

    failure: NorthflankError | None = None
    async with asyncio.TaskGroup() as tasks:
        for _ in range(workers):
            tasks.create_task(worker())
        try:
            await feed(queue)
        except NorthflankError as error:
            failure = error  # the walk failed: finish what is queued, then raise it
        for _ in range(workers):
            await queue.put(None)
    if failure is not None:
        raise failure


async def run(
    nf: NorthflankSession,
    project_id: str,
    addon_id: str,
    *,
    workers: int = 8,
    checkpoint: Path | None = None,
    process: Process = simulated_check,
    per_page: int = 100,
    max_open_pages: int = MAX_OPEN_PAGES,
) -> Summary:
    """Process every backup of one addon, resuming from and updating ``checkpoint``.

    An API error ends the walk after the queued backups are processed, and is raised
    (the checkpoint then holds every fully processed page).
    """
    state = Checkpoint(project_id, addon_id)
    if checkpoint is not None:
        state = Checkpoint.load(checkpoint, project_id, addon_id)
    summary = Summary(pages_before=state.pages)
    if state.complete:
        logger.info("%s says every backup was processed; delete it to start over", checkpoint)
        return summary
    if state.pages:
        logger.info(
            "resuming after page %d (%d backups) from %s", state.pages, state.backups, checkpoint
        )
    pages = _Pages(state, checkpoint, max_open_pages, summary)

    async def feed(queue: asyncio.Queue[Job | None]) -> None:
        walk = nf.list_backup_pages(project_id, addon_id, per_page=per_page, cursor=state.cursor)
        async with aclosing(walk):
            async for page in walk:
                number = await pages.open(page)
                for backup in page.backups:
                    await queue.put((number, AddonBackup(project_id, addon_id, backup)))

    await _pool(feed, workers=workers, process=process, summary=summary, done=pages.done)
    return summary


async def run_project(
    nf: NorthflankSession,
    project_id: str,
    *,
    workers: int = 8,
    concurrency: int = 4,
    process: Process = simulated_check,
    per_page: int = 100,
) -> Summary:
    """Process every backup of every addon of a project, ``concurrency`` addon walks at once.

    No checkpoint: a restart processes every backup again.
    """

    async def feed(queue: asyncio.Queue[Job | None]) -> None:
        stream = nf.stream_backups(project_id, concurrency=concurrency, per_page=per_page)
        async with aclosing(stream):
            async for item in stream:
                await queue.put((0, item))

    summary = Summary()
    await _pool(feed, workers=workers, process=process, summary=summary, done=lambda _: None)
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Process every backup of an addon (NF_PROJECT_ID, NF_ADDON_ID) with a "
        "pool of async workers. Without NF_API_TOKEN, an in-process mock API is used."
    )
    parser.add_argument("--workers", type=int, default=8, metavar="N", help="workers (8)")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        metavar="PATH",
        help="save the walk's cursor here after every fully processed page and resume from "
        "it on restart (single-addon mode only: --project runs are not checkpointed)",
    )
    parser.add_argument(
        "--project",
        metavar="P",
        help="process every backup of every addon of project P instead of one addon; "
        "no checkpoint in this mode",
    )
    parser.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="addon walks at once with --project"
    )
    parser.add_argument("--per-page", type=int, default=100, metavar="N", help="page size (100)")
    parser.add_argument(
        "--delay",
        type=float,
        default=0.01,
        metavar="SECONDS",
        help="longest random wait of the simulated check (0.01)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every backup")
    return parser


#: Without a token: the mock's project, and its addons' kinds and numbers of backups.
MOCK_PROJECT = "default-project"
MOCK_ADDONS = {
    "example-addon": ("postgresql", 250),
    "example-redis": ("redis", 120),
    "example-mongodb": ("mongodb", 40),
}


@asynccontextmanager
async def connect(
    retry: RetryPolicy, *, need_addon: bool
) -> AsyncIterator[tuple[NorthflankSession, str, str]]:
    """A session and the project and addon to work on: the real API's, or a mock's."""
    if os.environ.get("NORTHFLANK_API_TOKEN") or os.environ.get("NF_API_TOKEN"):
        project_id, addon_id = os.environ.get("NF_PROJECT_ID"), os.environ.get("NF_ADDON_ID")
        if need_addon and not (project_id and addon_id):
            raise SystemExit("NF_API_TOKEN is set, so set NF_PROJECT_ID and NF_ADDON_ID too")
        async with NorthflankSession(retry=retry) as nf:
            yield nf, project_id or "", addon_id or ""
        return
    async with MockNorthflank() as mock:
        for addon_id, (kind, count) in MOCK_ADDONS.items():
            mock.add_addon(MOCK_PROJECT, addon_id, addon_type=kind)
            mock.generate_backups(MOCK_PROJECT, addon_id, count)
        print(
            f"NF_API_TOKEN is not set: using an in-process mock API at {mock.base_url}",
            file=sys.stderr,
        )
        async with NorthflankSession(mock.token, base_url=mock.base_url, retry=retry) as nf:
            yield nf, MOCK_PROJECT, "example-addon"


async def _main(args: argparse.Namespace) -> int:
    process = functools.partial(simulated_check, max_delay=args.delay)
    # A long run waits out the API's hourly rate-limit window instead of failing.
    retry = RetryPolicy(max_wait=3600)
    async with connect(retry, need_addon=not args.project) as (nf, project_id, addon_id):
        if args.project:
            summary = await run_project(
                nf, args.project, workers=args.workers, concurrency=args.concurrency,
                process=process, per_page=args.per_page,
            )  # fmt: skip
            where = f"every addon of project {args.project}"
        else:
            summary = await run(
                nf, project_id, addon_id, workers=args.workers, checkpoint=args.checkpoint,
                process=process, per_page=args.per_page,
            )  # fmt: skip
            where = f"addon {addon_id} of project {project_id}"
    print(f"processed {summary.processed} backups of {where}, {len(summary.failed_ids)} failed")
    return summary.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: parse, run, and turn the outcome into an exit code."""
    args = _parser().parse_args(argv)
    if args.project and args.checkpoint:
        _parser().error("--checkpoint works in single-addon mode only, not with --project")
    level = logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        if args.checkpoint:
            print(
                f"interrupted; {args.checkpoint} holds every fully processed page", file=sys.stderr
            )
        else:
            print("interrupted", file=sys.stderr)
        return 130
    except (NorthflankError, CheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
