"""Classification metrics: per-class report, confusion matrix, majority baseline."""
from __future__ import annotations

import random

import pytest
from sklearn import metrics as skm

from tunewise.errors import UsageError
from tunewise.tasks.metrics import (NONE_COLUMN, classification_metrics, classification_report,
                                    confusion_columns, confusion_matrix, majority_baseline,
                                    majority_label)

LABELS = ["neg", "neu", "pos"]


def _random(n, seed):
    rng = random.Random(seed)
    golds = [rng.choice(LABELS) for _ in range(n)]
    preds = [rng.choice(LABELS + [None]) for _ in range(n)]
    return golds, preds


@pytest.mark.parametrize("seed", range(5))
def test_report_agrees_with_sklearn(seed):
    golds, preds = _random(60, seed)
    ours = classification_report(golds, preds, LABELS)
    theirs = skm.classification_report(golds, [p or "(none)" for p in preds], labels=LABELS,
                                       output_dict=True, zero_division=0)
    assert list(ours) == LABELS
    for lab in LABELS:
        assert ours[lab]["precision"] == pytest.approx(theirs[lab]["precision"])
        assert ours[lab]["recall"] == pytest.approx(theirs[lab]["recall"])
        assert ours[lab]["f1"] == pytest.approx(theirs[lab]["f1-score"])
        assert ours[lab]["support"] == theirs[lab]["support"] == golds.count(lab)
    m = classification_metrics(golds, preds, LABELS)
    assert m["macro_f1"] == pytest.approx(sum(ours[lab]["f1"] for lab in LABELS) / 3)
    assert m["accuracy"] == pytest.approx(sum(g == p for g, p in zip(golds, preds)) / 60)


def test_confusion_matrix_by_hand():
    golds = ["neg", "neg", "pos", "pos", "pos", "neu"]
    preds = ["neg", "pos", "pos", "pos", "neg", "neu"]
    m = confusion_matrix(golds, preds, LABELS)
    assert m == [[1, 0, 1],
                 [0, 1, 0],
                 [1, 0, 2]]
    assert confusion_columns(LABELS, m) == LABELS


def test_confusion_matrix_counts_unparseable_in_a_none_column():
    golds, preds = _random(80, 11)
    preds[0] = "sarcastic"            # outside the label set counts as unparseable too
    m = confusion_matrix(golds, preds, LABELS)
    assert confusion_columns(LABELS, m) == LABELS + [NONE_COLUMN]
    for i, lab in enumerate(LABELS):
        assert sum(m[i]) == golds.count(lab)                  # rows sum to the support
        assert m[i][i] == sum(g == p == lab for g, p in zip(golds, preds))
    assert sum(row[-1] for row in m) == sum(p not in LABELS for p in preds)
    # matches sklearn once unparseable is mapped to its own label
    sk = skm.confusion_matrix(golds, [p if p in LABELS else NONE_COLUMN for p in preds],
                              labels=LABELS + [NONE_COLUMN])
    assert m == sk[:3].tolist()


def test_confusion_matrix_rejects_gold_outside_labels():
    with pytest.raises(UsageError, match="gold labels not in"):
        confusion_matrix(["neg", "meh"], ["neg", "neg"], LABELS)


def test_majority_baseline():
    train = ["pos"] * 5 + ["neg"] * 3 + ["neu"]
    golds = ["pos", "neg", "neg", "neu"]
    r = majority_baseline(train, golds, LABELS)
    assert r["majority_label"] == "pos"
    assert r["accuracy"] == pytest.approx(0.25)
    assert r["macro_f1"] == pytest.approx(skm.f1_score(golds, ["pos"] * 4, labels=LABELS,
                                                       average="macro", zero_division=0))


def test_majority_ties_go_to_the_first_listed_label():
    assert majority_label(["pos", "neg"], LABELS) == "neg"
    assert majority_label(["pos", "neg"], ["pos", "neg"]) == "pos"
    with pytest.raises(UsageError):
        majority_label([], LABELS)


def test_length_mismatch():
    with pytest.raises(UsageError):
        classification_report(["neg"], [], LABELS)
