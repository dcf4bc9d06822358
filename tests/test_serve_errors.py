"""Malformed requests get the right status and OpenAI's error JSON (never a stack trace), and
the server keeps serving after each of them."""
from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.serve_support import Server

OK = [{"role": "user", "content": "hello"}]
CHAT = "/v1/chat/completions"
COMP = "/v1/completions"


@pytest.fixture(scope="module")
def server():
    from tunewise.serving import create_app
    app = create_app("tiny-random", max_tokens_limit=64, max_request_bytes=50_000)
    with Server(app) as s:
        yield s


def chat(**kw):
    return json.dumps({"model": "tiny-random", "messages": OK, "max_tokens": 2, **kw})


# (name, method, path, raw body, status, param or None, code or None)
CASES = [
    ("bad json", "POST", CHAT, '{"model": ', 400, None, "invalid_json"),
    ("empty body", "POST", CHAT, "", 400, None, "invalid_json"),
    ("not an object", "POST", CHAT, "[1, 2]", 422, None, None),
    ("missing model", "POST", CHAT, json.dumps({"messages": OK}), 422, "model", "missing"),
    ("missing messages", "POST", CHAT, json.dumps({"model": "tiny-random"}), 422, "messages",
     "missing"),
    ("messages not a list", "POST", CHAT, chat(messages="hi"), 422, "messages", None),
    ("messages empty", "POST", CHAT, chat(messages=[]), 422, "messages", None),
    ("message not an object", "POST", CHAT, chat(messages=["hi"]), 422, "messages.0", None),
    ("message without role", "POST", CHAT, chat(messages=[{"content": "x"}]), 422,
     "messages.0.role", "missing"),
    ("unknown role", "POST", CHAT, chat(messages=[{"role": "wizard", "content": "x"}]), 422,
     "messages.0.role", None),
    ("content a number", "POST", CHAT, chat(messages=[{"role": "user", "content": 12}]), 422,
     None, None),
    ("max_tokens a word", "POST", CHAT, chat(max_tokens="ten"), 422, "max_tokens", None),
    ("max_tokens a numeric string", "POST", CHAT, chat(max_tokens="10"), 422, "max_tokens", None),
    ("negative max_tokens", "POST", CHAT, chat(max_tokens=-5), 422, "max_tokens",
     "greater_than_equal"),
    ("zero max_tokens", "POST", CHAT, chat(max_tokens=0), 422, "max_tokens", None),
    ("max_tokens over the limit", "POST", CHAT, chat(max_tokens=100_000), 400, "max_tokens",
     "invalid_value"),
    ("max_completion_tokens over the limit", "POST", CHAT, chat(max_completion_tokens=65), 400,
     "max_completion_tokens", "invalid_value"),
    ("temperature too high", "POST", CHAT, chat(temperature=5), 422, "temperature", None),
    ("temperature a word", "POST", CHAT, chat(temperature="hot"), 422, "temperature", None),
    ("top_p zero", "POST", CHAT, chat(top_p=0), 422, "top_p", None),
    ("huge n", "POST", CHAT, chat(n=1000), 422, "n", None),
    ("n=2", "POST", CHAT, chat(n=2), 400, "n", "unsupported_value"),
    ("five stop strings", "POST", CHAT, chat(stop=["a", "b", "c", "d", "e"]), 422, "stop", None),
    ("empty stop string", "POST", CHAT, chat(stop=[""]), 400, "stop", "invalid_value"),
    ("logprobs a string", "POST", CHAT, chat(logprobs="yes"), 422, "logprobs", None),
    ("top_logprobs too many", "POST", CHAT, chat(logprobs=True, top_logprobs=50), 422,
     "top_logprobs", None),
    ("top_logprobs without logprobs", "POST", CHAT, chat(top_logprobs=2), 400, "top_logprobs",
     "invalid_value"),
    ("seed a string", "POST", CHAT, chat(seed="x"), 422, "seed", None),
    ("unknown parameter", "POST", CHAT, chat(frobnicate=1), 422, "frobnicate",
     "extra_forbidden"),
    ("penalty not implemented", "POST", CHAT, chat(presence_penalty=1.0), 400,
     "presence_penalty", "unsupported_value"),
    ("image content", "POST", CHAT, chat(messages=[{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]), 400,
     "messages.0.content.0", "unsupported_value"),
    ("tool message", "POST", CHAT, chat(messages=[{"role": "tool", "content": "x",
                                                   "tool_call_id": "1"}]), 400,
     "messages.0.role", "unsupported_value"),
    ("stream_options without stream", "POST", CHAT,
     chat(stream_options={"include_usage": True}), 400, "stream_options", "invalid_value"),
    ("json output asked", "POST", CHAT, chat(response_format={"type": "json_object"}), 400,
     "response_format", "unsupported_value"),
    ("unknown model", "POST", CHAT, chat(model="gpt-4o"), 404, "model", "model_not_found"),
    ("unknown adapter after base:", "POST", CHAT, chat(model="tiny-random:nope"), 404, "model",
     "model_not_found"),
    ("input longer than the context", "POST", CHAT,
     chat(messages=[{"role": "user", "content": "word " * 3000}]), 400, "messages",
     "context_length_exceeded"),
    ("body over the size limit", "POST", CHAT,
     chat(messages=[{"role": "user", "content": "x" * 60_000}]), 413, None, "request_too_large"),
    ("completions without prompt", "POST", COMP, json.dumps({"model": "tiny-random"}), 422,
     "prompt", "missing"),
    ("completions with two prompts", "POST", COMP,
     json.dumps({"model": "tiny-random", "prompt": ["a", "b"]}), 400, "prompt",
     "unsupported_value"),
    ("completions echo", "POST", COMP, json.dumps({"model": "tiny-random", "prompt": "a",
                                                   "echo": True}), 400, "echo", None),
    ("completions token id out of range", "POST", COMP,
     json.dumps({"model": "tiny-random", "prompt": [1, 99_999_999]}), 400, "prompt", None),
    ("completions logprobs too many", "POST", COMP,
     json.dumps({"model": "tiny-random", "prompt": "a", "logprobs": 10}), 422, "logprobs", None),
    ("wrong method", "GET", CHAT, None, 405, None, "method_not_allowed"),
    ("unknown endpoint", "POST", "/v1/embeddings", chat(), 404, None, "unknown_url"),
    ("unknown model detail", "GET", "/v1/models/nope", None, 404, "model", "model_not_found"),
]


def test_there_are_at_least_25_cases():
    assert len(CASES) >= 25


@pytest.mark.parametrize("name,method,path,body,status,param,code", CASES,
                         ids=[c[0] for c in CASES])
def test_malformed_request_is_answered_in_openai_shape(server, name, method, path, body, status,
                                                       param, code):
    r = httpx.request(method, server.url + path, content=body, timeout=60,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert "Traceback" not in r.text and 'File "' not in r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and len(err["message"]) > 5
    assert err["type"] == "invalid_request_error"
    if param is not None:
        assert err["param"] == param
    if code is not None:
        assert err["code"] == code
    # ... and the server goes on answering
    ok = httpx.post(server.url + CHAT, content=chat(temperature=0), timeout=60,
                    headers={"Content-Type": "application/json"})
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["role"] == "assistant"


def test_sdk_raises_its_typed_errors(server):
    c = server.client()
    with pytest.raises(openai.BadRequestError) as e:
        c.chat.completions.create(model="tiny-random", messages=OK, n=3)
    assert e.value.body["param"] == "n"
    with pytest.raises(openai.NotFoundError):
        c.chat.completions.create(model="no-such-model", messages=OK)
    with pytest.raises(openai.UnprocessableEntityError):
        c.chat.completions.create(model="tiny-random", messages=OK, max_tokens=-1)
    assert c.chat.completions.create(model="tiny-random", messages=OK, max_tokens=1).choices


def test_declared_content_length_over_the_limit_is_refused_before_reading(server):
    import socket  # httpx sets Content-Length itself: speak HTTP by hand
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{")
        raw = b""
        while b"}}" not in raw:  # headers and body may come in separate packets
            part = s.recv(65536)
            if not part:
                break
            raw += part
        data = raw.decode("utf-8", "replace")
    assert data.startswith("HTTP/1.1 413")
    assert '"request_too_large"' in data


def test_adapter_refuses_a_trailing_assistant_message(tmp_path_factory):
    from tests.serve_support import tiny_runs
    from tunewise.serving import create_app
    runs = tiny_runs(tmp_path_factory.mktemp("err-runs"))
    with Server(create_app(adapters={"a": str(runs["a"])})) as s:
        r = httpx.post(s.url + CHAT, timeout=60, json={"model": "a", "messages": [
            {"role": "user", "content": "x"}, {"role": "assistant", "content": "pos"}]})
        assert r.status_code == 400 and r.json()["error"]["param"] == "messages.1.role"
        r = httpx.post(s.url + CHAT, timeout=60, json={"model": "a", "max_tokens": 2,
                                                       "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 200


def test_bad_adapter_is_a_clear_error_naming_the_run(tmp_path):
    from tunewise.errors import TunewiseError
    from tunewise.serving import load_served
    with pytest.raises(TunewiseError, match="not a tunewise run directory"):
        load_served("tiny-random", {"x": str(tmp_path)})
    run = tmp_path / "run"
    (run / "adapter").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"status": "running", "model": "tiny-random",
                                              "method": "lora"}))
    with pytest.raises(TunewiseError, match=r"adapter 'x' \(run .*run\).*not finished"):
        load_served("tiny-random", {"x": str(run)})
    (run / "run.json").write_text(json.dumps({"status": "done", "model": "tiny-random",
                                              "method": "full"}))
    with pytest.raises(TunewiseError, match="not a LoRA adapter"):
        load_served("tiny-random", {"x": str(run)})
    (run / "run.json").write_text(json.dumps({"status": "done", "model": "smollm2-135m-instruct",
                                              "method": "lora"}))
    with pytest.raises(TunewiseError, match="trained on base model 'smollm2-135m-instruct'"):
        load_served("tiny-random", {"x": str(run)})
    with pytest.raises(TunewiseError, match="NAME=RUN"):
        load_served("tiny-random", ["=nothing"])
