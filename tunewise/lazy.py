"""Lazy package exports (PEP 562): a package's public names are imported from their modules on
first use, so ``import tunewise.data`` stays cheap (no torch) and packages never import upward
at import time.

::

    # in a package's __init__.py
    __getattr__, __all__ = lazy_exports(__name__, {"read": "tunewise.data.reading", ...})
"""
from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], list[str]]:
    """(the package's ``__getattr__``, its ``__all__``) for ``exports`` ({public name: module})."""
    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return __getattr__, sorted(exports)
