"""Bootstrap CIs, McNemar and the paired bootstrap (tunewise.evaluation.stats)."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats as sps

from tunewise.evaluation.stats import (Accuracy, MeanScore, MetricWithCI, bootstrap_ci,
                                       bootstrap_distribution, mcnemar, metrics_with_ci,
                                       paired_bootstrap)
from tunewise.tasks import ClassificationTask, GenerationTask, NERTask
from tunewise.tasks.metrics import MacroF1, classification_metrics


def _labels(n, acc, seed=0, labels=("a", "b", "c")):
    rng = random.Random(seed)
    golds = [rng.choice(labels) for _ in range(n)]
    preds = [g if rng.random() < acc else rng.choice([x for x in labels if x != g])
             for g in golds]
    return golds, preds


def plain_accuracy(golds, preds):
    return sum(g == p for g, p in zip(golds, preds)) / len(golds)


def test_fast_path_equals_generic_path_on_the_same_resamples():
    golds, preds = _labels(120, 0.7)
    fast = bootstrap_distribution(Accuracy(), golds, preds, n_resamples=300, seed=3)
    slow = bootstrap_distribution(plain_accuracy, golds, preds, n_resamples=300, seed=3)
    assert fast.shape == (300,)
    np.testing.assert_allclose(fast, slow)


def test_macro_f1_fast_path_matches_sklearn_on_every_resample():
    labels = ["a", "b", "c", "d"]
    golds, preds = _labels(80, 0.5, seed=1, labels=labels)
    preds[3] = None            # an unparseable answer
    preds[5] = "zzz"           # an answer outside the label set
    m = MacroF1(labels)
    assert m(golds, preds) == pytest.approx(classification_metrics(golds, preds, labels)["macro_f1"])
    fast = bootstrap_distribution(m, golds, preds, n_resamples=50, seed=0)
    slow = bootstrap_distribution(
        lambda g, p: classification_metrics(g, p, labels)["macro_f1"], golds, preds,
        n_resamples=50, seed=0)
    np.testing.assert_allclose(fast, slow)


def test_ci_covers_the_point_estimate_and_narrows_with_n():
    widths = []
    for n in (50, 2000):
        golds, preds = _labels(n, 0.7, seed=n)
        acc = plain_accuracy(golds, preds)
        low, high = bootstrap_ci(Accuracy(), golds, preds, n_resamples=1000, seed=0)
        assert low <= acc <= high
        widths.append(high - low)
        # the percentile interval of a mean is close to the normal-theory interval
        normal = 2 * 1.96 * math.sqrt(acc * (1 - acc) / n)
        assert 0.75 * normal < high - low < 1.25 * normal
    assert widths[1] < widths[0] / 3


def test_bootstrap_is_seeded():
    golds, preds = _labels(100, 0.6)
    a = bootstrap_ci(plain_accuracy, golds, preds, n_resamples=200, seed=7)
    b = bootstrap_ci(plain_accuracy, golds, preds, n_resamples=200, seed=7)
    c = bootstrap_ci(plain_accuracy, golds, preds, n_resamples=200, seed=8)
    assert a == b
    assert a != c


def test_alpha_controls_the_width():
    golds, preds = _labels(300, 0.6)
    l90, h90 = bootstrap_ci(Accuracy(), golds, preds, alpha=0.10)
    l99, h99 = bootstrap_ci(Accuracy(), golds, preds, alpha=0.01)
    assert h99 - l99 > h90 - l90
    with pytest.raises(ValueError):
        bootstrap_ci(Accuracy(), golds, preds, alpha=1.5)


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in length"):
        bootstrap_ci(Accuracy(), ["a", "b"], ["a"])


def test_mcnemar_exact_matches_scipy_binomtest():
    # 7 examples only A gets right, 2 only B gets right, 11 both right, 5 both wrong
    a = [1] * 7 + [0] * 2 + [1] * 11 + [0] * 5
    b = [0] * 7 + [1] * 2 + [1] * 11 + [0] * 5
    r = mcnemar(a, b)
    assert (r["b"], r["c"]) == (7, 2)
    assert r["method"] == "exact binomial"
    assert r["p_value"] == pytest.approx(sps.binomtest(7, 9, 0.5).pvalue)
    # symmetric in the two systems
    assert mcnemar(b, a)["p_value"] == pytest.approx(r["p_value"])


def test_mcnemar_chi_square_with_continuity_correction():
    a = [True] * 40 + [False] * 20 + [True] * 100
    b = [False] * 40 + [True] * 20 + [True] * 100
    r = mcnemar(a, b)
    assert (r["b"], r["c"]) == (40, 20)
    assert r["statistic"] == pytest.approx((abs(40 - 20) - 1) ** 2 / 60)
    # chi-square(1) survival function = erfc(sqrt(x / 2))
    assert r["p_value"] == pytest.approx(math.erfc(math.sqrt(r["statistic"] / 2)))
    assert "chi-square" in r["method"]


def test_mcnemar_identical_systems():
    r = mcnemar([1, 0, 1], [1, 0, 1])
    assert r["p_value"] == 1.0 and r["b"] == r["c"] == 0


def test_paired_bootstrap_detects_a_real_difference():
    golds, good = _labels(400, 0.85, seed=2)
    rng = random.Random(3)
    bad = [g if rng.random() < 0.55 else "c" if g != "c" else "a" for g in golds]
    r = paired_bootstrap(Accuracy(), golds, good, bad, n_resamples=500, seed=0)
    assert r["diff"] == pytest.approx(plain_accuracy(golds, good) - plain_accuracy(golds, bad))
    assert r["ci"][0] > 0
    assert r["p_value"] < 0.01
    rev = paired_bootstrap(Accuracy(), golds, bad, good, n_resamples=500, seed=0)
    assert rev["diff"] == pytest.approx(-r["diff"])
    assert rev["ci"][1] < 0


def test_paired_bootstrap_no_difference():
    golds, preds = _labels(100, 0.7)
    r = paired_bootstrap(plain_accuracy, golds, preds, list(preds), n_resamples=200)
    assert r["diff"] == 0 and r["ci"] == [0.0, 0.0] and r["p_value"] == 1.0


def test_paired_bootstrap_small_noisy_difference_is_not_significant():
    golds, a = _labels(60, 0.7, seed=4)
    b = list(a)
    # B differs from A on two examples, one in each direction
    flip = [i for i, (g, p) in enumerate(zip(golds, a)) if g == p][:1] + \
           [i for i, (g, p) in enumerate(zip(golds, a)) if g != p][:1]
    b[flip[0]] = "wrong"
    b[flip[1]] = golds[flip[1]]
    r = paired_bootstrap(Accuracy(), golds, a, b, n_resamples=500)
    assert r["diff"] == 0
    assert r["p_value"] > 0.5


def test_metric_with_ci_serialises():
    m = MetricWithCI(0.5, [0.4, 0.6])
    assert m.to_dict() == {"value": 0.5, "ci": [0.4, 0.6]}
    assert float(m) == 0.5


@pytest.mark.parametrize("task, golds, preds", [
    (ClassificationTask(["neg", "pos"]), ["neg", "pos", "pos", "neg"] * 10,
     ["neg", "pos", "neg", None] * 10),
    (GenerationTask(), ["the cat sat", "a dog", "hello world", "yes"] * 5,
     ["the cat sat down", "dog", "goodbye world", "yes"] * 5),
    (NERTask(["PER", "LOC"]), [[("PER", 0, 1)], [("LOC", 2, 4), ("PER", 0, 1)], []] * 8,
     [[("PER", 0, 1)], [("LOC", 2, 3)], [("LOC", 0, 1)]] * 8),
])
def test_metrics_with_ci_cover_every_task_metric(task, golds, preds):
    res = metrics_with_ci(task, golds, preds, n_resamples=200, seed=0)
    point = task.metrics(golds, preds)
    assert set(res) == set(point)
    assert task.headline_metric in res
    for name, m in res.items():
        assert m.value == pytest.approx(point[name])
        assert m.ci[0] <= m.value + 1e-9 and m.value - 1e-9 <= m.ci[1]
        # fast path agrees with calling the corpus metric on each resample
        fn = lambda g, p, name=name: task.metrics(g, p)[name]  # noqa: E731
        slow = bootstrap_distribution(fn, golds, preds, n_resamples=20, seed=5)
        from tunewise.tasks.metrics import metric_functions
        fast = bootstrap_distribution(metric_functions(task)[name], golds, preds,
                                      n_resamples=20, seed=5)
        np.testing.assert_allclose(fast, slow, atol=1e-9)


def test_mean_score_metric():
    m = MeanScore(lambda g, p: float(len(p) == len(g)))
    assert m(["ab", "c"], ["xy", "zz"]) == 0.5


def test_compare_predictions_uses_mcnemar_for_accuracy_and_bootstrap_otherwise():
    from tunewise.evaluation.stats import compare_predictions
    task = ClassificationTask(["a", "b", "c"])
    golds, good = _labels(200, 0.9, seed=8)
    rng = random.Random(9)
    bad = [g if rng.random() < 0.6 else ("a" if g != "a" else "b") for g in golds]
    r = compare_predictions(task, golds, good, bad, n_resamples=300)
    assert r["n"] == 200 and r["headline_metric"] == "macro_f1"
    acc = r["metrics"]["accuracy"]
    assert acc["test"].startswith("McNemar")
    correct_a = [g == p for g, p in zip(golds, good)]
    correct_b = [g == p for g, p in zip(golds, bad)]
    assert acc["p_value"] == mcnemar(correct_a, correct_b)["p_value"]
    assert acc["only_a_correct"] == sum(x and not y for x, y in zip(correct_a, correct_b))
    assert acc["diff"] == pytest.approx(plain_accuracy(golds, good) - plain_accuracy(golds, bad))
    f1 = r["metrics"]["macro_f1"]
    assert f1["test"] == "paired bootstrap" and f1["ci"][0] > 0 and f1["p_value"] < 0.01
