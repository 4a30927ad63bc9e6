"""A team whose addons' backups are a realistic mix, for the health check and the demo.

``TeamMixControls`` is a base of ``MockNorthflank``: ``generate_realistic_team`` fills
the store with projects whose addons are, each, one of the kinds below, dated from the
mock's clock (the dates of ``Store.date_ms``), so a check run "now" sees them as meant:

- ``fresh``: a nightly backup every day, all ``completed``, the latest 1 to 20 hours
  ago; sometimes a manual backup ``in-progress`` right now, sometimes a failure older
  than a week. Healthy by the default limits (26 hours, 7 days).
- ``stale``: the nightly backups stopped 2 to 5 days ago; every one completed.
- ``failing``: nightly backups completed up to 6 to 20 hours ago, but a manual backup
  since then failed (the latest backup failed) and the nightly one 3 days ago failed
  too: two failures in the last 7 days.
- ``empty``: an addon with no backups at all.
- ``unreadable``: nightly backups like ``fresh``, but listing them answers 403 (a
  ``fail_path`` fault of the mock's ``faults``, so ``faults.clear()`` lifts it).

It depends only on the standard library and the mock's own modules.
"""

from __future__ import annotations

import hashlib
import random
from typing import Final, Literal

from ._data import backup_size, generate_team, iso_ms, latest_addon_version
from ._faults import FaultPlan
from ._http import JSON, JSONDict, dumps
from ._store import Store

__all__ = ["TEAM_MIX_KINDS", "TeamMixControls", "TeamMixKind"]

TeamMixKind = Literal["fresh", "stale", "failing", "empty", "unreadable"]
"""What an addon of ``generate_realistic_team`` is like (see the module docstring)."""

TEAM_MIX_KINDS: Final[tuple[TeamMixKind, ...]] = (
    "fresh",
    "stale",
    "failing",
    "empty",
    "unreadable",
)
"""Every kind, each given to one addon at least once the team has this many."""

#: How often each kind is picked past the first of each: most addons are healthy.
_WEIGHTS: Final = (80, 8, 8, 2, 2)
_PROJECTS: Final = (
    ("storefront", "Storefront"),
    ("billing", "Billing"),
    ("analytics", "Analytics"),
    ("internal-tools", "Internal tools"),
    ("mobile-api", "Mobile API"),
    ("search", "Search"),
)
_MINUTE_MS: Final = 60_000
_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 86_400_000
_FORBIDDEN: Final = "Forbidden: this API token may not list the backups of this addon"


def _rng(*parts: object) -> random.Random:
    """A generator seeded from ``parts`` alone, the same on every run and machine."""
    text = "\x00".join(str(part) for part in parts)
    return random.Random(int.from_bytes(hashlib.blake2b(text.encode()).digest()[:8], "big"))


def _kinds(seed: int, count: int) -> list[TeamMixKind]:
    """``count`` kinds, every kind among them once there are enough, in a seeded order."""
    rng = _rng(seed, "team-mix")
    kinds = list(TEAM_MIX_KINDS[:count])
    kinds += rng.choices(TEAM_MIX_KINDS, weights=_WEIGHTS, k=count - len(kinds))
    rng.shuffle(kinds)
    return kinds


class _Backups:
    """The backups of one addon being made, oldest first, with ids and sizes of its own."""

    def __init__(self, project_id: str, addon_id: str, addon_type: str) -> None:
        self._ids = (project_id, addon_id)
        self._version = latest_addon_version(addon_type)
        self._rng = _rng(project_id, addon_id, "backups")
        self.made: list[tuple[int, JSONDict]] = []

    def add(self, name: str, status: str, created_ms: int) -> None:
        """One backup created at ``created_ms``; a final one ended 2 to 15 minutes later."""
        rng = self._rng
        backup_id = f"backup-{created_ms // 1000:x}-{rng.randrange(0x1000):03x}"
        size = backup_size(*self._ids, backup_id) if status == "completed" else 0
        backup: JSONDict = {
            "id": backup_id,
            "name": f"{name} {iso_ms(created_ms)[:10]}",
            "status": status,
            "createdAt": iso_ms(created_ms),
            "completedAt": None,
        }
        if status != "in-progress":
            backup["completedAt"] = iso_ms(created_ms + rng.randrange(2, 16) * _MINUTE_MS)
        backup["config"] = {
            "source": {"type": "snapshot"},
            "size": str(size),
            "addonVersion": self._version,
        }
        self.made.append((created_ms, backup))

    def nightly(self, latest_ms: int, days: int, failed_days: tuple[int, ...] = ()) -> None:
        """One nightly backup a day for ``days`` days, the latest at ``latest_ms``.

        Those ``failed_days`` days before the latest failed; the others completed.
        """
        for day in range(days):
            status = "failed" if day in failed_days else "completed"
            self.add("Nightly backup", status, latest_ms - day * _DAY_MS)

    def in_order(self) -> list[JSONDict]:
        """The backups oldest first, as the API lists them."""
        return [backup for _, backup in sorted(self.made, key=lambda made: made[0])]


class TeamMixControls:
    """The part of ``MockNorthflank`` that fills it with a realistic mix of addons.

    [MockNorthflank][northflank_async.testing.MockNorthflank] inherits
    ``generate_realistic_team`` from it.
    """

    _store: Store
    team_id: str
    seed: int
    faults: FaultPlan

    def generate_realistic_team(
        self, *, projects: int = 3, addons_per_project: int = 4, days: int = 14
    ) -> dict[tuple[str, str], TeamMixKind]:
        """Fill the store with a team whose addons are fresh, stale, failing, empty or unreadable.

        Projects are ``storefront``, ``billing``, ``analytics``, ``internal-tools``,
        ``mobile-api``, ``search``, then ``project-7``, ...; their addons are named as by
        ``generate_team`` (``<type>-<n>``). Each addon gets a kind: every kind once the team
        has five addons, the rest mostly ``fresh``, with ``days`` days of nightly history
        dated from the mock's clock, so a health check run now sees them as meant:

        - ``fresh``: a nightly backup every day, all ``completed``, the latest 1 to 20 hours
          ago; sometimes a manual backup ``in-progress`` right now, sometimes a failure older
          than a week. Healthy by the default limits (26 hours, 7 days).
        - ``stale``: the nightly backups stopped 2 to 5 days ago; every one completed.
        - ``failing``: nightly backups completed up to 6 to 20 hours ago, but a manual
          backup since then failed, and the nightly one 3 days ago failed too.
        - ``empty``: an addon with no backups at all.
        - ``unreadable``: a healthy history, but listing it answers 403 (a ``fail_path``
          fault of ``faults``, so ``faults.clear()`` lifts it).

        Deterministic from ``seed`` and the clock. This is what ``northflank-async mock serve
        --realistic`` serves.

        Example:

        ```python
        from northflank_async.testing import MockNorthflank

        demo = MockNorthflank()
        kinds = demo.generate_realistic_team(projects=2, addons_per_project=3)
        print(kinds)  # {('storefront', 'postgresql-1'): 'fresh', ('storefront', 'mongodb-2'): ...}
        ```

        :param projects: how many projects (>= 1).
        :param addons_per_project: how many addons in each (>= 1).
        :param days: days of nightly history (>= 7).
        :returns: each addon's kind by ``(project_id, addon_id)``, in the order added.
        :raises ValueError: ``projects`` or ``addons_per_project`` below 1, ``days`` below 7.
        """
        for name, value, low in (
            ("projects", projects, 1),
            ("addons_per_project", addons_per_project, 1),
            ("days", days, 7),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
        store = self._store
        now_ms = store.date_ms(store.clock())
        kinds = iter(_kinds(self.seed, projects * addons_per_project))
        made: dict[tuple[str, str], TeamMixKind] = {}
        team = generate_team(self.seed, self.team_id, projects, addons_per_project)
        for number, project in enumerate(team, start=1):
            project_id, name = (
                _PROJECTS[number - 1]
                if number <= len(_PROJECTS)
                else (f"project-{number}", f"Project {number}")
            )
            store.add_project(project_id, name=name, description=project.description)
            for addon in project.addons:
                store.add_addon(
                    self.team_id,
                    project_id,
                    addon.id,
                    name=addon.name,
                    addon_type=addon.addon_type,
                    status=addon.status,
                    tags=addon.tags,
                    description=addon.description,
                )
                kind = next(kinds)
                backups = self._history(project_id, addon.id, addon.addon_type, kind, now_ms, days)
                store.add_backups(self.team_id, project_id, addon.id, backups)
                made[project_id, addon.id] = kind
        return made

    def _history(
        self,
        project_id: str,
        addon_id: str,
        addon_type: str,
        kind: TeamMixKind,
        now_ms: int,
        days: int,
    ) -> list[JSONDict]:
        """The backups of one addon of ``kind``, as of ``now_ms`` (and its fault, if any)."""
        rng = _rng(self.seed, project_id, addon_id, kind)
        backups = _Backups(project_id, addon_id, addon_type)
        if kind == "empty":
            return []
        if kind == "stale":
            stopped = rng.randrange(2, 6) * _DAY_MS + rng.randrange(1, 20) * _HOUR_MS
            backups.nightly(now_ms - stopped, days - 5)
        elif kind == "failing":
            latest = rng.randrange(6, 21) * _HOUR_MS
            backups.nightly(now_ms - latest, days, failed_days=(3,))
            retried = rng.randrange(1, latest // _HOUR_MS) * _HOUR_MS
            backups.add("Manual backup", "failed", now_ms - retried)
        else:  # fresh and unreadable: a healthy history
            old_failure = (rng.randrange(8, days),) if days > 8 and rng.random() < 0.5 else ()
            backups.nightly(now_ms - rng.randrange(1, 21) * _HOUR_MS, days, old_failure)
            if rng.random() < 0.4:
                backups.add(
                    "Manual backup", "in-progress", now_ms - rng.randrange(5, 30) * _MINUTE_MS
                )
        if kind == "unreadable":
            error = {"error": {"status": 403, "message": _FORBIDDEN, "id": "mock-forbidden"}}
            self.faults.fail_path(
                f"/projects/{project_id}/addons/{addon_id}/backups",
                403,
                method="GET",
                body=dumps(error),
                content_type=JSON,
            )
        return backups.in_order()
