"""examples/list_backups.py: every backup a line, from the real API or its built-in mock."""

from __future__ import annotations

import pytest

from examples import list_backups
from northflank_async import Backup, converter
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT
from tests.example_support import generated_backups


def _lines(raw: list[dict[str, object]]) -> list[str]:
    """The lines the example prints for these API backups."""
    backups = [converter.structure(b, Backup) for b in raw]
    return [
        f"{b.id}  {b.status:<13}  {b.created_at:%Y-%m-%d %H:%M}  {b.config.size:>14,} bytes"
        for b in backups
    ]


async def test_without_a_token_it_lists_the_built_in_mock(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without a token it says so in one stderr line and prints the mock's 250 backups in order."""
    await list_backups.main()

    out, err = capsys.readouterr()
    assert _lines(generated_backups()) == out.splitlines()
    assert 1 == len(err.splitlines())
    assert err.startswith(
        "NF_API_TOKEN is not set: using an in-process mock API at http://127.0.0.1:"
    )


@pytest.mark.parametrize("token_variable", ["NF_API_TOKEN", "NORTHFLANK_API_TOKEN"])
async def test_with_a_token_it_lists_the_addon_the_environment_names(
    mock: MockNorthflank,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token_variable: str,
) -> None:
    """With a token it lists NF_ADDON_ID of NF_PROJECT_ID from the API the environment names."""
    expected = mock.generate_backups(PROJECT, ADDON, 7)
    monkeypatch.setenv(token_variable, mock.token)
    monkeypatch.setenv("NORTHFLANK_API_BASE_URL", str(mock.base_url))
    monkeypatch.setenv("NF_PROJECT_ID", PROJECT)
    monkeypatch.setenv("NF_ADDON_ID", ADDON)

    await list_backups.main()

    out, err = capsys.readouterr()
    assert (_lines(expected), "") == (out.splitlines(), err)
    assert [f"/v1/projects/{PROJECT}/addons/{ADDON}/backups"] == [r.path for r in mock.requests]


@pytest.mark.parametrize("missing", ["NF_PROJECT_ID", "NF_ADDON_ID"])
async def test_with_a_token_it_needs_both_ids(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    """With a token but no project or addon id it stops with a message before any request."""
    monkeypatch.setenv("NF_API_TOKEN", mock.token)
    monkeypatch.setenv("NORTHFLANK_API_BASE_URL", str(mock.base_url))
    monkeypatch.setenv("NF_PROJECT_ID", PROJECT)
    monkeypatch.setenv("NF_ADDON_ID", ADDON)
    monkeypatch.delenv(missing)

    with pytest.raises(SystemExit) as stopped:
        await list_backups.main()

    assert ("NF_API_TOKEN is set, so set NF_PROJECT_ID and NF_ADDON_ID too", []) == (
        stopped.value.code,
        mock.requests,
    )
