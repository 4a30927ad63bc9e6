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

    It serves the API over real HTTP on a loopback port, from an in-memory store of
    plain JSON dicts, with the API's bearer auth, cursor pagination, error bodies and
    rate-limit headers, so a test drives the SDK (or any HTTP client) as in production.
    Every backup route is served: list, start, get, delete, abort, retain, restore,
    abort a restore, and the restore lists of a backup and of an addon; also the
    project and addon lists and ``GET /v1/login``, the token check of the Northflank
    CLI. Backups and restores the API starts move on the clock
    (``set_backup_lifecycle``, ``fail_backup``, ``fail_restore``).
    ``GET .../backups/{backupId}/download-link`` hands out a signed link to the
    backup's bytes on ``storage``, a [MockStorage][northflank_async.testing.MockStorage]:
    a second loopback origin that ``start()`` and ``close()`` start and close with the
    API's. ``faults`` (a [FaultPlan][northflank_async.testing.FaultPlan]) breaks
    chosen requests; ``requests`` records every one.

    Example:

    ```python
    from northflank_async import NorthflankSession
    from northflank_async.testing import MockNorthflank


    async def test_every_backup_is_listed_despite_a_503() -> None:
        async with MockNorthflank() as mock:
            mock.generate_backups("default-project", "example-addon", 120)
            mock.faults.fail(2, 503, retry_after="0")  # the second request fails, once
            async with NorthflankSession("nf-test-token", base_url=mock.base_url) as nf:
                backups = [b async for b in nf.list_backups("default-project", "example-addon")]
        assert len(backups) == 120
        assert [r.query.get("cursor") is None for r in mock.requests] == [True, False, False]


    await test_every_backup_is_listed_despite_a_503()
    ```

    State lives on this object, so ``make_app()`` may be served by ``start()`` or by
    aiohttp's ``aiohttp_server`` fixture; faults, recorded requests, latency and the
    rate limit apply to every app made from it.

    Each request is handled in this order: record it (with its JSON body), wait
    ``latency`` plus any stall, spend one from the rate limit, then the first of: a
    planned fault that replaces the answer (the route does not run), 429 when the
    budget was already spent, 405 (with ``Allow``) for a method no route serves on a
    known path, 401 for a wrong token, 404 for an unknown route or id, 400 for bad
    query parameters or body, 409 for a write the state refuses, else the route's
    answer. Changes due on the clock (``at``, ``schedule``, the lifecycle of backups
    and restores) are applied just before the route runs. Last, a ``lose_answer``
    fault closes the connection instead of sending the answer (the route did run).

    :param token: the bearer token every request must carry.
    :param team_id: the team of the ``/v1/teams/{teamId}/...`` routes (another team is 404).
    :param seed: makes the generated data and new ids, the same on every run.
    :param default_per_page: the page size when a request asks for none, 1 to 100.
    :param latency: seconds every request waits before it is handled.
    :param rate_limit: requests allowed per window, as the API's hourly budget.
    :param rate_limit_window: the window's length, in seconds of ``clock``.
    :param clock: the clock the mock reads, in seconds: it drives the rate-limit window,
        timestamps and timed changes (a [ManualClock][northflank_async.testing.ManualClock]
        lets a test move it by hand).
    :raises ValueError: ``default_per_page`` is outside 1 to 100.
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
        if not 1 <= default_per_page <= MAX_PER_PAGE:
            raise ValueError("default_per_page must be within 1..100")
        self.token = token
        """The bearer token every request must carry."""
        self.team_id = team_id
        """The team of the ``/v1/teams/{teamId}/...`` routes."""
        self.seed = seed
        """The seed of the generated data and of new ids."""
        self.default_per_page = default_per_page
        """The page size when a request asks for none."""
        self.latency = latency
        """Seconds every request waits before it is handled (settable)."""
        self._clock = clock
        self._expected_auth = f"Bearer {token}"
        self._limiter = RateLimiter(rate_limit, rate_limit_window, clock)
        self.faults = FaultPlan(self._limiter)
        """The failures to inject, by request number or path.

        A [FaultPlan][northflank_async.testing.FaultPlan].
        """
        self.requests: list[RecordedRequest] = []
        """Every [RecordedRequest][northflank_async.testing.RecordedRequest], in arrival order."""
        self.in_flight = 0
        """Requests being handled now."""
        self.max_in_flight = 0
        """The most requests handled at once so far."""
        self._store = Store(clock, seed=seed)
        self._runner: web.AppRunner | None = None
        self._base_url: URL | None = None
        self._request_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.storage = MockStorage(clock=clock, backups=self._find_backup)
        """The [MockStorage][northflank_async.testing.MockStorage] download links point to.

        It has its own ``requests`` and ``faults``.
        """

    @property
    def clock(self) -> Callable[[], float]:
        """The clock this mock reads (``time.monotonic`` unless one was given)."""
        return self._clock

    # ------------------------------------------------------------------ store

    def add_project(
        self, project_id: str, *, name: str | None = None, description: str | None = None
    ) -> dict[str, Any]:
        """Add a project (or update the name and description given) and return its JSON.

        :param project_id: the project's id.
        :param name: its name; None: the id (or, for a known project, unchanged).
        :param description: its description; None: none (or unchanged).
        :returns: the stored JSON dict of the project.
        """
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
        """Add (or redefine, keeping its backups) an addon; the project is created if missing.

        Example:

        ```python
        mock.add_addon("project-1", "orders-db", addon_type="postgresql", tags=["prod"])
        mock.generate_backups("project-1", "orders-db", 30)
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param name: its name; None: the id.
        :param addon_type: its ``spec.type``: ``postgresql``, ``mongodb``, ``redis``, ...
        :param status: its status (``running``, ``paused``, ...).
        :param tags: its tags.
        :param description: its description, or None.
        :returns: the stored JSON dict of the addon.
        """
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
        """Append raw API backup dicts (shallow-copied, not validated) to an addon.

        The addon (and project) is created if missing. The dicts are served as given, so a
        test can serve data the API might send but the SDK must refuse.

        Example:

        ```python
        from northflank_async.testing import example_backup

        mock.add_backups("project-1", "postgresql-1", [example_backup()])
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backups: the backups, as the API's JSON (camelCase keys).
        """
        self._store.add_backups(self.team_id, project_id, addon_id, backups)

    def projects(self) -> list[dict[str, Any]]:
        """The stored projects in serving order (a new list of the stored dicts).

        :returns: the projects' JSON dicts, as of ``clock()``.
        """
        self._store.apply_due()
        return list(self._store.project_list)

    def addons(self, project_id: str) -> list[dict[str, Any]]:
        """A project's stored addons in serving order (a new list of the stored dicts).

        :param project_id: the project's id.
        :returns: the addons' JSON dicts, as of ``clock()``.
        :raises KeyError: an unknown project.
        """
        self._store.apply_due()
        return list(self._store.projects[project_id].addon_list)

    def backups(self, project_id: str, addon_id: str) -> list[dict[str, Any]]:
        """The addon's stored backups in serving order (a new list of the stored dicts).

        As of ``clock()``: backups started by ``POST .../backups`` are in it (at the end, in
        their current status), deleted ones are not. Changing a dict changes what the API
        serves.

        Example:

        ```python
        [first, *_] = mock.backups("project-1", "postgresql-1")
        first["status"] = "failed"  # the API serves it failed from now on
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :returns: the backups' JSON dicts.
        :raises KeyError: an unknown project or addon.
        """
        self._store.apply_due()
        return list(self._store.projects[project_id].addons[addon_id].backups)

    def set_page_sizes(self, project_id: str, addon_id: str, sizes: Sequence[int]) -> None:
        """Serve this addon's backups in pages of exactly these sizes, then of ``per_page``.

        ``per_page`` is ignored while listed sizes remain. A listed page reports
        ``hasNextPage: true`` while backups remain, while more listed sizes follow, or when
        it is a listed empty page; ``sizes=()`` removes the override. For testing how a
        client copes with short and empty pages.

        :param project_id: the project's id.
        :param addon_id: the addon's id (created if missing).
        :param sizes: the sizes of the first pages, each an int >= 0.
        :raises ValueError: a size that is not an int >= 0.
        """
        checked = tuple(sizes)
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in checked):
            raise ValueError("page sizes must be ints >= 0")
        self._store.ensure_addon(self.team_id, project_id, addon_id).page_sizes = checked

    def generate_backups(self, project_id: str, addon_id: str, count: int) -> list[dict[str, Any]]:
        """Append ``count`` realistic backups, deterministic from ``seed`` and the ids.

        Mostly ``completed``, with a few of every other status; repeated calls continue the
        sequence (later ``createdAt``, fresh ids). The addon (and project) is created if
        missing.

        Example:

        ```python
        new = mock.generate_backups("project-1", "postgresql-1", 10)
        print(new[0]["id"], new[0]["status"], new[0]["config"]["size"])
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param count: how many backups to add (>= 0).
        :returns: the new backups (the stored dicts).
        :raises ValueError: a negative ``count``.
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
        """Fill the store with projects ``project-1``, ``project-2``, ... of several addons each.

        Addon ids are ``<type>-<n>`` (types cycle through postgresql, mongodb, redis, mysql,
        minio, shifted by one per project: ``project-1`` holds ``postgresql-1``,
        ``mongodb-2``, ``redis-3``), statuses are mostly ``running``, and each addon gets
        exactly ``backups_per_addon`` generated backups. Deterministic from ``seed``.

        Example:

        ```python
        from northflank_async.testing import MockNorthflank

        team = MockNorthflank()
        team.generate_team(projects=2, addons_per_project=3, backups_per_addon=10)
        print([addon["id"] for addon in team.addons("project-2")])  # ['mongodb-1', 'redis-2', 'mysql-3']
        ```

        :param projects: how many projects.
        :param addons_per_project: how many addons in each.
        :param backups_per_addon: how many backups each addon gets.
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

        Due changes run, earliest first (ties in the order added), before a request is
        routed and when ``projects()``, ``addons()``, ``backups()`` or ``restores()`` read the
        store, so the API always shows the state as of ``clock()``. A change may mutate
        stored dicts or call ``add_*``, ``at`` and ``schedule``.

        :param when: the clock reading at which the change falls due.
        :param change: a function of no arguments.
        """
        self._store.at(when, change)

    def schedule(self, delay: float, change: Change) -> float:
        """Call ``change()`` ``delay`` seconds (>= 0) from now on ``clock``; return when.

        The same as ``at(clock() + delay, change)``, except inside a change, where "now" is
        that change's due time (so chained changes keep their spacing however far the clock
        jumped).

        Example:

        ```python
        from northflank_async.testing import ManualClock, MockNorthflank

        clock = ManualClock()
        later = MockNorthflank(clock=clock)
        [backup] = later.generate_backups("p", "a", 1)
        later.schedule(5, lambda: backup.update(status="completed"))
        clock.advance(5)  # from now on the API serves it completed
        assert later.backups("p", "a")[0]["status"] == "completed"
        ```

        :param delay: seconds from now on the mock's clock.
        :param change: a function of no arguments.
        :returns: the clock reading the change is due at.
        """
        return self._store.schedule(delay, change)

    async def wait_for_requests(self, count: int) -> None:
        """Wait until ``len(requests)`` reaches ``count`` (wrap it in a timeout).

        For a test that must act once a client has sent so many requests (to close the
        session mid-walk, say).

        :param count: the number of requests to wait for.
        """
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
        """A new aiohttp application serving this mock (state stays on the mock).

        For aiohttp's ``aiohttp_server`` fixture; ``start()`` serves one itself. The
        storage origin is not part of it: start it with ``storage.start()`` for downloads.

        :returns: the ``aiohttp.web.Application``.
        """
        app = web.Application()
        state = AppState()

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._handle(request, state)

        app.router.add_route("*", "/{tail:.*}", handle)
        app.on_shutdown.append(state.on_shutdown)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> URL:
        """Serve on ``host``:``port`` and return the base URL; the storage origin starts too.

        The storage origin gets a free port of ``host`` (unless it already serves).
        ``async with MockNorthflank() as mock:`` calls it.

        :param host: the address to listen on.
        :param port: the port; 0 picks a free one.
        :returns: the base URL, such as ``http://127.0.0.1:41234``.
        :raises RuntimeError: the mock is already started.
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
        """Stop serving, the storage origin too (a no-op for one not started).

        Stalled requests are woken first, and downloads under way are cut.
        """
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
