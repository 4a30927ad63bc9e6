"""The health check in Prometheus' text exposition format, and files replaced atomically.

The output is made for node_exporter's textfile collector: gauges with HELP and TYPE
lines, base units in the names (``_seconds``, ``_bytes``), no ``_total`` (nothing here
counts up over time), labels ``project`` and ``addon``. :class:`AtomicFile` writes a
file beside the destination, syncs it to disk and renames it into place, so the
collector never reads half a file.

Per addon (an addon whose backups could not be read has only
``northflank_backup_healthy 0``: its counts are unknown, not zero; the
``last_completed`` ones are left out for an addon that never completed a backup)::

    northflank_backup_last_completed_timestamp_seconds  northflank_backup_in_progress
    northflank_backup_last_completed_age_seconds        northflank_backups
    northflank_backup_last_completed_size_bytes         northflank_backup_completed_bytes
    northflank_backup_failed_in_window                  northflank_backup_healthy

For the run: ``northflank_backup_check_success``, ``_duration_seconds``,
``_timestamp_seconds``, ``_max_age_seconds`` and ``_window_seconds``. A run that
failed has only these, with success 0.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TextIO

import attrs

from .._health import BackupHealth

__all__ = ["AtomicFile", "CheckRun", "escape_label", "exposition"]


@attrs.frozen
class CheckRun:
    """What the exposition says of the run itself."""

    success: bool
    duration: float
    """Seconds the run took."""
    timestamp: datetime
    """The ``now`` the verdicts were made for."""
    max_age: timedelta
    window: timedelta


def escape_label(value: str) -> str:
    """A label value as the exposition format writes it: ``\\``, ``"`` and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    """A sample value: an integer as such, any other number in full (``repr``)."""
    if isinstance(value, int) or value.is_integer():
        return str(int(value))
    return repr(value)


def _family(name: str, help_text: str) -> str:
    return f"# HELP {name} {help_text}\n# TYPE {name} gauge\n"


#: A per-addon gauge: its name, its HELP text, and its value for an addon (None: left out).
_Gauge = tuple[str, str, Callable[[BackupHealth], float | None]]


def _completed_at(health: BackupHealth) -> float | None:
    backup = health.last_completed
    if backup is None:
        return None
    moment = backup.completed_at if backup.completed_at is not None else backup.created_at
    return moment.timestamp()


def _readable(value: Callable[[BackupHealth], float]) -> Callable[[BackupHealth], float | None]:
    """``value``, or None for an addon that could not be read (its counts are unknown)."""
    return lambda health: None if health.error is not None else value(health)


def _age(health: BackupHealth) -> float | None:
    age = health.last_completed_age
    return None if age is None else age.total_seconds()


def _last_size(health: BackupHealth) -> float | None:
    backup = health.last_completed
    return None if backup is None else backup.config.size


_GAUGES: tuple[_Gauge, ...] = (
    (
        "northflank_backup_last_completed_timestamp_seconds",
        "When the addon's last completed backup completed, in Unix time.",
        _completed_at,
    ),
    (
        "northflank_backup_last_completed_age_seconds",
        "Seconds from the addon's last completed backup to the check.",
        _age,
    ),
    (
        "northflank_backup_last_completed_size_bytes",
        "Size of the addon's last completed backup.",
        _last_size,
    ),
    (
        "northflank_backup_failed_in_window",
        "Backups of the addon that failed within the window before the check "
        "(northflank_backup_check_window_seconds).",
        _readable(lambda health: health.failed_in_window),
    ),
    (
        "northflank_backup_in_progress",
        "Backups of the addon not final yet (scheduled, in progress, aborting).",
        _readable(lambda health: health.in_progress),
    ),
    (
        "northflank_backups",
        "Backups of the addon, whatever their status.",
        _readable(lambda health: health.total),
    ),
    (
        "northflank_backup_completed_bytes",
        "Size of every completed backup of the addon, added up.",
        _readable(lambda health: health.completed_bytes),
    ),
    (
        "northflank_backup_healthy",
        "1 when the addon's backups passed every rule of the check, else 0.",
        lambda health: int(health.healthy),
    ),
)


def exposition(results: Sequence[BackupHealth], run: CheckRun) -> str:
    """The whole text exposition: each addon's gauges (sorted by project, addon), then the run's."""
    ordered = sorted(results, key=lambda health: (health.project_id, health.addon_id))
    parts: list[str] = []
    if run.success:
        for name, help_text, value in _GAUGES:
            samples = []
            for health in ordered:
                number = value(health)
                if number is not None:
                    labels = (
                        f'project="{escape_label(health.project_id)}",'
                        f'addon="{escape_label(health.addon_id)}"'
                    )
                    samples.append(f"{name}{{{labels}}} {_number(number)}\n")
            if samples:
                parts.append(_family(name, help_text) + "".join(samples))
    run_gauges = (
        ("success", "1 when the check ran to its end, 0 when it failed.", int(run.success)),
        ("duration_seconds", "How long the check took.", run.duration),
        (
            "timestamp_seconds",
            "The moment the check judged the backups as of, in Unix time.",
            run.timestamp.timestamp(),
        ),
        (
            "max_age_seconds",
            "The age past which a last completed backup is stale.",
            run.max_age.total_seconds(),
        ),
        (
            "window_seconds",
            "How far back failed backups are counted.",
            run.window.total_seconds(),
        ),
    )
    for suffix, help_text, number in run_gauges:
        name = f"northflank_backup_check_{suffix}"
        parts.append(f"{_family(name, help_text)}{name} {_number(number)}\n")
    return "".join(parts)


class AtomicFile:
    """A text file that replaces ``path`` whole, only if its ``with`` block ends without error.

    It is written as a hidden temporary file in the same directory (a rename is atomic
    only within one filesystem), created at once (so OSError, for a directory that is
    missing or not writable, comes before any work), then on success synced to disk,
    made readable by all (0644: the collector may run as another user) and renamed over
    ``path``. On an error the temporary file is removed and ``path`` is left as it was.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._target = Path(path)
        fd, self._name = tempfile.mkstemp(
            dir=self._target.parent, prefix=f".{self._target.name}.", suffix=".tmp"
        )
        self._file: TextIO = os.fdopen(fd, "w", encoding="utf-8", newline="\n")

    def __enter__(self) -> TextIO:
        return self._file

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            try:
                if exc_type is None:
                    self._file.flush()
                    os.fsync(self._file.fileno())
            finally:
                self._file.close()
            if exc_type is None:
                os.chmod(self._name, 0o644)
                os.replace(self._name, self._target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._name)  # gone after the rename; else a failure's leftover
