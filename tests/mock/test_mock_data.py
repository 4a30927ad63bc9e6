"""Example and generated data: the API reference's backup, generated backups and teams."""

from __future__ import annotations

import copy
import gc
import re
from typing import Any

import pytest

from northflank_async.testing import MockNorthflank, example_backup
from tests.convert_support import SEED_BACKUP

TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DESTINATION_RE = re.compile(r"[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*")


def test_example_backup_is_a_fresh_copy() -> None:
    """Each call returns the reference example anew, so changing one leaves the next intact."""
    first = example_backup()
    first["config"]["source"]["type"] = "changed"
    assert SEED_BACKUP == example_backup()


@pytest.fixture(scope="module")
def generated() -> list[dict[str, Any]]:
    """500 backups generated with the default seed for addon ``a`` of project ``p``."""
    return MockNorthflank().generate_backups("p", "a", 500)


def test_generated_backups_use_every_enum_value(generated: list[dict[str, Any]]) -> None:
    """Generated backups use every status, source type and compression, mostly completed."""
    assert (
        {"scheduled", "in-progress", "completed", "aborting", "aborted", "failed", "not-supported"},
        {"fileUpload", "liveInstance", "snapshot", "externalDump", "sameAddon"},
        {"gz", "zstd"},
    ) == (
        {b["status"] for b in generated},
        {b["config"]["source"]["type"] for b in generated},
        {b["config"]["compressionType"] for b in generated},
    )
    assert sum(b["status"] == "completed" for b in generated) > 300


def test_generated_backups_have_unique_ids_and_ascending_times(
    generated: list[dict[str, Any]],
) -> None:
    """Ids are unique and ``createdAt`` strictly ascends through the sequence."""
    created = [b["createdAt"] for b in generated]
    assert (500, sorted(set(created))) == (len({b["id"] for b in generated}), created)


def test_generated_backups_have_realistic_sizes(generated: list[dict[str, Any]]) -> None:
    """Completed backups range from a KiB to over a GiB; some carry extra destinations."""
    sizes = [int(b["config"]["size"]) for b in generated if b["status"] == "completed"]
    assert min(sizes) >= 1024
    assert max(sizes) > 2**30
    assert any("additionalDestinations" in b["config"] for b in generated)
    assert any("customDestinationId" in b for b in generated)


def test_generated_backups_use_the_api_formats(generated: list[dict[str, Any]]) -> None:
    """Every field has the API's format, and completedAt is set exactly once finished."""
    for b in generated:
        assert re.fullmatch(r"backup-\d{6}-[0-9a-f]{6}", b["id"])
        assert TIME_RE.fullmatch(b["createdAt"])
        assert re.fullmatch(r"[0-9]+", b["config"]["size"])
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?", b["config"]["addonVersion"])
        assert b["name"].endswith(b["createdAt"][:10])
        if b["status"] == "scheduled":
            assert "completedAt" not in b
        elif b["status"] in ("in-progress", "aborting"):
            assert None is b["completedAt"]
        else:
            assert TIME_RE.fullmatch(b["completedAt"])
            assert b["completedAt"] > b["createdAt"]
        for d in b["config"].get("additionalDestinations", []):
            assert DESTINATION_RE.fullmatch(d["destinationId"])
            assert ("custom", int) == (d["type"], type(d["retentionTime"]))
        if "customDestinationId" in b:
            assert DESTINATION_RE.fullmatch(b["customDestinationId"])


def test_generated_backups_are_the_ones_stored(generated: list[dict[str, Any]]) -> None:
    """``generate_backups`` returns the dicts it stored, in order."""
    mock = MockNorthflank()
    backups = mock.generate_backups("p", "a", 500)
    assert (generated, True) == (backups, mock.backups("p", "a")[0] is backups[0])


def test_generated_backups_are_stable_across_versions() -> None:
    """The default seed gives these exact first backups, so fixtures built on them hold."""
    mock = MockNorthflank()
    assert [
        {
            "id": "backup-000000-7e882a",
            "name": "Manual backup 2024-01-01",
            "status": "failed",
            "createdAt": "2024-01-01T08:21:30.655Z",
            "completedAt": "2024-01-01T08:30:05.436Z",
            "config": {
                "source": {"type": "liveInstance"},
                "size": "973",
                "compressionType": "gz",
                "addonVersion": "14.11",
            },
        },
        {
            "id": "backup-000001-1ddd24",
            "name": "Scheduled snapshot 2024-01-01",
            "status": "completed",
            "createdAt": "2024-01-01T10:31:37.989Z",
            "completedAt": "2024-01-01T10:31:39.991Z",
            "config": {
                "source": {"type": "snapshot"},
                "size": "89450",
                "compressionType": "gz",
                "addonVersion": "14.11",
            },
        },
    ] == mock.generate_backups("p", "a", 3)[:2]
    assert ["backup-000000-7e882a", "backup-000001-1ddd24", "backup-000002-24221e"] == [
        b["id"] for b in mock.backups("p", "a")
    ]
    assert "backup-000003-67fc9a" == mock.generate_backups("p", "a", 1)[0]["id"]


@pytest.mark.parametrize(
    ("addon_type", "versions"),
    [
        ("redis", {"6.2.14", "7.0.15", "7.2.4"}),
        ("minio", {"2023.12.23", "2024.1.16", "2024.3.15"}),
        ("cassandra", {"14.11", "15.6", "16.2", "16.4"}),
    ],
)
def test_versions_follow_the_addon_type(addon_type: str, versions: set[str]) -> None:
    """Addon versions come from the addon's type, postgresql's for a type not known."""
    mock = MockNorthflank()
    mock.add_addon("p", "a", addon_type=addon_type)
    backups = mock.generate_backups("p", "a", 3000)
    assert versions == {b["config"]["addonVersion"] for b in backups}


def test_generate_many_backups() -> None:
    """A large batch (the GC-paused path) gives unique ids and leaves the GC enabled."""
    backups = MockNorthflank().generate_backups("p", "a", 20_000)
    assert (20_000, True) == (len({b["id"] for b in backups}), gc.isenabled())


@pytest.mark.parametrize(("seed", "addon"), [(2, "a"), (1, "b")])
def test_generate_backups_is_deterministic(seed: int, addon: str) -> None:
    """The same seed and ids give the same backups; another seed or addon does not."""
    reference = MockNorthflank(seed=1).generate_backups("p", "a", 50)
    assert reference == MockNorthflank(seed=1).generate_backups("p", "a", 50)
    assert reference != MockNorthflank(seed=seed).generate_backups("p", addon, 50)


def test_generate_backups_continues_the_sequence() -> None:
    """A second call appends later backups with fresh ids."""
    mock = MockNorthflank()
    first = copy.deepcopy(mock.generate_backups("p", "a", 10))
    second = mock.generate_backups("p", "a", 10)
    assert first + second == mock.backups("p", "a")
    assert 20 == len({b["id"] for b in first + second})
    assert first[-1]["createdAt"] < second[0]["createdAt"]
    assert ("backup-000010-", []) == (second[0]["id"][:14], mock.generate_backups("p", "a", 0))


def test_generate_backups_refuses_a_negative_count() -> None:
    """A negative count is refused before anything is created."""
    mock = MockNorthflank()
    with pytest.raises(ValueError, match=r"^count must be >= 0$"):
        mock.generate_backups("p", "a", -1)
    assert [] == mock.projects()


def test_generate_team() -> None:
    """``generate_team`` makes project-1.. with addons of several kinds, each with backups."""
    mock = MockNorthflank()
    mock.generate_team(projects=2, addons_per_project=5, backups_per_addon=4)
    assert [
        {"id": "project-1", "name": "Project 1", "description": "Generated project 1"},
        {"id": "project-2", "name": "Project 2"},
    ] == mock.projects()
    assert [
        ("postgresql-1", "Postgresql 1", "postgresql", "paused", []),
        ("mongodb-2", "Mongodb 2", "mongodb", "running", ["eu-west"]),
        ("redis-3", "Redis 3", "redis", "paused", ["critical", "staging"]),
        ("mysql-4", "Mysql 4", "mysql", "running", ["eu-west", "production"]),
        ("minio-5", "Minio 5", "minio", "upgrading", []),
    ] == [
        (a["id"], a["name"], a["spec"]["type"], a["status"], a["tags"])
        for a in mock.addons("project-1")
    ]
    assert {
        "id": "mongodb-1",
        "name": "Mongodb 1",
        "appId": "/example-team/project-2/mongodb-1",
        "tags": ["eu-west", "analytics"],
        "description": "mongodb for project 2",
        "spec": {"type": "mongodb"},
        "status": "paused",
    } == mock.addons("project-2")[0]
    assert [4] * 10 == [
        len(mock.backups(project["id"], addon["id"]))
        for project in mock.projects()
        for addon in mock.addons(project["id"])
    ]
