"""An in-process fake of the Northflank API, for tests, benchmarks and demos.

``MockNorthflank`` serves the project, addon and addon-backup listing routes over
real HTTP (``aiohttp.web``) from an in-memory store of plain JSON dicts, with the
API's bearer auth, cursor pagination, error bodies and rate-limit headers, and a
``FaultPlan`` to inject failures by request number::

    async with MockNorthflank() as mock:
        mock.generate_backups("default-project", "example-addon", 120)
        mock.faults.fail(2, 503, retry_after="1")
        ...  # point a client at mock.base_url with token "nf-test-token"

It depends only on aiohttp, yarl and the standard library.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import functools
import gc
import hashlib
import json
import math
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from aiohttp import web
from yarl import URL

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlan",
    "MockNorthflank",
    "RecordedRequest",
    "example_backup",
]

JSONDict = dict[str, Any]

_EXAMPLE_BACKUP: Final[JSONDict] = {
    "id": "example-backup",
    "name": "Example Backup",
    "status": "completed",
    "createdAt": "2021-01-20T11:19:53.175Z",
    "completedAt": "2021-01-20T11:19:54.494Z",
    "config": {
        "source": {"type": "snapshot"},
        "size": "1234",
        "compressionType": "gz",
        "additionalDestinations": [
            {"destinationId": "example-backup-destination", "retentionTime": 7, "type": "custom"}
        ],
        "addonVersion": "4.4.8",
    },
    "customDestinationId": "example-backup-destination",
}


def example_backup() -> JSONDict:
    """A fresh copy of the backup in the API reference's example response, verbatim."""
    return copy.deepcopy(_EXAMPLE_BACKUP)


FaultKind = Literal["fail", "drop", "stall", "bad_json", "repeat_cursor", "omit_cursor", "redirect"]
"""The kinds of fault a ``FaultPlan`` can inject."""

_TERMINAL_KINDS: Final = frozenset({"fail", "drop", "bad_json", "redirect"})
_JSON: Final = "application/json"
_HTML: Final = "text/html; charset=utf-8"
_INT_RE: Final = re.compile(r"[0-9]{1,18}")
_CURSOR_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,4096}")
_MAX_PER_PAGE: Final = 100
_SEPARATORS: Final = (",", ":")


def _dumps(obj: object) -> bytes:
    # check_circular=False: about a third faster on a page of backups; JSON from the
    # API is never circular (a circular dict added by hand raises RecursionError).
    return json.dumps(obj, separators=_SEPARATORS, check_circular=False).encode()


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the mock received it (the bearer token is never stored)."""

    number: int
    """1-based position among all requests this mock received."""
    method: str
    raw_path: str
    """Path of the raw request target, percent-encoding kept, without the query."""
    path: str
    """``raw_path`` percent-decoded."""
    query: dict[str, str]
    """Decoded query parameters; the last value wins."""
    raw_query: str
    headers: dict[str, str]
    """Request headers; ``Authorization`` is replaced by ``Bearer <redacted>``."""
    received_at: float
    """Clock reading (``time.monotonic`` by default) when the request arrived."""
    authorized: bool = False
    """Whether the request carried exactly the expected bearer token."""


# ---------------------------------------------------------------------------- faults


@dataclass(frozen=True, slots=True)
class Fault:
    """One planned misbehaviour for one request."""

    kind: FaultKind
    status: int = 200
    body: bytes | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    seconds: float = 0.0
    location: str | None = None


@dataclass(slots=True)
class _PathFault:
    substring: str
    fault: Fault
    remaining: int | None


class _RateLimiter:
    """The API's fixed-window rate limit: a budget per window from its first request."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._remaining = limit
        self._window_end: float | None = None

    def _roll(self, now: float) -> float:
        if self._window_end is None or now >= self._window_end:
            self._window_end = now + self.window
            self._remaining = self.limit
        return self._window_end

    @property
    def remaining(self) -> int:
        now = self._clock()
        if self._window_end is None or now >= self._window_end:
            return self.limit
        return self._remaining

    def spend(self) -> tuple[bool, int, dict[str, str]]:
        """Spend one request; return (allowed, reset seconds, rate-limit headers)."""
        now = self._clock()
        window_end = self._roll(now)
        allowed = self._remaining > 0
        if allowed:
            self._remaining -= 1
        # Rounded first: (now + 3600) - now can be 3600.0000000002, which is no 3601.
        reset = max(0, math.ceil(round(window_end - now, 6)))
        headers = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self._remaining),
            "x-ratelimit-reset": str(reset),
        }
        return allowed, reset, headers

    def restart(self) -> None:
        self._window_end = self._clock() + self.window
        self._remaining = self.limit

    def set_budget(self, remaining: int, reset: float) -> None:
        self._window_end = self._clock() + reset
        self._remaining = remaining


def _numbers(n: int | Iterable[int]) -> list[int]:
    numbers = [n] if isinstance(n, int) else list(n)
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ValueError(f"request numbers are 1-based ints, got {number!r}")
    return numbers


def _as_bytes(body: bytes | str | None) -> bytes | None:
    return body.encode() if isinstance(body, str) else body


class FaultPlan:
    """Faults to inject, keyed by the 1-based number of the request received.

    Every method taking ``n`` also accepts an iterable of numbers (``range(2, 5)``)
    and returns the plan, so calls chain. Several faults may target one request:
    stalls add up, ``repeat_cursor``/``omit_cursor`` alter a normal answer, and
    the first of ``fail``/``drop``/``bad_json``/``redirect`` replaces the answer.
    """

    def __init__(self, rate_limiter: _RateLimiter | None = None) -> None:
        self._by_number: dict[int, list[Fault]] = {}
        self._by_path: list[_PathFault] = []
        self._rate_limiter = rate_limiter

    def _add(self, n: int | Iterable[int], fault: Fault) -> FaultPlan:
        for number in _numbers(n):
            self._by_number.setdefault(number, []).append(fault)
        return self

    @staticmethod
    def _failure(
        status: int,
        retry_after: str | None,
        body: bytes | str | None,
        headers: Mapping[str, str] | None,
        content_type: str | None,
    ) -> Fault:
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = retry_after
        return Fault(
            "fail",
            status=status,
            body=_as_bytes(body),
            content_type=content_type,
            headers=tuple(extra.items()),
        )

    def fail(
        self,
        n: int | Iterable[int],
        status: int,
        *,
        retry_after: str | None = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> FaultPlan:
        """Answer request ``n`` with ``status``.

        The body defaults to the API's error JSON; a given ``body`` is sent as
        ``text/html`` unless ``content_type`` (or a ``Content-Type`` header) says
        otherwise. Rate-limit headers are still sent; ``headers`` override them.
        """
        return self._add(n, self._failure(status, retry_after, body, headers, content_type))

    def fail_path(
        self,
        substring: str,
        status: int,
        *,
        times: int | None = None,
        retry_after: str | None = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> FaultPlan:
        """Fail requests whose raw (still encoded) path contains ``substring``.

        ``times`` limits how many requests fail (``None``: all of them). Faults
        planned by request number take precedence.
        """
        if times is not None and times < 0:
            raise ValueError("times must be >= 0 or None")
        fault = self._failure(status, retry_after, body, headers, content_type)
        self._by_path.append(_PathFault(substring, fault, times))
        return self

    def drop(self, n: int | Iterable[int]) -> FaultPlan:
        """Close the connection of request ``n`` without answering."""
        return self._add(n, Fault("drop"))

    def stall(self, n: int | Iterable[int], seconds: float) -> FaultPlan:
        """Wait ``seconds`` before handling request ``n`` normally."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        return self._add(n, Fault("stall", seconds=seconds))

    def bad_json(
        self,
        n: int | Iterable[int],
        body: bytes = b"<html>not json</html>",
        status: int = 200,
        *,
        content_type: str = _JSON,
    ) -> FaultPlan:
        """Answer request ``n`` with a body that is not JSON (``b""`` for empty).

        The ``Content-Type`` still claims JSON unless ``content_type`` is given.
        """
        return self._add(n, Fault("bad_json", status=status, body=body, content_type=content_type))

    def repeat_cursor(self, n: int | Iterable[int]) -> FaultPlan:
        """Answer request ``n`` normally, but with a next cursor pointing at the same page.

        The returned ``pagination.cursor`` is the cursor request ``n`` was made
        with (or, without one, a cursor for the page just served), and
        ``hasNextPage`` is true, so a client that follows it loops.
        """
        return self._add(n, Fault("repeat_cursor"))

    def omit_cursor(self, n: int | Iterable[int]) -> FaultPlan:
        """Answer request ``n`` normally with ``hasNextPage: true`` but no ``cursor``."""
        return self._add(n, Fault("omit_cursor"))

    def redirect(self, n: int | Iterable[int], location: str, status: int = 302) -> FaultPlan:
        """Answer request ``n`` with a redirect to ``location``."""
        return self._add(n, Fault("redirect", status=status, location=location))

    def rate_limit_budget(self, remaining: int, *, reset: float = 3600.0) -> FaultPlan:
        """Set the rate-limit budget now: ``remaining`` requests, window ending in ``reset`` s."""
        if self._rate_limiter is None:
            raise RuntimeError("this FaultPlan is not attached to a MockNorthflank")
        if remaining < 0 or reset <= 0:
            raise ValueError("remaining must be >= 0 and reset > 0")
        self._rate_limiter.set_budget(remaining, reset)
        return self

    def clear(self) -> FaultPlan:
        """Forget every planned fault (an already set rate-limit budget stays)."""
        self._by_number.clear()
        self._by_path.clear()
        return self

    def planned(self, n: int) -> list[Fault]:
        """The faults planned by number for request ``n``, in the order they were added."""
        return list(self._by_number.get(n, ()))

    def _path_failure(self, raw_path: str) -> Fault | None:
        for path_fault in self._by_path:
            if path_fault.remaining == 0 or path_fault.substring not in raw_path:
                continue
            if path_fault.remaining is not None:
                path_fault.remaining -= 1
            return path_fault.fault
        return None


# ----------------------------------------------------------------------------- store


@dataclass(slots=True)
class _GenState:
    next_index: int
    last_ms: int
    version_index: int


@dataclass(slots=True)
class _Addon:
    data: JSONDict
    backups: list[JSONDict] = field(default_factory=list)
    page_sizes: tuple[int, ...] = ()
    gen: _GenState | None = None


@dataclass(slots=True)
class _Project:
    data: JSONDict
    addons: dict[str, _Addon] = field(default_factory=dict)
    addon_list: list[JSONDict] = field(default_factory=list)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _AppState:
    """Per-application state: sleeping requests, woken early when the app shuts down."""

    def __init__(self) -> None:
        self.closing = False
        self._waiters: set[asyncio.Future[None]] = set()

    async def sleep(self, seconds: float) -> None:
        if self.closing or seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        handle = loop.call_later(seconds, _resolve, waiter)
        self._waiters.add(waiter)
        try:
            await waiter
        finally:
            handle.cancel()
            self._waiters.discard(waiter)

    async def on_shutdown(self, app: web.Application) -> None:
        self.closing = True
        for waiter in self._waiters:
            _resolve(waiter)


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        details: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


# ------------------------------------------------------------------------ generation

_BACKUP_STATUSES: Final = (
    "completed",
    "failed",
    "aborted",
    "scheduled",
    "in-progress",
    "aborting",
    "not-supported",
)
_BACKUP_STATUS_WEIGHTS: Final = (82, 5, 3, 2, 3, 1, 4)
_SOURCE_TYPES: Final = ("snapshot", "liveInstance", "externalDump", "fileUpload", "sameAddon")
_SOURCE_WEIGHTS: Final = (40, 35, 10, 8, 7)
_COMPRESSIONS: Final = ("gz", "zstd")
_COMPRESSION_WEIGHTS: Final = (70, 30)
_NAME_PREFIXES: Final = {
    "snapshot": ("Nightly backup", "Scheduled snapshot"),
    "liveInstance": ("Nightly backup", "Manual backup"),
    "externalDump": ("Import from external database",),
    "fileUpload": ("Uploaded dump",),
    "sameAddon": ("Pre-upgrade backup",),
}
_DESTINATIONS: Final = (
    "offsite-s3",
    "eu-west-archive",
    "cold-storage-2",
    "backup-vault",
    "gcs-longterm",
)
_RETENTION_DAYS: Final = (7, 14, 30, 90, 365)
_ADDON_VERSIONS: Final = {
    "postgresql": ("14.11", "15.6", "16.2", "16.4"),
    "mongodb": ("4.4.8", "5.0.24", "6.0.14", "7.0.5"),
    "redis": ("6.2.14", "7.0.15", "7.2.4"),
    "mysql": ("8.0.35", "8.0.36", "8.4.0"),
    "minio": ("2023.12.23", "2024.1.16", "2024.3.15"),
}
_ADDON_TYPES: Final = ("postgresql", "mongodb", "redis", "mysql", "minio")
_ADDON_STATUSES: Final = ("running", "paused", "backup", "upgrading", "failed", "scaling")
_ADDON_STATUS_WEIGHTS: Final = (70, 10, 5, 5, 5, 5)
_TAGS: Final = ("production", "staging", "critical", "eu-west", "analytics")
_EPOCH_2024_MS: Final = 1_704_067_200_000
_HOUR_MS: Final = 3_600_000


def _stable_hash(*parts: str) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


_DAY_MS: Final = 86_400_000


@functools.lru_cache(maxsize=4096)
def _iso_date(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))


_TWO_DIGITS: Final = tuple(f"{i:02d}" for i in range(60))
_THREE_DIGITS: Final = tuple(f"{i:03d}" for i in range(1000))


def _iso_ms(ms: int) -> str:
    """Epoch milliseconds as the API writes times: ``2021-01-20T11:19:53.175Z``."""
    # Table lookups and concatenation: several times faster than an f-string here.
    day = ms // _DAY_MS
    rest = ms - day * _DAY_MS
    two = _TWO_DIGITS
    return (
        _iso_date(day) + "T" + two[rest // _HOUR_MS] + ":" + two[rest // 60_000 % 60] + ":"
        + two[rest // 1000 % 60] + "." + _THREE_DIGITS[rest % 1000] + "Z"
    )  # fmt: skip


@contextlib.contextmanager
def _gc_paused(pause: bool) -> Iterator[None]:
    """Pause the cyclic GC while building many dicts (none of them cyclic)."""
    pause = pause and gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause:
            gc.enable()


def _weighted(
    rng: random.Random, options: Sequence[str], weights: Sequence[int], count: int
) -> list[str]:
    """``count`` weighted picks, including every option once ``count`` is 4x their number."""
    picks = rng.choices(options, weights=weights, k=count)
    if count >= 4 * len(options):
        positions = rng.sample(range(count), len(options))
        for option, position in zip(options, positions, strict=True):
            picks[position] = option
    return picks


# ------------------------------------------------------------------------------ mock


class MockNorthflank:
    """An in-process fake Northflank API serving projects, addons and addon backups.

    State lives on this object, so ``make_app()`` may be served by ``start()`` or
    by aiohttp's ``aiohttp_server`` fixture. Faults, recorded requests, latency
    and the rate limit apply to every app made from it.

    Public attributes: ``token``, ``team_id``, ``seed``, ``default_per_page``,
    ``latency`` (seconds every request waits, settable), ``faults`` (the
    ``FaultPlan``), ``requests`` (every ``RecordedRequest``, in arrival order),
    ``in_flight`` and ``max_in_flight`` (requests being handled now / at most).

    Each request is handled in this order: record it, wait ``latency`` plus any
    stall, spend one from the rate limit, then the first of: a planned fault,
    429 when the budget was already spent, 405 for a method other than GET, 401
    for a wrong token, 404 for an unknown route or id, 400 for bad query
    parameters, else the page.
    """

    def __init__(
        self,
        *,
        token: str = "nf-test-token",
        team_id: str = "example-team",
        seed: int = 0,
        default_per_page: int = 50,
        latency: float = 0.0,
        rate_limit: int = 1000,
        rate_limit_window: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create an empty mock; ``clock`` drives the rate-limit window and timestamps."""
        if not 1 <= default_per_page <= _MAX_PER_PAGE:
            raise ValueError("default_per_page must be within 1..100")
        self.token = token
        self.team_id = team_id
        self.seed = seed
        self.default_per_page = default_per_page
        self.latency = latency
        self._clock = clock
        self._expected_auth = f"Bearer {token}"
        self._limiter = _RateLimiter(rate_limit, rate_limit_window, clock)
        self.faults = FaultPlan(self._limiter)
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._projects: dict[str, _Project] = {}
        self._project_list: list[JSONDict] = []
        self._runner: web.AppRunner | None = None
        self._base_url: URL | None = None
        self._request_waiters: list[tuple[int, asyncio.Future[None]]] = []

    # ------------------------------------------------------------------ store

    def add_project(
        self, project_id: str, *, name: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """Add a project (or update the name/description given); return its JSON."""
        project = self._projects.get(project_id)
        if project is None:
            data: JSONDict = {"id": project_id, "name": name or project_id}
            project = _Project(data)
            self._projects[project_id] = project
            self._project_list.append(data)
        elif name is not None:
            project.data["name"] = name
        if description is not None:
            project.data["description"] = description
        return project.data

    def add_addon(
        self,
        project_id: str,
        addon_id: str,
        *,
        name: str | None = None,
        addon_type: str = "postgresql",
        status: str = "running",
        tags: Sequence[str] = (),
        description: str | None = None,
    ) -> dict[str, Any]:
        """Add (or redefine, keeping its backups) an addon; create the project if missing."""
        self.add_project(project_id)
        project = self._projects[project_id]
        data: JSONDict = {
            "id": addon_id,
            "name": name or addon_id,
            "appId": f"/{self.team_id}/{project_id}/{addon_id}",
            "tags": list(tags),
        }
        if description is not None:
            data["description"] = description
        data["spec"] = {"type": addon_type}
        data["status"] = status
        addon = project.addons.get(addon_id)
        if addon is None:
            project.addons[addon_id] = _Addon(data)
            project.addon_list.append(data)
        else:
            addon.data.clear()
            addon.data.update(data)
        return project.addons[addon_id].data

    def _addon(self, project_id: str, addon_id: str) -> _Addon:
        project = self._projects.get(project_id)
        if project is None or addon_id not in project.addons:
            self.add_addon(project_id, addon_id)
            project = self._projects[project_id]
        return project.addons[addon_id]

    def add_backups(
        self, project_id: str, addon_id: str, backups: Iterable[Mapping[str, Any]]
    ) -> None:
        """Append raw API backup dicts (shallow-copied, not validated) to an addon."""
        self._addon(project_id, addon_id).backups.extend(dict(b) for b in backups)

    def projects(self) -> list[dict[str, Any]]:
        """The stored projects in serving order (a new list of the stored dicts)."""
        return list(self._project_list)

    def addons(self, project_id: str) -> list[dict[str, Any]]:
        """A project's stored addons in serving order; ``KeyError`` if unknown."""
        return list(self._projects[project_id].addon_list)

    def backups(self, project_id: str, addon_id: str) -> list[dict[str, Any]]:
        """The addon's stored backups in serving order (a new list of the stored dicts).

        Raises ``KeyError`` for an unknown project or addon.
        """
        return list(self._projects[project_id].addons[addon_id].backups)

    def set_page_sizes(self, project_id: str, addon_id: str, sizes: Sequence[int]) -> None:
        """Serve this addon's backups in pages of exactly these sizes, then of ``per_page``.

        ``per_page`` is ignored while listed sizes remain. A listed page reports
        ``hasNextPage: true`` while backups remain, while more listed sizes follow,
        or when it is a listed empty page; ``sizes=()`` removes the override.
        """
        checked = tuple(sizes)
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in checked):
            raise ValueError("page sizes must be ints >= 0")
        self._addon(project_id, addon_id).page_sizes = checked

    def generate_backups(self, project_id: str, addon_id: str, count: int) -> list[dict[str, Any]]:
        """Append ``count`` realistic backups, deterministic from ``seed`` and the ids.

        Repeated calls continue the sequence (later ``createdAt``, fresh ids).
        Returns the new backups (the stored dicts).
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        addon = self._addon(project_id, addon_id)
        rng = random.Random(self.seed + _stable_hash(project_id, addon_id))
        gen = addon.gen
        if gen is None:
            gen = _GenState(0, _EPOCH_2024_MS + rng.randrange(24 * _HOUR_MS), 0)
            addon.gen = gen
        else:
            rng.seed(self.seed + _stable_hash(project_id, addon_id, str(gen.next_index)))
        spec = addon.data.get("spec")
        addon_type = spec.get("type") if isinstance(spec, dict) else None
        versions = _ADDON_VERSIONS.get(str(addon_type), _ADDON_VERSIONS["postgresql"])

        statuses = _weighted(rng, _BACKUP_STATUSES, _BACKUP_STATUS_WEIGHTS, count)
        sources = _weighted(rng, _SOURCE_TYPES, _SOURCE_WEIGHTS, count)
        compressions = _weighted(rng, _COMPRESSIONS, _COMPRESSION_WEIGHTS, count)
        # rng.random() and int arithmetic instead of randrange(): several times faster.
        rand = rng.random
        last_version = len(versions) - 1
        last_ms = gen.last_ms
        version_index = gen.version_index
        start = gen.next_index
        new: list[JSONDict] = []
        append = new.append
        with _gc_paused(count >= 10_000):
            for i in range(count):
                status = statuses[i]
                source = sources[i]
                last_ms += _HOUR_MS + int(5 * _HOUR_MS * rand())  # 1 to 6 hours later
                created = _iso_ms(last_ms)
                if version_index < last_version and rand() < 0.003:
                    version_index += 1
                full_size = int(2.0 ** (10.0 + 25.0 * rand()))  # 1 KiB .. 32 GiB
                prefixes = _NAME_PREFIXES[source]
                prefix = prefixes[0] if len(prefixes) == 1 or rand() < 0.7 else prefixes[1]
                if status == "completed":
                    size = full_size
                    # 20 to 200 MB/s, plus two seconds of overhead.
                    duration_ms = 2_000 + int(full_size / (20_000 + 180_000 * rand()))
                elif status == "scheduled" or status == "not-supported":
                    size = 0
                    duration_ms = 200 + int(2_800 * rand())
                else:
                    size = int(full_size * rand())
                    duration_ms = 1_000 + int(900_000 * rand())
                config: JSONDict = {
                    "source": {"type": source},
                    "size": str(size),
                    "compressionType": compressions[i],
                }
                if rand() < 0.15:
                    first = int(rand() * len(_DESTINATIONS))
                    picked = [_DESTINATIONS[first]]
                    if rand() < 0.3:
                        picked.append(_DESTINATIONS[(first + 1) % len(_DESTINATIONS)])
                    config["additionalDestinations"] = [
                        {
                            "destinationId": destination,
                            "retentionTime": _RETENTION_DAYS[int(rand() * len(_RETENTION_DAYS))],
                            "type": "custom",
                        }
                        for destination in picked
                    ]
                config["addonVersion"] = versions[version_index]
                backup: JSONDict = {
                    "id": f"backup-{start + i:06d}-{int(rand() * 0x1000000):06x}",
                    "name": f"{prefix} {created[:10]}",
                    "status": status,
                    "createdAt": created,
                }
                # Absent while scheduled, null while running or aborting, set once finished.
                if status == "in-progress" or status == "aborting":
                    backup["completedAt"] = None
                elif status != "scheduled":
                    backup["completedAt"] = _iso_ms(last_ms + duration_ms)
                backup["config"] = config
                if source != "snapshot" and rand() < 0.2:
                    backup["customDestinationId"] = _DESTINATIONS[int(rand() * len(_DESTINATIONS))]
                append(backup)
        gen.next_index = start + count
        gen.last_ms = last_ms
        gen.version_index = version_index
        addon.backups.extend(new)
        return new

    def generate_team(
        self, *, projects: int = 3, addons_per_project: int = 3, backups_per_addon: int = 50
    ) -> None:
        """Fill the store with projects ``project-1``.. holding addons of several kinds.

        Addon ids are ``<type>-<n>`` (types cycle through postgresql, mongodb, redis,
        mysql, minio), statuses are mostly ``running``, each addon gets exactly
        ``backups_per_addon`` generated backups. Deterministic from ``seed``.
        """
        rng = random.Random(self.seed + _stable_hash("team", self.team_id))
        for p in range(1, projects + 1):
            project_id = f"project-{p}"
            self.add_project(
                project_id,
                name=f"Project {p}",
                description=f"Generated project {p}" if p % 2 else None,
            )
            for a in range(addons_per_project):
                addon_type = _ADDON_TYPES[(p - 1 + a) % len(_ADDON_TYPES)]
                addon_id = f"{addon_type}-{a + 1}"
                status = rng.choices(_ADDON_STATUSES, weights=_ADDON_STATUS_WEIGHTS)[0]
                self.add_addon(
                    project_id,
                    addon_id,
                    name=f"{addon_type.capitalize()} {a + 1}",
                    addon_type=addon_type,
                    status=status,
                    tags=rng.sample(_TAGS, rng.randrange(3)),
                    description=f"{addon_type} for project {p}" if rng.random() < 0.5 else None,
                )
                self.generate_backups(project_id, addon_id, backups_per_addon)

    async def wait_for_requests(self, count: int) -> None:
        """Wait until ``len(requests)`` reaches ``count`` (wrap it in a timeout)."""
        if len(self.requests) >= count:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (count, waiter)
        self._request_waiters.append(entry)
        try:
            await waiter
        finally:
            if entry in self._request_waiters:
                self._request_waiters.remove(entry)

    # ------------------------------------------------------------- rate limit

    @property
    def rate_limit(self) -> int:
        """Requests allowed per window."""
        return self._limiter.limit

    @property
    def rate_limit_remaining(self) -> int:
        """Requests left in the current window."""
        return self._limiter.remaining

    def reset_rate_limit(self) -> None:
        """Start a fresh rate-limit window now, with a full budget."""
        self._limiter.restart()

    # ----------------------------------------------------------------- server

    def make_app(self) -> web.Application:
        """A new aiohttp application serving this mock (state stays on the mock)."""
        app = web.Application()
        state = _AppState()

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._handle(request, state)

        app.router.add_route("*", "/{tail:.*}", handle)
        app.on_shutdown.append(state.on_shutdown)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> URL:
        """Serve on ``host``:``port`` (0 picks a free port); return the base URL."""
        if self._runner is not None:
            raise RuntimeError("MockNorthflank is already started")
        runner = web.AppRunner(
            self.make_app(), handler_cancellation=True, shutdown_timeout=5.0, access_log=None
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound_port = int(runner.addresses[0][1])
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._base_url = URL.build(scheme="http", host=host, port=bound_port)
        return self._base_url

    @property
    def base_url(self) -> URL:
        """The URL ``start()`` serves on; ``RuntimeError`` when not started."""
        if self._base_url is None:
            raise RuntimeError("MockNorthflank is not started")
        return self._base_url

    async def close(self) -> None:
        """Stop serving (a no-op when not started); stalled requests are woken first."""
        runner, self._runner, self._base_url = self._runner, None, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> MockNorthflank:
        """Start on a free loopback port."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the server."""
        await self.close()

    # --------------------------------------------------------------- handling

    def _record(self, request: web.BaseRequest) -> RecordedRequest:
        target = request.raw_path
        if target.startswith("/"):
            raw_path, _, raw_query = target.partition("?")
        else:  # absolute-form request target
            parts = urlsplit(target)
            raw_path, raw_query = parts.path, parts.query
        headers: dict[str, str] = {}
        for key, value in request.headers.items():
            if key.lower() in ("authorization", "proxy-authorization"):
                scheme = "Bearer " if value[:7].lower() == "bearer " else ""
                value = f"{scheme}<redacted>"
            headers[key] = value
        record = RecordedRequest(
            number=len(self.requests) + 1,
            method=request.method,
            raw_path=raw_path,
            path=unquote(raw_path),
            query=dict(parse_qsl(raw_query, keep_blank_values=True)),
            raw_query=raw_query,
            headers=headers,
            received_at=self._clock(),
            authorized=request.headers.get("Authorization") == self._expected_auth,
        )
        self.requests.append(record)
        if self._request_waiters:
            received = len(self.requests)
            for count, waiter in list(self._request_waiters):
                if count <= received:
                    self._request_waiters.remove((count, waiter))
                    _resolve(waiter)
        return record

    async def _handle(self, request: web.BaseRequest, state: _AppState) -> web.StreamResponse:
        record = self._record(request)
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        try:
            return await self._answer(request, record, state)
        finally:
            self.in_flight -= 1

    async def _answer(
        self, request: web.BaseRequest, record: RecordedRequest, state: _AppState
    ) -> web.StreamResponse:
        faults = self.faults._by_number.get(record.number, ())
        delay = self.latency + sum(f.seconds for f in faults if f.kind == "stall")
        if delay > 0:
            await state.sleep(delay)
        allowed, reset, headers = self._limiter.spend()
        terminal = next((f for f in faults if f.kind in _TERMINAL_KINDS), None)
        if terminal is None:
            terminal = self.faults._path_failure(record.raw_path)
        if terminal is not None:
            return self._fault_response(request, record, terminal, headers)
        try:
            if not allowed:
                raise _ApiError(429, "Rate limit exceeded", headers={"Retry-After": str(reset)})
            if record.method != "GET":
                raise _ApiError(
                    405, f"Method {record.method} not allowed", headers={"Allow": "GET"}
                )
            if not record.authorized:
                raise _ApiError(401, "Unauthenticated: a valid API token is required")
            kinds = {f.kind for f in faults}
            payload = self._route(record, "repeat_cursor" in kinds, "omit_cursor" in kinds)
        except _ApiError as error:
            headers.update(error.headers)
            return self._error_response(
                record.number, error.status, error.message, headers, error.details
            )
        headers["Content-Type"] = _JSON
        return web.Response(status=200, body=_dumps(payload), headers=headers)

    @staticmethod
    def _error_response(
        number: int,
        status: int,
        message: str,
        headers: dict[str, str],
        details: object = None,
    ) -> web.Response:
        error: JSONDict = {"status": status, "message": message, "id": f"mock-error-{number:06d}"}
        if details is not None:
            error["details"] = details
        headers["Content-Type"] = _JSON
        return web.Response(status=status, body=_dumps({"error": error}), headers=headers)

    def _fault_response(
        self,
        request: web.BaseRequest,
        record: RecordedRequest,
        fault: Fault,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        if fault.kind == "drop":
            transport = request.transport
            if transport is not None:
                transport.close()
            # Writing this to the closed transport makes aiohttp treat the request
            # as a client disconnect: nothing is sent, nothing is logged as an error.
            return web.Response()
        if fault.kind == "redirect":
            assert fault.location is not None
            headers["Location"] = fault.location
            headers["Content-Type"] = "text/plain; charset=utf-8"
            return web.Response(status=fault.status, body=b"Redirecting", headers=headers)
        if fault.body is None:
            message = f"Injected fault: HTTP {fault.status}"
            response = self._error_response(record.number, fault.status, message, headers)
        else:
            headers["Content-Type"] = fault.content_type or _HTML
            response = web.Response(status=fault.status, body=fault.body, headers=headers)
        if fault.content_type is not None:
            response.headers["Content-Type"] = fault.content_type
        for key, value in fault.headers:
            response.headers[key] = value
        return response

    # ---------------------------------------------------------------- routing

    def _route(self, record: RecordedRequest, repeat_cursor: bool, omit_cursor: bool) -> JSONDict:
        segments = [unquote(s) for s in record.raw_path.split("/")]
        if segments[0] != "" or segments[1:2] != ["v1"]:
            raise _ApiError(404, "Not found")
        rest = segments[2:]
        if rest[:1] == ["teams"] and len(rest) >= 3:
            if rest[1] != self.team_id:
                raise _ApiError(404, f"Team {rest[1]} not found")
            rest = rest[2:]
        if rest == ["projects"]:
            key = ["projects"]
            return self._page(
                record, "projects", key, self._project_list, (), repeat_cursor, omit_cursor
            )
        if len(rest) == 3 and rest[0] == "projects" and rest[2] == "addons":
            project = self._projects.get(rest[1])
            if project is None:
                raise _ApiError(404, f"Project {rest[1]} not found")
            key = ["addons", rest[1]]
            return self._page(
                record, "addons", key, project.addon_list, (), repeat_cursor, omit_cursor
            )
        if (
            len(rest) == 5
            and rest[0] == "projects"
            and rest[2] == "addons"
            and rest[4] == "backups"
        ):
            project_id, addon_id = rest[1], rest[3]
            project = self._projects.get(project_id)
            addon = project.addons.get(addon_id) if project is not None else None
            if addon is None:
                raise _ApiError(404, f"Addon {addon_id} not found in project {project_id}")
            key = ["backups", project_id, addon_id]
            return self._page(
                record, "backups", key, addon.backups, addon.page_sizes, repeat_cursor, omit_cursor
            )
        raise _ApiError(404, "Not found")

    def _page(
        self,
        record: RecordedRequest,
        name: str,
        key: list[str],
        items: list[JSONDict],
        sizes: tuple[int, ...],
        repeat_cursor: bool,
        omit_cursor: bool,
    ) -> JSONDict:
        query = record.query
        per_page = self.default_per_page
        raw_per_page = query.get("per_page")
        if raw_per_page is not None:
            if not _INT_RE.fullmatch(raw_per_page) or not 1 <= int(raw_per_page) <= _MAX_PER_PAGE:
                raise _ApiError(
                    400,
                    "per_page must be an integer between 1 and 100",
                    {"parameter": "per_page", "reason": "must be an integer from 1 to 100"},
                )
            per_page = int(raw_per_page)
        cursor = query.get("cursor")
        if cursor is not None:
            position = _decode_cursor(cursor, key)
            if position is None:
                raise _ApiError(
                    400,
                    "Invalid cursor",
                    {"parameter": "cursor", "reason": "not a cursor for this list"},
                )
            offset, index = position
        elif "page" in query:
            raw_page = query["page"]
            if not _INT_RE.fullmatch(raw_page) or int(raw_page) < 1:
                raise _ApiError(
                    400,
                    "page must be an integer of at least 1",
                    {"parameter": "page", "reason": "must be an integer >= 1"},
                )
            index = int(raw_page) - 1
            if index < len(sizes):
                offset = sum(sizes[:index])
            else:
                offset = sum(sizes) + (index - len(sizes)) * per_page
        else:
            offset, index = 0, 0
        listed = index < len(sizes)
        size = sizes[index] if listed else per_page
        chunk = items[offset : offset + size]
        end = offset + len(chunk)
        has_next = end < len(items) or (listed and (index + 1 < len(sizes) or size == 0))
        pagination: JSONDict = {"hasNextPage": has_next}
        if repeat_cursor:
            pagination["hasNextPage"] = True
            pagination["cursor"] = (
                cursor if cursor is not None else _encode_cursor(key, offset, index)
            )
        elif omit_cursor:
            pagination["hasNextPage"] = True
        elif has_next:
            pagination["cursor"] = _encode_cursor(key, end, index + 1)
        pagination["count"] = len(chunk)
        return {"data": {name: chunk}, "pagination": pagination}


def _encode_cursor(key: list[str], offset: int, index: int) -> str:
    raw = _dumps({"k": key, "o": offset, "p": index})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_cursor(cursor: str, key: list[str]) -> tuple[int, int] | None:
    """(offset, page index) from a cursor of the list ``key``, or None if it is not one."""
    if not _CURSOR_RE.fullmatch(cursor):
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(decoded, dict) or decoded.get("k") != key:
        return None
    offset, index = decoded.get("o"), decoded.get("p")
    if type(offset) is not int or type(index) is not int or offset < 0 or index < 0:
        return None
    return offset, index
