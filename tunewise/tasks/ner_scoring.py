"""NER scoring: entity-level exact span match (type, start, end), micro-averaged, as ``seqeval``
scores IOB2 tag sequences in its default mode; per-type report; a bootstrappable metric."""
from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

import numpy as np

from tunewise.data.records import Entity


def _key(e: Any) -> tuple[str, int, int]:
    if isinstance(e, Entity):
        return e.key()
    if isinstance(e, dict):
        return (str(e["type"]), int(e["start"]), int(e["end"]))
    t, s, en = e[0], e[1], e[2]
    return (str(t), int(s), int(en))


def _keys(ents: Any) -> set[tuple[str, int, int]]:
    return {_key(e) for e in (ents or ())}


def _prf(tp: float, n_pred: float, n_gold: float) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * tp / (n_pred + n_gold) if (n_pred + n_gold) else 0.0
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def ner_metrics(golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
    """Micro entity-level exact-span ``precision``, ``recall``, ``f1`` over all examples.

    ``golds``/``preds`` are per-example lists of entities (``Entity``, dicts with type/start/end,
    or ``(type, start, end)`` tuples; ``None`` = no entities). Like seqeval, 0.0 when undefined.
    """
    tp = n_pred = n_gold = 0
    for g, p in zip(golds, preds):
        gk, pk = _keys(g), _keys(p)
        tp += len(gk & pk)
        n_pred += len(pk)
        n_gold += len(gk)
    return _prf(tp, n_pred, n_gold)


def ner_report(golds: Sequence[Any], preds: Sequence[Any],
               types: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """Per-type ``{type: {precision, recall, f1, support}}`` (support = gold entity count).

    Types are ``types`` (in that order) plus any other type seen in golds or predictions.
    """
    tp: Counter = Counter()
    npred: Counter = Counter()
    ngold: Counter = Counter()
    for g, p in zip(golds, preds):
        gk, pk = _keys(g), _keys(p)
        for k in gk & pk:
            tp[k[0]] += 1
        for k in pk:
            npred[k[0]] += 1
        for k in gk:
            ngold[k[0]] += 1
    order = list(types or [])
    order += sorted((set(npred) | set(ngold)) - set(order))
    return {t: {**_prf(tp[t], npred[t], ngold[t]), "support": int(ngold[t])} for t in order}


class NERMetric:
    """One of precision/recall/f1 as a bootstrappable metric; stats = [tp, n_pred, n_gold]."""

    def __init__(self, name: str = "f1"):
        if name not in ("precision", "recall", "f1"):
            raise ValueError(name)
        self.name = name

    def __call__(self, golds, preds) -> float:
        return ner_metrics(golds, preds)[self.name]

    def stats(self, golds, preds) -> np.ndarray:
        rows = []
        for g, p in zip(golds, preds):
            gk, pk = _keys(g), _keys(p)
            rows.append([len(gk & pk), len(pk), len(gk)])
        return np.asarray(rows, dtype=float).reshape(-1, 3)

    def value(self, sums: np.ndarray) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        tp, npred, ngold = s[..., 0], s[..., 1], s[..., 2]
        num, den = {"precision": (tp, npred), "recall": (tp, ngold),
                    "f1": (2 * tp, npred + ngold)}[self.name]
        return np.divide(num, den, out=np.zeros_like(den), where=den > 0)


def example_f1(gold: Any, pred: Any) -> float:
    """Per-example entity F1 (1.0 when both are empty: nothing to find, nothing claimed)."""
    gk, pk = _keys(gold), _keys(pred)
    if not gk and not pk:
        return 1.0
    return 2 * len(gk & pk) / (len(gk) + len(pk))
