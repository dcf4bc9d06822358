"""An arm's per-example label distribution, as compare keeps it: normalized log-probabilities.

A classification prediction may carry a score for every label (``Prediction.extra["scores"]``):
label scoring (``prompting.predict``, method "score") gives each label's total log-likelihood,
the classical model (method "classical") each label's probability, a remote arm (method
"logprobs") each label's first-token log-probability, or (method "choice") each choice's, when
the server sent one for every label.
``label_logprobs`` turns them into one row per example of log-probabilities normalized over the
task's labels (a log-softmax: the label distribution the scores imply), rounded to 4 decimals and
clamped at ``FLOOR``, so compare's arm records stay small. The cascade
(``tunewise.comparison.cascade``) calibrates them into the cheap arm's confidence.

NER and generation predictions carry no such distribution: ``label_logprobs`` returns None.
"""
from __future__ import annotations

import math
from typing import Sequence

#: the smallest log-probability kept (e^-100: nothing a threshold can tell from zero)
FLOOR = -100.0
#: decimals kept (nats): 1e-4 is far below any difference a calibration or threshold sees
DECIMALS = 4
#: Prediction.extra["method"] values whose "scores" are log-scores; "classical": probabilities
LOG_SCORES = ("score", "logprobs", "choice")


def _row(scores: dict, labels: Sequence[str], probabilities: bool) -> list[float] | None:
    vals = []
    for lab in labels:
        v = scores.get(lab)
        if v is None and probabilities:
            v = 0.0                         # a class the classical model never saw in training
        if not isinstance(v, (int, float)) or math.isnan(v):
            return None                     # a label without a score: no full distribution
        if probabilities:
            v = math.log(v) if v > 0 else FLOOR
        vals.append(float(v))
    m = max(vals)
    if math.isinf(m):
        return None
    lse = m + math.log(sum(math.exp(v - m) for v in vals))
    return [round(max(v - lse, FLOOR), DECIMALS) for v in vals]


def label_logprobs(task, predictions: Sequence) -> list[list[float]] | None:
    """One row per prediction: log P(label) over ``task.labels`` (normalized), or None when the
    task has no closed label set or some prediction lacks a score for some label."""
    if not getattr(task, "can_score_labels", False) or not predictions:
        return None
    labels = list(task.labels)
    rows = []
    for p in predictions:
        extra = p.extra or {}
        method = extra.get("method")
        scores = extra.get("scores")
        if not isinstance(scores, dict) or method not in (*LOG_SCORES, "classical"):
            return None
        row = _row(scores, labels, probabilities=method == "classical")
        if row is None:
            return None
        rows.append(row)
    return rows
