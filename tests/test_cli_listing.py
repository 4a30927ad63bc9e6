"""The listing commands: ``get addon backups``, ``get project backups``, ``list projects``
and ``list addons``: every page by default, one page and its cursor with --page or
--cursor, --max-items, --skip-errors, the option spellings, the routes."""

from __future__ import annotations

import io
import json
import re

import pytest

from northflank_async import NorthflankSession
from northflank_async.testing import MockNorthflank
from tests.cli_support import (
    BACKUPS_ARGS,
    SEED_BACKUP,
    TtyStringIO,
    api_json,
    cli,
    connect,
)
from tests.conftest import ADDON, PROJECT

# -- one page, the seed's shape -------------------------------------------------------------


async def test_one_page_prints_the_seed_cli_shape(mock: MockNorthflank) -> None:
    """A listing of one page is one request, printed as the seed's indented {"backups": [...]}."""
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await cli(*BACKUPS_ARGS, *connect(mock))

    assert (0, "") == (result.code, result.err)
    assert json.dumps({"backups": api_json([SEED_BACKUP])}, indent=2) + "\n" == result.out
    assert {"backups": [SEED_BACKUP]} == json.loads(result.out)
    assert 1 == len(mock.requests)


async def test_one_page_names_the_next_cursor_on_stderr(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """--page prints that page, and on stderr the API's cursor for the next, in one request."""
    raw = mock.generate_backups(PROJECT, ADDON, 30)
    cursor = (await nf.get_backup_page(PROJECT, ADDON, per_page=10, page=1)).pagination.cursor

    result = await cli(*BACKUPS_ARGS, "--per_page", "10", "--page", "1", *connect(mock))

    assert (0, f"next cursor: {cursor}\n") == (result.code, result.err)
    assert {"backups": api_json(raw[:10])} == json.loads(result.out)
    assert [{"per_page": "10", "page": "1"}] * 2 == [r.query for r in mock.requests]


@pytest.mark.parametrize(
    "flags",
    [
        ("--projectId", "--addonId", "--per_page"),
        ("--project-id", "--addon-id", "--per-page"),
        ("--project_id", "--addon_id", "--perPage"),
    ],
)
async def test_camel_snake_and_kebab_spellings_are_one_option(
    mock: MockNorthflank, flags: tuple[str, str, str]
) -> None:
    """--projectId, --project-id and --project_id (and their kin) mean the same thing."""
    raw = mock.generate_backups(PROJECT, ADDON, 5)
    project, addon, per_page = flags

    result = await cli(
        "get", "addon", "backups", project, PROJECT, addon, ADDON, per_page, "3", "--page", "2",
        *connect(mock),
    )  # fmt: skip

    assert 0 == result.code
    assert {"backups": api_json(raw[3:])} == json.loads(result.out)


async def test_cursor_hand_off_covers_every_backup_exactly_once(mock: MockNorthflank) -> None:
    """From --page 1, feeding each printed cursor to the next invocation walks every backup once."""
    raw = mock.generate_backups(PROJECT, ADDON, 95)
    seen: list[str] = []
    cursor = ["--page", "1"]
    invocations = 0
    while True:
        result = await cli(*BACKUPS_ARGS, "--per_page", "20", *cursor, *connect(mock))
        invocations += 1
        assert 0 == result.code
        seen += [b["id"] for b in json.loads(result.out)["backups"]]
        if not result.err:
            break
        cursor = ["--cursor", result.err.removeprefix("next cursor: ").rstrip("\n")]

    assert [b["id"] for b in raw] == seen
    assert 5 == invocations


async def test_page_starts_at_that_page_number(mock: MockNorthflank) -> None:
    """--page N asks the API for page N."""
    raw = mock.generate_backups(PROJECT, ADDON, 30)

    result = await cli(*BACKUPS_ARGS, "--per_page", "10", "--page", "3", *connect(mock))

    assert (0, "") == (result.code, result.err)
    assert {"backups": api_json(raw[20:])} == json.loads(result.out)


async def test_environment_variables_give_token_and_base_url(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NF_API_TOKEN and NORTHFLANK_API_BASE_URL are enough, as for the SDK."""
    raw = mock.generate_backups(PROJECT, ADDON, 2)
    monkeypatch.setenv("NF_API_TOKEN", mock.token)
    monkeypatch.setenv("NORTHFLANK_API_BASE_URL", str(mock.base_url))

    result = await cli(*BACKUPS_ARGS)

    assert (0, {"backups": api_json(raw)}) == (result.code, json.loads(result.out))


# -- every page ------------------------------------------------------------------------------------


async def test_all_jsonl_prints_one_compact_backup_per_line(mock: MockNorthflank) -> None:
    """--all -o jsonl prints every backup as one compact JSON line, in API order."""
    raw = mock.generate_backups(PROJECT, ADDON, 250)

    result = await cli(*BACKUPS_ARGS, "--all", "-o", "jsonl", *connect(mock))

    expected = [json.dumps(b, separators=(",", ":")) for b in api_json(raw)]
    assert (0, "") == (result.code, result.err)
    assert expected == result.out.splitlines()
    assert 3 == len(mock.requests)


async def test_all_jsonl_flushes_each_page_as_it_arrives(mock: MockNorthflank) -> None:
    """With --all -o jsonl, each page is on stdout (flushed) before the next one is asked for."""
    mock.generate_backups(PROJECT, ADDON, 250)
    lines_at_flush: list[int] = []

    class Recording(io.StringIO):
        def flush(self) -> None:
            lines_at_flush.append(self.getvalue().count("\n"))

    cli_args = (*BACKUPS_ARGS, "--all", "-o", "jsonl", *connect(mock))
    result = await cli(*cli_args, stdout=Recording())

    assert 0 == result.code
    assert [100, 200, 250, 250] == lines_at_flush


async def test_every_page_json_is_one_document(mock: MockNorthflank) -> None:
    """Every page -o json is one {"backups": [...]} document, formatted as json.dumps would."""
    raw = mock.generate_backups(PROJECT, ADDON, 230)

    result = await cli(*BACKUPS_ARGS, "--per-page", "100", *connect(mock))

    assert (0, "") == (result.code, result.err)
    assert json.dumps({"backups": api_json(raw)}, indent=2) + "\n" == result.out


async def test_max_items_stops_the_walk(mock: MockNorthflank) -> None:
    """--max-items N prints exactly the first N backups (no --all needed)."""
    raw = mock.generate_backups(PROJECT, ADDON, 200)

    result = await cli(
        *BACKUPS_ARGS, "--max_items", "130", "--per_page", "50", "-o", "jsonl", *connect(mock),
    )  # fmt: skip

    assert 0 == result.code
    assert [b["id"] for b in raw[:130]] == [
        json.loads(line)["id"] for line in result.out.splitlines()
    ]
    assert 3 == len(mock.requests)


async def test_max_items_zero_makes_no_request(mock: MockNorthflank) -> None:
    """--max-items 0 prints an empty document without asking the API anything."""
    mock.generate_backups(PROJECT, ADDON, 10)

    result = await cli(*BACKUPS_ARGS, "--max-items", "0", *connect(mock))

    assert (0, '{\n  "backups": []\n}\n', "") == (result.code, result.out, result.err)
    assert [] == mock.requests


# -- projects and addons ------------------------------------------------------------------------


async def test_list_projects_json_and_table(mock: MockNorthflank) -> None:
    """`list projects` prints the API's project JSON, or a table."""
    mock.add_project("alpha", name="Alpha", description="First")
    mock.add_project("beta", name="Beta")

    as_json = await cli("list", "projects", *connect(mock))
    as_table = await cli("list", "projects", "-o", "table", *connect(mock))

    assert {
        "projects": [
            {"id": "alpha", "name": "Alpha", "description": "First"},
            {"id": "beta", "name": "Beta"},
        ]
    } == json.loads(as_json.out)
    assert "ID     NAME   DESCRIPTION\nalpha  Alpha  First\nbeta   Beta   -\n" == as_table.out


async def test_list_projects_with_team_uses_the_team_route(mock: MockNorthflank) -> None:
    """--teamId sends the request to /v1/teams/{teamId}/projects."""
    mock.add_project("alpha")

    result = await cli("list", "projects", "--team-id", mock.team_id, *connect(mock))

    assert 0 == result.code
    assert [f"/v1/teams/{mock.team_id}/projects"] == [r.path for r in mock.requests]


async def test_list_addons_every_page(mock: MockNorthflank) -> None:
    """`list addons --all` walks every page of a project's addons."""
    for n in range(5):
        mock.add_addon(PROJECT, f"db-{n}", addon_type="redis", tags=["a", "b"] if n == 0 else ())

    result = await cli(
        "list", "addons", "--projectId", PROJECT, "--all", "--per_page", "2", "-o", "jsonl",
        *connect(mock),
    )  # fmt: skip
    table = await cli("list", "addons", "--project-id", PROJECT, "-o", "table", *connect(mock))

    assert [f"db-{n}" for n in range(5)] == [json.loads(x)["id"] for x in result.out.splitlines()]
    assert 3 == len([r for r in mock.requests if r.query.get("per_page") == "2"])
    assert (
        "ID    NAME  TYPE   STATUS   TAGS\n"
        "db-0  db-0  redis  running  a,b\n"
        "db-1  db-1  redis  running  -\n"
    ) == "".join(table.out.splitlines(keepends=True)[:3])


# -- every backup of a project --------------------------------------------------------------------


async def test_project_backups_stream_every_addon_with_its_ids(mock: MockNorthflank) -> None:
    """`get project backups` prints each backup of each addon plus its projectId and addonId."""
    expected = {
        (addon, b["id"]): {"projectId": PROJECT, "addonId": addon, **api_json([b])[0]}
        for addon in ("db-a", "db-b", "db-c")
        for b in mock.generate_backups(PROJECT, addon, 120)
    }

    result = await cli(
        "get", "project", "backups", "--projectId", PROJECT, "--concurrency", "2", "-o", "jsonl",
        *connect(mock),
    )  # fmt: skip

    printed = [json.loads(line) for line in result.out.splitlines()]
    assert (0, "") == (result.code, result.err)
    assert expected == {(b["addonId"], b["id"]): b for b in printed}
    assert 360 == len(printed)


async def test_project_backups_progress_counts_addons(mock: MockNorthflank) -> None:
    """On a terminal, `get project backups` counts the backups and the addons walked."""
    for addon in ("db-a", "db-b"):
        mock.generate_backups(PROJECT, addon, 30)

    result = await cli(
        "get", "project", "backups", "--projectId", PROJECT, "-o", "table", *connect(mock),
        stderr=TtyStringIO(),
    )  # fmt: skip

    assert 0 == result.code
    assert result.out.startswith(f"PROJECT          ADDON  ID  {' ' * 18}NAME")
    assert 61 == len(result.out.splitlines())
    assert re.fullmatch(
        r"60 backups from 2 addons \(\d+\.\d s\), rate limit 997/1000 left\x1b\[K\n",
        result.err.rsplit("\r", 1)[1],
    )


async def test_project_backups_max_items(mock: MockNorthflank) -> None:
    """`get project backups --max-items N` stops after N backups in all."""
    mock.generate_backups(PROJECT, "db-a", 50)
    mock.generate_backups(PROJECT, "db-b", 50)

    result = await cli(
        "get", "project", "backups", "--projectId", PROJECT, "--max-items", "7", *connect(mock)
    )

    assert (0, 7) == (result.code, len(json.loads(result.out)["backups"]))


# -- --skip-errors ---------------------------------------------------------------------------------

PROJECT_BACKUPS_ARGS = ("get", "project", "backups", "--projectId", PROJECT, "--per_page", "20")


def _three_addons(mock: MockNorthflank) -> dict[tuple[str, str], dict[str, object]]:
    """Backups in db-a, db-b and db-c; returns the printed backups of db-a and db-c."""
    mock.generate_backups(PROJECT, "db-b", 30)
    return {
        (addon, b["id"]): {"projectId": PROJECT, "addonId": addon, **api_json([b])[0]}
        for addon in ("db-a", "db-c")
        for b in mock.generate_backups(PROJECT, addon, 50)
    }


async def test_project_backups_stop_at_an_unreadable_addon(mock: MockNorthflank) -> None:
    """Without --skip-errors, an addon answering 404 ends `get project backups` with exit 1."""
    _three_addons(mock)
    mock.faults.fail_path("/addons/db-b/", 404)

    result = await cli(*PROJECT_BACKUPS_ARGS, *connect(mock))

    assert 1 == result.code
    assert result.err.startswith("northflank-async: error: 404 from GET ")


@pytest.mark.parametrize("quiet", [(), ("--quiet",)], ids=["loud", "quiet"])
async def test_skip_errors_goes_on_past_an_unreadable_addon_and_exits_4(
    mock: MockNorthflank, quiet: tuple[str, ...]
) -> None:
    """--skip-errors prints the other addons' backups as one complete document, says the
    skipped addon in one line (even with --quiet; not again in the SDK's log) and exits 4."""
    expected = _three_addons(mock)
    mock.faults.fail_path("/addons/db-b/", 404)

    result = await cli(*PROJECT_BACKUPS_ARGS, "--skip-errors", *quiet, *connect(mock))

    assert 4 == result.code
    assert expected == {(b["addonId"], b["id"]): b for b in json.loads(result.out)["backups"]}
    [line] = result.err.splitlines()
    assert line.startswith(f"skipped addon db-b of project {PROJECT}: 404 from GET "), line


async def test_skip_errors_says_the_error_in_printable_text(mock: MockNorthflank) -> None:
    """The server's words in a skipped addon's error cannot drive the terminal."""
    _three_addons(mock)
    mock.faults.fail_path("/addons/db-b/", 403, body="gone\x1b[2J\x1b]0;pwned\x07")

    result = await cli(*PROJECT_BACKUPS_ARGS, "--skip-errors", *connect(mock))

    assert 4 == result.code
    assert "gone\\x1b[2J\\x1b]0;pwned\\x07" in result.err
    assert not re.search("[\x00-\x09\x0b-\x1f]", result.err)


async def test_skip_errors_without_a_failure_exits_0(mock: MockNorthflank) -> None:
    """--skip-errors with nothing to skip is a plain success."""
    _three_addons(mock)

    result = await cli(*PROJECT_BACKUPS_ARGS, "--skip-errors", "-o", "jsonl", *connect(mock))

    assert (0, "") == (result.code, result.err)
    assert 50 + 30 + 50 == len(result.out.splitlines())


async def test_skip_errors_when_the_addons_cannot_be_listed(mock: MockNorthflank) -> None:
    """With --skip-errors, a project whose addons cannot be listed is one line, exit 4, and
    an empty but complete document."""
    _three_addons(mock)
    mock.faults.fail_path(f"/projects/{PROJECT}/addons", 403)

    result = await cli(*PROJECT_BACKUPS_ARGS, "--skip-errors", *connect(mock))

    assert (4, '{\n  "backups": []\n}\n') == (result.code, result.out)
    [line] = result.err.splitlines()
    assert line.startswith(f"skipped the addons of project {PROJECT}: 403 from GET "), line
