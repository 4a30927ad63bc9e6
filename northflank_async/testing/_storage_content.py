"""What the mock's storage origin serves for a backup: its name, size, bytes and ranges.

Pure rules, no HTTP. The bytes of a backup's object are deterministic from its id and
never held whole in memory: a 64 KiB pattern block is derived once per id with
``hashlib.shake_256``, and block ``k`` of the object (bytes ``k * 65536`` up to the
next block) is the 8-byte big-endian offset ``k * 65536`` followed by the pattern
block minus its first 8 bytes. Every block differs from its neighbours by that offset
marker, so a client that repeats or skips data at a block boundary gets different
bytes. An object of size ``n`` is the first ``n`` bytes of that endless sequence.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Final

BLOCK: Final = 1 << 16
"""Bytes in one block of an object (each starts with its offset)."""
CHUNK: Final = 1 << 18
"""Bytes the storage origin writes at a time (a multiple of ``BLOCK``)."""
_MARKER: Final = 8
_RANGE: Final = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)
_HUGE: Final = 10**30
"""Stands for any number written with more digits than ``int()`` should parse."""


def _stable_hash(text: str) -> int:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@functools.lru_cache(maxsize=64)
def _tail(backup_id: str) -> bytes:
    """The pattern block of ``backup_id`` without its first 8 bytes (room for the marker)."""
    seed = b"northflank-async mock backup\x00" + backup_id.encode("utf-8", "surrogatepass")
    return hashlib.shake_256(seed).digest(BLOCK)[_MARKER:]


def object_bytes(backup_id: str, start: int, end: int) -> bytes:
    """Bytes ``[start, end)`` of the object of ``backup_id`` (``b""`` when ``end <= start``).

    The caller keeps ``end`` within the object's size; ``start`` must be >= 0.
    """
    if end <= start:
        return b""
    tail = _tail(backup_id)
    first, last = start // BLOCK, (end - 1) // BLOCK
    parts: list[bytes] = []
    for block in range(first, last + 1):
        parts.append((block * BLOCK).to_bytes(_MARKER, "big"))
        parts.append(tail)
    data = b"".join(parts)
    skip = start - first * BLOCK
    # A whole-blocks slice of bytes is the same object: no copy on the aligned path.
    return data[skip : skip + end - start]


def iter_object(backup_id: str, start: int, end: int, chunk: int = CHUNK) -> Iterator[bytes]:
    """Bytes ``[start, end)`` of the object in pieces of at most ``chunk`` bytes.

    The first piece ends on a block boundary, so the rest are built from whole blocks.
    """
    position = start
    while position < end:
        stop = min(end, (position // BLOCK) * BLOCK + chunk)
        yield object_bytes(backup_id, position, stop)
        position = stop


def _digits(text: str) -> int:
    # int() refuses more than 4300 digits; any number that long is past every object's end.
    return int(text) if len(text) <= 30 else _HUGE


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """The ``[start, end)`` a ``Range`` header asks of an object of ``size`` bytes.

    ``bytes=N-``, ``bytes=N-M`` (``M`` past the end is the end) and the suffix form
    ``bytes=-N`` (the last ``N`` bytes) are understood. ``None`` for a header to ignore
    (malformed, another unit, ``M < N``, or several ranges), as HTTP allows. A range no
    byte of the object satisfies comes back with ``start >= size`` (answer 416).
    """
    match = _RANGE.fullmatch(value.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first:
        if not last:
            return None
        suffix = _digits(last)
        return (size, size) if suffix == 0 else (max(0, size - suffix), size)
    start = _digits(first)
    if not last:
        return start, size
    stop = _digits(last)
    if stop < start:
        return None
    return start, min(stop + 1, size)


def fallback_size(backup_id: str) -> int:
    """The size served for a backup without a readable non-zero size: 1024 to 2047 bytes."""
    return 1024 + _stable_hash(backup_id) % 1024


def object_size(backup: Mapping[str, Any]) -> int:
    """The size of the object served for ``backup``: its ``config.size``, else a fallback.

    ``config.size`` is a string of digits in the API's JSON (an int is taken too). When
    it is missing, unreadable or 0, the size is ``fallback_size`` of the id, so every
    backup has something to serve.
    """
    config = backup.get("config")
    raw = config.get("size") if isinstance(config, Mapping) else None
    size = 0
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 30:
        size = int(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        size = raw
    return size if size > 0 else fallback_size(str(backup.get("id")))


def object_extension(backup: Mapping[str, Any]) -> str:
    """The file extension of ``backup``'s object: ``.tar.gz``, ``.dump.gz`` or ``.dump.zst``.

    A snapshot (``config.source.type`` ``snapshot``) is a ``.tar.gz``; any other known
    source is a dump, compressed by ``config.compressionType`` (``zstd``: ``.dump.zst``,
    anything else ``.dump.gz``); no source type at all is a ``.tar.gz``.
    """
    config = backup.get("config")
    if not isinstance(config, Mapping):
        return ".tar.gz"
    source = config.get("source")
    kind = source.get("type") if isinstance(source, Mapping) else None
    if not isinstance(kind, str) or kind == "snapshot":
        return ".tar.gz"
    return ".dump.zst" if config.get("compressionType") == "zstd" else ".dump.gz"


def object_etag(backup_id: str, size: int) -> str:
    """The quoted, strong ``ETag`` of the object of ``backup_id`` with ``size`` bytes."""
    digest = hashlib.blake2b(f"{backup_id}\x00{size}".encode("utf-8", "surrogatepass"))
    return f'"{digest.hexdigest()[:32]}"'


def http_date(ms: int) -> str:
    """Epoch milliseconds as an HTTP date (``Wed, 01 Jan 2025 00:00:00 GMT``)."""
    return format_datetime(datetime.fromtimestamp(ms // 1000, UTC), usegmt=True)


def goog_date(ms: int) -> str:
    """Epoch milliseconds in the ``X-Goog-Date`` form ``20250101T000000Z``."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y%m%dT%H%M%SZ")


def object_date_ms(backup: Mapping[str, Any], fallback_ms: int) -> int:
    """When ``backup``'s object was written: ``completedAt``, else ``createdAt``, else given."""
    for key in ("completedAt", "createdAt"):
        value = backup.get(key)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                continue
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return int(parsed.timestamp() * 1000)
    return fallback_ms
