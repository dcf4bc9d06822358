"""Task metrics. Classification here; NER and generation metrics join this module."""
from __future__ import annotations

from typing import Any, Sequence


def classification_metrics(golds: Sequence[Any], preds: Sequence[Any],
                           labels: Sequence[str]) -> dict[str, float]:
    """accuracy and macro-F1 over the closed label set (an unparseable prediction is wrong)."""
    from sklearn.metrics import f1_score
    n = len(golds)
    if n == 0:
        return {"accuracy": 0.0, "macro_f1": 0.0}
    acc = sum(g == p for g, p in zip(golds, preds)) / n
    y_pred = [p if p is not None else "\x00none" for p in preds]
    mf1 = f1_score(list(golds), y_pred, labels=list(labels), average="macro", zero_division=0)
    return {"accuracy": float(acc), "macro_f1": float(mf1)}
