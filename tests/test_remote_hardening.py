"""The remote arm against a misbehaving server, through `tunewise eval` (subprocesses, real HTTP,
``FakeOpenAI`` on 127.0.0.1): issue #23, audit 2026-12-06 part B.

- valid JSON with wrong inner types is a protocol error (exit 1), retried and never cached; a
  damaged cache entry is a miss (M1);
- ``$OPENAI_API_KEY`` goes to no server but OpenAI's own; ``--api-key-env`` names the key a
  server gets (M2); a key echoed in an answer is scrubbed before anything is written (L5);
- ``--timeout`` is a wall-clock deadline per attempt, even for a server trickling bytes (M5);
- credentials in the base URL are used but never recorded or shown (M9);
- the cache is private (L6); ``--max-cost`` refuses NaN / infinity, suggests a limit it accepts
  and warns when the reported usage costs more (L7); a bad ``--cache-dir`` and a malformed URL
  are refused before any request (L8, L9).

Every run has ``OPENAI_API_KEY`` set to ``SECRET``; the tests look for it in everything written
and in every Authorization header the server received.
"""
from __future__ import annotations

import base64
import json
import re
import stat
import time
from pathlib import Path

import pytest

from tests.remote_support import FakeOpenAI
from tests.serve_support import sentiment_examples, write_chat

SECRET = "sk-test-SECRET123-never-send-me"
ENV = {"OPENAI_API_KEY": SECRET}
#: a hosted model of the price table, asked at the fake server's URL (priced, never billed)
PRICED = "openai:gpt-4o-mini"


#: gpt-4o-mini stays a hosted model that answers, whatever today's date (conftest)
pytestmark = pytest.mark.usefixtures("gpt_4o_mini_answering")


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(trickle_s=0.5) as s:
        yield s


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    return write_chat(tmp_path_factory.mktemp("hardening-data") / "test.jsonl",
                      sentiment_examples(6, seed=5, offset=900))


def ev(cli, data, url, cache, *extra, model="fake-model", env=None, timeout=120):
    return cli("eval", "--data", data, "--model", model, "--base-url", url, "--cache-dir",
               str(cache), *extra, env={**ENV, **(env or {})}, timeout=timeout)


def failed(r, code: int) -> str:
    text = r.stdout + r.stderr
    assert r.returncode == code, text
    assert "Traceback" not in text and "internal error" not in text, text
    return text


def written(*paths: Path) -> list[Path]:
    """Every file under ``paths`` (files or folders)."""
    out = []
    for p in paths:
        p = Path(p)
        out += [f for f in p.rglob("*") if f.is_file()] if p.is_dir() else [p] if p.exists() \
            else []
    return out


def assert_no_secret(secret: str, server, *paths, texts=(), auth_from: int = 0) -> None:
    """``secret`` is in no file under ``paths``, no text and no header the server received."""
    assert not [a for a in server.auth[auth_from:] if secret in a]
    for f in written(*paths):
        assert secret not in f.read_text(encoding="utf-8", errors="replace"), f
    for t in texts:
        assert secret not in t


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.json")) if cache.is_dir() else []


@pytest.mark.parametrize("mode, where", [
    ("bad_message", "$.choices[0].message"), ("bad_usage", "$.usage.prompt_tokens"),
    ("bad_logprob", "top_logprobs[0].logprob"), ("bad_content", "$.choices[0].logprobs.content[0]"),
])
def test_wrong_inner_types_are_a_protocol_error_and_never_cached(cli, server, data, tmp_path,
                                                                 mode, where):
    cache = tmp_path / "cache"
    r = ev(cli, data, server.url_for(mode), cache, "--retries", "1")
    text = failed(r, 1)
    assert "not a chat completion" in text and where in text
    assert server.requests[mode] == 2 and cache_files(cache) == []    # retried, nothing cached
    # the rerun asks the server again (no cached bad answer), and fails the same way
    again = ev(cli, data, server.url_for(mode), cache, "--retries", "0")
    failed(again, 1)
    assert server.requests[mode] == 3
    assert_no_secret(SECRET, server, cache, texts=[text])


def test_damaged_cache_entries_are_asked_again(cli, server, data, tmp_path):
    cache = tmp_path / "cache"
    assert ev(cli, data, server.url_for("ok"), cache).returncode == 0
    files = cache_files(cache)
    assert len(files) == 6
    damage = [{"response": {"choices": []}}, {"response": "x"},
              {"response": {"choices": [{"message": "positive"}]}},
              {"response": {"choices": [{"message": {"content": "positive"},
                                         "logprobs": {"content": [1, 2, 3]}}]}}]
    for f, bad in zip(files, damage):
        f.write_text(json.dumps(bad))
    before = server.requests["ok"]
    r = ev(cli, data, server.url_for("ok"), cache, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    usage = json.loads(r.stdout)["usage"]
    assert server.requests["ok"] - before == usage["requests"] == len(damage)
    assert usage["cache_hits"] == 6 - len(damage)
    assert all(json.loads(f.read_text())["response"]["choices"][0]["message"]["content"]
               == "positive" for f in files)                           # rewritten


def test_openai_key_goes_to_no_other_server(cli, server, data, tmp_path):
    start = len(server.auth)
    r = ev(cli, data, server.url_for("ok"), tmp_path / "c1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["settings"]["api_key_env"] is None
    # a provider-prefixed model at another host: its provider's key is not sent there either
    r2 = ev(cli, data, server.url_for("ok"), tmp_path / "c2", model=PRICED)
    assert r2.returncode == 0, r2.stderr
    assert server.auth[start:] and set(server.auth[start:]) == {"Bearer none"}
    assert_no_secret(SECRET, server, tmp_path, texts=[r.stdout, r.stderr, r2.stdout, r2.stderr],
                     auth_from=start)
    # the key a server gets is the one --api-key-env names
    mark = len(server.auth)
    r3 = ev(cli, data, server.url_for("ok"), tmp_path / "c3", "--api-key-env", "TW_FAKE_KEY",
            env={"TW_FAKE_KEY": "fake-server-key-42"})
    assert r3.returncode == 0, r3.stderr
    assert set(server.auth[mark:]) == {"Bearer fake-server-key-42"}


def test_timeout_is_a_wall_clock_deadline_per_attempt(cli, server, data, tmp_path):
    # the answer trickles in one byte every 0.5 s (minutes in all): each byte used to restart
    # the timeout; a hang detector of 60 s (the deadline is 3 s) catches the old behaviour
    mark = len(server.auth)
    t0 = time.monotonic()
    r = ev(cli, data, server.url_for("trickle"), tmp_path, "--timeout", "3", "--retries", "0",
           timeout=60)
    elapsed = time.monotonic() - t0
    text = failed(r, 1)
    assert "no answer within 3 s" in text and "deadline" in text
    assert elapsed < 45
    assert_no_secret(SECRET, server, tmp_path, texts=[text], auth_from=mark)


def test_credentials_in_the_base_url_are_used_but_never_recorded(cli, server, data, tmp_path):
    url = server.url_for("ok", userinfo="user:hunter2pass@")
    mark = len(server.auth)
    preds = tmp_path / "preds.jsonl"
    r = ev(cli, data, url, tmp_path / "cache", "--out", str(preds), "--json")
    assert r.returncode == 0, r.stderr
    basic = "Basic " + base64.b64encode(b"user:hunter2pass").decode()
    assert set(server.auth[mark:]) == {basic}                    # used for the requests
    settings = json.loads(r.stdout)["settings"]
    assert settings["base_url"] == server.url_for("ok", userinfo="***@")
    assert_no_secret("hunter2pass", server, tmp_path, texts=[r.stdout, r.stderr],
                     auth_from=len(server.auth))
    # nor shown in an error
    bad = ev(cli, data, server.url_for("500", userinfo="user:hunter2pass@"), tmp_path / "c2",
             "--retries", "0")
    text = failed(bad, 1)
    assert "HTTP 500" in text and "hunter2pass" not in text and "***@127.0.0.1" in text


def test_key_echoed_in_an_answer_is_scrubbed_before_writing(cli, server, data, tmp_path):
    # the key is sent on purpose (--api-key-env names it); the server echoes it in every answer
    preds = tmp_path / "preds.jsonl"
    r = ev(cli, data, server.url_for("echo_key"), tmp_path / "cache", "--api-key-env",
           "OPENAI_API_KEY", "--out", str(preds))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in preds.read_text().splitlines()[1:]]
    assert len(rows) == 6 and all(row["raw"] == "positive (you sent Bearer ***)" for row in rows)
    for f in written(tmp_path):
        assert SECRET not in f.read_text(encoding="utf-8"), f
    assert SECRET not in r.stdout + r.stderr


def test_cache_folders_and_files_are_private(cli, server, data, tmp_path):
    cache = tmp_path / "new" / "cache"
    assert ev(cli, data, server.url_for("ok"), cache).returncode == 0
    folders = [cache, *[p for p in cache.rglob("*") if p.is_dir()]]
    assert len(folders) > 1
    assert {stat.S_IMODE(p.stat().st_mode) for p in folders} == {0o700}
    assert {stat.S_IMODE(f.stat().st_mode) for f in cache_files(cache)} == {0o600}


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "Infinity"])
def test_max_cost_that_is_not_a_finite_number_is_refused(cli, server, data, tmp_path, value):
    before = dict(server.requests)
    r = ev(cli, data, server.url_for("ok"), tmp_path, "--max-cost", value, model=PRICED)
    text = failed(r, 2)
    assert "--max-cost" in text and SECRET not in text
    assert server.requests == before


def test_suggested_cost_limit_is_accepted(cli, server, data, tmp_path):
    before = server.requests.get("ok", 0)
    r = ev(cli, data, server.url_for("ok"), tmp_path, "--max-cost", "0.0000001", model=PRICED)
    text = failed(r, 2)
    assert server.requests.get("ok", 0) == before                   # nothing sent
    limit = re.search(r"--max-cost ([0-9.]+)", text).group(1)
    assert float(limit) > 0
    again = ev(cli, data, server.url_for("ok"), tmp_path, "--max-cost", limit, model=PRICED)
    assert again.returncode == 0, again.stdout + again.stderr


def test_reported_cost_over_the_limit_is_a_warning(cli, server, data, tmp_path):
    # the server claims 10M prompt tokens per answer: far over the estimate and the limit
    mark = len(server.auth)
    r = ev(cli, data, server.url_for("huge_usage"), tmp_path, "--max-cost", "0.01", model=PRICED)
    assert r.returncode == 0, r.stderr
    assert "warning:" in r.stdout and "over the limit max_cost_usd=$0.01" in r.stdout
    j = ev(cli, data, server.url_for("huge_usage"), tmp_path / "fresh", "--max-cost", "0.01",
           "--json", model=PRICED)
    assert "over the limit" in json.loads(j.stdout)["usage"]["cost_warning"]
    assert_no_secret(SECRET, server, tmp_path, texts=[r.stdout, r.stderr, j.stdout],
                     auth_from=mark)


@pytest.mark.parametrize("where", ["file", "/proc/version/x"])
def test_bad_cache_dir_is_refused_before_any_request(cli, server, data, tmp_path, where):
    if where == "file":
        where = tmp_path / "a-file"
        where.write_text("not a folder")
    before = dict(server.requests)
    r = ev(cli, data, server.url_for("ok"), where)
    text = failed(r, 2)
    assert "cache folder" in text and "not a folder" in text
    assert server.requests == before


@pytest.mark.parametrize("url", ["http://[::1/v1", "http://127.0.0.1:99999/v1",
                                 "http://user:pw@[::1/v1"])
def test_malformed_base_url_is_a_usage_error(cli, data, tmp_path, url):
    r = cli("eval", "--data", data, "--model", "m", "--base-url", url, "--cache-dir",
            str(tmp_path), env=ENV)
    text = failed(r, 2)
    assert "base URL" in text and ":pw@" not in text
