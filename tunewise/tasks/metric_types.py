"""Bootstrappable per-example metrics: ``Accuracy`` and ``MeanScore`` (the ``stats``/``value``
protocol ``tunewise.evaluation.stats`` resamples quickly). Here, below evaluation, so that tasks
can build their metric functions without importing evaluation."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np


def _safe_div(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


class Accuracy:
    """Fraction of exact matches; stats = [correct, 1] per example."""

    def __call__(self, golds, preds) -> float:
        n = len(golds)
        return float(sum(g == p for g, p in zip(golds, preds)) / n) if n else 0.0

    def stats(self, golds, preds) -> np.ndarray:
        return np.array([[float(g == p), 1.0] for g, p in zip(golds, preds)]).reshape(-1, 2)

    def value(self, sums: np.ndarray) -> np.ndarray:
        return _safe_div(sums[..., 0], sums[..., 1])


class MeanScore:
    """Mean of a per-example score ``score(gold, pred) -> float``; stats = [score, 1]."""

    def __init__(self, score: Callable[[Any, Any], float]):
        self.score = score

    def __call__(self, golds, preds) -> float:
        s = [self.score(g, p) for g, p in zip(golds, preds)]
        return float(np.mean(s)) if s else 0.0

    def stats(self, golds, preds) -> np.ndarray:
        return np.array([[self.score(g, p), 1.0] for g, p in zip(golds, preds)]).reshape(-1, 2)

    def value(self, sums: np.ndarray) -> np.ndarray:
        return _safe_div(sums[..., 0], sums[..., 1])
