"""The confidence cascade (``tunewise.comparison.cascade``) on constructed arm records: found and
better than both arms when the cheap arm is right exactly where it is confident; its recommended
threshold cross-fitted (choosing on the examples that measure it would report more); calibration
without the judged labels; NER and generation skipped with a reason; the section, frontier and
recommendation that compare writes."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tunewise.comparison import cascade
from tunewise.comparison.cascade_pair import (CascadeUndefined, choose_threshold, confidence,
                                              fit_temperature, halves)
from tunewise.comparison.cascade_section import section
from tunewise.tasks import ClassificationTask

LABELS = ["negative", "positive"]


def _task():
    return ClassificationTask(LABELS)


def _logprobs(pred: str, p: float) -> list[float]:
    """Normalized label log-probabilities giving ``pred`` probability ``p``."""
    other = [lab for lab in LABELS if lab != pred][0]
    row = {pred: math.log(p), other: math.log(1 - p)}
    return [row[lab] for lab in LABELS]


def _flip(label: str) -> str:
    return LABELS[1 - LABELS.index(label)]


def constructed(n: int = 200, seed: int = 0, exp_right: float = 0.7):
    """The cheap arm is right exactly on its confident half (p 0.9-0.99) and wrong on the other
    (p 0.5-0.6); the expensive arm is right on ``exp_right`` of all examples, at random."""
    rng = np.random.default_rng(seed)
    golds = [LABELS[i % 2] for i in range(n)]
    confident = rng.permutation(n) < n // 2
    c_preds, lps, e_preds = [], [], []
    for g, conf in zip(golds, confident):
        pred = g if conf else _flip(g)
        p = rng.uniform(0.9, 0.99) if conf else rng.uniform(0.5, 0.6)
        c_preds.append(pred)
        lps.append(_logprobs(pred, p))
        e_preds.append(g if rng.random() < exp_right else _flip(g))
    cheap = {"name": "finetune-n64-s0", "kind": "finetune", "train_size": 64, "seed": 0,
             "preds": c_preds, "label_logprobs": lps}
    exp = {"name": "big 0-shot", "kind": "remote", "preds": e_preds}
    return golds, cheap, exp


def _acc(golds, preds):
    return sum(g == p for g, p in zip(golds, preds)) / len(golds)


def test_cheap_arm_right_exactly_when_confident_gives_a_cascade_that_beats_both():
    golds, cheap, exp = constructed()
    costs = ({"usd_per_request": 1e-6, "seconds_per_request": 0.01},
             {"usd_per_request": 1e-3, "seconds_per_request": 0.5})
    pair = cascade(cheap, exp, golds, _task(), metric="accuracy", cheap_cost=costs[0],
                   expensive_cost=costs[1], n_resamples=300)
    cf = pair["crossfit"]
    a_cheap, a_exp = _acc(golds, cheap["preds"]), _acc(golds, exp["preds"])
    assert a_cheap == 0.5 and 0.6 < a_exp < 0.8
    # the rule found escalates (nearly) the unconfident half and keeps every confident answer
    # (ties at the top of the unconfident range, where escalating changes nothing on the
    # choosing half, escalate the fewest)
    assert 0.45 <= cf["share_escalated"] <= 0.5
    right = [g == c for g, c in zip(golds, cheap["preds"])]
    assert all(p == g for p, g, r in zip(pair["predictions"], golds, right) if r)
    assert cf["value"] == pytest.approx(_acc(golds, pair["predictions"]))
    assert cf["value"] > a_exp + 0.1 and a_exp > a_cheap
    assert pair["tests"]["vs_expensive"]["significant"] and pair["tests"]["vs_cheap"]["significant"]
    assert cf["ci"][0] <= cf["value"] <= cf["ci"][1]
    # cost: the cheap arm always, the expensive arm on half the requests
    share = cf["share_escalated"]
    assert cf["usd_per_1k_requests"] == pytest.approx(1000 * (1e-6 + share * 1e-3))
    assert cf["seconds_per_request"] == pytest.approx(0.01 + share * 0.5)
    # the deployable threshold separates the two groups (calibrated probabilities)
    conf_all = confidence(np.array(cheap["label_logprobs"]),
                          np.array([LABELS.index(p) for p in cheap["preds"]]),
                          pair["temperature"]["all"])
    right = np.array([g == p for g, p in zip(golds, cheap["preds"])])
    assert conf_all[right].min() >= pair["threshold"] > conf_all[~right].max()
    # the curve runs from the cheap arm alone to the expensive arm alone
    curve = pair["curve"]
    assert curve[0]["share_escalated"] == 0 and curve[0]["value"] == pytest.approx(a_cheap)
    assert curve[-1]["share_escalated"] == 1 and curve[-1]["value"] == pytest.approx(a_exp)
    assert len(curve) == 21
    assert all(q["ci"][0] <= q["value"] <= q["ci"][1] for q in curve)


def test_the_threshold_is_cross_fitted_choosing_on_the_judged_half_would_report_more():
    """Uninformative confidences: any threshold's gain on the examples it was chosen on is
    noise. The cascade reports each half with the threshold chosen on the OTHER half; choosing on
    the same half (and on all examples: ``in_sample_value``) reports more."""
    from tunewise.comparison.scoring import metric_function
    rng = np.random.default_rng(3)
    n = 120
    golds = [LABELS[i % 2] for i in range(n)]
    c_preds = [g if rng.random() < 0.7 else _flip(g) for g in golds]
    e_preds = [g if rng.random() < 0.7 else _flip(g) for g in golds]
    lps = [_logprobs(p, rng.uniform(0.5, 0.99)) for p in c_preds]    # unrelated to correctness
    cheap = {"name": "classical", "kind": "classical", "preds": c_preds, "label_logprobs": lps}
    exp = {"name": "4-shot", "kind": "prompt", "shots": 4, "preds": e_preds}
    pair = cascade(cheap, exp, golds, _task(), metric="accuracy", n_resamples=200, seed=0)

    fn = metric_function(_task(), "accuracy")
    side = halves(golds, 0)
    lp, pidx = np.array(lps), np.array([LABELS.index(p) for p in c_preds])
    gidx = np.array([LABELS.index(g) for g in golds])
    st_c, st_e = fn.stats(golds, c_preds), fn.stats(golds, e_preds)
    crossed = same = 0.0
    for h in (0, 1):
        choose, judge = side == h, side != h
        t_h = fit_temperature(lp[choose], gidx[choose])
        # what the cascade does: chosen on half h, measured on the other half
        t = choose_threshold(confidence(lp[choose], pidx[choose], t_h), st_c[choose],
                             st_e[choose], fn)["threshold"]
        esc = confidence(lp[judge], pidx[judge], t_h) < t
        crossed += np.where(esc[:, None], st_e[judge], st_c[judge]).sum(0)[0]
        # the leak: chosen on the half it is measured on
        t_j = fit_temperature(lp[judge], gidx[judge])
        same += choose_threshold(confidence(lp[judge], pidx[judge], t_j), st_c[judge],
                                 st_e[judge], fn)["value"] * judge.sum()
    assert pair["crossfit"]["value"] == pytest.approx(crossed / n)
    assert same / n > pair["crossfit"]["value"] + 0.02
    assert pair["crossfit"]["in_sample_value"] > pair["crossfit"]["value"]
    assert pair["crossfit"]["thresholds"][0] != pair["crossfit"]["thresholds"][1]


def test_temperature_is_fitted_on_one_half_and_applied_to_the_other():
    """Overconfident scores (true probability 0.75, claimed ~0.98): the fitted temperature
    softens them; each half's confidences use the other half's temperature."""
    rng = np.random.default_rng(1)
    n = 400
    gidx = rng.integers(0, 2, n)
    right = rng.random(n) < 0.75
    pidx = np.where(right, gidx, 1 - gidx)
    lp = np.array([[math.log(0.98) if j == p else math.log(0.02) for j in range(2)]
                   for p in pidx])
    t = fit_temperature(lp, gidx)
    assert t > 2
    assert confidence(lp, pidx, t).mean() == pytest.approx(0.75, abs=0.03)
    golds = [LABELS[g] for g in gidx]
    cheap = {"name": "classical", "preds": [LABELS[p] for p in pidx], "label_logprobs": lp}
    pair = cascade(cheap, {"name": "x", "preds": golds}, golds, _task(), n_resamples=50)
    side = halves(golds, 0)
    for h in (0, 1):
        assert pair["temperature"]["halves"][h] == pytest.approx(
            fit_temperature(lp[side == h], gidx[side == h]), rel=1e-6)


def test_halves_split_each_answer_evenly():
    golds = ["a"] * 11 + ["b"] * 7 + ["c"]
    side = halves(golds, 5)
    for lab, k in (("a", 11), ("b", 7)):
        on = sum(s for g, s in zip(golds, side) if g == lab)
        assert abs(on - (k - on)) <= 1
    assert abs(side.sum() - (len(golds) - side.sum())) <= 1
    assert (halves(golds, 5) == side).all()


def test_ner_and_generation_have_no_confidence():
    from tunewise.tasks import make_task
    ner = make_task("ner", [], labels=["PER", "LOC"])
    with pytest.raises(CascadeUndefined, match="no confidence is defined for ner"):
        cascade({"name": "a", "preds": []}, {"name": "b", "preds": []}, [], ner)
    sec = section(ner, [], [], "f1", {})
    assert sec["defined"] is False and "no confidence is defined for ner" in sec["note"]
    assert sec["pairs"] == []


def test_section_pairs_frontier_and_best_against_the_best_single_arm():
    golds, cheap, exp = constructed(n=200, seed=2)
    raws = [{"name": "majority", "kind": "majority", "preds": ["negative"] * len(golds)},
            {**cheap, "name": "finetune-n64-s1", "seed": 1, "label_logprobs": None},
            cheap,
            # zero-shot prompting costs what the fine-tune costs: not an expensive arm
            {**exp, "name": "zero-shot", "kind": "prompt", "shots": 0, "preds": cheap["preds"]},
            exp]
    costs = {"finetune-n64-s0": {"usd_per_request": 1e-6, "seconds_per_request": 0.01},
             "big 0-shot": {"usd_per_request": 1e-3, "seconds_per_request": 0.5},
             "zero-shot": {"usd_per_request": 1e-6, "seconds_per_request": 0.01}}
    sec = section(_task(), golds, raws, "accuracy", costs, n_resamples=200)
    assert sec["defined"] and [(p["cheap"], p["expensive"]) for p in sec["pairs"]] == [
        ("finetune-n64-s0", "big 0-shot")]                 # lowest seed; remote only
    best = sec["best"]
    assert best["best_single"] == "big 0-shot" and best["beats_best_single"]
    assert best["share_of_expensive_cost"] == pytest.approx((1e-6 + 0.5e-3) / 1e-3, rel=1e-3)
    assert "sends the 50% least confident to big 0-shot" in best["text"]
    assert "p = " in best["text"] and "of big 0-shot's cost" in best["text"]
    costs_1k = [p["usd_per_1k_requests"] for p in sec["frontier"]]
    values = [p["value"] for p in sec["frontier"]]
    assert costs_1k == sorted(costs_1k) and values == sorted(values)
    assert any(p["kind"] == "cascade" for p in sec["frontier"])
    assert "majority" not in [p["label"] for p in sec["frontier"]]
    assert "predictions" not in sec["pairs"][0]


def test_recommendation_becomes_the_cascade_when_it_beats_the_best_single_arm():
    from tunewise.comparison.results import _with_cascade
    rec = {"action": "prompt", "text": "prompt: big 0-shot scores 0.7", "reasons": ["r"]}
    golds, cheap, exp = constructed(n=200, seed=2)
    sec = section(_task(), golds, [cheap, exp], "accuracy", {}, n_resamples=200)
    out = _with_cascade(rec, sec)
    assert out["action"] == "cascade" and out["text"].startswith("cascade: finetune-n64-s0")
    assert out["reasons"][-1] == "without a cascade: prompt: big 0-shot scores 0.7"
    sec["best"]["beats_best_single"] = False
    kept = _with_cascade(rec, sec)
    assert kept["action"] == "prompt" and "not significantly better" in kept["reasons"][-1]


def test_label_logprobs_from_each_kind_of_prediction():
    from tunewise.evaluation.confidence import label_logprobs
    from tunewise.tasks.base import Prediction
    task = _task()
    score = Prediction(gold="positive", pred="positive",
                       extra={"method": "score", "scores": {"negative": -3.0, "positive": -1.0}})
    classical = Prediction(gold="positive", pred="positive",
                           extra={"method": "classical", "scores": {"positive": 1.0}})
    rows = label_logprobs(task, [score, classical])
    assert sum(math.exp(v) for v in rows[0]) == pytest.approx(1.0, abs=1e-3)
    assert rows[0][1] - rows[0][0] == pytest.approx(2.0, abs=1e-3)
    assert rows[1] == [-100.0, 0.0]            # a class never seen in training: probability 0
    partial = Prediction(gold="positive", pred="positive",
                         extra={"method": "logprobs", "scores": {"negative": None,
                                                                 "positive": -0.1}})
    assert label_logprobs(task, [score, partial]) is None
    generated = Prediction(gold="positive", pred="positive", extra={"method": "generate"})
    assert label_logprobs(task, [generated]) is None


def cascade_results() -> dict:
    """``example_results()`` with a cascade section computed from the constructed arms."""
    from tunewise.report import example_results
    golds, cheap, exp = constructed(n=200, seed=2)
    raws = [cheap, exp, {"name": "classical", "kind": "classical", "preds": exp["preds"],
                         "label_logprobs": cheap["label_logprobs"]}]
    costs = {"finetune-n64-s0": {"usd_per_request": 2e-6, "seconds_per_request": 0.01},
             "classical": {"usd_per_request": 1e-8, "seconds_per_request": 0.001},
             "big 0-shot": {"usd_per_request": 1e-3, "seconds_per_request": 0.5}}
    results = example_results()
    results["cascade"] = section(_task(), golds, raws, "accuracy", costs, n_resamples=200)
    return results


def test_the_report_shows_the_cascade(tmp_path):
    from tunewise.report import render_report
    results = cascade_results()
    paths = render_report(results, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "## Cascade: the cheap arm first, the expensive arm when unsure" in md
    assert "| finetune-n64-s0 | big 0-shot |" in md
    assert "To deploy: temperature" in md and "in-sample" in md
    svg = (tmp_path / "plots" / "cascade.svg").read_text()
    for text in ("frontier", "best cascade, cross-fitted", "big 0-shot", "USD per 1,000 requests"):
        assert text in svg
    assert "mathdefault" not in svg            # tick labels are plain text
    assert 'id="plot-cascade"' in paths["html"].read_text()


def test_without_prices_the_plot_shows_the_share_escalated(tmp_path):
    from tunewise.report import render_report
    results = cascade_results()
    golds, cheap, exp = constructed(n=200, seed=2)
    results["cascade"] = section(_task(), golds, [cheap, exp], "accuracy", {}, n_resamples=100)
    render_report(results, tmp_path)
    svg = (tmp_path / "plots" / "cascade.svg").read_text()
    assert "share escalated" in svg and "no price known" in svg
    assert "no price is known for the expensive arm" in (tmp_path / "report.md").read_text()
