"""Paired comparison of two predictions files (``tunewise eval --compare A.jsonl B.jsonl``).

Both files must cover the same examples (same inputs and gold answers; the order may differ).
Every metric of the task is compared on the same examples: ``accuracy`` with McNemar's test,
the others (macro-F1, entity F1, ROUGE-L...) with a paired bootstrap. ``diff = A - B``.
"""
from __future__ import annotations

import os

from tunewise.evaluation.predictions import check_same_examples, read_predictions


def compare_files(a: str | os.PathLike, b: str | os.PathLike, *, n_resamples: int = 1000,
                  alpha: float = 0.05, seed: int = 0) -> dict:
    """``{"a": path, "b": path, "task": kind, "n", "headline_metric", "metrics": {name: {a, b,
    diff, ci, p_value, test}}}``; UsageError when the files do not cover the same examples."""
    from tunewise.evaluation.stats import compare_predictions
    fa, fb = read_predictions(a), read_predictions(b)
    order = check_same_examples(fa, fb)
    preds_b = [fb.preds[j] for j in order]
    res = compare_predictions(fa.task, fa.golds, fa.preds, preds_b, n_resamples=n_resamples,
                              alpha=alpha, seed=seed)
    return {"a": str(a), "b": str(b), "task": fa.task.kind,
            "a_arm": _label(fa), "b_arm": _label(fb), **res}


def _label(pf) -> str | None:
    h = pf.header
    if not h:
        return None
    s = h.get("settings") or {}
    parts = [h.get("arm"), h.get("model")]
    if s.get("shots"):
        parts.append(f"{s['shots']}-shot {s.get('shot_selection') or ''}".strip())
    return " ".join(str(p) for p in parts if p)
