"""scripts/demo.sh (what `make demo` runs) only names tunewise modules and names that exist: a
rename must not leave the demo printing a traceback."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "scripts" / "demo.sh"


def test_every_module_and_name_the_demo_script_uses_exists():
    text = DEMO.read_text(encoding="utf-8")
    imports = re.findall(r"from (tunewise[\w.]*) import (\w+)", text)
    modules = re.findall(r"-m (tunewise[\w.]*)", text)
    assert imports and modules            # the patterns still match what the script does
    for mod, name in imports:
        assert hasattr(importlib.import_module(mod), name), f"{mod}.{name}"
    for mod in modules:
        importlib.import_module(mod)
