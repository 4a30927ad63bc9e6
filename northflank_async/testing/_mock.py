"""MockNorthflank: the server, its request handling, and its public surface over the store."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

from aiohttp import web
from yarl import URL

from . import _data, _routes_auth, _routes_backups, _routes_projects, _routes_restores
from ._faults import TERMINAL_KINDS, Fault, FaultPlan, RateLimiter
from ._http import JSON, ApiError, JSONDict, RecordedRequest, dumps, error_response, parse_json
from ._mock_lifecycle import LifecycleControls
from ._pagination import MAX_PER_PAGE
from ._routes import Call, RouteTable
from ._server import (
    AppState,
    close_unanswered,
    endless_response,
    fault_response,
    resolve,
    serve,
    split_target,
)
from ._storage import MockStorage
from ._store import Change, Store
from ._team_mix import TeamMixControls

ROUTES: Final = RouteTable(
    _routes_auth.routes, _routes_projects.routes, _routes_backups.routes, _routes_restores.routes
)
"""Every route the mock serves, one ``Routes`` per API family."""


class MockNorthflank(LifecycleControls, TeamMixControls):
    """An in-process fake Northflank API serving projects, addons, backups and restores.

    It also answers ``GET /v1/login``, the token check of the Northflank CLI. Every
    backup route of the API is served: list, start, get, delete, abort, retain,
    restore, abort a restore, and the restore lists of a backup and of an addon.
    Backups and restores the API starts move on the clock (``set_backup_lifecycle``,
    ``fail_backup``, ``fail_restore``; the rules are in the package's docstring).
    ``GET .../backups/{backupId}/download-link`` hands out a signed link to the
    backup's bytes on ``storage``, a ``MockStorage``: a second loopback origin that
    ``start()`` and ``close()`` start and close with the API's.

    State lives on this object, so ``make_app()`` may be served by ``start()`` or
    by aiohttp's ``aiohttp_server`` fixture. Faults, recorded requests, latency
    and the rate limit apply to every app made from it.

    Public attributes: ``token``, ``team_id``, ``seed``, ``default_per_page``,
    ``latency`` (seconds every request waits, settable), ``faults`` (the
    ``FaultPlan``), ``requests`` (every ``RecordedRequest``, in arrival order),
    ``in_flight`` and ``max_in_flight`` (requests being handled now / at most),
    ``clock`` (read-only: the clock in use), and ``storage`` (the ``MockStorage``
    download links point to, with its own ``requests`` and ``faults``).

    Each request is handled in this order: record it (with its JSON body), wait
    ``latency`` plus any stall, spend one from the rate limit, then the first of: a
    planned fault that replaces the answer (the route does not run), 429 when the
    budget was already spent, 405 (with ``Allow``) for a method no route serves on a
    known path, 401 for a wrong token, 404 for an unknown route or id, 400 for bad
    query parameters or body, 409 for a write the state refuses, else the route's
    answer. Changes due on the clock (``at``, ``schedule``, the lifecycle of backups
    and restores) are applied just before the route runs. Last, a ``lose_answer``
    fault closes the connection instead of sending the answer (the route did run).
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
        """Create an empty mock; ``clock`` drives the rate-limit window, timestamps and
        timed changes (a ``ManualClock`` lets a test move it by hand)."""
        if not 1 <= default_per_page <= MAX_PER_PAGE:
            raise ValueError("default_per_page must be within 1..100")
        self.token = token
        self.team_id = team_id
        self.seed = seed
        self.default_per_page = default_per_page
        self.latency = latency
        self._clock = clock
        self._expected_auth = f"Bearer {token}"
        self._limiter = RateLimiter(rate_limit, rate_limit_window, clock)
        self.faults = FaultPlan(self._limiter)
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._store = Store(clock, seed=seed)
        self._runner: web.AppRunner | None = None
        self._base_url: URL | None = None
        self._request_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.storage = MockStorage(clock=clock, backups=self._find_backup)

    @property
    def clock(self) -> Callable[[], float]:
        """The clock this mock reads (``time.monotonic`` unless one was given)."""
        return self._clock

    # ------------------------------------------------------------------ store

    def add_project(
        self, project_id: str, *, name: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """Add a project (or update the name/description given); return its JSON."""
        return self._store.add_project(project_id, name=name, description=description)

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
        return self._store.add_addon(
            self.team_id,
            project_id,
            addon_id,
            name=name,
            addon_type=addon_type,
            status=status,
            tags=tags,
            description=description,
        )

    def add_backups(
        self, project_id: str, addon_id: str, backups: Iterable[Mapping[str, Any]]
    ) -> None:
        """Append raw API backup dicts (shallow-copied, not validated) to an addon."""
        self._store.add_backups(self.team_id, project_id, addon_id, backups)

    def projects(self) -> list[dict[str, Any]]:
        """The stored projects in serving order (a new list of the stored dicts)."""
        self._store.apply_due()
        return list(self._store.project_list)

    def addons(self, project_id: str) -> list[dict[str, Any]]:
        """A project's stored addons in serving order; ``KeyError`` if unknown."""
        self._store.apply_due()
        return list(self._store.projects[project_id].addon_list)

    def backups(self, project_id: str, addon_id: str) -> list[dict[str, Any]]:
        """The addon's stored backups in serving order (a new list of the stored dicts).

        As of ``clock()``: backups started by ``POST .../backups`` are in it (at the
        end, in their current status), deleted ones are not. Raises ``KeyError`` for
        an unknown project or addon.
        """
        self._store.apply_due()
        return list(self._store.projects[project_id].addons[addon_id].backups)

    def set_page_sizes(self, project_id: str, addon_id: str, sizes: Sequence[int]) -> None:
        """Serve this addon's backups in pages of exactly these sizes, then of ``per_page``.

        ``per_page`` is ignored while listed sizes remain. A listed page reports
        ``hasNextPage: true`` while backups remain, while more listed sizes follow,
        or when it is a listed empty page; ``sizes=()`` removes the override.
        """
        checked = tuple(sizes)
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in checked):
            raise ValueError("page sizes must be ints >= 0")
        self._store.ensure_addon(self.team_id, project_id, addon_id).page_sizes = checked

    def generate_backups(self, project_id: str, addon_id: str, count: int) -> list[dict[str, Any]]:
        """Append ``count`` realistic backups, deterministic from ``seed`` and the ids.

        Repeated calls continue the sequence (later ``createdAt``, fresh ids).
        Returns the new backups (the stored dicts).
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        addon = self._store.ensure_addon(self.team_id, project_id, addon_id)
        spec = addon.data.get("spec")
        addon_type = spec.get("type") if isinstance(spec, dict) else None
        new, addon.sequence = _data.generate_backups(
            self.seed, project_id, addon_id, addon_type, addon.sequence, count
        )
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
        for project in _data.generate_team(self.seed, self.team_id, projects, addons_per_project):
            self.add_project(project.id, name=project.name, description=project.description)
            for addon in project.addons:
                self.add_addon(
                    project.id,
                    addon.id,
                    name=addon.name,
                    addon_type=addon.addon_type,
                    status=addon.status,
                    tags=addon.tags,
                    description=addon.description,
                )
                self.generate_backups(project.id, addon.id, backups_per_addon)

    # ----------------------------------------------------------------- timing

    def at(self, when: float, change: Change) -> None:
        """Call ``change()`` once ``clock()`` reads ``when`` or later.

        Due changes run, earliest first (ties in the order added), before a request
        is routed and when ``projects()``, ``addons()``, ``backups()`` or ``restores()``
        read the store, so the API always shows the state as of ``clock()``. A change may
        mutate stored dicts or call ``add_*``, ``at`` and ``schedule``.
        """
        self._store.at(when, change)

    def schedule(self, delay: float, change: Change) -> float:
        """Call ``change()`` ``delay`` seconds (>= 0) from now on ``clock``; return when.

        The same as ``at(clock() + delay, change)``, except inside a change, where
        "now" is that change's due time (so chained changes keep their spacing
        however far the clock jumped). With a ``ManualClock``::

            [backup] = mock.generate_backups("p", "a", 1)
            mock.schedule(5, lambda: backup.update(status="completed"))
            clock.advance(5)  # from now on the API serves it completed
        """
        return self._store.schedule(delay, change)

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
        state = AppState()

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._handle(request, state)

        app.router.add_route("*", "/{tail:.*}", handle)
        app.on_shutdown.append(state.on_shutdown)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> URL:
        """Serve on ``host``:``port`` (0 picks a free port); return the base URL.

        The storage origin starts too, on a free port of ``host`` (unless it already
        serves). Raises ``RuntimeError`` when already started.
        """
        if self._runner is not None:
            raise RuntimeError("MockNorthflank is already started")
        runner, url = await serve(self.make_app(), host, port)
        try:
            if not self.storage.started:
                await self.storage.start(host)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._base_url = runner, url
        return url

    @property
    def base_url(self) -> URL:
        """The URL ``start()`` serves on; ``RuntimeError`` when not started."""
        if self._base_url is None:
            raise RuntimeError("MockNorthflank is not started")
        return self._base_url

    async def close(self) -> None:
        """Stop serving, the storage origin too (a no-op for one not started); stalled
        requests are woken first, downloads under way cut."""
        runner, self._runner, self._base_url = self._runner, None, None
        try:
            if runner is not None:
                await runner.cleanup()
        finally:
            await self.storage.close()

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
        raw_path, raw_query = split_target(request)
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
                    resolve(waiter)
        return record

    def _with_body(self, record: RecordedRequest, raw: bytes) -> RecordedRequest:
        """The record with its parsed JSON body, put in its place in ``requests``."""
        body = parse_json(raw)
        if body is None:
            return record
        updated = dataclasses.replace(record, body=body)
        for index in range(len(self.requests) - 1, -1, -1):
            if self.requests[index] is record:
                self.requests[index] = updated
                break
        return updated

    async def _handle(self, request: web.BaseRequest, state: AppState) -> web.StreamResponse:
        record = self._record(request)
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        try:
            raw = await request.read() if request.can_read_body else b""
            record = self._with_body(record, raw)
            return await self._answer(request, record, raw, state)
        finally:
            self.in_flight -= 1

    async def _answer(
        self, request: web.BaseRequest, record: RecordedRequest, raw: bytes, state: AppState
    ) -> web.StreamResponse:
        faults = self.faults._for_request(record.number)
        delay = self.latency + sum(f.seconds for f in faults if f.kind == "stall")
        if delay > 0:
            await state.sleep(delay)
        allowed, reset, headers = self._limiter.spend()
        terminal = next((f for f in faults if f.kind in TERMINAL_KINDS), None)
        if terminal is None:
            terminal = self.faults._path_failure(record.raw_path, record.method)
        if terminal is not None and terminal.kind == "endless":
            return await endless_response(request, terminal, headers, state)
        if terminal is not None:
            return fault_response(request, record, terminal, headers)
        response: web.StreamResponse
        try:
            if not allowed:
                raise ApiError(429, "Rate limit exceeded", headers={"Retry-After": str(reset)})
            payload = self._dispatch(record, raw, faults)
        except ApiError as error:
            headers.update(error.headers)
            response = error_response(
                record.number, error.status, error.message, headers, error.details
            )
        else:
            headers["Content-Type"] = JSON
            response = web.Response(status=200, body=dumps(payload), headers=headers)
        if self.faults._answer_lost(faults, record.raw_path, record.method):
            return close_unanswered(request)
        return response

    def _dispatch(self, record: RecordedRequest, raw: bytes, faults: Sequence[Fault]) -> JSONDict:
        """405, 401, 404 in that order, then the route's answer as of ``clock()``."""
        match = ROUTES.find(record.raw_path, record.method)
        if match.route is None and match.allowed:
            allow = ", ".join(match.allowed)
            raise ApiError(405, f"Method {record.method} not allowed", headers={"Allow": allow})
        if not record.authorized:
            raise ApiError(401, "Unauthenticated: a valid API token is required")
        if match.team is not None and match.team != self.team_id:
            raise ApiError(404, f"Team {match.team} not found")
        if match.route is None:
            raise ApiError(404, "Not found")
        self._store.apply_due()
        kinds = {f.kind for f in faults}
        call = Call(
            record,
            match.params,
            raw,
            self._store,
            self.default_per_page,
            repeat_cursor="repeat_cursor" in kinds,
            omit_cursor="omit_cursor" in kinds,
            storage=self.storage,
        )
        return match.route.handler(call)

    def _find_backup(self, backup_id: str) -> JSONDict | None:
        """The stored backup ``backup_id`` as of ``clock()`` in any addon, or ``None``."""
        self._store.apply_due()
        for project in self._store.projects.values():
            for addon in project.addons.values():
                for backup in addon.backups:
                    if backup.get("id") == backup_id:
                        return backup
        return None
