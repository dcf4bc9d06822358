"""The signals behind the off-task ranking (``relevance.outlier_scores``), each a score per
training row, higher = less like the task:

- ``style_features``: TF-IDF of words and word pairs next to character 2-4-grams (within
  words, case kept). Rows of another task often share the task's words but not its form
  (imperative instructions among tweets, questions to an assistant among reviews); the
  characters carry that form (capitals, punctuation, @user, #tags, word endings);
- ``form_features``: how a row begins and ends (its first word and first two words, its last
  word and last two, the kind of its first character), a block the self-training adds at
  ``FORM_WEIGHT``. Word and character n-grams have no position, yet a task's rows share how
  they start and stop ("Create ...", "Give me ...", "what is ..." vs "@user ...", "... #tag");
- ``label_signals``: for classification, the entropy of the out-of-fold label probabilities and
  the negative log-probability of the row's own label: a row of another task, labelled anyway,
  says nothing about its label;
- ``reference_share``: with a clean reference of the task (the test split the user held out),
  how few of a row's nearest neighbours (among training and reference rows together) are
  reference rows. Rows planted from elsewhere are neighbours of each other, and the reference
  has none of them, so their share is near 0 while a row of the task has about the
  reference's share of the pool (a PU-learning view: train = task + unknown, reference = task).

Measured on bench/audit_bench.py (2026-12-06): the seed before self-training had precision@k
0.12 (tweets + alpaca instructions) and 0.22 (reviews + clinc150), because the rarest content
word says little when the planted rows use everyday words, and a weak 4-emotion classifier is
unsure of many genuine tweets; these signals and the reference raise it and let the
self-training lock on the planted group rather than on formal-looking rows of the task. The form
block then took the self-training from 0.78 to 0.85 on tweets + alpaca (short instructions with
everyday words: "Make up a new flavor of ice cream.") and from 0.64-0.84 to 0.85-0.91 on tweets
+ movie reviews (the bench docstring has the table).
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

#: character n-grams of the style features
CHAR_NGRAMS = (2, 4)
#: neighbours counted by ``reference_share``; rows of the pool (training rows sampled, then
#: all reference rows up to the cap) it compares with at most
K_NEIGHBOURS = 30
POOL_TRAIN = 10000
POOL_REFERENCE = 10000
#: rows the feature vocabulary is fitted on at most; rows above which they are transformed
#: in parallel
FIT_ROWS = 20000
PARALLEL_ROWS = 20000
#: fewest reference rows worth comparing with (fewer: the share is too noisy to use)
MIN_REFERENCE = 50
#: rows each fold of the label classifier trains on at most
LABEL_ROWS = 10000
#: weight of the (L2-normalised) form block beside the word and character blocks (norm 1
#: each): a row has ~5 form tokens and tens of word 1-2-grams, so at 0.3 one form token weighs
#: about as much as one word. Heavier, the few form tokens carry the classifier and it drifts
#: onto a form common in the task (capitalised sentences among tweets: precision@k on
#: tweets + alpaca 0.83 at 0.3, 0.75 at 0.5, 0.63 at 1.0; the length bucket as a form token
#: made that drift worse and is left out)
FORM_WEIGHT = 0.3
_FORM_WORD = re.compile(r"\w+|[^\w\s]")


def style_features(texts: Sequence[str], *others: Sequence[str], min_df: int = 2,
                   seed: int = 0):
    """Sparse L2-normalised word (1-2) and character (2-4 within words) TF-IDF blocks, side by
    side, with the vocabulary and weights fitted on ``texts`` (at most ``FIT_ROWS`` of them);
    one matrix for ``texts`` and one per list of ``others``. Big sets are transformed in
    chunks on every core (the character analyzer is most of the audit's 100k-row time)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from tunewise.audit import features
    fit = list(texts)
    if len(fit) > FIT_ROWS:
        rng = np.random.default_rng(seed)
        fit = [fit[i] for i in np.sort(rng.choice(len(fit), FIT_ROWS, replace=False))]
    words = features.tfidf(fit, ngram=(1, 2), min_df=min_df)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, min_df=min_df,
                            lowercase=False, sublinear_tf=True, dtype=np.float32,
                            max_features=2 ** 18)
    try:
        chars.fit(fit)
    except ValueError:                   # nothing left at min_df: words alone
        chars = None
    vecs = [words] + ([chars] if chars is not None else [])
    return [_transform(vecs, list(t)) for t in (texts, *others)]


def form_tokens(text: str) -> list[str]:
    """The tokens of a row's form: ``^first``, ``^first second``, ``$last``, ``$before last``
    (lower-cased words or punctuation marks) and ``^shape:`` of the first character (``Aa``
    capital, ``a`` small, ``0`` digit, else the character itself: @, #, a quote...)."""
    toks = _FORM_WORD.findall(text)
    if not toks:
        return []
    low = [t.lower() for t in toks]
    c = toks[0][0]
    shape = "Aa" if c.isupper() else "a" if c.islower() else "0" if c.isdigit() else c
    return ["^" + low[0], "^" + " ".join(low[:2]), "$" + low[-1], "$" + " ".join(low[-2:]),
            "^shape:" + shape]


def form_features(texts: Sequence[str], *others: Sequence[str], min_df: int = 2):
    """``FORM_WEIGHT`` x the L2-normalised TF-IDF of ``form_tokens``, fitted on ``texts``; one
    matrix for ``texts`` and one per list of ``others`` (None when no token reaches
    ``min_df``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    vec = TfidfVectorizer(analyzer=form_tokens, min_df=min_df, sublinear_tf=True,
                          dtype=np.float32)
    try:
        vec.fit(texts)
    except ValueError:
        return None
    return [FORM_WEIGHT * vec.transform(t) for t in (texts, *others)]


def _transform(vecs: list, texts: list[str]):
    import scipy.sparse as sp
    one = lambda part: sp.hstack([v.transform(part) for v in vecs]).tocsr()  # noqa: E731
    if len(texts) <= PARALLEL_ROWS:
        return one(texts)
    from joblib import Parallel, delayed
    step = -(-len(texts) // 8)
    parts = Parallel(n_jobs=-1)(delayed(one)(texts[i:i + step])
                                for i in range(0, len(texts), step))
    return sp.vstack(parts).tocsr()


def label_signals(x, labels: list, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """(entropy of the out-of-fold label probabilities, minus the log-probability of the row's
    own label), from a logistic regression on ``x`` (multinomial naive Bayes above 20 labels:
    the regression costs minutes per fold there). None when the labels cannot support 5 folds."""
    from collections import Counter

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    counts = Counter(labels)
    if len(counts) < 2 or min(counts.values()) < 5:
        return None
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    y = np.asarray(labels)
    ent, nll = np.zeros(len(y)), np.zeros(len(y))
    rng = np.random.default_rng(seed)
    for fit, held in cv.split(np.zeros(len(y)), y):
        if len(fit) > LABEL_ROWS:                    # big sets: each fold fits on a sample
            fit = np.sort(rng.choice(fit, LABEL_ROWS, replace=False))
        if len(counts) > 20:
            from sklearn.naive_bayes import MultinomialNB
            clf = MultinomialNB(alpha=0.1)
        else:
            clf = LogisticRegression(C=2.0, max_iter=1000)
        clf.fit(x[fit], y[fit])
        p = clf.predict_proba(x[held])
        col = {c: j for j, c in enumerate(clf.classes_)}
        own = np.array([p[i, col[v]] if v in col else 0.0 for i, v in enumerate(y[held])])
        ent[held] = -(p * np.log(p + 1e-9)).sum(axis=1)
        nll[held] = -np.log(own + 1e-9)
    return ent, nll


def reference_share(x, x_ref, seed: int = 0, k: int = K_NEIGHBOURS) -> np.ndarray | None:
    """Minus the share of reference rows among each training row's ``k`` nearest neighbours
    (cosine on a truncated SVD of ``x``; the row itself excluded), or None when the reference
    has fewer than ``MIN_REFERENCE`` rows. Big sets compare with a sample of the training rows
    (the expected share of a row of the task stays that of the reference in the pool)."""
    from tunewise.audit import features
    if x_ref is None or x_ref.shape[0] < MIN_REFERENCE:
        return None
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    pool = np.arange(n) if n <= POOL_TRAIN else np.sort(rng.choice(n, POOL_TRAIN, False))
    ref = (np.arange(x_ref.shape[0]) if x_ref.shape[0] <= POOL_REFERENCE
           else np.sort(rng.choice(x_ref.shape[0], POOL_REFERENCE, False)))
    dense, dense_ref = features.lsa([x, x_ref[ref]], dims=128, seed=seed)
    reference = np.vstack([dense[pool], dense_ref])
    self_rows = np.full(n, -1, dtype=np.int64)
    self_rows[pool] = np.arange(len(pool))
    k = max(1, min(k, reference.shape[0] - 1))
    share = np.zeros(n)
    for start in range(0, n, 2048):
        sims = dense[start:start + 2048] @ reference.T
        own = self_rows[start:start + 2048]
        hit = np.flatnonzero(own >= 0)
        sims[hit, own[hit]] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        share[start:start + 2048] = (top >= len(pool)).mean(axis=1)
    return -share
