"""Starting backups and restores from the command line, and waiting for them: `backup addon`
and `restore addon backup` with and without --wait (completed, failed, timed out, Ctrl-C),
and the two restore listings, paged like `get addon backups`."""

from __future__ import annotations

import asyncio
import io
import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from northflank_async import NorthflankSession, Restore, converter
from northflank_async.cli import run
from northflank_async.testing import MockNorthflank
from tests.cli_support import TtyStringIO, connect, start_cli
from tests.conftest import ADDON, PROJECT, wait_until
from tests.test_cli_actions import IDS, act, as_printed, completed_backup

BACKUP_ADDON = ("backup", "addon", *IDS)


@pytest.fixture(autouse=True)
def _fast_waits(monkeypatch: pytest.MonkeyPatch, mock: MockNorthflank) -> None:
    """Polls every 0.05 s or so, and backups and restores that end within 0.25 s."""
    monkeypatch.setattr("northflank_async._wait.FIRST_POLL", 0.05)
    monkeypatch.setattr("northflank_async._wait.MAX_POLL", 0.05)
    mock.set_backup_lifecycle(scheduled=0.1, in_progress=0.15)
    mock.add_addon(PROJECT, ADDON)


def restores_printed(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Restores as the CLI prints them: the converter's round trip of the API's JSON."""
    return [converter.unstructure(converter.structure(r, Restore)) for r in raw]


# -- backup addon --------------------------------------------------------------------------------


async def test_backup_addon_prints_the_new_backup(mock: MockNorthflank) -> None:
    """Without --wait: one POST, and the backup as the API answered it (scheduled)."""
    result = await act(mock, *BACKUP_ADDON)

    assert (0, "") == (result.code, result.err)
    printed = json.loads(result.out)
    assert "scheduled" == printed["status"]
    assert [printed["id"]] == [b["id"] for b in mock.backups(PROJECT, ADDON)]
    post = [r for r in mock.requests if r.method == "POST"]
    assert [{"name": printed["name"]}] == [r.body for r in post]
    assert re.fullmatch(r"backup \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [a-z0-9]{6}", printed["name"])


async def test_backup_addon_sends_the_options_given(mock: MockNorthflank) -> None:
    result = await act(
        mock, *BACKUP_ADDON, "--name", "nightly dump", "--backup-type", "dump",
        "--compression_type", "zstd", "--customDestinationId", "my-bucket", "-o", "jsonl",
    )  # fmt: skip

    assert (0, "") == (result.code, result.err)
    assert 1 == len(result.out.splitlines())
    assert {
        "name": "nightly dump",
        "backupType": "dump",
        "compressionType": "zstd",
        "customDestinationId": "my-bucket",
    } == next(r.body for r in mock.requests if r.method == "POST")


async def test_a_lost_answer_starts_no_second_backup(mock: MockNorthflank) -> None:
    """The POST's answer is lost: the SDK finds the backup it started and prints it."""
    mock.faults.lose_answer_path("/backups", method="POST")

    result = await act(mock, *BACKUP_ADDON)

    assert 0 == result.code
    assert [json.loads(result.out)["id"]] == [b["id"] for b in mock.backups(PROJECT, ADDON)]
    assert 1 == sum(r.method == "POST" for r in mock.requests)


async def test_wait_prints_the_completed_backup(mock: MockNorthflank) -> None:
    """--wait: exit 0 once completed, the final state on stdout; nothing on a stderr no
    terminal shows."""
    result = await act(mock, *BACKUP_ADDON, "--wait")

    assert (0, "") == (result.code, result.err)
    printed = json.loads(result.out)
    assert "completed" == printed["status"]
    assert [as_printed(b) for b in mock.backups(PROJECT, ADDON)] == [printed]


async def test_wait_shows_each_status_on_a_terminal(mock: MockNorthflank) -> None:
    result = await act(mock, *BACKUP_ADDON, "--wait", "-o", "table", stderr=TtyStringIO())

    backup_id = mock.backups(PROJECT, ADDON)[0]["id"]
    assert 0 == result.code
    lines = result.err.splitlines()
    assert [f"backup {backup_id}: {s}" for s in ("scheduled", "in-progress", "completed")] == [
        re.sub(r" \(\d+\.\d s\)$", "", line) for line in lines
    ]
    assert all(re.search(r" \(\d+\.\d s\)$", line) for line in lines)
    assert f"{backup_id}  " in result.out.splitlines()[1]


async def test_wait_with_quiet_shows_nothing_on_a_terminal(mock: MockNorthflank) -> None:
    result = await act(mock, *BACKUP_ADDON, "--wait", "--quiet", stderr=TtyStringIO())

    assert (0, "") == (result.code, result.err)
    assert "completed" == json.loads(result.out)["status"]


async def test_wait_for_a_failing_backup_exits_1(mock: MockNorthflank) -> None:
    """It ends failed: the failed backup on stdout, a line saying so, exit 1."""
    mock.set_backup_lifecycle(outcome="failed")

    result = await act(mock, *BACKUP_ADDON, "--wait")

    printed = json.loads(result.out)
    assert (1, "failed") == (result.code, printed["status"])
    assert f"northflank-async: error: backup {printed['id']} ended failed\n" == result.err


async def test_wait_for_an_aborted_backup_exits_1(mock: MockNorthflank) -> None:
    """Aborted meanwhile (by someone else), the wait ends with it: exit 1."""
    mock.set_backup_lifecycle(in_progress=30, abort=0.05)
    stderr = TtyStringIO()
    task = asyncio.create_task(act(mock, *BACKUP_ADDON, "--wait", stderr=stderr))
    await wait_until(lambda: "in-progress" in stderr.getvalue())
    backup_id = mock.backups(PROJECT, ADDON)[0]["id"]
    assert 0 == (await act(mock, "abort", "addon", "backup", *IDS, "--backupId", backup_id)).code

    result = await task

    assert (1, "aborted") == (result.code, json.loads(result.out)["status"])
    assert result.err.endswith(f"northflank-async: error: backup {backup_id} ended aborted\n")


async def test_wait_timing_out_says_the_backup_goes_on(mock: MockNorthflank) -> None:
    """Past --timeout: exit 1, its last state on stdout, and that it goes on."""
    mock.set_backup_lifecycle(in_progress=30)

    result = await act(mock, *BACKUP_ADDON, "--wait", "--timeout", "0.2")

    printed = json.loads(result.out)
    assert (1, "in-progress") == (result.code, printed["status"])
    assert (
        f"northflank-async: error: backup {printed['id']} is still in-progress after 0.2 s; "
        "it goes on, only the wait stopped\n"
    ) == result.err
    assert "in-progress" == mock.backups(PROJECT, ADDON)[0]["status"]


async def test_ctrl_c_while_waiting_says_the_backup_goes_on(mock: MockNorthflank) -> None:
    """Ctrl-C mid-wait: exit 130, a line saying the backup goes on, then 'interrupted'."""
    mock.set_backup_lifecycle(in_progress=30)

    class CtrlCOnInProgress(TtyStringIO):
        def write(self, text: str) -> int:
            if "in-progress" in text and "in-progress" not in self.getvalue():
                super().write(text)
                raise KeyboardInterrupt
            return super().write(text)

    result = await act(mock, *BACKUP_ADDON, "--wait", stderr=CtrlCOnInProgress())

    backup_id = mock.backups(PROJECT, ADDON)[0]["id"]
    assert (130, "") == (result.code, result.out)
    assert result.err.startswith(f"backup {backup_id}: scheduled (")
    assert result.err.endswith(
        " s)\n"  # the in-progress line, then the ^C
        f"\nnorthflank-async: backup {backup_id} goes on; only the wait was interrupted\n"
        "\nnorthflank-async: interrupted\n"
    )
    assert "in-progress" == mock.backups(PROJECT, ADDON)[0]["status"]
    assert 0 == mock.in_flight


async def test_a_cancelled_wait_says_the_backup_goes_on(mock: MockNorthflank) -> None:
    """A real SIGINT cancels the task (asyncio.run): the note, then the cancellation goes on."""
    mock.set_backup_lifecycle(in_progress=30)
    out, err = io.StringIO(), io.StringIO()
    argv = [*BACKUP_ADDON, "--wait", *connect(mock)]
    task = asyncio.create_task(run(argv, stdout=out, stderr=err, stdin=io.StringIO()))
    await wait_until(lambda: sum(r.method == "GET" for r in mock.requests) >= 3)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    backup_id = mock.backups(PROJECT, ADDON)[0]["id"]
    assert "" == out.getvalue()
    assert (
        f"\nnorthflank-async: backup {backup_id} goes on; only the wait was interrupted\n"
    ) == err.getvalue()


async def test_a_real_sigint_while_waiting_says_the_backup_goes_on(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """As a process: SIGINT mid-wait exits 130 with the note, then 'interrupted'."""
    mock.set_backup_lifecycle(in_progress=30)
    process = await start_cli(*BACKUP_ADDON, "--wait", *connect(mock), cwd=tmp_path)
    async with asyncio.timeout(30):  # the process starts slower than wait_until waits
        while not any(r.method == "GET" for r in mock.requests):  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), 30)

    backup_id = mock.backups(PROJECT, ADDON)[0]["id"]
    assert (130, b"") == (process.returncode, out)
    assert (
        f"\nnorthflank-async: backup {backup_id} goes on; only the wait was interrupted\n"
        "\nnorthflank-async: interrupted\n"
    ).encode() == err


# -- restore addon backup -----------------------------------------------------------------------


async def test_restore_prints_the_new_restore(mock: MockNorthflank) -> None:
    backup = completed_backup(mock)

    result = await act(mock, "restore", "addon", "backup", *IDS, "--backupId", backup["id"])

    assert (0, "") == (result.code, result.err)
    assert restores_printed(mock.restores(PROJECT, ADDON)) == [json.loads(result.out)]
    assert "scheduled" == json.loads(result.out)["status"]


async def test_restore_wait_prints_the_completed_restore(mock: MockNorthflank) -> None:
    backup = completed_backup(mock)

    result = await act(
        mock, "restore", "addon", "backup", *IDS, "--backupId", backup["id"], "--wait",
        stderr=TtyStringIO(),
    )  # fmt: skip

    printed = json.loads(result.out)
    assert (0, "completed", backup["id"]) == (result.code, printed["status"], printed["backupId"])
    assert restores_printed(mock.restores(PROJECT, ADDON)) == [printed]
    what = f"restore {printed['id']} of backup {backup['id']}"
    assert [f"{what}: {s}" for s in ("scheduled", "in-progress", "completed")] == [
        re.sub(r" \(\d+\.\d s\)$", "", line) for line in result.err.splitlines()
    ]


async def test_restore_wait_for_a_failing_restore_exits_1(mock: MockNorthflank) -> None:
    backup = completed_backup(mock)
    mock.set_backup_lifecycle(outcome="failed")

    result = await act(
        mock, "restore", "addon", "backup", *IDS, "--backupId", backup["id"], "--wait"
    )

    printed = json.loads(result.out)
    assert (1, "failed") == (result.code, printed["status"])
    assert (
        f"northflank-async: error: restore {printed['id']} of backup {backup['id']} ended failed\n"
    ) == result.err


async def test_restore_from_another_addons_backup(mock: MockNorthflank) -> None:
    """--sourceProjectId and --sourceAddonId restore this addon from another's backup."""
    source = next(b for b in mock.generate_backups("other", "db", 20) if b["status"] == "completed")
    argv = ("--backupId", source["id"], "--sourceProjectId", "other", "--sourceAddonId", "db")

    result = await act(mock, "restore", "addon", "backup", *IDS, *argv, "--wait")

    assert (0, "completed") == (result.code, json.loads(result.out)["status"])
    assert [source["id"]] == [r["backupId"] for r in mock.restores(PROJECT, ADDON)]
    post = next(r for r in mock.requests if r.method == "POST")
    assert {"sourceProjectId": "other", "sourceAddonId": "db"} == post.query


# -- the restore listings --------------------------------------------------------------------------


async def _restores(mock: MockNorthflank, nf: NorthflankSession, count: int) -> str:
    """``count`` restores of the addon (staying scheduled), all from one backup; its id."""
    mock.set_backup_lifecycle(scheduled=3600)
    backup = completed_backup(mock)
    for _ in range(count):
        await nf.restore_backup(PROJECT, ADDON, backup["id"])
    mock.requests.clear()
    return str(backup["id"])


LISTINGS = {
    "addon": ("get", "addon", "restores", *IDS),
    "backup": ("get", "addon", "backup", "restores", *IDS, "--backupId"),
}


@pytest.mark.parametrize("listing", list(LISTINGS))
async def test_a_restore_listing_prints_every_page(
    mock: MockNorthflank, nf: NorthflankSession, listing: str
) -> None:
    backup_id = await _restores(mock, nf, 5)
    argv = (*LISTINGS[listing], *([backup_id] if listing == "backup" else []))

    result = await act(mock, *argv, "--per_page", "2")

    assert (0, "") == (result.code, result.err)
    assert {"restores": restores_printed(mock.restores(PROJECT, ADDON))} == json.loads(result.out)
    assert 3 == len(mock.requests)


@pytest.mark.parametrize("listing", list(LISTINGS))
async def test_a_restore_listing_prints_one_page_and_its_cursor(
    mock: MockNorthflank, nf: NorthflankSession, listing: str
) -> None:
    """--page prints that page and the next cursor; --cursor goes on from there."""
    backup_id = await _restores(mock, nf, 5)
    argv = (*LISTINGS[listing], *([backup_id] if listing == "backup" else []), "-o", "jsonl")
    every = restores_printed(mock.restores(PROJECT, ADDON))

    first = await act(mock, *argv, "--per_page", "2", "--page", "1")
    cursor = first.err.removeprefix("next cursor: ").rstrip("\n")
    second = await act(mock, *argv, "--per_page", "2", "--cursor", cursor)

    assert (0, 0) == (first.code, second.code)
    assert first.err.startswith("next cursor: ")
    assert every[:2] == [json.loads(line) for line in first.out.splitlines()]
    assert every[2:4] == [json.loads(line) for line in second.out.splitlines()]
    assert second.err.startswith("next cursor: ")
    assert 2 == len(mock.requests)


async def test_restore_listing_as_a_table(mock: MockNorthflank, nf: NorthflankSession) -> None:
    backup_id = await _restores(mock, nf, 2)

    result = await act(mock, *LISTINGS["backup"], backup_id, "-o", "table")

    header, *rows = result.out.splitlines()
    assert ["ID", "STATUS", "STARTED", "COMPLETED", "BACKUP"] == header.split()
    assert [r["id"] for r in mock.restores(PROJECT, ADDON)] == [row.split()[0] for row in rows]
    assert all(row.split()[-1] == backup_id for row in rows)
