"""Local fine-tuning (LoRA or full) with answer-only loss, evaluation every epoch, early stopping,
atomic checkpoints and resume.

::

    from tunewise.training import train, load_run
    result = train("train.jsonl", val="val.jsonl", out="runs/sentiment", epochs=3, lora_r=8)
    print(result.metrics, result.run_dir)
    lm, task = load_run("runs/sentiment")          # what `tunewise eval --adapter` uses

The recipe itself reads top to bottom in ``tunewise/training/recipe.py``; settings and their
defaults are in ``tunewise/training/config.py``.
"""
from __future__ import annotations

import datetime as _dt
import os
import random
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Sequence

from tunewise.training.config import LoraConfig, TrainConfig, load_config  # noqa: F401
from tunewise.runs import load_run, merge_run, read_run  # noqa: F401  (the run folder's API)

__all__ = ["train", "load_run", "merge_run", "TrainConfig", "LoraConfig", "TrainResult",
           "carve_validation", "show_mask"]


def __getattr__(name: str):
    if name == "TrainResult":
        from tunewise.training.recipe import TrainResult
        return TrainResult
    raise AttributeError(name)


def _read(data, what: str) -> tuple[list, str]:
    """(examples, source description) from a path or a list of Example."""
    if isinstance(data, (str, os.PathLike)):
        from tunewise.data.reading import read
        return list(read(data)), str(data)
    if data is None:
        from tunewise.errors import UsageError
        raise UsageError(f"no {what} data given", fix="pass --train FILE")
    return list(data), "<examples>"


def carve_validation(examples: Sequence, fraction: float, seed: int) -> tuple[list, list]:
    """Split off ``fraction`` of ``examples`` as validation, seeded and stratified by gold answer
    (each answer class with >= 2 examples gives at least one). When nearly every gold answer is
    distinct (generation), the split is a plain seeded random one. Returns (train, val)."""
    rng = random.Random(f"tunewise-val:{seed}")
    n = len(examples)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        groups[ex.gold_key()].append(i)
    val_idx: set[int] = set()
    if len(groups) <= max(2, n // 2):
        for key in sorted(groups):
            idx = groups[key]
            rng.shuffle(idx)
            k = max(1, round(len(idx) * fraction)) if len(idx) >= 2 else 0
            val_idx.update(idx[:k])
    else:
        idx = list(range(n))
        rng.shuffle(idx)
        val_idx.update(idx[:max(1, round(n * fraction))])
    train = [ex for i, ex in enumerate(examples) if i not in val_idx]
    val = [ex for i, ex in enumerate(examples) if i in val_idx]
    return train, val


def model_selection_text(n_labelled: int, n_val: int, carved: bool, cfg: TrainConfig) -> str:
    """Which epoch is kept and why, in words (run.json ``model_selection``, logs, reports)."""
    if n_val == 0:
        return (f"no validation: {n_labelled} labelled examples is below min_val_carve "
                f"{cfg.min_val_carve}; all are trained on for the fixed budget, no early "
                "stopping, the last epoch is kept")
    where = f"{n_val} examples carved from the {n_labelled}" if carved else \
        f"{n_val} examples of the validation file"
    return f"best epoch on validation ({where}), early stopping patience {cfg.patience}"


def _resolve_task(task, examples):
    from tunewise.tasks import make_task
    from tunewise.tasks.base import Task
    if isinstance(task, Task):
        return task
    if isinstance(task, dict):
        from tunewise.tasks import task_from_config
        return task_from_config(task)
    return make_task(task, examples)  # kind name or None (inferred)


def _default_out(cfg: TrainConfig) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    from tunewise.fileio import safe_filename
    model = safe_filename(Path(cfg.model).name)
    return Path("runs") / safe_filename(f"{stamp}-{model}-{cfg.method}")


def train(train: Any = None, *, val: Any = None, model: str | None = None,
          config: "str | os.PathLike | TrainConfig | dict | None" = None,
          out: "str | os.PathLike | None" = None, resume: "str | os.PathLike | None" = None,
          task: Any = None, say: Callable[[str], None] | None = None, progress: bool = True,
          **overrides) -> "TrainResult":
    """Fine-tune ``model`` on ``train`` and evaluate every epoch on ``val``.

    - ``train`` / ``val``: a data file (any format ``tunewise.data.read`` knows) or a list of
      ``Example``. Without ``val``, ``val_fraction`` of ``train`` is carved off (seeded,
      stratified) and recorded in RUN_DIR/data/val.jsonl -- unless ``train`` has fewer than
      ``min_val_carve`` examples: then all are trained on for the fixed budget with no early
      stopping and the last epoch is kept (run.json ``model_selection`` says which was used).
    - ``config``: a YAML path, a TrainConfig or a dict; ``overrides`` (TrainConfig field names,
      plus ``lora_r``, ``lora_alpha``, ``lora_dropout``, ``lora_targets``) win over it.
    - ``task``: a Task, a task kind name, or None (inferred from the data).
    - ``out``: the run directory (default ``runs/<time>-<model>-<method>``); it must not hold
      another run.
    - ``resume``: a run directory to continue from its last checkpoint (data, task and config come
      from the directory; pass no other settings).

    Returns a ``TrainResult``; files are described in ``tunewise.runs.layout``.
    """
    from tunewise import runs as rd
    from tunewise.training import distributed, recipe
    say = say or (lambda msg: print(msg, flush=True))

    if resume is not None:
        return _resume(Path(resume), train=train, val=val, model=model, config=config, out=out,
                       task=task, say=say, progress=progress, overrides=overrides)

    if model is not None:
        overrides = {**overrides, "model": model}
    dist = distributed.init(_config(config, overrides, 1).device)   # NCCL on CUDA, else gloo
    cfg = _config(config, overrides, dist.world_size)
    train_examples, val_examples, run_info = _split(train, val, cfg)
    the_task = _resolve_task(task, train_examples + val_examples)
    run_info["task"] = the_task.to_config()

    out_path = _run_folder(out, cfg, {"--train file": train, "--val file": val,
                                      "--config file": config})
    out_path = Path(distributed.broadcast(dist, str(out_path)))
    if dist.is_main:
        out_path.mkdir(parents=True, exist_ok=True)
        from tunewise.training.config import dump_yaml
        rd.write_config_text(out_path, dump_yaml(cfg))
        rd.write_examples(out_path / "data" / "train.jsonl", train_examples)
        rd.write_examples(out_path / "data" / "val.jsonl", val_examples)
    distributed.barrier(dist)
    result = recipe.run(train_examples, val_examples, the_task, cfg, out_path,
                        run_info=run_info, say=say, progress=progress)
    if dist.is_main:
        _record(out_path, say)
    return result


def _config(config, overrides: dict, world_size: int) -> TrainConfig:
    """The run's TrainConfig: ``config`` (a TrainConfig, a mapping or a YAML path) with
    ``overrides`` over it, checked for ``world_size`` processes."""
    if isinstance(config, TrainConfig):
        return config.merged(overrides).validate(world_size=world_size)
    if isinstance(config, dict):
        return load_config(None, {**config, **overrides}, world_size=world_size)
    return load_config(config, overrides, world_size=world_size)


def _split(train, val, cfg: TrainConfig) -> tuple[list, list, dict]:
    """(training examples, validation examples, run.json facts about them): the validation file,
    or a carved split from ``min_val_carve`` labelled examples on, or none below."""
    from tunewise.errors import UsageError
    from tunewise.training.resume_check import file_sha256
    train_examples, train_source = _read(train, "training")
    if not train_examples:
        raise UsageError(f"{train_source}: no training examples", fix="pass a non-empty --train file")
    n_labelled = len(train_examples)
    if val is not None:
        val_examples, val_source = _read(val, "validation")
        carved = False
        if not val_examples:
            raise UsageError("no validation examples", fix="pass a non-empty --val FILE")
    elif n_labelled < cfg.min_val_carve:
        val_examples, carved = [], False
        val_source = (f"none: {n_labelled} labelled examples < min_val_carve "
                      f"{cfg.min_val_carve}, all trained on")
    else:
        train_examples, val_examples = carve_validation(train_examples, cfg.val_fraction, cfg.seed)
        val_source = f"carved from {train_source}: {cfg.val_fraction:g} stratified, seed {cfg.seed}"
        carved = True
        if not val_examples:
            raise UsageError("no validation examples could be carved",
                             fix="pass --val FILE, or raise --val-fraction")
    info = {"model": cfg.model, "method": cfg.method, "task": None,
            "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "train_source": train_source, "val_source": val_source, "val_carved": carved,
            "n_train": len(train_examples), "n_val": len(val_examples),
            "n_labelled": n_labelled,
            "model_selection": model_selection_text(n_labelled, len(val_examples), carved, cfg),
            "data": {"train": "data/train.jsonl", "val": "data/val.jsonl"}}
    for key, src in (("train_sha256", train), ("val_sha256", val)):
        digest = file_sha256(src)      # lets `--resume` recognise the same data file later
        if digest is not None:
            info[key] = digest
    return train_examples, val_examples, info


def _run_folder(out, cfg: TrainConfig, inputs: dict) -> Path:
    """``out`` (default runs/<time>-<model>-<method>), refused when it holds another run or an
    input (checked before any process writes into it)."""
    from tunewise.errors import UsageError
    from tunewise.outputs_guard import check_run_folder
    from tunewise import runs as rd
    out_path = Path(out) if out is not None else _default_out(cfg)
    if (out_path / rd.RUN_JSON).exists():
        raise UsageError(f"{out_path} already holds a training run",
                         fix=f"continue it with --resume {out_path}, or choose another -o folder")
    check_run_folder(out_path, inputs, run_files=rd.RUN_FILES)
    return out_path


def _resume(run_dir: Path, *, train, val, model, config, out, task, say, progress,
            overrides) -> "TrainResult":
    from tunewise.errors import UsageError
    from tunewise import runs as rd
    from tunewise.training import checkpoint as ckpt, recipe
    from tunewise.training.config import load_config as _load
    from tunewise.training.resume_check import check_resume_flags, resume_error
    info = rd.read_run(run_dir)
    if info.get("status") == "done":
        raise UsageError(f"{run_dir}: this run has already finished",
                         fix="start a new run with another -o folder")
    try:
        cfg = _load(run_dir / rd.CONFIG_YAML)
    except Exception as e:  # noqa: BLE001 - any damage to the file: say which run and why
        raise resume_error(run_dir, f"its {rd.CONFIG_YAML} cannot be used ({_short(e)})") from None
    # the same command plus --resume is fine; only a real change of a setting is refused
    check_resume_flags(run_dir, info, cfg, train=train, val=val, model=model, config=config,
                       out=out, task=task, overrides=overrides)
    for note in ckpt.recover_leftovers(run_dir):
        say(f"resume: {note}")
    try:
        train_examples = rd.read_examples(run_dir / "data" / "train.jsonl")
        val_examples = rd.read_examples(run_dir / "data" / "val.jsonl")
        the_task = rd.task_from_run(info)
    except Exception as e:  # noqa: BLE001
        raise resume_error(run_dir, f"its recorded data or task cannot be read ({_short(e)})"
                           ) from None
    run_info = {k: v for k, v in info.items()
                if k in ("model", "method", "task", "created", "train_source", "val_source",
                         "val_carved", "n_train", "n_val", "n_labelled", "model_selection",
                         "data", "train_sha256", "val_sha256")}
    result = recipe.run(train_examples, val_examples, the_task, cfg, run_dir,
                        run_info={**run_info, "resumed": True}, resume=True, say=say,
                        progress=progress)
    from tunewise.training import distributed
    if distributed.env_world_size() <= 1 or int(os.environ.get("RANK", "0")) == 0:
        _record(run_dir, say)
    return result


def _short(e: BaseException) -> str:
    return getattr(e, "message", None) or f"{type(e).__name__}: {e}"


def _record(run_dir: Path, say) -> None:
    """Register the run in the SQLite run registry (tunewise.store), when it is available."""
    try:
        from tunewise.store import record_run
    except ImportError:
        return
    try:
        record_run(run_dir)
    except Exception as e:  # the run itself is complete; a registry problem must not lose it
        say(f"warning: the run was not added to the run registry: {e}")


def show_mask(data: Any, *, model: str | None = None, task: Any = None, index: int = 0,
              markup: bool = False, max_length: int | None = None) -> str:
    """One example's tokens marked trained / ignored (``tunewise train --show-mask``)."""
    from tunewise.errors import UsageError
    from tunewise.models.load import load_tokenizer
    from tunewise.training.batching import encode_example, render_mask
    examples, _src = _read(data, "training")
    if not examples:
        raise UsageError("no examples to show")
    if not 0 <= index < len(examples):
        raise UsageError(f"example index {index} is out of range (0..{len(examples) - 1})")
    the_task = _resolve_task(task, examples)
    tok = load_tokenizer(model or TrainConfig().model)
    enc = encode_example(the_task, tok, examples[index], index=index)
    text = render_mask(tok, enc, markup=markup)
    limit = int(max_length) if str(max_length).strip().isdigit() else 0   # "auto": no limit
    if 0 < limit < len(enc):
        text += f"\nthis example ({len(enc)} tokens) does not fit max_length={max_length}"
    return text
