"""The mock's in-memory state: projects, addons, backups, restores, and a timeline.

Everything served is a plain JSON dict held here, in serving order. The timeline
holds changes due at a reading of the mock's clock; ``apply_due`` runs those whose
time has come, in time order, so a route sees the state as of ``clock()``.
State that later routes need (restores, say) gets its own field on ``Addon``
or ``Store``, filled by the mock's ``add_*`` methods and read by a family's routes.
Mock-side state the API does not serve (which backups are retained, how long each
phase of a new backup lasts, which runs are to fail) lives here too, never in the
served dicts. ``_lifecycle`` holds the rules that change it.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ._data import BackupSequence, iso_ms
from ._http import JSONDict

Change = Callable[[], object]
"""A timed change: called once, with no argument, when it falls due."""

BackupKey = tuple[str, str, str]
"""(project id, addon id, backup id): one backup."""
RunKey = tuple[Literal["backup", "restore"], str, str, str]
"""("backup" or "restore", project id, addon id, its id): one run moving on the clock."""
Outcome = Literal["completed", "failed"]

FIXED_EPOCH_MS: Final = 1_735_689_600_000
"""2025-01-01T00:00:00.000Z: the date of a clock's first reading, unless it is real time."""


@dataclass(slots=True)
class Addon:
    """An addon's JSON, its backups in serving order, and how they are paged and generated."""

    data: JSONDict
    backups: list[JSONDict] = field(default_factory=list)
    page_sizes: tuple[int, ...] = ()
    sequence: BackupSequence | None = None
    restores: list[JSONDict] = field(default_factory=list)
    """The restores into this addon, in the order started (each with its ``backupId``)."""


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


@dataclass(frozen=True, slots=True)
class BackupLifecycle:
    """How a backup or restore the API starts moves on the mock's clock.

    It is ``scheduled`` for ``scheduled`` seconds, then ``in-progress`` for
    ``in_progress`` seconds, then ends ``outcome`` (``completed`` or ``failed``). An
    abort makes it ``aborting`` for ``abort`` seconds, then ``aborted``. A run keeps the
    lifecycle in force when it started. ``MockNorthflank.set_backup_lifecycle`` sets it;
    ``MockNorthflank.backup_lifecycle`` reads it.

    Example:

    ```python
    from northflank_async.testing import BackupLifecycle

    print(mock.backup_lifecycle)  # BackupLifecycle(scheduled=0.1, in_progress=0.2, ...)
    assert BackupLifecycle().in_progress == 3.0
    ```

    :raises ValueError: a negative or non-finite time, or another outcome.
    """

    scheduled: float = 1.0
    """Seconds a new run stays ``scheduled``."""
    in_progress: float = 3.0
    """Seconds it then stays ``in-progress``."""
    outcome: Outcome = "completed"
    """How it ends unless aborted: ``"completed"`` or ``"failed"``."""
    abort: float = 1.0
    """Seconds an aborted run stays ``aborting`` before ``aborted``."""

    def __post_init__(self) -> None:
        for name in ("scheduled", "in_progress", "abort"):
            if _finite(getattr(self, name), name) < 0:
                raise ValueError(f"{name} must be >= 0 seconds, got {getattr(self, name)!r}")
        if self.outcome not in ("completed", "failed"):
            raise ValueError(f"outcome must be 'completed' or 'failed', got {self.outcome!r}")


@dataclass(slots=True)
class Run:
    """A backup or restore the API started, moving on the clock until it ends."""

    item: JSONDict
    """The served dict, changed in place."""
    lifecycle: BackupLifecycle
    outcome: Outcome
    """How it ends unless aborted (``fail_backup``/``fail_restore`` set ``failed``)."""


class Store:
    """Projects, addons and backups as the API would serve them, changing on ``clock``."""

    def __init__(self, clock: Callable[[], float], *, seed: int = 0) -> None:
        """An empty store whose timed changes fall due by ``clock``; ``seed`` makes new ids."""
        self.clock = clock
        self.seed = seed
        self.projects: dict[str, Project] = {}
        self.project_list: list[JSONDict] = []
        self._timeline: list[tuple[float, int, Change]] = []
        self._order = itertools.count()
        self._applying = False
        self._running_at = 0.0
        self.lifecycle = BackupLifecycle()
        """The lifecycle of backups and restores started from now on."""
        self.runs: dict[RunKey, Run] = {}
        """Backups and restores the API started that have not ended yet."""
        self.retained: set[BackupKey] = set()
        self.restores_of: dict[BackupKey, list[JSONDict]] = {}
        """Every restore of a backup (into any addon), in the order started."""
        self._ids = itertools.count(1)
        self._epoch_reading = clock()
        self._epoch_ms = int(time.time() * 1000) if clock is time.monotonic else FIXED_EPOCH_MS

    # ----------------------------------------------------------------- dates

    def date_ms(self, reading: float) -> int:
        """The date (epoch milliseconds) the API gives the clock reading ``reading``.

        The clock's reading when the store was made is the wall-clock time then for
        real time (``time.monotonic``), else 2025-01-01T00:00:00.000Z; one second on
        the clock is one second of date. ``not_before`` may move every date forward.
        """
        return self._epoch_ms + round((reading - self._epoch_reading) * 1000)

    def iso(self, reading: float) -> str:
        """``date_ms(reading)`` as the API writes times: ``2025-01-01T00:00:05.000Z``."""
        return iso_ms(self.date_ms(reading))

    def not_before(self, ms: int) -> None:
        """Move every date forward so that now is ``ms`` or later (dates never go back)."""
        now = self.date_ms(self.clock())
        if now < ms:
            self._epoch_ms += ms - now

    def new_id(self, kind: str, project_id: str, addon_id: str) -> tuple[str, str]:
        """A fresh ``(id, uid)`` for a new ``kind`` ("backup", "restore") of an addon.

        Deterministic from the seed, the ids and how many were made before; the id is
        ``<kind>-<12 hex digits>``, the uid a UUID.
        """
        text = f"{self.seed}\x00{kind}\x00{project_id}\x00{addon_id}\x00{next(self._ids)}"
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        return f"{kind}-{digest.hex()[:12]}", str(uuid.UUID(bytes=digest, version=4))

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
