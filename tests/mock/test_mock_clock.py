"""ManualClock, and changes the mock applies once its clock reaches their time."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from northflank_async.testing import ManualClock, MockNorthflank

from .support import AUTH, Client, get_json

BACKUPS = "/v1/projects/p/addons/a/backups"


# ------------------------------------------------------------------------ the clock


@pytest.mark.parametrize(("args", "expected"), [((), 0.0), ((12.5,), 12.5), ((3,), 3.0)])
def test_manual_clock_starts_where_told(args: tuple[float, ...], expected: float) -> None:
    """A ManualClock reads its start (0.0 by default) as a float until moved."""
    clock = ManualClock(*args)
    assert (expected, expected, float) == (clock(), clock.now, type(clock()))


def test_advance_and_set_move_the_clock_forward() -> None:
    """``advance`` adds seconds and returns the reading; ``set`` jumps to a later reading."""
    clock = ManualClock(10.0)
    assert (12.5, 12.5) == (clock.advance(2.5), clock())
    assert 12.5 == clock.advance(0)
    clock.set(20)
    clock.set(20)
    assert (20.0, "ManualClock(20.0)") == (clock(), repr(clock))


@pytest.mark.parametrize(
    ("move", "message"),
    [
        (lambda c: c.advance(-1), "a clock only moves forward: seconds must be >= 0, got -1.0"),
        (lambda c: c.set(9.5), "a clock only moves forward: 9.5 is before 10.0"),
        (lambda c: c.advance(math.nan), "seconds must be a finite number, got nan"),
        (lambda c: c.advance(math.inf), "seconds must be a finite number, got inf"),
        (lambda c: c.advance(True), "seconds must be a finite number, got True"),
        (lambda c: c.set("11"), "now must be a finite number, got '11'"),
        (lambda c: ManualClock(-math.inf), "start must be a finite number, got -inf"),
    ],
)
def test_manual_clock_refuses_to_go_back_or_off_the_line(
    move: Callable[[ManualClock], object], message: str
) -> None:
    """A ManualClock never moves backwards, and only by finite numbers."""
    clock = ManualClock(10.0)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        move(clock)
    assert 10.0 == clock()


# ------------------------------------------------------------------- timed changes


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at 100 s."""
    return ManualClock(100.0)


@pytest.fixture
def mock(clock: ManualClock) -> MockNorthflank:
    """A mock on ``clock`` with one addon holding one generated backup."""
    mock = MockNorthflank(clock=clock)
    mock.generate_backups("p", "a", 1)
    return mock


async def served_statuses(client: Client) -> list[str]:
    """The status of each backup the API lists for addon ``a``."""
    status, body = await get_json(client, BACKUPS)
    assert 200 == status
    return [backup["status"] for backup in body["data"]["backups"]]


async def test_a_backup_goes_through_its_states_as_time_passes(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """Changes scheduled for a backup show over HTTP exactly when the clock reaches them."""
    [backup] = mock.backups("p", "a")
    backup.update(status="scheduled", completedAt=None)
    mock.schedule(1, lambda: backup.update(status="in-progress"))
    mock.schedule(3, lambda: backup.update(status="completed", completedAt="2024-01-01T00:00:03Z"))
    seen = []
    for step in (0, 0.999, 0.001, 1.5, 0.5):
        clock.advance(step)
        seen.extend(await served_statuses(client))
    assert ["scheduled", "scheduled", "in-progress", "in-progress", "completed"] == seen


async def test_due_changes_apply_in_time_order(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """Due changes run earliest first, ties in the order added, and later ones wait."""
    log: list[str] = []
    mock.at(130, lambda: log.append("130"))
    mock.at(110, lambda: log.append("110"))
    mock.schedule(20, lambda: log.append("120"))
    mock.at(110, lambda: log.append("110 again"))
    mock.at(50, lambda: log.append("in the past"))
    clock.set(125)
    await served_statuses(client)
    assert ["in the past", "110", "110 again", "120"] == log
    clock.set(130)
    await served_statuses(client)
    assert ["in the past", "110", "110 again", "120", "130"] == log


async def test_a_change_may_plan_more_changes(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """A change can schedule others: those already due run in the same pass, others wait."""
    log: list[str] = []

    def first() -> None:
        log.append("first")
        mock.schedule(0, lambda: log.append("now"))
        mock.schedule(5, lambda: log.append("later"))

    mock.schedule(10, first)
    clock.advance(12)
    await served_statuses(client)
    assert ["first", "now"] == log
    clock.advance(3)
    await served_statuses(client)
    assert ["first", "now", "later"] == log


def test_a_chain_of_changes_keeps_its_spacing_over_a_jump(
    mock: MockNorthflank, clock: ManualClock
) -> None:
    """Inside a change, ``schedule`` counts from that change's time, not the clock's."""
    [backup] = mock.backups("p", "a")
    times: list[float] = []

    def step(status: str, then: str | None) -> None:
        backup["status"] = status
        if then is not None:
            times.append(mock.schedule(2, lambda: step(then, None)))

    mock.schedule(1, lambda: step("in-progress", "completed"))
    clock.set(102)
    assert (["in-progress"], [103.0]) == ([b["status"] for b in mock.backups("p", "a")], times)
    clock.set(500)
    assert ["completed"] == [b["status"] for b in mock.backups("p", "a")]
    assert (500.0, 505.0) == (clock(), mock.schedule(5, list))


async def test_a_change_can_create_what_a_route_then_finds(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """An addon added by a timed change is 404 before its time and listed from then on."""
    mock.schedule(10, lambda: mock.generate_backups("p", "late", 3))
    path = "/v1/projects/p/addons/late/backups"
    assert 404 == (await get_json(client, path))[0]
    clock.advance(10)
    status, body = await get_json(client, path)
    assert (200, 3) == (status, body["pagination"]["count"])


@pytest.mark.parametrize(
    ("change", "read", "expected"),
    [
        (lambda m: m.add_project("q"), lambda m: [p["id"] for p in m.projects()], ["p", "q"]),
        (lambda m: m.add_addon("p", "b"), lambda m: [a["id"] for a in m.addons("p")], ["a", "b"]),
        (
            lambda m: m.backups("p", "a")[0].update(status="aborted"),
            lambda m: [b["status"] for b in m.backups("p", "a")],
            ["aborted"],
        ),
    ],
)
def test_the_accessors_show_due_changes(
    mock: MockNorthflank,
    clock: ManualClock,
    change: Callable[[MockNorthflank], object],
    read: Callable[[MockNorthflank], Any],
    expected: Any,
) -> None:
    """``projects``, ``addons`` and ``backups`` apply due changes before reading, no request needed."""
    mock.schedule(5, lambda: change(mock))
    before = read(mock)
    clock.advance(5)
    assert expected == read(mock)
    assert expected != before


def test_a_change_reading_the_store_sees_it_as_of_its_own_time(
    mock: MockNorthflank, clock: ManualClock
) -> None:
    """A change that reads through an accessor does not see changes due after it."""
    seen: list[list[str]] = []
    mock.at(110, lambda: seen.append([p["id"] for p in mock.projects()]))
    mock.at(120, lambda: mock.add_project("q"))
    clock.set(120)
    assert (["p", "q"], [["p"]]) == ([p["id"] for p in mock.projects()], seen)


def test_a_change_that_raises_runs_once(mock: MockNorthflank, clock: ManualClock) -> None:
    """A failing change raises where it is applied, is then gone, and later changes still run."""
    log: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    mock.schedule(1, boom)
    mock.schedule(2, lambda: log.append("after"))
    clock.advance(2)
    with pytest.raises(RuntimeError, match=r"^boom$"):
        mock.projects()
    assert ([{"id": "p", "name": "p"}], ["after"]) == (mock.projects(), log)


def test_schedule_returns_when_the_change_is_due(mock: MockNorthflank) -> None:
    """``schedule`` returns the clock reading at which its change falls due."""
    assert (100.0, 107.5) == (mock.schedule(0, list), mock.schedule(7.5, list))


@pytest.mark.parametrize(
    ("plan", "error", "message"),
    [
        (lambda m: m.schedule(-1, list), ValueError, "delay must be >= 0, got -1"),
        (
            lambda m: m.schedule(math.nan, list),
            ValueError,
            "delay must be a finite number of seconds, got nan",
        ),
        (
            lambda m: m.at(math.inf, list),
            ValueError,
            "when must be a finite number of seconds, got inf",
        ),
        (lambda m: m.at("5", list), ValueError, "when must be a finite number of seconds, got '5'"),
        (lambda m: m.at(5, "list"), TypeError, "change must be callable, got 'list'"),
    ],
)
def test_timed_changes_refuse_bad_arguments(
    mock: MockNorthflank,
    plan: Callable[[MockNorthflank], object],
    error: type[Exception],
    message: str,
) -> None:
    """A delay is finite and not negative, a time finite, a change callable."""
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        plan(mock)


async def test_timed_changes_on_the_real_clock(aiohttp_client: AiohttpClient) -> None:
    """On the default monotonic clock a change due now shows at once and one an hour on does not."""
    mock = MockNorthflank()
    mock.generate_backups("p", "a", 1)
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    mock.schedule(0, lambda: mock.backups("p", "a")[0].update(status="aborting"))
    mock.schedule(3600, lambda: mock.backups("p", "a")[0].update(status="aborted"))
    assert ["aborting"] == await served_statuses(client)
