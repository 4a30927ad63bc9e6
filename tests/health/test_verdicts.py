"""check_backups' verdict on one addon: healthy, stale, failing, empty, and the boundaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from northflank_async import NorthflankSession
from northflank_async.testing import MockNorthflank

from .support import NOW, PROJECT, backup, verdict

H = timedelta(hours=1)
D = timedelta(days=1)
MIN = timedelta(minutes=1)
S = timedelta(seconds=1)


def _add(mock: MockNorthflank, addon: str, *backups: dict[str, Any]) -> list[dict[str, Any]]:
    mock.add_addon(PROJECT, addon)
    mock.add_backups(PROJECT, addon, backups)
    return list(backups)


async def test_a_fresh_addon_is_healthy(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Completed backups, the last 2 h ago: healthy, no problem, every count from the data."""
    _add(
        mock,
        "db",
        backup("completed", 3 * D, size=100),
        backup("completed", 2 * D, size=200),
        backup("completed", 2 * H, size=300),
    )

    health = await verdict(nf, "db")

    assert (True, ()) == (health.healthy, health.problems)
    assert (PROJECT, "db") == (health.project_id, health.addon_id)
    assert health.last_completed is not None
    assert "completed 2:00:00" == health.last_completed.name
    assert 2 * H - 5 * MIN == health.last_completed_age  # from its completedAt
    assert (0, 0, 3, 600) == (
        health.failed_in_window,
        health.in_progress,
        health.total,
        health.completed_bytes,
    )
    assert health.error is None


async def test_a_stale_addon_says_for_how_long(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """The last completed backup 31 h ago is past the 26 h limit, in hours."""
    _add(mock, "db", backup("completed", 2 * D), backup("completed", 31 * H, took=None))

    health = await verdict(nf, "db")

    assert (False, ("no completed backup for 31 h (limit 26 h)",)) == (
        health.healthy,
        health.problems,
    )
    assert 31 * H == health.last_completed_age  # no completedAt: from its createdAt


async def test_a_long_stale_addon_says_it_in_days(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Past 72 h the age is given in days and hours; a limit in minutes in minutes."""
    _add(mock, "db", backup("completed", 5 * D + 3 * H, took=timedelta(0)))

    health = await verdict(nf, "db", max_age=45 * MIN)

    assert ("no completed backup for 5 days 3 h (limit 45 min)",) == health.problems


async def test_an_addon_without_backups(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """An addon with no backup at all is unhealthy for that reason alone."""
    mock.add_addon(PROJECT, "new-db")

    health = await verdict(nf, "new-db")

    assert (False, ("no backups at all",)) == (health.healthy, health.problems)
    assert (None, None, 0, 0) == (
        health.last_completed,
        health.last_completed_age,
        health.total,
        health.completed_bytes,
    )


async def test_an_addon_that_never_completed_a_backup(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Aborted and running backups only: never completed; the running ones are counted."""
    _add(
        mock,
        "db",
        backup("aborted", 3 * H),
        backup("scheduled", 2 * H),
        backup("in-progress", H),
        backup("aborting", 30 * MIN),
    )

    health = await verdict(nf, "db")

    assert ("no completed backup ever",) == health.problems
    assert (3, 4, None) == (health.in_progress, health.total, health.last_completed)


async def test_the_latest_backup_failed(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """A failure newer than the last completed backup: both problems, the age still fine."""
    _add(mock, "db", backup("completed", 3 * H), backup("failed", H + 5 * MIN))

    health = await verdict(nf, "db")

    assert (
        "the latest backup failed (1 h ago)",
        "1 backup failed in the last 7 days",
    ) == health.problems
    assert 1 == health.failed_in_window


async def test_failures_in_the_window_are_counted(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Failures within 7 days count, an older one does not, and a later success clears none."""
    _add(
        mock,
        "db",
        backup("failed", 10 * D),
        backup("failed", 6 * D),
        backup("failed", 2 * D),
        backup("completed", H),
    )

    health = await verdict(nf, "db")

    assert ("2 backups failed in the last 7 days",) == health.problems
    assert (2, 4) == (health.failed_in_window, health.total)


async def test_the_latest_backup_is_the_newest_final_one(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A running backup says nothing yet: the failure before it is still the latest backup."""
    _add(mock, "db", backup("completed", 5 * H), backup("failed", 2 * H), backup("in-progress", H))

    health = await verdict(nf, "db")

    assert "the latest backup failed (1 h 55 min ago)" == health.problems[0]
    assert 1 == health.in_progress


async def test_an_aborted_latest_backup_is_no_failure(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Newest by createdAt, whatever the listing order: an abort after the failure hides it."""
    _add(mock, "db", backup("aborted", H), backup("completed", 5 * H), backup("failed", 2 * H))

    health = await verdict(nf, "db")

    assert ("1 backup failed in the last 7 days",) == health.problems


async def test_the_last_completed_backup_is_the_latest_to_complete(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """The newest completed backup is found wherever it is listed; only completed bytes add up."""
    newest, *_ = _add(
        mock,
        "db",
        backup("completed", 4 * H, size=7),
        backup("completed", 9 * H, size=5),
        backup("failed", 10 * H, size=1000),
    )

    health = await verdict(nf, "db")

    assert health.last_completed is not None
    assert newest["id"] == health.last_completed.id
    assert 12 == health.completed_bytes


async def test_a_backup_completed_after_now_is_zero_old(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A clock ahead of ``now`` gives no negative age."""
    _add(mock, "db", backup("completed", -H))

    health = await verdict(nf, "db")

    assert (True, timedelta(0)) == (health.healthy, health.last_completed_age)


async def test_every_page_is_counted(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """An addon of 250 backups over three pages: all counted; the failure on the last page found."""
    _add(mock, "db", *[backup("completed", (260 - i) * H, size=1) for i in range(249)])
    mock.add_backups(PROJECT, "db", [backup("failed", 10 * MIN)])

    health = await verdict(nf, "db")

    assert (250, 249, 1) == (health.total, health.completed_bytes, health.failed_in_window)
    assert "the latest backup failed (5 min ago)" == health.problems[0]
    assert 3 == len(mock.requests)


# -- the boundaries ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "problems"),
    [
        (26 * H, ()),
        (26 * H + S, ("no completed backup for more than 26 h (limit 26 h)",)),
        (26 * H + MIN, ("no completed backup for 26 h 1 min (limit 26 h)",)),
    ],
)
async def test_a_backup_exactly_max_age_old_is_fine(
    mock: MockNorthflank, nf: NorthflankSession, age: timedelta, problems: tuple[str, ...]
) -> None:
    """Stale means older than the limit: at the limit it is fine, a second later it is not."""
    _add(mock, "db", backup("completed", age, took=timedelta(0)))

    health = await verdict(nf, "db")

    assert (not problems, problems, age) == (
        health.healthy,
        health.problems,
        health.last_completed_age,
    )


@pytest.mark.parametrize(("past", "counted"), [(timedelta(0), 1), (S, 0)])
async def test_a_failure_at_the_edge_of_the_window_is_in_it(
    mock: MockNorthflank, nf: NorthflankSession, past: timedelta, counted: int
) -> None:
    """A failure exactly ``window`` before ``now`` counts; one second earlier it does not."""
    window = 2 * D
    _add(mock, "db", backup("failed", window + past, took=timedelta(0)), backup("completed", H))

    health = await verdict(nf, "db", window=window)

    assert counted == health.failed_in_window
    expected = ("1 backup failed in the last 48 h",) if counted else ()
    assert expected == health.problems


async def test_the_age_is_measured_from_the_given_now(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """``now`` in another timezone is the same moment; ages are measured from it."""
    _add(mock, "db", backup("completed", 0 * H, took=timedelta(0)))
    later = (NOW + 30 * H).astimezone(timezone(timedelta(hours=-5)))

    health = await verdict(nf, "db", now=later)

    assert (30 * H, ("no completed backup for 30 h (limit 26 h)",)) == (
        health.last_completed_age,
        health.problems,
    )


async def test_now_defaults_to_the_current_time(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Without ``now``, ages are measured from the current UTC time, read at the call."""
    mock.add_addon(PROJECT, "db")
    done = datetime.now(UTC) - H
    mock.add_backups(PROJECT, "db", [backup("completed", NOW - done, took=timedelta(0))])

    checks = nf.check_backups(PROJECT, addon_ids=["db"])
    [health] = [health async for health in checks]

    assert health.healthy
    assert health.last_completed_age is not None
    assert H <= health.last_completed_age < H + MIN
