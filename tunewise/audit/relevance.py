"""Task relevance: rows that do not look like the task, ranked most suspicious first.

Two signals:

- ``answer_form``: the answer does not have the form the task's answers have. When nearly every
  answer is one of a few short labels, a row whose answer is something else (a sentence where a
  label is expected) is flagged; for free-text answers, an answer far shorter or longer than the
  rest (robust z-score of its log length) or one that repeats the input.
- ``off_task``: an input unlike the others. Each input's score is one minus its mean cosine
  similarity to its ``K`` most similar training inputs (TF-IDF, projected on 128 SVD components;
  the neighbours are looked up in a sample of at most ``REFERENCE_ROWS`` rows). Rows from
  another task sit far from every neighbour; a few rows of one other topic still stand out
  because they are fewer than ``K``. Flagged: scores above median + ``Z`` x the scaled median
  absolute deviation.

Precision measured on planted rows (``bench/audit_bench.py``: 5% of the rows taken from another
dataset): ``MEASURED`` below, against the simple baseline of the distance to the TF-IDF
centroid.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from tunewise.audit import features
from tunewise.audit.inputs import Split
from tunewise.audit.report import Evidence, Finding, excerpt
from tunewise.data.dedup import normalize

K = 10
REFERENCE_ROWS = 10000
Z = 3.5
#: precision@k (k = planted rows) measured by bench/audit_bench.py, quoted in the finding
MEASURED = "precision@k 0.00 on 5% planted rows (bench/audit_bench.py)"
#: answers that cover this share of rows, each short and repeated, make a label-like task
LABEL_COVERAGE = 0.9
SHOWN = 20


def outlier_scores(texts: list[str], seed: int = 0) -> np.ndarray:
    """One minus the mean cosine similarity of each text to its K nearest other texts."""
    n = len(texts)
    vec = features.tfidf(texts, ngram=(1, 1), min_df=2 if n >= 200 else 1)
    x = vec.transform(texts)
    (dense,) = features.lsa([x], seed=seed)
    rng = np.random.default_rng(seed)
    ref = np.arange(n) if n <= REFERENCE_ROWS else np.sort(rng.choice(n, REFERENCE_ROWS,
                                                                      replace=False))
    pos = np.full(n, -1, dtype=np.int64)
    pos[ref] = np.arange(len(ref))
    return 1.0 - features.knn_similarity(dense, dense[ref], K, self_rows=pos)


def centroid_scores(texts: list[str]) -> np.ndarray:
    """The baseline: one minus the cosine similarity of each TF-IDF row to the centroid."""
    vec = features.tfidf(texts, ngram=(1, 1))
    x = vec.transform(texts)
    c = np.asarray(x.mean(axis=0)).ravel()
    c /= np.linalg.norm(c) or 1.0
    return 1.0 - np.asarray(x @ c).ravel()


def robust_z(values: np.ndarray) -> np.ndarray:
    med = np.median(values)
    mad = np.median(np.abs(values - med)) * 1.4826
    return (values - med) / (mad if mad > 1e-9 else 1e-9)


def answer_form(split: Split) -> dict[int, str]:
    """{row: why its answer has the wrong form} (see the module docstring)."""
    answers = [(a or "").strip() for a in split.answers]
    if not any(answers):
        return {}
    counts = Counter(answers)
    labels = {a for a, c in counts.items() if c >= 2 and len(a.split()) <= 5}
    covered = sum(counts[a] for a in labels)
    out: dict[int, str] = {}
    if labels and covered >= LABEL_COVERAGE * len(answers):
        longest = max(len(a) for a in labels)
        for i, a in enumerate(answers):
            if a in labels:
                continue
            if len(a.split()) > 5 or len(a) > 3 * longest:
                out[i] = f"a sentence where a label is expected ({len(a.split())} words)"
            elif len(labels) <= 50:
                out[i] = "an answer none of the other rows has (a label outside the label set?)"
        return out
    lengths = np.log1p([len(a.split()) for a in answers])
    z = robust_z(lengths)
    for i, a in enumerate(answers):
        if not a:
            continue
        if normalize(a) == normalize(split.texts[i]) and len(a.split()) > 3:
            out[i] = "the answer repeats the input"
        elif abs(z[i]) > 4 and len(answers) >= 20:
            out[i] = (f"an answer much {'longer' if z[i] > 0 else 'shorter'} than the others "
                      f"({len(a.split())} words)")
    return out


def check_relevance(train: Split, *, seed: int = 0, with_answers: bool = True) -> list[Finding]:
    """The off-task finding and, when answers are read, the answer-form finding."""
    out = []
    if with_answers:
        out.append(_form_finding(train, answer_form(train)))
    scores = outlier_scores(train.texts, seed)
    z = robust_z(scores)
    flagged = np.flatnonzero(z > Z)
    order = flagged[np.argsort(-scores[flagged])]
    n = len(train)
    share = len(flagged) / max(n, 1)
    sev = "ok" if share < 0.005 else "info" if share < 0.02 else "warning"
    evidence = [Evidence(train.wheres[i], excerpt(train.texts[i]),
                         {"score": round(float(scores[i]), 3), "z": round(float(z[i]), 1)})
                for i in order[:SHOWN]]
    summary = (f"{len(flagged):,} of {n:,} inputs ({100 * share:.1f}%) are unlike the rest "
               f"(robust z > {Z:g} of the distance to their {K} nearest inputs); {MEASURED}")
    fix = "" if sev == "ok" else ("read the listed rows: drop those that are not the task, keep "
                                  "genuine rare cases (they are what the model most needs)")
    out.append(Finding("relevance", "off_task", sev, summary, fix,
                       {"flagged": int(len(flagged)), "z_threshold": Z, "k": K,
                        "median_score": round(float(np.median(scores)), 4)},
                       evidence, evidence_total=int(len(flagged))))
    return out


def _form_finding(train: Split, bad: dict[int, str]) -> Finding:
    n = len(train)
    share = len(bad) / max(n, 1)
    sev = "ok" if not bad else "warning" if share < 0.05 else "error"
    evidence = [Evidence(train.wheres[i], excerpt(train.texts[i]),
                         {"answer": excerpt(train.answers[i] or "", 80), "why": why})
                for i, why in list(bad.items())[:SHOWN]]
    summary = (f"{len(bad):,} of {n:,} answers do not have the form of the others"
               if bad else "every answer has the form of the others")
    fix = "" if not bad else "correct or drop these rows: the model learns whatever form it sees"
    return Finding("relevance", "answer_form", sev, summary, fix,
                   {"rows": len(bad)}, evidence, evidence_total=len(bad))
