"""The shape of ``northflank_async.testing``: its exports and its submodules' imports."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import northflank_async.testing as testing

EXPECTED_ALL = [
    "BackupLifecycle",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "ManualClock",
    "MockNorthflank",
    "MockStorage",
    "RecordedRequest",
    "StorageFaults",
    "example_backup",
]
PACKAGE = Path(testing.__file__).parent


def local_imports(module: str) -> set[str]:
    """The package's own modules that ``module`` (a file name's stem) imports."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module is not None:
                imported.add(node.module)
            else:
                imported.update(alias.name for alias in node.names)
    return imported


GRAPH = {path.stem: local_imports(path.stem) for path in PACKAGE.glob("*.py")}


def test_exports() -> None:
    """``__all__`` is sorted and names exactly the public helpers, all importable."""
    namespace: dict[str, object] = {}
    exec("from northflank_async.testing import *", namespace)
    assert (EXPECTED_ALL, EXPECTED_ALL) == (
        testing.__all__,
        sorted(name for name in namespace if name != "__builtins__"),
    )


def test_public_classes_claim_the_package() -> None:
    """Every exported class is defined in a module of ``northflank_async.testing``."""
    for name in EXPECTED_ALL:
        value = getattr(testing, name)
        if isinstance(value, type):
            assert value.__module__.startswith("northflank_async.testing."), name


def test_submodules_import_each_other_without_cycles() -> None:
    """The package's modules import each other in one direction only."""
    order = list(graphlib.TopologicalSorter(GRAPH).static_order())
    assert sorted(GRAPH) == sorted(order)


def test_route_families_do_not_know_each_other() -> None:
    """A family of routes imports the route table machinery, never another family."""
    families = {name for name in GRAPH if name.startswith("_routes_")}
    assert {"_routes_auth", "_routes_backups", "_routes_projects", "_routes_restores"} == families
    for family in families:
        assert set() == GRAPH[family] & families, family
    assert families == GRAPH["_mock"] & families
