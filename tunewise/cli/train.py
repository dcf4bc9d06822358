"""`tunewise train`: fine-tune (LoRA or full) with answer-only loss; a thin layer over
``tunewise.training.train``. Option help comes from the TrainConfig field comments."""
from __future__ import annotations

import sys

import click

from tunewise.tasks.factory import TASK_KINDS

from tunewise.training.config import (METHODS, OPTIMIZERS, PRECISIONS, QUANTIZE, SCHEDULERS,
                                      SWITCHES, LoraConfig, TrainConfig, field_docs)

_DOCS = field_docs()
#: fields with a closed set of values get a click.Choice
_CHOICES = {"method": METHODS, "optimizer": OPTIMIZERS, "scheduler": SCHEDULERS,
            "precision": PRECISIONS, "quantize": QUANTIZE,
            **{k: SWITCHES for k in ("gradient_checkpointing", "gap_dropout", "frozen_bf16",
                                     "eager_attention")}}
#: number fields that also take "auto"
AUTO_FIELDS = ("epochs", "batch_size", "max_length")
#: fields that are not a --flag of their own (--model is a plain option; lora is flattened)
_NOT_FLAGS = ("model", "lora")


def _settings() -> list[tuple[str, str, object]]:
    """(flag, config key, click type) for every TrainConfig field, generated from the dataclass:
    a new field is a new flag with no edit here. ``lora.r`` is ``--lora-r``; a bool field is
    ``--name/--no-name``; ``AUTO_FIELDS`` take a number or "auto"; a list takes "a,b,c"."""
    import dataclasses
    out = []
    for cls, prefix in ((TrainConfig, ""), (LoraConfig, "lora_")):
        for f in dataclasses.fields(cls):
            if not f.init or (not prefix and f.name in _NOT_FLAGS):
                continue
            key = prefix + f.name
            default = getattr(cls(), f.name)
            if f.name in _CHOICES and not prefix:
                typ = click.Choice(list(_CHOICES[f.name]), case_sensitive=False)
            elif key in AUTO_FIELDS or isinstance(default, (list, str)):
                typ = str
            else:
                typ = type(default)
            out.append(("--" + key.replace("_", "-"), key, typ))
    return out


_SETTINGS = _settings()


def _setting_options(fn):
    for flag, key, typ in reversed(_SETTINGS):
        doc = _DOCS.get(key, "").replace("``", "").replace("%", "%%")
        if typ is bool:
            fn = click.option(f"{flag}/--no-{flag[2:]}", key, default=None, help=doc)(fn)
        else:
            fn = click.option(flag, key, type=typ, default=None, help=doc)(fn)
    return fn


@click.command("train")
@click.option("--train", "train_path", type=click.Path(dir_okay=False),
              help="training data (chat JSONL, prompt/completion, alpaca, CSV/TSV, CoNLL)")
@click.option("--val", "val_path", type=click.Path(dir_okay=False),
              help="validation data; default: carve --val-fraction off --train (stratified, "
                   "seeded, recorded in RUN_DIR/data/val.jsonl)")
@click.option("--model", default=None, help=_DOCS["model"].replace("``", ""))
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="YAML file of settings (TrainConfig fields); flags override it")
@click.option("--task", "task_kind", type=click.Choice(TASK_KINDS.names()),
              default=None, help="task kind (default: inferred from the data)")
@_setting_options
@click.option("-o", "--out", "out", type=click.Path(file_okay=False),
              help="run directory (default runs/<time>-<model>-<method>)")
@click.option("--resume", "resume", type=click.Path(file_okay=False),
              help="continue RUN_DIR from its last checkpoint (after a crash or kill)")
@click.option("--merge", is_flag=True,
              help="also write RUN_DIR/merged/: the base model with the adapter merged in")
@click.option("--processes", type=int, default=1, show_default=True,
              help="data-parallel processes on this machine (torchrun, gloo on CPU)")
@click.option("--show-mask", is_flag=True,
              help="print the first example's tokens marked trained / ignored, then exit")
@click.option("--json", "as_json", is_flag=True,
              help="print one JSON object (metrics, run_dir, timing) on stdout")
def train_cmd(train_path, val_path, model, config_path, task_kind, out, resume, merge,
              processes, show_mask, as_json, **settings):
    """Fine-tune a model on --train; evaluate every epoch on the validation split.

    \b
    tunewise train --train train.jsonl --val val.jsonl -o runs/sentiment
    tunewise train --train data.csv --method full --lr 2e-5 --epochs 2
    tunewise train --train data.csv --show-mask          # what the loss sees
    tunewise train --resume runs/sentiment                # after a crash
    tunewise eval --data test.jsonl --adapter runs/sentiment
    """
    from tunewise.cli.output import console, emit_json, err_console
    from tunewise.errors import UsageError
    from tunewise.training import distributed, merge_run, read_run, show_mask as mask_text, train

    overrides = {k: v for k, v in settings.items() if v is not None}
    if show_mask:
        if not train_path:
            raise UsageError("--show-mask needs --train FILE")
        console.print(mask_text(train_path, model=model, task=task_kind, markup=True,
                                max_length=overrides.get("max_length")), highlight=False)
        return 0
    if processes < 1:
        raise UsageError(f"--processes {processes}: must be >= 1")
    if processes > 1 and distributed.env_world_size() <= 1:
        code = distributed.launch(distributed.strip_processes(sys.argv[1:]), processes)
        if code != 0:
            raise click.exceptions.Exit(code)
        return 0
    if resume is None and not train_path:
        raise UsageError("give --train FILE (or --resume RUN_DIR)",
                         fix="tunewise train --train data.jsonl [-o RUN_DIR]")

    # the library's messages are plain text quoting paths, run ids and labels: no markup
    say = (lambda m: err_console.print(m, highlight=False, markup=False)) if as_json else \
        (lambda m: console.print(m, highlight=False, markup=False))
    main_rank = distributed.env_world_size() <= 1 or \
        __import__("os").environ.get("RANK", "0") == "0"
    if resume is not None:
        info = read_run(resume)
        if info.get("status") == "done" and merge:
            path = merge_run(resume)
            if as_json:
                emit_json({"run_dir": str(resume), "merged": str(path)})
            else:
                say(f"merged model written to {path}")
            return 0
    result = train(train_path, val=val_path, model=model, config=config_path, out=out,
                   resume=resume, task=task_kind, say=say, **overrides)
    merged = merge_run(result.run_dir) if (merge and main_rank) else None
    distributed.shutdown(distributed.init())
    if not main_rank:
        return 0
    if as_json:
        d = result.to_dict()
        if merged:
            d["merged"] = str(merged)
        emit_json(d)
    else:
        m = result.metrics
        head = result.headline_metric
        if m:
            say(f"best epoch {result.best_epoch}: {head} {m.get(head, float('nan')):.4f}, "
                f"val_loss {m.get('val_loss', float('nan')):.4f}")
        else:
            say(f"kept the last epoch ({result.best_epoch}): no validation split "
                "(small data; see model_selection in run.json)")
        peak = result.timing.get("peak_memory_mb")
        say(f"training: {result.timing['train_examples_per_second']:.1f} examples/s, "
            f"{result.timing['train_tokens_per_second']:,.0f} tokens/s"
            + ("" if peak is None else f"; memory added at the peak {peak:,.0f} MB"))
        say(f"run directory: {result.run_dir}" + (f"  (merged model: {merged})" if merged else ""))
        say(f"evaluate it: tunewise eval --data TEST_FILE --adapter {result.run_dir}")
    return 0


def register(app: click.Group) -> None:
    app.add_command(train_cmd)
