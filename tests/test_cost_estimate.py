"""Cost formulas and estimates, checked against numbers computed by hand in the comments."""
from __future__ import annotations

import json

import pytest

from tunewise.cost import projection as est_mod
from tunewise.cost.counting import TokenCounter, token_counter
from tunewise.cost.projection import (ArmUsage, break_even_requests, hosted_estimate,
                                    hosted_request_cost, hosted_training_cost,
                                    local_estimate, local_request_cost, local_training_cost,
                                    measure_usage, openai_default_epochs, pick_shots,
                                    training_seconds)
from tunewise.cost.prices import PriceEntry
from tunewise.data.records import Example
from tunewise.errors import UnknownNameError, UsageError
from tunewise.tasks import ClassificationTask, PromptTemplate

API = PriceEntry(name="m", pricing="api", source="test", date="2025-01", training=3.0,
                 ft_input=0.30, ft_output=1.20, base_input=0.15, base_output=0.60,
                 encoding="o200k_base", context=100)
BOX = PriceEntry(name="box", pricing="compute", source="test", date="2025-01", usd_per_hour=0.36)


#: gpt-4o-mini stays a hosted model that answers, whatever today's date (conftest)
pytestmark = pytest.mark.usefixtures("gpt_4o_mini_answering")


def test_hosted_request_cost():
    # (300 x 0.15 + 1 x 0.60) / 1e6 = 45.6 / 1e6
    assert hosted_request_cost(300, 1, input_per_1m=0.15, output_per_1m=0.60) == \
        pytest.approx(4.56e-5)
    # (60 x 0.30 + 1 x 1.20) / 1e6 = 19.2 / 1e6
    assert hosted_request_cost(60, 1, input_per_1m=0.30, output_per_1m=1.20) == \
        pytest.approx(1.92e-5)


def test_training_costs():
    assert hosted_training_cost(100_000, 3, 3.00) == pytest.approx(0.9)     # 300k tokens x $3/M
    assert local_training_cost(1800, 1.0) == pytest.approx(0.5)              # half an hour
    assert training_seconds(200, 3, 2.0) == pytest.approx(300.0)             # 600 examples / 2/s
    assert local_request_cost(10, 0.36) == pytest.approx(1e-5)               # 0.36/3600/10


def test_break_even():
    # 0.9 / (4.56e-5 - 1.92e-5) = 0.9 / 2.64e-5 = 34,090.9
    assert break_even_requests(0.9, 4.56e-5, 1.92e-5) == pytest.approx(34090.909, rel=1e-6)
    assert break_even_requests(0.9, 1.0e-5, 1.0e-5) is None         # not cheaper: never
    assert break_even_requests(0.9, 1.0e-5, 3.0e-5) is None
    assert break_even_requests(0.0, 2.0e-5, 1.0e-5) == 0.0          # free training: at once


def test_bad_inputs_are_usage_errors():
    with pytest.raises(UsageError, match="prompt_tokens = -1"):
        hosted_request_cost(-1, 1, input_per_1m=0.1, output_per_1m=0.1)
    with pytest.raises(UsageError):
        local_request_cost(0, 1.0)
    with pytest.raises(UsageError):
        hosted_estimate(API, prompt_arms=[ArmUsage("4-shot", "prompt", 10, 1)],
                        finetuned=ArmUsage("ft", "finetune", 5, 1), train_tokens_per_epoch=10,
                        epochs=0)


@pytest.mark.parametrize("n, epochs", [(2, 25), (10, 10), (20, 5), (33, 3), (34, 3), (1000, 3),
                                       (8333, 3), (8334, 2), (10_000, 2), (100_000, 1)])
def test_openai_default_epochs(n, epochs):
    # 3 epochs unless n x 3 < 100 (then 100 // n, at most 25) or n x 3 > 25,000 (25,000 // n, >= 1)
    assert openai_default_epochs(n) == epochs


def test_hosted_estimate_end_to_end():
    e = hosted_estimate(API, prompt_arms=[ArmUsage("4-shot", "prompt", 300, 1)],
                        finetuned=ArmUsage("ft", "finetune", 60, 1),
                        train_tokens_per_epoch=100_000, epochs=3, requests=10_000)
    assert e.training.usd == pytest.approx(0.9)
    assert [a.usd_per_1k_requests for a in e.arms] == pytest.approx([0.0456, 0.0192])
    assert e.break_even.requests == pytest.approx(34090.909, rel=1e-6)
    assert e.break_even.text == "pays back after 34,091 requests"
    # totals at 10,000 requests: 0.456 for 4-shot; 0.9 + 0.192 for the fine-tuned arm
    assert e.totals() == pytest.approx({"4-shot": 0.456, "ft": 1.092})
    d = e.to_dict()
    from tunewise.report.example_results import example_results
    from tunewise.comparison.schema import validate_results
    r = example_results()
    r["cost"] = d
    r["break_even"] = d["break_even"]
    assert validate_results(r) == []
    assert d["pricing"]["training_per_1m"] == 3.0 and d["break_even"]["never"] is False


def test_hosted_estimate_never():
    # 4-shot costs 110 x 0.15 = 16.5 / 1e6; fine-tuned 100 x 0.30 = 30 / 1e6: never pays back
    e = hosted_estimate(API, prompt_arms=[ArmUsage("4-shot", "prompt", 110, 0)],
                        finetuned=ArmUsage("ft", "finetune", 100, 0),
                        train_tokens_per_epoch=1000, epochs=1)
    assert e.break_even.never and e.break_even.requests is None
    assert e.break_even.saving_per_request == pytest.approx(-1.35e-5)
    assert e.break_even.text.startswith("never")


def test_local_estimate():
    # training 200 x 3 / 2 = 300 s x 0.36/3600 = 0.03; per request 0.36/3600/4 = 2.5e-5 and
    # 0.36/3600/12 = 8.333e-6; break-even 0.03 / 1.6667e-5 = 1800
    e = local_estimate(BOX, model="tiny", prompt_arms=[
        ArmUsage("4-shot", "prompt", 300, 1, examples_per_second=4.0)],
        finetuned=ArmUsage("ft", "finetune", 60, 1, examples_per_second=12.0),
        train_examples=200, epochs=3, train_examples_per_second=2.0)
    assert e.mode == "local" and e.training.seconds == pytest.approx(300)
    assert e.training.usd == pytest.approx(0.03)
    assert e.arms[0].usd_per_request == pytest.approx(2.5e-5)
    assert e.arms[1].usd_per_request == pytest.approx(0.36 / 3600 / 12)
    assert e.break_even.requests == pytest.approx(1800)
    # measured seconds win over the throughput route
    e2 = local_estimate(BOX, model="tiny", prompt_arms=[
        ArmUsage("4-shot", "prompt", examples_per_second=4.0)],
        finetuned=ArmUsage("ft", "finetune", examples_per_second=12.0), train_seconds=3600)
    assert e2.training.usd == pytest.approx(0.36)
    with pytest.raises(UsageError, match="examples/s"):
        local_estimate(BOX, model="tiny", prompt_arms=[ArmUsage("4-shot", "prompt")],
                       finetuned=ArmUsage("ft", "finetune", examples_per_second=1.0),
                       train_seconds=1)
    with pytest.raises(UsageError, match="compute"):
        local_estimate(API, model="tiny", prompt_arms=[], finetuned=ArmUsage("ft", "finetune"))


def _word_counter() -> TokenCounter:
    # 1 token per word; a chat message costs its words + 1
    return TokenCounter("words", "words", lambda s: len(s.split()),
                        lambda msgs: sum(len(m["content"].split()) + 1 for m in msgs))


def _examples():
    rows = [("good fun", "pos"), ("bad film", "neg"), ("great cast", "pos"),
            ("awful plot", "neg"), ("nice music", "pos")]
    return [Example.from_text(t, lab, label=lab) for t, lab in rows]


def test_measure_usage_by_hand():
    task = ClassificationTask(["neg", "pos"], PromptTemplate(system="Label it.", user="{input}"))
    u = measure_usage(_examples(), task, _word_counter(), shots=2, seed=0)
    # zero-shot prompt: system (2 + 1) + user (2 + 1) = 6
    assert u.finetuned.prompt_tokens == 6
    # 2-shot: system 3 + 2 x (user 3 + assistant 2) + user 3 = 16
    assert u.prompted.prompt_tokens == 16 and u.prompted.name == "2-shot"
    assert u.prompted.output_tokens == 1 == u.finetuned.output_tokens   # gold answers: 1 word
    # training: each example = 6-token prompt + 1-token answer; 5 examples
    assert u.train_tokens_per_epoch == 35 and u.n_examples == 5
    u = measure_usage(_examples(), task, _word_counter(), shots=0, output_tokens=7,
                      context=6)
    assert u.prompted.prompt_tokens == 6 and u.prompted.output_tokens == 7
    assert u.over_context == 5 and u.train_tokens_per_epoch == 30      # counted at the limit
    u = measure_usage(_examples(), task, _word_counter(), shots=0,
                      outputs=["pos", "neg because it is bad"])
    assert u.prompted.output_tokens == 3                                 # (1 + 5) / 2
    with pytest.raises(UsageError, match="cannot make 5-shot"):
        measure_usage(_examples(), task, _word_counter(), shots=5)


def test_pick_shots_covers_labels():
    exs = _examples()
    shots = pick_shots(exs, 2, seed=3, gold=lambda e: e.label)
    assert {s.label for s in shots} == {"pos", "neg"}
    assert pick_shots(exs, 3, seed=1) == pick_shots(exs, 3, seed=1)
    assert pick_shots(exs, 0) == []


def test_openai_counter_recipe():
    import bpe_openai
    enc = bpe_openai.get_encoding("o200k_base")
    c = token_counter("gpt-4o-mini")
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]
    expected = 3 + sum(3 + len(enc.encode(m["role"])) + len(enc.encode(m["content"]))
                       for m in msgs)
    assert c.chat(msgs) == expected
    assert c.conversation(msgs, "ok") == expected + len(enc.encode("ok"))


def test_estimate_standalone_hosted(tmp_path):
    user = tmp_path / "p.yaml"
    user.write_text("models:\n  test-model:\n    training: 2.0\n    ft_input: 0.4\n"
                    "    ft_output: 1.6\n    base_input: 0.2\n    base_output: 0.8\n"
                    "    encoding: o200k_base\n    source: test\n    date: '2025-01'\n")
    e = est_mod.estimate(_examples() * 4, model="test-model", shots=2, prices=str(user))
    assert e.mode == "hosted" and e.model == "test-model"
    assert e.training.epochs == 5                      # OpenAI's rule for 20 examples
    p, f = e.arms
    assert p.prompt_tokens > f.prompt_tokens           # the k-shot prompt is longer
    assert p.usd_per_request == pytest.approx((p.prompt_tokens * 0.2 + p.output_tokens * 0.8) / 1e6)
    assert f.usd_per_request == pytest.approx((f.prompt_tokens * 0.4 + f.output_tokens * 1.6) / 1e6)
    assert e.training.usd == pytest.approx(e.training.tokens * 5 * 2.0 / 1e6)
    be = e.break_even
    if be.never:
        assert p.usd_per_request <= f.usd_per_request
    else:
        assert be.requests == pytest.approx(e.training.usd / (p.usd_per_request - f.usd_per_request))
    assert json.loads(json.dumps(e.to_dict()))["arms"][0]["arm"] == "2-shot"


def test_estimate_standalone_local_needs_throughput():
    with pytest.raises(UsageError, match="throughput"):
        est_mod.estimate(_examples(), model="tiny-random", shots=1)
    e = est_mod.estimate(_examples(), model="tiny-random", shots=1, throughput=10,
                         prompt_throughput=5, train_throughput=2, compute="cpu", epochs=2)
    # 5 examples x 2 epochs / 2 per s = 5 s
    assert e.mode == "local" and e.training.seconds == pytest.approx(5.0)
    rate = e.pricing["usd_per_hour"]
    assert e.arms[0].usd_per_request == pytest.approx(rate / 3600 / 5)
    assert e.arms[1].usd_per_request == pytest.approx(rate / 3600 / 10)


def test_unknown_model_did_you_mean():
    with pytest.raises(UnknownNameError, match="gpt-4o-mini"):
        est_mod.estimate(_examples(), model="gpt-4o-mimi")


def test_package_api_is_callable():
    import tunewise
    e = tunewise.cost.estimate(_examples(), shots=1)
    assert e.break_even.versus == "1-shot"


def test_cli_cost(tmp_path, cli):
    data = tmp_path / "train.jsonl"
    rows = [{"messages": [{"role": "user", "content": ex.input},
                          {"role": "assistant", "content": ex.label}]} for ex in _examples() * 4]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    before = data.read_bytes()
    r = cli("cost", "--data", str(data), "--shots", "2", "--epochs", "3", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["training"]["epochs"] == 3 and d["arms"][0]["arm"] == "2-shot"
    saving = d["arms"][0]["usd_per_request"] - d["arms"][1]["usd_per_request"]
    # short texts: a 2-shot call at base prices is cheaper than a fine-tuned call (2x prices)
    assert saving < 0 and d["break_even"]["never"] is True and d["break_even"]["requests"] is None
    r = cli("cost", "--data", str(data), "--shots", "2", "--requests", "5000",
            env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    assert "break-even: never" in r.stdout and "total at 5,000 requests" in r.stdout
    # 16-shot prompts are long enough that the fine-tuned call is cheaper: a finite break-even
    r = cli("cost", "--data", str(data), "--shots", "16", "--epochs", "3", "--json")
    d = json.loads(r.stdout)
    saving = d["arms"][0]["usd_per_request"] - d["arms"][1]["usd_per_request"]
    assert saving > 0 and d["break_even"]["requests"] == pytest.approx(d["training"]["usd"] / saving)
    r = cli("cost", "--data", str(data), "--model", "gpt-4o-mimi")
    assert r.returncode == 2 and "did you mean" in r.stderr and "Traceback" not in r.stderr
    r = cli("cost", "--data", str(data), "--model", "tiny-random")
    assert r.returncode == 2 and "--throughput" in r.stderr
    assert data.read_bytes() == before
