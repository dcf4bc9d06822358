"""Prices and cost estimates.

::

    from tunewise import cost
    cost.load_prices()                 # the dated price table (+ a user YAML)
    cost.get_price("gpt-4o-mini")      # PriceEntry
    est = cost.estimate("train.jsonl", model="gpt-4o-mini", shots=4)   # `tunewise cost`
    est.break_even.requests            # None = never

The formulas live in ``tunewise.cost.estimate``. That name is both the module and, called, the
function ``tunewise.cost.estimate.estimate`` (the module is callable), so ``cost.estimate(...)``
works whether or not the submodule has been imported.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "load_prices": "tunewise.cost.prices", "get_price": "tunewise.cost.prices",
    "PriceEntry": "tunewise.cost.prices", "PriceTable": "tunewise.cost.prices",
    "CostEstimate": "tunewise.cost.estimate", "ArmUsage": "tunewise.cost.estimate",
    "hosted_estimate": "tunewise.cost.estimate", "local_estimate": "tunewise.cost.estimate",
    "break_even_requests": "tunewise.cost.estimate", "token_counter": "tunewise.cost.counting",
}

__all__ = sorted([*_EXPORTS, "estimate"])


def __getattr__(name: str):
    if name == "estimate":  # the callable submodule (see the module docstring)
        return importlib.import_module("tunewise.cost.estimate")
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tunewise.cost' has no attribute {name!r}")
