"""The mock's in-memory state: projects, addons, backups, and a timeline of changes.

Everything served is a plain JSON dict held here, in serving order. The timeline
holds changes due at a reading of the mock's clock; ``apply_due`` runs those whose
time has come, in time order, so a route sees the state as of ``clock()``.
State that later routes need (restores, say) gets its own field on ``Addon``
or ``Store``, filled by the mock's ``add_*`` methods and read by a family's routes.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._data import BackupSequence
from ._http import JSONDict

Change = Callable[[], object]
"""A timed change: called once, with no argument, when it falls due."""


@dataclass(slots=True)
class Addon:
    """An addon's JSON, its backups in serving order, and how they are paged and generated."""

    data: JSONDict
    backups: list[JSONDict] = field(default_factory=list)
    page_sizes: tuple[int, ...] = ()
    sequence: BackupSequence | None = None


@dataclass(slots=True)
class Project:
    """A project's JSON and its addons, by id and in serving order."""

    data: JSONDict
    addons: dict[str, Addon] = field(default_factory=dict)
    addon_list: list[JSONDict] = field(default_factory=list)


def _finite(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number of seconds, got {value!r}")
    return value


class Store:
    """Projects, addons and backups as the API would serve them, changing on ``clock``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        """An empty store whose timed changes fall due by ``clock``."""
        self.clock = clock
        self.projects: dict[str, Project] = {}
        self.project_list: list[JSONDict] = []
        self._timeline: list[tuple[float, int, Change]] = []
        self._order = itertools.count()
        self._applying = False
        self._running_at = 0.0

    # -------------------------------------------------------------- timeline

    def at(self, when: float, change: Change) -> None:
        """Call ``change()`` once the clock reads ``when`` or later."""
        if not callable(change):
            raise TypeError(f"change must be callable, got {change!r}")
        heapq.heappush(self._timeline, (_finite(when, "when"), next(self._order), change))

    def schedule(self, delay: float, change: Change) -> float:
        """Call ``change()`` ``delay`` seconds from now on the clock; return when it is due.

        Inside a change, "now" is that change's due time, so a chain of changes keeps
        its spacing however far the clock has jumped since.
        """
        if _finite(delay, "delay") < 0:
            raise ValueError(f"delay must be >= 0, got {delay!r}")
        when = (self._running_at if self._applying else self.clock()) + delay
        self.at(when, change)
        return when

    def apply_due(self) -> None:
        """Run every change due by now, earliest first (ties: in the order they were added).

        A change may add changes; those already due run in this same pass. A change
        that reads the store (``apply_due`` again) sees it as of its own time, not
        the later changes' yet. A change is taken off the timeline before it runs,
        so one that raises does not rerun.
        """
        timeline = self._timeline
        if not timeline or self._applying:
            return
        self._applying = True
        try:
            now = self.clock()
            while timeline and timeline[0][0] <= now:
                self._running_at, _, change = heapq.heappop(timeline)
                change()
        finally:
            self._applying = False

    # ------------------------------------------------------------------ data

    def add_project(
        self, project_id: str, *, name: str | None = None, description: str | None = None
    ) -> JSONDict:
        """Add a project (or update the name/description given); return its JSON."""
        project = self.projects.get(project_id)
        if project is None:
            data: JSONDict = {"id": project_id, "name": name or project_id}
            project = Project(data)
            self.projects[project_id] = project
            self.project_list.append(data)
        elif name is not None:
            project.data["name"] = name
        if description is not None:
            project.data["description"] = description
        return project.data

    def add_addon(
        self,
        team_id: str,
        project_id: str,
        addon_id: str,
        *,
        name: str | None = None,
        addon_type: str = "postgresql",
        status: str = "running",
        tags: Sequence[str] = (),
        description: str | None = None,
    ) -> JSONDict:
        """Add (or redefine, keeping its backups) an addon; create the project if missing."""
        self.add_project(project_id)
        project = self.projects[project_id]
        data: JSONDict = {
            "id": addon_id,
            "name": name or addon_id,
            "appId": f"/{team_id}/{project_id}/{addon_id}",
            "tags": list(tags),
        }
        if description is not None:
            data["description"] = description
        data["spec"] = {"type": addon_type}
        data["status"] = status
        addon = project.addons.get(addon_id)
        if addon is None:
            addon = Addon(data)
            project.addons[addon_id] = addon
            project.addon_list.append(data)
        else:
            addon.data.clear()
            addon.data.update(data)
        return addon.data

    def project(self, project_id: str) -> Project | None:
        """The project ``project_id``, or ``None``."""
        return self.projects.get(project_id)

    def addon(self, project_id: str, addon_id: str) -> Addon | None:
        """The addon ``addon_id`` of project ``project_id``, or ``None``."""
        project = self.projects.get(project_id)
        return project.addons.get(addon_id) if project is not None else None

    def ensure_addon(self, team_id: str, project_id: str, addon_id: str) -> Addon:
        """The addon, created with default fields (and its project) when missing."""
        addon = self.addon(project_id, addon_id)
        if addon is None:
            self.add_addon(team_id, project_id, addon_id)
            addon = self.projects[project_id].addons[addon_id]
        return addon

    def add_backups(
        self, team_id: str, project_id: str, addon_id: str, backups: Iterable[Mapping[str, Any]]
    ) -> None:
        """Append shallow copies of raw backup dicts to an addon, created when missing."""
        self.ensure_addon(team_id, project_id, addon_id).backups.extend(dict(b) for b in backups)
