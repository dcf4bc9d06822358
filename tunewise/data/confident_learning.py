"""Confident learning (Northcutt, Jiang & Chuang, JAIR 2021), implemented from the paper.

Inputs: ``labels`` (n,) given class indices and ``probs`` (n, K) out-of-fold predicted
probabilities (each row from a model that did not train on that example).

1. Per-class thresholds: ``t_j`` = mean of ``probs[:, j]`` over the examples labelled ``j`` (the
   model's average self-confidence for class j).
2. Confident joint ``C[i][j]``: the examples labelled ``i`` whose probability for ``j`` reaches
   ``t_j``; an example above several thresholds counts once, for its most probable class; an
   example above none is not counted.
3. Calibration: each row of ``C`` is rescaled to the number of examples labelled ``i``, and the
   whole matrix divided by its sum: ``Q[i][j]`` estimates the joint P(given = i, true = j).
4. Noise rate of class ``i``: P(true != i | given = i) = 1 - Q[i][i] / sum_j Q[i][j].
5. Prune by noise rate: for every off-diagonal cell, the ``round(n * Q[i][j])`` examples labelled
   ``i`` with the largest margin ``probs[:, j] - probs[:, i]`` are flagged (at most all but one of
   class ``i``); an example whose most probable class is its given label is never flagged.

Ranking (most suspicious first): ``self_confidence`` (probability of the given label, ascending)
or ``normalized_margin`` (given-label probability minus the largest other, ascending).

cleanlab implements the same method but is AGPL-licensed, so it is not a dependency; only the
paper and its documentation were used.
"""
from __future__ import annotations

import numpy as np

RANK_METHODS = ("self_confidence", "normalized_margin")

#: tolerance when comparing a probability with a threshold (float noise of the mean)
_EPS = 1e-9


def _check(labels, probs) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=int)
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or probs.shape[0] != labels.shape[0]:
        raise ValueError(f"probs must be (n, K) with n = len(labels); got {probs.shape} for "
                         f"{labels.shape[0]} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= probs.shape[1]):
        raise ValueError("labels must be class indices in [0, K)")
    return labels, probs


def per_class_thresholds(labels, probs) -> np.ndarray:
    """(K,) mean predicted probability of class j over the examples labelled j (NaN if none)."""
    labels, probs = _check(labels, probs)
    k = probs.shape[1]
    out = np.full(k, np.nan)
    for j in range(k):
        sel = labels == j
        if sel.any():
            out[j] = probs[sel, j].mean()
    return out


def confident_joint(labels, probs, thresholds=None) -> np.ndarray:
    """(K, K) integer counts: rows = given label, columns = the confidently predicted class."""
    labels, probs = _check(labels, probs)
    t = per_class_thresholds(labels, probs) if thresholds is None else np.asarray(thresholds)
    t = np.where(np.isnan(t), np.inf, t)           # a class nobody carries is never "confident"
    above = probs >= t[None, :] - _EPS
    masked = np.where(above, probs, -np.inf)
    counted = above.any(axis=1)
    true = masked.argmax(axis=1)
    k = probs.shape[1]
    cj = np.zeros((k, k), dtype=int)
    np.add.at(cj, (labels[counted], true[counted]), 1)
    return cj


def calibrate_joint(cj, label_counts) -> np.ndarray:
    """(K, K) estimate of P(given = i, true = j), summing to 1.

    Row i of the confident joint is rescaled so that it sums to the number of examples labelled
    i (a row with no confident example is put on the diagonal: nothing is known to be wrong).
    """
    cj = np.asarray(cj, dtype=float)
    counts = np.asarray(label_counts, dtype=float)
    rows = cj.sum(axis=1)
    cal = np.zeros_like(cj)
    for i in range(cj.shape[0]):
        if rows[i] > 0:
            cal[i] = cj[i] / rows[i] * counts[i]
        else:
            cal[i, i] = counts[i]
    total = cal.sum()
    return cal / total if total > 0 else cal


def noise_rates(joint) -> np.ndarray:
    """(K,) estimated share of wrong labels among the examples carrying each given label."""
    joint = np.asarray(joint, dtype=float)
    rows = joint.sum(axis=1)
    diag = np.diag(joint)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(rows > 0, 1.0 - diag / rows, 0.0)
    return np.clip(rate, 0.0, 1.0)


def prune_by_noise_rate(labels, probs, joint) -> tuple[np.ndarray, np.ndarray]:
    """(flagged mask (n,), suggested class (n,)): the examples to flag, per the joint estimate.

    ``suggested`` is the class whose off-diagonal cell selected the example (the most probable
    other class where the example was not flagged).
    """
    labels, probs = _check(labels, probs)
    n, k = probs.shape
    joint = np.asarray(joint, dtype=float)
    flagged = np.zeros(n, dtype=bool)
    others = probs.copy()
    others[np.arange(n), labels] = -np.inf
    suggested = others.argmax(axis=1)
    for i in range(k):
        members = np.flatnonzero(labels == i)
        budget = max(len(members) - 1, 0)          # never flag a whole class
        for j in range(k):
            if j == i or budget <= 0:
                continue
            count = min(int(round(n * joint[i, j])), budget)
            if count <= 0:
                continue
            candidates = members[~flagged[members]]
            margin = probs[candidates, j] - probs[candidates, i]
            pick = candidates[np.argsort(-margin, kind="stable")[:count]]
            flagged[pick] = True
            suggested[pick] = j
            budget -= len(pick)
    flagged &= probs.argmax(axis=1) != labels
    return flagged, suggested


def rank_scores(labels, probs, method: str = "self_confidence") -> np.ndarray:
    """(n,) label-quality scores; lower = more likely mislabelled."""
    labels, probs = _check(labels, probs)
    given = probs[np.arange(len(labels)), labels]
    if method == "self_confidence":
        return given
    if method == "normalized_margin":
        others = probs.copy()
        others[np.arange(len(labels)), labels] = -np.inf
        return given - others.max(axis=1)
    raise ValueError(f"unknown ranking method {method!r}; use one of {RANK_METHODS}")


def find_issues(labels, probs, *, rank_by: str = "self_confidence") -> dict:
    """Run the whole method. Returns ``thresholds``, ``confident_joint``, ``joint``,
    ``noise_rate`` (per class), ``flagged`` (indices, most suspicious first), ``suggested`` (n,)
    and ``scores`` (n,)."""
    labels, probs = _check(labels, probs)
    k = probs.shape[1]
    t = per_class_thresholds(labels, probs)
    cj = confident_joint(labels, probs, t)
    counts = np.bincount(labels, minlength=k)
    joint = calibrate_joint(cj, counts)
    mask, suggested = prune_by_noise_rate(labels, probs, joint)
    scores = rank_scores(labels, probs, rank_by)
    idx = np.flatnonzero(mask)
    idx = idx[np.argsort(scores[idx], kind="stable")]
    return {"thresholds": t, "confident_joint": cj, "joint": joint,
            "noise_rate": noise_rates(joint), "flagged": idx, "suggested": suggested,
            "scores": scores}
