"""`tunewise compare` with remote arms whose names, URLs and limits are hostile or wrong, through
the CLI against ``FakeOpenAI`` on 127.0.0.1 (issue #23, audit 2026-12-06 H2, M2, M9, L7, L9):

- an arm name is user text: ``name: "../../victim"`` writes inside OUT under a safe file name,
  never over the data file next to the config, and nothing is written outside OUT (H2);
- two arms whose names give the same file are refused before any request;
- credentials in the base URL and ``$OPENAI_API_KEY`` appear in no file of OUT (results.json,
  report.md, report.html, arms/, predictions/, the remote cache) and the key reaches no server
  but OpenAI's (M2, M9);
- a non-finite ``--max-cost`` is refused; reported usage over the limit is a warning (L7);
- a malformed base URL in a config is a config error (exit 2), not a crash (L9).

Only the majority baseline and the remote arms run (no local model is loaded).
"""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from tests.remote_support import FakeOpenAI
from tests.serve_support import sentiment_examples, write_chat

SECRET = "sk-test-SECRET123-never-send-me"
ENV = {"OPENAI_API_KEY": SECRET}



#: gpt-4o-mini stays a hosted model that answers, whatever today's date (conftest)
pytestmark = pytest.mark.usefixtures("gpt_4o_mini_answering")

@pytest.fixture(scope="module")
def server():
    with FakeOpenAI() as s:
        yield s


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    """{relative path: sha256} of every file under ``root``."""
    return {str(f.relative_to(root)): sha(f) for f in root.rglob("*") if f.is_file()}


def workdir(tmp_path: Path, remote: list[dict], **top) -> Path:
    """tmp_path/a/b/work with victim.jsonl (the data) and trav.yaml (only remote arms)."""
    work = tmp_path / "a" / "b" / "work"
    work.mkdir(parents=True)
    write_chat(work / "victim.jsonl", sentiment_examples(40, seed=8, offset=300))
    cfg = {"data": {"path": "victim.jsonl"}, "model": {"name": "tiny-random"},
           "arms": {"classical": False, "zero_shot": False, "k_shot": [],
                    "fine_tune": {"enabled": False}, "remote": remote},
           "n_resamples": 100, **top}
    (work / "trav.yaml").write_text(json.dumps(cfg))       # JSON is YAML
    return work


def failed(r, code: int) -> str:
    text = r.stdout + r.stderr
    assert r.returncode == code, text
    assert "Traceback" not in text and "internal error" not in text, text
    return text


@pytest.mark.parametrize("name", ["../../victim", "../../../../x", "/tmp/tw-evil/victim"])
def test_an_arm_name_cannot_write_outside_the_output_folder(cli, server, tmp_path, name):
    work = workdir(tmp_path, [{"model": "fake-model", "base_url": server.url_for("ok"),
                               "name": name}])
    before, mark = tree(tmp_path), len(server.auth)
    r = cli("compare", "trav.yaml", "-o", "out", cwd=work, env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    after = tree(tmp_path)
    # every file outside OUT is as it was (the data file first of all); none was added
    outside = {k: v for k, v in after.items() if not k.startswith("a/b/work/out/")}
    assert outside == before
    assert not Path("/tmp/tw-evil").exists()
    preds = list((work / "out" / "predictions").glob("*.jsonl"))
    assert len(preds) == 2                                    # majority + the remote arm
    assert json.loads(next(p for p in preds if "majority" not in p.name)
                      .read_text().splitlines()[0])["arm"] == name
    results = json.loads((work / "out" / "results.json").read_text())
    assert name in [a["name"] for a in results["arms"]]
    assert server.auth[mark:] and not [a for a in server.auth[mark:] if SECRET in a]
    assert not [f for f in (work / "out").rglob("*") if f.is_file()
                and SECRET in f.read_text(encoding="utf-8", errors="replace")]


def test_arms_with_the_same_file_name_are_refused_before_any_request(cli, server, tmp_path):
    work = workdir(tmp_path, [{"model": "fake-model", "base_url": server.url_for("ok"),
                               "name": "a b"},
                              {"model": "fake-model", "base_url": server.url_for("ok"),
                               "name": "a/b"}])
    before = dict(server.requests)
    text = failed(cli("compare", "trav.yaml", "-o", "out", cwd=work, env=ENV), 2)
    assert "'a b' and 'a/b' would write the same files" in text
    assert server.requests == before
    # a remote arm named like a local one
    work2 = workdir(tmp_path / "2", [{"model": "fake-model", "base_url": server.url_for("ok"),
                                      "name": "majority"}])
    text = failed(cli("compare", "trav.yaml", "-o", "out", cwd=work2, env=ENV), 2)
    assert "two arms are named 'majority'" in text and server.requests == before


def test_credentials_and_the_key_stay_out_of_every_output(cli, server, tmp_path):
    write_chat(tmp_path / "data.jsonl", sentiment_examples(40, seed=9, offset=600))
    mark = len(server.auth)
    url = server.url_for("ok", userinfo="user:hunter2pass@") + "?api_key=tok-in-the-query-77"
    out = tmp_path / "out"
    r = cli("compare", "--data", str(tmp_path / "data.jsonl"), "--remote", "fake-model",
            "--base-url", server.url_for("ok", userinfo="user:hunter2pass@"), "-o", str(out),
            "--set", "arms.classical=false", "--set", "arms.zero_shot=false",
            "--set", "arms.k_shot=[]", "--set", "arms.fine_tune.enabled=false",
            "--set", "n_resamples=100", env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    # the credentials were used for the requests; the key was sent to no one
    basic = "Basic " + base64.b64encode(b"user:hunter2pass").decode()
    assert server.auth[mark:] and set(server.auth[mark:]) == {basic}
    files = [f for f in out.rglob("*") if f.is_file()]
    assert {"results.json", "report.md", "report.html"} <= {f.name for f in files}
    assert any(f.parent.name == "arms" for f in files)
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace")
        assert "hunter2pass" not in text and SECRET not in text, f
    assert "hunter2pass" not in r.stdout + r.stderr and SECRET not in r.stdout + r.stderr
    results = json.loads((out / "results.json").read_text())
    remote = next(a for a in results["arms"] if a["kind"] == "remote")
    assert remote["base_url"] == server.url_for("ok", userinfo="***@")
    assert results["config"]["arms"]["remote"][0]["base_url"] == remote["base_url"]
    # a token in the query is hidden the same way (unit: the one redaction function)
    from tunewise.remote.urls import redact_url
    assert "tok-in-the-query-77" not in redact_url(url) and "hunter2pass" not in redact_url(url)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_max_cost_is_refused(cli, server, tmp_path, value):
    work = workdir(tmp_path, [{"model": "openai:gpt-4o-mini", "base_url": server.url_for("ok")}])
    before = dict(server.requests)
    text = failed(cli("compare", "trav.yaml", "-o", "out", "--max-cost", value, cwd=work,
                      env=ENV), 2)
    assert "max_cost_usd" in text and server.requests == before


def test_reported_cost_over_the_limit_is_a_warning(cli, server, tmp_path):
    work = workdir(tmp_path, [{"model": "openai:gpt-4o-mini",
                               "base_url": server.url_for("huge_usage")}], max_cost_usd=0.05)
    mark = len(server.auth)
    r = cli("compare", "trav.yaml", "-o", "out", cwd=work, env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not [a for a in server.auth[mark:] if SECRET in a]     # openai: at another host
    warnings = json.loads((work / "out" / "results.json").read_text())["warnings"]
    assert any("over the limit max_cost_usd=$0.05" in w for w in warnings), warnings
    assert "over the limit" in r.stdout


def test_malformed_base_url_in_a_config_is_a_config_error(cli, tmp_path):
    work = workdir(tmp_path, [{"model": "m", "base_url": "http://user:pw@[::1/v1"}])
    text = failed(cli("compare", "trav.yaml", "-o", "out", cwd=work, env=ENV), 2)
    assert "arms.remote[0].base_url" in text and "not a valid URL" in text
    assert "user:pw" not in text
