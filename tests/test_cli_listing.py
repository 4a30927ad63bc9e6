"""The listing commands: ``get addon backups``, ``get project backups``, ``list projects``
and ``list addons``: one page and its cursor, every page, the option spellings, the routes."""

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
    """One page is one request, printed as the seed's indented {"backups": [...]}."""
    mock.add_backups(PROJECT, ADDON, [SEED_BACKUP])

    result = await cli(*BACKUPS_ARGS, *connect(mock))

    assert (0, "") == (result.code, result.err)
    assert json.dumps({"backups": api_json([SEED_BACKUP])}, indent=2) + "\n" == result.out
    assert {"backups": [SEED_BACKUP]} == json.loads(result.out)
    assert 1 == len(mock.requests)


async def test_one_page_names_the_next_cursor_on_stderr(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A page with a next page prints its backups, and on stderr the API's cursor for the next."""
    raw = mock.generate_backups(PROJECT, ADDON, 30)
    cursor = (await nf.get_backup_page(PROJECT, ADDON, per_page=10)).pagination.cursor

    result = await cli(*BACKUPS_ARGS, "--per_page", "10", *connect(mock))

    assert (0, f"next cursor: {cursor}\n") == (result.code, result.err)
    assert {"backups": api_json(raw[:10])} == json.loads(result.out)
    assert [{"per_page": "10"}] * 2 == [r.query for r in mock.requests]


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
        "get", "addon", "backups", project, PROJECT, addon, ADDON, per_page, "3", *connect(mock)
    )

    assert 0 == result.code
    assert {"backups": api_json(raw[:3])} == json.loads(result.out)


async def test_cursor_hand_off_covers_every_backup_exactly_once(mock: MockNorthflank) -> None:
    """Feeding each printed cursor to the next invocation walks every backup once."""
    raw = mock.generate_backups(PROJECT, ADDON, 95)
    seen: list[str] = []
    cursor: list[str] = []
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


# -- every page -------------------------------------------------------------------------------------


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


async def test_all_json_is_one_document(mock: MockNorthflank) -> None:
    """--all -o json writes one {"backups": [...]} document, formatted as json.dumps would."""
    raw = mock.generate_backups(PROJECT, ADDON, 230)

    result = await cli(*BACKUPS_ARGS, "--all", "--per-page", "100", *connect(mock))

    assert (0, "") == (result.code, result.err)
    assert json.dumps({"backups": api_json(raw)}, indent=2) + "\n" == result.out


async def test_max_items_stops_the_walk(mock: MockNorthflank) -> None:
    """--all --max-items N prints exactly the first N backups."""
    raw = mock.generate_backups(PROJECT, ADDON, 200)

    result = await cli(
        *BACKUPS_ARGS, "--all", "--max_items", "130", "--per_page", "50", "-o", "jsonl",
        *connect(mock),
    )  # fmt: skip

    assert 0 == result.code
    assert [b["id"] for b in raw[:130]] == [
        json.loads(line)["id"] for line in result.out.splitlines()
    ]


async def test_max_items_zero_makes_no_request(mock: MockNorthflank) -> None:
    """--all --max-items 0 prints an empty document without asking the API anything."""
    mock.generate_backups(PROJECT, ADDON, 10)

    result = await cli(*BACKUPS_ARGS, "--all", "--max-items", "0", *connect(mock))

    assert (0, '{\n  "backups": []\n}\n') == (result.code, result.out)
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
