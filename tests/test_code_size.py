"""The size rules of docs/architecture.md: no module over 400 lines anywhere in tunewise/, and no
function over 80 lines in the data layer (tunewise/data/), where validation code grows fastest.
Read with ``ast``/line counts only: nothing is imported."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "tunewise"
MAX_FILE_LINES = 400
MAX_DATA_FUNCTION_LINES = 80


def long_functions(path: Path, limit: int, root: Path = PKG.parent) -> list[str]:
    """``file:line name (N lines)`` of every function in ``path`` longer than ``limit`` lines."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            if n > limit:
                out.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_no_module_over_400_lines():
    big = [f"{p.relative_to(PKG.parent)} ({n} lines)" for p in sorted(PKG.rglob("*.py"))
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES]
    assert not big, "split these modules (docs/architecture.md): " + ", ".join(big)


def test_no_function_over_80_lines_in_the_data_layer():
    long = [f for p in sorted((PKG / "data").rglob("*.py"))
            for f in long_functions(p, MAX_DATA_FUNCTION_LINES)]
    assert not long, "split these functions: " + ", ".join(long)


def test_the_checker_sees_a_long_function(tmp_path):
    body = "\n".join(f"        x{i} = {i}" for i in range(85))
    src = tmp_path / "m.py"
    src.write_text(f"def small():\n    return 1\n\n\nclass C:\n    def big(self):\n{body}\n")
    assert long_functions(src, 80, root=tmp_path) == ["m.py:6 big (86 lines)"]
    assert long_functions(src, 86, root=tmp_path) == []
