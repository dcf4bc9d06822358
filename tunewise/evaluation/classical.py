"""The classical arm: TF-IDF features + logistic regression (scikit-learn).

An honesty check every comparison includes: if a bag-of-n-grams model trained in a second matches
the language model, neither prompting nor fine-tuning is buying much.

Features: word 1-2 grams plus character 2-5 grams inside word boundaries (``char_wb``), both
sublinear TF-IDF. The character n-grams help on short, noisy text (typos, hashtags, morphology).
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from tunewise.data.records import Example
from tunewise.errors import DataError, UsageError
from tunewise.tasks.base import Prediction


class ClassicalClassifier:
    """TF-IDF (word 1-2 grams + char_wb 2-5 grams) + LogisticRegression.

    ``features_`` after ``fit`` says which feature sets were used (a set whose vocabulary would
    be empty, e.g. character n-grams seen only once in a tiny training set, is left out).
    """

    def __init__(self, seed: int = 0, *, max_features: int | None = 200_000, C: float = 4.0,
                 char_ngrams: bool = True, max_iter: int = 2000):
        #: seeds the solver (liblinear/saga shuffle); lbfgs itself is deterministic
        self.seed = seed
        #: cap per vectorizer on vocabulary size (most frequent n-grams kept); None = no cap
        self.max_features = max_features
        #: inverse L2 regularisation strength of the logistic regression
        self.C = C
        #: add character n-grams to the word n-grams
        self.char_ngrams = char_ngrams
        #: solver iteration limit
        self.max_iter = max_iter
        self._pipe = None
        self.classes_: list[str] = []
        self.features_: list[str] = []

    def _build(self, parts: tuple[str, ...]):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, Pipeline
        vectorizers = {
            # single-character words count too ("I", "5", "a")
            "word": TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True,
                                    token_pattern=r"(?u)\b\w+\b",
                                    max_features=self.max_features),
            "char": TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                    min_df=2, lowercase=True, max_features=self.max_features),
        }
        clf = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.seed)
        feats = FeatureUnion([(name, vectorizers[name]) for name in parts])
        return Pipeline([("features", feats), ("clf", clf)])

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "ClassicalClassifier":
        texts = [t or "" for t in texts]
        labels = [str(x) for x in labels]
        if len(texts) != len(labels):
            raise UsageError(f"{len(texts)} texts but {len(labels)} labels")
        distinct = sorted(set(labels))
        if len(distinct) < 2:
            raise DataError(
                f"the classical baseline needs training examples of at least 2 classes; the "
                f"training set has {len(texts)} example(s), all labelled "
                f"{distinct[0] if distinct else '(nothing)'!r}",
                fix="use a larger or stratified training split (tunewise data split)")
        attempts = [("word", "char"), ("word",), ("char",)] if self.char_ngrams else [("word",)]
        last = None
        for parts in attempts:
            pipe = self._build(parts)
            try:
                pipe.fit(texts, labels)
            except ValueError as e:          # empty vocabulary: texts without words / n-grams
                if "vocabulary" not in str(e):
                    raise DataError(f"cannot fit the classical baseline: {e}") from None
                last = e
                continue
            self._pipe = pipe
            self.features_ = list(parts)
            self.classes_ = [str(c) for c in pipe.named_steps["clf"].classes_]
            return self
        raise DataError(f"cannot fit the classical baseline: {last}",
                        fix="the training texts need some words")

    def _check_fitted(self):
        if self._pipe is None:
            raise UsageError("ClassicalClassifier.predict called before fit")

    def predict(self, texts: Sequence[str]) -> list[str]:
        self._check_fitted()
        if not len(texts):
            return []
        return [str(x) for x in self._pipe.predict([t or "" for t in texts])]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, n_classes) probabilities, columns in the order of ``classes_``."""
        self._check_fitted()
        if not len(texts):
            return np.zeros((0, len(self.classes_)))
        return self._pipe.predict_proba([t or "" for t in texts])


def check_label_task(task, train_examples: Sequence[Example], *, arm: str) -> None:
    """A classifier trained on labels (the classical arm, the embedding probe) needs a
    classification task and training examples whose labels are the task's."""
    if not task.supports_classical:
        raise UsageError(f"the {arm} only handles classification; this is a {task.kind} task",
                         fix="use the prompt or fine-tuned arms for NER and generation")
    if not train_examples:
        raise UsageError(f"the {arm} needs training examples", fix="pass --train FILE")
    from tunewise.tasks.factory import classification_label_problems
    bad = classification_label_problems(task, train_examples)
    if bad:
        raise DataError(f"{len(bad)} training example(s) have labels outside the task's labels "
                        f"{task.labels}", bad)


def classical_predictions(task, train_examples: Sequence[Example],
                          eval_examples: Sequence[Example], *, seed: int = 0,
                          **kwargs) -> list[Prediction]:
    """Fit on ``train_examples`` and predict ``eval_examples`` (classification tasks only).

    Each Prediction carries the label, the per-label probabilities (``extra["scores"]``) and an
    even share of the batch prediction time as ``latency_s`` (``extra["fit_s"]`` = fit time).
    """
    check_label_task(task, train_examples,
                     arm="classical arm (TF-IDF + logistic regression)")
    t0 = time.perf_counter()
    clf = ClassicalClassifier(seed=seed, **kwargs).fit(
        [ex.input for ex in train_examples], [task.gold(ex) for ex in train_examples])
    fit_s = time.perf_counter() - t0
    eval_examples = list(eval_examples)
    t1 = time.perf_counter()
    texts = [ex.input for ex in eval_examples]
    proba = clf.predict_proba(texts)
    elapsed = time.perf_counter() - t1
    per = elapsed / len(eval_examples) if eval_examples else 0.0
    out = []
    for ex, row in zip(eval_examples, proba):
        j = int(np.argmax(row))
        scores = {c: float(p) for c, p in zip(clf.classes_, row)}
        out.append(Prediction(gold=task.gold(ex), pred=clf.classes_[j], raw=clf.classes_[j],
                              latency_s=per,
                              extra={"method": "classical", "scores": scores, "fit_s": fit_s}))
    return out
