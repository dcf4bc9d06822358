"""The Arm layer (tunewise.evaluation.arms): the registry, the protocol's documented example,
EvalOptions, the majority arm, the one timing rule and the Task members arms rely on."""
from __future__ import annotations

import re

import pytest

from tunewise.data.records import Entity
from tunewise.errors import UsageError
from tunewise.evaluation import arms
from tunewise.evaluation.arms import ARM_KINDS, Arm, arm_class, timed_predictions
from tunewise.evaluation.evaluator import EvalOptions, evaluate
from tunewise.tasks import ClassificationTask, GenerationTask, NERTask

from test_evaluate import LABELS, TEST, TRAIN


def test_every_arm_module_registers_its_kind():
    assert {"majority", "classical", "prompt", "finetuned"} <= set(ARM_KINDS)
    for kind, cls in ARM_KINDS.items():
        assert cls.kind == kind and arm_class(kind) is cls


def test_unknown_arm_kind_says_what_is_known():
    with pytest.raises(UsageError) as e:
        arm_class("clasical")
    assert "classical" in str(e.value.fix)


def test_the_protocol_docstring_example_runs_and_plugs_into_evaluate():
    code = re.search(r"::\n\n((?:    .*\n|\n)+)", arms.base.__doc__).group(1)
    code = "\n".join(line[4:] for line in code.splitlines())
    try:
        exec(compile(code, "arms/base.py docstring", "exec"), {})
        assert isinstance(arm_class("echo")(), Arm)
        r = evaluate(TEST, arm="echo", n_resamples=50)
        assert r.arm == "echo" and r.metrics["accuracy"].value == 1.0
        assert [p.pred for p in r.predictions] == [ex.label for ex in TEST]
    finally:
        ARM_KINDS.pop("echo", None)


def test_majority_arm_answers_the_most_frequent_training_label():
    train = TRAIN + TRAIN[:1]               # one more "positive"
    r = evaluate(TEST, EvalOptions(arm="majority", train=train, n_resamples=50))
    assert r.arm == "majority" and {p.pred for p in r.predictions} == {"positive"}
    assert r.metrics["accuracy"].value == pytest.approx(3 / 5)


def test_options_object_and_keyword_fields_are_the_same_evaluation():
    opts = EvalOptions(arm="classical", train=TRAIN, n_resamples=50, seed=3)
    a = evaluate(TEST, opts)
    b = evaluate(TEST, arm="classical", train=TRAIN, n_resamples=50, seed=3)
    c = evaluate(TEST, EvalOptions(arm="classical", train=TRAIN), n_resamples=50, seed=3)
    assert [p.pred for p in a.predictions] == [p.pred for p in b.predictions] \
        == [p.pred for p in c.predictions]
    assert a.settings == b.settings == c.settings and a.settings["seed"] == 3


def test_unknown_option_is_a_usage_error_with_a_hint():
    with pytest.raises(UsageError) as e:
        evaluate(TEST, shot=2)
    assert "shots" in str(e.value.fix)


def test_timed_predictions_warms_up_untimed_on_the_first_example():
    calls = []
    preds, timing = timed_predictions(lambda b: calls.append(("run", list(b))) or list(b),
                                      [1, 2, 3], warm_up=lambda b: calls.append(("warm", b)))
    assert calls == [("warm", [1]), ("run", [1, 2, 3])] and preds == [1, 2, 3]
    assert set(timing) == {"examples_per_second", "seconds", "load_seconds"}
    _, no_warm = timed_predictions(list, [1], warm_up=None)
    assert no_warm["load_seconds"] == 0.0


def test_task_members_the_arms_use():
    cls, ner, gen = ClassificationTask(LABELS), NERTask(["PER"]), GenerationTask()
    assert (cls.default_method(), ner.default_method(), gen.default_method()) == \
        ("score", "generate", "generate")
    assert cls.majority_answer(["negative", "positive", "positive"])["prediction"] == "positive"
    assert ner.majority_answer([])["prediction"] == [] and gen.majority_answer(["x"]) is None
    ents = [Entity("PER", 0, 1, "John")]
    assert ner.from_json(ner.to_json(ents)) == ents
    assert ner.to_json(ents) == [{"type": "PER", "start": 0, "end": 1, "text": "John"}]
    assert cls.is_correct("a", "a") is True and gen.is_correct("a", "a") is None
    conf = cls.confusion(["negative", "positive"], ["positive", "positive"])
    assert conf["matrix"] == [[0, 1], [0, 1]] and conf["labels"] == LABELS
    assert gen.confusion(["a"], ["a"]) is None and gen.report(["a"], ["a"]) == {}
    assert ner.stop_sequences == ("\n\n",) and ner.echo_stop_ngram > 0 == gen.echo_stop_ngram
    assert cls.unparsed_note(2) and ner.unparsed_note(2) is None
