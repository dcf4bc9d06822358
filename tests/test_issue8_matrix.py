"""Issue #8, every finding 1-13 through the CLI: the documented exit code, no traceback, a
message naming the path and the fix, and every input's sha256 unchanged.

Each case builds its inputs in a fresh folder and returns (argv, expected exit code, texts the
output must contain, env). Exit codes (tunewise/cli/main.py): 0 ok, 1 problems found, 2 usage
error / unreadable input / unwritable output.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli


def chat(path: Path, n: int = 24, labels=("negative", "positive"), parts: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            lab = labels[i % len(labels)]
            user = ([{"type": "text", "text": f"Describe {i}"},
                     {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                     {"type": "text", "text": "please"}] if parts
                    else f"a {'great' if i % 2 else 'dull'} film, take {i}")
            fh.write(json.dumps({"messages": [{"role": "user", "content": user},
                                              {"role": "assistant", "content": lab}]}) + "\n")
    return path


def fake_run(d: Path, *, damage: str | None = None, n: int = 8) -> Path:
    """A run folder as `tunewise train` leaves it after a crash (status running), without
    training: config, data, run.json and, with ``damage``, one damaged step checkpoint."""
    from tunewise.training.config import TrainConfig, dump_yaml
    run = d / "run"
    (run / "data").mkdir(parents=True)
    cfg = TrainConfig(model="tiny-random", epochs=1, batch_size=4, precision="fp32",
                      checkpoint_every=1, seed=3)
    (run / "config.yaml").write_text(dump_yaml(cfg))
    src = chat(d / "train.jsonl", n)
    from tunewise.data import read
    from tunewise.runs import write_examples
    exs = read(src)
    write_examples(run / "data" / "train.jsonl", exs[:-2])
    write_examples(run / "data" / "val.jsonl", exs[-2:])
    (run / "run.json").write_text(json.dumps({
        "model": "tiny-random", "method": "lora", "status": "running",
        "task": {"kind": "classification", "labels": ["negative", "positive"]},
        "train_source": str(src), "val_source": "carved", "val_carved": True,
        "train_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "n_train": n - 2, "n_val": 2, "data": {"train": "data/train.jsonl",
                                               "val": "data/val.jsonl"}}))
    if damage:
        step = run / "checkpoints" / "step-00000001"
        step.mkdir(parents=True)
        (step / "state.json").write_text(json.dumps({"epoch": 0, "batch": 1, "step": 1}))
        if damage == "truncated":
            (step / "weights.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\"")
        else:   # a valid but empty weights file, and no optimizer.pt
            from safetensors.torch import save_file
            save_file({}, str(step / "weights.safetensors"))
    return run


# -- the cases -----------------------------------------------------------------------------------
def case_1(d):
    src = chat(d / "X.log.jsonl")
    return ["data", "clean", str(src), "-o", str(d / "X.jsonl")], 2, [str(src), "log"]


def case_2(d):
    src = chat(d / "DIR" / "train.jsonl", 40)
    return ["data", "split", str(src), "-o", str(d / "DIR")], 2, [str(src), "split file"]


def case_3(d):
    data = chat(d / "test.jsonl")
    chat(d / "train.jsonl", 30)
    return (["eval", "--data", str(data), "--arm", "classical", "--train", str(d / "train.jsonl"),
             "--out", str(data)], 2, [str(data), "predictions file"])


def case_4(d):
    data = chat(d / "DIR" / "data" / "train.jsonl")
    cfg = d / "DIR" / "config.yaml"
    cfg.write_text("epochs: 1\n")
    return (["train", "--train", str(data), "--config", str(cfg), "--model", "tiny-random",
             "-o", str(d / "DIR")], 2, [str(d / "DIR"), "run folder"])


def case_5(d):
    # a path with markup in it, in an error message (used to crash the error handler)
    missing = d / "[/x]" / "[bold]data.jsonl"
    chat(d / "in.jsonl")
    return (["data", "split", str(missing), "-o", str(d / "out")], 2, [str(missing)])


def case_6(d):
    data = chat(d / "test.jsonl")
    chat(d / "train.jsonl", 30)
    (d / "preds").mkdir()
    return (["eval", "--data", str(data), "--arm", "classical", "--train", str(d / "train.jsonl"),
             "--out", str(d / "preds")], 2, [str(d / "preds"), "is a folder"])


def case_7(d):
    run = fake_run(d, damage="truncated")
    return ["train", "--resume", str(run)], 1, [f"cannot resume from {run}", "step-00000001"]


def case_7b(d):
    run = fake_run(d, damage="no_optimizer")
    return ["train", "--resume", str(run)], 1, [f"cannot resume from {run}", "optimizer.pt"]


def case_8(d):
    src = chat(d / "parts.jsonl", parts=True)
    return (["data", "clean", str(src), "-o", str(d / "c.jsonl")], 0,
            [f"{src}:1", "image_url", "non_text_parts_dropped"])


def case_9(d):
    chat(d / "data.jsonl", 120, labels=("$x_1$", "a$b^c", "<b>pos</b>"))
    cfg = d / "cfg.yaml"
    cfg.write_text(json.dumps({
        "data": {"path": "data.jsonl", "val_fraction": 0.1, "test_fraction": 0.2},
        "task": {"kind": "classification"}, "model": {"name": "tiny-random"},
        "arms": {"classical": True, "zero_shot": True, "k_shot": [],
                 "fine_tune": {"sizes": [8], "seeds": 1, "epochs": 1, "max_val": 4}},
        "max_eval": 12, "n_resamples": 100, "cost": {"price": "gpt-4o-mini"}}))
    return (["compare", str(cfg), "-o", str(d / "out")], 0, [str(d / "out" / "report.html")])


def case_10(d):
    (d / "cfgdir").mkdir()
    return ["compare", str(d / "cfgdir")], 2, [str(d / "cfgdir"), "not a config file"]


def case_10b(d):
    cfg = d / "c.yaml"
    cfg.write_text("epochs: .inf\n")
    chat(d / "train.jsonl")
    return (["train", "--train", str(d / "train.jsonl"), "--config", str(cfg)], 2,
            [str(cfg), "epochs"])


def case_11(d):
    (d / "a.jsonl").symlink_to(d / "b.jsonl")
    (d / "b.jsonl").symlink_to(d / "a.jsonl")
    return ["data", "check", str(d / "a.jsonl")], 2, [str(d / "a.jsonl"), "loop"]


def case_11b(d):
    env = {"TUNEWISE_RUNS_DB": str(d / "runs.db")}
    for name in ("r1", "r2"):
        (d / name).mkdir()
        (d / name / "run.json").write_text(json.dumps({"id": "same", "status": "done"}))
    assert run_cli("runs", "add", str(d / "r1"), env=env).returncode == 0
    return ["runs", "add", str(d / "r2")], 2, [str(d / "r1"), "already registered"], env


def case_12(d):
    chat(d / "in.jsonl", 40)
    return None, 1, [str(d / "in.jsonl"), "changed while it was being cleaned"]


def case_13(d):
    run = fake_run(d)
    return (["train", "--train", str(d / "train.jsonl"), "--model", "tiny-random",
             "--epochs", "1", "--batch-size", "4", "--precision", "fp32", "--seed", "3",
             "-o", str(run), "--resume", str(run)], 0, [str(run)])


def case_13b(d):
    run = fake_run(d)
    return (["train", "--train", str(d / "train.jsonl"), "--epochs", "2", "--seed", "3",
             "--resume", str(run)], 2, [str(run), "epochs: the run used 1, the command gives 2"])


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

#: run `data clean` with the input rewritten between its two passes (finding 12)
CHANGING = """
import sys, tunewise.data as d
real, calls = d.iter_examples, []
def changing(path, **kw):
    calls.append(1)
    if len(calls) == 3:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(open(path, encoding="utf-8").readline())
    return real(path, **kw)
d.iter_examples = changing
from tunewise.cli.main import main
main(sys.argv[1:])
"""


def sums(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("name", sorted(CASES, key=lambda n: (int(n.rstrip("b")), n)))
def test_issue8_finding(name, tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    spec = CASES[name](d)
    argv, code, texts = spec[:3]
    env = spec[3] if len(spec) > 3 else None
    before = sums(d)
    if argv is None:                      # finding 12: the input changes during the run
        src = d / "in.jsonl"
        r = subprocess.run([sys.executable, "-c", CHANGING, "data", "clean", str(src), "-o",
                            str(d / "out.jsonl")], text=True, capture_output=True, timeout=300)
        assert not (d / "out.jsonl").exists()
    else:
        r = run_cli(*argv, env={"COLUMNS": "300", **(env or {})})
    out = " ".join((r.stdout + r.stderr).split())
    assert r.returncode == code, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr[-3000:]
    for t in texts:
        assert t in out, (t, out[-3000:])
    if code != 0:
        assert "fix:" in out, out[-2000:]
    after = sums(d)
    changed = [p for p, h in before.items() if after.get(p) != h]
    if name in ("7", "7b", "13", "13b"):          # a resumed run updates its own folder only
        changed = [p for p in changed if "/run/" not in p]
    if name == "12":                              # the test itself appended to the input
        changed = [p for p in changed if not p.endswith("in.jsonl")]
    assert not changed, changed
