"""A write happens exactly once: lost answers are settled by reading back, over loopback HTTP.

``lose_answer`` carries a write out and then drops the connection before the answer;
``fail(..., 503)`` refuses before acting. Each test checks what the API holds after.
"""

from __future__ import annotations

import logging

import pytest

from northflank_async import (
    APIConnectionError,
    ConflictError,
    NorthflankSession,
    RetryPolicy,
    ServerError,
)
from northflank_async.testing import ManualClock, MockNorthflank
from tests.conftest import ADDON, PROJECT
from tests.ops.support import ClockSleep, completed_id, started, stored, writes

BACKUPS = f"/v1/projects/{PROJECT}/addons/{ADDON}/backups"


async def test_a_create_whose_answer_was_lost_returns_that_backup(
    ops_mock: MockNorthflank, ops: NorthflankSession, caplog: pytest.LogCaptureFixture
) -> None:
    """One POST, carried out, answer lost: the SDK finds the backup by its name, sends nothing more."""
    before = len(stored(ops_mock))
    ops_mock.faults.lose_answer_path("/backups", method="POST")
    with caplog.at_level(logging.WARNING, logger="northflank_async"):
        backup = await started(ops)
    assert before + 1 == len(stored(ops_mock))
    assert backup.id == stored(ops_mock)[-1]["id"]
    assert [("POST", BACKUPS)] == writes(ops_mock)
    assert any("reading back whether it was carried out" in r.getMessage() for r in caplog.records)
    assert any("was carried out; not sending it again" in r.getMessage() for r in caplog.records)


async def test_a_named_create_whose_answer_was_lost_takes_the_new_namesake(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """With the caller's name already on a backup, the new one is told apart by its id."""
    older = await started(ops, name="nightly")
    ops_mock.faults.lose_answer_path("/backups", method="POST")
    newer = await started(ops, name="nightly")
    assert older.id != newer.id
    assert [older.id, newer.id] == [b["id"] for b in stored(ops_mock) if b["name"] == "nightly"]
    assert 2 == len(writes(ops_mock))


async def test_a_create_refused_before_acting_is_sent_again_once(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """A 503 that did nothing: the SDK looks, finds nothing, sends again: one backup in all."""
    before = len(stored(ops_mock))
    ops_mock.faults.fail_path("/backups", 503, method="POST", times=1)
    backup = await started(ops)
    assert before + 1 == len(stored(ops_mock))
    assert [("POST", BACKUPS)] * 2 == writes(ops_mock)
    assert backup.id == stored(ops_mock)[-1]["id"]


async def test_a_rate_limited_create_is_sent_again_without_looking(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """A 429 proves the API did nothing: sent again at once, no read in between."""
    ops_mock.faults.fail_path("/backups", 429, method="POST", times=1, retry_after="1")
    await started(ops)
    assert ["POST", "POST"] == [r.method for r in ops_mock.requests]


async def test_a_write_whose_answers_keep_getting_lost_gives_up(
    ops_mock: MockNorthflank, clock: ManualClock
) -> None:
    """Refused before acting each time: after the policy's attempts, the 503 is raised."""
    ops_mock.faults.fail_path("/backups", 503, method="POST")
    retry = RetryPolicy(max_attempts=3, sleep=ClockSleep(clock))
    async with NorthflankSession(ops_mock.token, base_url=ops_mock.base_url, retry=retry) as nf:
        with pytest.raises(ServerError):
            await started(nf)
    assert 3 == len(writes(ops_mock))
    assert 3 == len(stored(ops_mock))


async def test_a_restore_whose_answer_was_lost_returns_that_restore(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """Never a second restore of a database: the new restore is found and returned."""
    backup_id = completed_id(ops_mock)
    await ops.restore_backup(PROJECT, ADDON, backup_id)
    ops_mock.faults.lose_answer_path("/restore", method="POST")
    restore = await ops.restore_backup(PROJECT, ADDON, backup_id)
    restores = ops_mock.restores(PROJECT, ADDON)
    assert 2 == len(restores)
    assert restores[-1]["id"] == restore.id
    assert 2 == len([w for w in writes(ops_mock) if w[1].endswith("/restore")])


async def test_a_restore_refused_before_acting_is_sent_again(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """A 502 from a proxy that never reached the API: one restore in the end."""
    ops_mock.faults.fail_path("/restore", 502, method="POST", times=1)
    restore = await ops.restore_backup(PROJECT, ADDON, completed_id(ops_mock))
    assert [restore.id] == [r["id"] for r in ops_mock.restores(PROJECT, ADDON)]


async def test_a_delete_whose_answer_was_lost_succeeds(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """Carried out, answer lost: the backup is gone, so the delete worked; no error.

    aiohttp would send a DELETE a second time by itself and get a 404; the SDK stops it.
    """
    backup_id = completed_id(ops_mock)
    ops_mock.faults.lose_answer_path(f"/backups/{backup_id}", method="DELETE")
    await ops.delete_backup(PROJECT, ADDON, backup_id)
    assert backup_id not in [b["id"] for b in stored(ops_mock)]
    assert ["DELETE", "GET"] == [r.method for r in ops_mock.requests]


async def test_an_abort_whose_answer_was_lost_succeeds(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """The backup is aborting: the abort worked, it is not sent again."""
    backup = await started(ops)
    ops_mock.faults.lose_answer_path("/abort", method="POST")
    await ops.abort_backup(PROJECT, ADDON, backup.id)
    assert "aborting" == (await ops.get_backup(PROJECT, ADDON, backup.id)).status
    assert 2 == len(writes(ops_mock))


async def test_an_abort_refused_as_the_backup_ended_is_raised(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """After an ambiguous 503, the backup has completed: the 409 of the repeat is the answer."""
    backup_id = completed_id(ops_mock)
    ops_mock.faults.fail_path("/abort", 503, method="POST", times=1)
    with pytest.raises(ConflictError):
        await ops.abort_backup(PROJECT, ADDON, backup_id)
    assert 2 == len(writes(ops_mock))


async def test_an_abort_of_a_restore_whose_answer_was_lost_succeeds(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """The restore is aborting: the abort worked."""
    backup_id = completed_id(ops_mock)
    restore = await ops.restore_backup(PROJECT, ADDON, backup_id)
    ops_mock.faults.lose_answer_path("/abort-restore", method="POST")
    await ops.abort_restore(PROJECT, ADDON, backup_id, restore.id)
    assert ["aborting"] == [r["status"] for r in ops_mock.restores(PROJECT, ADDON)]


async def test_a_retain_whose_answer_was_lost_is_sent_again(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """Retaining twice does no harm, so a lost answer is simply sent again."""
    backup_id = completed_id(ops_mock)
    ops_mock.faults.lose_answer_path("/retain", method="POST")
    await ops.retain_backup(PROJECT, ADDON, backup_id)
    assert ops_mock.is_retained(PROJECT, ADDON, backup_id)
    assert 2 == len(writes(ops_mock))


async def test_a_failed_read_back_is_raised(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """When even the read-back fails, the SDK raises rather than guess: nothing is resent."""
    ops_mock.faults.lose_answer_path("/backups", method="POST")
    ops_mock.faults.drop(range(2, 20))
    with pytest.raises(APIConnectionError):
        await started(ops)
    assert 1 == len(writes(ops_mock))
