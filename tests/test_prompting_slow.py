"""Zero-shot sentiment on real movie reviews with the embedded model (slow: ~30 s)."""
from __future__ import annotations

import random

import pytest

pytestmark = pytest.mark.slow

N = 200  # reviews (balanced); enough for a binomial test to separate 0.6 from chance


def _reviews(mr_reviews, n, seed=0):
    by = {"negative": [], "positive": []}
    for lab, text in mr_reviews:
        by["negative" if lab == "0" else "positive"].append(text)
    rng = random.Random(seed)
    rows = [(t, lab) for lab in by for t in rng.sample(by[lab], n // 2)]
    rng.shuffle(rows)
    return rows


def test_zero_shot_sentiment_is_clearly_above_chance(mr_reviews):
    from scipy.stats import binomtest

    from tunewise.data.records import Example
    from tunewise.evaluation import predict
    from tunewise.models import load_model
    from tunewise.tasks import make_task

    rows = _reviews(mr_reviews, N)
    examples = [Example.from_text(t, lab, label=lab) for t, lab in rows]
    # the prompt names the input a review and ends with a cue; with the plain sentiment preset
    # this 135M model scores ~0.56 on this sample, which is not clearly above chance
    task = make_task("classification", examples, template={
        "system": "You are a sentiment classifier. Answer with exactly one word: {labels}.",
        "user": "Review: {input}\nSentiment:"})
    lm = load_model(memo=True)
    preds = predict(task, lm, examples, batch_size=32, calibrate=True, progress=False)
    correct = sum(p.pred == p.gold for p in preds)
    # one-sided binomial test against guessing (0.5); a majority-class guesser cannot pass
    # because the sample is balanced
    assert binomtest(correct, N, 0.5, alternative="greater").pvalue < 0.01, correct / N
    print(f"zero-shot calibrated accuracy on {N} mr reviews: {correct / N:.3f}")
    assert {p.pred for p in preds} == {"negative", "positive"}  # not a constant answer
