"""`tunewise train` end to end on tiny-random: the files a run leaves, --json, --show-mask,
errors in words, and `tunewise eval --adapter RUN_DIR` on the result."""
from __future__ import annotations

import json
import random

import pytest


def _write_chat(path, n, seed=0, long_line=None):
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            lab = "positive" if i % 2 else "negative"
            w = rng.choice(["great", "superb"] if i % 2 else ["awful", "dull"])
            text = f"a {w} film, take {i}"
            if long_line is not None and i == long_line:
                text += " very long" * 400
            fh.write(json.dumps({"messages": [{"role": "user", "content": text},
                                              {"role": "assistant", "content": lab}]}) + "\n")
    return path


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from tests.conftest import run_cli
    d = tmp_path_factory.mktemp("cli")
    data = _write_chat(d / "train.jsonl", 40)
    run = d / "run"
    r = run_cli("train", "--train", str(data), "--model", "tiny-random", "-o", str(run),
                "--epochs", "2", "--batch-size", "4", "--checkpoint-every", "3",
                "--min-val-carve", "10",   # 40 examples: carve validation (below: none)
                "--precision", "fp32", "--json", "--lora-targets", "q_proj,v_proj,o_proj")
    return d, run, r


def test_cli_run_leaves_its_files(finished_run):
    d, run, r = finished_run
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)                   # exactly one JSON object on stdout
    assert out["run_dir"] == str(run)
    assert out["timing"]["train_examples_per_second"] > 0
    assert out["best_epoch"] in (1, 2) and "accuracy" in out["metrics"]
    assert "trainable parameters" in r.stderr and "answer tokens are trained" in r.stderr

    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "done" and info["model"] == "tiny-random"
    assert info["method"] == "lora" and info["task"]["kind"] == "classification"
    assert info["task"]["labels"] == ["negative", "positive"]
    assert info["config"]["lora"]["targets"] == ["q_proj", "v_proj", "o_proj"]
    assert info["val_carved"] and info["n_train"] + info["n_val"] == 40
    assert info["metrics"] == out["metrics"]
    assert "epochs: 2" in (run / "config.yaml").read_text()
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r_["epoch"] for r_ in rows if r_["kind"] == "eval"] == [1, 2]
    assert any(r_["kind"] == "train" and r_["loss"] > 0 for r_ in rows)
    assert (run / "adapter" / "adapter_model.safetensors").exists()
    assert (run / "adapter" / "adapter_config.json").exists()
    for epoch in (1, 2):
        preds = (run / "eval" / f"epoch-{epoch}.jsonl").read_text().splitlines()
        assert len(preds) == info["n_val"]
    assert len((run / "data" / "val.jsonl").read_text().splitlines()) == info["n_val"]
    assert (run / "checkpoints" / "best" / "weights.safetensors").exists()
    steps = sorted((run / "checkpoints").glob("step-*"))
    assert 1 <= len(steps) <= 2                  # keep_checkpoints=2 prunes older ones
    assert not list((run / "checkpoints").glob(".*.tmp"))


def test_eval_adapter_reproduces_the_run_metrics(finished_run, cli):
    d, run, r = finished_run
    assert r.returncode == 0, r.stderr
    e = cli("eval", "--data", str(run / "data" / "val.jsonl"), "--adapter", str(run), "--json")
    assert e.returncode == 0, e.stderr
    res = json.loads(e.stdout)
    info = json.loads((run / "run.json").read_text())
    got = res["metrics"]["accuracy"]
    got = got["value"] if isinstance(got, dict) else got
    assert got == pytest.approx(info["metrics"]["accuracy"])


def test_resume_of_a_finished_run_with_merge(finished_run, cli):
    d, run, r = finished_run
    again = cli("train", "--resume", str(run))
    assert again.returncode == 2 and "already finished" in again.stderr
    m = cli("train", "--resume", str(run), "--merge", "--json")
    assert m.returncode == 0, m.stderr
    assert (run / "merged" / "model.safetensors").exists()
    assert json.loads(m.stdout)["merged"].endswith("merged")


def test_show_mask(tmp_path, cli):
    data = _write_chat(tmp_path / "t.jsonl", 4)
    r = cli("train", "--train", str(data), "--model", "tiny-random", "--show-mask")
    assert r.returncode == 0, r.stderr
    assert "t.jsonl:1" in r.stdout and "2 trained" in r.stdout and "negative" in r.stdout
    assert not (tmp_path / "runs").exists()


def test_truncated_answer_is_reported_without_traceback(tmp_path, cli):
    data = _write_chat(tmp_path / "t.jsonl", 12, long_line=5)
    r = cli("train", "--train", str(data), "--model", "tiny-random", "-o", str(tmp_path / "r"),
            "--max-length", "256")
    assert r.returncode == 1
    assert "t.jsonl:6" in r.stderr and "max_length" in r.stderr and "Traceback" not in r.stderr


def test_bad_settings_are_all_reported(tmp_path, cli):
    data = _write_chat(tmp_path / "t.jsonl", 8)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("epochs: -1\nlearning_rate: 0.1\n", encoding="utf-8")
    r = cli("train", "--train", str(data), "--model", "tiny-random", "--config", str(cfg),
            "--lr", "-1", "-o", str(tmp_path / "r"))
    assert r.returncode == 2
    for part in ("epochs: must be >= 1", "learning_rate", "lr: must be > 0"):
        assert part in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "r").exists()
