"""The shape of the code: imports run one way (down the layers), no cycles, no module
grows past its limit without saying why."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "harness"

# Bottom to top. A module may import a module of a lower layer, or one of its own unit
# (the package it belongs to, such as harness.study).
LAYERS = [
    {"harness.errors"},
    {"harness", "harness.records"},
    {"harness.inputs", "harness.files", "harness.manifest", "harness.metrics", "harness.maps"},
    {"harness.config", "harness.models", "harness.store"},
    {"harness.cache", "harness.baselines"},
    {"harness.retrieval"},
    {"harness.ingestion", "harness.querying", "harness.study", "harness.aligning"},
    {"harness.runs"},
    {"harness.output"},
    {"harness.experiment"},
    {"harness.cli"},
]
MAX_LINES = 400


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _unit(module: str) -> str:
    parts = module.split(".")
    candidates = [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
    for candidate in candidates:
        for layer in LAYERS:
            if candidate in layer:
                return candidate
    raise AssertionError(f"{module} is in no layer of tests/test_structure.py")


def _layer(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def _imports(path: Path) -> set[str]:
    """Every harness module imported anywhere in the file, TYPE_CHECKING blocks aside."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("harness"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness"):
            found.add(node.module)
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if (PACKAGE.parent / f"{node.module}.{alias.name}".replace(".", "/")).with_suffix(".py").exists()
                or (PACKAGE.parent / f"{node.module}.{alias.name}".replace(".", "/")).is_dir()
            )
    return found


def _graph() -> dict[str, set[str]]:
    return {_module(path): _imports(path) for path in PACKAGE.rglob("*.py")}


def test_imports_run_down_the_layers():
    wrong = []
    for module, imported in _graph().items():
        unit = _unit(module)
        for target in imported:
            target_unit = _unit(target)
            if target_unit != unit and _layer(target_unit) >= _layer(unit):
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports that run sideways or up:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = _graph()
    known = set(graph)
    edges = {m: {t for t in targets if t in known and t != m} for m, targets in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in edges[node]:
            if target == "harness":  # the package root only re-exports
                continue
            if state.get(target) == 1:
                cycles.append(
                    " -> ".join(path[path.index(target) :] + [target]) if target in path else f"{node} -> {target}"
                )
            elif target not in state:
                visit(target, path + [target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_command_line_is_imported_by_nothing():
    importers = [
        m
        for m, targets in _graph().items()
        if not m.startswith("harness.cli") and any(t.startswith("harness.cli") for t in targets)
    ]
    assert not importers


def test_modules_stay_short():
    long = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if text.count("\n") > MAX_LINES:
            long.append(f"{path.relative_to(REPO)}: {text.count(chr(10))} lines")
    assert not long, long


def test_package_faces_hold_no_logic():
    """An ``__init__.py`` hands names on: imports, ``__all__``, constants; no function or class."""
    found = []
    for path in PACKAGE.rglob("__init__.py"):
        tree = ast.parse(path.read_text())
        defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
        if defined and path.parent != PACKAGE:  # the package root's lazy __getattr__ keeps `import harness` fast
            found.append(f"{path.relative_to(REPO)}: {', '.join(defined)}")
    assert not found, found
