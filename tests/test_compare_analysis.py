"""The 'when' rules on synthetic numbers: crossover, prompt worth, headline metric, recommendation."""
from __future__ import annotations

import math
import random

import pytest

from tunewise.comparison import analysis
from tunewise.comparison.findings import compare_arms
from tunewise.tasks.classification import ClassificationTask

LABELS = ["neg", "pos"]


def _golds(n=300, pos_share=0.5, seed=0):
    rng = random.Random(seed)
    g = ["pos"] * round(n * pos_share) + ["neg"] * (n - round(n * pos_share))
    rng.shuffle(g)
    return g


def _preds(golds, acc, seed):
    """Predictions right on a random ``acc`` share of the examples (exactly round(acc * n))."""
    rng = random.Random(seed)
    idx = list(range(len(golds)))
    rng.shuffle(idx)
    right = set(idx[:round(acc * len(golds))])
    return [g if i in right else ("neg" if g == "pos" else "pos") for i, g in enumerate(golds)]


def _raws(golds, *, prompt=None, curve=None, classical=None, majority=True, seeds=1):
    raws = []
    if majority:
        raws.append({"name": "majority", "kind": "majority", "preds": ["neg"] * len(golds)})
    if classical is not None:
        raws.append({"name": "classical", "kind": "classical", "preds": _preds(golds, classical, 1)})
    for i, (name, acc) in enumerate((prompt or {}).items()):
        raws.append({"name": name, "kind": "prompt", "preds": _preds(golds, acc, 10 + i)})
    for size, acc in (curve or {}).items():
        for s in range(seeds):
            raws.append({"name": f"finetune-n{size}-s{s}", "kind": "finetune", "train_size": size,
                         "seed": s, "preds": _preds(golds, acc, 100 + size + s)})
    return raws


TASK = ClassificationTask(LABELS)


def _analyse(raws, golds, metric="accuracy", break_even=None):
    cmp = compare_arms(TASK, golds, raws, metric, n_resamples=500)
    rec = analysis.recommend(metric=metric, majority=cmp["majority"], classical=cmp["classical"],
                             best_prompt=cmp["best_prompt"], best_ft=cmp["best_ft"],
                             largest_ft=cmp["largest_ft"], crossover=cmp["crossover"],
                             tests=cmp["tests"], break_even=break_even)
    return cmp, rec


# -- pure rules ---------------------------------------------------------------------------------

def test_prompt_worth_interpolates_in_log_size():
    pts = [{"size": 16, "score": 0.5}, {"size": 64, "score": 0.7}, {"size": 256, "score": 0.8}]
    w = analysis.prompt_worth(pts, 0.6)
    assert w["bound"] == "exact"
    assert w["examples"] == pytest.approx(32.0)          # halfway between log 16 and log 64
    w = analysis.prompt_worth(pts, 0.75)
    assert w["examples"] == pytest.approx(128.0)
    assert analysis.prompt_worth(pts, 0.4)["bound"] == "below"   # the first size already beats it
    above = analysis.prompt_worth(pts, 0.9)
    assert above["bound"] == "above" and above["examples"] == 256


def test_crossover_is_smallest_significant_win_and_flags_instability():
    def pt(size, diff, p):
        return {"size": size, "score": 0.5 + diff, "vs_prompt": {"diff": diff, "ci": [0, 0],
                                                                 "p_value": p}}
    pts = [pt(256, 0.2, 0.001), pt(16, 0.05, 0.3), pt(64, 0.1, 0.01)]
    c = analysis.crossover(pts, 0.05)
    assert c["size"] == 64 and c["stable"]
    assert analysis.crossover([pt(16, 0.05, 0.3), pt(64, -0.1, 0.01)], 0.05) is None
    c = analysis.crossover([pt(16, 0.1, 0.01), pt(64, -0.02, 0.5)], 0.05)
    assert c["size"] == 16 and not c["stable"]


def test_headline_metric_follows_imbalance():
    h = analysis.choose_headline("classification", ["a"] * 88 + ["b"] * 12, ["a", "b"])
    assert h["metric"] == "macro_f1" and h["imbalanced"]
    h = analysis.choose_headline("classification", ["a"] * 55 + ["b"] * 45, ["a", "b"])
    assert h["metric"] == "accuracy" and not h["imbalanced"]
    # three classes, rarest far below its equal share -> imbalanced even with majority < 60 %
    h = analysis.choose_headline("classification", ["a"] * 50 + ["b"] * 45 + ["c"] * 5,
                                 ["a", "b", "c"])
    assert h["metric"] == "macro_f1"
    assert analysis.choose_headline("ner")["metric"] == "f1"


# -- end to end on synthetic predictions ---------------------------------------------------------

def test_fine_tune_crosses_over_at_64():
    golds = _golds()
    raws = _raws(golds, prompt={"zero-shot": 0.62, "4-shot": 0.66},
                 curve={16: 0.60, 64: 0.80, 256: 0.86})
    cmp, rec = _analyse(raws, golds, break_even=1234.2)
    assert cmp["best_prompt"]["name"] == "4-shot"
    assert cmp["crossover"]["size"] == 64
    worth = cmp["prompt_worth"]
    assert worth["bound"] == "exact" and 16 < worth["examples"] < 64
    # the interpolation uses the measured scores
    f = (0.66 - 0.60) / (0.80 - 0.60)
    assert worth["examples"] == pytest.approx(math.exp(math.log(16) + f * math.log(4)), rel=1e-6)
    assert rec["action"] == "fine-tune"
    assert "from ~64 examples it beats 4-shot by 14.0 ±" in rec["text"]
    assert "1,235 requests" in rec["text"]


def test_crosses_at_first_size_and_never_pays_back():
    golds = _golds()
    raws = _raws(golds, prompt={"zero-shot": 0.6}, curve={16: 0.8, 64: 0.85})
    cmp, rec = _analyse(raws, golds, break_even="never")
    assert cmp["crossover"]["size"] == 16
    assert cmp["prompt_worth"]["bound"] == "below"
    assert rec["action"] == "fine-tune" and "never pays back" in rec["text"]


def test_never_crosses_recommends_prompt():
    golds = _golds()
    raws = _raws(golds, prompt={"zero-shot": 0.8}, curve={16: 0.6, 64: 0.7, 256: 0.75})
    cmp, rec = _analyse(raws, golds)
    assert cmp["crossover"] is None
    assert cmp["prompt_worth"]["bound"] == "above"
    assert rec["action"] == "prompt" and rec["text"].startswith("prompt: zero-shot")


def test_higher_but_not_significant_is_no_crossover():
    golds = _golds(n=100)
    raws = _raws(golds, prompt={"zero-shot": 0.70}, curve={16: 0.71, 64: 0.72})
    cmp, rec = _analyse(raws, golds)
    assert all(p["vs_prompt"]["diff"] > 0 for p in cmp["curve_points"])
    assert cmp["crossover"] is None
    assert rec["action"] == "prompt"


def test_several_seeds_are_averaged():
    golds = _golds()
    raws = _raws(golds, prompt={"zero-shot": 0.6}, curve={16: 0.7}, seeds=3)
    cmp, _ = _analyse(raws, golds)
    assert cmp["curve_points"][0]["score"] == pytest.approx(0.7)
    assert cmp["tests"]["ft_best|prompt"]["diff"] == pytest.approx(0.1)
    assert cmp["tests"]["ft_best|prompt"]["significant"]


def test_nothing_beats_majority():
    golds = _golds(pos_share=0.1)        # 90 % "neg": always answering "neg" scores 0.9 accuracy
    raws = _raws(golds, prompt={"zero-shot": 0.5}, curve={16: 0.55, 64: 0.6}, classical=0.6)
    cmp, rec = _analyse(raws, golds, metric="accuracy")
    assert rec["action"] == "majority"
    assert "majority-class baseline" in rec["text"]


def test_classical_model_when_it_is_as_good():
    golds = _golds()
    raws = _raws(golds, prompt={"zero-shot": 0.6}, curve={16: 0.7, 64: 0.85}, classical=0.85)
    cmp, rec = _analyse(raws, golds)
    assert cmp["crossover"] is not None             # fine-tuning beats prompting...
    assert rec["action"] == "classical"               # ...but not the classical model
    assert "use the classical model" in rec["text"]


def test_fine_tune_over_classical_when_significantly_better():
    golds = _golds()
    raws = _raws(golds, prompt={"zero-shot": 0.6}, curve={16: 0.7, 64: 0.9}, classical=0.7)
    _, rec = _analyse(raws, golds, break_even=10)
    assert rec["action"] == "fine-tune"


# -- learning-curve subsets ----------------------------------------------------------------------

def test_training_subsets_are_stratified_nested_and_seeded():
    from collections import Counter

    from tunewise.comparison.datasets import stratified_order, subsample
    from tunewise.data.records import Example
    pool = [Example.from_text(f"t{i}", lab, label=lab)
            for i, lab in enumerate(["a"] * 600 + ["b"] * 300 + ["c"] * 100)]
    order = stratified_order(pool, seed=3)
    assert sorted(e.input for e in order) == sorted(e.input for e in pool)   # a permutation
    for n in (16, 64, 256):
        c = Counter(e.label for e in order[:n])
        for lab, share in (("a", 0.6), ("b", 0.3), ("c", 0.1)):
            assert abs(c[lab] - share * n) <= 2, (n, c)
    assert order[:16] == stratified_order(pool, seed=3)[:16]       # same seed, same subset
    assert order[:64] != stratified_order(pool, seed=4)[:64]       # another seed, another draw
    assert set(map(id, subsample(pool, 16, 3))) <= set(map(id, subsample(pool, 64, 3)))
    assert subsample(pool, None, 0) == pool


def test_class_folders_reader(tmp_path):
    from tunewise.comparison.datasets import read_class_folders
    for lab, texts in (("sport", ["goal  scored\n", "a match"]), ("tech", ["new chip"])):
        (tmp_path / lab).mkdir()
        for i, t in enumerate(texts):
            (tmp_path / lab / f"{i:03}.txt").write_text(t)
    (tmp_path / "tech" / "empty.txt").write_text("  \n")
    skipped = []
    exs = read_class_folders(tmp_path, skipped=skipped)
    assert skipped == [str(tmp_path / "tech" / "empty.txt")]
    assert [(e.input, e.label, e.answer) for e in exs] == [
        ("goal scored", "sport", "sport"), ("a match", "sport", "sport"),
        ("new chip", "tech", "tech")]
