"""The rules behind the remote hardening (issue #23), one function each, without HTTP: which key
goes to which host, how a URL is redacted, the one file-name slug, the cost-limit rounding, the
response shape, the cache's treatment of bad entries and the wall-clock deadline."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from tunewise.fileio import safe_filename
from tunewise.remote import ResponseCache, parse_model_spec
from tunewise.remote.deadline import DeadlineExceeded, call
from tunewise.remote.pricing import dollars, suggested_limit
from tunewise.remote.response_shape import completion_problem, message_text
from tunewise.remote.urls import redact_url

GOOD = {"choices": [{"message": {"content": "positive"}}], "usage": {"prompt_tokens": 3}}


@pytest.mark.parametrize("model, base_url, env", [
    ("openai:gpt-4.1-mini", None, "OPENAI_API_KEY"),
    ("openai:gpt-4.1-mini", "https://api.openai.com/v1", "OPENAI_API_KEY"),
    ("gpt-4.1-mini", "https://API.openai.com/v1/", "OPENAI_API_KEY"),
    ("openai:gpt-4.1-mini", "http://api.openai.com/v1", None),        # not https
    ("openai:gpt-4.1-mini", "https://proxy.example.com/v1", None),
    ("gpt-4.1-mini", "https://api.openai.com.evil.example/v1", None),
    ("gpt-4.1-mini", "https://evil.example/v1?host=api.openai.com", None),
    ("qwen", "http://127.0.0.1:8000/v1", None),
])
def test_a_providers_key_goes_only_to_its_own_host(monkeypatch, model, base_url, env):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-0123456789")
    spec = parse_model_spec(model, base_url=base_url)
    assert spec.api_key_env == env
    assert spec.api_key() == ("sk-secret-0123456789" if env else "none")
    named = parse_model_spec(model, base_url=base_url, api_key_env="OPENAI_API_KEY")
    assert named.api_key() == "sk-secret-0123456789"               # named: sent anywhere


@pytest.mark.parametrize("url, shown", [
    ("http://user:hunter2@h:8000/v1", "http://***@h:8000/v1"),
    ("https://h/v1?api_key=abc&version=2&access_token=t", "https://h/v1?api_key=***&version=2"
                                                          "&access_token=***"),
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ("http://u:p@[::1/v1?token=zz", "http://***"),                  # does not parse
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_spec_records_and_shows_the_redacted_url():
    spec = parse_model_spec("m", base_url="http://user:hunter2@h:8000/v1")
    assert spec.base_url == "http://user:hunter2@h:8000/v1"          # used for the request
    assert "hunter2" not in json.dumps(spec.to_dict()) and "hunter2" not in spec.redacted_url


@pytest.mark.parametrize("text, slug", [
    ("../../victim", "__.._victim"), ("served a", "served_a"), ("..", "_"), ("", "_"),
    ("/etc/passwd", "_etc_passwd"), ("a\x00b", "a_b"), ("gpt-4o 0-shot", "gpt-4o_0-shot"),
])
def test_safe_filename_is_one_path_component(text, slug):
    assert safe_filename(text) == slug


def test_safe_filename_of_a_long_name_keeps_a_hash():
    a, b = safe_filename("x" * 300 + "a"), safe_filename("x" * 300 + "b")
    assert len(a) == 100 and a != b


@pytest.mark.parametrize("usd", [1e-9, 0.0001, 0.000111, 0.004999, 0.3, 1.234, 25.2])
def test_suggested_limit_is_above_the_estimate_and_readable(usd):
    limit = suggested_limit(usd)
    assert float(limit) >= usd * 1.2 and "e" not in limit and float(dollars(usd)) >= usd


def test_response_shape():
    assert completion_problem(GOOD) is None
    assert "$.choices" in completion_problem({"choices": []})
    assert completion_problem({"choices": [{"message": {"content": None}}]}) is None
    parts = {"message": {"content": [{"type": "text", "text": "pos"}, {"type": "text",
                                                                          "text": "itive"}, 3]}}
    assert completion_problem({"choices": [parts]}) is None and message_text(parts) == "positive"
    assert "prompt_tokens" in completion_problem({**GOOD, "usage": {"prompt_tokens": 1e300}})


@pytest.mark.parametrize("stored", ['{"response": {"choices": []}}', '{"response": "x"}', "[1,2]",
                                    '{"response": {"choices": [{"message": "x"}]}}', "{", ""])
def test_a_bad_cache_entry_is_a_miss(tmp_path, stored):
    cache = ResponseCache(tmp_path)
    cache.put("ab" + "0" * 62, GOOD)
    assert cache.get("ab" + "0" * 62) == GOOD
    next(tmp_path.rglob("*.json")).write_text(stored)
    assert cache.get("ab" + "0" * 62) is None


def test_deadline_cancels_a_call_that_keeps_going():
    async def trickle():
        while True:                  # a server that always has one more byte
            await asyncio.sleep(0.05)
    t0 = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="within 0.5 s"):
        call(trickle, 0.5)
    assert time.monotonic() - t0 < 10

    async def quick():
        return 42
    assert call(quick, 5) == 42
