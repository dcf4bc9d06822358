"""Learning-curve extrapolation (tunewise.comparison.predict_curve) on curves with a known law."""
from __future__ import annotations

import numpy as np
import pytest

from tunewise.comparison import predict_curve
from tunewise.comparison.extrapolate import power_law

A, B, C = 0.9, 1.2, 0.5
SIZES = [16, 32, 64, 128, 256]


def test_recovers_the_law_from_exact_points():
    pts = [(n, 0, power_law(n, A, B, C)) for n in SIZES]
    res = predict_curve(pts, at=[1024, 10_000], n_boot=20)
    assert res.ok
    a, b, c = res.params
    assert a == pytest.approx(A, abs=0.005)
    assert b == pytest.approx(B, rel=0.05)
    assert c == pytest.approx(C, abs=0.01)
    for p in res.predictions:
        assert p.value == pytest.approx(power_law(p.size, A, B, C), abs=0.003)


def _noisy(seed, n_test=600, seeds=2):
    """0/1 correctness on a shared test set, drawn from the law (several seeds per size)."""
    rng = np.random.default_rng(seed)
    return [(n, s, (rng.random(n_test) < power_law(n, A, B, C)).astype(int))
            for n in SIZES for s in range(seeds)]


def test_interval_covers_the_true_value_in_most_curves():
    truth = power_law(1024, A, B, C)
    covered = 0
    for seed in range(10):
        res = predict_curve(_noisy(seed), at=[1024], n_boot=150, seed=seed)
        p = res.predictions[0]
        assert p.low <= p.value <= p.high
        covered += p.low <= truth <= p.high
        assert abs(p.value - truth) < 0.08
    assert covered >= 7


def test_backtest_predicts_the_held_out_largest_size():
    res = predict_curve(_noisy(0), at=[1024], n_boot=100)
    bt = res.backtest
    assert bt is not None and bt.held_out_size == 256
    assert bt.measured == pytest.approx(res.measured[256])
    assert bt.error == pytest.approx(bt.predicted - bt.measured)
    assert abs(bt.error) < 0.06
    # three sizes: a fit, but no backtest (it would leave two points for three parameters)
    few = predict_curve([p for p in _noisy(0) if p[0] <= 64], n_boot=20)
    assert few.ok and few.backtest is None


def test_says_nothing_with_fewer_than_three_sizes():
    res = predict_curve([(16, 0, 0.6), (16, 1, 0.62), (64, 0, 0.7)])
    assert not res.ok and res.predictions == [] and "at least 3" in res.message
    assert res.to_dict()["predictions"] == []


def test_crossover_size_and_not_within_ten_times():
    pts = [(n, 0, power_law(n, A, B, C)) for n in SIZES]
    res = predict_curve(pts, baseline=0.85, n_boot=50)
    # 0.9 - 1.2 n^-0.5 > 0.85  <=>  n > 576
    assert 560 <= res.crossover["expected"] <= 620
    assert res.crossover["conservative"] >= res.crossover["expected"]
    far = predict_curve(pts, baseline=0.95, n_boot=50)       # above the plateau
    assert far.crossover["expected"] is None
    assert "not expected to beat" in far.crossover["text"] and "2,560" in far.crossover["text"]


def test_custom_metric_over_per_example_pairs():
    rng = np.random.default_rng(3)
    gold = rng.integers(0, 2, 400)
    pts = []
    for n in SIZES:
        right = rng.random(400) < power_law(n, A, B, C)
        pts.append((n, 0, list(zip(gold, np.where(right, gold, 1 - gold)))))
    res = predict_curve(pts, at=[1024], n_boot=30,
                        metric=lambda pairs: float(np.mean([g == p for g, p in pairs])))
    assert res.ok and 0.7 < res.predictions[0].value < 0.95


def test_report_draws_the_extrapolation_dashed_and_prints_the_backtest(tmp_path):
    from tunewise.report import example_results, render_report
    results = example_results()
    base_md = (lambda d: d["markdown"].read_text())(render_report(results, tmp_path / "a"))
    pts = [(p["train_size"], i, v) for p in results["learning_curve"]
           for i, v in enumerate(p["values"])]
    pred = predict_curve(pts, baseline=0.9, n_boot=50)
    assert pred.ok
    results["curve_prediction"] = {"metric": results["metric"], **pred.to_dict()}
    files = render_report(results, tmp_path / "b")
    md = files["markdown"].read_text()
    assert "Beyond the measured sizes" in md and "Beyond the measured sizes" not in base_md
    assert f"{pred.predictions[0].value:.3f}" in md
    assert "Backtest:" in md and "error" in md
    svg = (tmp_path / "b" / "plots" / "learning_curve.svg").read_text()
    base_svg = (tmp_path / "a" / "plots" / "learning_curve.svg").read_text()
    assert "power-law fit (extrapolated)" in svg and "extrapolated" not in base_svg
    assert svg.count("stroke-dasharray") > base_svg.count("stroke-dasharray")


def test_compare_section_uses_every_seed_and_the_best_other_arm():
    from tunewise.comparison.extrapolate import compare_section
    from tunewise.tasks import make_task
    from tunewise.data.records import Example
    rng = np.random.default_rng(0)
    golds = [str(g) for g in rng.integers(0, 2, 300)]
    task = make_task("classification", [Example.from_text("x", g, label=g) for g in golds])
    raws = []
    for n in SIZES:
        for s in range(2):
            right = rng.random(300) < power_law(n, A, B, C)
            raws.append({"name": f"ft-{n}-{s}", "kind": "finetune", "train_size": n, "seed": s,
                         "preds": [g if r else str(1 - int(g)) for g, r in zip(golds, right)]})
    scored = [{"name": "classical", "kind": "classical",
               "metrics": {"accuracy": {"value": 0.86}}},
              {"name": "zero-shot", "kind": "prompt", "metrics": {"accuracy": {"value": 0.6}}}]
    sec = compare_section(task, golds, raws, scored, "accuracy")
    assert sec["ok"] and sorted(int(k) for k in sec["measured"]) == SIZES
    assert sec["crossover"]["baseline_name"] == "classical"
    assert sec["crossover"]["baseline"] == 0.86
    assert sec["backtest"]["held_out_size"] == 256
