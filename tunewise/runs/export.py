"""``tunewise export RUN --to DIR [--merged]``: a run's weights in a layout other tools load.

- default (LoRA runs): DIR holds ``adapter_config.json`` + ``adapter_model.safetensors`` (what
  ``PeftModel.from_pretrained`` and ``vllm serve BASE --enable-lora --lora-modules NAME=DIR``
  load) plus the base model's tokenizer files and ``tunewise-export.json`` (run, base model and
  its folder, file checksums). ``base_model_name_or_path`` in the adapter config names the base
  model folder the adapter was trained on.
- ``--merged``: the base model with the adapter folded into its weights (full fine-tuning runs:
  their model) as a plain safetensors model folder with its tokenizer; no PEFT needed to load it.

The run directory is only read. DIR is written to a temporary sibling and renamed into place;
an existing non-empty DIR is refused.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
from pathlib import Path

from tunewise.errors import InputError, UsageError

MANIFEST = "tunewise-export.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export_run(run: str | os.PathLike, to: str | os.PathLike, *, merged: bool = False) -> dict:
    """Write ``run``'s adapter (or, with ``merged``, a merged model) into folder ``to``.

    ``run``: a run directory or a run-registry id. Returns the manifest written to
    ``to/tunewise-export.json`` (kind, run, base model, files with their sha256).
    """
    from tunewise.models.load import resolve
    from tunewise.fileio import atomic_dir
    from tunewise.runs.layout import ADAPTER, FULL_MODEL, read_run
    from tunewise.runs.locate import resolve_run
    run_dir, run_id = resolve_run(run)
    info = read_run(run_dir)
    if info.get("status") != "done":
        raise UsageError(f"{run_dir}: the run has not finished (status {info.get('status')!r})",
                         fix=f"finish it with `tunewise train --resume {run_dir}`")
    out = Path(to)
    if out.resolve().is_relative_to(run_dir.resolve()):
        raise UsageError(f"--to {out}: inside the run folder {run_dir}, which export only reads",
                         fix="export to a folder outside the run, e.g. --to "
                             f"{run_dir.resolve().parent / (run_dir.name + '-export')}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--to {out}: already exists and is not an empty folder",
                         fix="choose a new folder (export never overwrites)")
    method = info.get("method")
    if method != "lora" and not merged:
        raise UsageError(f"{run_dir} is a {method!r} fine-tuning run: there is no adapter",
                         fix=f"use --merged (or {run_dir / FULL_MODEL} directly)")
    base_display, base_path = resolve(str(info.get("model")))
    tmp, commit = atomic_dir(out)
    try:
        if merged:
            kind = "merged"
            from tunewise.runs.weights import load_run
            lm, _ = load_run(run_dir)
            model = lm.model.merge_and_unload() if hasattr(lm.model, "merge_and_unload") \
                else lm.model
            model.save_pretrained(str(tmp), safe_serialization=True)
            lm.tokenizer.save_pretrained(str(tmp))
        else:
            kind = "adapter"
            src = run_dir / ADAPTER
            for name in ("adapter_config.json", "adapter_model.safetensors"):
                if not (src / name).is_file():
                    raise InputError(f"{src / name} is missing", fix="train the run again")
            cfg = json.loads((src / "adapter_config.json").read_text(encoding="utf-8"))
            cfg["base_model_name_or_path"] = base_path
            (tmp / "adapter_config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
            shutil.copyfile(src / "adapter_model.safetensors", tmp / "adapter_model.safetensors")
            from tunewise.models.load import load_tokenizer
            load_tokenizer(str(info.get("model"))).save_pretrained(str(tmp))
        files = {p.name: _sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = {"kind": kind, "run_dir": str(run_dir.resolve()), "run_id": run_id,
                    "base_model": base_display, "base_model_path": base_path,
                    "task": info.get("task"),
                    "exported": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if out.exists():  # an empty folder: atomic_dir's commit replaces it
            out.rmdir()
        commit()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest["to"] = str(out)
    return manifest
