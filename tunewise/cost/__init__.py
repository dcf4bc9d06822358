"""Prices and cost estimates.

::

    from tunewise import cost
    cost.load_prices()                 # the dated price table (+ a user YAML)
    cost.get_price("gpt-4o-mini")      # PriceEntry
    est = cost.estimate("train.jsonl", model="gpt-4o-mini", shots=4)   # `tunewise cost`
    est.break_even.requests            # None = never

The formulas live in ``tunewise.cost.projection``; ``cost.estimate`` is its ``estimate`` function.
"""
from __future__ import annotations

from tunewise.lazy import lazy_exports

_EXPORTS = {
    "load_prices": "tunewise.cost.prices", "get_price": "tunewise.cost.prices",
    "PriceEntry": "tunewise.cost.prices", "PriceTable": "tunewise.cost.prices",
    "estimate": "tunewise.cost.projection", "CostEstimate": "tunewise.cost.projection", "ArmUsage": "tunewise.cost.projection",
    "hosted_estimate": "tunewise.cost.projection", "local_estimate": "tunewise.cost.projection",
    "break_even_requests": "tunewise.cost.projection", "token_counter": "tunewise.cost.counting",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
