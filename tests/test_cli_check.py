"""``check backups``: exit codes, the four output formats, the Prometheus file, durations, the demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import io
import json
import os
import re
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from northflank_async import Backup, BackupHealth, converter
from northflank_async.cli import run
from northflank_async.cli._check import parse_duration
from northflank_async.cli._prometheus import CheckRun, escape_label, exposition
from northflank_async.testing import MockNorthflank, example_backup
from tests.cli_support import cli, connect

CHECK = ("check", "backups")
H = timedelta(hours=1)


def _backup(status: str, ago: timedelta, size: int = 1000) -> dict[str, Any]:
    """A backup created ``ago`` before the current time, final a minute later."""
    raw = example_backup()
    created = datetime.now(UTC) - ago
    raw.update(
        id=f"backup-{status}-{ago.total_seconds():.0f}",
        status=status,
        createdAt=created.isoformat().replace("+00:00", "Z"),
        completedAt=(created + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
    )
    raw["config"]["size"] = str(size)
    return raw


def _healthy_team(mock: MockNorthflank) -> None:
    """Project ``shop``: addons ``db`` and ``cache``, fresh completed backups only."""
    for addon in ("db", "cache"):
        mock.add_addon("shop", addon)
        mock.add_backups("shop", addon, [_backup("completed", 30 * H), _backup("completed", H)])


def _words(line: str) -> list[str]:
    return line.split()


def _families(text: str) -> dict[str, dict[tuple[str, str] | None, float]]:
    """The exposition parsed by prometheus_client: each family's values by (project, addon)."""
    found: dict[str, dict[tuple[str, str] | None, float]] = {}
    for family in text_string_to_metric_families(text):
        assert "gauge" == family.type
        values = found.setdefault(family.name, {})
        for sample in family.samples:
            labels = sample.labels
            key = (labels["project"], labels["addon"]) if labels else None
            values[key] = sample.value
    return found


# -- exit codes and the table ----------------------------------------------------------------------


async def test_every_addon_healthy_exits_0(mock: MockNorthflank) -> None:
    """All healthy: exit 0, the table on stdout, the summary on stderr."""
    _healthy_team(mock)

    result = await cli(*CHECK, *connect(mock))

    assert (0, "0 of 2 addons unhealthy (max age 26 h, window 7 days)\n") == (
        result.code,
        result.err,
    )
    lines = result.out.splitlines()
    assert (
        "STATUS PROJECT ADDON LAST COMPLETED FAILED (7 days) IN PROGRESS TOTAL SIZE PROBLEMS"
        == " ".join(_words(lines[0]))
    )
    assert [
        ["healthy", "shop", "cache", "59", "min", "ago", "0", "0", "2", "2.0", "KiB", "-"],
        ["healthy", "shop", "db", "59", "min", "ago", "0", "0", "2", "2.0", "KiB", "-"],
    ] == [_words(line) for line in lines[1:]]


async def test_an_unhealthy_addon_exits_3_and_comes_first(mock: MockNorthflank) -> None:
    """Any unhealthy addon: exit 3; unhealthy rows first, with their problems."""
    _healthy_team(mock)
    mock.add_addon("shop", "search")
    mock.add_backups("shop", "search", [_backup("completed", 31 * H + 30 * timedelta(seconds=1))])

    result = await cli(*CHECK, *connect(mock), "--projectId", "shop")

    assert (3, "1 of 3 addons unhealthy (max age 26 h, window 7 days)\n") == (
        result.code,
        result.err,
    )
    rows = result.out.splitlines()[1:]
    assert ["UNHEALTHY", "shop", "search"] == _words(rows[0])[:3]
    assert rows[0].endswith("no completed backup for 30 h 59 min (limit 26 h)")
    assert [["healthy", "shop", "cache"], ["healthy", "shop", "db"]] == [
        _words(row)[:3] for row in rows[1:]
    ]


async def test_quiet_keeps_only_the_unhealthy_summary(mock: MockNorthflank) -> None:
    """--quiet drops the summary of a healthy run, never the one that explains exit 3."""
    _healthy_team(mock)
    healthy = await cli(*CHECK, *connect(mock), "--quiet")
    mock.add_addon("shop", "empty")
    unhealthy = await cli(*CHECK, *connect(mock), "--quiet")

    assert (0, "") == (healthy.code, healthy.err)
    assert (3, "1 of 3 addons unhealthy (max age 26 h, window 7 days)\n") == (
        unhealthy.code,
        unhealthy.err,
    )


async def test_an_api_error_exits_1(mock: MockNorthflank) -> None:
    """A token the API refuses: exit 1, the error on stderr, nothing on stdout."""
    _healthy_team(mock)

    result = await cli(*CHECK, "--base-url", str(mock.base_url), "--token", "wrong-token")

    assert (1, "") == (result.code, result.out)
    assert result.err.startswith("northflank-async: error: 401 from GET ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("--max-age", "26"),
            "argument --max-age/--maxAge/--max_age: "
            "expected a duration such as 45m, 26h, 7d or 1.5h, got '26'",
        ),
        (("--window", "0d"), "argument --window: expected a duration above 0, got '0d'"),
        (("--addonId", "db"), "--addonId needs --projectId: the project the addons belong to"),
        (("--concurrency", "0"), "argument --concurrency: expected an integer >= 1, got '0'"),
        (
            ("-o", "yaml"),
            "argument -o/--output: invalid choice: 'yaml' "
            "(choose from 'table', 'json', 'jsonl', 'prometheus')",
        ),
    ],
)
async def test_usage_errors_exit_2_before_any_request(
    mock: MockNorthflank, argv: tuple[str, ...], message: str
) -> None:
    """A bad option is a usage error: exit 2, one line on stderr, no request sent."""
    result = await cli(*CHECK, *connect(mock), *argv)

    assert (2, "") == (result.code, result.out)
    assert message in result.err, result.err
    assert [] == mock.requests


async def test_the_addons_of_one_project_by_id(mock: MockNorthflank) -> None:
    """--projectId with several --addonId: only those addons are walked."""
    _healthy_team(mock)
    mock.add_addon("shop", "search")

    result = await cli(
        *CHECK, *connect(mock), "--projectId", "shop", "--addonId", "db", "--addonId", "search"
    )

    assert 3 == result.code
    assert {"/v1/projects/shop/addons/db/backups", "/v1/projects/shop/addons/search/backups"} == {
        request.raw_path for request in mock.requests
    }


async def test_a_project_without_addons(mock: MockNorthflank) -> None:
    """Nothing to check is no failure: exit 0, and the summary says so."""
    mock.add_project("empty")

    result = await cli(*CHECK, *connect(mock), "--projectId", "empty", "--concurrency", "1")

    assert (0, "no addons to check\n") == (result.code, result.err)
    assert 1 == len(result.out.splitlines())  # the table's header alone


# -- json and jsonl --------------------------------------------------------------------------------


async def test_json_is_one_array_unhealthy_first(mock: MockNorthflank) -> None:
    """-o json: one array of every verdict, camelCase, with the last completed backup whole."""
    _healthy_team(mock)
    mock.add_addon("shop", "empty")

    result = await cli(*CHECK, *connect(mock), "-o", "json")

    data = json.loads(result.out)
    assert 3 == result.code
    assert [("empty", False), ("cache", True), ("db", True)] == [
        (item["addonId"], item["healthy"]) for item in data
    ]
    assert {
        "projectId": "shop",
        "addonId": "empty",
        "healthy": False,
        "problems": ["no backups at all"],
        "lastCompleted": None,
        "lastCompletedAgeSeconds": None,
        "failedInWindow": 0,
        "inProgress": 0,
        "total": 0,
        "completedBytes": 0,
        "error": None,
    } == data[0]
    stored = mock.backups("shop", "db")[-1]
    expected = converter.unstructure(converter.structure(stored, Backup))
    assert expected == data[2]["lastCompleted"]
    assert 3540 <= data[2]["lastCompletedAgeSeconds"] < 3600


async def test_jsonl_is_one_line_per_addon(mock: MockNorthflank) -> None:
    """-o jsonl: one compact object per addon; an unreadable addon's counts are null."""
    _healthy_team(mock)
    mock.faults.fail_path("/addons/cache/backups", 403)

    result = await cli(*CHECK, *connect(mock), "-o", "jsonl")

    items = {item["addonId"]: item for item in map(json.loads, result.out.splitlines())}
    assert 3 == result.code
    assert {"db", "cache"} == set(items)
    assert (None, None, "403 Injected fault: HTTP 403") == (
        items["cache"]["total"],
        items["cache"]["completedBytes"],
        items["cache"]["error"],
    )
    assert ["cannot read its backups: 403 Injected fault: HTTP 403"] == items["cache"]["problems"]
    assert (True, 2) == (items["db"]["healthy"], items["db"]["total"])


# -- prometheus ------------------------------------------------------------------------------------


async def test_prometheus_values_match_the_data(mock: MockNorthflank) -> None:
    """-o prometheus parses with prometheus_client, and every value is the data's."""
    kinds = mock.generate_realistic_team(projects=2, addons_per_project=4)

    result = await cli(*CHECK, *connect(mock), "-o", "prometheus", "--window", "36h")

    families = _families(result.out)
    assert 3 == result.code
    run_values = {name: values[None] for name, values in families.items() if None in values}
    checked_at = run_values.pop("northflank_backup_check_timestamp_seconds")
    duration = run_values.pop("northflank_backup_check_duration_seconds")
    assert {
        "northflank_backup_check_success": 1.0,
        "northflank_backup_check_max_age_seconds": 26 * 3600.0,
        "northflank_backup_check_window_seconds": 36 * 3600.0,
    } == run_values
    assert duration >= 0
    assert abs(datetime.now(UTC).timestamp() - checked_at) < 60
    for key, kind in kinds.items():
        raw = mock.backups(*key)
        healthy = families["northflank_backup_healthy"][key]
        assert (kind == "fresh") is (healthy == 1.0), (key, kind)
        if kind == "unreadable":
            # Only the verdict: its counts are unknown, not zero.
            assert [] == [
                name
                for name, values in families.items()
                if key in values and name != "northflank_backup_healthy"
            ]
            continue
        completed = [b for b in raw if b["status"] == "completed"]
        assert len(raw) == families["northflank_backups"][key]
        assert (
            sum(int(b["config"]["size"]) for b in completed)
            == families["northflank_backup_completed_bytes"][key]
        )
        assert (
            sum(b["status"] == "in-progress" for b in raw)
            == families["northflank_backup_in_progress"][key]
        )
        window_start = checked_at - 36 * 3600
        failures = [
            b
            for b in raw
            if b["status"] == "failed"
            and datetime.fromisoformat(b["completedAt"]).timestamp() >= window_start
        ]
        assert len(failures) == families["northflank_backup_failed_in_window"][key]
        if not completed:
            assert key not in families["northflank_backup_last_completed_timestamp_seconds"]
            continue
        last = max(completed, key=lambda b: b["completedAt"])
        done = datetime.fromisoformat(last["completedAt"]).timestamp()
        assert done == families["northflank_backup_last_completed_timestamp_seconds"][key]
        assert (
            int(last["config"]["size"])
            == families["northflank_backup_last_completed_size_bytes"][key]
        )
        age = families["northflank_backup_last_completed_age_seconds"][key]
        assert abs(checked_at - done - age) < 1e-3


def test_label_values_are_escaped() -> None:
    """Backslashes, quotes and newlines in ids survive the exposition and its parser."""
    odd = 'we\\ird "project"\nname'
    health = BackupHealth(project_id=odd, addon_id="a", healthy=False, problems=("x",))
    run_ = CheckRun(True, 0.25, datetime(2025, 1, 1, tzinfo=UTC), 26 * H, timedelta(days=7))

    families = _families(exposition([health], run_))

    assert 'we\\\\ird \\"project\\"\\nname' == escape_label(odd)
    assert {(odd, "a"): 0.0} == families["northflank_backup_healthy"]
    assert {(odd, "a"): 0.0} == families["northflank_backups"]
    assert "northflank_backup_last_completed_age_seconds" not in families
    assert {None: 1735689600.0} == families["northflank_backup_check_timestamp_seconds"]
    assert {None: 0.25} == families["northflank_backup_check_duration_seconds"]


def test_every_family_has_help_and_type_and_no_total() -> None:
    """Each gauge is announced by HELP and TYPE lines; no name ends in ``_total``."""
    health = BackupHealth(project_id="p", addon_id="a", healthy=True)
    text = exposition([health], CheckRun(True, 1, datetime.now(UTC), H, H))

    names = {line.split()[0] for line in text.splitlines() if not line.startswith("#")}
    names = {name.split("{")[0] for name in names}
    for name in names:
        assert f"# HELP {name} " in text
        assert f"# TYPE {name} gauge\n" in text
        assert name.startswith("northflank_")
        assert not name.endswith("_total")


# -- --output-file -----------------------------------------------------------------------------------


async def test_output_file_is_written_whole(mock: MockNorthflank, tmp_path: Path) -> None:
    """--output-file replaces the file whole (mode 0644, no temporary file left); stdout stays empty."""
    _healthy_team(mock)
    target = tmp_path / "northflank_backups.prom"
    target.write_text("old contents\n")

    result = await cli(*CHECK, *connect(mock), "-o", "prometheus", "--output-file", str(target))

    assert (0, "", "0 of 2 addons unhealthy (max age 26 h, window 7 days)\n") == (
        result.code,
        result.out,
        result.err,
    )
    assert ["northflank_backups.prom"] == os.listdir(tmp_path)
    assert 0o644 == stat.S_IMODE(target.stat().st_mode)
    families = _families(target.read_text())
    assert {("shop", "db"): 1.0, ("shop", "cache"): 1.0} == families["northflank_backup_healthy"]


@pytest.mark.parametrize("output", ["table", "json", "jsonl"])
async def test_output_file_takes_every_format(
    mock: MockNorthflank, tmp_path: Path, output: str
) -> None:
    """The other formats go to the file just as they would go to stdout."""
    _healthy_team(mock)
    target = tmp_path / "health.out"
    printed = await cli(*CHECK, *connect(mock), "-o", output)

    result = await cli(*CHECK, *connect(mock), "-o", output, "--output-file", str(target))

    assert (0, "") == (result.code, result.out)
    shown = target.read_text()
    if output == "table":  # the ages moved on between the runs
        assert [_words(line)[:3] for line in printed.out.splitlines()] == [
            _words(line)[:3] for line in shown.splitlines()
        ]
    else:
        strip = re.compile(r'"lastCompletedAgeSeconds": ?[\d.]+')
        lines = sorted(strip.sub("", line) for line in shown.splitlines())
        assert sorted(strip.sub("", line) for line in printed.out.splitlines()) == lines


async def test_a_failed_run_still_writes_the_prometheus_file(
    mock: MockNorthflank, tmp_path: Path
) -> None:
    """An API error with -o prometheus: the file says success 0 (and the duration), exit 1."""
    _healthy_team(mock)
    target = tmp_path / "northflank_backups.prom"
    target.write_text("northflank_backup_check_success 1\n")

    result = await cli(
        *CHECK,
        "--base-url",
        str(mock.base_url),
        "--token",
        "wrong-token",
        "-o",
        "prometheus",
        "--output-file",
        str(target),
    )

    assert (1, "") == (result.code, result.out)
    assert result.err.startswith("northflank-async: error: 401 from GET ")
    families = _families(target.read_text())
    assert {None: 0.0} == families["northflank_backup_check_success"]
    assert families["northflank_backup_check_duration_seconds"][None] >= 0
    assert "northflank_backup_healthy" not in families
    assert ["northflank_backups.prom"] == os.listdir(tmp_path)


async def test_a_failed_run_on_stdout_says_success_0(mock: MockNorthflank) -> None:
    """Without --output-file the failed run's exposition goes to stdout."""
    result = await cli(
        *CHECK, "--base-url", str(mock.base_url), "--token", "wrong", "-o", "prometheus"
    )

    assert 1 == result.code
    assert {None: 0.0} == _families(result.out)["northflank_backup_check_success"]


async def test_a_failed_run_leaves_other_files_alone(mock: MockNorthflank, tmp_path: Path) -> None:
    """An API error with -o json: the file keeps its old contents, no temporary file is left."""
    target = tmp_path / "health.json"
    target.write_text("[]\n")

    result = await cli(
        *CHECK,
        "--base-url",
        str(mock.base_url),
        "--token",
        "wrong",
        "-o",
        "json",
        "--output-file",
        str(target),
    )

    assert 1 == result.code
    assert ("[]\n", ["health.json"]) == (target.read_text(), os.listdir(tmp_path))


async def test_a_write_that_fails_leaves_the_file_alone(
    mock: MockNorthflank, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk at the end: exit 1, the old file as it was, no temporary file left."""
    _healthy_team(mock)
    target = tmp_path / "northflank_backups.prom"
    target.write_text("old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = await cli(*CHECK, *connect(mock), "-o", "prometheus", "--output-file", str(target))

    assert (1, "") == (result.code, result.out)
    assert (
        f"northflank-async: error: --output-file {target}: cannot write there: "
        f"{os.strerror(errno.ENOSPC)}\n"
    ) == result.err
    assert ("old\n", ["northflank_backups.prom"]) == (target.read_text(), os.listdir(tmp_path))


@pytest.mark.parametrize("where", ["missing/health.prom", "."])
async def test_an_output_file_that_cannot_be_written_is_a_usage_error(
    mock: MockNorthflank, tmp_path: Path, where: str
) -> None:
    """A missing directory, or a directory as the file: exit 2 before any request."""
    path = tmp_path / where

    result = await cli(*CHECK, *connect(mock), "--output-file", str(path))

    assert (2, "") == (result.code, result.out)
    assert result.err.startswith(f"northflank-async: error: --output-file {path}")
    assert [] == mock.requests


# -- durations ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("30s", timedelta(seconds=30)),
        ("45m", timedelta(minutes=45)),
        ("26h", timedelta(hours=26)),
        ("1.5h", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
        ("0.5d", timedelta(hours=12)),
    ],
)
def test_durations(text: str, span: timedelta) -> None:
    """A number and one unit of s, m, h or d."""
    assert span == parse_duration(text)


@pytest.mark.parametrize(
    "text", ["", "26", "h", "1.5", "-1h", "+1h", "1 h", "1H", ".5h", "1.h", "1e3h", "1w", "1h30m"]
)
def test_bad_durations(text: str) -> None:
    """Anything but a number and one unit is refused, naming the value and the form."""
    with pytest.raises(argparse.ArgumentTypeError, match="expected a duration such as 45m, 26h"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "message"), [("0h", "above 0"), ("0.0s", "above 0"), ("9" * 20 + "d", "too long")]
)
def test_durations_out_of_range(text: str, message: str) -> None:
    """Zero is no limit, and a duration past what timedelta holds is refused."""
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_duration(text)


# -- the demo and mock serve ----------------------------------------------------------------------


async def test_the_demo_ends_with_the_checks_table() -> None:
    """demo ends with the check's table over a realistic team, unhealthy addons first; exit 0."""
    result = await cli("demo", "--backups", "5", "--latency", "0")

    blocks = result.out.split("\n\n")
    table = blocks[-1].splitlines()
    statuses = [_words(line)[0] for line in table[1:]]
    assert 0 == result.code
    assert "STATUS PROJECT ADDON LAST COMPLETED" == " ".join(_words(table[0])[:5])
    assert 12 == len(statuses)
    assert statuses == sorted(statuses, key=lambda status: status != "UNHEALTHY")
    assert {"healthy", "UNHEALTHY"} == set(statuses)
    assert "unhealthy on purpose" in result.err


@contextlib.asynccontextmanager
async def _serving_realistic() -> AsyncIterator[tuple[str, str]]:
    """`mock serve --realistic --port 0` as a task; yields its base URL and the banner."""
    printed = asyncio.Event()

    class Announcing(io.StringIO):
        def flush(self) -> None:
            printed.set()

    out = Announcing()
    task = asyncio.create_task(
        run(["mock", "serve", "--port", "0", "--realistic"], stdout=out, stderr=io.StringIO())
    )
    try:
        await asyncio.wait_for(printed.wait(), 10)
        match = re.search(r"export NORTHFLANK_API_BASE_URL=(\S+) ", out.getvalue())
        assert match is not None
        yield match.group(1), out.getvalue()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_mock_serve_offers_the_realistic_team() -> None:
    """mock serve --realistic serves the mixed team, and says how to check it."""
    async with _serving_realistic() as (url, banner):
        result = await cli(*CHECK, "--base-url", url, "--token", "nf-test-token", "-o", "jsonl")

    assert "data: a realistic team: projects storefront, billing and analytics, 12 addons" in banner
    assert "  northflank-async check backups\n" in banner
    assert 3 == result.code
    assert 12 == len(result.out.splitlines())
