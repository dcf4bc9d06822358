"""The run folder a training run leaves behind: its layout, and its small files read and written.

::

    RUN_DIR/
      run.json          model, method, task (task.to_config()), config, seed, status, best_epoch,
                        metrics (best epoch's validation metrics), history, token counts, timing,
                        hardware (device, precision, speed tricks, batch split)
      config.yaml       the full TrainConfig (defaults + file + flags) as used
      metrics.jsonl     one row per logged step ("kind": "train") and per epoch ("kind": "eval")
      data/train.jsonl  the training examples as used (chat JSONL with gold keys and source meta)
      data/val.jsonl    the validation examples (carved from --train when no --val was given)
      eval/epoch-N.jsonl  validation predictions of each epoch
      adapter/          PEFT save_pretrained (adapter_config.json + adapter_model.safetensors)
      model/            full fine-tuning: the whole model + tokenizer (safetensors)
      merged/           --merge: base model with the adapter merged in (safetensors + tokenizer)
      checkpoints/      step-NNNNNNNN/ (resumable) and best/ (best epoch's weights)
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from tunewise.data.records import Example
from tunewise.errors import InputError
from tunewise.fileio import write_json, write_jsonl, write_text

RUN_JSON = "run.json"
CONFIG_YAML = "config.yaml"
METRICS = "metrics.jsonl"
ADAPTER = "adapter"
FULL_MODEL = "model"
MERGED = "merged"
#: the files a new run writes first (relative to RUN_DIR); none of them may be an input
RUN_FILES = (RUN_JSON, CONFIG_YAML, METRICS, "data/train.jsonl", "data/val.jsonl")


def read_run(run_dir: str | os.PathLike) -> dict:
    """RUN_DIR/run.json as a dict; InputError when the folder is not a run directory."""
    p = Path(run_dir)
    f = p / RUN_JSON
    if not f.is_file():
        raise InputError(f"{p} is not a tunewise run directory (no {RUN_JSON})",
                         fix="pass the folder written by `tunewise train -o RUN_DIR`")
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{f}: cannot read: {e}",
                         fix="the run directory is damaged; train again") from None


def run_state(run_dir: str | os.PathLike) -> str:
    """"absent", "done" (finished), "unfinished" (has a checkpoint to resume) or "broken"."""
    p = Path(run_dir)
    if not p.exists():
        return "absent"
    try:
        info = json.loads((p / RUN_JSON).read_text())
    except (OSError, ValueError):
        info = {}
    if info.get("status") == "done":
        return "done"
    ck = p / "checkpoints"
    return "unfinished" if ck.is_dir() and any(ck.iterdir()) else "broken"


def write_run(run_dir: Path, info: dict) -> None:
    write_json(Path(run_dir) / RUN_JSON, info)


def write_config_text(run_dir: Path, text: str) -> None:
    """RUN_DIR/config.yaml (the training config as YAML text)."""
    write_text(Path(run_dir) / CONFIG_YAML, text)


def write_metrics(run_dir: Path, rows: Sequence[dict]) -> None:
    write_jsonl(Path(run_dir) / METRICS, rows)


def write_examples(path: Path, examples: Sequence[Example]) -> None:
    write_jsonl(path, (ex.to_chat_dict(with_gold=True, with_meta=True) for ex in examples))


def read_examples(path: Path) -> list[Example]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(Example.from_chat_dict(json.loads(line)))
    return out


def write_predictions(path: Path, examples: Sequence[Example], preds) -> None:
    rows = []
    for ex, p in zip(examples, preds):
        rows.append({"where": ex.where(), "gold": p.gold, "pred": p.pred, "raw": p.raw})
    write_jsonl(path, rows)
