"""Waiting for backups and restores, over loopback HTTP, on a clock the test moves."""

from __future__ import annotations

import asyncio

import pytest

from northflank_async import (
    Backup,
    BackupFailedError,
    NorthflankSession,
    SessionClosedError,
    WaitTimeoutError,
)
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT
from tests.ops.support import ClockSleep, completed_id, started


def polls(mock: MockNorthflank, backup_id: str) -> int:
    """How many times the backup was read."""
    path = f"/v1/projects/{PROJECT}/addons/{ADDON}/backups/{backup_id}"
    return sum(1 for r in mock.requests if r.method == "GET" and r.path == path)


async def waiting(mock: MockNorthflank, nf: NorthflankSession) -> asyncio.Task[Backup]:
    """A task waiting for a backup that stays scheduled, once its first poll was made."""
    mock.set_backup_lifecycle(scheduled=3600)
    backup = await started(nf)
    task = asyncio.create_task(nf.wait_for_backup(PROJECT, ADDON, backup.id))
    while polls(mock, backup.id) < 1:  # noqa: ASYNC110 - the mock's counter has no event
        await asyncio.sleep(0.001)
    return task


async def test_wait_returns_the_completed_backup(
    ops_mock: MockNorthflank, ops: NorthflankSession, sleep: ClockSleep
) -> None:
    """Polls at growing intervals until completed; returns the final backup."""
    ops_mock.set_backup_lifecycle(scheduled=5, in_progress=60)
    backup = await started(ops)
    done = await ops.wait_for_backup(PROJECT, ADDON, backup.id)
    assert ("completed", backup.id) == (done.status, done.id)
    assert done.completed_at is not None
    assert sleep.waits == sorted(sleep.waits)
    assert 1.5 <= sleep.waits[0] <= 2.5
    assert sum(sleep.waits) >= 65


@pytest.mark.parametrize("raise_on_failure", [True, False])
async def test_a_failed_backup(
    ops_mock: MockNorthflank, ops: NorthflankSession, raise_on_failure: bool
) -> None:
    """A failed backup raises BackupFailedError carrying it, unless asked not to."""
    ops_mock.set_backup_lifecycle(outcome="failed")
    backup = await started(ops)
    if raise_on_failure:
        with pytest.raises(BackupFailedError) as caught:
            await ops.wait_for_backup(PROJECT, ADDON, backup.id)
        assert isinstance(caught.value.backup, Backup)
        assert ("failed", None) == (caught.value.status, caught.value.restore)
        assert f"backup {backup.id} ended failed" == str(caught.value)
    else:
        final = await ops.wait_for_backup(PROJECT, ADDON, backup.id, raise_on_failure=False)
        assert "failed" == final.status


async def test_an_aborted_backup_did_not_complete(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """Aborted is final and not completed: BackupFailedError."""
    backup = await started(ops)
    await ops.abort_backup(PROJECT, ADDON, backup.id)
    with pytest.raises(BackupFailedError, match="ended aborted"):
        await ops.wait_for_backup(PROJECT, ADDON, backup.id)


async def test_a_wait_times_out_with_the_last_state(
    ops_mock: MockNorthflank, ops: NorthflankSession, sleep: ClockSleep
) -> None:
    """Past the timeout: WaitTimeoutError (a TimeoutError) with the last state; the backup goes on."""
    ops_mock.set_backup_lifecycle(scheduled=1, in_progress=3600)
    backup = await started(ops)
    with pytest.raises(WaitTimeoutError) as caught:
        await ops.wait_for_backup(PROJECT, ADDON, backup.id, timeout=100)
    error = caught.value
    assert isinstance(error, TimeoutError)
    assert isinstance(error.last, Backup)
    assert ("in-progress", 100) == (error.last.status, error.timeout)
    assert "it goes on, only the wait stopped" in str(error)
    assert 100 == pytest.approx(sum(sleep.waits))


async def test_a_ten_minute_backup_costs_at_most_40_polls(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """The budget: a backup of 10 minutes is waited for in no more than 40 requests."""
    ops_mock.set_backup_lifecycle(scheduled=0, in_progress=600)
    backup = await started(ops)
    await ops.wait_for_backup(PROJECT, ADDON, backup.id)
    assert polls(ops_mock, backup.id) <= 40


async def test_watch_yields_each_change_once(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """scheduled, in-progress, completed: each status once, however many polls saw it."""
    ops_mock.set_backup_lifecycle(scheduled=10, in_progress=120)
    backup = await started(ops)
    seen = [b.status async for b in ops.watch_backup(PROJECT, ADDON, backup.id)]
    assert ["scheduled", "in-progress", "completed"] == seen
    assert polls(ops_mock, backup.id) > 3


async def test_cancelling_a_wait_stops_the_polling(
    ops_mock: MockNorthflank, ops_real: NorthflankSession
) -> None:
    """A cancelled wait sends no further request."""
    task = await waiting(ops_mock, ops_real)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    count = len(ops_mock.requests)
    await asyncio.sleep(0.05)
    assert count == len(ops_mock.requests)


async def test_closing_the_session_ends_a_wait(
    ops_mock: MockNorthflank, ops_real: NorthflankSession
) -> None:
    """Closing the session during a wait ends it with SessionClosedError."""
    task = await waiting(ops_mock, ops_real)
    await asyncio.sleep(0.01)
    await ops_real.close()
    with pytest.raises(SessionClosedError):
        await task


async def test_create_and_wait(ops_mock: MockNorthflank, ops: NorthflankSession) -> None:
    """create_backup(wait=True) returns the backup completed, or raises when it fails."""
    done = await started(ops, wait=True)
    assert "completed" == done.status
    ops_mock.set_backup_lifecycle(outcome="failed")
    with pytest.raises(BackupFailedError):
        await started(ops, wait=True)


async def test_restore_and_wait(ops_mock: MockNorthflank, ops: NorthflankSession) -> None:
    """restore_backup(wait=True) returns the completed restore; a failed one raises with it."""
    backup_id = completed_id(ops_mock)
    restore = await ops.restore_backup(PROJECT, ADDON, backup_id, wait=True)
    assert ("completed", backup_id) == (restore.status, restore.backup_id)
    restore = await ops.restore_backup(PROJECT, ADDON, backup_id)
    ops_mock.fail_restore(PROJECT, ADDON, restore.id)
    with pytest.raises(BackupFailedError) as caught:
        await ops.wait_for_restore(PROJECT, ADDON, backup_id, restore.id)
    assert caught.value.restore is not None
    assert (None, "failed") == (caught.value.backup, caught.value.status)
    seen = [r.status async for r in ops.watch_restore(PROJECT, ADDON, backup_id, restore.id)]
    assert ["failed"] == seen


async def test_a_restore_of_another_addons_backup(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """source_project_id/source_addon_id: restored from a backup of another addon, and waited for."""
    ops_mock.add_addon(PROJECT, "source-addon")
    ops_mock.generate_backups(PROJECT, "source-addon", 2)
    source = next(
        b["id"] for b in ops_mock.backups(PROJECT, "source-addon") if b["status"] == "completed"
    )
    restore = await ops.restore_backup(
        PROJECT,
        ADDON,
        source,
        source_project_id=PROJECT,
        source_addon_id="source-addon",
        wait=True,
    )
    assert "completed" == restore.status
    assert [restore.id] == [r["id"] for r in ops_mock.restores(PROJECT, ADDON)]
