"""`tunewise data stats`: OpenAI's default epochs, percentiles, context, billed tokens, cost."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tunewise.cost.prices import get_price
from tunewise.data.records import Example
from tunewise.cost.dataset_stats import length_summary, openai_default_epochs, stats, stats_examples
from tunewise.errors import UnknownNameError, UsageError


@pytest.mark.parametrize("n, epochs", [
    (1, 25), (3, 25), (4, 25), (5, 20), (10, 10), (33, 3), (34, 3), (50, 3),
    (8333, 3), (8334, 2), (12500, 2), (12501, 1), (25000, 1), (100000, 1),
])
def test_openai_default_epochs_at_the_boundaries(n, epochs):
    # OpenAI's reference: 3; n*3 < 100 -> min(25, 100 // n); n*3 > 25000 -> max(1, 25000 // n)
    assert openai_default_epochs(n) == epochs


def test_epoch_rule_keeps_examples_times_epochs_near_the_target_band():
    for n in range(1, 30000, 7):
        e = openai_default_epochs(n)
        assert 1 <= e <= 25
        if n * 3 > 25000:
            assert n * e <= 25000 or e == 1
        elif n * 3 >= 100:
            assert e == 3


def test_percentiles_are_the_percentiles_they_are_labelled():
    lengths = list(range(1, 101))                       # 1..100
    s = length_summary(lengths)
    assert s["p10"] == pytest.approx(np.percentile(lengths, 10)) == pytest.approx(10.9)
    assert s["p50"] == pytest.approx(50.5) and s["p90"] == pytest.approx(90.1)
    assert s["min"] == 1 and s["max"] == 100 and s["total"] == 5050


def _examples(n: int, words: int = 5, label_cycle=("pos", "neg")) -> list[Example]:
    return [Example.from_text(" ".join(["word"] * words) + f" {i}", label_cycle[i % 2],
                              label=label_cycle[i % 2], meta={"line": i + 1})
            for i in range(n)]


def test_counts_labels_and_cost_from_the_price_table():
    exs = _examples(40)
    r = stats_examples(exs, price_model="gpt-4o-mini", progress=False)
    assert r["examples"] == 40 and r["task"] == "classification"
    assert r["label_distribution"] == {"pos": 20, "neg": 20}
    assert r["openai_default_epochs"] == 3                 # 40 * 3 = 120 in 100..25,000
    c = r["cost"]
    entry = get_price("gpt-4o-mini")
    assert c["price_entry"] == entry.name and c["date"] == entry.date
    assert c["tokens_per_epoch"] == r["tokens"]["total"]   # nothing over the context
    assert c["billed_training_tokens"] == 3 * c["tokens_per_epoch"]
    assert c["training_usd"] == pytest.approx(c["billed_training_tokens"] / 1e6 * entry.training,
                                              abs=1e-4)
    # counted with the model family's own encoding, chat-formatted (> bare text tokens)
    assert r["tokens"]["model"] == entry.name and r["tokens"]["min"] > 6


def test_over_context_and_billing_cap():
    exs = _examples(12, words=3) + [Example.from_text("word " * 3000, "pos", label="pos",
                                                      meta={"line": 13})]
    r = stats_examples(exs, model="gpt-3.5-turbo", price_model="gpt-3.5-turbo-0125",
                       progress=False)
    assert r["tokens"]["context"] == 16385
    assert r["over_context"] == {"count": 0, "lines": []}
    small = stats_examples(exs, model="tiny-random", progress=False)
    ctx = small["tokens"]["context"]
    assert small["tokens"]["max"] > ctx
    assert small["over_context"]["count"] == 1 and small["over_context"]["lines"] == [13]
    assert small["cost"] is None
    default = stats_examples(exs, price_model="gpt-4o-mini", progress=False)
    assert default["openai_default_epochs"] == 7            # 13 examples: 100 // 13
    # billed tokens cap each example at the price entry's context: an example longer than
    # gpt-3.5-turbo-0125's 16,385 tokens is billed for 16,385 of them
    huge = _examples(12, words=3) + [Example.from_text("word " * 20000, "pos", label="pos",
                                                       meta={"line": 13})]
    capped = stats_examples(huge, price_model="gpt-3.5-turbo-0125", progress=False)
    ctx, t = capped["cost"]["context"], capped["tokens"]
    assert ctx == 16385 and t["max"] > ctx                  # the cap is reached
    assert capped["cost"]["tokens_per_epoch"] == t["total"] - t["max"] + ctx


def test_local_and_compute_entries():
    r = stats_examples(_examples(20), price_model="smollm2-135m-instruct", progress=False)
    assert r["cost"]["training_usd"] is None and "throughput" in r["cost"]["note"]
    with pytest.raises(UsageError):
        stats_examples(_examples(20), price_model="h100", progress=False)
    with pytest.raises(UnknownNameError):
        stats_examples(_examples(20), price_model="gpt-4o-mnii", progress=False)


def test_file_and_cli(cli, tmp_path):
    src = tmp_path / "d.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for ex in _examples(30):
            fh.write(json.dumps(ex.to_chat_dict(with_gold=True)) + "\n")
    before = src.read_bytes()
    r = stats(src, price_model="gpt-4.1-nano", progress=False)
    assert r["examples"] == 30 and r["openai_default_epochs"] == 3
    out = cli("data", "stats", str(src), "--price-model", "gpt-4.1-nano", "--json")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["cost"]["billed_training_tokens"] == r["cost"]["billed_training_tokens"]
    human = cli("data", "stats", str(src), "--price-model", "gpt-4o-mini")
    assert human.returncode == 0 and "p50" in human.stdout and "epochs" in human.stdout
    bad = cli("data", "stats", str(src), "--price-model", "gpt-4o-mnii")
    assert bad.returncode == 2 and "did you mean" in bad.stderr and "Traceback" not in bad.stderr
    assert src.read_bytes() == before
