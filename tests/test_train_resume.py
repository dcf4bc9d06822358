"""Resume after a real kill -9, and 2-process (gloo) data-parallel training, on tiny-random."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]

# A standalone script so that the run can be killed (and launched under torchrun).
SCRIPT = textwrap.dedent("""
    import random, sys
    from tunewise.data.records import Example
    from tunewise.tasks import ClassificationTask
    from tunewise.training import train
    out, extra = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
    rng = random.Random(0)
    exs = []
    for i in range(int(extra.pop("n", 64))):
        lab = "positive" if i % 2 else "negative"
        w = rng.choice(["great", "fine", "superb"] if i % 2 else ["awful", "dull", "poor"])
        exs.append(Example.from_text(f"a {w} film, take {i} " + "x " * (i % 7), lab, label=lab,
                                     meta={"source": "syn.jsonl", "line": i + 1}))
    settings = dict(model="tiny-random", epochs=2, batch_size=4, lr=5e-3, seed=0,
                    patience=0, eval_batch_size=32, keep_checkpoints=50)
    for k, v in extra.items():
        settings[k] = type(settings.get(k, ""))(v) if k in settings else v
    train(exs[:-8], val=exs[-8:], out=out, task=ClassificationTask(["negative", "positive"]),
          say=lambda m: print(m, flush=True), progress=False, **settings)
""")


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("scripts") / "train_script.py"
    p.write_text(SCRIPT, encoding="utf-8")
    return p


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "TUNEWISE_NO_PROGRESS": "1",
            "OMP_NUM_THREADS": "1"}


def _run(script, out, *extra, timeout=300):
    r = subprocess.run([sys.executable, str(script), str(out), *extra], env=_env(), text=True,
                       capture_output=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def _adapter(run_dir: Path) -> dict:
    return load_file(str(run_dir / "adapter" / "adapter_model.safetensors"))


def _assert_same_weights(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys() and a
    for k in a:
        assert torch.allclose(a[k], b[k], atol=atol, rtol=0), \
            f"{k}: max diff {(a[k] - b[k]).abs().max().item():.2e}"


def test_resume_after_kill_9_reaches_the_same_weights(tmp_path, script):
    # dropout on, so that restoring the RNG state matters too
    extra = ("checkpoint_every=3", "lora_dropout=0.1", "precision=fp32")
    ref = tmp_path / "uninterrupted"
    _run(script, ref, *extra)

    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(script), str(run), *extra], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        target = run / "checkpoints" / "step-00000006" / "state.json"
        deadline = time.time() + 240
        while not target.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "running" and not (run / "adapter").exists()
    steps_before = max(int(p.name.split("-")[1]) for p in (run / "checkpoints").glob("step-*"))
    assert steps_before < 2 * 14  # killed mid-run: 2 epochs x 14 steps were planned

    r = subprocess.run([sys.executable, "-m", "tunewise", "train", "--resume", str(run), "--json"],
                       env=_env(), text=True, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["run_dir"] == str(run) and "resuming from step-" in r.stderr
    _assert_same_weights(_adapter(ref), _adapter(run), atol=1e-5)
    ref_info = json.loads((ref / "run.json").read_text())
    done = json.loads((run / "run.json").read_text())
    assert done["status"] == "done" and done["best_epoch"] == ref_info["best_epoch"]
    assert done["metrics"]["val_loss"] == pytest.approx(ref_info["metrics"]["val_loss"], abs=1e-4)
    # the killed process's peak memory, kept in its checkpoint, is not lost by the resume
    killed_peak = json.loads(target.read_text()).get("peak_memory_mb")
    if Path("/proc/self/clear_refs").exists():     # measured on Linux
        assert killed_peak is not None and done["timing"]["peak_memory_mb"] >= killed_peak


def test_two_gloo_processes_match_one(tmp_path):
    """`tunewise train --processes 2` (torchrun, gloo, DDP) reaches the weights of one process."""
    from tests.test_train_cli import _write_chat
    data = _write_chat(tmp_path / "train.jsonl", 40)
    common = ["--train", str(data), "--model", "tiny-random", "--epochs", "1", "--batch-size", "4",
              "--lr", "5e-3", "--lora-dropout", "0", "--precision", "fp32",
              "--checkpoint-every", "0", "--json"]
    runs = {}
    for name, extra in (("single", []), ("double", ["--processes", "2"])):
        runs[name] = tmp_path / name
        r = subprocess.run([sys.executable, "-m", "tunewise", "train", *common, "-o",
                            str(runs[name]), *extra], env=_env(), text=True,
                           capture_output=True, timeout=300)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    info = json.loads((runs["double"] / "run.json").read_text())
    assert info["world_size"] == 2 and info["status"] == "done"
    _assert_same_weights(_adapter(runs["single"]), _adapter(runs["double"]), atol=1e-5)
    # and the weights did move: the comparison is not between two untrained adapters
    assert any(v.abs().sum() > 0 for k, v in _adapter(runs["double"]).items() if "lora_B" in k)
