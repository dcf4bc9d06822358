"""The remote arm over real HTTP against `tunewise serve` (openai SDK as the client): same prompts
and accuracy as the local prompt arm, a cached rerun that sends nothing, cost estimate and limit,
and a run killed halfway that repeats no finished request."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.remote_support import body_hash, counting_server
from tests.serve_support import sentiment_examples, tiny_runs
from tunewise.evaluation.arms import ArmResult, arm_class
from tunewise.evaluation.arms.remote import RemoteArm
from tunewise.remote import ClientOptions, CostLimitError, RemotePrice
from tunewise.tasks import ClassificationTask

ROOT = Path(__file__).resolve().parents[1]
TASK = ClassificationTask(["negative", "positive"])
EXAMPLES = sentiment_examples(30, seed=3, offset=500)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tiny_runs(tmp_path_factory.mktemp("remote-runs"))


@pytest.fixture(scope="module")
def server(runs):
    with counting_server(runs) as s:
        yield s


def arm(server, cache, **kw) -> RemoteArm:
    return RemoteArm("a", base_url=server.url + "/v1", cache_dir=cache,
                     options=ClientOptions(concurrency=4, timeout_s=60, backoff_s=0.01), **kw)


def accuracy(preds) -> float:
    return sum(p.pred == p.gold for p in preds) / len(preds)


def test_remote_zero_shot_equals_local_prompt_arm(server, runs, tmp_path):
    from tunewise.evaluation import evaluate
    local = evaluate(EXAMPLES, adapter=str(runs["a"]), progress=False, n_resamples=10)
    result = arm(server, tmp_path).predict(TASK, EXAMPLES, progress=False)
    assert isinstance(result, ArmResult) and result.kind == "remote"
    assert abs(accuracy(result.predictions) - accuracy(local.predictions)) <= 0.01
    # the labels were scored from the server's logprobs, not read from generated text
    assert {p.extra["method"] for p in result.predictions} == {"logprobs"}
    assert all(None not in p.extra["scores"].values() for p in result.predictions)
    # the same Task prompts: the server counted exactly the prompt tokens the local arm ran
    assert [p.tokens_in for p in result.predictions] == \
        [p.tokens_in for p in local.predictions]
    u = result.usage
    assert u["tokens_in"] == sum(p.tokens_in for p in local.predictions)
    assert u["tokens_out"] > 0 and u["requests"] == len(EXAMPLES) and u["cache_hits"] == 0
    assert u["unparseable"] == 0
    assert u["cost_usd"] is None          # a local server's model has no price


def test_generate_scoring_maps_answers_to_labels(server, runs, tmp_path):
    from tunewise.evaluation import evaluate
    local = evaluate(EXAMPLES, adapter=str(runs["a"]), method="generate", progress=False,
                     n_resamples=10)
    result = arm(server, tmp_path, scoring="generate").predict(TASK, EXAMPLES, progress=False)
    assert [p.pred for p in result.predictions] == [p.pred for p in local.predictions]
    assert {p.extra["method"] for p in result.predictions} == {"generate"}


def test_unparseable_answers_count_wrong_and_are_reported(server, tmp_path):
    # the random base model spreads its first token over the whole vocabulary (no label among
    # the top 20) and answers with blank lines: the text decides, names no label, counts wrong
    base = RemoteArm("tiny-random", base_url=server.url + "/v1", cache_dir=tmp_path,
                     options=ClientOptions(backoff_s=0.01))
    result = base.predict(TASK, EXAMPLES[:6], progress=False)
    assert {p.extra["method"] for p in result.predictions} == {"generate"}
    assert result.usage["unparseable"] == sum(p.pred is None for p in result.predictions) > 0
    assert any("6 of 6 answers were read from the generated text" in n for n in result.notes)
    assert any("named no label (counted wrong)" in n for n in result.notes)


def test_rerun_makes_zero_requests(server, tmp_path):
    first = arm(server, tmp_path).predict(TASK, EXAMPLES, progress=False)
    before = server.counter.count
    again = arm(server, tmp_path).predict(TASK, EXAMPLES, progress=False)
    assert server.counter.count == before
    assert again.usage["requests"] == 0 and again.usage["cache_hits"] == len(EXAMPLES)
    assert [p.pred for p in again.predictions] == [p.pred for p in first.predictions]
    assert all(p.extra.get("cached") for p in again.predictions)


def test_cost_estimate_refusal_and_measured_cost(server, tmp_path):
    price = RemotePrice(entry="test", input=2.0, output=8.0, fine_tune=False, source="test",
                        date="2026-11", encoding="o200k_base")
    before = server.counter.count
    with pytest.raises(CostLimitError) as e:
        arm(server, tmp_path, price=price, max_cost_usd=1e-6).predict(TASK, EXAMPLES,
                                                                      progress=False)
    assert server.counter.count == before          # refused before any request
    assert "max_cost_usd" in str(e.value) and "--max-cost" in str(e.value)
    assert e.value.exit_code == 2
    a = arm(server, tmp_path, price=price, max_cost_usd=10.0)
    estimate = a.estimate_cost(TASK, EXAMPLES)
    result = a.predict(TASK, EXAMPLES, progress=False)
    u = result.usage
    assert u["estimated_cost_usd"] == pytest.approx(estimate) and estimate > 0
    assert u["cost_usd"] == pytest.approx((u["tokens_in"] * 2.0 + u["tokens_out"] * 8.0) / 1e6)
    assert u["cost_usd_this_run"] == pytest.approx(u["cost_usd"])
    # rerun: everything cached, nothing to estimate, nothing paid
    again = arm(server, tmp_path, price=price, max_cost_usd=1e-6).predict(TASK, EXAMPLES,
                                                                          progress=False)
    assert again.usage["estimated_cost_usd"] == 0 and again.usage["cost_usd_this_run"] == 0


def test_k_shot_prompts_are_the_tasks(server, tmp_path):
    pool = sentiment_examples(10, seed=9, offset=900)
    a = arm(server, tmp_path, k=2, shots_pool=pool, seed=1)
    reqs = a.requests(TASK, EXAMPLES[:3], logprobs=True)
    from tunewise.prompting.shots import shots_for
    shots = shots_for(EXAMPLES[:3], pool, 2, seed=1)
    assert [r["messages"] for r in reqs] == [TASK.prompt_messages(ex, shots)
                                             for ex in EXAMPLES[:3]]
    assert a.name == "a 2-shot" and arm_class("remote") is RemoteArm


KILLED_RUN = """
import sys, time
from tunewise.evaluation.arms.remote import RemoteArm
from tunewise.remote import ClientOptions
from tunewise.tasks import ClassificationTask
from tests.serve_support import sentiment_examples
examples = sentiment_examples(30, seed=3, offset=500)
arm = RemoteArm("a", base_url=sys.argv[1], cache_dir=sys.argv[2],
                options=ClientOptions(concurrency=1))
arm.predict(ClassificationTask(["negative", "positive"]), examples, progress=False)
"""


def test_killed_run_repeats_no_finished_request(server, tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = server.counter.count
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, server.url + "/v1", str(cache)],
                            env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while len(list(cache.rglob("*.json"))) < 10:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    finished = {body_hash(json.dumps(json.loads(p.read_text())["request"] | {"model": "a"})
                          .encode()) for p in cache.rglob("*.json")}
    assert 10 <= len(finished) < len(EXAMPLES)
    first_run = server.counter.bodies[before:]
    mark = server.counter.count
    result = arm(server, cache).predict(TASK, EXAMPLES, progress=False)
    rerun = server.counter.bodies[mark:]
    assert not finished & set(rerun)                 # no finished request sent again
    assert len(rerun) == len(EXAMPLES) - len(finished)
    assert set(first_run) >= finished                # (the hashes match what the server saw)
    assert result.usage["cache_hits"] == len(finished)
    assert len(result.predictions) == len(EXAMPLES)
