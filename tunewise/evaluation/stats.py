"""Uncertainty for every number we report: bootstrap confidence intervals and paired tests.

All resampling is over *examples* (the unit the user collected), seeded, and repeatable.

``metric_fn`` is any callable ``metric_fn(golds, preds) -> float``. The generic path calls it on
each resampled list, which is exact for any metric but slow for large sets. A metric can opt into a
vectorised fast path by also providing two methods (see ``DecomposableMetric``)::

    stats(golds, preds) -> np.ndarray of shape (n_examples, k)   # per-example sufficient stats
    value(sums) -> np.ndarray                                     # (..., k) summed stats -> metric

Accuracy (a 0/1 vector), means of per-example scores (ROUGE-L, token F1), micro F1 for NER
(tp / predicted / gold counts), macro F1 (per-class tp/fp/fn) and chrF (n-gram counts) all
decompose this way; ``tunewise.tasks.metrics.metric_functions(task)`` returns such objects.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

#: resamples drawn per block in the fast path (bounds memory at block x n_examples counts)
_BLOCK = 100


@runtime_checkable
class DecomposableMetric(Protocol):
    """A metric computable from summed per-example statistics (enables the fast path)."""

    def __call__(self, golds: Sequence[Any], preds: Sequence[Any]) -> float: ...

    def stats(self, golds: Sequence[Any], preds: Sequence[Any]) -> np.ndarray: ...

    def value(self, sums: np.ndarray) -> np.ndarray: ...


@dataclass
class MetricWithCI:
    """A metric value with its bootstrap confidence interval."""

    #: the metric on the full evaluation set
    value: float
    #: [low, high] percentile bootstrap interval (95% by default)
    ci: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"value": float(self.value), "ci": [float(x) for x in self.ci]}

    def __float__(self) -> float:
        return float(self.value)


# the per-example metrics live with the tasks that use them (tasks do not import evaluation)
from tunewise.tasks.metric_types import Accuracy, MeanScore  # noqa: E402,F401  (re-exported)


def _safe_div(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def _check_lengths(golds, *preds) -> int:
    n = len(golds)
    for p in preds:
        if len(p) != n:
            raise ValueError(f"golds and predictions differ in length ({n} vs {len(p)})")
    return n


def _resample_index_blocks(n: int, n_resamples: int, seed: int):
    """Yield index arrays (r, n) in blocks; the same seed gives the same resamples everywhere."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_resamples:
        r = min(_BLOCK, n_resamples - done)
        yield rng.integers(0, n, size=(r, n))
        done += r


def _weights_from_idx(idx: np.ndarray, n: int) -> np.ndarray:
    r = idx.shape[0]
    counts = np.zeros((r, n), dtype=np.float64)
    np.add.at(counts, (np.repeat(np.arange(r), n), idx.ravel()), 1.0)
    return counts


def resample_weights(n: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_resamples, n) counts: how often each example is drawn in each bootstrap resample, the
    same resamples every bootstrap of this module draws for ``seed`` (so an interval computed
    from these weights matches ``metric_with_ci``'s)."""
    blocks = [_weights_from_idx(idx, n) for idx in _resample_index_blocks(n, n_resamples, seed)]
    return np.concatenate(blocks) if blocks else np.zeros((0, n))


def _is_decomposable(metric_fn) -> bool:
    return callable(getattr(metric_fn, "stats", None)) and callable(getattr(metric_fn, "value", None))


def _distribution_from_stats(metric_fn, st: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    n = st.shape[0]
    out = [np.asarray(metric_fn.value(_weights_from_idx(idx, n) @ st), dtype=float)
           for idx in _resample_index_blocks(n, n_resamples, seed)]
    return np.concatenate(out)


def _percentile_ci(dist: np.ndarray, alpha: float) -> tuple[float, float]:
    if dist.size == 0:
        return (0.0, 0.0)
    low, high = np.percentile(dist, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return (float(low), float(high))


def bootstrap_distribution(metric_fn, golds: Sequence[Any], preds: Sequence[Any], *,
                           n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """The metric on each of ``n_resamples`` bootstrap resamples of the examples."""
    n = _check_lengths(golds, preds)
    if n == 0:
        return np.zeros(0)
    if _is_decomposable(metric_fn):
        st = np.asarray(metric_fn.stats(golds, preds), dtype=float)
        return _distribution_from_stats(metric_fn, st, n_resamples, seed)
    golds, preds = list(golds), list(preds)
    vals = []
    for idx in _resample_index_blocks(n, n_resamples, seed):
        for row in idx:
            vals.append(float(metric_fn([golds[i] for i in row], [preds[i] for i in row])))
    return np.asarray(vals)


def bootstrap_ci(metric_fn, golds: Sequence[Any], preds: Sequence[Any], *,
                 n_resamples: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap ``(1 - alpha)`` interval of ``metric_fn(golds, preds)``.

    Resamples examples with replacement ``n_resamples`` times (seeded). Empty input -> (0, 0).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    dist = bootstrap_distribution(metric_fn, golds, preds, n_resamples=n_resamples, seed=seed)
    return _percentile_ci(dist, alpha)


def metric_with_ci(metric_fn, golds, preds, *, n_resamples: int = 1000, alpha: float = 0.05,
                   seed: int = 0) -> MetricWithCI:
    """``MetricWithCI(value=metric_fn(golds, preds), ci=bootstrap_ci(...))``.

    A decomposable metric's per-example statistics are computed once for both.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    n = _check_lengths(golds, preds)
    if n == 0:
        return MetricWithCI(value=0.0, ci=[0.0, 0.0])
    if _is_decomposable(metric_fn):
        st = np.asarray(metric_fn.stats(golds, preds), dtype=float)
        value = float(metric_fn.value(st.sum(axis=0)))
        dist = _distribution_from_stats(metric_fn, st, n_resamples, seed)
    else:
        value = float(metric_fn(list(golds), list(preds)))
        dist = bootstrap_distribution(metric_fn, golds, preds, n_resamples=n_resamples,
                                      seed=seed)
    return MetricWithCI(value=value, ci=list(_percentile_ci(dist, alpha)))


def metrics_with_ci(task, golds, preds, *, n_resamples: int = 1000, alpha: float = 0.05,
                    seed: int = 0) -> dict[str, MetricWithCI]:
    """Every metric of ``task.metrics`` with a bootstrap CI (fast path where available).

    All metrics share the same resamples (same seed), so their intervals are comparable.
    """
    from tunewise.tasks.metrics import metric_functions
    return {name: metric_with_ci(fn, golds, preds, n_resamples=n_resamples, alpha=alpha,
                                 seed=seed)
            for name, fn in metric_functions(task).items()}


def mcnemar(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> dict:
    """McNemar's test for two classifiers scored on the same examples.

    ``b`` = examples A gets right and B wrong, ``c`` = the reverse. With ``b + c < 25`` the exact
    two-sided binomial test (``scipy.stats.binomtest(b, b + c, 0.5)``) is used; otherwise the
    chi-square statistic with continuity correction, ``(|b - c| - 1)^2 / (b + c)``, on 1 d.o.f.
    Returns ``{p_value, b, c, statistic, method, n}``.
    """
    from scipy import stats as sps
    _check_lengths(correct_a, correct_b)
    a = np.asarray(correct_a, dtype=bool)
    bb = np.asarray(correct_b, dtype=bool)
    b = int(np.sum(a & ~bb))
    c = int(np.sum(~a & bb))
    if b + c == 0:
        return {"p_value": 1.0, "b": b, "c": c, "statistic": 0.0, "method": "exact binomial",
                "n": int(a.size)}
    if b + c < 25:
        p = sps.binomtest(b, b + c, 0.5, alternative="two-sided").pvalue
        return {"p_value": float(min(1.0, p)), "b": b, "c": c, "statistic": float(min(b, c)),
                "method": "exact binomial", "n": int(a.size)}
    stat = (abs(b - c) - 1) ** 2 / (b + c)
    p = sps.chi2.sf(stat, 1)
    return {"p_value": float(p), "b": b, "c": c, "statistic": float(stat),
            "method": "chi-square with continuity correction", "n": int(a.size)}


def paired_bootstrap(metric_fn, golds: Sequence[Any], preds_a: Sequence[Any],
                     preds_b: Sequence[Any], *, n_resamples: int = 1000, alpha: float = 0.05,
                     seed: int = 0, by_seed: bool = False) -> dict:
    """Paired bootstrap of ``metric(A) - metric(B)`` on the same examples (the one paired
    bootstrap: ``tunewise eval --compare`` and ``tunewise compare`` both use it).

    Both systems are scored on the *same* resamples. With ``by_seed``, ``preds_a`` and
    ``preds_b`` are lists of predictions, one per seed (fine-tuning at a small size), and each
    side is the mean over its seeds on every resample. Returns ``{diff, ci: [low, high], p_value,
    significant, a, b, n_resamples, test}``; ``p_value`` is two-sided: twice the smaller share of
    resampled differences on either side of zero (with +1 smoothing so it is never exactly 0),
    capped at 1; ``significant``: p < alpha and the values differ.
    """
    runs_a = [list(p) for p in preds_a] if by_seed else [list(preds_a)]
    runs_b = [list(p) for p in preds_b] if by_seed else [list(preds_b)]
    n = _check_lengths(golds, *runs_a, *runs_b)
    golds = list(golds)
    if n == 0:
        return {"diff": 0.0, "ci": [0.0, 0.0], "p_value": 1.0, "significant": False, "a": 0.0,
                "b": 0.0, "n_resamples": n_resamples, "test": "paired bootstrap"}
    va = float(np.mean([metric_fn(golds, p) for p in runs_a]))
    vb = float(np.mean([metric_fn(golds, p) for p in runs_b]))
    d = (seed_mean_distribution(metric_fn, golds, runs_a, n_resamples=n_resamples, seed=seed)
         - seed_mean_distribution(metric_fn, golds, runs_b, n_resamples=n_resamples, seed=seed))
    low, high = _percentile_ci(d, alpha)
    le = (np.sum(d <= 0) + 1) / (d.size + 1)
    ge = (np.sum(d >= 0) + 1) / (d.size + 1)
    p = float(min(1.0, 2 * min(le, ge)))
    return {"diff": va - vb, "ci": [float(low), float(high)], "p_value": p,
            "significant": bool(p < alpha and va != vb), "a": va, "b": vb,
            "n_resamples": n_resamples, "test": "paired bootstrap"}


def seed_mean_distribution(metric_fn, golds: Sequence[Any], preds_by_seed: Sequence[Sequence[Any]],
                           *, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """The metric on each bootstrap resample, averaged over seeds (same resamples per seed)."""
    return np.mean([bootstrap_distribution(metric_fn, golds, p, n_resamples=n_resamples,
                                           seed=seed) for p in preds_by_seed], axis=0)


def compare_predictions(task, golds: Sequence[Any], preds_a: Sequence[Any],
                        preds_b: Sequence[Any], *, n_resamples: int = 1000, alpha: float = 0.05,
                        seed: int = 0) -> dict:
    """Paired comparison of two systems on the same examples, for every metric of ``task``
    (what ``tunewise eval --compare A.jsonl B.jsonl`` prints).

    Each metric gets ``{a, b, diff, ci, p_value, test}`` where ``diff = a - b`` and ``ci`` is the
    paired-bootstrap interval of the difference. ``accuracy`` is tested with McNemar's test
    (``mcnemar`` adds its ``b``/``c`` discordant counts); every other metric with the paired
    bootstrap p-value. Returns ``{"n", "headline_metric", "metrics": {name: {...}}}``.
    """
    from tunewise.tasks.metrics import metric_functions
    _check_lengths(golds, preds_a, preds_b)
    out: dict[str, dict] = {}
    for name, fn in metric_functions(task).items():
        pb = paired_bootstrap(fn, golds, preds_a, preds_b, n_resamples=n_resamples,
                              alpha=alpha, seed=seed)
        row = {"a": pb["a"], "b": pb["b"], "diff": pb["diff"], "ci": pb["ci"],
               "p_value": pb["p_value"], "test": "paired bootstrap"}
        if name == "accuracy":
            mc = mcnemar([g == p for g, p in zip(golds, preds_a)],
                         [g == p for g, p in zip(golds, preds_b)])
            row.update(p_value=mc["p_value"], test=f"McNemar ({mc['method']})",
                       only_a_correct=mc["b"], only_b_correct=mc["c"])
        out[name] = row
    return {"n": len(golds), "headline_metric": task.headline_metric, "metrics": out}
