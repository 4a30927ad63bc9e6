"""The rules of what the storage origin serves for a backup, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from northflank_async.testing._storage_content import (
    BLOCK,
    CHUNK,
    fallback_size,
    http_date,
    iter_object,
    object_bytes,
    object_date_ms,
    object_etag,
    object_extension,
    object_size,
    parse_range,
)


def test_each_block_starts_with_its_offset() -> None:
    """Block k is its 8-byte big-endian offset, then the id's pattern: neighbours differ."""
    data = object_bytes("backup-1", 0, 3 * BLOCK)
    blocks = [data[k * BLOCK : (k + 1) * BLOCK] for k in range(3)]
    assert [(k * BLOCK).to_bytes(8, "big") for k in range(3)] == [b[:8] for b in blocks]
    assert blocks[0][8:] == blocks[1][8:] == blocks[2][8:]
    assert blocks[0] != blocks[1] != blocks[2]
    # A client that repeats the last 8 bytes of a block instead of the next marker differs.
    assert data[BLOCK - 8 : BLOCK] != data[BLOCK : BLOCK + 8]


def test_bytes_depend_on_the_backup_id_only() -> None:
    """The same id gives the same bytes every time; another id other bytes."""
    assert object_bytes("backup-1", 0, 5000) == object_bytes("backup-1", 0, 5000)
    assert object_bytes("backup-1", 8, 5000) != object_bytes("backup-2", 8, 5000)


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 0), (5, 5), (7, 6), (0, 1), (3, BLOCK + 20), (BLOCK - 1, BLOCK + 1), (BLOCK, 2 * BLOCK)],
)
def test_slices_agree_with_the_whole(start: int, end: int) -> None:
    """Bytes [start, end) are that slice of the object, across block boundaries too."""
    whole = object_bytes("backup-1", 0, 3 * BLOCK)
    assert whole[start:end] == object_bytes("backup-1", start, end)


@pytest.mark.parametrize(("start", "end"), [(0, 3 * CHUNK + 17), (12_345, 2 * CHUNK), (5, 9)])
def test_pieces_join_to_the_slice(start: int, end: int) -> None:
    """``iter_object`` yields the slice in pieces of at most CHUNK, aligned after the first."""
    pieces = list(iter_object("backup-1", start, end))
    assert object_bytes("backup-1", start, end) == b"".join(pieces)
    assert all(0 < len(piece) <= CHUNK for piece in pieces)
    offsets = [start + sum(len(p) for p in pieces[:i]) for i in range(1, len(pieces))]
    assert all(offset % BLOCK == 0 for offset in offsets)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-", (0, 1000)),
        ("bytes=100-", (100, 1000)),
        ("bytes=100-199", (100, 200)),
        ("bytes=0-0", (0, 1)),
        ("bytes=999-999", (999, 1000)),
        ("bytes=5-99999", (5, 1000)),
        ("BYTES=1-2", (1, 3)),
        (" bytes=1-2 ", (1, 3)),
        ("bytes=-10", (990, 1000)),
        ("bytes=-5000", (0, 1000)),
        ("bytes=1000-", (1000, 1000)),
        ("bytes=2000-3000", (2000, 1000)),
        ("bytes=-0", (1000, 1000)),
        ("bytes=" + "9" * 5000 + "-", (10**30, 1000)),
        ("bytes=3-" + "9" * 5000, (3, 1000)),
        ("bytes=5-1", None),
        ("bytes=0-1,5-6", None),
        ("bytes=-", None),
        ("bytes=a-b", None),
        ("items=0-1", None),
        ("bytes 0-1", None),
        ("", None),
    ],
)
def test_range_header(header: str, expected: tuple[int, int] | None) -> None:
    """One range is understood; past the end starts at or after the size; the rest is None."""
    assert expected == parse_range(header, 1000)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"source": {"type": "snapshot"}, "compressionType": "zstd"}, ".tar.gz"),
        ({"source": {"type": "liveInstance"}}, ".dump.gz"),
        ({"source": {"type": "liveInstance"}, "compressionType": "gz"}, ".dump.gz"),
        ({"source": {"type": "externalDump"}, "compressionType": "zstd"}, ".dump.zst"),
        ({"source": {"type": "sameAddon"}, "compressionType": "lz4"}, ".dump.gz"),
        ({"source": {}}, ".tar.gz"),
        ({}, ".tar.gz"),
        (None, ".tar.gz"),
    ],
)
def test_extension_by_kind(config: Any, expected: str) -> None:
    """A snapshot is a .tar.gz, a dump .dump.gz or .dump.zst, anything else a .tar.gz."""
    assert expected == object_extension({"id": "b", "config": config})


@pytest.mark.parametrize(
    ("size", "expected"),
    [("123456", 123456), (4096, 4096), ("1" + "0" * 12, 10**12)],
)
def test_size_from_the_config(size: object, expected: int) -> None:
    """``config.size``, a string of digits (or an int), is the object's size."""
    assert expected == object_size({"id": "b", "config": {"size": size}})


@pytest.mark.parametrize("size", ["0", 0, "", "12a", "-5", "١٢", True, 1.5, None, "9" * 40])
def test_size_falls_back_when_unreadable(size: object) -> None:
    """A zero or unreadable size gives the id's small fallback size, 1024 to 2047 bytes."""
    served = object_size({"id": "backup-7", "config": {"size": size}})
    assert fallback_size("backup-7") == served
    assert 1024 <= served < 2048


def test_fallback_size_is_stable_and_spread() -> None:
    """The fallback is a function of the id, and not the same for every id."""
    assert fallback_size("x") == fallback_size("x")
    assert len({fallback_size(f"backup-{i}") for i in range(20)}) > 1


def test_etag_is_strong_and_per_object() -> None:
    """The ETag is quoted (strong), stable, and changes with the id or the size."""
    etag = object_etag("b", 10)
    assert (etag, True) == (object_etag("b", 10), etag.startswith('"') and etag.endswith('"'))
    assert len({etag, object_etag("b", 11), object_etag("c", 10)}) == 3


@pytest.mark.parametrize(
    ("backup", "expected"),
    [
        (
            {"completedAt": "2024-03-01T10:00:05.500Z", "createdAt": "2024-03-01T09:00:00Z"},
            "Fri, 01 Mar 2024 10:00:05 GMT",
        ),
        (
            {"completedAt": None, "createdAt": "2024-03-01T09:00:00"},
            "Fri, 01 Mar 2024 09:00:00 GMT",
        ),
        ({"completedAt": "soon"}, "Wed, 01 Jan 2025 00:00:00 GMT"),
        ({}, "Wed, 01 Jan 2025 00:00:00 GMT"),
    ],
)
def test_last_modified(backup: dict[str, Any], expected: str) -> None:
    """The object dates from ``completedAt``, else ``createdAt``, else the date given."""
    assert expected == http_date(object_date_ms(backup, 1_735_689_600_000))
