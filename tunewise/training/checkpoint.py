"""Resumable checkpoints, written atomically.

A checkpoint is a folder ``RUN_DIR/checkpoints/step-00000123/`` holding

- ``weights.safetensors``: the trainable parameters (LoRA adapter weights, or every weight for full
  fine-tuning), by parameter name
- ``optimizer.pt`` / ``scheduler.pt``: their ``state_dict()``s
- ``rng.pt``: python, numpy and torch random states (so dropout continues identically)
- ``state.json``: where training stands (epoch, next batch of the epoch = the data-order position,
  optimizer step, best epoch so far, metric history, timing totals)

It is written into a hidden temporary folder and renamed into place, so a kill -9 at any moment
leaves either the previous checkpoint or the new one, never a half-written one. Everything is read
back with ``torch.load(weights_only=True)`` (no pickled code runs) or safetensors.

The best epoch's weights live apart in ``checkpoints/best/`` and are never rotated away.
"""
from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunewise.errors import TrainingError
from tunewise.fileio import atomic_dir, restore_old_dirs
from tunewise.models.device import cuda_count
from tunewise.outputs_guard import save_error

STEP_PREFIX = "step-"
BEST = "best"
_DONE = "state.json"  # written last: a folder without it is incomplete


def trainable_state(model) -> dict:
    """Trainable parameters by name, detached CPU copies (safe to save while training goes on)."""
    return {n: p.detach().to("cpu").clone().contiguous()
            for n, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model, weights: dict) -> None:
    """Copy saved trainable parameters back into ``model`` (names must match exactly)."""
    import torch
    params = dict(model.named_parameters())
    missing = [n for n, p in params.items() if p.requires_grad and n not in weights]
    unknown = [n for n in weights if n not in params]
    if missing or unknown:
        raise TrainingError(
            f"checkpoint does not match the model: {len(missing)} missing and {len(unknown)} "
            f"unexpected weights (e.g. {(missing or unknown)[0]})",
            fix="resume with the same model, method and LoRA settings as the original run")
    with torch.no_grad():
        for n, t in weights.items():
            params[n].copy_(t.to(params[n].dtype))


# -- RNG --------------------------------------------------------------------------------------
def rng_state() -> dict:
    """Python, numpy and torch RNG states as tensors / plain values (loadable weights_only)."""
    import numpy as np
    import torch
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
             "torch": torch.get_rng_state()}
    if cuda_count():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import numpy as np
    import torch
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and cuda_count():
        torch.cuda.set_rng_state_all(state["cuda"])


# -- save / load ------------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """A loaded checkpoint."""

    path: Path
    weights: dict
    optimizer: dict | None
    scheduler: dict | None
    rng: dict | None
    state: dict


def recover_leftovers(run_dir: Path) -> list[str]:
    """Undo a crash between the two renames of an atomic folder save in the run folder and its
    checkpoints (``fileio.restore_old_dirs``). Returns what was done."""
    return restore_old_dirs(Path(run_dir)) + restore_old_dirs(Path(run_dir) / "checkpoints")


def _save_error(exc: BaseException, folder: Path):
    return save_error(exc, folder, "checkpoint")


def save_checkpoint(folder: Path, *, weights: dict, state: dict, optimizer=None,
                    scheduler=None, rng: dict | None = None) -> Path:
    """Write a checkpoint folder atomically (temp folder + rename). ``rng``: the random states
    to store (e.g. ``{"ranks": [rng_state(), ...]}``, one per process)."""
    import torch
    from safetensors.torch import save_file
    try:
        tmp, commit = atomic_dir(Path(folder))
    except OSError as e:
        raise _save_error(e, Path(folder)) from None
    try:
        save_file(weights, str(tmp / "weights.safetensors"))
        if optimizer is not None:
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        if scheduler is not None:
            torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        if rng is not None:
            torch.save(rng, tmp / "rng.pt")
        with open(tmp / _DONE, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=2, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        commit()
    except (OSError, RuntimeError) as e:     # torch.save reports a failed write as RuntimeError
        shutil.rmtree(tmp, ignore_errors=True)
        raise _save_error(e, Path(folder)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Path(folder)


def load_checkpoint(folder: Path) -> Checkpoint:
    """Read a checkpoint folder (weights_only loads only)."""
    import torch
    from safetensors.torch import load_file
    folder = Path(folder)
    if not (folder / _DONE).exists():
        raise TrainingError(f"{folder} is not a complete checkpoint (no {_DONE})",
                            fix="remove it and resume from an earlier checkpoint")
    try:
        weights = load_file(str(folder / "weights.safetensors"))

        def opt(name):
            p = folder / name
            return torch.load(p, weights_only=True, map_location="cpu") if p.exists() else None
        state = json.loads((folder / _DONE).read_text(encoding="utf-8"))
        return Checkpoint(folder, weights, opt("optimizer.pt"), opt("scheduler.pt"),
                          opt("rng.pt"), state)
    except Exception as e:  # noqa: BLE001 - OSError, RuntimeError, SafetensorError (truncated)...
        raise TrainingError(f"cannot read checkpoint {folder}: {type(e).__name__}: {e}",
                            fix="remove this checkpoint folder to resume from an earlier one") from None


def step_dir(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"{STEP_PREFIX}{step:08d}"


def best_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints" / BEST


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Complete step checkpoints, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir()
             if p.is_dir() and p.name.startswith(STEP_PREFIX) and (p / _DONE).exists()]
    return sorted(found, key=lambda p: int(p.name[len(STEP_PREFIX):]))


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` step checkpoints and any leftover temp folders."""
    root = Path(run_dir) / "checkpoints"
    for p in list_checkpoints(run_dir)[:-keep] if keep > 0 else []:
        shutil.rmtree(p, ignore_errors=True)
    if root.is_dir():
        for p in root.iterdir():
            if p.name.startswith(".") and p.name.endswith(".tmp"):
                shutil.rmtree(p, ignore_errors=True)


def read_state(folder: Path) -> dict[str, Any]:
    return json.loads((Path(folder) / _DONE).read_text(encoding="utf-8"))
