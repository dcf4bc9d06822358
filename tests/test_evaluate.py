"""predict / evaluate / predictions files / paired comparison, on the tiny random model."""
from __future__ import annotations

import json

import pytest

from tunewise.data.records import Entity, Example
from tunewise.errors import InputError, UsageError
from tunewise.evaluation import (compare_files, evaluate, predict, read_predictions, rescore,
                                 write_predictions)
from tunewise.prompting.predict import _log_normalise
from tunewise.tasks import ClassificationTask, GenerationTask, NERTask

LABELS = ["negative", "positive"]


def _cls(rows):
    return [Example.from_text(t, lab, label=lab, meta={"source": "mem", "line": i + 1})
            for i, (t, lab) in enumerate(rows)]


TRAIN = _cls([("I loved it", "positive"), ("great movie", "positive"),
              ("wonderful acting", "positive"), ("a masterpiece", "positive"),
              ("terrible film", "negative"), ("I hated it", "negative"),
              ("boring and long", "negative"), ("awful script", "negative")])
TEST = _cls([("really great", "positive"), ("what a bore", "negative"),
             ("loved the music", "positive"), ("hated the ending", "negative"),
             ("a wonderful film", "positive")])


def _ner(text, ents):
    toks = text.split()
    entities = [Entity(t, s, e, " ".join(toks[s:e])) for t, s, e in ents]
    answer = "\n".join(f"{x.type}: {x.text}" for x in entities) or "none"
    return Example.from_text(text, answer, tokens=toks, entities=entities)


NER = [_ner("John lives in Paris", [("PER", 0, 1), ("LOC", 3, 4)]),
       _ner("Mary visited Rome last year", [("PER", 0, 1), ("LOC", 2, 3)]),
       _ner("nothing here", [])]
GEN = [Example.from_text("Say hello", "hello"), Example.from_text("Name a colour", "blue")]


# -- predict -----------------------------------------------------------------------------------

def test_score_predicts_the_argmax_label_and_keeps_every_score(tiny):
    task = ClassificationTask(LABELS)
    preds = predict(task, tiny, TEST, batch_size=2)
    assert len(preds) == len(TEST)
    for p, ex in zip(preds, TEST):
        assert p.gold == ex.label
        assert set(p.extra["scores"]) == set(LABELS)
        assert p.pred == max(LABELS, key=p.extra["scores"].get)
        assert p.tokens_in > 0 and p.tokens_out >= 2  # label + end-of-turn


def test_length_normalised_scoring_uses_per_token_scores(tiny):
    task = ClassificationTask(["no", "yes, absolutely positive"])
    preds = predict(task, tiny, TEST[:3], length_normalize=True)
    for p in preds:
        per = p.extra["scores_per_token"]
        assert p.pred == max(per, key=per.get)


def test_calibration_subtracts_the_content_free_prior(tiny):
    task = ClassificationTask(LABELS)
    raw = predict(task, tiny, TEST)
    cal = predict(task, tiny, TEST, calibrate=True)
    for r, c in zip(raw, cal):
        assert c.extra["scores"] == pytest.approx(r.extra["scores"])
        assert c.pred == max(LABELS, key=c.extra["calibrated"].get)
    # the prior is the same for every example
    priors = {tuple(round(_log_normalise([r.extra["scores"][lab] for lab in LABELS])[i]
                          - c.extra["calibrated"][lab], 4) for i, lab in enumerate(LABELS))
              for r, c in zip(raw, cal)}
    assert len(priors) == 1


def test_shared_shots_and_per_example_shots_give_the_same_result(tiny):
    task = ClassificationTask(LABELS)
    shared = predict(task, tiny, TEST, shots=TRAIN[:2])
    per = predict(task, tiny, TEST, shots=[TRAIN[:2]] * len(TEST))
    for a, b in zip(shared, per):
        assert a.pred == b.pred
        for lab in LABELS:
            assert a.extra["scores"][lab] == pytest.approx(b.extra["scores"][lab], abs=1e-4)


def test_generate_method_parses_the_generated_text(tiny):
    task = ClassificationTask(LABELS)
    preds = predict(task, tiny, TEST, method="generate", max_new_tokens=4)
    for p in preds:
        assert p.extra["method"] == "generate"
        assert p.pred == task.parse(p.raw)
        assert 1 <= p.tokens_out <= 4


def test_ner_and_generation_go_through_generation(tiny):
    ner = NERTask(["LOC", "PER"])
    preds = predict(ner, tiny, NER, max_new_tokens=8)
    for p, ex in zip(preds, NER):
        assert p.gold == sorted(ex.entities, key=lambda e: (e.start, e.end))
        assert isinstance(p.pred, list)
        assert "\n\n" not in p.raw  # NER stops at a blank line
    gen = predict(GenerationTask(), tiny, GEN, max_new_tokens=5)
    assert [p.gold for p in gen] == ["hello", "blue"]
    assert all(isinstance(p.pred, str) and p.tokens_out <= 5 for p in gen)


def test_predict_rejects_bad_requests(tiny):
    with pytest.raises(UsageError, match="unknown method"):
        predict(ClassificationTask(LABELS), tiny, TEST, method="guess")
    with pytest.raises(UsageError, match="classification"):
        predict(NERTask(["PER"]), tiny, NER, method="score")
    long = Example.from_text("word " * 3000, "positive", label="positive")
    with pytest.raises(UsageError, match="context"):
        predict(ClassificationTask(LABELS), tiny, [long])
    assert predict(ClassificationTask(LABELS), tiny, []) == []


# -- evaluate ----------------------------------------------------------------------------------

def test_evaluate_prompt_arm_reports_metrics_with_cis_and_confusion(tiny, tmp_path):
    out = tmp_path / "pred.jsonl"
    r = evaluate(TEST, model="tiny-random", task="classification", labels=LABELS, out=out,
                 n_resamples=200)
    assert r.arm == "prompt" and r.n == len(TEST)
    acc = r.metrics["accuracy"]
    expected = sum(p.pred == p.gold for p in r.predictions) / len(TEST)
    assert acc.value == pytest.approx(expected)
    assert acc.ci[0] <= acc.value <= acc.ci[1]
    m = r.confusion["matrix"]
    assert [sum(row) for row in m] == [r.report[lab]["support"] for lab in LABELS]
    assert sum(m[i][i] for i in range(2)) == sum(p.pred == p.gold for p in r.predictions)
    assert r.timing["examples_per_second"] > 0 and r.timing["load_seconds"] >= 0
    d = r.to_dict()
    json.dumps(d)
    assert set(d["metrics"]) == {"accuracy", "macro_f1"}
    # the predictions file round-trips and rescores to the same metrics
    pf = read_predictions(out)
    assert pf.task.labels == LABELS and len(pf.rows) == len(TEST)
    row = pf.rows[0]
    for key in ("input", "gold", "prediction", "raw", "latency_s", "tokens_in", "tokens_out"):
        assert key in row
    assert rescore(out, n_resamples=200)["metrics"]["accuracy"]["value"] == pytest.approx(acc.value)


@pytest.mark.parametrize("selection", ["random", "balanced", "nearest"])
def test_evaluate_k_shot_with_each_selection(tiny, selection):
    r = evaluate(TEST, model="tiny-random", shots=2, shots_from=TRAIN, shot_selection=selection,
                 n_resamples=50)
    assert r.settings["shots"] == 2 and r.settings["shot_selection"] == selection
    zero = evaluate(TEST, model="tiny-random", n_resamples=50)
    # shots make the prompts longer
    assert all(k.tokens_in > z.tokens_in for k, z in zip(r.predictions, zero.predictions))


def test_evaluate_classical_arm(tmp_path):
    r = evaluate(TEST, arm="classical", train=TRAIN, n_resamples=50, out=tmp_path / "c.jsonl")
    assert r.arm == "classical" and r.model is None
    assert all(p.pred in LABELS for p in r.predictions)
    assert "accuracy" in r.metrics and r.timing["examples_per_second"] > 0


def test_evaluate_ner_and_generation(tiny):
    r = evaluate(NER, model="tiny-random", max_new_tokens=8, n_resamples=50)
    assert r.task.kind == "ner" and {"f1", "precision", "recall"} <= set(r.metrics)
    assert set(r.report) >= {"LOC", "PER"}
    assert r.report["PER"]["support"] == 2
    g = evaluate(GEN, model="tiny-random", max_new_tokens=4, n_resamples=50)
    assert g.task.kind == "generation" and "rouge_l" in g.metrics and g.confusion is None


def test_evaluate_reads_files_and_limits(tiny, tmp_path):
    f = tmp_path / "test.csv"
    f.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in
                                          [("good", "positive"), ("bad", "negative"),
                                           ("fine", "positive")]))
    r = evaluate(str(f), model="tiny-random", limit=2, n_resamples=50)
    assert r.n == 2 and any("--limit 2" in n for n in r.notes)


def test_evaluate_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(UsageError, match="--train"):
        evaluate(TEST, arm="classical")
    with pytest.raises(UsageError, match="--shots-from"):
        evaluate(TEST, shots=2)
    with pytest.raises(UsageError, match="unknown arm"):
        evaluate(TEST, arm="oracle")
    with pytest.raises(UsageError, match="shot selection"):
        evaluate(TEST, shots=1, shots_from=TRAIN, shot_selection="closest")
    with pytest.raises(UsageError, match="no such folder"):
        evaluate(TEST, model="tiny-random", adapter=tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="not a tunewise run directory"):
        evaluate(TEST, model="tiny-random", adapter=tmp_path / "empty")


def test_evaluate_a_trained_run_directory(tiny, tmp_path):
    """A run directory as `tunewise train` leaves it: run.json + adapter/ (PEFT)."""
    from peft import LoraConfig, get_peft_model

    from tunewise.models import load_model
    base = load_model("tiny-random")
    peft = get_peft_model(base.model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    run = tmp_path / "run"
    peft.save_pretrained(str(run / "adapter"), safe_serialization=True)
    task = ClassificationTask(LABELS)
    (run / "run.json").write_text(json.dumps({"model": "tiny-random", "method": "lora",
                                              "task": task.to_config(), "status": "done"}))
    r = evaluate(TEST, adapter=run, n_resamples=50)
    assert r.arm == "finetuned" and r.task.labels == LABELS and r.n == len(TEST)
    # a bare PEFT adapter folder works too (base model from --model)
    r2 = evaluate(TEST, model="tiny-random", adapter=run / "adapter", n_resamples=50)
    assert [p.pred for p in r2.predictions] == [p.pred for p in r.predictions]


# -- predictions files and --compare -----------------------------------------------------------

def _write(path, golds, preds, task=None):
    from tunewise.tasks.base import Prediction
    task = task or ClassificationTask(LABELS)
    exs = [Example.from_text(f"text {i}", g, label=g) for i, g in enumerate(golds)]
    write_predictions(path, task, exs, [Prediction(gold=g, pred=p) for g, p in zip(golds, preds)])


def test_compare_files_mcnemar_and_bootstrap(tmp_path):
    golds = ["positive", "negative"] * 20
    good = list(golds)
    bad = [("negative" if g == "positive" else "positive") if i % 2 else g
           for i, g in enumerate(golds)]
    _write(tmp_path / "a.jsonl", golds, good)
    _write(tmp_path / "b.jsonl", golds, bad)
    res = compare_files(tmp_path / "a.jsonl", tmp_path / "b.jsonl", n_resamples=200)
    acc = res["metrics"]["accuracy"]
    assert acc["diff"] == pytest.approx(0.5)
    assert acc["test"].startswith("McNemar") and acc["p_value"] < 0.01
    assert res["metrics"]["macro_f1"]["test"] == "paired bootstrap"
    same = compare_files(tmp_path / "a.jsonl", tmp_path / "a.jsonl", n_resamples=100)
    assert same["metrics"]["accuracy"]["diff"] == 0 and same["metrics"]["accuracy"]["p_value"] == 1


def test_compare_aligns_rows_in_a_different_order(tmp_path):
    golds = ["positive", "negative", "positive", "negative"]
    _write(tmp_path / "a.jsonl", golds, golds)
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    (tmp_path / "b.jsonl").write_text("\n".join([lines[0], *lines[1:][::-1]]) + "\n")
    res = compare_files(tmp_path / "a.jsonl", tmp_path / "b.jsonl", n_resamples=50)
    assert res["metrics"]["accuracy"]["diff"] == 0


def test_compare_rejects_files_over_different_examples(tmp_path):
    _write(tmp_path / "a.jsonl", ["positive", "negative"], ["positive", "negative"])
    _write(tmp_path / "b.jsonl", ["positive"], ["positive"])
    _write(tmp_path / "c.jsonl", ["negative", "negative"], ["positive", "negative"])
    with pytest.raises(UsageError, match="different examples"):
        compare_files(tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    with pytest.raises(UsageError, match="no match"):
        compare_files(tmp_path / "a.jsonl", tmp_path / "c.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"gold": "x", "prediction": "y"}\nnot json\n')
    with pytest.raises(InputError, match="bad.jsonl:2"):
        read_predictions(tmp_path / "bad.jsonl")
    with pytest.raises(InputError, match="no such file"):
        read_predictions(tmp_path / "missing.jsonl")
