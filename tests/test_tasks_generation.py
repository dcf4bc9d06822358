"""Generation task: reference answers; exact match, token F1, ROUGE-L, chrF."""
from __future__ import annotations

import random

import pytest

from tunewise.data.records import Example
from tunewise.tasks.generation import (GenerationTask, exact_match, generation_metrics,
                                       normalize_answer, rouge_l, token_f1)

WORDS = "the cat sat on a mat dog ran fast slow red blue And THE, it's 42 x-ray".split()


def test_squad_normalisation_and_exact_match():
    assert normalize_answer("  The Cat, sat!  ") == "cat sat"
    assert exact_match("The cat sat.", "cat sat") == 1.0
    assert exact_match("cat sat", "cats sat") == 0.0


def test_token_f1_by_hand():
    # gold 4 tokens after normalisation, pred 3, 2 in common: P=2/3 R=2/4
    assert token_f1("the red cat sat on mats", "a red cat ran") == pytest.approx(
        2 * (2 / 3) * (2 / 5) / ((2 / 3) + (2 / 5)))
    assert token_f1("", "") == 1.0
    assert token_f1("a cat", "") == 0.0
    assert token_f1("cat cat dog", "cat dog dog") == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", range(5))
def test_rouge_l_matches_rouge_score_default_on_ascii(seed):
    from rouge_score import rouge_scorer
    ref = rouge_scorer.RougeScorer(["rougeL"])
    rng = random.Random(seed)
    for _ in range(20):
        g = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))
        p = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))
        assert rouge_l(g, p) == pytest.approx(ref.score(g, p)["rougeL"].fmeasure)


def test_rouge_l_scores_non_latin_text():
    assert rouge_l("καλημέρα κόσμε", "καλημέρα κόσμε") == 1.0
    assert 0 < rouge_l("καλημέρα κόσμε", "καλημέρα φίλε") < 1
    assert rouge_l("", "") == 1.0
    assert rouge_l("something", "") == 0.0


def test_chrf_is_sacrebleu_corpus_chrf_over_100():
    import sacrebleu
    golds = ["The cat sat on the mat.", "Hello there, world", "Ein Haus"]
    preds = ["A cat sat on a mat", "hello world", "Ein Haus"]
    m = generation_metrics(golds, preds)
    assert m["chrf"] == pytest.approx(sacrebleu.corpus_chrf(preds, [golds]).score / 100)


def test_metrics_keys_and_headline():
    task = GenerationTask()
    golds = ["the cat sat", "yes", "a long answer here"]
    preds = ["the cat sat", "no", "a long reply here"]
    m = task.metrics(golds, preds)
    assert set(m) == {"exact_match", "token_f1", "rouge_l", "chrf"}
    assert task.headline_metric == "rouge_l"
    assert m["exact_match"] == pytest.approx(1 / 3)
    assert m["rouge_l"] == pytest.approx(sum(rouge_l(g, p) for g, p in zip(golds, preds)) / 3)
    assert task.example_scores(golds, preds) == [rouge_l(g, p) for g, p in zip(golds, preds)]
    assert task.metrics(golds, golds)["chrf"] == pytest.approx(1.0)
    # None (a failed generation) counts as an empty answer
    assert task.metrics(["x y"], [None])["rouge_l"] == 0.0


def test_gold_target_parse():
    task = GenerationTask()
    with_ref = Example.from_text("q", "assistant text", reference="the reference")
    assert task.gold(with_ref) == task.target(with_ref) == "the reference"
    plain = Example.from_text("q", "  the answer \n")
    assert task.gold(plain) == "the answer"
    assert task.parse("  generated\n", plain) == "generated"
    msgs = task.prompt_messages(plain, shots=[Example.from_text("q0", "a0")])
    assert msgs == [{"role": "user", "content": "q0"}, {"role": "assistant", "content": "a0"},
                    {"role": "user", "content": "q"}]
