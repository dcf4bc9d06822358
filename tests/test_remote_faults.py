"""A fault-injecting proxy (real HTTP) between the remote arm and `tunewise serve`: 429 with
Retry-After, 500, dropped connections, slow answers past the timeout, malformed JSON and a wrong
content type. Transient faults: the same predictions as a clean run. Persistent faults: a typed
error naming what the server did, with every finished response kept in the cache."""
from __future__ import annotations

import pytest

from tests.remote_support import CountingApp, FaultProxy
from tests.serve_support import Server, sentiment_examples
from tunewise.evaluation.arms.remote import RemoteArm
from tunewise.remote import (ClientOptions, RemoteProtocolError, RemoteRetriesExhausted)
from tunewise.tasks import ClassificationTask

TASK = ClassificationTask(["negative", "positive"])
EXAMPLES = sentiment_examples(8, seed=4, offset=700)


@pytest.fixture(scope="module")
def server():
    from tunewise.serving import create_app
    app = CountingApp(create_app(model="tiny-random"))
    with Server(app) as s:
        s.counter = app
        yield s


def run(url, cache, *, scoring="generate", retries=8, timeout=1.0, concurrency=1, n=None):
    arm = RemoteArm("tiny-random", base_url=url + "/v1", cache_dir=cache, scoring=scoring,
                    max_tokens=4,
                    options=ClientOptions(concurrency=concurrency, timeout_s=timeout,
                                          max_retries=retries, backoff_s=0.01,
                                          max_backoff_s=2.0))
    return arm, arm.predict(TASK, EXAMPLES[:n] if n else EXAMPLES, progress=False)


@pytest.fixture(scope="module")
def clean(server, tmp_path_factory):
    _, result = run(server.url, tmp_path_factory.mktemp("clean"))
    return [(p.raw, p.pred, p.tokens_in) for p in result.predictions]


def test_transient_faults_give_the_same_predictions(server, clean, tmp_path):
    faults = ["429", "500", "drop", "slow", "malformed", "ctype"]
    with FaultProxy(server.url, faults, slow_s=8.0) as proxy:
        arm, result = run(proxy.url, tmp_path, timeout=4.0)
    assert proxy.seen[:6] == faults                       # every fault was served
    assert [(p.raw, p.pred, p.tokens_in) for p in result.predictions] == clean
    causes = result.usage["retry_causes"]
    # one retry per fault (a busy machine may add a timeout of a healthy answer)
    assert result.usage["retries"] == sum(causes.values()) >= 6
    assert causes.get("HTTP 429") == 1 and causes.get("HTTP 500") == 1
    assert causes.get("timeout", 0) >= 1 and causes.get("malformed answer") == 2
    assert causes.get("connection dropped") == 1
    # Retry-After: 1 was honoured (the other waits are the short test backoff)
    assert max(arm.client.stats.waits_s) >= 1.0
    assert any("retried request(s)" in n for n in result.notes)


def test_concurrent_requests_through_faults(server, clean, tmp_path):
    faults = lambda n: ["429", "500", "drop", "ok"][n % 4] if n < 12 else "ok"  # noqa: E731
    with FaultProxy(server.url, faults) as proxy:
        _, result = run(proxy.url, tmp_path, concurrency=4, timeout=30.0)
    assert [(p.raw, p.pred, p.tokens_in) for p in result.predictions] == clean


@pytest.mark.parametrize("fault, error, says", [
    ("500", RemoteRetriesExhausted, "HTTP 500: boom"),
    ("429", RemoteRetriesExhausted, "HTTP 429: rate limited"),
    ("malformed", RemoteProtocolError, "not valid JSON"),
    ("ctype", RemoteProtocolError, "content type 'text/html'"),
    ("drop", RemoteRetriesExhausted, "connection dropped"),
    ("slow", RemoteRetriesExhausted, "timeout: no answer within 3 s"),
])
def test_persistent_fault_stops_with_a_clear_message_and_loses_nothing(
        server, clean, tmp_path, fault, error, says):
    # 3 good answers, then the server keeps failing in one way
    with FaultProxy(server.url, lambda n: "ok" if n < 3 else fault, slow_s=6.0) as proxy:
        with pytest.raises(error) as e:
            run(proxy.url, tmp_path, retries=2, timeout=3.0 if fault == "slow" else 30.0)
    assert says in str(e.value) and e.value.fix
    assert e.value.exit_code == 1
    assert proxy.seen.count(fault) == 3                   # first try + 2 retries
    # nothing lost: once the server is healthy again (same base URL, so the same cache), the
    # rerun asks only what had not finished
    # (counted at the proxy: a "slow" request the client gave up on may still reach the server)
    with FaultProxy(server.url, port=proxy.port) as healthy:
        _, result = run(healthy.url, tmp_path, timeout=30.0)
    assert len(healthy.seen) == result.usage["requests"] == len(EXAMPLES) - 3
    assert result.usage["cache_hits"] == 3
    assert [(p.raw, p.pred, p.tokens_in) for p in result.predictions] == clean


def test_answers_without_token_usage_leave_the_cost_unknown(server, tmp_path):
    from tunewise.remote import RemotePrice
    price = RemotePrice(entry="test", input=1.0, output=1.0, fine_tune=False, source="test",
                        date="2026-11")
    with FaultProxy(server.url, lambda n: "no_usage" if n < 2 else "ok") as proxy:
        arm = RemoteArm("tiny-random", base_url=proxy.url + "/v1", cache_dir=tmp_path,
                        scoring="generate", max_tokens=4, price=price,
                        options=ClientOptions(concurrency=1, backoff_s=0.01))
        result = arm.predict(TASK, EXAMPLES, progress=False)
    assert result.usage["responses_without_usage"] == 2
    assert result.usage["cost_usd"] is None          # not a too-low number
    assert any("carried no token usage" in n for n in result.notes)
