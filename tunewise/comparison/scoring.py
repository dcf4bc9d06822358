"""Confidence intervals and paired tests for arms that may have several seeds.

Built on ``tunewise.evaluation.stats.bootstrap_distribution``: the same bootstrap seed draws the
same resamples of the test examples for every arm, so an arm with several seeds (fine-tuning at a
small size) is scored on each resample as the mean over its seeds, and two arms are compared on
the very same resamples (a paired bootstrap). With one seed on each side ``paired_difference``
equals ``tunewise.evaluation.stats.paired_bootstrap`` (same CI, same p-value convention).
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
    from tunewise.evaluation.stats import bootstrap_distribution
    return np.mean([bootstrap_distribution(fn, golds, p, n_resamples=n_resamples, seed=seed)
                    for p in preds_by_seed], axis=0)


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
    """Paired bootstrap of metric(A) - metric(B) over the same test examples (each side the mean
    over its seeds): {"diff", "ci", "p_value", "significant", "a", "b", "test"}.

    p-value: two-sided, twice the smaller share of resampled differences on either side of zero
    (+1 smoothing), as in ``stats.paired_bootstrap``. ``significant``: p < alpha."""
    golds = list(golds)
    va = float(np.mean([fn(golds, list(p)) for p in preds_a_by_seed]))
    vb = float(np.mean([fn(golds, list(p)) for p in preds_b_by_seed]))
    if len(golds) < 2:
        return {"diff": va - vb, "ci": None, "p_value": 1.0, "significant": False, "a": va,
                "b": vb, "test": "paired bootstrap", "n_resamples": 0}
    d = (_dist(fn, golds, preds_a_by_seed, n_resamples, seed)
         - _dist(fn, golds, preds_b_by_seed, n_resamples, seed))
    lo, hi = np.percentile(d, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    le = (np.sum(d <= 0) + 1) / (d.size + 1)
    ge = (np.sum(d >= 0) + 1) / (d.size + 1)
    p = float(min(1.0, 2 * min(le, ge)))
    return {"diff": va - vb, "ci": [float(lo), float(hi)], "p_value": p,
            "significant": bool(p < alpha and va != vb), "a": va, "b": vb,
            "test": "paired bootstrap", "n_resamples": n_resamples}
