"""What the data layer asks of a task (stratum, label keys, gold key, answer text), the one list
of task kinds, and the stratified sampler the data layer owns."""
from __future__ import annotations

from collections import Counter

import pytest

from tunewise.data.records import Entity, Example
from tunewise.data.sampling import stratified_order, stratified_sample
from tunewise.errors import UnknownNameError
from tunewise.tasks import ClassificationTask, GenerationTask, NERTask
from tunewise.tasks.factory import KINDS, TASK_KINDS, data_task


def _ner(types: list[str]) -> Example:
    toks = ["a", "b", "c"]
    ents = [Entity(t, i, i + 1, toks[i]) for i, t in enumerate(types)]
    return Example.from_text(" ".join(toks), None, tokens=toks, entities=ents)


def test_one_list_of_kinds_maps_names_to_task_classes():
    assert set(TASK_KINDS.names()) == set(KINDS) == {"classification", "ner", "generation"}
    for name in KINDS:
        assert TASK_KINDS.get(name).kind == name
    assert data_task("ner") is NERTask
    assert data_task(None, [_ner(["PER"])]) is NERTask
    assert data_task(None, [Example.from_text("x", "pos", label="pos")]) is ClassificationTask
    assert data_task(None, []) is GenerationTask
    task = ClassificationTask(["neg", "pos"])
    assert data_task(task) is task
    with pytest.raises(UnknownNameError):
        data_task("regression")


def test_strata_and_label_keys_per_kind():
    ex = Example.from_text("great", "pos", label="pos")
    assert ClassificationTask.stratum(ex) == "pos" and ClassificationTask.label_keys(ex) == ["pos"]
    assert NERTask.stratum(_ner(["PER", "LOC", "PER"])) == "LOC|PER"
    assert NERTask.label_keys(_ner([])) == ["none"] and NERTask.stratum(_ner([])) == "none"
    assert GenerationTask.stratum(ex) == "all" and GenerationTask.label_keys(ex) == []
    assert (ClassificationTask.has_labels, NERTask.has_labels, GenerationTask.has_labels) == \
        (True, True, False)
    assert GenerationTask.answer_in_identity and not ClassificationTask.answer_in_identity


def test_gold_key_tells_conflicting_answers_apart():
    a, b = _ner(["PER"]), _ner(["LOC"])
    assert NERTask.gold_key(a) != NERTask.gold_key(b)
    assert NERTask.gold_key(a) == "PER:0:1"
    assert ClassificationTask.gold_key(Example.from_text("x", " pos ")) == "pos"
    ref = Example.from_text("q", "long answer", reference="short")
    assert GenerationTask.answer_text(ref) == "short"
    assert ClassificationTask.answer_text(ref) == "long answer"


def test_split_takes_any_object_with_the_data_task_members(tmp_path):
    """Dependency inversion: data.splitting never asks for a kind; a stub task decides strata."""
    from tunewise.data.splitting import split_examples

    class ByLength:
        kind = "custom"
        stratified_by = "input length"
        has_labels = True
        answer_in_identity = False

        @staticmethod
        def stratum(ex):
            return "long" if ex.input.endswith("x") else "short"

        @classmethod
        def label_keys(cls, ex):
            return [cls.stratum(ex)]

        @staticmethod
        def gold_key(ex):
            return ex.answer or ""

        @staticmethod
        def answer_text(ex):
            return ex.answer

    exs = [Example.from_text(f"text number {i}" + ("x" * (i % 5 == 0) * 10), "a")
           for i in range(40)]                            # 8 long, 32 short
    m = split_examples(exs, tmp_path / "s", task=ByLength(), val=0.25, test=0.25, seed=0,
                       near_dup_threshold=None,
                       progress=False)
    assert m["task"] == "custom" and m["stratified_by"] == "input length"
    # each split holds the stub's strata in proportion: 8 long = 4 + 2 + 2
    assert {s: m["label_distribution"][s]["long"] for s in ("train", "val", "test")} == \
        {"train": 4, "val": 2, "test": 2}


def test_stratified_order_prefixes_are_nested_and_proportional():
    items = [("a", i) for i in range(60)] + [("b", i) for i in range(30)]
    order = stratified_order(items, key=lambda t: t[0], seed=4)
    assert sorted(order) == sorted(items)
    assert order == stratified_order(items, key=lambda t: t[0], seed=4)
    assert order != stratified_order(items, key=lambda t: t[0], seed=5)
    counts = Counter(t[0] for t in order[:30])
    assert abs(counts["a"] - 20) <= 1 and abs(counts["b"] - 10) <= 1
    small = stratified_sample(items, 9, key=lambda t: t[0], seed=4)
    assert small == stratified_sample(items, 30, key=lambda t: t[0], seed=4)[:9]
    assert stratified_sample(items, None, key=lambda t: t[0], seed=4) == items
