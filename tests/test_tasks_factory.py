"""make_task, infer_task_kind, presets, task_from_config, label validation."""
from __future__ import annotations

import pytest

from tunewise.data.records import Entity, Example
from tunewise.errors import ConfigError, DataError, UnknownNameError, UsageError
from tunewise.tasks import (ClassificationTask, GenerationTask, NERTask, PromptTemplate,
                            infer_task_kind, inferred_kind_note, make_task, task_from_config)
from tunewise.tasks.classification import SENTIMENT_PRESET


def _cls(labels, answers=False):
    out = []
    for i, lab in enumerate(labels):
        meta = {"source": "train.csv", "line": i + 2}
        if answers:
            out.append(Example.from_text(f"text {i}", lab, meta=meta))
        else:
            out.append(Example.from_text(f"text {i}", lab, label=lab, meta=meta))
    return out


def _ner():
    return [Example.from_text("Bob in Paris", tokens=["Bob", "in", "Paris"],
                              entities=[Entity("PER", 0, 1, "Bob"), Entity("LOC", 2, 3, "Paris")]),
            Example.from_text("nothing", tokens=["nothing"], entities=[])]


def test_infer_kinds():
    assert infer_task_kind(_ner()) == "ner"
    assert infer_task_kind(_cls(["pos", "neg", "pos"])) == "classification"
    # unlabeled chat data whose answers are a few short repeated values
    assert infer_task_kind(_cls(["yes", "no"] * 5, answers=True)) == "classification"
    # free-text answers
    free = [Example.from_text(f"q{i}", f"a long and different answer number {i}")
            for i in range(10)]
    assert infer_task_kind(free) == "generation"
    # too many distinct values -> generation
    many = _cls([f"v{i}" for i in range(25)] * 3, answers=True)
    assert infer_task_kind(many) == "generation"
    # each answer seen once -> not labels
    assert infer_task_kind(_cls(["a", "b", "c"], answers=True)) == "generation"
    with pytest.raises(UsageError):
        infer_task_kind([])


def test_inferred_kind_note_only_for_one_answer_taken_as_generation():
    one = _cls(["yes"] * 6, answers=True)           # one class: inferred as generation
    note = inferred_kind_note(make_task(None, one), one)
    assert note is not None and "'yes'" in note and "at least 2 labels" in note
    two = _cls(["yes", "no"] * 3, answers=True)      # a real label set: classification
    assert inferred_kind_note(make_task(None, two), two) is None
    free = [Example.from_text(f"q{i}", f"answer {i}") for i in range(6)]
    assert inferred_kind_note(make_task(None, free), free) is None


def test_labels_from_data_sorted_and_stable():
    t = make_task(None, _cls(["pos", "neg", "neu", "pos"]))
    assert isinstance(t, ClassificationTask) and t.labels == ["neg", "neu", "pos"]
    t = make_task("classification", _cls(["10", "2", "1", "2"]))
    assert t.labels == ["1", "2", "10"]
    t = make_task(None, _cls(["yes", "no"] * 3, answers=True))
    assert t.labels == ["no", "yes"]


def test_given_labels_and_validation_lists_every_bad_line():
    t = make_task("classification", _cls(["pos", "neg"]), labels=["neg", "pos"])
    assert t.labels == ["neg", "pos"]
    with pytest.raises(DataError) as e:
        make_task("classification", _cls(["pos", "meh", "neg", "bad"]), labels=["neg", "pos"])
    assert [p.line for p in e.value.problems] == [3, 5]
    assert "train.csv:3" in str(e.value) and "train.csv:5" in str(e.value)
    assert all(p.category == "unknown_label" for p in e.value.problems)


def test_single_label_is_a_config_error():
    with pytest.raises(ConfigError, match="at least 2 labels"):
        make_task("classification", _cls(["pos", "pos"]))


def test_ner_types_from_data_or_given():
    t = make_task(None, _ner())
    assert isinstance(t, NERTask) and t.types == ["LOC", "PER"]
    t = make_task("ner", labels=["PER", "LOC", "ORG"])
    assert t.types == ["PER", "LOC", "ORG"]
    with pytest.raises(DataError, match="do not fit"):
        make_task("ner", _ner(), labels=["PER"])
    with pytest.raises(ConfigError, match="entity types"):
        make_task("ner")


def test_presets():
    t = make_task(preset="sentiment", examples=_cls(["positive", "negative"]))
    assert t.template == SENTIMENT_PRESET and t.labels == ["negative", "positive"]
    assert make_task(preset="sentiment").labels == ["negative", "positive"]
    topic = make_task(preset="topic", examples=_cls(["sport", "tech", "politics"]))
    assert "topic" in topic.system_prompt() and "politics, sport, tech" in topic.system_prompt()
    assert isinstance(make_task(preset="ner", examples=_ner()), NERTask)
    with pytest.raises(UnknownNameError) as e:
        make_task(preset="sentimnet")
    assert "sentiment" in e.value.fix
    with pytest.raises(ConfigError, match="preset"):
        make_task("generation", preset="sentiment")


def test_unknown_kind_did_you_mean():
    with pytest.raises(UnknownNameError) as e:
        make_task("clasification", _cls(["a", "b"]))
    assert "did you mean 'classification'" in e.value.fix


def test_templates():
    t = make_task("generation", template={"system": "Be brief.", "user": "Q: {input}"})
    msgs = t.prompt_messages(Example.from_text("hi", "hello"))
    assert msgs == [{"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Q: hi"}]
    with pytest.raises(ConfigError, match="template.user"):
        make_task("classification", _cls(["a", "b"]), template={"user": "{text}"})
    with pytest.raises(ConfigError, match="unknown field"):
        make_task("generation", template={"sytem": "x"})


@pytest.mark.parametrize("task", [
    ClassificationTask(["neg", "pos"]),
    ClassificationTask(["a", "b", "c"], PromptTemplate("Pick {labels}", "Text: {input}"),
                       headline_metric="accuracy"),
    NERTask(["PER", "LOC"]),
    NERTask(["person"], PromptTemplate("Find {types}.", "{input}")),
    GenerationTask(),
    GenerationTask(PromptTemplate("Answer briefly.", "{input}")),
])
def test_task_from_config_round_trip(task):
    back = task_from_config(task.to_config())
    assert type(back) is type(task)
    assert back.to_config() == task.to_config()
    assert back.headline_metric == task.headline_metric


def test_task_from_config_errors():
    with pytest.raises(UnknownNameError):
        task_from_config({"kind": "regression"})
    with pytest.raises(ConfigError, match="labels"):
        task_from_config({"kind": "classification"})
    with pytest.raises(ConfigError, match="types"):
        task_from_config({"kind": "ner", "types": []})
    with pytest.raises(ConfigError):
        task_from_config(["classification"])
