"""examples/backup_then_migrate.py: a migration that runs only once its backup completed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from examples import backup_then_migrate
from northflank_async import Backup, NorthflankSession, RetryPolicy
from northflank_async.testing import ManualClock, MockNorthflank
from tests.conftest import ADDON, PROJECT
from tests.example_support import MOCK_ADDON, run_alone

MOCK_SAYS = "NF_API_TOKEN is not set: using an in-process mock API at http://127.0.0.1:"
NAME = "before migration 42"


class Migration:
    """An injectable migration that records the backups it was given."""

    def __init__(self) -> None:
        self.backups: list[Backup] = []

    async def __call__(self, backup: Backup) -> None:
        self.backups.append(backup)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def clocked(clock: ManualClock) -> AsyncIterator[MockNorthflank]:
    """A mock with one addon on a clock that moves only while the SDK sleeps."""
    async with MockNorthflank(clock=clock) as server:
        server.add_addon(PROJECT, ADDON)
        yield server


class VirtualSleep:
    """A sleep that moves the mock's clock instead of taking time; ``hooks`` run first, once."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.hooks: list[Callable[[], None]] = []

    async def __call__(self, seconds: float) -> None:
        while self.hooks:
            self.hooks.pop(0)()
        self.clock.advance(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def sleep(clock: ManualClock) -> VirtualSleep:
    return VirtualSleep(clock)


@pytest.fixture
async def session(clocked: MockNorthflank, sleep: VirtualSleep) -> AsyncIterator[NorthflankSession]:
    """A session whose waits move the mock's clock: virtual time.

    No jitter (``random`` is 0.5): it polls at 0, 2, 5, 9.5, ... seconds of the clock.
    """
    retry = RetryPolicy(sleep=sleep, random=lambda: 0.5)
    async with NorthflankSession(clocked.token, base_url=clocked.base_url, retry=retry) as nf:
        yield nf


def _backup(mock: MockNorthflank) -> dict[str, object]:
    """The one backup of the addon, as the mock holds it now."""
    [backup] = mock.backups(PROJECT, ADDON)
    return backup


# -- run(): on virtual time -----------------------------------------------------------------


async def test_run_migrates_once_the_backup_completed(
    clocked: MockNorthflank, session: NorthflankSession, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each status change is printed; the migration runs once, given the completed backup."""
    migration = Migration()

    code = await backup_then_migrate.run(session, PROJECT, ADDON, name=NAME, migration=migration)

    backup = _backup(clocked)
    out, err = capsys.readouterr()
    assert (0, ["completed"]) == (code, [b.status for b in migration.backups])
    assert (backup["id"], NAME, "completed") == (
        migration.backups[0].id,
        backup["name"],
        backup["status"],
    )
    assert (
        [
            f"started backup {backup['id']} ({NAME!r}) of addon {ADDON}",
            f"backup {backup['id']}: scheduled",  # at 0 s
            f"backup {backup['id']}: in-progress",  # at 2 s (the lifecycle: 1 s, then 3 s)
            f"backup {backup['id']}: completed",  # at 5 s
        ],
        "",
    ) == (out.splitlines(), err)


async def test_run_default_migration_says_it_migrates(
    session: NorthflankSession, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stand-in migration prints what it does, naming the backup to restore."""
    assert 0 == await backup_then_migrate.run(session, PROJECT, ADDON)

    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("migrating... (should it go wrong, restore backup backup-")
    assert "migration done" == out[-1]


@pytest.mark.parametrize("how", ["lifecycle", "fail_backup"])
async def test_run_does_not_migrate_when_the_backup_failed(
    clocked: MockNorthflank,
    session: NorthflankSession,
    sleep: VirtualSleep,
    capsys: pytest.CaptureFixture[str],
    how: str,
) -> None:
    """A backup that ends ``failed`` means no migration, exit code 1 and a message why."""
    if how == "lifecycle":
        clocked.set_backup_lifecycle(outcome="failed")
    else:  # once it started, before the first wait
        sleep.hooks.append(lambda: clocked.fail_backup(PROJECT, ADDON, str(_backup(clocked)["id"])))
    migration = Migration()

    code = await backup_then_migrate.run(session, PROJECT, ADDON, migration=migration)

    backup_id = _backup(clocked)["id"]
    out, err = capsys.readouterr()
    assert (1, [], "failed") == (code, migration.backups, _backup(clocked)["status"])
    assert out.endswith(f"backup {backup_id}: failed\n")
    assert f"not migrating: backup {backup_id} ended failed\n" == err


async def test_run_does_not_migrate_when_the_wait_times_out(
    clocked: MockNorthflank, session: NorthflankSession, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past the timeout: no migration, exit code 1, and the message says the backup goes on."""
    clocked.set_backup_lifecycle(in_progress=3600)
    migration = Migration()

    code = await backup_then_migrate.run(
        session, PROJECT, ADDON, name=NAME, timeout=60, migration=migration
    )

    backup_id = _backup(clocked)["id"]
    assert (1, [], "in-progress") == (code, migration.backups, _backup(clocked)["status"])
    assert (
        f"not migrating: backup {backup_id} is still in-progress after 60 s; "
        "the backup goes on, only the wait stopped\n"
    ) == capsys.readouterr().err


# -- main(): the command line on real time, polling fast ------------------------------------


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's waits poll every 0.05 s instead of about 2 s, then more."""
    monkeypatch.setattr("northflank_async._wait.FIRST_POLL", 0.05)
    monkeypatch.setattr("northflank_async._wait.MAX_POLL", 0.05)


@pytest.mark.usefixtures("fast_polls")
def test_main_without_a_token_backs_up_the_built_in_mock_then_migrates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without a token: the mock's addon is backed up, the backup completes, the migration runs."""
    assert 0 == backup_then_migrate.main(["--name", NAME])

    out, err = capsys.readouterr()
    started, *states, migrating, done = out.splitlines()
    backup_id = started.split()[2]
    assert f"started backup {backup_id} ({NAME!r}) of addon {MOCK_ADDON}" == started
    assert (f"backup {backup_id}: scheduled", f"backup {backup_id}: completed") == (
        states[0],
        states[-1],
    )
    assert (migrating.startswith("migrating..."), done) == (True, "migration done")
    assert (1, True) == (len(err.splitlines()), err.startswith(MOCK_SAYS))


def test_main_timing_out_does_not_migrate_and_says_the_backup_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A --timeout shorter than the mock's backup: exit code 1, no migration, the backup goes on."""
    assert 1 == backup_then_migrate.main(["--timeout", "0.1"])

    out, err = capsys.readouterr()
    assert "migrating" not in out
    assert err.splitlines()[-1].endswith(
        "is still scheduled after 0.1 s; the backup goes on, only the wait stopped"
    )


@pytest.mark.usefixtures("fast_polls")
async def test_main_with_a_token_backs_up_the_addon_the_environment_names(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a token: NF_ADDON_ID of NF_PROJECT_ID, on the API the environment names; a failed
    backup there means exit code 1 and no migration."""
    mock.add_addon(PROJECT, ADDON)
    mock.set_backup_lifecycle(scheduled=0.05, in_progress=0.05, outcome="failed")
    monkeypatch.setenv("NF_API_TOKEN", mock.token)
    monkeypatch.setenv("NORTHFLANK_API_BASE_URL", str(mock.base_url))
    monkeypatch.setenv("NF_PROJECT_ID", PROJECT)
    monkeypatch.setenv("NF_ADDON_ID", ADDON)

    # main() runs its own event loop: give it a thread, the mock keeps this one.
    code = await asyncio.to_thread(backup_then_migrate.main, ["--name", NAME])

    [backup] = mock.backups(PROJECT, ADDON)
    out, err = capsys.readouterr()
    assert (1, NAME, "failed") == (code, backup["name"], backup["status"])
    assert "migrating" not in out
    assert f"not migrating: backup {backup['id']} ended failed\n" == err


async def test_main_with_a_token_reports_an_api_error_without_migrating(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An addon the API does not know: exit code 1, the error, and no migration."""
    monkeypatch.setenv("NF_API_TOKEN", mock.token)
    monkeypatch.setenv("NORTHFLANK_API_BASE_URL", str(mock.base_url))

    argv = ["--project", PROJECT, "--addon", "no-such-addon"]
    code = await asyncio.to_thread(backup_then_migrate.main, argv)

    out, err = capsys.readouterr()
    assert (1, "") == (code, out)
    assert err.startswith("error: 404 from ")
    assert err.endswith("; not migrating\n")


@pytest.mark.parametrize("missing", ["NF_PROJECT_ID", "NF_ADDON_ID"])
def test_main_with_a_token_needs_both_ids(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    """With a token but no project or addon: a usage error (exit code 2) before any request."""
    monkeypatch.setenv("NF_API_TOKEN", "nf-test-token")
    monkeypatch.setenv("NORTHFLANK_API_BASE_URL", "http://127.0.0.1:9")  # never reached
    monkeypatch.setenv("NF_PROJECT_ID", PROJECT)
    monkeypatch.setenv("NF_ADDON_ID", ADDON)
    monkeypatch.delenv(missing)

    with pytest.raises(SystemExit) as stopped:
        backup_then_migrate.main([])

    assert 2 == stopped.value.code
    assert capsys.readouterr().err.endswith(
        "error: NF_API_TOKEN is set, so give --project and --addon "
        "(or NF_PROJECT_ID and NF_ADDON_ID)\n"
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        pytest.param(["--timeout", "0"], "must be a finite number of seconds > 0", id="timeout-0"),
        pytest.param(["--timeout", "inf"], "must be a finite number of seconds > 0", id="inf"),
        pytest.param(["--timeout", "soon"], "invalid seconds value", id="not-a-number"),
    ],
)
def test_main_refuses_a_bad_timeout_before_any_backup(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    """A timeout that is not a finite number of seconds > 0 is a usage error (exit code 2)."""
    with pytest.raises(SystemExit) as stopped:
        backup_then_migrate.main(argv)

    assert 2 == stopped.value.code
    assert says in capsys.readouterr().err


def test_main_refuses_a_name_the_api_would_refuse(capsys: pytest.CaptureFixture[str]) -> None:
    """A --name the API would refuse: exit code 2, no backup, no migration."""
    assert 2 == backup_then_migrate.main(["--name", "x"])

    out, err = capsys.readouterr()
    assert ("", "error: name must be 3 to 39 characters long, got 1") == (
        out,
        err.splitlines()[-1],
    )


# -- copied alone, as a process -------------------------------------------------------------


def test_copied_alone_a_timeout_exits_1_without_migrating(tmp_path: Path) -> None:
    """Run alone with a --timeout shorter than its mock's backup: exit code 1, no migration."""
    result = run_alone("backup_then_migrate.py", tmp_path, "--timeout", "0.1", "--name", NAME)

    assert (1, True) == (result.returncode, result.stderr.startswith(MOCK_SAYS)), result.stderr
    started, scheduled = result.stdout.splitlines()
    backup_id = started.split()[2]
    assert (f"started backup {backup_id} ({NAME!r}) of addon {MOCK_ADDON}", "scheduled") == (
        started,
        scheduled.split()[-1],
    )
    assert (
        f"not migrating: backup {backup_id} is still scheduled after 0.1 s; "
        "the backup goes on, only the wait stopped"
    ) == result.stderr.splitlines()[-1]
