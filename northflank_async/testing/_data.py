"""Example and generated data: the API reference's backup, realistic backups, a whole team.

Everything here is deterministic from a seed and the ids, and knows nothing of the
store or the server: the mock stores what these functions return.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import hashlib
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from ._http import JSONDict

_EXAMPLE_BACKUP: Final[JSONDict] = {
    "id": "example-backup",
    "name": "Example Backup",
    "status": "completed",
    "createdAt": "2021-01-20T11:19:53.175Z",
    "completedAt": "2021-01-20T11:19:54.494Z",
    "config": {
        "source": {"type": "snapshot"},
        "size": "1234",
        "compressionType": "gz",
        "additionalDestinations": [
            {"destinationId": "example-backup-destination", "retentionTime": 7, "type": "custom"}
        ],
        "addonVersion": "4.4.8",
    },
    "customDestinationId": "example-backup-destination",
}


def example_backup() -> JSONDict:
    """A fresh copy of the backup in the API reference's example response, verbatim.

    Example:

    ```python
    from northflank_async.testing import example_backup

    backup = example_backup()
    print(backup["id"], backup["config"]["size"])  # example-backup 1234
    mock.add_backups("project-1", "postgresql-1", [backup])
    ```

    :returns: the backup's JSON dict (camelCase keys, ``size`` as a string).
    """
    return copy.deepcopy(_EXAMPLE_BACKUP)


_BACKUP_STATUSES: Final = (
    "completed",
    "failed",
    "aborted",
    "scheduled",
    "in-progress",
    "aborting",
    "not-supported",
)
_BACKUP_STATUS_WEIGHTS: Final = (82, 5, 3, 2, 3, 1, 4)
_SOURCE_TYPES: Final = ("snapshot", "liveInstance", "externalDump", "fileUpload", "sameAddon")
_SOURCE_WEIGHTS: Final = (40, 35, 10, 8, 7)
_COMPRESSIONS: Final = ("gz", "zstd")
_COMPRESSION_WEIGHTS: Final = (70, 30)
_NAME_PREFIXES: Final = {
    "snapshot": ("Nightly backup", "Scheduled snapshot"),
    "liveInstance": ("Nightly backup", "Manual backup"),
    "externalDump": ("Import from external database",),
    "fileUpload": ("Uploaded dump",),
    "sameAddon": ("Pre-upgrade backup",),
}
_DESTINATIONS: Final = (
    "offsite-s3",
    "eu-west-archive",
    "cold-storage-2",
    "backup-vault",
    "gcs-longterm",
)
_RETENTION_DAYS: Final = (7, 14, 30, 90, 365)
_ADDON_VERSIONS: Final = {
    "postgresql": ("14.11", "15.6", "16.2", "16.4"),
    "mongodb": ("4.4.8", "5.0.24", "6.0.14", "7.0.5"),
    "redis": ("6.2.14", "7.0.15", "7.2.4"),
    "mysql": ("8.0.35", "8.0.36", "8.4.0"),
    "minio": ("2023.12.23", "2024.1.16", "2024.3.15"),
}
_ADDON_TYPES: Final = ("postgresql", "mongodb", "redis", "mysql", "minio")
_ADDON_STATUSES: Final = ("running", "paused", "backup", "upgrading", "failed", "scaling")
_ADDON_STATUS_WEIGHTS: Final = (70, 10, 5, 5, 5, 5)
_TAGS: Final = ("production", "staging", "critical", "eu-west", "analytics")
_EPOCH_2024_MS: Final = 1_704_067_200_000
_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 86_400_000


def _stable_hash(*parts: str) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@functools.lru_cache(maxsize=4096)
def _iso_date(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))


_TWO_DIGITS: Final = tuple(f"{i:02d}" for i in range(60))
_THREE_DIGITS: Final = tuple(f"{i:03d}" for i in range(1000))


def _iso_ms(ms: int) -> str:
    """Epoch milliseconds as the API writes times: ``2021-01-20T11:19:53.175Z``."""
    # Table lookups and concatenation: several times faster than an f-string here.
    day = ms // _DAY_MS
    rest = ms - day * _DAY_MS
    two = _TWO_DIGITS
    return (
        _iso_date(day) + "T" + two[rest // _HOUR_MS] + ":" + two[rest // 60_000 % 60] + ":"
        + two[rest // 1000 % 60] + "." + _THREE_DIGITS[rest % 1000] + "Z"
    )  # fmt: skip


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as the API writes times: ``2021-01-20T11:19:53.175Z``."""
    return _iso_ms(ms)


def latest_addon_version(addon_type: object) -> str:
    """The newest version generated backups of ``addon_type`` use (postgresql's if unknown)."""
    return _ADDON_VERSIONS.get(str(addon_type), _ADDON_VERSIONS["postgresql"])[-1]


def backup_size(*parts: str) -> int:
    """A plausible size in bytes of a completed backup, 1 MiB to 4 GiB, stable for ``parts``."""
    fraction = _stable_hash(*parts) / 2**64
    return int(2.0 ** (20.0 + 12.0 * fraction))


@contextlib.contextmanager
def _gc_paused(pause: bool) -> Iterator[None]:
    """Pause the cyclic GC while building many dicts (none of them cyclic)."""
    pause = pause and gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause:
            gc.enable()


def _weighted(
    rng: random.Random, options: Sequence[str], weights: Sequence[int], count: int
) -> list[str]:
    """``count`` weighted picks, including every option once ``count`` is 4x their number."""
    picks = rng.choices(options, weights=weights, k=count)
    if count >= 4 * len(options):
        positions = rng.sample(range(count), len(options))
        for option, position in zip(options, positions, strict=True):
            picks[position] = option
    return picks


@dataclass(slots=True)
class BackupSequence:
    """Where an addon's generated backups continue: next index, last time, version."""

    next_index: int
    last_ms: int
    version_index: int


def generate_backups(
    seed: int,
    project_id: str,
    addon_id: str,
    addon_type: object,
    sequence: BackupSequence | None,
    count: int,
) -> tuple[list[JSONDict], BackupSequence]:
    """``count`` realistic backups continuing ``sequence`` (``None``: the first call).

    Deterministic from ``seed``, the ids and the sequence; ``addon_type`` picks the
    versions (postgresql's when unknown). Returns the backups and the sequence,
    advanced (the same object when one was given).
    """
    rng = random.Random(seed + _stable_hash(project_id, addon_id))
    if sequence is None:
        sequence = BackupSequence(0, _EPOCH_2024_MS + rng.randrange(24 * _HOUR_MS), 0)
    else:
        rng.seed(seed + _stable_hash(project_id, addon_id, str(sequence.next_index)))
    versions = _ADDON_VERSIONS.get(str(addon_type), _ADDON_VERSIONS["postgresql"])

    statuses = _weighted(rng, _BACKUP_STATUSES, _BACKUP_STATUS_WEIGHTS, count)
    sources = _weighted(rng, _SOURCE_TYPES, _SOURCE_WEIGHTS, count)
    compressions = _weighted(rng, _COMPRESSIONS, _COMPRESSION_WEIGHTS, count)
    # rng.random() and int arithmetic instead of randrange(): several times faster.
    rand = rng.random
    last_version = len(versions) - 1
    last_ms = sequence.last_ms
    version_index = sequence.version_index
    start = sequence.next_index
    new: list[JSONDict] = []
    append = new.append
    with _gc_paused(count >= 10_000):
        for i in range(count):
            status = statuses[i]
            source = sources[i]
            last_ms += _HOUR_MS + int(5 * _HOUR_MS * rand())  # 1 to 6 hours later
            created = _iso_ms(last_ms)
            if version_index < last_version and rand() < 0.003:
                version_index += 1
            full_size = int(2.0 ** (10.0 + 25.0 * rand()))  # 1 KiB .. 32 GiB
            prefixes = _NAME_PREFIXES[source]
            prefix = prefixes[0] if len(prefixes) == 1 or rand() < 0.7 else prefixes[1]
            if status == "completed":
                size = full_size
                # 20 to 200 MB/s, plus two seconds of overhead.
                duration_ms = 2_000 + int(full_size / (20_000 + 180_000 * rand()))
            elif status == "scheduled" or status == "not-supported":
                size = 0
                duration_ms = 200 + int(2_800 * rand())
            else:
                size = int(full_size * rand())
                duration_ms = 1_000 + int(900_000 * rand())
            config: JSONDict = {
                "source": {"type": source},
                "size": str(size),
                "compressionType": compressions[i],
            }
            if rand() < 0.15:
                first = int(rand() * len(_DESTINATIONS))
                picked = [_DESTINATIONS[first]]
                if rand() < 0.3:
                    picked.append(_DESTINATIONS[(first + 1) % len(_DESTINATIONS)])
                config["additionalDestinations"] = [
                    {
                        "destinationId": destination,
                        "retentionTime": _RETENTION_DAYS[int(rand() * len(_RETENTION_DAYS))],
                        "type": "custom",
                    }
                    for destination in picked
                ]
            config["addonVersion"] = versions[version_index]
            backup: JSONDict = {
                "id": f"backup-{start + i:06d}-{int(rand() * 0x1000000):06x}",
                "name": f"{prefix} {created[:10]}",
                "status": status,
                "createdAt": created,
            }
            # Absent while scheduled, null while running or aborting, set once finished.
            if status == "in-progress" or status == "aborting":
                backup["completedAt"] = None
            elif status != "scheduled":
                backup["completedAt"] = _iso_ms(last_ms + duration_ms)
            backup["config"] = config
            if source != "snapshot" and rand() < 0.2:
                backup["customDestinationId"] = _DESTINATIONS[int(rand() * len(_DESTINATIONS))]
            append(backup)
    sequence.next_index = start + count
    sequence.last_ms = last_ms
    sequence.version_index = version_index
    return new, sequence


@dataclass(frozen=True, slots=True)
class TeamAddon:
    """One generated addon: the arguments of ``MockNorthflank.add_addon``."""

    id: str
    name: str
    addon_type: str
    status: str
    tags: list[str]
    description: str | None


@dataclass(frozen=True, slots=True)
class TeamProject:
    """One generated project and its addons."""

    id: str
    name: str
    description: str | None
    addons: tuple[TeamAddon, ...]


def generate_team(
    seed: int, team_id: str, projects: int, addons_per_project: int
) -> Iterator[TeamProject]:
    """Projects ``project-1``.. with addons ``<type>-<n>``, deterministic from the seed.

    Addon types cycle through postgresql, mongodb, redis, mysql and minio (shifted
    by one per project); statuses are mostly ``running``.
    """
    rng = random.Random(seed + _stable_hash("team", team_id))
    for p in range(1, projects + 1):
        addons: list[TeamAddon] = []
        for a in range(addons_per_project):
            addon_type = _ADDON_TYPES[(p - 1 + a) % len(_ADDON_TYPES)]
            status = rng.choices(_ADDON_STATUSES, weights=_ADDON_STATUS_WEIGHTS)[0]
            tags = rng.sample(_TAGS, rng.randrange(3))
            description = f"{addon_type} for project {p}" if rng.random() < 0.5 else None
            addons.append(
                TeamAddon(
                    f"{addon_type}-{a + 1}",
                    f"{addon_type.capitalize()} {a + 1}",
                    addon_type,
                    status,
                    tags,
                    description,
                )
            )
        yield TeamProject(
            f"project-{p}",
            f"Project {p}",
            f"Generated project {p}" if p % 2 else None,
            tuple(addons),
        )
