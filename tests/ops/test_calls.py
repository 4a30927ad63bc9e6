"""Each call that acts on a backup, over loopback HTTP: what it sends, what it returns."""

from __future__ import annotations

import re
from typing import Any

import pytest

from northflank_async import (
    AdditionalDestination,
    Backup,
    BackupStatus,
    ConflictError,
    NorthflankSession,
    NotFoundError,
    ResponseValidationError,
    Restore,
    converter,
)
from northflank_async.testing import ManualClock, MockNorthflank, example_backup
from tests.conftest import ADDON, PROJECT
from tests.ops.support import ClockSleep, completed_id, started, stored, writes

BASE = f"/v1/projects/{PROJECT}/addons/{ADDON}"


async def test_get_backup_reads_one_backup(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """``get_backup`` gives the stored backup as the list does."""
    wanted = stored(ops_mock)[1]
    backup = await ops.get_backup(PROJECT, ADDON, wanted["id"])
    assert converter.structure(wanted, Backup) == backup
    assert (backup.last_restore, backup.uid) == (None, wanted.get("uid"))


async def test_a_backup_started_without_a_name_gets_one_of_the_sdks(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """One POST with only the SDK's unique name; the answer is the new, scheduled backup."""
    backup = await started(ops)
    assert re.fullmatch(r"backup \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [a-z0-9]{6}", backup.name)
    assert BackupStatus.SCHEDULED is backup.status
    assert [("POST", f"{BASE}/backups")] == writes(ops_mock)
    assert 1 == len(ops_mock.requests)
    assert {"name": backup.name} == ops_mock.requests[0].body
    assert backup.id == stored(ops_mock)[-1]["id"]


async def test_a_named_backup_notes_the_namesakes_first(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """With the caller's name, one walk of the backups first, then the POST of given keys only."""
    destination = AdditionalDestination(destination_id="offsite-1", retention_time=7, type="custom")
    backup = await started(ops, name="before migration", additional_destinations=[destination])
    assert ["GET", "POST"] == [r.method for r in ops_mock.requests]
    assert {
        "name": "before migration",
        "additionalDestinations": [
            {"destinationId": "offsite-1", "retentionTime": 7, "type": "custom"}
        ],
    } == ops_mock.requests[1].body
    assert "before migration" == backup.name


async def test_a_dump_sends_its_options(ops_mock: MockNorthflank, ops: NorthflankSession) -> None:
    """Dump options travel in camelCase."""
    await started(ops, backup_type="dump", compression_type="zstd", custom_destination_id="dest-1")
    body = ops_mock.requests[-1].body
    assert {"backupType": "dump", "compressionType": "zstd", "customDestinationId": "dest-1"} == {
        key: body[key] for key in ("backupType", "compressionType", "customDestinationId")
    }


BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("create_backup", {"name": "x"}, "3 to 39"),
    ("create_backup", {"backup_type": "full"}, "backup_type"),
    ("create_backup", {"compression_type": "gz"}, "dump backups only"),
    ("create_backup", {"wait": "yes"}, "wait must be True or False"),
    ("create_backup", {"timeout": 0}, "timeout"),
    ("create_backup", {"timeout": float("inf")}, "timeout"),
    ("restore_backup", {"source_project_id": "p2"}, "together"),
    ("restore_backup", {"timeout": -1}, "timeout"),
    ("abort_restore", {"restore_id": ""}, "restore_id"),
    ("watch_restore", {"restore_id": ""}, "restore_id"),
    ("get_backup", {"backup_id": ".."}, "backup_id"),
    ("delete_backup", {"backup_id": "a\nb"}, "backup_id"),
    ("abort_backup", {"backup_id": ""}, "backup_id"),
    ("retain_backup", {"backup_id": "."}, "backup_id"),
    ("wait_for_backup", {"timeout": "soon"}, "timeout"),
    ("watch_backup", {"timeout": 0}, "timeout"),
    ("list_backup_restores", {"backup_id": ".."}, "backup_id"),
    ("list_restores", {"per_page": 0}, "per_page"),
]


async def _call(nf: NorthflankSession, method: str, options: dict[str, Any]) -> Any:
    """Call ``method`` with the usual ids, ``options`` overriding them; await what it gives."""
    positional = {
        "create_backup": (),
        "list_restores": (),
        "restore_backup": ("backup_id",),
        "get_backup": ("backup_id",),
        "delete_backup": ("backup_id",),
        "abort_backup": ("backup_id",),
        "retain_backup": ("backup_id",),
        "wait_for_backup": ("backup_id",),
        "watch_backup": ("backup_id",),
        "list_backup_restores": ("backup_id",),
        "abort_restore": ("backup_id", "restore_id"),
        "watch_restore": ("backup_id", "restore_id"),
    }[method]
    ids = {"backup_id": "some-backup", "restore_id": "some-restore"}
    values = {**{name: ids[name] for name in positional}, **options}
    args = [values.pop(name) for name in positional]
    result = getattr(nf, method)(PROJECT, ADDON, *args, **values)
    return await result if hasattr(result, "__await__") else result


@pytest.mark.parametrize(("method", "options", "message"), BAD_CALLS)
async def test_bad_arguments_send_no_request(
    ops_mock: MockNorthflank,
    ops: NorthflankSession,
    method: str,
    options: dict[str, Any],
    message: str,
) -> None:
    """Every ValueError is raised at the call, before any request."""
    with pytest.raises(ValueError, match=message) as caught:
        await _call(ops, method, options)
    assert not isinstance(caught.value, NotFoundError)
    assert [] == ops_mock.requests


async def test_abort_stops_a_running_backup(
    ops_mock: MockNorthflank, ops: NorthflankSession, clock: ManualClock
) -> None:
    """An abort answers at once; the backup goes aborting, then aborted."""
    backup = await started(ops)
    await ops.abort_backup(PROJECT, ADDON, backup.id)
    assert "aborting" == (await ops.get_backup(PROJECT, ADDON, backup.id)).status
    clock.advance(60)
    assert "aborted" == (await ops.get_backup(PROJECT, ADDON, backup.id)).status


async def test_abort_of_a_finished_backup_is_a_conflict(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """The API's 409 for a backup that ended is raised as it is, after one request."""
    with pytest.raises(ConflictError):
        await ops.abort_backup(PROJECT, ADDON, completed_id(ops_mock))
    assert 1 == len(ops_mock.requests)


async def test_delete_removes_a_backup(ops_mock: MockNorthflank, ops: NorthflankSession) -> None:
    """After a delete the backup is gone; deleting it again is NotFoundError."""
    backup_id = completed_id(ops_mock)
    await ops.delete_backup(PROJECT, ADDON, backup_id)
    assert backup_id not in [b["id"] for b in stored(ops_mock)]
    with pytest.raises(NotFoundError):
        await ops.delete_backup(PROJECT, ADDON, backup_id)
    with pytest.raises(NotFoundError):
        await ops.get_backup(PROJECT, ADDON, backup_id)


async def test_retain_marks_a_backup(ops_mock: MockNorthflank, ops: NorthflankSession) -> None:
    """Retaining marks the backup for the API to keep."""
    backup_id = completed_id(ops_mock)
    await ops.retain_backup(PROJECT, ADDON, backup_id)
    assert ops_mock.is_retained(PROJECT, ADDON, backup_id)


async def test_restore_returns_the_new_restore(
    ops_mock: MockNorthflank, ops: NorthflankSession, clock: ManualClock
) -> None:
    """A restore of a completed backup: its Restore, listed, and the backup's last_restore."""
    backup_id = completed_id(ops_mock)
    restore = await ops.restore_backup(PROJECT, ADDON, backup_id)
    assert isinstance(restore, Restore)
    assert (backup_id, "scheduled") == (restore.backup_id, restore.status)
    assert [restore.id] == [r["id"] for r in ops_mock.restores(PROJECT, ADDON)]
    clock.advance(60)
    backup = await ops.get_backup(PROJECT, ADDON, backup_id)
    assert backup.last_restore is not None
    assert ("completed", restore.restore_timestamp) == (
        backup.last_restore.status,
        backup.last_restore.restore_timestamp,
    )
    (listed,) = [r async for r in ops.list_backup_restores(PROJECT, ADDON, backup_id)]
    assert (restore.id, "completed", backup_id) == (listed.id, listed.status, listed.backup_id)
    assert listed.completed_at is not None


async def test_restore_of_a_backup_that_is_not_complete_is_a_conflict(
    ops_mock: MockNorthflank, ops: NorthflankSession
) -> None:
    """409 as the API says; no second POST."""
    backup = await started(ops)
    with pytest.raises(ConflictError):
        await ops.restore_backup(PROJECT, ADDON, backup.id)
    assert 2 == len(writes(ops_mock))


async def test_abort_restore(
    ops_mock: MockNorthflank, ops: NorthflankSession, clock: ManualClock
) -> None:
    """A running restore can be aborted; it ends aborted."""
    backup_id = completed_id(ops_mock)
    restore = await ops.restore_backup(PROJECT, ADDON, backup_id)
    await ops.abort_restore(PROJECT, ADDON, backup_id, restore.id)
    assert {"restoreId": restore.id} == ops_mock.requests[-1].body
    clock.advance(60)
    assert ["aborted"] == [r["status"] for r in ops_mock.restores(PROJECT, ADDON)]


async def test_restore_lists_page_like_every_list(
    ops_mock: MockNorthflank, ops: NorthflankSession, clock: ManualClock
) -> None:
    """Both restore lists walk pages, stop at max_items, and give one page on request."""
    backup_id = completed_id(ops_mock)
    made = []
    for _ in range(5):
        made.append((await ops.restore_backup(PROJECT, ADDON, backup_id)).id)
        clock.advance(60)
    addon_wide = [r async for r in ops.list_restores(PROJECT, ADDON, per_page=2)]
    assert made == [r.id for r in addon_wide]
    assert {backup_id} == {r.backup_id for r in addon_wide}
    of_backup = ops.list_backup_restores(PROJECT, ADDON, backup_id, per_page=2, max_items=3)
    assert made[:3] == [r.id async for r in of_backup]
    pages = [p async for p in ops.list_restore_pages(PROJECT, ADDON, per_page=2, prefetch=False)]
    assert [2, 2, 1] == [len(p.restores) for p in pages]
    page = await ops.get_backup_restore_page(PROJECT, ADDON, backup_id, per_page=2)
    assert page.pagination.has_next_page
    cursor = page.pagination.cursor
    second = await ops.get_backup_restore_page(PROJECT, ADDON, backup_id, per_page=2, cursor=cursor)
    assert made[2:4] == [r.id for r in second.items]
    first = await ops.get_restore_page(PROJECT, ADDON, per_page=3)
    assert made[:3] == [r.id for r in first.items]
    pages_of_backup = ops.list_backup_restore_pages(PROJECT, ADDON, backup_id, per_page=4)
    assert [4, 1] == [len(p.items) async for p in pages_of_backup]


async def test_team_routes(ops_mock: MockNorthflank, ops: NorthflankSession) -> None:
    """Every call takes team_id and uses the /v1/teams/{teamId}/... form."""
    team = ops_mock.team_id
    backup = await ops.create_backup(PROJECT, ADDON, team_id=team)
    await ops.get_backup(PROJECT, ADDON, backup.id, team_id=team)
    await ops.abort_backup(PROJECT, ADDON, backup.id, team_id=team)
    assert all(r.path.startswith(f"/v1/teams/{team}/projects/") for r in ops_mock.requests)


async def test_answers_that_are_not_what_the_api_documents(
    ops_mock: MockNorthflank, ops: NorthflankSession, sleep: ClockSleep
) -> None:
    """A body without data, a restore answer without restoreId, one the list never shows."""
    backup_id = completed_id(ops_mock)
    ops_mock.faults.bad_json(1, b'{"nope": 1}')
    with pytest.raises(ResponseValidationError, match="the answer has no data object"):
        await ops.get_backup(PROJECT, ADDON, backup_id)
    ops_mock.faults.bad_json(2, b'{"data": {"id": 7}}')
    with pytest.raises(ResponseValidationError, match=r"invalid value at data\.id") as caught:
        await ops.get_backup(PROJECT, ADDON, backup_id)
    assert caught.value.path == "data.id"
    ops_mock.faults.bad_json(4, b'{"data": {}}')  # 3 is the walk of the restores before
    with pytest.raises(ResponseValidationError, match="the answer has no restoreId"):
        await ops.restore_backup(PROJECT, ADDON, backup_id)
    ops_mock.faults.bad_json(6, b'{"data": {"restoreId": "ghost"}}')
    with pytest.raises(NotFoundError, match="restore ghost is not among the restores"):
        await ops.restore_backup(PROJECT, ADDON, backup_id)
    assert [1.0, 1.0] == sleep.waits  # looked for three times, a second apart


def test_new_fields_round_trip_through_the_converter() -> None:
    """lastRestore, uid and a Restore come back from converter.unstructure as the API sent them."""
    raw_backup = {
        **example_backup(),
        "uid": "6f1c",
        "lastRestore": {
            "restoreTimestamp": "2024-01-02T03:04:05.006Z",
            "status": "completed",
            "completedAt": "2024-01-02T03:09:05.006Z",
        },
    }
    raw_restore = {
        "id": "restore-1",
        "status": "some-new-status",
        "restoreTimestamp": "2024-01-02T03:04:05.006Z",
        "backupId": "backup-1",
    }
    assert raw_backup == converter.unstructure(converter.structure(raw_backup, Backup))
    restore = converter.structure(raw_restore, Restore)
    assert "some-new-status" == restore.status
    assert raw_restore == converter.unstructure(restore)
