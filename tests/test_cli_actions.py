"""The commands acting on one backup: `get addon backup`, `delete backup` (its confirmation),
`abort addon backup`, `retain addon backup`, `abort addon restore`; their usage errors sent
before any request, and the command tree around `get addon backup restores`."""

from __future__ import annotations

import importlib
import io
import json
import sys
from typing import Any

import pytest

from northflank_async import Backup, NorthflankSession, converter
from northflank_async.cli import run
from northflank_async.testing import MockNorthflank
from tests.cli_support import SEED_BACKUP, Result, TtyStringIO, connect
from tests.conftest import ADDON, PROJECT

#: PyYAML, which has no type hints unless types-PyYAML is installed.
yaml: Any = importlib.import_module("yaml")

BACKUP_ID: str = SEED_BACKUP["id"]
IDS = ("--projectId", PROJECT, "--addonId", ADDON)
WHAT = f"backup {BACKUP_ID} of addon {ADDON} in project {PROJECT}"


async def act(
    mock: MockNorthflank,
    *argv: str,
    stdin: io.StringIO | None = None,
    stderr: io.StringIO | None = None,
) -> Result:
    """Run the command line against ``mock``; stdin is an empty non-terminal unless given."""
    out, err = io.StringIO(), stderr if stderr is not None else io.StringIO()
    given = stdin if stdin is not None else io.StringIO()
    code = await run([*argv, *connect(mock)], stdout=out, stderr=err, stdin=given)
    return Result(code, out.getvalue(), err.getvalue())


def as_printed(raw: dict[str, Any]) -> dict[str, Any]:
    """A backup as the CLI prints it: the converter's round trip of the API's JSON."""
    data: dict[str, Any] = converter.unstructure(converter.structure(raw, Backup))
    return data


def completed_backup(mock: MockNorthflank) -> dict[str, Any]:
    """A generated backup of the addon that is ``completed`` (it can be restored)."""
    return next(b for b in mock.generate_backups(PROJECT, ADDON, 20) if b["status"] == "completed")


# -- get addon backup ------------------------------------------------------------------------


async def test_get_addon_backup_prints_the_backup_in_one_request(mock: MockNorthflank) -> None:
    """`get addon backup` prints the backup itself as indented JSON, the API's camelCase."""
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await act(mock, "get", "addon", "backup", *IDS, "--backupId", BACKUP_ID)

    assert (0, "") == (result.code, result.err)
    assert json.dumps(as_printed(SEED_BACKUP), indent=2) + "\n" == result.out
    assert SEED_BACKUP == json.loads(result.out)
    path = f"/v1/projects/{PROJECT}/addons/{ADDON}/backups/{BACKUP_ID}"
    assert [("GET", path)] == [(r.method, r.path) for r in mock.requests]


async def test_get_addon_backup_in_other_formats(mock: MockNorthflank) -> None:
    """-o jsonl is one line, -o yaml one mapping, -o table a header and one row."""
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])
    argv = ("get", "addon", "backup", *IDS, "--backup-id", BACKUP_ID)

    jsonl = await act(mock, *argv, "-o", "jsonl")
    yml = await act(mock, *argv, "-o", "yaml")
    table = await act(mock, *argv, "-o", "table")

    assert json.dumps(as_printed(SEED_BACKUP), separators=(",", ":")) + "\n" == jsonl.out
    assert as_printed(SEED_BACKUP) == yaml.safe_load(yml.out)
    header, row = table.out.splitlines()
    assert header.split() == [
        "ID", "NAME", "STATUS", "CREATED", "COMPLETED", "SIZE", "SOURCE", "COMPRESSION"
    ]  # fmt: skip
    assert row.startswith(f"{BACKUP_ID}  {SEED_BACKUP['name']}  completed  ")


async def test_get_addon_backup_shows_the_last_restore(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Once restored, the backup carries lastRestore, as the API sends it."""
    backup = completed_backup(mock)
    await nf.restore_backup(PROJECT, ADDON, backup["id"])

    result = await act(mock, "get", "addon", "backup", *IDS, "--backupId", backup["id"])

    assert 0 == result.code
    assert "scheduled" == json.loads(result.out)["lastRestore"]["status"]


async def test_an_unknown_backup_is_an_api_error(mock: MockNorthflank) -> None:
    """A 404 is one line on stderr and exit 1."""
    mock.add_addon(PROJECT, ADDON)

    result = await act(mock, "get", "addon", "backup", *IDS, "--backupId", "gone")

    assert (1, "") == (result.code, result.out)
    assert result.err.startswith("northflank-async: error: 404 from GET ")
    assert "Backup gone not found" in result.err


async def test_get_addon_backup_requires_its_ids(mock: MockNorthflank) -> None:
    """Its ids cannot be required by argparse (its subcommand has them too): checked after."""
    result = await act(mock, "get", "addon", "backup", "--projectId", PROJECT)

    assert (2, "") == (result.code, result.out)
    assert (
        "northflank-async get addon backup: error: the following arguments are required: "
        "--addonId/--addon_id/--addon-id, --backupId/--backup_id/--backup-id\n"
    ) == result.err
    assert [] == mock.requests


async def test_options_before_the_subcommand_are_refused(mock: MockNorthflank) -> None:
    """`get addon backup --teamId T restores` would lose --teamId: a usage error instead."""
    result = await act(
        mock, "get", "addon", "backup", "--teamId", "t", "restores", *IDS, "--backupId", "b"
    )

    assert (2, "") == (result.code, result.out)
    assert (
        "northflank-async get addon backup: error: options go after the subcommand: "
        "northflank-async get addon backup restores --teamId ...\n"
    ) == result.err
    assert [] == mock.requests


async def test_help_of_get_addon_backup_shows_both_forms() -> None:
    """Its --help gives both command lines and names the subcommand."""
    out, err = io.StringIO(), io.StringIO()

    code = await run(["get", "addon", "backup", "--help"], stdout=out, stderr=err)

    ids = "--projectId ID --addonId ID --backupId ID"
    assert (0, "") == (code, err.getvalue())
    assert out.getvalue().startswith(
        f"usage: northflank-async get addon backup [options] {ids}\n"
        f"       northflank-async get addon backup restores [options] {ids}\n"
    )
    assert "    restores            List the restores of one backup.\n" in out.getvalue()


# -- delete backup ------------------------------------------------------------------------------


async def test_delete_with_force_deletes_and_says_so(mock: MockNorthflank) -> None:
    """--force deletes without asking: nothing on stdout, one line on stderr, exit 0."""
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await act(mock, "delete", "backup", *IDS, "--backupId", BACKUP_ID, "--force")

    assert (0, "", f"deleted {WHAT}\n") == (result.code, result.out, result.err)
    assert [] == mock.backups(PROJECT, ADDON)
    assert ["DELETE"] == [r.method for r in mock.requests]


async def test_delete_with_force_and_quiet_says_nothing(mock: MockNorthflank) -> None:
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await act(
        mock, "delete", "backup", *IDS, "--backupId", BACKUP_ID, "--force", "--quiet"
    )

    assert (0, "", "") == (result.code, result.out, result.err)
    assert [] == mock.backups(PROJECT, ADDON)


async def test_delete_without_force_off_a_terminal_is_refused(mock: MockNorthflank) -> None:
    """With stdin no terminal (a script, a pipe), no --force is a usage error before any request."""
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await act(mock, "delete", "backup", *IDS, "--backupId", BACKUP_ID)

    assert (2, "") == (result.code, result.out)
    assert (
        f"northflank-async delete backup: error: not deleting {WHAT} without --force: "
        "stdin is not a terminal, so no one can confirm\n"
    ) == result.err
    assert [] == mock.requests
    assert [SEED_BACKUP] == mock.backups(PROJECT, ADDON)


@pytest.mark.parametrize("answer", ["y\n", "yes\n", " YES \n", "Y"])
async def test_delete_confirmed_on_a_terminal(mock: MockNorthflank, answer: str) -> None:
    """On a terminal the question goes to stderr; y or yes deletes."""
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await act(
        mock, "delete", "backup", *IDS, "--backupId", BACKUP_ID, stdin=TtyStringIO(answer)
    )

    question = f"Delete {WHAT}? [y/N] " + ("" if answer.endswith("\n") else "\n")
    assert (0, "", f"{question}deleted {WHAT}\n") == (result.code, result.out, result.err)
    assert [] == mock.backups(PROJECT, ADDON)


@pytest.mark.parametrize("answer", ["n\n", "\n", "", "yep\n", "no\n"])
async def test_delete_declined_on_a_terminal(mock: MockNorthflank, answer: str) -> None:
    """Anything but y or yes (an empty line, end of input) cancels: exit 1, no request."""
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await act(
        mock, "delete", "backup", *IDS, "--backupId", BACKUP_ID, "--quiet",
        stdin=TtyStringIO(answer),
    )  # fmt: skip

    question = f"Delete {WHAT}? [y/N] " + ("" if answer else "\n")
    cancelled = f"northflank-async: cancelled: {WHAT} was not deleted\n"
    assert (1, "", question + cancelled) == (result.code, result.out, result.err)
    assert [] == mock.requests
    assert [SEED_BACKUP] == mock.backups(PROJECT, ADDON)


async def test_delete_of_a_running_backup_is_the_apis_refusal(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """The API refuses to delete a backup under way: its 409 on one line, exit 1."""
    mock.add_addon(PROJECT, ADDON)
    backup = await nf.create_backup(PROJECT, ADDON)

    result = await act(mock, "delete", "backup", *IDS, "--backupId", backup.id, "--force")

    assert (1, "") == (result.code, result.out)
    assert result.err.startswith("northflank-async: error: 409 from DELETE ")


# -- abort, retain ------------------------------------------------------------------------------


async def test_abort_addon_backup_aborts_it(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """The backup is aborting in the mock; nothing on stdout, a line on stderr."""
    mock.add_addon(PROJECT, ADDON)
    backup = await nf.create_backup(PROJECT, ADDON)

    result = await act(mock, "abort", "addon", "backup", *IDS, "--backupId", backup.id)

    what = f"backup {backup.id} of addon {ADDON} in project {PROJECT}"
    assert (0, "", f"aborting {what}\n") == (result.code, result.out, result.err)
    assert "aborting" == mock.backups(PROJECT, ADDON)[-1]["status"]
    assert ("POST", f"/v1/projects/{PROJECT}/addons/{ADDON}/backups/{backup.id}/abort") == (
        mock.requests[-1].method,
        mock.requests[-1].path,
    )


async def test_abort_of_a_completed_backup_is_an_api_error(mock: MockNorthflank) -> None:
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await act(mock, "abort", "addon", "backup", *IDS, "--backupId", BACKUP_ID)

    assert (1, "") == (result.code, result.out)
    assert "409 from POST " in result.err
    assert "only a scheduled or in-progress one can be aborted" in result.err


@pytest.mark.parametrize("quiet", [False, True])
async def test_retain_addon_backup_retains_it(mock: MockNorthflank, quiet: bool) -> None:
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await act(
        mock, "retain", "addon", "backup", *IDS, "--backupId", BACKUP_ID,
        *(["--quiet"] if quiet else []),
    )  # fmt: skip

    said = "" if quiet else f"retained {WHAT}: it is kept past its expiry\n"
    assert (0, "", said) == (result.code, result.out, result.err)
    assert mock.is_retained(PROJECT, ADDON, BACKUP_ID)


async def test_abort_addon_restore_aborts_it(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """The restore is aborting in the mock; the request names it in its body."""
    backup = completed_backup(mock)
    restore = await nf.restore_backup(PROJECT, ADDON, backup["id"])

    result = await act(
        mock, "abort", "addon", "restore", *IDS, "--backupId", backup["id"],
        "--restoreId", restore.id,
    )  # fmt: skip

    what = f"restore {restore.id} of backup {backup['id']} of addon {ADDON} in project {PROJECT}"
    assert (0, "", f"aborting {what}\n") == (result.code, result.out, result.err)
    assert ["aborting"] == [r["status"] for r in mock.restores(PROJECT, ADDON)]
    assert {"restoreId": restore.id} == mock.requests[-1].body


# -- usage errors: exit 2, no request ----------------------------------------------------------

BACKUP_ADDON = ("backup", "addon", *IDS)
RESTORE = ("restore", "addon", "backup", *IDS, "--backupId", BACKUP_ID)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            (*BACKUP_ADDON, "--backupType", "full"),
            "northflank-async backup addon: error: argument --backupType/--backup_type/"
            "--backup-type: invalid choice: 'full' (choose from 'snapshot', 'dump')",
        ),
        (
            (*BACKUP_ADDON, "--compressionType", "gz"),
            "northflank-async backup addon: error: --compressionType is for dump backups "
            "only: add --backupType dump",
        ),
        (
            (*BACKUP_ADDON, "--backupType", "snapshot", "--customDestinationId", "d-1"),
            "northflank-async backup addon: error: --customDestinationId is for dump backups "
            "only: add --backupType dump",
        ),
        (
            (*BACKUP_ADDON, "--name", "x"),
            "northflank-async: error: name must be 3 to 39 characters long, got 1",
        ),
        (
            (*BACKUP_ADDON, "--timeout", "5"),
            "northflank-async backup addon: error: --timeout is for --wait: add --wait or "
            "leave --timeout out",
        ),
        (
            (*BACKUP_ADDON, "--wait", "--timeout", "0"),
            "northflank-async backup addon: error: argument --timeout: expected seconds > 0, "
            "got '0'",
        ),
        (
            (*BACKUP_ADDON, "--wait", "--timeout", "soon"),
            "northflank-async backup addon: error: argument --timeout: expected seconds, "
            "got 'soon'",
        ),
        (
            (*RESTORE, "--wait", "--timeout", "inf"),
            "northflank-async restore addon backup: error: argument --timeout: expected "
            "seconds > 0, got 'inf'",
        ),
        (
            (*RESTORE, "--sourceProjectId", "other"),
            "northflank-async: error: give source_project_id and source_addon_id together, "
            "or neither",
        ),
        (
            ("abort", "addon", "restore", *IDS, "--backupId", BACKUP_ID),
            "northflank-async abort addon restore: error: the following arguments are "
            "required: --restoreId/--restore_id/--restore-id",
        ),
    ],
    ids=[
        "bad-type",
        "compression-on-snapshot",
        "destination-on-snapshot",
        "short-name",
        "timeout-without-wait",
        "zero-timeout",
        "timeout-no-number",
        "endless-timeout",
        "half-a-source",
        "no-restore-id",
    ],
)
async def test_usage_errors_exit_2_before_any_request(
    mock: MockNorthflank, argv: tuple[str, ...], message: str
) -> None:
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await act(mock, *argv)

    assert (2, "", message + "\n") == (result.code, result.out, result.err)
    assert [] == mock.requests


async def test_yaml_without_pyyaml_fails_before_the_backup_starts(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-o yaml is checked before the write: no backup is started only to fail printing it."""
    monkeypatch.setitem(sys.modules, "yaml", None)
    mock.add_addon(PROJECT, ADDON)

    result = await act(mock, *BACKUP_ADDON, "-o", "yaml")

    assert (2, "") == (result.code, result.out)
    assert "-o yaml needs PyYAML" in result.err
    assert [] == mock.requests
