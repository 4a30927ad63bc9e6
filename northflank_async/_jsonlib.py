"""The JSON parser for response bodies: orjson when installed (the ``speedups`` extra).

:func:`loads` gives exactly what ``json.loads`` gives, with either parser:

- orjson reads an integer beyond 64 bits as a float; a body with a run of 19 or more
  digits anywhere (a cheap, conservative test) is therefore parsed by ``json``;
- what orjson refuses and ``json`` accepts (``NaN``, ``Infinity``, ``1e400``, lone
  surrogates, a byte-order mark, UTF-16) is parsed by ``json``;
- a body nested too deeply, a number too long for Python to convert, or bytes that
  are not UTF-8 raise :class:`JSONProblem` (a ValueError) saying so in a few words;
  anything else that is not JSON raises ``json``'s ValueError. Never RecursionError.

Benchmarks only: the environment variable ``_NORTHFLANK_ASYNC_STDLIB_JSON=1``, read at
import, makes the SDK use ``json`` even when orjson is installed (``benchmarks/run.py``
uses it to measure both in one run). It is private and may go away.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["PARSER", "JSONProblem", "loads"]

_DIGITS_TO_ZERO = bytes(0x30 if 0x30 <= byte <= 0x39 else byte for byte in range(256))
_LONG_NUMBER = b"0" * 19


class JSONProblem(ValueError):
    """A body that looks like JSON but cannot be read; the message says why."""


def _stdlib_loads(body: bytes) -> Any:
    problem: str
    try:
        return json.loads(body)
    except RecursionError:
        problem = "nested too deeply"
    except UnicodeDecodeError:
        problem = "not UTF-8 text"
    except ValueError as exc:
        if "digits" not in str(exc):  # CPython: "Exceeds the limit (4300 digits) ..."
            raise
        problem = f"a number too long (over {sys.get_int_max_str_digits()} digits)"
    raise JSONProblem(problem)  # outside the except blocks: nothing chained


loads: Callable[[bytes], Any]
PARSER: str
try:
    if os.environ.get("_NORTHFLANK_ASYNC_STDLIB_JSON"):  # pragma: no cover - run in a subprocess
        raise ImportError("the stdlib json parser was asked for")
    import orjson
except ImportError:  # pragma: no cover - depends on whether the speedups extra is installed
    loads = _stdlib_loads
    PARSER = "json"
else:  # the test extra installs orjson, so this is the path the tests measure
    _orjson_loads = orjson.loads
    _JSONDecodeError = orjson.JSONDecodeError

    def _orjson_or_stdlib_loads(body: bytes) -> Any:
        if _LONG_NUMBER in body.translate(_DIGITS_TO_ZERO):
            return _stdlib_loads(body)  # it may hold an integer beyond 64 bits
        try:
            return _orjson_loads(body)
        except _JSONDecodeError:
            pass
        return _stdlib_loads(body)  # outside the except block: nothing of orjson's chained

    loads = _orjson_or_stdlib_loads
    PARSER = "orjson"
