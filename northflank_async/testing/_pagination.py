"""List pagination as the API does it: opaque cursors, ``per_page``, ``page``, page slicing.

A cursor is urlsafe base64 (unpadded) of ``{"k": key, "o": offset, "p": page index}``:
it names its list by ``key`` (so one list's cursor is refused by another) and holds
no server state, so it stays valid on a new mock holding the same data.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from typing import Final

from ._http import ApiError, JSONDict, dumps

MAX_PER_PAGE: Final = 100
_INT_RE: Final = re.compile(r"[0-9]{1,18}")
_CURSOR_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,4096}")


def encode_cursor(key: Sequence[str], offset: int, index: int) -> str:
    """The cursor of list ``key`` for the page at item ``offset``, page ``index`` (0-based)."""
    raw = dumps({"k": list(key), "o": offset, "p": index})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, key: Sequence[str]) -> tuple[int, int] | None:
    """(offset, page index) from a cursor of the list ``key``, or None if it is not one."""
    if not _CURSOR_RE.fullmatch(cursor):
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(decoded, dict) or decoded.get("k") != list(key):
        return None
    offset, index = decoded.get("o"), decoded.get("p")
    if type(offset) is not int or type(index) is not int or offset < 0 or index < 0:
        return None
    return offset, index


def page(
    query: Mapping[str, str],
    name: str,
    key: Sequence[str],
    items: Sequence[JSONDict],
    *,
    sizes: Sequence[int] = (),
    default_per_page: int = 50,
    repeat_cursor: bool = False,
    omit_cursor: bool = False,
) -> JSONDict:
    """The page of ``items`` that ``query`` asks for, as ``{"data": {name: [...]}, ...}``.

    ``cursor`` wins over ``page``; ``per_page`` is 1..100 (``default_per_page``
    without it). ``sizes`` lists exact sizes for the first pages (``per_page`` is
    ignored while they last). ``repeat_cursor`` and ``omit_cursor`` are the
    ``FaultPlan`` faults of those names. Bad parameters raise ``ApiError`` 400.
    """
    per_page = default_per_page
    raw_per_page = query.get("per_page")
    if raw_per_page is not None:
        if not _INT_RE.fullmatch(raw_per_page) or not 1 <= int(raw_per_page) <= MAX_PER_PAGE:
            raise ApiError(
                400,
                "per_page must be an integer between 1 and 100",
                {"parameter": "per_page", "reason": "must be an integer from 1 to 100"},
            )
        per_page = int(raw_per_page)
    cursor = query.get("cursor")
    if cursor is not None:
        position = decode_cursor(cursor, key)
        if position is None:
            raise ApiError(
                400,
                "Invalid cursor",
                {"parameter": "cursor", "reason": "not a cursor for this list"},
            )
        offset, index = position
    elif "page" in query:
        raw_page = query["page"]
        if not _INT_RE.fullmatch(raw_page) or int(raw_page) < 1:
            raise ApiError(
                400,
                "page must be an integer of at least 1",
                {"parameter": "page", "reason": "must be an integer >= 1"},
            )
        index = int(raw_page) - 1
        if index < len(sizes):
            offset = sum(sizes[:index])
        else:
            offset = sum(sizes) + (index - len(sizes)) * per_page
    else:
        offset, index = 0, 0
    listed = index < len(sizes)
    size = sizes[index] if listed else per_page
    chunk = items[offset : offset + size]
    end = offset + len(chunk)
    has_next = end < len(items) or (listed and (index + 1 < len(sizes) or size == 0))
    pagination: JSONDict = {"hasNextPage": has_next}
    if repeat_cursor:
        pagination["hasNextPage"] = True
        pagination["cursor"] = cursor if cursor is not None else encode_cursor(key, offset, index)
    elif omit_cursor:
        pagination["hasNextPage"] = True
    elif has_next:
        pagination["cursor"] = encode_cursor(key, end, index + 1)
    pagination["count"] = len(chunk)
    return {"data": {name: chunk}, "pagination": pagination}
