"""compare with many classes and long examples (issue #23): a default compare on a 77-intent set
finishes every arm; the fine-tuning prompt leaves out a long label list; the fine-tuning length
follows the data instead of aborting at 512 tokens; an arm that cannot run is reported with its
reason and fix in compare's own settings while the other arms run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tunewise.data.formats.writers import write_chat_jsonl
from tunewise.data.records import Example

CLINC = Path(__file__).parent / "fixtures" / "clinc77" / "clinc77_small.csv"
#: keep the tiny-model runs to seconds: one small fine-tuning run, few resamples
FAST = ("--model", "tiny-random", "--set", "arms.fine_tune.sizes=[16]",
        "--set", "arms.fine_tune.seeds=1", "--set", "arms.fine_tune.epochs=1",
        "--set", "n_resamples=100", "--set", "cost.price=null", "--set", "model.precision=fp32")


def _results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def test_compare_on_77_intents_finishes_every_arm_without_the_list_in_fine_tuning(tmp_path, cli):
    out = tmp_path / "out"
    r = cli("compare", "--data", str(CLINC), "-o", str(out), *FAST, "--set", "max_eval=16")
    assert r.returncode == 0, r.stderr + r.stdout
    res = _results(out)
    assert len(res["task"]["labels"]) == 77
    names = {a["name"] for a in res["arms"]}
    assert {"majority", "classical", "zero-shot", "4-shot", "finetune-n16-s0"} <= names
    assert res["failed_arms"] == []
    # the prompting arms list the 77 labels; the fine-tune learned them without the list
    run = json.loads((out / "runs" / "finetune-n16-s0" / "run.json").read_text())
    assert "{labels}" not in run["task"]["template"]["system"]
    tokens = {a["name"]: a["tokens"]["prompt"] for a in res["arms"] if a.get("tokens")}
    assert tokens["finetune-n16-s0"] < tokens["zero-shot"] / 3


def _sentiment(n: int, seed: int, long_text: str | None = None) -> list[Example]:
    words = {"pos": "great fine good nice", "neg": "bad awful poor dull"}
    out = [Example.from_text(f"{words[lab].split()[i % 4]} film #{seed}-{i}", lab, label=lab)
           for i, lab in enumerate(["pos", "neg"] * (n // 2))]
    if long_text:
        out[0] = Example.from_text(long_text, "pos", label="pos")
    return out


@pytest.fixture
def long_splits(tmp_path):
    """Pre-made splits whose training file holds one example of ~700 tokens."""
    d = tmp_path / "data"
    d.mkdir()
    long_text = " ".join(f"word{i}" for i in range(300))
    for name, n, seed, text in (("train", 16, 1, long_text), ("test", 12, 3, None)):
        write_chat_jsonl(d / f"{name}.jsonl", _sentiment(n, seed, text))
    return d


def _split_args(d: Path) -> tuple[str, ...]:
    return ("--data", str(d / "train.jsonl"), "--test", str(d / "test.jsonl"), *FAST,
            "--set", "arms.fine_tune.sizes=[all]", "--set", "arms.k_shot=[]")


def test_a_long_training_example_no_longer_stops_compare(long_splits, tmp_path, cli):
    out = tmp_path / "out"
    r = cli("compare", *_split_args(long_splits), "-o", str(out))
    assert r.returncode == 0, r.stderr + r.stdout
    res = _results(out)
    assert res["failed_arms"] == []
    assert "finetune-n16-s0" in {a["name"] for a in res["arms"]}
    run = json.loads((out / "runs" / "finetune-n16-s0" / "run.json").read_text())
    assert run["config"]["max_length"] == 0               # auto: the data decides
    assert run["tokens"]["examples"] == 16                # the long one trained, not dropped


def test_an_arm_that_cannot_run_is_reported_and_the_others_run(long_splits, tmp_path, cli):
    """A fixed max_length below the long example: the fine-tuning arm fails with a fix that
    names compare's setting (not `tunewise train --max-length`); every other arm runs, the
    report lists the failure, and the exit status is the error's."""
    out = tmp_path / "out"
    r = cli("compare", *_split_args(long_splits), "-o", str(out),
            "--set", "arms.fine_tune.config.max_length=128")
    assert r.returncode == 1, r.stderr + r.stdout
    assert "Traceback" not in r.stderr + r.stdout
    res = _results(out)
    assert {"majority", "classical", "zero-shot"} <= {a["name"] for a in res["arms"]}
    [failed] = res["failed_arms"]
    assert failed["name"] == "finetune-n16-s0" and failed["status"] == "failed"
    assert failed["kind"] == "finetune" and failed["error"] == "TrainingError"
    assert "max_length=128" in failed["reason"]
    assert "arms.fine_tune.config.max_length" in failed["fix"]
    assert "--max-length" not in failed["fix"] and "--set" in failed["fix"]
    assert "could not run" in " ".join(res["warnings"])
    assert "Arms that could not run" in (out / "report.md").read_text()
    assert "finetune-n16-s0" in r.stdout and "arms.fine_tune.config.max_length" in r.stdout


def test_fix_texts_name_the_running_commands_settings():
    import torch

    from tunewise.comparison.config import KNOBS
    from tunewise.knobs import knob, knob_style
    from tunewise.training.config import TrainConfig
    from tunewise.training.hardware import out_of_memory_error
    assert knob("max_length", 600) == "--max-length 600"            # tunewise train / eval
    with knob_style(KNOBS):                                          # tunewise compare
        assert knob("max_length", 600) == ("arms.fine_tune.config.max_length: 600, or --set "
                                           "arms.fine_tune.config.max_length=600")
        assert knob("method", "generate").startswith("model.method: generate")
        oom = out_of_memory_error(RuntimeError("out of memory"), torch.device("cpu"), 8,
                                  TrainConfig())
    assert knob("lr") == "--lr"                                     # restored after the block
    assert "arms.fine_tune.config.batch_size" in oom.fix and "--batch-size" not in oom.fix
    assert "arms.fine_tune.config.max_length" in oom.fix and "--max-length" not in oom.fix
