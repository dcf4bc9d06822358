"""``train --resume RUN`` with the flags of the original command: each flag whose value equals the
run's own setting is accepted (re-running the same command plus ``--resume`` is what users of other
trainers do); only a real change is refused, naming the field and both values.

A run's settings: ``config.yaml`` (the TrainConfig as used), ``run.json`` (model, task, the
training / validation sources and their sha256), and the folder itself (``-o``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from tunewise.errors import ConfigError, TrainingError


def resume_error(run_dir: "str | os.PathLike", why: str, fix: str | None = None) -> TrainingError:
    """``cannot resume from RUN: WHY`` with a fix (exit 1)."""
    return TrainingError(f"cannot resume from {run_dir}: {why}",
                         fix=fix or f"start a new run from the same data (another -o folder); "
                                    f"{run_dir} itself is left as it is")


def file_sha256(path: "str | os.PathLike") -> str | None:
    """sha256 of a data file, or None when it is not a readable file (a list of examples...)."""
    if not isinstance(path, (str, os.PathLike)) or not Path(path).is_file():
        return None
    import hashlib
    try:
        with open(path, "rb") as fh:        # the digest data/splitting.py records for a split
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return None


def _same_data(given, source: str | None, digest: str | None) -> bool:
    from tunewise.outputs_guard import same_file
    if not isinstance(given, (str, os.PathLike)):
        return False
    if digest is not None:                     # the same bytes, wherever the file now lives
        return file_sha256(given) == digest
    return source is not None and same_file(given, source)


def check_resume_flags(run_dir: Path, info: Mapping[str, Any], cfg, *, train=None, val=None,
                       model=None, config=None, out=None, task=None,
                       overrides: Mapping[str, Any] | None = None) -> None:
    """Raise ConfigError listing every given setting that differs from the run's own."""
    from tunewise.outputs_guard import same_file
    from tunewise.training.config import read_yaml
    changes: list[str] = []
    if train is not None and not _same_data(train, info.get("train_source"),
                                            info.get("train_sha256")):
        changes.append(f"train: {train} is not the run's training data "
                       f"({info.get('train_source')}, or its content changed)")
    if val is not None:
        if info.get("val_carved"):
            changes.append(f"val: the run carved its validation set from the training data "
                           f"({info.get('val_source')}); --val {val} would change it")
        elif not _same_data(val, info.get("val_source"), info.get("val_sha256")):
            changes.append(f"val: {val} is not the run's validation data "
                           f"({info.get('val_source')}, or its content changed)")
    if out is not None and not same_file(out, run_dir):
        changes.append(f"out: the run's folder is {run_dir}, -o gives {out}")
    if task is not None:
        run_task = (info.get("task") or {}).get("kind")
        given = task if isinstance(task, str) else getattr(task, "kind", task)
        if given != run_task:
            changes.append(f"task: the run's is {run_task!r}, given {given!r}")
    # settings: the keys the config file names, then the flags (which win over the file)
    wanted: dict[str, Any] = {}
    if config is not None and isinstance(config, (str, os.PathLike)):
        wanted.update(read_yaml(config))
    elif isinstance(config, Mapping):
        wanted.update(config)
    if model is not None:
        wanted["model"] = model
    wanted.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if wanted:
        new = cfg.merged(wanted, source=f"--resume {run_dir}")
        old_d, new_d = _flat(cfg.to_dict()), _flat(new.to_dict())
        for key in sorted(new_d):
            if new_d[key] != old_d.get(key):
                changes.append(f"{key}: the run used {old_d.get(key)!r}, the command gives "
                               f"{new_d[key]!r}")
    if changes:
        raise ConfigError(changes, source=f"--resume {run_dir}", fix=(
            "a resumed run continues with its own settings: drop the changed flags to resume, "
            "or start a new run (another -o folder) to train with the new ones"))


def _flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
