"""Task metrics: classification here (accuracy, macro-F1, per-class report, confusion matrix,
majority-class baseline), plus ``metric_functions(task)``: every headline-able metric of a task
as an object ``tunewise.evaluation.stats`` can bootstrap quickly.

NER scoring lives in ``tunewise.tasks.ner`` and generation scoring in
``tunewise.tasks.generation``; both tasks expose ``metric_functions()`` too.

Unparseable predictions (``None``) and predictions outside the label set count as wrong
everywhere: they lower accuracy, they are a miss (false negative) for the gold class, and the
confusion matrix shows them in an extra ``(none)`` column.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

import numpy as np

from tunewise.errors import UsageError

#: name of the extra confusion-matrix column for unparseable / out-of-label-set predictions
NONE_COLUMN = "(none)"


def _check(golds: Sequence[Any], preds: Sequence[Any]) -> None:
    if len(golds) != len(preds):
        raise UsageError(f"golds and predictions differ in length ({len(golds)} vs {len(preds)})")


def classification_metrics(golds: Sequence[Any], preds: Sequence[Any],
                           labels: Sequence[str]) -> dict[str, float]:
    """accuracy and macro-F1 over the closed label set (an unparseable prediction is wrong)."""
    from sklearn.metrics import f1_score
    _check(golds, preds)
    n = len(golds)
    if n == 0:
        return {"accuracy": 0.0, "macro_f1": 0.0}
    acc = sum(g == p for g, p in zip(golds, preds)) / n
    y_pred = [p if p is not None else "\x00none" for p in preds]
    mf1 = f1_score(list(golds), y_pred, labels=list(labels), average="macro", zero_division=0)
    return {"accuracy": float(acc), "macro_f1": float(mf1)}


def classification_report(golds: Sequence[Any], preds: Sequence[Any],
                          labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per-class ``{label: {precision, recall, f1, support}}`` in the order of ``labels``.

    ``support`` = number of gold examples of the class. A class never predicted has precision 0
    (sklearn's ``zero_division=0``).
    """
    from sklearn.metrics import precision_recall_fscore_support
    _check(golds, preds)
    labels = list(labels)
    if not golds:
        return {lab: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0} for lab in labels}
    y_pred = [p if p is not None else "\x00none" for p in preds]
    p, r, f, s = precision_recall_fscore_support(list(golds), y_pred, labels=labels,
                                                 zero_division=0)
    return {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                  "support": int(s[i])} for i, lab in enumerate(labels)}


def confusion_matrix(golds: Sequence[Any], preds: Sequence[Any], labels: Sequence[str], *,
                     with_none: bool | None = None) -> list[list[int]]:
    """Rows = gold label, columns = predicted label, both in the order of ``labels``.

    When some prediction is ``None`` or outside ``labels`` (or ``with_none=True``), a last column
    ``(none)`` (see ``NONE_COLUMN``) counts them, so every row sums to the class's support. Use
    ``confusion_columns`` for the column names. A gold label outside ``labels`` is a UsageError.
    """
    _check(golds, preds)
    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    bad = sorted({str(g) for g in golds if g not in index})
    if bad:
        raise UsageError(f"gold labels not in the task's label set {labels}: {bad}",
                         fix="add them to the task's labels or fix the data")
    if with_none is None:
        with_none = any(p not in index for p in preds)
    width = len(labels) + (1 if with_none else 0)
    m = [[0] * width for _ in labels]
    for g, p in zip(golds, preds):
        j = index.get(p)
        if j is None:
            if not with_none:
                raise UsageError(f"prediction {p!r} is not a label; pass with_none=True")
            j = len(labels)
        m[index[g]][j] += 1
    return m


def confusion_columns(labels: Sequence[str], matrix: list[list[int]]) -> list[str]:
    """Column names of a ``confusion_matrix`` result (labels, plus ``(none)`` if present)."""
    labels = list(labels)
    width = len(matrix[0]) if matrix else len(labels)
    return labels + ([NONE_COLUMN] if width > len(labels) else [])


def majority_label(train_labels: Sequence[Any], labels: Sequence[str]) -> str:
    """Most frequent training label; ties go to the label listed first in ``labels``."""
    counts = Counter(train_labels)
    if not counts:
        raise UsageError("the majority-class baseline needs at least one training label")
    order = {lab: i for i, lab in enumerate(labels)}
    return max(counts, key=lambda lab: (counts[lab], -order.get(lab, len(order))))


def majority_baseline(train_labels: Sequence[Any], eval_golds: Sequence[Any],
                      labels: Sequence[str]) -> dict:
    """Metrics of always answering the most frequent training label.

    Returns ``classification_metrics`` (``accuracy``, ``macro_f1``) plus ``majority_label``.
    """
    maj = majority_label(train_labels, labels)
    out: dict = classification_metrics(eval_golds, [maj] * len(eval_golds), labels)
    out["majority_label"] = maj
    return out


# -- bootstrappable metric objects (see tunewise.evaluation.stats) ---------------------------

class MacroF1:
    """Macro-F1 over a closed label set; per-example stats = per-class [tp, fp, fn] counts.

    Agrees with ``sklearn.metrics.f1_score(average="macro", zero_division=0)``.
    """

    def __init__(self, labels: Sequence[str]):
        self.labels = list(labels)

    def __call__(self, golds, preds) -> float:
        return classification_metrics(golds, preds, self.labels)["macro_f1"]

    def stats(self, golds, preds) -> np.ndarray:
        k = len(self.labels)
        idx = {lab: i for i, lab in enumerate(self.labels)}
        st = np.zeros((len(golds), 3 * k))
        for row, (g, p) in enumerate(zip(golds, preds)):
            gi, pi = idx.get(g), idx.get(p)
            if gi is not None and gi == pi:
                st[row, 3 * gi] = 1.0           # tp
                continue
            if pi is not None:
                st[row, 3 * pi + 1] = 1.0       # fp
            if gi is not None:
                st[row, 3 * gi + 2] = 1.0       # fn
        return st

    def value(self, sums: np.ndarray) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        k = len(self.labels)
        s = s.reshape(s.shape[:-1] + (k, 3))
        tp, fp, fn = s[..., 0], s[..., 1], s[..., 2]
        den = 2 * tp + fp + fn
        f1 = np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0)
        return f1.mean(axis=-1)


def metric_functions(task) -> dict:
    """``{metric_name: metric_fn}`` for every metric in ``task.metrics``; each ``metric_fn`` is a
    callable ``(golds, preds) -> float`` that ``tunewise.evaluation.stats`` bootstraps with its
    vectorised fast path."""
    own = getattr(task, "metric_functions", None)
    if callable(own):
        return own()
    if task.kind == "classification":
        from tunewise.tasks.metric_types import Accuracy
        return {"accuracy": Accuracy(), "macro_f1": MacroF1(task.labels)}
    raise UsageError(f"no metric functions for task kind {task.kind!r}")
