"""Backups the mock's API starts: their shape, the checks of the body, and their life on the clock."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from northflank_async.testing import BackupLifecycle, ManualClock, MockNorthflank

from .support import (
    ADDON,
    AUTH,
    BACKUPS,
    PROJECT,
    Client,
    error_body,
    filled_mock,
    get_backup,
    send,
    start_backup,
    walk,
)

TEAM_BACKUPS = f"/v1/teams/example-team/projects/{PROJECT}/addons/{ADDON}/backups"
ID = re.compile(r"backup-[0-9a-f]{12}")
UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at 0 s."""
    return ManualClock()


@pytest.fixture
def mock(clock: ManualClock) -> MockNorthflank:
    """A mock on ``clock`` with one mongodb addon holding 120 generated backups."""
    return filled_mock(clock=clock)


# -------------------------------------------------------------------- starting one


async def test_start_answers_the_new_scheduled_backup(client: Client, mock: MockNorthflank) -> None:
    """``POST .../backups`` with ``{}``: a snapshot, named after its date, last in the list."""
    version = mock.backups(PROJECT, ADDON)[-1]["config"]["addonVersion"]
    backup = await start_backup(client)
    assert ID.fullmatch(backup["id"])
    assert UID.fullmatch(backup["uid"])
    assert {
        "id": backup["id"],
        "name": "Backup 2025-01-01 00:00:00",
        "status": "scheduled",
        "createdAt": "2025-01-01T00:00:00.000Z",
        "config": {"source": {"type": "snapshot"}, "size": "0", "addonVersion": version},
        "uid": backup["uid"],
    } == backup
    assert backup == mock.backups(PROJECT, ADDON)[-1] == await get_backup(client, backup["id"])
    assert backup == (await walk(client, BACKUPS, "backups"))[-1]
    assert 121 == len(mock.backups(PROJECT, ADDON))


async def test_new_ids_are_unique(client: Client, mock: MockNorthflank) -> None:
    """Every new backup has an id (and uid) of its own."""
    backups = [await start_backup(client) for _ in range(20)]
    assert 20 == len({b["id"] for b in backups}) == len({b["uid"] for b in backups})


async def test_a_dump_with_its_options(client: Client) -> None:
    """A dump's source is the live instance; compression (gz by default) and destination kept."""
    dump = await start_backup(client, {"backupType": "dump"})
    assert ({"type": "liveInstance"}, "gz") == (
        dump["config"]["source"],
        dump["config"]["compressionType"],
    )
    body = {
        "name": "before migration 42",
        "backupType": "dump",
        "compressionType": "zstd",
        "customDestinationId": "offsite-s3",
    }
    dump = await start_backup(client, body)
    assert ("before migration 42", "zstd", "offsite-s3") == (
        dump["name"],
        dump["config"]["compressionType"],
        dump["customDestinationId"],
    )
    assert ["source", "size", "compressionType", "addonVersion"] == list(dump["config"])


async def test_a_snapshot_with_additional_destinations(client: Client) -> None:
    """Additional destinations are kept in the config, keys in the API's order."""
    destinations = [
        {"type": "custom", "retentionTime": 7.0, "destinationId": "eu-west-archive"},
        {"destinationId": "cold-storage-2", "type": "custom"},
    ]
    backup = await start_backup(
        client, {"backupType": "snapshot", "additionalDestinations": destinations}
    )
    assert [
        {"destinationId": "eu-west-archive", "retentionTime": 7, "type": "custom"},
        {"destinationId": "cold-storage-2", "type": "custom"},
    ] == backup["config"]["additionalDestinations"]


# ----------------------------------------------------------------- on the clock


async def statuses(client: Client, backup_id: str) -> tuple[str, str]:
    """The backup's status by GET and by the list."""
    listed = {b["id"]: b for b in await walk(client, BACKUPS, "backups", per_page=100)}
    return (await get_backup(client, backup_id))["status"], listed[backup_id]["status"]


async def test_a_backup_moves_on_the_clock(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """scheduled for 1 s, in-progress for 3 s, then completed with its date and a size."""
    backup_id = (await start_backup(client))["id"]
    for reading, status in [(0.999, "scheduled"), (1.0, "in-progress"), (3.999, "in-progress")]:
        clock.set(reading)
        assert (status, status) == await statuses(client, backup_id)
        assert "completedAt" not in await get_backup(client, backup_id)
    clock.set(4.0)
    assert ("completed", "completed") == await statuses(client, backup_id)
    backup = await get_backup(client, backup_id)
    assert "2025-01-01T00:00:04.000Z" == backup["completedAt"]
    assert ["id", "name", "status", "createdAt", "completedAt", "config", "uid"] == list(backup)
    assert int(backup["config"]["size"]) > 0
    assert backup == mock.backups(PROJECT, ADDON)[-1]


async def test_a_jump_of_the_clock_completes_with_the_planned_date(
    client: Client, clock: ManualClock
) -> None:
    """However far the clock jumps, ``completedAt`` is when it completed, not when asked."""
    backup_id = (await start_backup(client))["id"]
    clock.advance(3600)
    backup = await get_backup(client, backup_id)
    assert ("completed", "2025-01-01T00:00:04.000Z") == (backup["status"], backup["completedAt"])


async def test_set_backup_lifecycle(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """New times and outcome apply to backups started after the call; others keep theirs."""
    assert BackupLifecycle(1.0, 3.0, "completed", 1.0) == mock.backup_lifecycle
    before = (await start_backup(client))["id"]
    lifecycle = mock.set_backup_lifecycle(scheduled=10, in_progress=20, outcome="failed")
    assert BackupLifecycle(10, 20, "failed", 1.0) == lifecycle == mock.backup_lifecycle
    assert BackupLifecycle(10, 20, "failed", 5) == mock.set_backup_lifecycle(abort=5)
    after = (await start_backup(client))["id"]
    clock.set(4)
    assert ["completed", "scheduled"] == [
        (await get_backup(client, b))["status"] for b in (before, after)
    ]
    clock.set(10)
    assert "in-progress" == (await get_backup(client, after))["status"]
    clock.set(30)
    failed = await get_backup(client, after)
    assert ("failed", "2025-01-01T00:00:30.000Z", "0") == (
        failed["status"],
        failed["completedAt"],
        failed["config"]["size"],
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scheduled": -1}, "scheduled must be >= 0 seconds, got -1"),
        ({"in_progress": math.inf}, "in_progress must be a finite number of seconds, got inf"),
        ({"abort": "1"}, "abort must be a finite number of seconds, got '1'"),
        ({"outcome": "aborted"}, "outcome must be 'completed' or 'failed', got 'aborted'"),
    ],
)
def test_set_backup_lifecycle_refuses_bad_values(kwargs: dict[str, Any], message: str) -> None:
    """Times are finite and >= 0; a run ends completed or failed; nothing changes otherwise."""
    mock = MockNorthflank()
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        mock.set_backup_lifecycle(**kwargs)
    assert BackupLifecycle() == mock.backup_lifecycle


async def test_fail_backup_makes_one_backup_fail(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """``fail_backup`` makes that backup fail when it would have completed; others complete."""
    doomed, fine = (await start_backup(client))["id"], (await start_backup(client))["id"]
    mock.fail_backup(PROJECT, ADDON, doomed)
    clock.set(1.5)
    mock.fail_backup(PROJECT, ADDON, doomed)  # in-progress: still possible
    clock.set(4)
    assert ["failed", "completed"] == [
        (await get_backup(client, b))["status"] for b in (doomed, fine)
    ]


async def test_fail_backup_refuses_one_that_cannot_change(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """Only a scheduled or in-progress backup the API started can be made to fail."""
    started = (await start_backup(client))["id"]
    clock.set(4)
    generated = mock.backups(PROJECT, ADDON)
    [running] = [b["id"] for b in generated if b["status"] == "in-progress"][:1]
    for backup_id, message in [
        (started, f"backup {started} is completed: only a scheduled or in-progress one can fail"),
        (
            running,
            f"backup {running} was not started by the API: it does not move on the clock",
        ),
        ("nope", f"backup nope not found in addon {ADDON} of project {PROJECT}"),
    ]:
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            mock.fail_backup(PROJECT, ADDON, backup_id)
    with pytest.raises(KeyError):
        mock.fail_backup(PROJECT, "nope", started)


# ------------------------------------------------------------------------ abort


async def test_abort_a_scheduled_backup(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """Abort: 200 ``{"data": {}}``, aborting for 1 s, then aborted (and never in progress)."""
    backup_id = (await start_backup(client))["id"]
    clock.set(0.5)
    assert (200, {"data": {}}) == await send(client, "POST", f"{BACKUPS}/{backup_id}/abort")
    clock.set(1.499)
    assert ("aborting", "aborting") == await statuses(client, backup_id)
    clock.set(10)
    backup = await get_backup(client, backup_id)
    assert ("aborted", "2025-01-01T00:00:01.500Z", "0") == (
        backup["status"],
        backup["completedAt"],
        backup["config"]["size"],
    )


async def test_abort_an_in_progress_backup_beats_its_completion(
    client: Client, clock: ManualClock
) -> None:
    """Aborted at 3.5 s (in progress), it is aborting at 4 s and aborted at 4.5 s."""
    backup_id = (await start_backup(client))["id"]
    clock.set(3.5)
    assert 200 == (await send(client, "POST", f"{BACKUPS}/{backup_id}/abort"))[0]
    clock.set(4.0)
    assert "aborting" == (await get_backup(client, backup_id))["status"]
    clock.set(4.5)
    assert "aborted" == (await get_backup(client, backup_id))["status"]


async def test_a_status_changed_by_hand_stops_the_plan(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """Each step acts only on the status it expects: a status set by a test is left alone."""
    aborted, running = (await start_backup(client))["id"], (await start_backup(client))["id"]
    assert 200 == (await send(client, "POST", f"{BACKUPS}/{aborted}/abort"))[0]
    for backup in mock.backups(PROJECT, ADDON)[-2:]:
        mock.schedule(0.5, lambda backup=backup: backup.update(status="not-supported"))
    clock.set(10)
    assert ["not-supported", "not-supported"] == [
        (await get_backup(client, b))["status"] for b in (aborted, running)
    ]
    assert "completedAt" not in await get_backup(client, running)


async def test_abort_of_a_backup_not_under_way_is_409(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """Aborting, aborted, completed and failed backups refuse an abort, saying their status."""
    backup_id = (await start_backup(client))["id"]
    path = f"{BACKUPS}/{backup_id}/abort"
    assert 200 == (await send(client, "POST", path))[0]
    for reading, status in [(0.5, "aborting"), (5, "aborted")]:
        clock.set(reading)
        message = (
            f"Backup {backup_id} is {status}: only a scheduled or in-progress one can be aborted"
        )
        number = len(mock.requests) + 1
        assert (409, error_body(number, 409, message)) == await send(client, "POST", path)
    for status in ["completed", "failed", "not-supported"]:
        [backup] = [b for b in mock.backups(PROJECT, ADDON) if b["status"] == status][:1]
        code, answer = await send(client, "POST", f"{BACKUPS}/{backup['id']}/abort")
        assert (409, f"Backup {backup['id']} is {status}") == (
            code,
            answer["error"]["message"].partition(":")[0],
        )


async def test_a_generated_running_backup_can_be_aborted(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """A generated in-progress backup does not move, but an abort takes it to aborted."""
    [backup] = [b for b in mock.backups(PROJECT, ADDON) if b["status"] == "in-progress"][:1]
    assert 200 == (await send(client, "POST", f"{BACKUPS}/{backup['id']}/abort"))[0]
    clock.advance(1)
    served_backup = await get_backup(client, backup["id"])
    assert ("aborted", "2025-01-01T00:00:01.000Z") == (
        served_backup["status"],
        served_backup["completedAt"],
    )
    assert served_backup == backup


# ----------------------------------------------------------------- delete, retain


async def test_delete_a_completed_backup(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """200 ``{"data": {}}``; then GET, DELETE and abort are 404 and the lists leave it out."""
    backup_id = (await start_backup(client))["id"]
    clock.set(4)
    path = f"{BACKUPS}/{backup_id}"
    assert (200, {"data": {}}) == await send(client, "DELETE", path)
    message = f"Backup {backup_id} not found"
    for method, target in [("GET", path), ("DELETE", path), ("POST", path + "/abort")]:
        number = len(mock.requests) + 1
        assert (404, error_body(number, 404, message)) == await send(client, method, target)
    assert backup_id not in {b["id"] for b in await walk(client, BACKUPS, "backups")}
    assert backup_id not in {b["id"] for b in mock.backups(PROJECT, ADDON)}
    assert 120 == len(mock.backups(PROJECT, ADDON))


async def test_delete_of_a_backup_under_way_is_409(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """A scheduled, in-progress or aborting backup stays; once aborted it can go."""
    backup_id = (await start_backup(client))["id"]
    path = f"{BACKUPS}/{backup_id}"
    for reading, status in [(0, "scheduled"), (2, "in-progress")]:
        clock.set(reading)
        message = (
            f"Backup {backup_id} is {status}: abort it and wait until it is aborted "
            "before deleting it"
        )
        code, answer = await send(client, "DELETE", path)
        assert (409, message) == (code, answer["error"]["message"])
    await send(client, "POST", path + "/abort")
    assert 409 == (await send(client, "DELETE", path))[0]
    clock.set(3)
    assert (200, 404) == (
        (await send(client, "DELETE", path))[0],
        (await send(client, "GET", path))[0],
    )


async def test_retain(client: Client, mock: MockNorthflank) -> None:
    """Retain: 200 ``{"data": {}}`` again and again; a mock-side mark, not in the JSON."""
    backup = mock.backups(PROJECT, ADDON)[0]
    path = f"{BACKUPS}/{backup['id']}/retain"
    assert not mock.is_retained(PROJECT, ADDON, backup["id"])
    for _ in range(2):
        assert (200, {"data": {}}) == await send(client, "POST", path)
    assert mock.is_retained(PROJECT, ADDON, backup["id"])
    assert backup == await get_backup(client, backup["id"])
    assert (404, "Backup nope not found") == (
        (answer := await send(client, "POST", f"{BACKUPS}/nope/retain"))[0],
        answer[1]["error"]["message"],
    )
    assert 200 == (await send(client, "DELETE", f"{BACKUPS}/{backup['id']}"))[0]
    assert not mock.is_retained(PROJECT, ADDON, backup["id"])


# ------------------------------------------------------------- team form, dates


async def test_every_backup_route_in_the_team_form(
    client: Client, mock: MockNorthflank, clock: ManualClock
) -> None:
    """The team form serves the same routes on the same state; another team is 404."""
    backup_id = (await start_backup(client, path=TEAM_BACKUPS))["id"]
    assert (
        "scheduled"
        == (await send(client, "GET", f"{TEAM_BACKUPS}/{backup_id}"))[1]["data"]["status"]
    )
    assert 200 == (await send(client, "POST", f"{TEAM_BACKUPS}/{backup_id}/abort"))[0]
    assert 200 == (await send(client, "POST", f"{TEAM_BACKUPS}/{backup_id}/retain"))[0]
    clock.set(2)
    assert 200 == (await send(client, "DELETE", f"{TEAM_BACKUPS}/{backup_id}"))[0]
    other = TEAM_BACKUPS.replace("example-team", "other-team")
    assert (404, "Team other-team not found") == (
        (answer := await send(client, "POST", other, {}))[0],
        answer[1]["error"]["message"],
    )
    assert 120 == len(mock.backups(PROJECT, ADDON))


async def test_new_backups_come_after_a_long_generated_history(
    aiohttp_client: AiohttpClient, clock: ManualClock
) -> None:
    """Dates move forward past an addon's generated history, and keep moving with the clock."""
    mock = MockNorthflank(clock=clock)
    [*_, last] = mock.generate_backups("p", "a", 5000)
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    path = "/v1/projects/p/addons/a/backups"
    first = await start_backup(client, path=path)
    clock.advance(90)
    second = await start_backup(client, path=path)
    created = [datetime.fromisoformat(b["createdAt"]) for b in (last, first, second)]
    assert created[1] - created[0] >= (datetime(2000, 1, 1, 1) - datetime(2000, 1, 1))
    assert 90 == (created[2] - created[1]).total_seconds()


async def test_on_real_time_dates_are_today(aiohttp_client: AiohttpClient) -> None:
    """On the default clock (real time) a new backup is dated now."""
    mock = MockNorthflank()
    mock.add_addon("p", "a")
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    backup = await start_backup(client, path="/v1/projects/p/addons/a/backups")
    created = datetime.fromisoformat(backup["createdAt"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60
    assert backup["config"]["addonVersion"] == "16.4"
