"""Confidence intervals for arms that may have several seeds, and ``paired_difference``.

Built on ``tunewise.evaluation.stats``: the same bootstrap seed draws the same resamples of the
test examples for every arm, so an arm with several seeds (fine-tuning at a small size) is scored
on each resample as the mean over its seeds. Two arms are compared with the one paired bootstrap,
``stats.paired_bootstrap(..., by_seed=True)``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


def metric_function(task, metric: str):
    """The bootstrappable metric object of ``task`` named ``metric`` (accuracy, macro_f1, f1...)."""
    from tunewise.tasks.metrics import metric_functions
    fns = metric_functions(task)
    if metric not in fns:
        from tunewise.errors import UsageError
        raise UsageError(f"the {task.kind} task has no metric {metric!r}",
                         fix=f"use one of {', '.join(fns)}")
    return fns[metric]


def _dist(fn, golds, preds_by_seed, n_resamples: int, seed: int) -> np.ndarray:
    from tunewise.evaluation.stats import seed_mean_distribution
    return seed_mean_distribution(fn, golds, preds_by_seed, n_resamples=n_resamples, seed=seed)


def score_with_ci(fn, golds: Sequence[Any], preds_by_seed: Sequence[Sequence[Any]], *,
                  n_resamples: int = 1000, alpha: float = 0.05, seed: int = 0) -> dict:
    """{"value": mean over seeds, "ci": [lo, hi] percentile bootstrap of that mean over test
    examples, "values": per seed, "seed_std"}."""
    golds = list(golds)
    values = [float(fn(golds, list(p))) for p in preds_by_seed]
    out = {"value": float(np.mean(values)), "ci": None, "values": values,
           "seed_std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
    if len(golds) >= 2:
        d = _dist(fn, golds, preds_by_seed, n_resamples, seed)
        lo, hi = np.percentile(d, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        out["ci"] = [float(lo), float(hi)]
    return out


def paired_difference(fn, golds: Sequence[Any], preds_a_by_seed: Sequence[Sequence[Any]],
                      preds_b_by_seed: Sequence[Sequence[Any]], *, n_resamples: int = 1000,
                      alpha: float = 0.05, seed: int = 0) -> dict:
    """``stats.paired_bootstrap`` of A minus B, each side the mean over its seeds; with fewer
    than two test examples there is nothing to resample (no CI, p = 1)."""
    from tunewise.evaluation.stats import paired_bootstrap
    golds = list(golds)
    if len(golds) < 2:
        va = float(np.mean([fn(golds, list(p)) for p in preds_a_by_seed]))
        vb = float(np.mean([fn(golds, list(p)) for p in preds_b_by_seed]))
        return {"diff": va - vb, "ci": None, "p_value": 1.0, "significant": False, "a": va,
                "b": vb, "test": "paired bootstrap", "n_resamples": 0}
    return paired_bootstrap(fn, golds, preds_a_by_seed, preds_b_by_seed, by_seed=True,
                            n_resamples=n_resamples, alpha=alpha, seed=seed)
