"""Checks of the arguments users pass, made before any request; pure functions."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

__all__ = ["CONTROL", "check_max_items", "is_int", "path_segment"]

#: Control characters (C0, DEL, C1): never part of an id, a header or a user agent.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def is_int(value: object) -> bool:
    """Whether ``value`` is an int proper (``True`` is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_max_items(max_items: int | None) -> None:
    """Refuse a ``max_items`` that is not None or an int >= 0."""
    if max_items is not None and (not is_int(max_items) or max_items < 0):
        raise ValueError(f"max_items must be an int >= 0 or None, got {max_items!r}")


def path_segment(name: str, value: object) -> str:
    """``value`` percent-encoded as exactly one path segment (``/`` included).

    Refuses what could change the route: non-strings, empty ids, ``.`` and ``..`` in
    any case or percent-encoded form, and control characters.
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if CONTROL.search(value):
        raise ValueError(f"{name} must not contain control characters, got {value!r}")
    decoded = value
    for _ in range(8):  # %252e%252e -> %2e%2e -> ..
        if decoded in (".", ".."):
            raise ValueError(f"{name} must not be {value!r}: it would change the route")
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    if CONTROL.search(decoded):
        raise ValueError(f"{name} must not contain (encoded) control characters, got {value!r}")
    return quote(value, safe="")
