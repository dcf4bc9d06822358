"""`train --resume RUN`: the same command plus --resume is accepted, a real change is refused by
name; every damaged checkpoint is "cannot resume from RUN: ... (fix: ...)"; a `.best.old` left by
an interrupted save is recovered."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ARGS = ["--model", "tiny-random", "--epochs", "2", "--batch-size", "4", "--checkpoint-every", "2",
        "--precision", "fp32", "--seed", "3",
        "--min-val-carve", "10"]   # carve validation, so the run keeps a best checkpoint


def write_chat(path: Path, n: int = 24) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            lab = "positive" if i % 2 else "negative"
            fh.write(json.dumps({"messages": [
                {"role": "user", "content": f"a {'great' if i % 2 else 'dull'} film, take {i}"},
                {"role": "assistant", "content": lab}]}) + "\n")
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from tests.conftest import run_cli
    d = tmp_path_factory.mktemp("resume")
    data = write_chat(d / "train.jsonl")
    r = run_cli("train", "--train", str(data), *ARGS, "-o", str(d / "run"))
    assert r.returncode == 0, r.stderr
    return d, data


def crashed_copy(finished, tmp_path) -> Path:
    """The finished run as if killed after its first checkpoints: status running, no adapter,
    only the earliest step checkpoints kept."""
    d, _ = finished
    run = tmp_path / "run"
    shutil.copytree(d / "run", run)
    info = json.loads((run / "run.json").read_text())
    info["status"] = "running"
    (run / "run.json").write_text(json.dumps(info))
    shutil.rmtree(run / "adapter")
    steps = sorted((run / "checkpoints").glob("step-*"))
    assert len(steps) >= 2
    shutil.rmtree(steps[-1])                       # resume from the one before the last
    return run


def latest_step(run: Path) -> Path:
    return sorted((run / "checkpoints").glob("step-*"))[-1]


def test_same_command_plus_resume_is_accepted(finished, tmp_path, cli):
    _, data = finished
    run = crashed_copy(finished, tmp_path)
    r = cli("train", "--train", str(data), *ARGS, "-o", str(run), "--resume", str(run))
    assert r.returncode == 0, r.stderr
    assert "resuming from step-" in r.stdout
    assert json.loads((run / "run.json").read_text())["status"] == "done"


def test_a_real_change_is_refused_naming_field_and_values(finished, tmp_path, cli):
    _, data = finished
    run = crashed_copy(finished, tmp_path)
    before = (run / "run.json").read_bytes()
    args = [a if a != "2" or i != ARGS.index("--epochs") + 1 else "5" for i, a in enumerate(ARGS)]
    r = cli("train", "--train", str(data), *args, "--lr", "0.5", "--resume", str(run))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    err = " ".join(r.stderr.split())
    assert "epochs: the run used 2, the command gives 5" in err
    assert "lr: the run used 0.001, the command gives 0.5" in err
    assert "seed" not in err and "batch_size" not in err        # unchanged flags are fine
    assert (run / "run.json").read_bytes() == before


def test_other_training_data_is_a_change(finished, tmp_path, cli):
    run = crashed_copy(finished, tmp_path)
    other = write_chat(tmp_path / "other.jsonl", 30)
    r = cli("train", "--train", str(other), "--resume", str(run))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "train:" in r.stderr and "not the run's training data" in " ".join(r.stderr.split())


def _assert_cannot_resume(r, run: Path, what: str):
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    err = " ".join(r.stderr.split())
    assert f"cannot resume from {run}" in err, err
    assert what in err, err
    assert "fix:" in err


def test_truncated_safetensors(finished, tmp_path, cli):
    run = crashed_copy(finished, tmp_path)
    w = latest_step(run) / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:100])
    r = cli("train", "--resume", str(run))
    _assert_cannot_resume(r, run, latest_step(run).name)
    assert "delete" in r.stderr


def test_missing_optimizer_state(finished, tmp_path, cli):
    run = crashed_copy(finished, tmp_path)
    (latest_step(run) / "optimizer.pt").unlink()
    r = cli("train", "--resume", str(run))
    _assert_cannot_resume(r, run, "optimizer.pt is missing")


def test_damaged_config(finished, tmp_path, cli):
    run = crashed_copy(finished, tmp_path)
    (run / "config.yaml").write_text("epochs: [oops\n")
    r = cli("train", "--resume", str(run))
    _assert_cannot_resume(r, run, "config.yaml")


def test_leftover_best_old_is_recovered(finished, tmp_path, cli):
    run = crashed_copy(finished, tmp_path)
    best = run / "checkpoints" / "best"
    best.rename(run / "checkpoints" / ".best.old")         # killed between the two renames
    r = cli("train", "--resume", str(run))
    assert r.returncode == 0, r.stderr
    assert "restored best" in r.stdout
    assert (best / "weights.safetensors").exists()
    assert not (run / "checkpoints" / ".best.old").exists()
