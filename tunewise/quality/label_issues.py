"""``find_label_issues``: which labels in a classification dataset are probably wrong.

Out-of-fold predicted probabilities (``oof_probs``) go through confident learning
(``confident_learning``): per-class thresholds, the confident joint, its calibration, pruning by
the estimated noise rate. The result ranks the flagged examples, most suspicious first, with their
file line, given label, suggested label and the model's confidence in the suggestion, and
estimates the share of wrong labels per class.

This is an estimate from a model, not a verdict: a flagged example is worth a human look; the
noise rates are as good as the model's probabilities are calibrated.
"""
from __future__ import annotations

import os
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from tunewise.data.records import Example
from tunewise.errors import DataError, UsageError

#: fewest examples confident learning is run on (each fold's model needs something to learn)
MIN_EXAMPLES = 20
#: numeric labels with more distinct values than this look like regression targets
MAX_NUMERIC_CLASSES = 20
#: items named in one message before "and N more"
LIST_LIMIT = 10
#: seeds scikit-learn's folds accept
MAX_SEED = 2**32 - 1
#: above this many classes the K x K joint and the per-class models grow large: a note says so
MANY_CLASSES = 200


@dataclass
class LabelSuspect:
    """One example whose given label is probably wrong."""

    #: 0-based position among the examples read
    index: int
    #: line of the example in its input file (a CSV's first data row is line 2)
    line: int | None
    source: str | None
    given: str
    #: the label the model believes instead
    suggested: str
    #: out-of-fold probability of ``suggested``
    confidence: float
    #: out-of-fold probability of ``given``
    given_probability: float
    text: str = ""

    def to_dict(self) -> dict:
        return {"line": self.line, "given": self.given, "suggested": self.suggested,
                "confidence": round(self.confidence, 4),
                "given_probability": round(self.given_probability, 4), "file": self.source}


@dataclass
class LabelIssues:
    """What ``find_label_issues`` found."""

    source: str
    n_examples: int
    labels: list[str]
    #: flagged examples, most suspicious first (the first ``top`` when ``top`` was given)
    suspects: list[LabelSuspect]
    #: how many examples were flagged in all (before ``top``)
    n_flagged: int
    #: estimated P(true label != given | given label), per given label
    noise_rate: dict[str, float]
    #: counts, rows = given label, columns = confidently predicted label (order of ``labels``);
    #: ``to_dict`` gives it without zeros (``joint_counts``)
    confident_joint: list[list[int]]
    features: str
    folds: int
    rank_by: str
    timing: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: (n, K) out-of-fold probabilities and (n,) ranking scores (lower = more suspicious)
    probabilities: Any = field(default=None, repr=False)
    scores: Any = field(default=None, repr=False)
    #: the flagged indices, most suspicious first (all of them, whatever ``top`` was)
    flagged: list[int] = field(default_factory=list, repr=False)
    #: each producer's own (n, K) out-of-fold probabilities ("lm", "tfidf"), before averaging
    parts: dict = field(default_factory=dict, repr=False)

    def joint_counts(self) -> dict[str, dict[str, int]]:
        """The confident joint without its zeros: given label -> {predicted label: count}
        (K x K numbers would be mostly zeros for many classes)."""
        return {self.labels[i]: {self.labels[j]: int(c) for j, c in enumerate(row) if c}
                for i, row in enumerate(self.confident_joint) if any(row)}

    def to_dict(self) -> dict:
        return {"suspects": [s.to_dict() for s in self.suspects],
                "noise_rate": {k: round(v, 4) for k, v in self.noise_rate.items()},
                "n_examples": self.n_examples, "n_flagged": self.n_flagged,
                "labels": self.labels, "confident_joint": self.joint_counts(),
                "features": self.features, "folds": self.folds, "rank_by": self.rank_by,
                "source": self.source, "timing": self.timing, "notes": self.notes}


def _gold(ex: Example) -> str:
    return ex.label if ex.label is not None else (ex.answer or "").strip()


def _label_like(answer: str) -> bool:
    """A short one-line answer: what a label from a closed set looks like."""
    from tunewise.tasks.factory import MAX_LABEL_CHARS
    return 0 < len(answer) <= MAX_LABEL_CHARS and "\n" not in answer


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _listed(items: Sequence[str], limit: int = LIST_LIMIT) -> str:
    """At most ``limit`` items joined, and how many more there are (messages stay short)."""
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit:,} more" if len(items) > limit else "")


def check_classification(examples: Sequence[Example], source: str, folds: int,
                         task: str | None = None) -> list[str]:
    """The labels, sorted; raises UsageError when the data cannot be checked this way.

    ``task`` (``--task``) is obeyed: ``classification`` takes every short answer as a label
    whatever the kind inference would say; another kind is refused. The checks run from the most
    specific to the most general, so one class, too few rows or numeric targets get their own
    message rather than "this is generation data".
    """
    from tunewise.tasks.factory import sorted_labels
    if not examples:
        raise UsageError(f"{source}: no examples", fix="pass a classification dataset")
    if task is not None and task != "classification":
        raise UsageError(f"--task {task}: label-issue finding needs classification data",
                         fix="pass --task classification, or a file with a label per example")
    golds = [_gold(ex) for ex in examples]
    missing = [ex.where() for ex, g in zip(examples, golds) if g == ""]
    if missing:
        raise DataError(f"{source}: {len(missing):,} example(s) have no label: "
                        f"{_listed(missing, 5)}", fix="label them or remove them")
    distinct = sorted_labels(golds)
    has_labels = any(ex.label is not None for ex in examples)
    free_text = [g for g in distinct if not _label_like(g)]
    if task is None and not has_labels and free_text:
        raise UsageError(
            f"{source}: this is generation data ({len(distinct):,} distinct answers, e.g. "
            f"{free_text[0][:60]!r} is free text), and label-issue finding needs classification "
            "data: a short label from a closed set per example",
            fix="pass a file with a label column (CSV) or one-word assistant answers, or "
                "--task classification if the answers are labels")
    if len(distinct) > MAX_NUMERIC_CLASSES and all(_is_number(g) for g in distinct):
        raise UsageError(
            f"{source}: the labels are {len(distinct):,} distinct numbers (e.g. "
            f"{', '.join(distinct[:3])}): this looks like regression data, and label-issue "
            "finding needs classification labels",
            fix="bin the numeric targets into classes first, or use a classification dataset")
    if len(distinct) < 2:
        raise UsageError(
            f"{source}: every example is labelled {distinct[0]!r}: with one class there is no "
            "other label to suggest", fix="pass data with at least 2 classes")
    if len(examples) < MIN_EXAMPLES:
        raise UsageError(
            f"{source}: {len(examples)} examples are too few: the out-of-fold models need at "
            f"least {MIN_EXAMPLES} examples to learn from", fix="pass a larger dataset")
    if folds < 2:
        raise UsageError(f"--folds {folds}: need at least 2 folds", fix="use --folds 5")
    counts = Counter(golds)
    rare = [f"{lab!r}" for lab in distinct if counts[lab] < 2]
    if rare:
        raise UsageError(
            f"{source}: {len(rare):,} of {len(distinct):,} classes have a single example "
            f"({_listed(rare)}); out-of-fold probabilities need at least 2 examples per class"
            + (" (if these answers are free text rather than labels, this is generation data "
               "and label noise does not apply)" if len(rare) > len(distinct) // 2 else ""),
            fix="merge or remove the rare classes (tunewise data stats lists the counts)")
    return distinct


def find_label_issues(path: "str | os.PathLike | Sequence[Example]", *, model: str | None = None,
                      folds: int = 5, top: int | None = None, features: str | None = None,
                      rank_by: str = "self_confidence", seed: int = 0, lm=None,
                      format: str | None = None, task: str | None = None,
                      text_column: str | None = None, label_column: str | None = None,
                      encoding: str | None = None, progress: bool = True) -> LabelIssues:
    """Flag examples of a classification dataset whose label is probably wrong.

    - ``path``: a data file (any format ``tunewise.data.read`` knows) or a list of Example.
    - ``model``: the language model for ``lm`` features (default: the embedded model); ``lm``: an
      already loaded ``LoadedModel``.
    - ``folds``: K of the stratified K-fold that makes the probabilities out-of-fold (fewer when
      the rarest class has fewer examples; said in ``notes``).
    - ``top``: keep only the first N suspects (``n_flagged`` still counts all).
    - ``features``: ``lm+tfidf``, ``lm`` or ``tfidf`` (fast, no language model); None =
      ``oof_probs.DEFAULT_FEATURES``.
    - ``rank_by``: ``self_confidence`` or ``normalized_margin``.

    Raises UsageError for data that is not classification (generation, regression-like numeric
    labels), a single class, too few examples; DataError for unreadable rows.
    """
    from tunewise.data import confident_learning as cl
    from tunewise.data.reading import read
    from tunewise.quality import oof_probs
    features = features or oof_probs.DEFAULT_FEATURES
    if features not in oof_probs.FEATURES:
        raise UsageError(f"unknown features {features!r}", fix=f"use one of {oof_probs.FEATURES}")
    if rank_by not in cl.RANK_METHODS:
        raise UsageError(f"unknown ranking {rank_by!r}", fix=f"use one of {cl.RANK_METHODS}")
    if top is not None and top < 1:
        raise UsageError(f"--top {top}: must be at least 1")
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed {seed}: must be between 0 and {MAX_SEED:,} (2**32 - 1)",
                         fix="pass a seed in that range, e.g. --seed 0")
    if isinstance(path, (str, os.PathLike)):
        source = os.fspath(path)
        examples = read(path, format=format, task=task, text_column=text_column,
                        label_column=label_column, encoding=encoding)
    else:
        examples = list(path)
        source = (examples[0].source if examples and examples[0].source else "<examples>")
    labels = check_classification(examples, source, folds, task)
    index = {lab: i for i, lab in enumerate(labels)}
    y = np.array([index[_gold(ex)] for ex in examples])
    k = len(labels)
    notes = []
    used_folds = min(folds, int(np.bincount(y, minlength=k).min()))
    if used_folds < folds:
        notes.append(f"{used_folds} folds instead of {folds}: the rarest class has only "
                     f"{used_folds} examples")
    if k > MANY_CLASSES:
        notes.append(f"{k:,} classes: time and memory grow with the class count (one linear "
                     f"model per class and fold, a {k:,} x {k:,} confident joint); the estimates "
                     "are weak with few examples per class")
    texts = [ex.input for ex in examples]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        probs, timing = _oof(texts, y, k, used_folds, features=features, model=model, lm=lm,
                             seed=seed, progress=progress)
    notes += _warning_notes(caught)
    p = np.mean(list(probs.values()), axis=0)
    res = cl.find_issues(y, p, rank_by=rank_by)
    flagged = [int(i) for i in res["flagged"]]
    shown = flagged if top is None else flagged[:top]
    suspects = [LabelSuspect(index=i, line=examples[i].line, source=examples[i].source,
                             given=labels[y[i]], suggested=labels[int(res["suggested"][i])],
                             confidence=float(p[i, int(res["suggested"][i])]),
                             given_probability=float(p[i, y[i]]), text=texts[i])
                for i in shown]
    timing["total_seconds"] = round(sum(timing.values()), 2)
    return LabelIssues(source=source, n_examples=len(examples), labels=labels,
                       suspects=suspects, n_flagged=len(flagged),
                       noise_rate={lab: float(r) for lab, r in zip(labels, res["noise_rate"])},
                       confident_joint=res["confident_joint"].tolist(), features=features,
                       folds=used_folds, rank_by=rank_by, timing=timing, notes=notes,
                       probabilities=p, scores=res["scores"], flagged=flagged, parts=probs)


def _oof(texts, y, k, folds, *, features, model, lm, seed, progress):
    """Each producer's (n, K) out-of-fold probabilities, and the seconds each took."""
    from tunewise.quality import oof_probs
    timing: dict = {}
    probs: dict[str, np.ndarray] = {}
    if "lm" in features.split("+"):
        from tunewise.quality.text_features import embed_texts
        t0 = time.perf_counter()
        emb = embed_texts(texts, model=model, lm=lm, progress=progress)
        timing["features_seconds"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        probs["lm"] = oof_probs.oof_probe(emb, y, k, folds=folds, seed=seed)
        timing["lm_probe_seconds"] = round(time.perf_counter() - t0, 2)
    if "tfidf" in features.split("+"):
        from tunewise import progress as prog
        t0 = time.perf_counter()
        with prog.bar("TF-IDF folds", total=folds, disable=not progress) as advance:
            probs["tfidf"] = oof_probs.oof_tfidf(texts, y, k, folds=folds, seed=seed,
                                                 advance=advance)
        timing["tfidf_seconds"] = round(time.perf_counter() - t0, 2)
    return probs, timing


def _warning_notes(caught) -> list[str]:
    """Library warnings (scikit-learn's convergence or class-size warnings) as one short note
    each, instead of raw warning lines on stderr."""
    seen: dict[str, int] = {}
    for w in caught:
        if not issubclass(w.category, UserWarning) or issubclass(w.category, DeprecationWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            continue
        text = str(w.message).strip().splitlines()[0][:200]
        seen[text] = seen.get(text, 0) + 1
    return [f"library warning: {text}" + (f" (x{n})" if n > 1 else "")
            for text, n in seen.items()]
