"""Which addons check_backups judges, when each verdict arrives, and the arguments it refuses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from northflank_async import BackupHealth, NorthflankSession
from northflank_async.testing import MockNorthflank
from tests.conftest import SessionFactory

from .support import NOW, backup, verdicts

H = timedelta(hours=1)


def _team(mock: MockNorthflank) -> None:
    """Projects ``a`` (addons ``x``, ``y``) and ``b`` (addon ``z``), one fresh backup each."""
    for project, addon in (("a", "x"), ("a", "y"), ("b", "z")):
        mock.add_addon(project, addon)
        mock.add_backups(project, addon, [backup("completed", H)])


def _keys(found: dict[str, BackupHealth]) -> set[tuple[str, str]]:
    return {(health.project_id, health.addon_id) for health in found.values()}


async def test_every_addon_the_token_sees(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Without arguments: every addon of every project, one verdict each."""
    _team(mock)

    found = await verdicts(nf)

    assert {("a", "x"), ("a", "y"), ("b", "z")} == _keys(found)
    assert all(health.healthy for health in found.values())


async def test_the_addons_of_one_project(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """With ``project_id``: that project's addons, without listing the projects."""
    _team(mock)

    found = await verdicts(nf, "a")

    assert {("a", "x"), ("a", "y")} == _keys(found)
    assert "/v1/projects" not in [request.raw_path for request in mock.requests]


async def test_the_given_addons(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """With ``addon_ids``: those addons (each once), without listing anything."""
    _team(mock)

    found = await verdicts(nf, "a", addon_ids=["y", "y"])

    assert {("a", "y")} == _keys(found)
    assert ["/v1/projects/a/addons/y/backups"] == [r.raw_path for r in mock.requests]


async def test_the_team_routes(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """With ``team_id``: every request goes to the team's routes."""
    _team(mock)

    found = await verdicts(nf, team_id=mock.team_id)

    assert 3 == len(found)
    assert all(r.raw_path.startswith("/v1/teams/example-team/") for r in mock.requests)


async def test_concurrency_bounds_the_walks(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """No more than ``concurrency`` addon walks are in flight at once."""
    for index in range(6):
        mock.add_addon("a", f"db-{index}")
        mock.add_backups("a", f"db-{index}", [backup("completed", H)])
    mock.latency = 0.02

    found = await verdicts(nf, "a", addon_ids=[f"db-{i}" for i in range(6)], concurrency=2)

    assert 6 == len(found)
    assert 2 == mock.max_in_flight


async def test_a_slow_addon_does_not_hold_back_the_others(
    mock: MockNorthflank, make_session: SessionFactory, aiohttp_server: AiohttpServer
) -> None:
    """Each verdict arrives as its addon's walk ends: the fast addons' while the slow one waits."""
    for addon in ("slow", "fast-1", "fast-2"):
        mock.add_addon("a", addon)
        mock.add_backups("a", addon, [backup("completed", H)])
    release = asyncio.Event()

    @web.middleware
    async def hold(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if "/addons/slow/" in request.path:
            await release.wait()
        return await handler(request)

    app = mock.make_app()
    app.middlewares.append(hold)
    server = await aiohttp_server(app)
    nf = await make_session(base_url=str(server.make_url("/")))

    checks = nf.check_backups("a", addon_ids=["slow", "fast-1", "fast-2"], now=NOW, concurrency=2)
    first = await anext(checks)
    second = await anext(checks)
    release.set()
    last = await anext(checks)
    await checks.aclose()

    assert ["fast-1", "fast-2", "slow"] == [first.addon_id, second.addon_id, last.addon_id]


# -- arguments -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "word"),
    [
        ({"max_age": timedelta(0)}, "max_age"),
        ({"max_age": -H}, "max_age"),
        ({"max_age": 3600}, "max_age"),
        ({"window": timedelta(0)}, "window"),
        ({"window": "7d"}, "window"),
        ({"now": datetime(2025, 1, 1)}, "timezone-aware"),  # naive on purpose
        ({"now": "2025-01-01T00:00:00Z"}, "now"),
        ({"addon_ids": ["x"]}, "project_id"),
        ({"project_id": "a", "addon_ids": "x"}, "addon_ids"),
        ({"project_id": ".."}, "project_id"),
        ({"team_id": ""}, "team_id"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
async def test_bad_arguments_raise_at_the_call(
    mock: MockNorthflank, nf: NorthflankSession, arguments: dict[str, Any], word: str
) -> None:
    """Each bad argument raises ValueError naming it when called, before any request."""
    with pytest.raises(ValueError, match=word):
        nf.check_backups(**arguments)

    assert [] == mock.requests


async def test_leaving_early_stops_every_walk(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Closing the check after the first verdict sends no further request."""
    for index in range(8):
        mock.add_addon("a", f"db-{index}")
        mock.add_backups("a", f"db-{index}", [backup("completed", H)])

    checks = nf.check_backups("a", now=NOW, concurrency=1)
    await anext(checks)
    await checks.aclose()
    sent = len(mock.requests)
    await asyncio.sleep(0.05)

    assert sent == len(mock.requests)
    assert sent < 1 + 8
