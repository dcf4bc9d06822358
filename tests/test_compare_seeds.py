"""Several seeds per size: the curve is their mean with their spread, and the crossover and the
prompt's worth are computed over all seeds of a size, not over one lucky draw."""
from __future__ import annotations

import math

import pytest

from tunewise.comparison import analysis
from tunewise.comparison.config import FineTuneConfig
from tunewise.comparison.findings import compare_arms, learning_curve

from test_compare_analysis import TASK, _golds, _preds


def _ft(golds, size, accs):
    return [{"name": f"finetune-n{size}-s{s}", "kind": "finetune", "train_size": size, "seed": s,
             "preds": _preds(golds, acc, 100 + size + s), "planned_epochs": 16, "val_size": 0,
             "model_selection": "no validation: ..."} for s, acc in enumerate(accs)]


def test_default_compare_runs_three_seeds_up_to_64():
    ft = FineTuneConfig()
    assert [ft.seeds_for(n) for n in (16, 64, 256, 1024, "all")] == [3, 3, 1, 1, 1]
    assert ft.epochs_for(16) is None and ft.epochs_for(1024) is None  # the training budget rule


def test_curve_is_the_seed_mean_with_its_spread():
    golds = _golds()
    raws = _ft(golds, 16, [0.8, 0.5, 0.5]) + _ft(golds, 64, [0.74, 0.76, 0.78])
    curve = learning_curve(TASK, golds, raws, "accuracy", n_resamples=200)
    p16, p64 = curve
    assert p16["train_size"] == 16 and p16["seeds"] == [0, 1, 2]
    assert p16["values"] == pytest.approx([0.8, 0.5, 0.5])
    assert p16["mean"] == pytest.approx(0.6) and p16["spread"] == pytest.approx([0.5, 0.8])
    assert p16["seed_std"] == pytest.approx(math.sqrt(0.03), abs=1e-6)
    assert p16["epochs"] == 16 and p16["validation"] == "none"
    assert p64["mean"] == pytest.approx(0.76)


def test_crossover_and_prompt_worth_use_every_seed_of_a_size():
    """Seed 0 alone at 16 examples (0.80) would beat the 0.65 prompt; the mean of the three
    seeds (0.60) does not, so the crossover is at 64, and the prompt's worth lies between."""
    golds = _golds()
    prompt = {"name": "zero-shot", "kind": "prompt", "preds": _preds(golds, 0.65, 7)}
    raws = [prompt] + _ft(golds, 16, [0.8, 0.5, 0.5]) + _ft(golds, 64, [0.74, 0.76, 0.78])
    cmp = compare_arms(TASK, golds, raws, "accuracy", n_resamples=500)
    assert cmp["crossover"]["size"] == 64
    assert cmp["curve_points"][0]["score"] == pytest.approx(0.6)
    worth = cmp["prompt_worth"]
    assert worth["bound"] == "exact" and 16 < worth["examples"] < 64
    expected = math.exp(math.log(16) + (0.65 - 0.6) / (0.76 - 0.6) * (math.log(64) - math.log(16)))
    assert worth["examples"] == pytest.approx(expected)
    # the same sizes with only seed 0 would have crossed at 16: the seeds changed the answer
    only0 = [prompt] + [r for r in raws[1:] if r["seed"] == 0]
    assert compare_arms(TASK, golds, only0, "accuracy", n_resamples=500)["crossover"]["size"] == 16
    assert analysis.prompt_worth(cmp["curve_points"], 0.65)["examples"] == worth["examples"]


def test_compare_says_which_model_selection_each_size_used(tmp_path):
    """End to end on tiny-random: the size below min_val_carve trains on all its examples with no
    validation; the size above carves validation from its own examples. The arms, the curve
    points, results.json and the report all say so."""
    import json

    from tunewise.comparison import compare
    from tunewise.data.formats.writers import write_chat_jsonl

    from test_compare_resume import _examples
    d = tmp_path / "splits"
    d.mkdir()
    for name, n, seed in (("train", 40, 1), ("val", 8, 2), ("test", 16, 3)):
        write_chat_jsonl(d / f"{name}.jsonl", _examples(n, seed))
    cfg = {"data": {"train": str(d / "train.jsonl"), "val": str(d / "val.jsonl"),
                    "test": str(d / "test.jsonl")},
           "task": {"kind": "classification"}, "model": "tiny-random",
           "arms": {"classical": False, "zero_shot": True, "k_shot": [],
                    "fine_tune": {"sizes": [6, 20], "seeds": {6: 2},
                                  "config": {"batch_size": 4, "min_val_carve": 10,
                                             "min_examples_seen": 12, "checkpoint_every": 0}}},
           "max_eval": 16, "n_resamples": 100, "cost": {"price": None}}
    said: list[str] = []
    res = compare(cfg, out=tmp_path / "out", say=said.append, progress=False)
    arms = {a["name"]: a for a in res["arms"] if a["kind"] == "finetune"}
    assert sorted(arms) == ["finetune-n20-s0", "finetune-n6-s0", "finetune-n6-s1"]
    for name in ("finetune-n6-s0", "finetune-n6-s1"):
        assert arms[name]["val_size"] == 0 and arms[name]["planned_epochs"] == 2
        assert arms[name]["model_selection"].startswith("no validation")
    assert arms["finetune-n20-s0"]["val_size"] == 2            # 10 % of its own 20
    assert arms["finetune-n20-s0"]["model_selection"].startswith("best epoch on validation")
    curve = {p["train_size"]: p for p in res["learning_curve"]}
    assert curve[6]["validation"] == "none" and curve[6]["seeds"] == [0, 1]
    assert len(curve[6]["values"]) == 2 and curve[20]["validation"] == "2 carved"
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["learning_curve"][0]["validation"] == "none"
    report = (tmp_path / "out" / "report.md").read_text()
    assert "none: all examples trained on, last epoch kept" in report
    assert "2 carved, best epoch kept" in report
    assert any("model selection: no validation" in m for m in said)
