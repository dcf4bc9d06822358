"""Audit L3, L2, M8, L4 and the quiet client disconnect, through real uvicorn on a free port.

L3: a POST must be ``application/json`` (415), and a request must name a host this server
answers to (421): a web page's simple cross-site POST and DNS rebinding fail against a keyless
local server. L2: prompts are built in a worker thread, and a text too long by its length alone
is refused before it is tokenized. M8: an empty completions prompt is answered. L4: /v1/models
holds no absolute path. A client that hangs up mid-body is one quiet log line."""
from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time

import httpx
import pytest

from tests.serve_support import Server

CHAT = "/v1/chat/completions"
BODY = {"model": "tiny-random", "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def served():
    from tunewise.serving import load_served
    return load_served("tiny-random")


@pytest.fixture(scope="module")
def server(served):
    from tunewise.serving import create_app
    with Server(create_app(served=served, allowed_hosts=("box.lan", ".corp.example"))) as s:
        yield s


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None,
                                   "multipart/form-data; boundary=x", "application/jsonx"])
def test_a_post_that_is_not_declared_json_gets_415(server, ctype):
    import json
    headers = {"Content-Type": ctype} if ctype else {}
    r = httpx.post(server.url + CHAT, content=json.dumps(BODY), headers=headers, timeout=60)
    assert r.status_code == 415, r.text
    assert r.json()["error"]["code"] == "unsupported_media_type"
    ok = httpx.post(server.url + CHAT, content=json.dumps(BODY), timeout=60,
                    headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert ok.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "10.1.2.3", "a b", "x@127.0.0.1"])
def test_a_foreign_host_gets_421(server, host):
    r = httpx.get(server.url + "/v1/models", headers={"Host": host}, timeout=30)
    assert r.status_code == 421, r.text
    assert r.json()["error"]["code"] == "invalid_host"
    assert "--allowed-host" in r.text or host in ("a b", "x@127.0.0.1")   # not a host name
    # a browser's simple POST from another site, rebinding to this server
    r = httpx.post(server.url + CHAT, content='{"model": "tiny-random"}', timeout=30,
                   headers={"Host": host, "Content-Type": "text/plain",
                            "Origin": "http://evil.example"})
    assert r.status_code == 421


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST.", "[::1]", "app.localhost",
                                  "box.lan", "corp.example", "gpu.corp.example"])
def test_loopback_names_and_allowed_hosts_are_served(server, host):
    r = httpx.get(server.url + "/v1/models", headers={"Host": f"{host}:{server.port}"},
                  timeout=30)
    assert r.status_code == 200, r.text


def test_models_listing_has_no_absolute_paths(server):
    data = httpx.get(server.url + "/v1/models", timeout=30).json()["data"]
    for card in data:
        for key, value in card.items():
            assert not (isinstance(value, str) and (os.path.isabs(value) or os.sep in value
                                                    and ".cache" in value)), (key, value)
        assert card["root"] == "tiny-random"


def test_an_empty_completions_prompt_starts_from_the_start_token(server):
    c = server.client()
    r = c.completions.create(model="tiny-random", prompt="", max_tokens=3, temperature=0)
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens == 1 and r.usage.completion_tokens >= 1
    r2 = c.completions.create(model="tiny-random", prompt=[""], max_tokens=3, temperature=0)
    assert r2.choices[0].text == r.choices[0].text
    chunks = list(c.completions.create(model="tiny-random", prompt="", max_tokens=3,
                                       temperature=0, stream=True))
    assert "".join(ch.choices[0].text for ch in chunks) == r.choices[0].text


def test_prompts_are_built_off_the_event_loop(server, monkeypatch):
    import tunewise.serving.prompts as prompts
    seen = []
    real = prompts.completion_prompt

    def spy(*a, **kw):
        seen.append(threading.current_thread())
        return real(*a, **kw)

    monkeypatch.setattr(prompts, "completion_prompt", spy)
    r = httpx.post(server.url + "/v1/completions", timeout=60,
                   json={"model": "tiny-random", "prompt": "hello", "max_tokens": 1})
    assert r.status_code == 200 and len(seen) == 1
    assert seen[0] is not server.thread   # uvicorn's event loop runs in server.thread


class _CountingTokenizer:
    """The served tokenizer, counting the calls that tokenize a text."""

    def __init__(self, tok):
        self._tok, self.calls = tok, 0

    def __call__(self, *a, **kw):
        self.calls += 1
        return self._tok(*a, **kw)

    def apply_chat_template(self, *a, **kw):
        self.calls += 1
        return self._tok.apply_chat_template(*a, **kw)

    def __getattr__(self, name):
        return getattr(self._tok, name)

    def __len__(self):
        return len(self._tok)


def test_a_text_too_long_by_its_length_is_refused_before_tokenizing(served):
    from tunewise.serving import create_app
    counting = _CountingTokenizer(served.tokenizer)
    mine = dataclasses.replace(served, tokenizer=counting)
    limit = 2 * served.context_length * served.max_token_chars
    with Server(create_app(served=mine, max_request_bytes=limit + 10_000)) as s:
        for path, body in (("/v1/completions", {"prompt": "a" * (limit + 1)}),
                           (CHAT, {"messages": [{"role": "user", "content": "a" * (limit + 1)}]})):
            counting.calls = 0
            r = httpx.post(s.url + path, json={"model": "tiny-random", **body}, timeout=60)
            assert r.status_code == 400, r.text
            assert r.json()["error"]["code"] == "context_length_exceeded"
            assert counting.calls == 0
        # a normal request is tokenized as before
        r = httpx.post(s.url + CHAT, json=BODY, timeout=60)
        assert r.status_code == 200 and counting.calls >= 1


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_a_client_gone_mid_body_is_one_quiet_log_line(server):
    handler = _Records()
    loggers = [logging.getLogger(n) for n in ("tunewise.serving", "uvicorn.error", "uvicorn")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    try:
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"mo")
            time.sleep(0.3)
        deadline = time.monotonic() + 10
        while not any("disconnected" in r.getMessage() for r in handler.records):
            assert time.monotonic() < deadline, [r.getMessage() for r in handler.records]
            time.sleep(0.05)
        time.sleep(0.3)  # anything else it would log comes now
    finally:
        for lg, level in zip(loggers, levels):
            lg.removeHandler(handler)
            lg.setLevel(level)
    assert not [r for r in handler.records if r.exc_info or r.levelno >= logging.ERROR]
    assert len([r for r in handler.records if "disconnected" in r.getMessage()]) == 1
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200
