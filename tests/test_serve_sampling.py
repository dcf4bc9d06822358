"""Audit H1: one request with an extreme temperature or top_p must not fail its batch.

Sampling is numerically safe for every value the schema accepts, and a failure while decoding
one row fails that row only: the other requests of the batch get 200 and their streams end with
[DONE]. Through real HTTP (uvicorn on a free port), with the requests sent at the same moment into
a wide batch window so that they share one batch."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import torch

from tests.serve_support import Server

CHAT = "/v1/chat/completions"
OK = {"model": "tiny-random", "temperature": 0, "max_tokens": 24,
      "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def server():
    from tunewise.serving import create_app
    # a 300 ms window: nine requests fired together land in one batch even on a busy machine
    with Server(create_app("tiny-random", max_batch=16, batch_wait_ms=300)) as s:
        yield s


async def _stream(c: httpx.AsyncClient, url: str, body: dict) -> list[str]:
    async with c.stream("POST", url, json={**body, "stream": True}) as r:
        assert r.status_code == 200
        return [line async for line in r.aiter_lines() if line]


async def _batch(url: str, bad: dict, n_ok: int = 8):
    async with httpx.AsyncClient(timeout=120) as c:
        return await asyncio.gather(*[c.post(url + CHAT, json=OK) for _ in range(n_ok)],
                                    c.post(url + CHAT, json=bad), _stream(c, url + CHAT, OK))


@pytest.mark.parametrize("bad", [{"temperature": 1e-300}, {"temperature": 1e-40},
                                 {"temperature": 5e-324},
                                 {"temperature": 1, "top_p": 1e-300},
                                 {"temperature": 2, "top_p": 5e-324, "seed": 3}],
                         ids=["t1e-300", "t1e-40", "t-subnormal", "top_p1e-300", "top_p-subnormal"])
def test_extreme_sampling_values_answer_and_do_not_fail_the_batch(server, bad):
    before = httpx.get(server.url + "/health").json()
    *oks, odd, stream = asyncio.run(_batch(server.url, {**OK, **bad}))
    assert [r.status_code for r in oks] == [200] * 8, oks[0].text
    texts = {r.json()["choices"][0]["message"]["content"] for r in oks}
    assert len(texts) == 1                      # greedy: the same answer for the same prompt
    assert odd.status_code == 200, odd.text     # the odd one is answered too (near-greedy)
    assert odd.json()["usage"]["completion_tokens"] >= 1
    assert stream[-1] == "data: [DONE]" and not any('"error"' in x for x in stream)
    after = httpx.get(server.url + "/health").json()
    assert after["errors"] == before["errors"]
    assert after["batches"] - before["batches"] < 10   # they really shared batches


def test_a_row_that_fails_fails_alone(server, monkeypatch):
    """A failure inside one row's token choice (a bug, bad numbers): that request gets 500 (its
    stream an error event, then [DONE]); the others of the batch are answered normally."""
    from tunewise.serving.decode import Decoder

    def choose(logits, params, gen):
        if params.temperature == 1.25:          # the marked request
            raise RuntimeError("injected failure for one row")
        return int(torch.argmax(logits))        # every other request here is greedy

    monkeypatch.setattr(Decoder, "_choose", staticmethod(choose))
    bad = {**OK, "temperature": 1.25}

    async def go():
        async with httpx.AsyncClient(timeout=120) as c:
            return await asyncio.gather(*[c.post(server.url + CHAT, json=OK) for _ in range(4)],
                                        c.post(server.url + CHAT, json=bad),
                                        _stream(c, server.url + CHAT, OK),
                                        _stream(c, server.url + CHAT, bad))

    *oks, odd, good_stream, bad_stream = asyncio.run(go())
    assert [r.status_code for r in oks] == [200] * 4
    assert odd.status_code == 500
    assert odd.json()["error"]["code"] == "internal_error" and "Traceback" not in odd.text
    assert good_stream[-1] == "data: [DONE]" and not any('"error"' in x for x in good_stream)
    assert bad_stream[-1] == "data: [DONE]"
    err = json.loads(bad_stream[-2][len("data: "):])["error"]
    assert err["code"] == "internal_error"


def test_a_forward_pass_that_fails_is_retried_row_by_row(server, monkeypatch):
    """When the batched forward pass itself fails, the jobs are decoded again one at a time:
    only the one that fails alone gets the error."""
    decoder = server.app.state.tunewise.engine.decoder
    real = decoder.model
    MARK = 12345

    def model(**kw):
        if (kw["input_ids"] == MARK).any():
            raise RuntimeError("injected failure of a forward pass")
        return real(**kw)

    monkeypatch.setattr(decoder, "model", model)
    url = server.url + "/v1/completions"
    body = {"model": "tiny-random", "prompt": "The film was", "max_tokens": 6, "temperature": 0}
    alone = httpx.post(url, json=body, timeout=60).json()["choices"][0]["text"]

    async def go():
        async with httpx.AsyncClient(timeout=120) as c:
            return await asyncio.gather(*[c.post(url, json=body) for _ in range(4)],
                                        c.post(url, json={**body, "prompt": [7, MARK, 9]}),
                                        _stream(c, url, body))

    before = httpx.get(server.url + "/health").json()
    *oks, odd, stream = asyncio.run(go())
    after = httpx.get(server.url + "/health").json()
    assert [r.status_code for r in oks] == [200] * 4
    assert {r.json()["choices"][0]["text"] for r in oks} == {alone}
    assert odd.status_code == 500 and odd.json()["error"]["code"] == "internal_error"
    assert stream[-1] == "data: [DONE]" and not any('"error"' in x for x in stream)
    assert after["errors"] - before["errors"] == 1


@pytest.mark.parametrize("temperature,top_p", [(1e-300, 1.0), (1e-40, 0.5), (2.0, 1e-300),
                                               (2.0, 5e-324), (1e-5, 1e-300), (0.7, 0.9)])
def test_choose_token_is_finite_for_every_accepted_value(temperature, top_p):
    from tunewise.serving.sampling import SamplingParams, choose_token
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(1000) * 30
    logits[17] = 200.0
    params = SamplingParams(max_tokens=1, temperature=temperature, top_p=top_p)
    tok = choose_token(logits, params, g)
    assert 0 <= tok < 1000
    if temperature < 1e-3 or top_p < 1e-3:
        assert tok == 17                         # near-greedy or a one-token nucleus
