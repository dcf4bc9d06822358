"""arms.fine_tune.lr: auto (issue #20): three rates spaced 3x around the method's default are
trained at one size and chosen on the VALIDATION split; the winner trains every run of the curve;
every trial is in results.json and the report; bad values are refused with the fix."""
from __future__ import annotations

import json

import pytest

from tests.serve_support import sentiment_examples
from tunewise.comparison import compare, lr_search
from tunewise.comparison.config import load_config
from tunewise.data.formats.writers import write_chat_jsonl
from tunewise.errors import ConfigError, UsageError


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("lr-data")
    write_chat_jsonl(d / "train.jsonl", sentiment_examples(32, seed=1, offset=100))
    write_chat_jsonl(d / "val.jsonl", sentiment_examples(20, seed=2, offset=400))
    write_chat_jsonl(d / "test.jsonl", sentiment_examples(16, seed=3, offset=700))
    return d


def config(files, **ft) -> dict:
    return {"data": {"train": str(files / "train.jsonl"), "val": str(files / "val.jsonl"),
                     "test": str(files / "test.jsonl")},
            "task": {"kind": "classification"}, "model": {"name": "tiny-random"},
            "arms": {"classical": False, "zero_shot": False, "k_shot": [],
                     "fine_tune": {"sizes": [8, 16], "seeds": 1, "epochs": 1,
                                   "config": {"batch_size": 8}, **ft}},
            "cost": {"price": None}, "n_resamples": 100}


def test_the_rates_are_spaced_3x_around_the_methods_default():
    assert lr_search.rates("lora") == [0.00033, 0.001, 0.003]
    assert lr_search.rates("full") == [6.7e-06, 2e-05, 6e-05]


def test_the_search_size_is_the_middle_size_but_at_least_64(files):
    cfg = load_config(config(files, lr="auto"))
    assert lr_search.search_size(cfg, [16, 64, 256, 1024]) == 64     # the middle size
    assert lr_search.search_size(cfg, [16, 64]) == 64                # not the middle (16)
    assert lr_search.search_size(cfg, [16, 32, 128, 512]) == 128
    assert lr_search.search_size(cfg, [8, 16]) == 16                 # all below: the largest
    assert lr_search.search_size(cfg, [128, 256, 512]) == 256
    given = load_config(config(files, lr="auto", lr_search_size=16))
    assert lr_search.search_size(given, [16, 64]) == 16              # the user's size stands


@pytest.mark.parametrize("correct,chosen,significant", [
    ((10, 10, 8), 0.001, None),         # a tie: the default
    ((12, 10, 18), 0.003, True),        # 8 more right of 20: significant
    ((18, 10, 14), 0.00033, True),
    ((11, 10, 12), 0.001, False)])      # 2 more right of 20: within noise, the default stays
def test_the_best_rate_wins_only_when_significantly_better_than_the_default(
        monkeypatch, files, correct, chosen, significant):
    from types import SimpleNamespace

    from tunewise.tasks import make_task
    val = sentiment_examples(20, seed=2, offset=400)
    task = make_task("classification", val)
    golds = [task.gold(ex) for ex in val]
    other = {lab: next(x for x in task.labels if x != lab) for lab in task.labels}
    seen = []

    def fake_trial(ctx, size, lr, val_):
        seen.append((size, lr, len(val_)))
        k = correct[lr_search.rates("lora").index(lr)]      # the first k right, the rest wrong
        preds = [g if i < k else other[g] for i, g in enumerate(golds)]
        return SimpleNamespace(predictions=[SimpleNamespace(pred=p) for p in preds],
                               timing={"train_seconds": 1.0})
    monkeypatch.setattr(lr_search, "_trial", fake_trial)
    cfg = load_config(config(files, lr="auto"))
    ctx = SimpleNamespace(cfg=cfg, splits=SimpleNamespace(val=val, train=[]), task=task,
                          say=lambda m: None, lr=None, model_name="tiny-random")
    res = lr_search.choose(ctx, [8, 16], "accuracy")
    assert ctx.lr == res.chosen == chosen
    assert [s[1] for s in seen] == lr_search.rates("lora")
    assert all(s[0] == 16 and s[2] == 20 for s in seen)  # below 64 the largest size, all of val
    d = res.to_dict()
    assert [t["value"] for t in d["trials"]] == [k / 20 for k in correct]
    if significant is None:
        assert d["vs_default"] is None
    else:
        vs = d["vs_default"]
        best = max(zip(correct, lr_search.rates("lora")))[1]
        assert vs["lr"] == best and vs["significant"] is significant
        assert vs["diff"] == pytest.approx((max(correct) - correct[1]) / 20)
        assert (vs["p_value"] < 0.05) is significant


@pytest.fixture(scope="module")
def done(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("lr-out")
    msgs: list[str] = []
    results = compare(config(files, lr="auto", lr_search_size=16), out=out, say=msgs.append,
                      progress=False)
    return {"out": out, "results": results, "msgs": msgs}


def test_auto_searches_on_validation_and_trains_the_curve_with_the_winner(done):
    r, out = done["results"], done["out"]
    ls = r["lr_search"]
    assert ls["split"] == "validation" and ls["val_size"] == 20 and ls["size"] == 16
    assert [t["lr"] for t in ls["trials"]] == lr_search.rates("lora")
    best = max(t["value"] for t in ls["trials"])
    vs = ls["vs_default"]
    if vs is None:                          # the default scored best
        assert ls["chosen"] == 0.001 and ls["trials"][1]["value"] == best
    else:                                   # another rate did: used only when significant
        assert [t["value"] for t in ls["trials"] if t["lr"] == vs["lr"]] == [best]
        assert ls["chosen"] == (vs["lr"] if vs["significant"] else 0.001)
    for name in ("finetune-n8-s0", "finetune-n16-s0"):
        run = json.loads((out / "runs" / name / "run.json").read_text())
        assert run["config"]["lr"] == ls["chosen"], run["config"]
    for t in ls["trials"]:
        run = json.loads((out / "lr-search" / f"n16-lr{t['lr']:g}" / "run.json").read_text())
        assert run["config"]["lr"] == t["lr"]
    md = (out / "report.md").read_text()
    assert "Learning-rate search" in md and "used for every run" in md
    if vs is not None and not vs["significant"]:
        assert "not significantly better than the default" in md


def test_a_rerun_reuses_the_trial_runs(done, files):
    msgs: list[str] = []
    again = compare(config(files, lr="auto", lr_search_size=16), out=done["out"],
                    say=msgs.append, progress=False)
    first, second = done["results"]["lr_search"], again["lr_search"]
    assert second["chosen"] == first["chosen"]
    assert [t["value"] for t in second["trials"]] == [t["value"] for t in first["trials"]]
    reused = [m for m in msgs if "reusing the finished training run" in m]
    assert len(reused) == 3, msgs
    assert all(a.get("reused") for a in again["arms"])


def test_bad_values_are_refused_with_the_fix(files, tmp_path):
    with pytest.raises(ConfigError) as e:
        load_config(config(files, lr="autp"))
    assert "did you mean 'auto'" in str(e.value)
    with pytest.raises(ConfigError) as e:
        load_config(config(files, lr=5))
    assert "outside (0, 1]" in str(e.value)
    assert load_config(config(files, lr="3e-4")).arms.fine_tune.lr == pytest.approx(3e-4)
    cfg = config(files, lr="auto")
    write_chat_jsonl(tmp_path / "val.jsonl", sentiment_examples(4, seed=2, offset=400))
    cfg["data"]["val"] = str(tmp_path / "val.jsonl")
    with pytest.raises(UsageError) as e:
        compare(cfg, out=tmp_path / "out", say=lambda m: None, progress=False)
    assert "validation examples" in e.value.message and "val_fraction" in e.value.fix


def test_each_model_of_a_two_model_compare_gets_its_own_search(files, tmp_path):
    cfg = config(files, lr="auto", lr_search_size=8)
    cfg["models"] = ["tiny-random", "tiny-random-gemma"]
    del cfg["model"]
    r = compare(cfg, out=tmp_path / "out", say=lambda m: None, progress=False)
    searches = r["lr_search"]
    assert [s["model"] for s in searches] == ["tiny-random", "tiny-random-gemma"]
    for s in searches:
        assert [t["lr"] for t in s["trials"]] == lr_search.rates("lora")
        tag = s["model"]
        for size in (8, 16):
            run = json.loads((tmp_path / "out" / "runs" / f"{tag}_finetune-n{size}-s0" /
                              "run.json").read_text())
            assert run["config"]["lr"] == s["chosen"] and run["config"]["model"] == tag
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Learning-rate search (tiny-random)" in md
    assert "Learning-rate search (tiny-random-gemma)" in md


def test_the_report_says_when_the_best_rate_was_not_significant():
    from tunewise.report.content import _one_lr_search
    ls = {"size": 64, "chosen": 0.001, "default": 0.001, "metric": "accuracy", "val_size": 200,
          "trials": [{"lr": lr, "value": v, "train_seconds": 60.0}
                     for lr, v in zip(lr_search.rates("lora"), (0.815, 0.860, 0.865))],
          "vs_default": {"lr": 0.003, "diff": 0.005, "ci": [-0.02, 0.03], "p_value": 0.81,
                         "significant": False}}
    text = " ".join(str(getattr(b, "text", "")) for b in _one_lr_search(ls))
    assert "0.003 scored best but not significantly better than the default" in text
    assert "p = 0.81" in text
    ls["vs_default"] = None
    text = " ".join(str(getattr(b, "text", "")) for b in _one_lr_search(ls))
    assert "not significantly" not in text
