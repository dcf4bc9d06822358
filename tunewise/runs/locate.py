"""Finding a run folder (a path, or an id of the run registry) and checking it is what a command
needs: finished, a LoRA adapter with its files, trained on a given base model."""
from __future__ import annotations

import os
from pathlib import Path

from tunewise.errors import ModelError, UsageError
from tunewise.runs.layout import ADAPTER, RUN_JSON, read_run


def resolve_run(run: str | os.PathLike) -> tuple[Path, str | None]:
    """(run folder, registry id or None) for a folder path or a run-registry id."""
    from tunewise.store import get_run
    p = Path(run).expanduser()
    if p.is_dir():
        try:
            return p, get_run(str(p)).id
        except Exception:  # noqa: BLE001 - not registered: known by its path only
            return p, None
    try:
        rec = get_run(str(run))
    except UsageError as e:
        raise UsageError(f"run {str(run)!r}: not a folder, and {e.message}", fix=e.fix) from None
    return Path(rec.run_dir), rec.id


def same_base(a: str, b: str) -> bool:
    """Two model names for the same model (a name and its folder, two aliases)."""
    from tunewise.models.load import resolve
    if a == b:
        return True
    try:
        ra, rb = resolve(a), resolve(b)
    except Exception:  # noqa: BLE001
        return False
    return ra[0] == rb[0] or os.path.realpath(ra[1]) == os.path.realpath(rb[1])


def check_run(run_dir: str | os.PathLike, what: str | None = None, *, finished: bool = True,
              lora: bool = False, base_model: str | None = None,
              bare_adapter_ok: bool = False) -> dict:
    """run.json of ``run_dir`` after the checks a command needs (``what``: how the messages name
    it, default ``--adapter RUN_DIR``): it exists; it is a run folder (or, with
    ``bare_adapter_ok``, a PEFT adapter folder: {} is returned); ``finished``; ``lora`` with its
    adapter files; trained on ``base_model``."""
    p = Path(run_dir)
    what = what or f"--adapter {p}"
    if not p.exists():
        raise UsageError(f"{what}: no such folder",
                         fix="pass the run directory written by `tunewise train -o RUN_DIR`")
    if not (p / RUN_JSON).exists():
        if bare_adapter_ok and (p / "adapter_config.json").exists():
            return {}
        raise UsageError(f"{what}: not a tunewise run directory (no run.json)"
                         + (" nor a PEFT adapter folder (no adapter_config.json)"
                            if bare_adapter_ok else ""),
                         fix="pass the run directory written by `tunewise train -o RUN_DIR`")
    info = read_run(p)
    if finished and info.get("status") != "done":
        raise ModelError(f"{what}: the run has not finished (status {info.get('status')!r})",
                         fix=f"finish it with `tunewise train --resume {p}`")
    if lora and info.get("method") != "lora":
        raise ModelError(f"{what}: a {info.get('method')!r} fine-tuning run, not a LoRA "
                         "adapter", fix=f"serve its model folder as the base: --model {p / 'model'}")
    if base_model is not None and not same_base(str(info.get("model")), base_model):
        raise ModelError(f"{what}: trained on base model {info.get('model')!r}, not "
                         f"{base_model!r}",
                         fix="serve adapters of one base model per server (or pass its --model)")
    if lora and not ((p / ADAPTER / "adapter_config.json").is_file()
                     and (p / ADAPTER / "adapter_model.safetensors").is_file()):
        raise ModelError(f"{what}: {p / ADAPTER} lacks adapter_config.json or "
                         "adapter_model.safetensors", fix="train the run again")
    return info
