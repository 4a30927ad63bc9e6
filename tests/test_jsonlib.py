"""The JSON parser of response bodies: orjson when installed, always what ``json.loads`` gives."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from northflank_async import (
    _jsonlib,
)

# -- the JSON parser ---------------------------------------------------------------------------

needs_orjson = pytest.mark.skipif(_jsonlib.PARSER != "orjson", reason="orjson is not installed")

_NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=2**62, max_value=2**80),
    st.integers(min_value=-(2**80), max_value=-(2**62)),
    st.floats(),
)
_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | _NUMBERS | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def same_json(expected: Any, actual: Any) -> bool:
    """Equal values of equal types, NaN included."""
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, float):
        return (math.isnan(expected) and math.isnan(actual)) or repr(expected) == repr(actual)
    if isinstance(expected, list):
        return len(expected) == len(actual) and all(map(same_json, expected, actual))
    if isinstance(expected, dict):
        return list(expected) == list(actual) and all(
            same_json(expected[key], actual[key]) for key in expected
        )
    return bool(expected == actual)


@given(_DOCUMENTS, st.booleans())
def test_loads_gives_what_json_loads_gives(document: Any, ascii_only: bool) -> None:
    """Any document, big integers, non-finite floats and lone surrogates included, parses
    to exactly what ``json.loads`` gives."""
    body = json.dumps(document, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")

    try:
        expected = json.loads(body)
    except ValueError as exc:
        with pytest.raises(type(exc), match=re.escape(str(exc))):
            _jsonlib.loads(body)
        return
    assert same_json(expected, _jsonlib.loads(body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"size": 123456789012345678901234567890}',
        b'{"n": -9223372036854775809, "m": 18446744073709551616}',
        b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e400}',
        b'{"s": "\\ud800"}',
        b'\xef\xbb\xbf{"bom": true}',
        '{"utf16": 1}'.encode("utf-16"),
        '{"emoji": "\U0001f600", "accent": "é"}'.encode(),
        b'{"id": "backup-0000000000000000000000"}',
    ],
)
def test_loads_matches_json_loads_on_edge_cases(body: bytes) -> None:
    """Bodies orjson reads differently or refuses give what ``json.loads`` gives."""
    assert same_json(json.loads(body), _jsonlib.loads(body))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>", "Expecting value"),
        (b'{"a": 1', "Expecting ',' delimiter"),
        (b'"\xff"', "^not UTF-8 text$"),
        (b"[" * 100_000 + b"]" * 100_000, "^nested too deeply$"),
        (b'{"size": ' + b"9" * 5000 + b"}", r"^a number too long \(over 4300 digits\)$"),
        (b"[" + b"1" * 5000 + b"]", "number too long"),
    ],
)
def test_loads_refuses_bad_bodies_with_value_error(body: bytes, reason: str) -> None:
    """Bad JSON, bad UTF-8, absurd nesting and huge numbers raise ValueError, never another."""
    with pytest.raises(ValueError, match=reason):
        _jsonlib.loads(body)


@pytest.mark.parametrize(
    "body",
    [b'"\xff"', b"[" * 100_000 + b"]" * 100_000, b"[" + b"7" * 5000 + b"]"],
)
def test_unreadable_json_is_a_json_problem_saying_why(body: bytes) -> None:
    """What is JSON-like but unreadable is a JSONProblem, so messages can say why."""
    with pytest.raises(_jsonlib.JSONProblem) as caught:
        _jsonlib.loads(body)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


@needs_orjson
def test_stdlib_switch_selects_json() -> None:
    """The benchmarks' private environment switch makes the SDK parse with stdlib json."""
    command = "from northflank_async import _jsonlib; print(_jsonlib.PARSER)"
    result = subprocess.run(
        [sys.executable, "-c", command],
        env={"_NORTHFLANK_ASYNC_STDLIB_JSON": "1", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert "json\n" == result.stdout
