"""NER task: target format, robust parser, seqeval-compatible entity-level scoring."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from tunewise.data.records import Entity, Example
from tunewise.data.formats.conll import ner_target_text, tags_to_entities
from tunewise.errors import ConfigError
from tunewise.tasks.ner import (NERTask, ner_metrics, ner_report, spans_from_tags,
                                tags_from_spans)

TYPES = ["PER", "LOC", "ORG"]


def _random_tags(rng, n):
    # every tag shape, including ill-formed ones (I- after O, I-X after B-Y)
    choices = ["O", "O", "O"] + [f"{p}-{t}" for p in "BI" for t in TYPES]
    return [rng.choice(choices) for _ in range(n)]


@pytest.mark.parametrize("seed", range(20))
def test_spans_from_tags_match_seqeval_chunking(seed):
    from seqeval.metrics.sequence_labeling import get_entities
    rng = random.Random(seed)
    tags = _random_tags(rng, rng.randint(1, 30))
    ours = [(e.type, e.start, e.end - 1) for e in spans_from_tags(tags)]
    assert ours == get_entities(tags)


@pytest.mark.parametrize("seed", range(10))
def test_entity_scores_agree_with_seqeval(seed):
    import seqeval.metrics as sq
    rng = random.Random(100 + seed)
    y_true, y_pred = [], []
    for _ in range(40):
        n = rng.randint(1, 15)
        gold = _random_tags(rng, n)
        # predictions: mostly the gold tags with random corruption
        pred = [t if rng.random() < 0.7 else rng.choice(["O", "B-PER", "I-LOC", "B-ORG"])
                for t in gold]
        y_true.append(gold)
        y_pred.append(pred)
    golds = [spans_from_tags(t) for t in y_true]
    preds = [spans_from_tags(t) for t in y_pred]
    ours = ner_metrics(golds, preds)
    assert ours["precision"] == pytest.approx(sq.precision_score(y_true, y_pred))
    assert ours["recall"] == pytest.approx(sq.recall_score(y_true, y_pred))
    assert ours["f1"] == pytest.approx(sq.f1_score(y_true, y_pred))
    report = ner_report(golds, preds, TYPES)
    theirs = sq.classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    for t in TYPES:
        if t in theirs:
            assert report[t]["precision"] == pytest.approx(theirs[t]["precision"])
            assert report[t]["recall"] == pytest.approx(theirs[t]["recall"])
            assert report[t]["f1"] == pytest.approx(theirs[t]["f1-score"])
            assert report[t]["support"] == theirs[t]["support"]


@pytest.mark.parametrize("seed", range(5))
def test_conll_reader_chunks_iob2_like_seqeval(seed):
    rng = random.Random(seed)
    for _ in range(200):
        tags = _random_tags(rng, rng.randint(1, 20))
        toks = [f"t{i}" for i in range(len(tags))]
        assert tags_to_entities(toks, tags)[0] == spans_from_tags(tags, toks)


def test_tags_round_trip():
    rng = random.Random(0)
    for _ in range(50):
        tags = _random_tags(rng, 20)
        ents = spans_from_tags(tags)
        assert spans_from_tags(tags_from_spans(ents, 20)) == ents


def _ex(text, entities=None):
    toks = text.split()
    return Example.from_text(text, tokens=toks, entities=entities)


def test_target_format_and_none():
    toks = "Barack Obama visited Paris".split()
    ents = [Entity("LOC", 3, 4, "Paris"), Entity("PER", 0, 2, "Barack Obama")]
    task = NERTask(TYPES)
    ex = Example.from_text(" ".join(toks), tokens=toks, entities=ents)
    assert task.target(ex) == "PER: Barack Obama\nLOC: Paris"      # order of appearance
    assert ner_target_text([]) == "none"
    assert task.target(_ex("nothing here", [])) == "none"


def test_target_parses_back_to_the_gold_spans():
    rng = random.Random(1)
    task = NERTask(TYPES)
    for i in range(100):
        toks = [f"w{i}_{j}" for j in range(rng.randint(1, 12))]
        tags = ["O"] * len(toks)
        pos = 0
        while pos < len(toks):
            if rng.random() < 0.3:
                ln = rng.randint(1, 3)
                t = rng.choice(TYPES)
                for j in range(pos, min(pos + ln, len(toks))):
                    tags[j] = ("B-" if j == pos else "I-") + t
                pos += ln
            pos += 1
        ex = _ex(" ".join(toks), spans_from_tags(tags, toks))
        assert task.parse(task.target(ex), ex) == task.gold(ex)


@pytest.mark.parametrize("answer", [
    "PER: Barack Obama\nLOC: Paris",
    "- PER: Barack Obama\n- LOC: Paris",
    "* per: barack obama\n* Loc: PARIS",
    "1. PER - Barack Obama\n2. LOC - Paris",
    "**PER**: Barack Obama\n**LOC**: Paris",
    "Barack Obama (PER)\nParis (LOC)",
    "Barack Obama: PER\nParis: LOC",
    "PER: \"Barack Obama\"\nLOC: Paris.",
    "PER: Barack Obama; LOC: Paris",
    '[{"type": "PER", "text": "Barack Obama"}, {"type": "LOC", "text": "Paris"}]',
    '```json\n[["PER", "Barack Obama"], ["LOC", "Paris"]]\n```',
    '{"PER": ["Barack Obama"], "LOC": "Paris"}',
    '{"entities": [{"label": "per", "entity": "Barack Obama"}, {"label": "loc", "entity": "Paris"}]}',
    "Here are the entities:\nPER: Barack Obama\nLOC: Paris",
])
def test_parser_tolerates_formats(answer):
    ex = _ex("Barack Obama visited Paris .")
    got = NERTask(TYPES).parse(answer, ex)
    assert [e.key() for e in got] == [("PER", 0, 2), ("LOC", 3, 4)]
    assert got[0].text == "Barack Obama"


@pytest.mark.parametrize("answer", ["none", "None.", "", "- none", "[]", "No entities."])
def test_parser_none(answer):
    assert NERTask(TYPES).parse(answer, _ex("nothing to see")) == []


def test_parser_drops_unknown_types_and_missing_text_and_says_why():
    ex = _ex("Barack Obama visited Paris")
    dropped = []
    got = NERTask(TYPES).parse("PER: Barack Obama\nMISC: Paris\nLOC: London\nrandom chatter",
                               ex, dropped=dropped)
    assert [e.key() for e in got] == [("PER", 0, 2)]
    reasons = {item: why for item, why in dropped}
    assert reasons["MISC: Paris"] == "unknown entity type"
    assert reasons["LOC: London"] == "text not found in the input tokens"
    assert reasons["random chatter"] == "no known entity type"


def test_repeated_mentions_map_to_successive_occurrences():
    ex = _ex("Paris is not Paris , Texas")
    got = NERTask(TYPES).parse("LOC: Paris\nLOC: Paris\nLOC: Texas\nLOC: Paris", ex)
    assert [e.key() for e in got] == [("LOC", 0, 1), ("LOC", 3, 4), ("LOC", 5, 6)]


def test_span_that_overlaps_an_earlier_entity_moves_on():
    ex = _ex("Paris Hilton landed in Paris")
    got = NERTask(["person", "location"]).parse("person: Paris Hilton\nlocation: Paris", ex)
    assert [e.key() for e in got] == [("person", 0, 2), ("location", 4, 5)]


def test_exact_case_preferred_then_case_insensitive():
    ex = _ex("Jinx said JINX loudly")
    got = NERTask(TYPES).parse("PER: JINX\nPER: Jinx", ex)
    assert sorted(e.key() for e in got) == [("PER", 0, 1), ("PER", 2, 3)]
    got = NERTask(TYPES).parse("PER: jinx\nPER: jinx", ex)
    assert sorted(e.key() for e in got) == [("PER", 0, 1), ("PER", 2, 3)]


def test_whitespace_and_punctuation_tokens():
    ex = _ex("I love New York , really")
    task = NERTask(TYPES)
    assert [e.key() for e in task.parse("LOC: New York,", ex)] == [("LOC", 2, 4)]
    assert [e.key() for e in task.parse("LOC: New  York", ex)] == [("LOC", 2, 4)]
    # a substring of a token is not an entity
    assert task.parse("LOC: Yor", ex) == []


def test_comma_joined_entities():
    ex = _ex("Alice met Bob and Carol")
    got = NERTask(TYPES).parse("PER: Alice, Bob, Carol", ex)
    assert [e.key() for e in got] == [("PER", 0, 1), ("PER", 2, 3), ("PER", 4, 5)]


def test_gold_from_answer_when_entities_absent():
    ex = Example.from_text("Barack Obama visited Paris", "PER: Barack Obama\nLOC: Paris")
    task = NERTask(TYPES)
    assert [e.key() for e in task.gold(ex)] == [("PER", 0, 2), ("LOC", 3, 4)]
    assert task.target(ex) == "PER: Barack Obama\nLOC: Paris"


def test_metrics_and_example_scores():
    task = NERTask(TYPES)
    golds = [[Entity("PER", 0, 2, "")], [], [Entity("LOC", 1, 2, ""), Entity("ORG", 3, 4, "")]]
    preds = [[Entity("PER", 0, 2, "")], [], [Entity("LOC", 1, 3, ""), Entity("ORG", 3, 4, "")]]
    m = task.metrics(golds, preds)
    assert m == {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3),
                 "f1": pytest.approx(2 / 3)}
    assert task.headline_metric == "f1"
    assert task.example_scores(golds, preds) == [1.0, 1.0, 0.5]
    # dicts and tuples (predictions read back from JSONL) score the same
    as_dicts = [[e.to_dict() for e in p] for p in preds]
    as_tuples = [[list(e.key()) for e in p] for p in preds]
    assert task.metrics(golds, as_dicts) == m == task.metrics(golds, as_tuples)
    rep = task.report(golds, preds)
    assert list(rep) == TYPES
    assert rep["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert rep["ORG"]["f1"] == 1.0


def test_template_mentions_types_and_format():
    task = NERTask(["person", "location"])
    msgs = task.prompt_messages(_ex("Paris"), shots=[_ex("Bob", [Entity("person", 0, 1, "Bob")])])
    assert "person, location" in msgs[0]["content"] and "none" in msgs[0]["content"]
    assert msgs[1] == {"role": "user", "content": "Bob"}
    assert msgs[2] == {"role": "assistant", "content": "person: Bob"}
    assert msgs[-1] == {"role": "user", "content": "Paris"}


def test_bad_types():
    with pytest.raises(ConfigError):
        NERTask([])
    with pytest.raises(ConfigError, match="duplicate"):
        NERTask(["PER", "PER"])


def _read_conll(path: Path):
    sents, toks, tags = [], [], []
    for line in path.read_text(encoding="utf-8").split("\n"):
        line = line.replace("\ufeff", "")
        if not line.strip():
            if toks:
                sents.append((toks, tags))
            toks, tags = [], []
            continue
        tok, tag = line.split("\t")[:2]
        toks.append(tok)
        tags.append(tag.strip())
    if toks:
        sents.append((toks, tags))
    return sents


def test_target_round_trip_on_wnut17(real_data):
    """Parsing the gold target text recovers the gold spans on real tweets (the format can
    only be ambiguous when an entity's text also occurs earlier outside any entity)."""
    sents = _read_conll(real_data / "wnut17" / "emerging.dev.conll")
    types = sorted({t[2:] for _, tags in sents for t in tags if t != "O"})
    task = NERTask(types)
    golds, preds = [], []
    for toks, tags in sents:
        ex = Example.from_text(" ".join(toks), tokens=toks, entities=spans_from_tags(tags, toks))
        golds.append(task.gold(ex))
        preds.append(task.parse(task.target(ex), ex))
    assert len(golds) == 241 and sum(map(len, golds)) > 200
    assert task.metrics(golds, preds)["f1"] > 0.995


def test_parser_never_fails_and_returns_valid_spans_on_garbage():
    rng = random.Random(0)
    toks = "Barack Obama went to Paris , France with [ Bob ] : PER".split()
    ex = Example.from_text(" ".join(toks), tokens=toks)
    task = NERTask(TYPES)
    vocab = TYPES + ["[", "]", "{", "}", '"', ":", "-", ",", "\n", ";", "(", ")", "none"] + toks
    answers = ["[" * 5000, '{"PER": [1, null, {"x": 2}]}', "PER:", ": Paris", "\n\n\n"]
    for _ in range(300):
        answers.append(" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40))))
        answers.append("".join(rng.choice(vocab) for _ in range(rng.randint(0, 40))))
    for answer in answers:
        for e in task.parse(answer, ex):
            assert e.type in TYPES and 0 <= e.start < e.end <= len(toks)
            assert e.text == " ".join(toks[e.start:e.end])
