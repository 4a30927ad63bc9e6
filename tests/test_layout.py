"""The package's layout keeps its promises: no import cycles, the session imported only by its face."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "northflank_async"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports_at_load(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` for each package import that runs when ``path`` is loaded.

    Imports under ``if TYPE_CHECKING:`` count too (a cycle for the type checker is a
    tangle for readers); imports inside functions (run later, on demand) do not.
    """
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, list[str]]] = []
    body = ast.parse(path.read_text(encoding="utf-8")).body
    nodes = [
        inner for node in body for inner in (node.body if isinstance(node, ast.If) else [node])
    ]
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.split(".")[0] == "northflank_async":
                found.append((target, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("northflank_async")]
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for target, names in _imports_at_load(path):
            # `from . import x` imports the submodule x when there is one.
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            edges.update(subs or [target])
        graph[name] = edges - {name}
    return graph


def test_no_module_of_the_package_imports_itself_back() -> None:
    """The import graph of the package, as loaded, has no cycle."""
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt in graph and state.get(nxt) is None:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if state.get(node) is None:
            visit(node, [node])
    assert [] == cycles


def test_only_the_package_face_imports_the_session() -> None:
    """Only ``__init__`` and the CLI import the session, by its public name; no family does."""
    importers = {
        _module_name(path): names
        for path in PACKAGE.rglob("*.py")
        for target, names in _imports_at_load(path)
        if target == "northflank_async._session"
    }

    assert "northflank_async" in importers
    assert all(names == ["NorthflankSession"] for names in importers.values()), importers
    assert all(name == "northflank_async" or ".cli" in name for name in importers), importers
