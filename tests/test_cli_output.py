"""What the command line prints: the yaml and table formats, empty listings, human sizes,
server text kept off the terminal's controls, and the progress line on a terminal."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Callable

import pytest
import yaml

from northflank_async.cli._common import Console
from northflank_async.cli._output import Batch, Progress, human_size, printable
from northflank_async.testing import MockNorthflank, _pagination
from tests.cli_support import BACKUPS_ARGS, SEED_BACKUP, TtyStringIO, api_json, cli, connect
from tests.conftest import ADDON, PROJECT

# -- formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "walk",
    [("--page", "1"), ("--per_page", "40"), ("--all", "--per_page", "40")],
    ids=["page", "every", "all"],
)
async def test_yaml_is_the_same_data(mock: MockNorthflank, walk: tuple[str, ...]) -> None:
    """-o yaml prints the same backups: key 'backups', a list of the API's JSON objects."""
    raw = mock.generate_backups(PROJECT, ADDON, 90)

    result = await cli(*BACKUPS_ARGS, *walk, "-o", "yaml", *connect(mock))

    assert 0 == result.code
    assert {"backups": api_json(raw)} == yaml.safe_load(result.out)


async def test_yaml_without_pyyaml_is_a_usage_error(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-o yaml without PyYAML exits 2 before any request, saying what to install."""
    monkeypatch.setitem(sys.modules, "yaml", None)

    result = await cli(*BACKUPS_ARGS, "-o", "yaml", *connect(mock))

    assert 2 == result.code
    assert (
        "northflank-async: error: -o yaml needs PyYAML: "
        "pip install 'northflank-async[yaml]' (or PyYAML)\n"
    ) == result.err
    assert [] == mock.requests


async def test_table_shows_aligned_columns_in_human_units(mock: MockNorthflank) -> None:
    """-o table prints aligned columns: times in UTC, sizes in binary units, '-' for none."""
    mock.add_backups(
        PROJECT,
        ADDON,
        [
            {
                "id": "b-1",
                "name": "Nightly",
                "status": "completed",
                "createdAt": "2024-03-01T02:00:00.000Z",
                "completedAt": "2024-03-01T02:03:04.500Z",
                "config": {
                    "size": "1288490189",
                    "source": {"type": "snapshot"},
                    "compressionType": "zstd",
                },
            },
            {
                "id": "b-22",
                "name": "Manual backup",
                "status": "in-progress",
                "createdAt": "2024-03-02T10:30:00.000Z",
                "completedAt": None,
                "config": {"size": "512"},
            },
        ],
    )

    result = await cli(*BACKUPS_ARGS, "-o", "table", *connect(mock))

    assert 0 == result.code
    assert (
        "ID    NAME           STATUS       CREATED               COMPLETED                SIZE  SOURCE    COMPRESSION\n"
        "b-1   Nightly        completed    2024-03-01T02:00:00Z  2024-03-01T02:03:04Z  1.2 GiB  snapshot  zstd\n"
        "b-22  Manual backup  in-progress  2024-03-02T10:30:00Z  -                       512 B  -         -\n"
    ) == result.out


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("json", '{\n  "backups": []\n}\n'),
        ("jsonl", ""),
        ("yaml", "backups: []\n"),
        ("table", "ID  NAME  STATUS  CREATED  COMPLETED  SIZE  SOURCE  COMPRESSION\n"),
    ],
)
async def test_an_addon_without_backups(mock: MockNorthflank, output: str, expected: str) -> None:
    """An addon without backups prints an empty document, nothing, or just the header."""
    mock.add_addon(PROJECT, ADDON)

    result = await cli(*BACKUPS_ARGS, "--all", "-o", output, *connect(mock))

    assert (0, expected, "") == (result.code, result.out, result.err)


# -- server text on a terminal ---------------------------------------------------------------

#: Server text that would recolour the terminal, go back over the line, add a line, and
#: reverse what follows.
EVIL = "x\x1b[31m\r\n\u202ey"


def _evil_backups(mock: MockNorthflank) -> tuple[str, ...]:
    mock.add_backups(PROJECT, ADDON, [{**SEED_BACKUP, "id": "b" + EVIL, "name": EVIL}])
    return BACKUPS_ARGS


def _evil_projects(mock: MockNorthflank) -> tuple[str, ...]:
    mock.add_project("p-1", name=EVIL, description=EVIL)
    return ("list", "projects")


def _evil_addons(mock: MockNorthflank) -> tuple[str, ...]:
    mock.add_addon(PROJECT, "db-1", name=EVIL, tags=[EVIL], addon_type=EVIL)
    return ("list", "addons", "--projectId", PROJECT)


@pytest.mark.parametrize(
    ("fill", "key"),
    [(_evil_backups, "backups"), (_evil_projects, "projects"), (_evil_addons, "addons")],
    ids=["backups", "projects", "addons"],
)
async def test_server_text_is_exact_in_data_and_escaped_in_a_table(
    mock: MockNorthflank, fill: Callable[[MockNorthflank], tuple[str, ...]], key: str
) -> None:
    """json, jsonl and yaml keep a name with ESC, CR, LF and a bidi override exact; -o table
    shows each escaped, on one row."""
    args = fill(mock)

    as_json = await cli(*args, *connect(mock))
    as_jsonl = await cli(*args, "-o", "jsonl", *connect(mock))
    as_yaml = await cli(*args, "-o", "yaml", *connect(mock))
    table = await cli(*args, "-o", "table", *connect(mock))

    assert EVIL == json.loads(as_json.out)[key][0]["name"]
    assert EVIL == json.loads(as_jsonl.out)["name"]
    assert EVIL == yaml.safe_load(as_yaml.out)[key][0]["name"]
    assert "x\\x1b[31m\\r\\n\\u202ey" == printable(EVIL)
    assert printable(EVIL) in table.out
    assert 2 == len(table.out.splitlines())
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", table.out)


async def test_next_cursor_is_escaped(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cursor with control characters (the fake API's, here) is printed escaped on the
    `next cursor:` line."""

    def forged(*_: object) -> str:
        return "c\x1b]0;pwned\x07"

    monkeypatch.setattr(_pagination, "encode_cursor", forged)
    mock.generate_backups(PROJECT, ADDON, 10)

    result = await cli(*BACKUPS_ARGS, "--page", "1", "--per_page", "5", *connect(mock))

    assert (0, "next cursor: c\\x1b]0;pwned\\x07\n") == (result.code, result.err)


# -- human sizes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1_048_575, "1.0 MiB"),
        (1_288_490_189, "1.2 GiB"),
        (5 * 2**40, "5.0 TiB"),
        (2**50, "1.0 PiB"),
        (2**60, "1024.0 PiB"),
    ],
)
def test_human_size(size: int, text: str) -> None:
    """Sizes are shown in binary units with one decimal, never as '1024.0 KiB'."""
    assert text == human_size(size)


# -- progress --------------------------------------------------------------------------------------


@pytest.mark.parametrize("walk", [(), ("--all",)], ids=["default", "all"])
async def test_progress_is_drawn_when_stderr_is_a_terminal(
    mock: MockNorthflank, walk: tuple[str, ...]
) -> None:
    """On a terminal, a walk ends with a progress line of backups, pages and rate limit."""
    mock.generate_backups(PROJECT, ADDON, 250)
    stderr = TtyStringIO()

    result = await cli(*BACKUPS_ARGS, *walk, "-o", "jsonl", *connect(mock), stderr=stderr)

    assert 0 == result.code
    last = result.err.rsplit("\r", 1)[1]
    assert re.fullmatch(
        r"250 backups from 3 pages \(\d+\.\d s\), rate limit 997/1000 left\x1b\[K\n", last
    ), last


@pytest.mark.parametrize(
    ("walk", "printed"),
    [(("--quiet",), 250), (("--page", "1"), 5)],
    ids=["quiet", "one-page"],
)
async def test_no_progress_with_quiet_or_for_a_single_page(
    mock: MockNorthflank, walk: tuple[str, ...], printed: int
) -> None:
    """--quiet, or one page (not a walk), keeps stderr empty even on a terminal."""
    mock.generate_backups(PROJECT, ADDON, printed)

    result = await cli(*BACKUPS_ARGS, *walk, "-o", "jsonl", *connect(mock), stderr=TtyStringIO())

    assert (0, printed, "") == (result.code, len(result.out.splitlines()), result.err)


def test_an_alert_wipes_the_progress_line() -> None:
    """An alert (a skipped addon, a cursor) wipes a drawn progress line, to start on its own."""
    stderr = TtyStringIO()
    console = Console(io.StringIO(), stderr, quiet=False)
    console.progress("backup", "addon", walk=True).advance(Batch([1], None))
    drawn = stderr.getvalue()

    console.alert("skipped addon db-b")

    assert drawn.startswith("\r1 backup from 1 addon (")
    assert drawn + "\r\x1b[Kskipped addon db-b\n" == stderr.getvalue()


def test_an_alert_is_written_even_with_quiet() -> None:
    """--quiet leaves notes out, never alerts."""
    stderr = io.StringIO()
    console = Console(io.StringIO(), stderr, quiet=True)

    console.note("a note")
    console.alert("next cursor: c")

    assert "next cursor: c\n" == stderr.getvalue()


def test_progress_redraws_at_most_every_interval_and_stays_below_output() -> None:
    """The line is redrawn only after its interval, and wiped before output to the same screen."""
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(
        stream, noun="backup", unit="page", enabled=True, shares_screen=True, clock=lambda: now[0]
    )
    batch: Batch[int] = Batch([1, 2], None)

    progress.advance(batch)
    now[0] = 0.05
    progress.advance(batch)
    drawn_once = stream.getvalue()
    progress.before_output()
    progress.advance(batch)
    progress.finish()

    assert "\r2 backups from 1 page (0.0 s)\x1b[K" == drawn_once
    assert (
        drawn_once + "\r\x1b[K"
        "\r6 backups from 3 pages (0.1 s)\x1b[K"
        "\r6 backups from 3 pages (0.1 s)\x1b[K\n"
    ) == stream.getvalue()
