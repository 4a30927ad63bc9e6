"""The JSON parser for response bodies: orjson when installed (the ``speedups`` extra)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["PARSER", "loads"]

loads: Callable[[bytes], Any]
try:
    import orjson
except ImportError:  # pragma: no cover - depends on whether the speedups extra is installed
    loads = json.loads
    PARSER = "json"
else:  # pragma: no cover - depends on whether the speedups extra is installed
    loads = orjson.loads
    PARSER = "orjson"
