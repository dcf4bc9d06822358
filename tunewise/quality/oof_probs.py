"""Out-of-fold predicted probabilities for label-issue finding.

Every example's probabilities come from a model fitted on the other folds (stratified K-fold,
seeded), so a mislabelled example cannot vouch for its own label.

Producers (``FEATURES``):

- ``tfidf``: the classical arm (``tunewise.evaluation.classical``: word + character n-gram TF-IDF,
  logistic regression). Fast; knows nothing beyond the training words.
- ``lm``: logistic regression on frozen language-model features (``text_features.embed_texts``:
  the middle layer's hidden state at the last token and its mean over the tokens), standardised.
  One forward pass over the data; the folds only refit the linear model.
- ``lm+tfidf``: the average of both probability sets.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

FEATURES = ("lm+tfidf", "lm", "tfidf")
#: what ``find_label_issues`` and ``tunewise data noise`` use unless told otherwise (chosen by
#: bench/noise_bench.py: precision at k of the flipped labels)
DEFAULT_FEATURES = "lm+tfidf"

#: inverse L2 strength of the probe on standardised LM features (1,152 dims); a strong
#: penalty, since the probe must not memorise the (possibly wrong) labels it is trained on
LM_PROBE_C = 0.05


def _folds(y: np.ndarray, folds: int, seed: int):
    from sklearn.model_selection import StratifiedKFold
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(
        np.zeros(len(y)), y)


def _place(proba: np.ndarray, fitted_classes, k: int) -> np.ndarray:
    """Columns of ``proba`` (in ``fitted_classes`` order) placed into K columns."""
    out = np.zeros((proba.shape[0], k))
    out[:, [int(c) for c in fitted_classes]] = proba
    return out


def oof_tfidf(texts: Sequence[str], y: np.ndarray, k: int, *, folds: int = 5, seed: int = 0,
              advance=lambda n=1, info="": None) -> np.ndarray:
    """(n, k) out-of-fold probabilities of the TF-IDF + logistic-regression classifier."""
    from tunewise.evaluation.classical import ClassicalClassifier
    texts = list(texts)
    probs = np.zeros((len(texts), k))
    for train_idx, test_idx in _folds(y, folds, seed):
        clf = ClassicalClassifier(seed=seed).fit([texts[i] for i in train_idx],
                                                 [str(y[i]) for i in train_idx])
        p = clf.predict_proba([texts[i] for i in test_idx])
        probs[test_idx] = _place(p, clf.classes_, k)
        advance(1)
    return probs


def probe_classifier(C: float = LM_PROBE_C):
    """The probe: standardised features, then an L2 logistic regression (unfitted). Also compare's
    embedding-probe arm (``tunewise.evaluation.arms.probe``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))


def oof_probe(features: np.ndarray, y: np.ndarray, k: int, *, folds: int = 5, seed: int = 0,
              C: float = LM_PROBE_C, advance=lambda n=1, info="": None) -> np.ndarray:
    """(n, k) out-of-fold probabilities of a standardised logistic-regression probe."""
    probs = np.zeros((len(y), k))
    for train_idx, test_idx in _folds(y, folds, seed):
        clf = probe_classifier(C)
        clf.fit(features[train_idx], y[train_idx])
        probs[test_idx] = _place(clf.predict_proba(features[test_idx]),
                                 clf.classes_, k)
        advance(1)
    return probs
