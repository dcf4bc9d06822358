"""The weights of a run folder: saving them, loading them back with the run's Task, merging a LoRA
adapter into its base model.

``load_run(RUN_DIR) -> (LoadedModel, Task)`` is what ``tunewise eval --adapter``, ``compare`` and
``export`` use.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from tunewise.errors import InputError, TrainingError
from tunewise.fileio import atomic_dir
from tunewise.outputs_guard import save_error
from tunewise.runs.layout import ADAPTER, FULL_MODEL, MERGED, read_run, write_run


def _save_folder(final: Path, save) -> Path:
    """``save(tmp)`` into a temporary sibling, renamed over ``final`` when complete."""
    tmp, commit = atomic_dir(final)
    try:
        save(tmp)
        commit()
    except (OSError, RuntimeError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise save_error(e, tmp.parent / final.name, "model folder") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def save_final(run_dir: Path, model, tokenizer, method: str) -> Path:
    """adapter/ (PEFT) or model/ (full), written to a temp folder and renamed into place."""
    def save(tmp):
        model.save_pretrained(str(tmp), safe_serialization=True)
        if method != "lora":
            tokenizer.save_pretrained(str(tmp))
    return _save_folder(Path(run_dir) / (ADAPTER if method == "lora" else FULL_MODEL), save)


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
    p = Path(run_dir)
    info = read_run(p)
    if info.get("method") == "full":
        raise TrainingError(f"{p} is a full fine-tuning run: RUN_DIR/{FULL_MODEL} is already a "
                            f"plain model folder", fix=f"use {p / FULL_MODEL} directly")
    lm, _ = load_run(p)
    model = lm.model.merge_and_unload()

    def save(tmp):
        model.save_pretrained(str(tmp), safe_serialization=True)
        lm.tokenizer.save_pretrained(str(tmp))
    final = _save_folder(p / MERGED, save)
    info.setdefault("artifacts", {})["merged"] = MERGED
    write_run(p, info)
    return final
