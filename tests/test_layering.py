"""The layer rule (docs/architecture.md): no import cycles between modules, and no import from a
lower layer into a higher one, counting module-level AND function-local imports (an ``ast`` walk).

The layer table is read from the ``layers`` block of docs/architecture.md (its only copy).
"""
from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"

def read_layers(doc: Path = DOC) -> dict[str, float]:
    """{top-level package or module: rank} from the ```layers block of ``doc``."""
    m = re.search(r"```layers\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert m, f"{doc} has no ```layers block"
    table: dict[str, float] = {}
    for line in m.group(1).splitlines():
        if line.strip():
            names, rank = line.rsplit("=", 1)
            for name in names.split():
                table[name] = float(rank)
    return table


def modules(src: Path, package: str) -> dict[str, Path]:
    """{dotted module name: file} of every .py file under ``src/package``."""
    out = {}
    for p in (src / package).rglob("*.py"):
        parts = p.relative_to(src).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def import_graph(src: Path, package: str) -> dict[str, set[str]]:
    """{module: modules of ``package`` it imports}, module-level and function-local alike."""
    mods = modules(src, package)
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                    pkg = pkg[: len(pkg) - (node.level - 1)]
                    base = ".".join(pkg + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    graph[name].add(t)
    return graph


def rank_of(module: str, table: dict[str, float]) -> float:
    parts = module.split(".")
    if len(parts) == 1:
        return float("inf")          # the package facade itself ranks above every layer
    return table.get(parts[1], 0.0)


def violations(graph: dict[str, set[str]], table: dict[str, float]) -> set[tuple[str, str]]:
    """(importer, imported) pairs where a module imports from a higher layer."""
    return {(a, b) for a, bs in graph.items() for b in bs
            if rank_of(b, table) > rank_of(a, table)}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), members sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return sorted(out)


# -- the real tree -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def graph():
    return import_graph(ROOT, "tunewise")


def test_layer_table_names_real_packages():
    table = read_layers()
    have = {p.stem if p.is_file() else p.name for p in (ROOT / "tunewise").iterdir()
            if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())}
    assert {"data", "tasks", "models", "evaluation", "comparison", "report", "cli"} <= set(table)
    unknown = set(table) - have - {"remote"}        # remote: a planned package
    assert not unknown, f"docs/architecture.md names packages that do not exist: {unknown}"


def test_no_new_upward_imports(graph):
    found = violations(graph, read_layers())
    assert found == set(), "imports from a lower layer into a higher one"


def test_no_new_import_cycles(graph):
    found = cycles(graph)
    assert found == [], "import cycles between modules"


def test_data_tasks_models_quality_import_nothing_above_them(graph):
    """The layers this refactor cleaned: no exception list at all."""
    found = {(a, b) for a, b in violations(graph, read_layers())
             if a.split(".")[1:2] and a.split(".")[1] in ("data", "tasks", "models", "quality",
                                                          "report", "version")}
    assert found == set()


def test_whole_tree_is_layered_and_acyclic(graph):
    assert violations(graph, read_layers()) == set() and cycles(graph) == []


# -- the checker itself catches what it should ---------------------------------------------------

def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


def test_checker_flags_a_forbidden_function_local_import(tmp_path):
    src = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/data/__init__.py": "",
        "pkg/data/reader.py": "def read():\n    from pkg.models.load import load\n    return load\n",
        "pkg/models/__init__.py": "",
        "pkg/models/load.py": "from pkg.data import reader\n\ndef load():\n    return 1\n",
    })
    g = import_graph(src, "pkg")
    table = {"data": 1, "models": 3}
    assert violations(g, table) == {("pkg.data.reader", "pkg.models.load")}
    assert cycles(g) == [["pkg.data.reader", "pkg.models.load"]]


def test_checker_passes_a_clean_tree_and_resolves_relative_imports(tmp_path):
    src = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/data/__init__.py": "",
        "pkg/data/records.py": "X = 1\n",
        "pkg/data/reader.py": "from .records import X\n",
        "pkg/models/__init__.py": "",
        "pkg/models/load.py": "from ..data import reader\nimport pkg.data.records\n",
    })
    g = import_graph(src, "pkg")
    assert g["pkg.data.reader"] == {"pkg.data.records"}
    assert g["pkg.models.load"] == {"pkg.data.reader", "pkg.data.records"}
    table = {"data": 1, "models": 3}
    assert violations(g, table) == set() and cycles(g) == []
    # adding one upward import makes the same tree fail
    _write(src, {"pkg/data/records.py": "import pkg.models.load\nX = 1\n"})
    g = import_graph(src, "pkg")
    assert violations(g, table) == {("pkg.data.records", "pkg.models.load")}
    assert cycles(g) != []


def test_checker_reads_the_layer_table(tmp_path):
    doc = tmp_path / "a.md"
    doc.write_text("text\n```layers\ndata demo = 1\ncost store = 5.5\n```\n", encoding="utf-8")
    assert read_layers(doc) == {"data": 1.0, "demo": 1.0, "cost": 5.5, "store": 5.5}
