"""`tunewise serve` through the official openai SDK against a real uvicorn server: models list,
chat (plain, streamed), completions, logprobs, auth, adapters chosen by name / run id /
base:adapter, mixed-adapter concurrency, and a client that hangs up mid-stream."""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tests.serve_support import Server, tiny_runs

MSG = [{"role": "user", "content": "a superb film, take 3"}]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return tiny_runs(tmp_path_factory.mktemp("serve-runs"))


@pytest.fixture(scope="module")
def served(runs):
    from tunewise.serving import load_served
    return load_served("tiny-random", {"a": str(runs["a"]), "b": str(runs["b"])})


@pytest.fixture(scope="module")
def server(served):
    from tunewise.serving import create_app
    with Server(create_app(served=served, max_batch=8, batch_wait_ms=20)) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    return server.client()


def test_models_list_has_base_and_adapters_with_lineage(client, runs):
    models = {m.id: m for m in client.models.list().data}
    assert set(models) == {"tiny-random", "a", "b"}
    base = models["tiny-random"].model_dump()
    assert base["parent"] is None and base["owned_by"] == "tunewise"
    a = models["a"].model_dump()
    assert a["parent"] == "tiny-random" and a["root"] == f"{runs['a'].name}/adapter"
    assert a["run_dir"] == runs["a"].name  # no absolute paths (audit L4)


def test_chat_plain_greedy_is_deterministic_and_counts_tokens(client, served):
    r1 = client.chat.completions.create(model="a", messages=MSG, temperature=0)
    r2 = client.chat.completions.create(model="a", messages=MSG, temperature=0)
    assert r1.object == "chat.completion" and r1.model == "a"
    c = r1.choices[0]
    assert c.message.role == "assistant" and c.message.content
    assert c.message.content == r2.choices[0].message.content
    assert c.finish_reason in ("stop", "length")
    # usage: the prompt as the run's task renders it, counted with the model's tokenizer
    from tunewise.data.records import Example
    from tunewise.tasks.render import encode_prompt
    task = served.adapters[0].task
    prompt = encode_prompt(served.tokenizer, task.prompt_messages(Example.from_text(MSG[0]["content"])))
    assert r1.usage.prompt_tokens == len(prompt)
    assert r1.usage.total_tokens == r1.usage.prompt_tokens + r1.usage.completion_tokens
    if c.finish_reason == "length":  # the task's eval budget applies when max_tokens is absent
        from tunewise.prompting.predict import default_max_new_tokens
        assert r1.usage.completion_tokens == default_max_new_tokens(task, served.tokenizer)


def test_streamed_chat_equals_plain_and_ends_with_usage(client, server):
    plain = client.chat.completions.create(model="b", messages=MSG, temperature=0, max_tokens=12)
    chunks = list(client.chat.completions.create(
        model="b", messages=MSG, temperature=0, max_tokens=12, stream=True,
        stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == plain.choices[0].message.content
    finals = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finals == [plain.choices[0].finish_reason]
    assert not chunks[-1].choices and chunks[-1].usage.model_dump() == {
        **plain.usage.model_dump()}
    assert all(ch.usage is None for ch in chunks[:-1])
    # the raw stream is server-sent events ending in [DONE]
    raw = httpx.post(server.url + "/v1/chat/completions", timeout=60, json={
        "model": "b", "messages": MSG, "temperature": 0, "max_tokens": 3, "stream": True})
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = [x for x in raw.text.split("\n\n") if x]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"


def test_completions_plain_stream_and_logprobs(client):
    r = client.completions.create(model="tiny-random", prompt="The movie was", max_tokens=5,
                                  temperature=0, logprobs=3)
    c = r.choices[0]
    assert r.object == "text_completion" and r.usage.prompt_tokens > 0
    lp = c.logprobs
    assert len(lp.tokens) == r.usage.completion_tokens == len(lp.token_logprobs)
    assert "".join(lp.tokens).startswith(c.text) or c.finish_reason == "stop"
    for tok, val, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
        assert len(top) == 3 and val <= 0
        assert max(top.values()) == pytest.approx(val, abs=1e-5)  # greedy picks the top token
    streamed = "".join(ch.choices[0].text for ch in client.completions.create(
        model="tiny-random", prompt="The movie was", max_tokens=5, temperature=0, stream=True))
    assert streamed == c.text
    # OpenAI's default budget for /v1/completions is 16 tokens
    d = client.completions.create(model="tiny-random", prompt="The movie was", temperature=0)
    assert d.usage.completion_tokens <= 16


def test_chat_logprobs_are_a_distribution(client):
    r = client.chat.completions.create(model="a", messages=MSG, temperature=0, max_tokens=4,
                                       logprobs=True, top_logprobs=5)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    for entry in content:
        tops = entry.top_logprobs
        assert len(tops) == 5 and tops[0].logprob == pytest.approx(entry.logprob, abs=1e-5)
        assert [t.logprob for t in tops] == sorted((t.logprob for t in tops), reverse=True)
        assert sum(math.exp(t.logprob) for t in tops) <= 1.0 + 1e-5
        assert entry.bytes == list(entry.token.encode("utf-8"))
    plain = client.chat.completions.create(model="a", messages=MSG, temperature=0, max_tokens=4)
    assert plain.choices[0].logprobs is None


def test_sampling_with_a_seed_repeats(client):
    kw = dict(model="tiny-random", messages=MSG, temperature=1.5, top_p=0.95, max_tokens=8)
    a = client.chat.completions.create(seed=7, **kw).choices[0].message.content
    b = client.chat.completions.create(seed=7, **kw).choices[0].message.content
    others = {client.chat.completions.create(seed=s, **kw).choices[0].message.content
              for s in (1, 2, 3)}
    assert a == b
    assert len(others | {a}) > 1  # sampling really samples on the near-uniform tiny model


def test_adapter_is_chosen_by_name_run_dir_and_base_prefix(client, runs):
    by_name = client.chat.completions.create(model="a", messages=MSG, temperature=0, max_tokens=6,
                                             logprobs=True)
    by_base = client.chat.completions.create(model="tiny-random:a", messages=MSG, temperature=0,
                                             max_tokens=6, logprobs=True)
    by_dir = client.chat.completions.create(model=str(runs["a"]), messages=MSG, temperature=0,
                                            max_tokens=6, logprobs=True)
    base = client.chat.completions.create(model="tiny-random", messages=MSG, temperature=0,
                                          max_tokens=6, logprobs=True)
    lps = lambda r: [e.logprob for e in r.choices[0].logprobs.content]  # noqa: E731
    assert lps(by_name) == pytest.approx(lps(by_base), abs=1e-6)
    assert lps(by_name) == pytest.approx(lps(by_dir), abs=1e-6)
    assert lps(base)[0] != pytest.approx(lps(by_name)[0], abs=1e-3)  # the adapter is applied


def test_adapter_is_found_by_run_id(runs, served):
    from tunewise.serving import create_app
    from tunewise.store import record_run
    rid = record_run(runs["b"]).id
    from tunewise.serving import load_served
    s2 = load_served(None, [f"bee={rid}"])
    assert s2.base.id == "tiny-random" and s2.adapters[0].run_id == rid
    assert s2.resolve(rid).id == "bee" and s2.resolve(rid[:8]).id == "bee"
    assert create_app(served=s2) is not None


def test_mixed_adapter_concurrent_answers_equal_sequential(client, server):
    texts = [f"a {w} movie, take {i}" for i, w in enumerate(["great", "dull", "fine", "bad"] * 3)]
    jobs = [(m, t) for t in texts for m in ("a", "b", "tiny-random")]

    def ask(job):
        m, t = job
        r = client.chat.completions.create(model=m, temperature=0, max_tokens=6, logprobs=True,
                                           messages=[{"role": "user", "content": t}])
        return (r.choices[0].message.content,
                [round(e.logprob, 3) for e in r.choices[0].logprobs.content])

    sequential = [ask(j) for j in jobs]
    before = httpx.get(server.url + "/health").json()
    with ThreadPoolExecutor(12) as pool:
        concurrent = list(pool.map(ask, jobs))
    after = httpx.get(server.url + "/health").json()
    assert [c[0] for c in concurrent] == [s[0] for s in sequential]
    for (_, lc), (_, ls) in zip(concurrent, sequential):
        assert lc == pytest.approx(ls, abs=2e-3)
    # the three models really answer differently, so a mix-up would show
    assert len({tuple(s[1]) for s in sequential[:3]}) == 3
    # and the requests really were batched
    assert after["max_batch_seen"] > 1
    assert after["batches"] - before["batches"] < len(jobs)


def test_client_that_disconnects_mid_stream_frees_its_slot(server, client):
    before = httpx.get(server.url + "/health").json()["cancelled"]
    with httpx.Client(timeout=60) as c:
        with c.stream("POST", server.url + "/v1/chat/completions", json={
                "model": "tiny-random", "messages": MSG, "temperature": 0, "max_tokens": 1000,
                "stream": True}) as r:
            for line in r.iter_lines():
                if '"content"' in line and '"content": ""' not in line:
                    break  # one real token arrived: hang up
    deadline = time.monotonic() + 30
    while httpx.get(server.url + "/health").json()["cancelled"] <= before:
        assert time.monotonic() < deadline, "the abandoned request kept running"
        time.sleep(0.1)
    # the server goes on answering
    r = client.chat.completions.create(model="a", messages=MSG, temperature=0, max_tokens=2)
    assert r.choices[0].message.content is not None


def test_auth_on_and_off(served):
    from tunewise.serving import create_app
    with Server(create_app(served=served, api_key="s3cret-key")) as s:
        with pytest.raises(openai.AuthenticationError) as e:
            s.client(api_key="wrong").models.list()
        assert e.value.status_code == 401 and e.value.body["code"] == "invalid_api_key"
        r = httpx.get(s.url + "/v1/models")
        assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_request_error"
        assert httpx.get(s.url + "/v1/models",
                         headers={"Authorization": "Basic s3cret-key"}).status_code == 401
        assert httpx.post(s.url + "/v1/chat/completions", json={
            "model": "a", "messages": MSG}).status_code == 401
        ok = s.client(api_key="s3cret-key")
        assert {m.id for m in ok.models.list().data} == {"tiny-random", "a", "b"}
        assert ok.chat.completions.create(model="a", messages=MSG, max_tokens=2).choices
        assert httpx.get(s.url + "/health").status_code == 200  # health needs no key


def test_binds_loopback_by_default():
    from tunewise.serving import ServeConfig
    assert ServeConfig().host == "127.0.0.1"


def test_api_key_env_must_be_set(monkeypatch):
    from tunewise.errors import UsageError
    from tunewise.serving.app import api_key_from_env
    monkeypatch.delenv("TW_TEST_KEY", raising=False)
    with pytest.raises(UsageError, match="TW_TEST_KEY"):
        api_key_from_env("TW_TEST_KEY")
    monkeypatch.setenv("TW_TEST_KEY", "k")
    assert api_key_from_env("TW_TEST_KEY") == "k" and api_key_from_env(None) is None
