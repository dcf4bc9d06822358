"""Leakage: inputs of the test split (or the production sample) that also appear in training,
exactly or with small edits, listed as pairs.

- exact: the same text after ``tunewise.data.dedup.normalize`` (case, punctuation and spacing
  ignored);
- near: for each test row its most similar training row by TF-IDF cosine (word unigrams), and
  among the candidates above ``CANDIDATE_COSINE`` the pairs whose word-sequence similarity
  (``difflib`` ratio over normalised words: 2 x matched words / total words) reaches
  ``threshold`` (0.8 by default: one word changed in ten still counts, two unrelated sentences
  on the same topic do not).

Measured on 30 test rows copied into training with small edits (``bench/audit_bench.py``); the
simple baseline it is compared with is the exact match alone.
"""
from __future__ import annotations

import difflib

import numpy as np

from tunewise.audit import features
from tunewise.audit.inputs import Split
from tunewise.audit.report import Evidence, Finding, excerpt
from tunewise.data.dedup import key_hash, normalize

#: TF-IDF cosine from which a pair is verified word by word
CANDIDATE_COSINE = 0.5
#: default word-sequence similarity at which two inputs count as the same input
THRESHOLD = 0.8
#: pairs listed as evidence
SHOWN = 20


def word_ratio(a: str, b: str) -> float:
    """difflib's similarity of two texts' normalised word sequences (1.0 = the same words in the
    same order)."""
    wa, wb = normalize(a).split(), normalize(b).split()
    if not wa and not wb:
        return 1.0
    return difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()


def leaked_pairs(train: Split, other: Split, threshold: float = THRESHOLD
                 ) -> list[tuple[int, int, float, str]]:
    """(other row, train row, similarity, "exact" | "near") for each row of ``other`` whose
    input is in ``train``, exactly or nearly."""
    norm_train = [normalize(t) for t in train.texts]
    first: dict[int, int] = {}
    for i, t in enumerate(norm_train):
        if t:
            first.setdefault(key_hash(t), i)
    pairs: list[tuple[int, int, float, str]] = []
    rest = []
    for j, t in enumerate(other.texts):
        nt = normalize(t)
        hit = first.get(key_hash(nt)) if nt else None
        if hit is not None and norm_train[hit] == nt:
            pairs.append((j, hit, 1.0, "exact"))
        elif nt:
            rest.append(j)
    if not rest or not train.texts:
        return pairs
    # words in more than 10% of rows carry no sign of a copy and make the products dense
    vec = features.tfidf(norm_train + [normalize(other.texts[j]) for j in rest], ngram=(1, 1),
                         max_df=0.1 if len(norm_train) >= 1000 else 1.0)
    x_train = vec.transform(norm_train)
    x_rest = vec.transform([normalize(other.texts[j]) for j in rest])
    best, sim = features.nearest(x_rest, x_train)
    for pos in np.flatnonzero(sim >= CANDIDATE_COSINE):
        j, i = rest[pos], int(best[pos])
        r = word_ratio(other.texts[j], train.texts[i])
        if r >= threshold:
            pairs.append((j, i, round(r, 3), "near"))
    return sorted(pairs)


def check_leakage(train: Split, other: Split, threshold: float = THRESHOLD) -> Finding:
    """The leakage finding for ``other`` (the test split or the production sample)."""
    pairs = leaked_pairs(train, other, threshold)
    n = len(other)
    n_exact = sum(1 for p in pairs if p[3] == "exact")
    share = len(pairs) / max(n, 1)
    conflicting = sum(1 for j, i, _, _ in pairs if other.golds and train.golds
                      and other.golds[j] is not None and other.golds[j] != train.golds[i])
    role = other.role
    evidence = [Evidence(other.wheres[j], excerpt(other.texts[j]),
                         {"kind": kind, "similarity": sim, "train": train.wheres[i],
                          "train_text": excerpt(train.texts[i])})
                for j, i, sim, kind in pairs[:SHOWN]]
    metrics = {"rows": n, "leaked": len(pairs), "exact": n_exact, "near": len(pairs) - n_exact,
               "share": round(share, 4), "threshold": threshold,
               "conflicting_labels": conflicting}
    if not pairs:
        return Finding("leakage", f"leakage_{role}", "ok",
                       f"no {role} input appears in training (exact or word-sequence "
                       f"similarity >= {threshold:g})", metrics=metrics)
    if role == "test":
        severity = "error" if share >= 0.01 else "warning"
        summary = (f"{len(pairs):,} of {n:,} test inputs ({100 * share:.1f}%) also appear in "
                   f"training ({n_exact:,} exactly, {len(pairs) - n_exact:,} with small edits): "
                   "scores on them measure memory, not generalisation")
        fix = ("drop these rows from the test file (or their twins from training); or split one "
               "combined file with `tunewise data split`, which keeps near-duplicates in one split")
    else:
        severity = "info"
        summary = (f"{len(pairs):,} of {n:,} production inputs ({100 * share:.1f}%) are already "
                   "in training (fine if production logs feed the training set)")
        fix = ("leave them out of any evaluation built from the production sample")
    if conflicting:
        summary += f"; {conflicting:,} of the pairs have different labels"
    return Finding("leakage", f"leakage_{role}", severity, summary, fix, metrics, evidence,
                   evidence_total=len(pairs))
