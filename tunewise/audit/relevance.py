"""Task relevance: rows that do not look like the task, ranked most suspicious first.

Two signals:

- ``answer_form``: the answer does not have the form the task's answers have. When nearly every
  answer is one of a few short labels, a row whose answer is something else (a sentence where a
  label is expected) is flagged; for free-text answers, an answer far shorter or longer than the
  rest (robust z-score of its log length) or one that repeats the input.
- ``off_task``: inputs unlike the bulk of the data (``outlier_scores``): a seed score (content
  words all rare in the data; for classification, labels a classifier cannot predict from the
  input; with a test split, few test rows among the row's nearest neighbours: see
  ``offtask_signals``) picks the rows a classifier on words, characters and the row's form (how
  it starts and ends) then learns, in a few self-training rounds, to set apart from the rest
  and, weighted more, from the test rows; its out-of-fold scores rank the rows. (Distances to
  the nearest neighbours alone fail here: rows planted from another dataset are dense among
  themselves, and movie reviews are sparse.) Flagged: scores above median + ``Z`` x the
  scaled median absolute deviation.

Precision measured on planted rows (``bench/audit_bench.py``: 5% of the rows taken from another
dataset): ``MEASURED`` below, against the simple baseline of the distance to the TF-IDF
centroid.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from tunewise.audit import features, offtask_signals
from tunewise.audit.inputs import Split
from tunewise.audit.report import Evidence, Finding, excerpt
from tunewise.data.dedup import normalize

#: rounds of the self-trained classifier, and the share of rows taken as off-task in each
ROUNDS = 3
SEED_SHARE = 0.05
#: rows each round takes as negatives: those below the top NEGATIVES_FROM share (every row but
#: the doubtful band just under the positives; more rows of the task to contrast with than the
#: bottom half: precision@k 0.755 -> 0.776 on tweets, 0.866 either way on reviews), at most
#: MAX_NEGATIVES of them
NEGATIVES_FROM = 2 * SEED_SHARE
MAX_NEGATIVES = 20000
#: weight of a reference row among the negatives, against 1 for a training row: a reference row
#: is surely of the task, a row below the top share only probably (a fifth of the planted rows
#: still sit there after the first round). precision@k on tweets + alpaca instructions, seeds
#: 0-3: 0.83 0.80 0.70 0.79 at 1, 0.85 0.81 0.74 0.80 at 10, 0.84 0.83 0.75 0.84 at 1,000
#: (the reference alone); other pairs likewise, none lower
REFERENCE_WEIGHT = 10.0
#: rows x folds from which the 5 folds' fits of a round run in parallel, and how
PARALLEL_FITS = 50000
FIT_BACKEND = "threads"
Z = 3.5
#: precision@k (k = planted rows) measured by bench/audit_bench.py, quoted in the finding
MEASURED = ("measured precision of the top 5% with a test split: 0.88 on movie reviews with 5% "
            "planted clinc150 utterances, 0.85 on TweetEval tweets with planted alpaca "
            "instructions (0.73-0.85 over 4 seeds; bench/audit_bench.py, 2026-12-06): read "
            "them, do not drop them blindly")
#: answers that cover this share of rows, each short and repeated, make a label-like task
LABEL_COVERAGE = 0.9
SHOWN = 20


def content_rarity(texts: list[str]) -> np.ndarray:
    """The seed score: the smallest inverse document frequency among a row's content words
    (words that are neither English stop words nor among the 30 commonest words of the data).
    A row of the task nearly always uses at least one word common in the data; a row from
    elsewhere often uses none."""
    import re
    from collections import Counter

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    word = re.compile(r"\w+")
    docs = [{w.lower() for w in word.findall(t)} for t in texts]
    df = Counter(w for d in docs for w in d)
    n = max(len(texts), 1)
    skip = set(ENGLISH_STOP_WORDS) | {w for w, _ in df.most_common(30)}
    top = float(np.log(n))
    return np.array([min((np.log(n / df[w]) for w in d if w not in skip and not w.isdigit()),
                         default=top) for d in docs])


def outlier_scores(texts: list[str], seed: int = 0, rounds: int = ROUNDS,
                   labels: list | None = None, reference: list[str] | None = None) -> np.ndarray:
    """Off-task scores (higher: less like the task). The seed is the sum of the ranks of
    ``content_rarity``, with ``labels`` the label entropy and own-label surprise, and with a
    ``reference`` (clean rows of the task: the test split) ``reference_share`` (see
    ``offtask_signals``). Then a logistic regression on words and characters learns to tell the
    top ``SEED_SHARE`` of rows from the rest (below the top ``NEGATIVES_FROM``) and the
    reference rows, and its out-of-fold
    decision values become the next scores; ``rounds`` times. Rows from another task share
    words and style with each other, so the classifier picks them up as a group, which
    single-row distances cannot (they are dense among themselves); the reference rows, all of
    the task, keep it from drifting onto a style the task itself has."""
    from scipy.stats import rankdata
    n = len(texts)
    use_ref = reference is not None and len(reference) >= offtask_signals.MIN_REFERENCE
    mats = offtask_signals.style_features(texts, *([reference] if use_ref else []),
                                          min_df=2 if n >= 200 else 1, seed=seed)
    x, x_ref = mats[0], (mats[1] if use_ref else None)
    parts = [content_rarity(texts)]
    got = offtask_signals.label_signals(x, labels, seed) if labels is not None else None
    if got is not None:
        parts += list(got)
    share = offtask_signals.reference_share(x, x_ref, seed)
    if share is not None:
        parts.append(share)
    scores = np.sum([rankdata(p) for p in parts], axis=0)
    form = offtask_signals.form_features(texts, *([reference] if use_ref else []),
                                         min_df=2 if n >= 200 else 1)
    if form is not None:
        import scipy.sparse as sp
        x = sp.hstack([x, form[0]]).tocsr()
        x_ref = sp.hstack([x_ref, form[1]]).tocsr() if use_ref else None
    for r in range(rounds):
        scores = _self_train_round(x, x_ref if share is not None else None, scores, seed + r)
    return scores


def _self_train_round(x, x_ref, scores: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold decision values of a classifier: the top ``SEED_SHARE`` of ``scores``
    (positives) vs the rows below the top ``NEGATIVES_FROM`` and the reference rows
    (negatives)."""
    import scipy.sparse as sp
    n = x.shape[0]
    n_pos = max(2, int(SEED_SHARE * n))
    rng = np.random.default_rng(seed)
    order = np.argsort(-scores, kind="stable")
    low = order[int(NEGATIVES_FROM * n):]
    if len(low) > MAX_NEGATIVES:                     # big sets: a sample of them
        low = np.sort(rng.choice(low, MAX_NEGATIVES, False))
    m = 0 if x_ref is None else x_ref.shape[0]
    both = x if x_ref is None else sp.vstack([x, x_ref]).tocsr()
    pos_all = order[:n_pos]
    tasks = []
    folds = rng.integers(0, 5, n)
    ref_folds = rng.integers(0, 5, m)
    for f in range(5):
        pos = pos_all[folds[pos_all] != f]
        neg = np.r_[low[folds[low] != f], n + np.flatnonzero(ref_folds != f)].astype(np.int64)
        if len(pos) and len(neg):
            tasks.append((np.r_[pos, neg], len(pos), np.flatnonzero(folds == f)))
    new = np.zeros(n)
    if n * len(tasks) >= PARALLEL_FITS:          # the folds on every core (each fit: one)
        from joblib import Parallel, delayed
        got = Parallel(n_jobs=-1, prefer=FIT_BACKEND)(delayed(_fold_fit)(both, x, *t)
                                                      for t in tasks)
    else:
        got = [_fold_fit(both, x, *t) for t in tasks]
    for (_, _, rows), values in zip(tasks, got):
        new[rows] = values
    return new


def _fold_fit(both, x, train_rows: np.ndarray, n_pos: int, rows: np.ndarray) -> np.ndarray:
    """One fold: fit on ``train_rows`` of ``both`` (the first ``n_pos`` positive; rows past
    ``x``'s are reference rows, weighted ``REFERENCE_WEIGHT``; each class weighs half), the
    decision values of ``rows`` of ``x``."""
    from sklearn.linear_model import LogisticRegression
    y = np.zeros(len(train_rows))
    y[:n_pos] = 1
    w = np.where(train_rows >= x.shape[0], REFERENCE_WEIGHT, 1.0)
    w[:n_pos] *= len(w) / (2 * w[:n_pos].sum())
    w[n_pos:] *= len(w) / (2 * w[n_pos:].sum())
    clf = LogisticRegression(C=1.0, max_iter=1000)
    clf.fit(both[train_rows], y, sample_weight=w)
    return clf.decision_function(x[rows])


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


def check_relevance(train: Split, *, seed: int = 0, with_answers: bool = True,
                    reference: Split | None = None) -> list[Finding]:
    """The off-task finding and, when answers are read, the answer-form finding. ``reference``:
    rows of the task held out by the user (the test split), compared with when it has at least
    ``offtask_signals.MIN_REFERENCE`` rows."""
    out = []
    if with_answers:
        out.append(_form_finding(train, answer_form(train)))
    labels = train.golds if train.golds and all(g is not None for g in train.golds) else None
    ref = reference.texts if reference is not None else None
    used_ref = ref is not None and len(ref) >= offtask_signals.MIN_REFERENCE
    scores = outlier_scores(train.texts, seed, labels=labels, reference=ref)
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
               f"(robust z > {Z:g} of the off-task score); "
               + (f"compared with the {len(ref):,} rows of {reference.name}; " if used_ref else
                  "no test split of at least "
                  f"{offtask_signals.MIN_REFERENCE} rows to compare with (--test makes it "
                  "sharper); ") + MEASURED)
    fix = "" if sev == "ok" else ("read the listed rows: drop those that are not the task, keep "
                                  "genuine rare cases (they are what the model most needs)")
    out.append(Finding("relevance", "off_task", sev, summary, fix,
                       {"flagged": int(len(flagged)), "z_threshold": Z,
                        "median_score": round(float(np.median(scores)), 4),
                        "reference_rows": len(ref) if used_ref else 0},
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
