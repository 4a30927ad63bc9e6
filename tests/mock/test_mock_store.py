"""MockNorthflank's store: adding projects, addons and backups, and reading them back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from northflank_async.testing import MockNorthflank

from .support import AUTH, get_json

DEFAULT_ADDON = {
    "id": "a",
    "name": "a",
    "appId": "/example-team/p/a",
    "tags": [],
    "spec": {"type": "postgresql"},
    "status": "running",
}


def test_add_backups_creates_the_project_and_addon() -> None:
    """Backups added to an unknown addon create it and its project with default fields."""
    mock = MockNorthflank()
    mock.add_backups("p", "a", [{"id": "x"}])
    assert ([{"id": "p", "name": "p"}], [DEFAULT_ADDON], [{"id": "x"}]) == (
        mock.projects(),
        mock.addons("p"),
        mock.backups("p", "a"),
    )


def test_add_project_updates_in_place() -> None:
    """Adding a known project changes only the name and description given, in the same dict."""
    mock = MockNorthflank()
    project = mock.add_project("p")
    assert {"id": "p", "name": "p"} == project
    assert project is mock.add_project("p", name="P", description="d")
    assert project is mock.add_project("p")
    assert [{"id": "p", "name": "P", "description": "d"}] == mock.projects()


def test_add_addon_redefines_and_keeps_its_backups() -> None:
    """Adding a known addon replaces its fields in place and keeps its backups and position."""
    mock = MockNorthflank(team_id="team-x")
    mock.add_addon("p", "a", addon_type="redis", tags=["t"], description="old")
    mock.add_addon("p", "b")
    mock.add_backups("p", "a", [{"id": "x"}])
    addon = mock.add_addon("p", "a", name="A", addon_type="mysql", status="paused")
    assert {
        "id": "a",
        "name": "A",
        "appId": "/team-x/p/a",
        "tags": [],
        "spec": {"type": "mysql"},
        "status": "paused",
    } == addon
    assert ([addon["id"], "b"], [{"id": "x"}]) == (
        [a["id"] for a in mock.addons("p")],
        mock.backups("p", "a"),
    )
    assert addon is mock.addons("p")[0]


def test_add_backups_stores_shallow_copies() -> None:
    """The store keeps its own dict of each backup added, sharing nested values."""
    mock = MockNorthflank()
    backup: dict[str, Any] = {"id": "x", "config": {"size": "1"}}
    mock.add_backups("p", "a", [backup])
    backup["id"] = "changed"
    [stored] = mock.backups("p", "a")
    assert ("x", True) == (stored["id"], stored["config"] is backup["config"])


async def test_stored_dicts_are_served_live(aiohttp_client: AiohttpClient) -> None:
    """The accessors return new lists of the stored dicts: changing a dict changes the API."""
    mock = MockNorthflank()
    mock.generate_backups("p", "a", 2)
    listed = mock.backups("p", "a")
    listed.clear()
    mock.backups("p", "a")[1]["status"] = "aborted"
    client = await aiohttp_client(mock.make_app(), headers=AUTH)
    _, body = await get_json(client, "/v1/projects/p/addons/a/backups")
    assert (2, "aborted") == (len(body["data"]["backups"]), body["data"]["backups"][1]["status"])


@pytest.mark.parametrize(
    ("read", "missing"),
    [
        (lambda m: m.addons("missing"), "'missing'"),
        (lambda m: m.backups("missing", "a"), "'missing'"),
        (lambda m: m.backups("p", "missing"), "'missing'"),
    ],
)
def test_reading_an_unknown_id_is_a_key_error(
    read: Callable[[MockNorthflank], object], missing: str
) -> None:
    """Reading the addons or backups of an unknown project or addon raises ``KeyError``."""
    mock = MockNorthflank()
    mock.add_addon("p", "a")
    with pytest.raises(KeyError) as caught:
        read(mock)
    assert missing == str(caught.value)


def test_set_page_sizes_creates_the_addon() -> None:
    """Page sizes set on an unknown addon create it, with no backups."""
    mock = MockNorthflank()
    mock.set_page_sizes("p", "a", [1, 2])
    assert ([DEFAULT_ADDON], []) == (mock.addons("p"), mock.backups("p", "a"))
