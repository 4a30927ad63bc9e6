"""The tuned converter against the detailed one, and the JSON parser against ``json``.

``converter`` structures through functions compiled by ``_convert._Compiler``;
``detailed_converter`` through cattrs' own generated functions. They must give the
same objects for every input, and refuse the same inputs for the same reasons.
"""

from __future__ import annotations

import copy
import json
import math
import re
import subprocess
import sys
import types
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from northflank_async import (
    AdditionalDestination,
    Addon,
    Backup,
    BackupSource,
    DestinationType,
    Pagination,
    Project,
    ResponseValidationError,
    _convert,
    _jsonlib,
    converter,
)
from northflank_async._convert import detailed_converter, structure_items
from northflank_async.testing import MockNorthflank, example_backup

#: The backup of the API reference's example response.
SEED_BACKUP: dict[str, Any] = example_backup()


def strict(value: Any) -> Any:
    """``value`` as nested tuples that also record every type (so "gz" differs from GZ)."""
    if attrs.has(type(value)):
        return (
            type(value),
            tuple((f.name, strict(getattr(value, f.name))) for f in attrs.fields(type(value))),
        )
    if isinstance(value, list | tuple):
        return (type(value), tuple(strict(item) for item in value))
    if isinstance(value, datetime):
        return (datetime, value.isoformat(), value.utcoffset())
    return (type(value), value)


def leaves(exc: BaseException) -> list[tuple[type[BaseException], str]]:
    """Every leaf exception of a (possibly nested) cattrs error group, as (type, message)."""
    if isinstance(exc, cattrs.BaseValidationError):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [(type(exc), str(exc))]


def outcome(conv: cattrs.Converter, value: Any, tp: Any) -> tuple[str, Any]:
    try:
        return "ok", strict(conv.structure(value, tp))
    except Exception as exc:
        return "error", leaves(exc)


def assert_same(value: Any, tp: Any) -> None:
    """The tuned converter gives what the detailed one gives, or fails for one of its reasons."""
    fast = outcome(converter, value, tp)
    detailed = outcome(detailed_converter, value, tp)
    assert detailed[0] == fast[0], (value, fast, detailed)
    if fast[0] == "ok":
        assert detailed[1] == fast[1]
    else:
        (reason,) = fast[1]
        assert reason in detailed[1], (value, fast, detailed)


def as_parsed(value: Any) -> Any:
    return json.loads(json.dumps(value))


# -- generated data -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("addon_type", ["postgresql", "mongodb", "redis"])
def test_generated_backups_structure_identically(seed: int, addon_type: str) -> None:
    """Two thousand generated backups give strictly the same objects through both converters."""
    mock = MockNorthflank(seed=seed)
    mock.add_addon("p", "a", addon_type=addon_type)
    backups = as_parsed(mock.generate_backups("p", "a", 2000))

    fast = converter.structure(backups, list[Backup])

    assert strict(detailed_converter.structure(backups, list[Backup])) == strict(fast)
    assert [b["id"] for b in backups] == [b.id for b in fast]


def test_generated_team_structures_identically() -> None:
    """Generated projects and addons give strictly the same objects through both converters."""
    mock = MockNorthflank()
    mock.generate_team(projects=3, addons_per_project=4, backups_per_addon=0)
    projects = as_parsed([mock.add_project(f"project-{p}") for p in range(1, 4)])
    addons = as_parsed(
        [
            addon
            for p in range(1, 4)
            for addon in mock._projects[f"project-{p}"].addon_list  # the stored addon JSON
        ]
    )

    assert strict(detailed_converter.structure(projects, list[Project])) == strict(
        converter.structure(projects, list[Project])
    )
    assert strict(detailed_converter.structure(addons, list[Addon])) == strict(
        converter.structure(addons, list[Addon])
    )


def test_seed_example_round_trips() -> None:
    """The documented example still round-trips through the tuned converter."""
    assert SEED_BACKUP == converter.unstructure(converter.structure(SEED_BACKUP, Backup))


def test_converter_is_a_cattrs_converter() -> None:
    """The exported converter is a cattrs Converter users can call structure/unstructure on."""
    assert isinstance(converter, cattrs.Converter)
    backup = converter.structure(SEED_BACKUP, Backup)
    assert SEED_BACKUP == converter.unstructure(backup, Backup)


def test_mapping_that_is_no_dict_structures_the_same() -> None:
    """A read-only mapping is read like a dict by both converters."""
    value = types.MappingProxyType(copy.deepcopy(SEED_BACKUP))

    assert strict(converter.structure(SEED_BACKUP, Backup)) == strict(
        converter.structure(value, Backup)
    )
    assert_same(value, Backup)


# -- interning ----------------------------------------------------------------------------


def test_repeated_small_objects_are_shared() -> None:
    """Equal sources and destinations of different backups are one (frozen) object."""
    first, second = converter.structure(as_parsed([SEED_BACKUP, SEED_BACKUP]), list[Backup])

    assert first.config.source is second.config.source
    assert first.config.additional_destinations[0] is second.config.additional_destinations[0]
    assert BackupSource(type="snapshot") == first.config.source


def test_interning_keeps_types_apart() -> None:
    """A destination sharing its fields' values but not their types is not mixed up."""
    known = converter.structure(
        {"destinationId": "d", "retentionTime": 1, "type": "custom"}, AdditionalDestination
    )
    unknown = converter.structure(
        {"destinationId": "d", "retentionTime": 1, "type": "customer"}, AdditionalDestination
    )

    assert DestinationType.CUSTOM is known.type
    assert "customer" == unknown.type
    with pytest.raises(TypeError):
        converter.structure(
            {"destinationId": "d", "retentionTime": True, "type": "custom"}, AdditionalDestination
        )


def test_interning_caches_stay_bounded() -> None:
    """Ten thousand distinct destinations leave no cache larger than its limit."""
    backup = copy.deepcopy(SEED_BACKUP)
    backup["config"]["additionalDestinations"] = [
        {"destinationId": f"destination-{i}", "retentionTime": i, "type": "custom"}
        for i in range(10_000)
    ]

    structured = converter.structure(backup, Backup)

    assert 10_000 == len(structured.config.additional_destinations)
    assert "destination-9999" == structured.config.additional_destinations[-1].destination_id
    assert all(len(cache) <= _convert._INTERN_LIMIT for cache in _convert._INTERN_CACHES.values())


# -- models that need their __init__ --------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Checked:
    name: str = attrs.field(validator=attrs.validators.min_len(2))
    tags: list[str] = attrs.Factory(list)
    seen: bool = attrs.field(init=False, default=False)


def test_model_with_validator_and_factory_goes_through_init() -> None:
    """A model with validators, factories or init=False fields is built by its __init__."""
    assert _Checked(name="ab") == converter.structure({"name": "ab"}, _Checked)
    with pytest.raises(ValueError, match="Length of 'name' must be >= 2"):
        converter.structure({"name": "a"}, _Checked)


@attrs.frozen
class _PostInit:
    name: str

    def __attrs_post_init__(self) -> None:
        if self.name == "bad":
            raise ValueError("post-init refused 'bad'")


@attrs.frozen
class _OwnNew:
    name: str

    def __new__(cls, *args: object, **kwargs: object) -> _OwnNew:
        instance: _OwnNew = super().__new__(cls)
        return instance


@pytest.mark.parametrize("cls", [_PostInit, _OwnNew])
def test_model_with_post_init_or_own_new_goes_through_init(cls: type[Any]) -> None:
    """A model with __attrs_post_init__ or its own __new__ is built by calling the class."""
    assert cls(name="ok") == converter.structure({"name": "ok"}, cls)
    assert_same({"name": 5}, cls)


def test_post_init_runs() -> None:
    """The post-init hook of a model built through __init__ runs and can refuse."""
    with pytest.raises(ValueError, match="post-init refused 'bad'"):
        converter.structure({"name": "bad"}, _PostInit)


@attrs.frozen(kw_only=True)
class _Node:
    name: str
    children: tuple[_Node, ...] = ()


def test_recursive_model_structures_identically() -> None:
    """A model that contains itself is structured through its own hook at each level."""
    tree = {"name": "root", "children": [{"name": "a", "children": [{"name": "b"}]}]}

    node = converter.structure(tree, _Node)

    assert _Node(name="root", children=(_Node(name="a", children=(_Node(name="b"),)),)) == node
    assert_same(tree, _Node)
    assert_same({"name": "root", "children": [{"name": 1}]}, _Node)


def test_union_of_str_and_a_non_enum_is_no_tolerant_enum() -> None:
    """Only ``SomeStrEnum | str`` unions get the tolerant enum rule."""
    assert _convert._enum_of(int | str) is None


# -- properties ------------------------------------------------------------------------------

_STATUSES = ["scheduled", "in-progress", "completed", "aborting", "aborted", "failed"]
_OFFSETS = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)), None]


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    moment = draw(
        st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1))
    ).replace(tzinfo=draw(st.sampled_from(_OFFSETS)))
    text = moment.isoformat(timespec=draw(st.sampled_from(["seconds", "milliseconds", "auto"])))
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


def optional(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, a JSON null, or (as ``_ABSENT``) no key at all."""
    return st.one_of(values, st.none(), st.just(_ABSENT))


_ABSENT = object()
_TEXT = st.text(max_size=12)


def known_or_not(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(known), _TEXT)


def json_object(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not _ABSENT}


@st.composite
def backups(draw: st.DrawFn) -> dict[str, Any]:
    destinations = st.builds(
        lambda destination_id, retention, kind: json_object(
            destinationId=destination_id, retentionTime=retention, type=kind
        ),
        _TEXT,
        optional(st.integers(0, 2**70) | st.integers(0, 400).map(float)),
        known_or_not(["custom"]),
    )
    config = json_object(
        size=draw(st.integers(0, 2**70).map(str) | st.integers(0, 2**70)),
        source=draw(
            optional(
                st.builds(
                    lambda kind: json_object(type=kind),
                    optional(known_or_not(["snapshot", "liveInstance", "externalDump"])),
                )
            )
        ),
        compressionType=draw(optional(known_or_not(["gz", "zstd"]))),
        additionalDestinations=draw(
            st.one_of(st.just(_ABSENT), st.lists(destinations, max_size=3))
        ),
        addonVersion=draw(optional(_TEXT)),
    )
    backup = json_object(
        id=draw(_TEXT),
        name=draw(_TEXT),
        status=draw(known_or_not(_STATUSES)),
        createdAt=draw(timestamps()),
        completedAt=draw(optional(timestamps())),
        config=config,
        customDestinationId=draw(optional(_TEXT)),
    )
    backup.update(draw(st.dictionaries(st.sampled_from(["extra", "labels", "v2"]), _TEXT)))
    return backup


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*path, index))
    return found


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(backups())
def test_valid_backups_structure_identically(backup: dict[str, Any]) -> None:
    """Any backup the API could send gives strictly the same Backup through both converters."""
    assert_same(backup, Backup)
    assert_same([backup, backup], list[Backup])


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(backups(), st.data())
def test_damaged_backups_fail_identically(backup: dict[str, Any], data: st.DataObject) -> None:
    """With one value replaced or removed anywhere, both converters agree: same object, or
    the tuned one fails for one of the detailed one's reasons."""
    path = data.draw(st.sampled_from(_paths(backup)))
    if not path:
        damaged: Any = data.draw(_JSON)
    else:
        damaged = copy.deepcopy(backup)
        parent = damaged
        for step in path[:-1]:
            parent = parent[step]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_JSON)

    assert_same(damaged, Backup)


def _seed_with(*path: str, value: Any) -> dict[str, Any]:
    backup = copy.deepcopy(SEED_BACKUP)
    parent = backup
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return backup


@pytest.mark.parametrize(
    "bad",
    [
        _seed_with("config", "additionalDestinations", value=""),
        _seed_with("config", "additionalDestinations", value={}),
        _seed_with("config", "additionalDestinations", value="offsite"),
        _seed_with("config", "additionalDestinations", value={"destinationId": "x"}),
        _seed_with("config", "additionalDestinations", value=None),
        _seed_with("config", "additionalDestinations", value=["x"]),
        _seed_with("config", value=[]),
        _seed_with("config", value=""),
        _seed_with("config", value=["1234"]),
        _seed_with("config", "source", value="snapshot"),
        _seed_with("config", "source", value=""),
        _seed_with("config", "source", value=[]),
        _seed_with("config", "source", value=0),
        _seed_with("config", "size", value=" 12"),
        _seed_with("config", "size", value="+12"),
        _seed_with("config", "size", value="1_000"),
        _seed_with("config", "size", value="\u0661\u0662"),
        _seed_with("config", "size", value=-1),
        _seed_with("createdAt", value="2021-13-01T00:00:00Z"),
        _seed_with("status", value=["completed"]),
    ],
    ids=lambda bad: repr(bad["config"] if bad["config"] != SEED_BACKUP["config"] else bad)[:60],
)
def test_wrong_containers_and_values_fail_identically(bad: dict[str, Any]) -> None:
    """Strings, objects or null where a list or object belongs, and sizes int() would take
    but the API never sends, are refused by both converters for the same reason."""
    with pytest.raises((TypeError, ValueError, KeyError, AttributeError)) as caught:
        converter.structure(bad, Backup)
    with pytest.raises(cattrs.ClassValidationError) as detailed:
        detailed_converter.structure(bad, Backup)

    assert (type(caught.value), str(caught.value)) in leaves(detailed.value)


@given(
    st.fixed_dictionaries(
        {"hasNextPage": st.booleans() | _JSON, "count": st.integers() | _JSON},
        optional={"cursor": _TEXT | _JSON},
    )
)
def test_pagination_structures_identically(pagination: dict[str, Any]) -> None:
    """Any pagination object gives the same result through both converters."""
    assert_same(pagination, Pagination)


def test_structure_items_names_the_bad_value_after_good_ones() -> None:
    """A page failing in the tuned converter is explained item by item with the detailed one."""
    bad = copy.deepcopy(SEED_BACKUP)
    bad["config"]["additionalDestinations"][0]["retentionTime"] = "7"
    items = as_parsed([SEED_BACKUP, SEED_BACKUP, bad])

    with pytest.raises(ResponseValidationError) as caught:
        structure_items(items, Backup, url="https://api.test/v1/x", path="data.backups")

    path = "data.backups[2].config.additionalDestinations[0].retentionTime"
    assert path == caught.value.path
    assert (
        f"GET https://api.test/v1/x: invalid value at {path}: "
        "TypeError: expected an integer, got str '7'"
    ) == str(caught.value)


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
        (b'"\xff"', "can't decode byte 0xff"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_loads_refuses_bad_bodies_with_value_error(body: bytes, reason: str) -> None:
    """Bad JSON, bad UTF-8 and absurd nesting all raise ValueError, never RecursionError."""
    with pytest.raises(ValueError, match=reason):
        _jsonlib.loads(body)


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
