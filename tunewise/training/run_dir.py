"""The run directory a training run leaves behind, and loading it back.

::

    RUN_DIR/
      run.json          model, method, task (task.to_config()), config, seed, status, best_epoch,
                        metrics (best epoch's validation metrics), history, token counts, timing
      config.yaml       the full TrainConfig (defaults + file + flags) as used
      metrics.jsonl     one row per logged step ("kind": "train") and per epoch ("kind": "eval")
      data/train.jsonl  the training examples as used (chat JSONL with gold keys and source meta)
      data/val.jsonl    the validation examples (carved from --train when no --val was given)
      eval/epoch-N.jsonl  validation predictions of each epoch
      adapter/          PEFT save_pretrained (adapter_config.json + adapter_model.safetensors)
      model/            full fine-tuning: the whole model + tokenizer (safetensors)
      merged/           --merge: base model with the adapter merged in (safetensors + tokenizer)
      checkpoints/      step-NNNNNNNN/ (resumable) and best/ (best epoch's weights)

``load_run(RUN_DIR) -> (LoadedModel, Task)`` is what ``tunewise eval --adapter`` and ``compare`` use.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Sequence

from tunewise.data.records import Example
from tunewise.errors import InputError, TrainingError
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


def write_run(run_dir: Path, info: dict) -> None:
    write_json(Path(run_dir) / RUN_JSON, info)


def write_config(run_dir: Path, cfg) -> None:
    from tunewise.training.config import dump_yaml
    write_text(Path(run_dir) / CONFIG_YAML, dump_yaml(cfg))


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


def save_final(run_dir: Path, model, tokenizer, method: str) -> Path:
    """adapter/ (PEFT) or model/ (full), written to a temp folder and renamed into place."""
    from tunewise.training.checkpoint import _atomic_dir
    final = Path(run_dir) / (ADAPTER if method == "lora" else FULL_MODEL)
    tmp, commit = _atomic_dir(final)
    try:
        model.save_pretrained(str(tmp), safe_serialization=True)
        if method != "lora":
            tokenizer.save_pretrained(str(tmp))
        commit()
    except (OSError, RuntimeError) as e:
        from tunewise.training.checkpoint import _save_error
        shutil.rmtree(tmp, ignore_errors=True)
        raise _save_error(e, tmp.parent / final.name) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def task_from_run(info: dict):
    """Rebuild the run's Task from run.json."""
    from tunewise.tasks import task_from_config
    return task_from_config(info.get("task") or {})


def load_run(run_dir: str | os.PathLike, *, merged: bool = False, memo: bool = False):
    """The trained model of a run directory and its Task: ``(LoadedModel, Task)``.

    LoRA runs load the base model named in run.json with RUN_DIR/adapter on top (or RUN_DIR/merged
    with ``merged=True``); full fine-tuning runs load RUN_DIR/model.
    """
    from tunewise.models.load import load_model
    p = Path(run_dir)
    info = read_run(p)
    task = task_from_run(info)
    if info.get("status") != "done":
        raise TrainingError(f"{p}: the run has not finished (status {info.get('status')!r})",
                            fix=f"finish it with `tunewise train --resume {p}`")
    if merged:
        if not (p / MERGED).is_dir():
            raise InputError(f"{p} has no {MERGED}/ folder",
                             fix=f"write it with `tunewise train --merge --resume {p}`")
        lm = load_model(str(p / MERGED), memo=memo)
    elif info.get("method") == "full":
        lm = load_model(str(p / FULL_MODEL), memo=memo)
    else:
        if not (p / ADAPTER).is_dir():
            raise InputError(f"{p} has no {ADAPTER}/ folder", fix="train again; the run is incomplete")
        lm = load_model(info["model"], adapter=str(p / ADAPTER), memo=memo)
    lm.name = f"{info.get('model')}+{p.name}"
    return lm, task


def merge_run(run_dir: str | os.PathLike) -> Path:
    """Write RUN_DIR/merged/: the base model with the LoRA adapter folded into its weights (a
    plain model folder any tool loads, no PEFT needed)."""
    from tunewise.training.checkpoint import _atomic_dir
    p = Path(run_dir)
    info = read_run(p)
    if info.get("method") == "full":
        raise TrainingError(f"{p} is a full fine-tuning run: RUN_DIR/{FULL_MODEL} is already a "
                            f"plain model folder", fix=f"use {p / FULL_MODEL} directly")
    lm, _ = load_run(p)
    model = lm.model.merge_and_unload()
    final = p / MERGED
    tmp, commit = _atomic_dir(final)
    try:
        model.save_pretrained(str(tmp), safe_serialization=True)
        lm.tokenizer.save_pretrained(str(tmp))
        commit()
    except (OSError, RuntimeError) as e:
        from tunewise.training.checkpoint import _save_error
        shutil.rmtree(tmp, ignore_errors=True)
        raise _save_error(e, tmp.parent / final.name) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    info.setdefault("artifacts", {})["merged"] = MERGED
    write_run(p, info)
    return final
