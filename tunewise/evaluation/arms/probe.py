"""The embedding-probe arm: logistic regression on a frozen base model's features.

The features are the ones ``tunewise data noise`` uses (``quality.text_features.embed_texts``: the
middle layer's hidden state at the last token and its mean over the tokens); the classifier is
its probe (``quality.oof_probs.probe_classifier``: standardised features, L2 logistic
regression). It is the cheap non-generative baseline of few-shot studies (SetFit-style probes),
beside the TF-IDF arm: one forward pass (up to the middle layer) per request, no decoding, no
prompt. Classification only (``task.supports_classical``).

``features(texts) -> (matrix, seconds)`` supplies the features and the measured forward seconds
of each text (``tunewise compare`` passes a cache keyed by model and text, so a learning curve
over many sizes and seeds embeds each text once; ``tunewise eval --arm probe`` embeds directly).
Timing: a request costs its text's measured forward seconds plus its share of the classifier's
prediction time; ``train_seconds`` = the training texts' forward seconds plus the fit.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from tunewise.errors import UsageError
from tunewise.evaluation.arms.base import ArmResult, register

#: ``features(texts)``: (n, d) float32 features and (n,) forward seconds per text
Features = Callable[[list], "tuple[np.ndarray, np.ndarray]"]


def direct_features(model: str | None = None, *, lm=None, progress: bool = True) -> Features:
    """Features computed on every call (no cache): ``lm`` (a ``LoadedModel``, or a function
    returning one) or ``model`` loaded by name."""
    def features(texts):
        from tunewise.quality.text_features import embed_texts
        loaded = lm() if callable(lm) else lm
        t0 = time.perf_counter()
        x = embed_texts(texts, model=model, lm=loaded, progress=progress)
        per = (time.perf_counter() - t0) / max(len(texts), 1)
        return x, np.full(len(texts), per)
    return features


@register
class ProbeArm:
    """Fits the probe on ``train``'s features and predicts (classification only)."""

    kind = "probe"

    def __init__(self, features: Features, train: Sequence, *, seed: int = 0,
                 name: str = "probe", model: str | None = None):
        self.features = features
        self.train = list(train)
        self.seed = seed
        self.name = name
        self.model = model

    @classmethod
    def from_options(cls, options, *, train, shots_from=()) -> "ProbeArm":
        if not train:
            raise UsageError("the probe arm needs training data", fix="pass --train FILE")
        if options.adapter is not None or options.prompt.shots:
            raise UsageError("the probe arm takes no --adapter and no --shots")
        return cls(direct_features(options.model), train, seed=options.seed,
                   model=options.model)

    def predict(self, task, examples, *, progress: bool = True) -> ArmResult:
        from tunewise.evaluation.classical import check_label_task
        from tunewise.quality.oof_probs import probe_classifier
        from tunewise.tasks.base import Prediction
        examples = list(examples)
        check_label_task(task, self.train, arm="embedding-probe arm")
        golds = [str(task.gold(ex)) for ex in self.train]
        if len(set(golds)) < 2:
            from tunewise.errors import DataError
            raise DataError(f"the probe needs training examples of at least 2 classes; its "
                            f"{len(golds)} are all labelled {golds[0]!r}",
                            fix="use a larger training size (arms.fine_tune.sizes)")
        x, secs = self.features([ex.input for ex in self.train] + [ex.input for ex in examples])
        n = len(self.train)
        t0 = time.perf_counter()
        clf = probe_classifier().fit(x[:n], golds)
        fit = time.perf_counter() - t0
        t1 = time.perf_counter()
        proba = clf.predict_proba(x[n:]) if examples else np.zeros((0, 0))
        share = (time.perf_counter() - t1) / max(len(examples), 1)
        classes = [str(c) for c in clf.classes_]
        preds = []
        for ex, row, s in zip(examples, proba, secs[n:]):
            j = int(np.argmax(row))
            preds.append(Prediction(gold=task.gold(ex), pred=classes[j], raw=classes[j],
                                    latency_s=float(s) + share,
                                    extra={"method": "probe",
                                           "scores": dict(zip(classes, map(float, row)))}))
        seconds = max(float(np.sum(secs[n:])) + share * len(examples), 1e-9)
        timing = {"seconds": seconds, "examples_per_second": len(examples) / seconds,
                  "train_seconds": float(np.sum(secs[:n])) + fit}
        return ArmResult(name=self.name, kind=self.kind, predictions=preds, timing=timing,
                         model=self.model, settings={"method": "probe", "seed": self.seed},
                         extra={"train_size": n, "seed": self.seed})
