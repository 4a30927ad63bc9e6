"""Restores: starting one from a backup, its life on the clock, aborting it, and its lists."""

from __future__ import annotations

import re
from typing import Any

import pytest

from northflank_async.testing import ManualClock, MockNorthflank

from .support import (
    ADDON,
    BACKUPS,
    PROJECT,
    Client,
    error_body,
    filled_mock,
    get_backup,
    get_json,
    pages,
    send,
    start_backup,
    walk,
)

RESTORES = f"/v1/projects/{PROJECT}/addons/{ADDON}/restores"
OTHER = "other-addon"
OTHER_BACKUPS = f"/v1/projects/{PROJECT}/addons/{OTHER}/backups"
RESTORE_ID = re.compile(r"restore-[0-9a-f]{12}")


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at 0 s."""
    return ManualClock()


@pytest.fixture
def mock(clock: ManualClock) -> MockNorthflank:
    """A mock on ``clock``: the default addon with 120 generated backups, and an empty one."""
    mock = filled_mock(clock=clock)
    mock.add_addon(PROJECT, OTHER)
    return mock


async def completed_backup(client: Client, clock: ManualClock, path: str = BACKUPS) -> str:
    """The id of a backup started on ``path`` and completed (the clock moves 4 s)."""
    backup_id = (await start_backup(client, path=path))["id"]
    clock.advance(4)
    return backup_id


async def restore(client: Client, backup_id: str, path: str = BACKUPS, **query: str) -> str:
    """Start a restore from ``backup_id``; return its id."""
    status, answer = await send(client, "POST", f"{path}/{backup_id}/restore", **query)
    assert 200 == status, answer
    assert ["restoreId"] == list(answer["data"])
    restore_id: str = answer["data"]["restoreId"]
    assert RESTORE_ID.fullmatch(restore_id)
    return restore_id


async def backup_restores(client: Client, backup_id: str, **query: str) -> list[dict[str, Any]]:
    """Every item of ``GET .../backups/{id}/restores`` of the default addon."""
    return await walk(client, f"{BACKUPS}/{backup_id}/restores", "restores", **query)


# ------------------------------------------------------------------ starting one


async def test_only_a_completed_backup_can_be_restored(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """A backup in any other status is 409 saying it; nothing is started."""
    backup_id = (await start_backup(client))["id"]
    refused = [(backup_id, "scheduled")]
    for status in ["failed", "aborted", "in-progress", "aborting", "not-supported"]:
        [backup] = [b for b in mock.backups(PROJECT, ADDON) if b["status"] == status][:1]
        refused.append((backup["id"], status))
    for refused_id, status in refused:
        number = len(mock.requests) + 1
        message = f"Backup {refused_id} is {status}: only a completed backup can be restored"
        assert (409, error_body(number, 409, message)) == await send(
            client, "POST", f"{BACKUPS}/{refused_id}/restore"
        )
    assert [] == mock.restores(PROJECT, ADDON)
    assert (404, "Backup nope not found") == (
        (answer := await send(client, "POST", f"{BACKUPS}/nope/restore"))[0],
        answer[1]["error"]["message"],
    )


async def test_a_restore_moves_on_the_clock_and_the_backup_follows(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """scheduled -> in-progress -> completed; GET of the backup shows it as ``lastRestore``."""
    backup_id = await completed_backup(client, clock)
    assert "lastRestore" not in await get_backup(client, backup_id)
    restore_id = await restore(client, backup_id)
    started = {
        "id": restore_id,
        "status": "scheduled",
        "restoreTimestamp": "2025-01-01T00:00:04.000Z",
    }
    assert [{**started, "backupId": backup_id}] == mock.restores(PROJECT, ADDON)
    for reading, status in [(4.5, "scheduled"), (5, "in-progress"), (7.9, "in-progress")]:
        clock.set(reading)
        assert [{**started, "status": status}] == await backup_restores(client, backup_id)
        last = {"restoreTimestamp": "2025-01-01T00:00:04.000Z", "status": status}
        assert last == (await get_backup(client, backup_id))["lastRestore"]
    clock.set(8)
    ended = {**started, "status": "completed", "completedAt": "2025-01-01T00:00:08.000Z"}
    assert [ended] == await backup_restores(client, backup_id)
    assert [{**ended, "backupId": backup_id}] == await walk(client, RESTORES, "restores")
    assert ["id", "status", "restoreTimestamp", "completedAt", "backupId"] == list(
        mock.restores(PROJECT, ADDON)[0]
    )
    backup = await get_backup(client, backup_id)
    assert {
        "restoreTimestamp": "2025-01-01T00:00:04.000Z",
        "status": "completed",
        "completedAt": "2025-01-01T00:00:08.000Z",
    } == backup["lastRestore"]
    listed = {b["id"]: b for b in await walk(client, BACKUPS, "backups", per_page=100)}
    assert "lastRestore" not in listed[backup_id]


async def test_last_restore_follows_the_latest_restore(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """A second restore (not refused while the first runs) becomes ``lastRestore``."""
    backup_id = await completed_backup(client, clock)
    first = await restore(client, backup_id)
    clock.advance(2)
    second = await restore(client, backup_id)
    assert first != second
    assert [first, second] == [r["id"] for r in await backup_restores(client, backup_id)]
    last = (await get_backup(client, backup_id))["lastRestore"]
    assert ("2025-01-01T00:00:06.000Z", "scheduled") == (last["restoreTimestamp"], last["status"])


async def test_failed_restores(client: Client, mock: MockNorthflank, clock: ManualClock) -> None:
    """A restore fails by the lifecycle's outcome or by ``fail_restore``."""
    backup_id = await completed_backup(client, clock)
    mock.set_backup_lifecycle(outcome="failed")
    by_lifecycle = await restore(client, backup_id)
    mock.set_backup_lifecycle(outcome="completed")
    by_hand, fine = await restore(client, backup_id), await restore(client, backup_id)
    mock.fail_restore(PROJECT, ADDON, by_hand)
    clock.advance(4)
    assert {by_lifecycle: "failed", by_hand: "failed", fine: "completed"} == {
        r["id"]: r["status"] for r in mock.restores(PROJECT, ADDON)
    }
    assert "failed" != (await get_backup(client, backup_id))["lastRestore"]["status"]
    message = f"restore {fine} is completed: only a scheduled or in-progress one can fail"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        mock.fail_restore(PROJECT, ADDON, fine)


# ------------------------------------------------------------------------ abort


async def test_abort_a_restore(client: Client, mock: MockNorthflank, clock: ManualClock) -> None:
    """Abort-restore: 200 ``{"data": {}}``, aborting, then aborted after 1 s; then 409."""
    backup_id = await completed_backup(client, clock)
    restore_id = await restore(client, backup_id)
    clock.advance(2)
    path = f"{BACKUPS}/{backup_id}/abort-restore"
    assert (200, {"data": {}}) == await send(client, "POST", path, {"restoreId": restore_id})
    assert mock.requests[-1].body == {"restoreId": restore_id}
    assert "aborting" == (await backup_restores(client, backup_id))[0]["status"]
    for status, move in [("aborting", 0.5), ("aborted", 0.5)]:
        clock.advance(move)
        number = len(mock.requests) + 1
        message = (
            f"Restore {restore_id} is {status}: only a scheduled or in-progress one can be aborted"
        )
        answer = await send(client, "POST", path, {"restoreId": restore_id})
        assert (409, error_body(number, 409, message)) == answer
    [aborted] = mock.restores(PROJECT, ADDON)
    assert ("aborted", "2025-01-01T00:00:07.000Z") == (aborted["status"], aborted["completedAt"])
    assert "aborted" == (await get_backup(client, backup_id))["lastRestore"]["status"]


async def test_a_finished_restore_cannot_be_aborted(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """A completed restore: 409."""
    backup_id = await completed_backup(client, clock)
    restore_id = await restore(client, backup_id)
    clock.advance(4)
    path = f"{BACKUPS}/{backup_id}/abort-restore"
    code, answer = await send(client, "POST", path, {"restoreId": restore_id})
    assert (409, f"Restore {restore_id} is completed") == (
        code,
        answer["error"]["message"].partition(":")[0],
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (None, 400, "Invalid request body: restoreId is required and must be a non-empty string"),
        (
            {"restoreId": ""},
            400,
            "Invalid request body: restoreId is required and must be a non-empty string",
        ),
        (
            {"restoreId": 5},
            400,
            "Invalid request body: restoreId is required and must be a non-empty string",
        ),
        ({"restoreId": "x", "force": True}, 400, "Invalid request body: force is not allowed"),
        ({"restoreId": "nope"}, 404, "Restore nope of backup {backup} not found"),
        ({"restoreId": "{other}"}, 404, "Restore {other} of backup {backup} not found"),
    ],
)
async def test_abort_restore_refuses_a_bad_body_or_an_unknown_restore(
    client: Client,
    mock: MockNorthflank,
    clock: ManualClock,
    body: dict[str, Any] | None,
    status: int,
    message: str,
) -> None:
    """400 without a ``restoreId`` string; 404 for a restore that is not one of this backup's."""
    backup_id, other_backup = (
        await completed_backup(client, clock),
        await completed_backup(client, clock),
    )
    other = await restore(client, other_backup)
    await restore(client, backup_id)
    if body is not None and body.get("restoreId") == "{other}":
        body = {"restoreId": other}
    code, answer = await send(client, "POST", f"{BACKUPS}/{backup_id}/abort-restore", body)
    expected = message.format(backup=backup_id, other=other)
    assert (status, expected) == (code, answer["error"]["message"])
    assert {"scheduled"} == {r["status"] for r in mock.restores(PROJECT, ADDON)}


# ------------------------------------------------------------------------ lists


async def test_both_restore_lists_paginate(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """``per_page``, ``page`` and cursors as on the backup list; one list's cursor is not the other's."""
    first, second = await completed_backup(client, clock), await completed_backup(client, clock)
    ids = [await restore(client, backup_id) for backup_id in [first, second, first, first, second]]
    addon_pages = await pages(client, RESTORES, per_page=2)
    assert [2, 2, 1] == [p["pagination"]["count"] for p in addon_pages]
    assert ids == [r["id"] for p in addon_pages for r in p["data"]["restores"]]
    assert [first, second, first, first, second] == [
        r["backupId"] for p in addon_pages for r in p["data"]["restores"]
    ]
    of_first = f"{BACKUPS}/{first}/restores"
    first_pages = await pages(client, of_first, per_page=2)
    assert [ids[0], ids[2], ids[3]] == [r["id"] for p in first_pages for r in p["data"]["restores"]]
    status, page_two = await get_json(client, of_first, per_page=2, page=2)
    assert (200, [ids[3]], False) == (
        status,
        [r["id"] for r in page_two["data"]["restores"]],
        page_two["pagination"]["hasNextPage"],
    )
    cursor = addon_pages[0]["pagination"]["cursor"]
    status, answer = await get_json(client, of_first, cursor=cursor)
    assert (400, "Invalid cursor") == (status, answer["error"]["message"])
    status, answer = await get_json(client, RESTORES, per_page=101)
    assert 400 == status
    assert [] == await walk(
        client, f"{BACKUPS}/{mock.backups(PROJECT, ADDON)[0]['id']}/restores", "restores"
    )


async def test_lists_of_unknown_things_are_404(client: Client) -> None:
    """An unknown addon or backup is 404."""
    unknown = [
        (
            f"/v1/projects/{PROJECT}/addons/nope/restores",
            f"Addon nope not found in project {PROJECT}",
        ),
        (f"{BACKUPS}/nope/restores", "Backup nope not found"),
    ]
    for path, message in unknown:
        status, answer = await get_json(client, path)
        assert (404, message) == (status, answer["error"]["message"])


# --------------------------------------------------- another addon's backup, team form


async def test_restore_from_another_addons_backup(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """With ``sourceProjectId``/``sourceAddonId`` the path's addon is restored from the other's backup."""
    backup_id = await completed_backup(client, clock)
    source = {"sourceProjectId": PROJECT, "sourceAddonId": ADDON}
    restore_id = await restore(client, backup_id, OTHER_BACKUPS, **source)
    assert ([], [restore_id]) == (
        [r["id"] for r in mock.restores(PROJECT, ADDON)],
        [r["id"] for r in mock.restores(PROJECT, OTHER)],
    )
    listed = await walk(client, f"{OTHER_BACKUPS}/{backup_id}/restores", "restores", **source)
    assert [restore_id] == [r["id"] for r in listed]
    assert [restore_id] == [r["id"] for r in await backup_restores(client, backup_id)]
    assert "scheduled" == (await get_backup(client, backup_id))["lastRestore"]["status"]
    path = f"{OTHER_BACKUPS}/{backup_id}/abort-restore"
    assert 404 == (await send(client, "POST", path, {"restoreId": restore_id}))[0]
    assert (200, {"data": {}}) == await send(
        client, "POST", path, {"restoreId": restore_id}, **source
    )
    assert "aborting" == mock.restores(PROJECT, OTHER)[0]["status"]


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({}, 404, "Backup {backup} not found"),
        (
            {"sourceProjectId": PROJECT},
            400,
            "sourceAddonId goes with sourceProjectId: give both or neither",
        ),
        (
            {"sourceAddonId": ADDON},
            400,
            "sourceProjectId goes with sourceAddonId: give both or neither",
        ),
        ({"sourceProjectId": "", "sourceAddonId": ADDON}, 400, "sourceProjectId must not be empty"),
        (
            {"sourceProjectId": PROJECT, "sourceAddonId": "nope"},
            404,
            f"Addon nope not found in project {PROJECT}",
        ),
    ],
)
async def test_the_source_query_is_checked(
    client: Client,
    mock: MockNorthflank,
    clock: ManualClock,
    query: dict[str, str],
    status: int,
    message: str,
) -> None:
    """Both source ids or neither; without them the backup must be the path addon's."""
    backup_id = await completed_backup(client, clock)
    for method, suffix in [("POST", "restore"), ("GET", "restores")]:
        code, answer = await send(client, method, f"{OTHER_BACKUPS}/{backup_id}/{suffix}", **query)
        assert (status, message.format(backup=backup_id)) == (code, answer["error"]["message"])
    assert [] == mock.restores(PROJECT, OTHER)


async def test_delete_waits_for_a_restore_and_keeps_its_record(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """A backup being restored is not deleted (409); once the restore ended it is, and the restore stays listed."""
    backup_id = await completed_backup(client, clock)
    finished = await restore(client, backup_id)
    clock.advance(4)
    restore_id = await restore(client, backup_id)
    code, answer = await send(client, "DELETE", f"{BACKUPS}/{backup_id}")
    message = (
        f"Backup {backup_id} is being restored (restore {restore_id} is scheduled): "
        "wait until the restore has ended before deleting it"
    )
    assert (409, message) == (code, answer["error"]["message"])
    clock.advance(4)
    assert 200 == (await send(client, "DELETE", f"{BACKUPS}/{backup_id}"))[0]
    assert [finished, restore_id] == [r["id"] for r in await walk(client, RESTORES, "restores")]
    assert 404 == (await get_json(client, f"{BACKUPS}/{backup_id}/restores"))[0]


async def test_restore_routes_in_the_team_form(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """The team form restores, aborts and lists on the same state."""
    backup_id = await completed_backup(client, clock)
    team = f"/v1/teams/example-team/projects/{PROJECT}/addons/{ADDON}"
    restore_id = await restore(client, backup_id, f"{team}/backups")
    body = {"restoreId": restore_id}
    assert 200 == (await send(client, "POST", f"{team}/backups/{backup_id}/abort-restore", body))[0]
    assert [restore_id] == [r["id"] for r in await walk(client, f"{team}/restores", "restores")]
    listed = await walk(client, f"{team}/backups/{backup_id}/restores", "restores")
    assert ["aborting"] == [r["status"] for r in listed]
