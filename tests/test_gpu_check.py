"""bench/gpu_check.py, the script run on a borrowed GPU (issue #19), as a CPU smoke test: every
step runs on the tiny model and the JSON line reports it; QLoRA ends in tunewise's clear refusal."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_check_runs_on_the_cpu(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--device", "cpu",
                        "--model", "tiny-random", "--examples", "64", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert len(lines) == 1
    rep = json.loads(lines[0])
    assert rep["device"] == "cpu" and rep["examples"] == 64
    run = rep["train_eval_cpu"]
    assert run["ok"] and run["examples_per_second"] > 0 and 0 <= run["accuracy"] <= 1
    assert run["hardware"]["device"] == "cpu"
    assert rep["gradient_checkpointing"]["ok"]
    assert rep["gradient_checkpointing"]["hardware"]["speed"]["gradient_checkpointing"] is True
    assert rep["serve"]["ok"] and rep["serve"]["answered"] == 10
    assert rep["qlora"]["expected_refusal"] is True
    assert [f["step"] for f in rep.get("failures", [])] == ["qlora"]
