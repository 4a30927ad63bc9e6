"""MockNorthflank.generate_realistic_team: a team of every kind of addon, and the check's verdicts."""

from __future__ import annotations

from collections import Counter

import pytest

from northflank_async import NorthflankSession
from northflank_async.testing import ManualClock, MockNorthflank

from .support import NOW, verdicts


async def test_each_kind_gets_its_verdict(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Fresh addons are healthy; stale, failing, empty and unreadable ones each say why not."""
    kinds = mock.generate_realistic_team()

    found = await verdicts(nf, now=NOW)

    assert set(kinds) == {(h.project_id, h.addon_id) for h in found.values()}
    assert set(Counter(kinds.values())) == {"fresh", "stale", "failing", "empty", "unreadable"}
    for (_, addon), kind in kinds.items():
        health = found[addon]
        assert (kind == "fresh") is health.healthy, (kind, health)
        problems = health.problems
        if kind == "stale":
            assert [p.startswith("no completed backup for ") for p in problems] == [True], problems
        elif kind == "failing":
            assert problems[0].startswith("the latest backup failed ("), problems
            assert "2 backups failed in the last 7 days" == problems[1]
            assert 2 == len(problems)
        elif kind == "empty":
            assert ("no backups at all",) == problems
        elif kind == "unreadable":
            assert (
                "cannot read its backups: 403 Forbidden: "
                "this API token may not list the backups of this addon",
            ) == problems
        else:
            assert health.total >= 14


async def test_the_team_is_dated_from_the_clock(clock: ManualClock) -> None:
    """A team made later on the clock is as old then: the same verdicts, a week on."""
    async with MockNorthflank(clock=clock) as mock:
        clock.advance(7 * 86_400)
        kinds = mock.generate_realistic_team(projects=1, addons_per_project=5)
        async with NorthflankSession(mock.token, base_url=mock.base_url) as nf:
            found = await verdicts(nf, now=NOW.replace(day=8))

    assert {addon: kind == "fresh" for (_, addon), kind in kinds.items()} == {
        addon: health.healthy for addon, health in found.items()
    }


def test_the_team_is_deterministic_from_the_seed() -> None:
    """Two mocks of one seed and clock make the same team; another seed another one."""

    def team(seed: int) -> tuple[object, ...]:
        mock = MockNorthflank(seed=seed, clock=ManualClock())
        kinds = mock.generate_realistic_team(projects=2, addons_per_project=6)
        return tuple((key, kind, mock.backups(*key)) for key, kind in kinds.items())

    assert team(3) == team(3)
    assert team(3) != team(4)


def test_projects_are_named_then_numbered() -> None:
    """The first six projects have names; past them, ``project-<n>``."""
    mock = MockNorthflank(clock=ManualClock())

    kinds = mock.generate_realistic_team(projects=7, addons_per_project=1, days=7)

    assert [
        "storefront",
        "billing",
        "analytics",
        "internal-tools",
        "mobile-api",
        "search",
        "project-7",
    ] == [project for project, _ in kinds]
    assert "Mobile API" == mock.projects()[4]["name"]


@pytest.mark.parametrize(
    ("arguments", "word"),
    [
        ({"projects": 0}, "projects"),
        ({"addons_per_project": 0}, "addons_per_project"),
        ({"days": 6}, "days"),
        ({"days": True}, "days"),
    ],
)
def test_bad_sizes_are_refused(arguments: dict[str, int], word: str) -> None:
    """Too few projects, addons or days raise ValueError naming the argument."""
    mock = MockNorthflank(clock=ManualClock())

    with pytest.raises(ValueError, match=word):
        mock.generate_realistic_team(**arguments)
    assert [] == mock.projects()
