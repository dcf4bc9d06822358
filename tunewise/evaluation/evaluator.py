"""Evaluate one arm on a split: task metrics with bootstrap CIs, per-class report, timing.

::

    from tunewise.evaluation import evaluate
    r = evaluate("test.csv")                                   # zero-shot, embedded model
    r = evaluate("test.csv", shots=4, shots_from="train.csv", shot_selection="balanced")
    r = evaluate("test.csv", arm="classical", train="train.csv")   # TF-IDF + logistic regression
    r = evaluate("test.csv", adapter="runs/sentiment")         # a `tunewise train` run
    r.metrics["accuracy"].value, r.metrics["accuracy"].ci, r.timing["examples_per_second"]
    r.to_dict()                                                # what `tunewise eval --json` prints

Arms: ``prompt`` (zero/k-shot prompting of a model, or of a fine-tuned run with ``adapter``) and
``classical`` (classification only). Timing covers the prediction loop alone; model loading is
reported separately as ``load_seconds``.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from tunewise.data.records import Example
from tunewise.errors import UsageError
from tunewise.prompting.predict import predict, resolve_method  # noqa: F401 (contract)
from tunewise.tasks.base import Prediction, Task

ARMS = ("prompt", "classical")


@dataclass
class EvalResult:
    """What one evaluation measured."""

    #: "prompt", "finetuned" (prompt arm on a trained run) or "classical"
    arm: str
    #: the task the examples were scored with
    task: Task
    #: model display name (None for the classical arm)
    model: str | None
    #: {metric: MetricWithCI(value, ci)}; ``task.headline_metric`` is one of them
    metrics: dict
    #: classification: per-class {precision, recall, f1, support}; NER: per entity type
    report: dict
    #: classification: {"labels", "columns", "matrix"} (rows gold, columns predicted)
    confusion: dict | None
    #: examples_per_second and seconds (prediction loop only), load_seconds (model loading and
    #: one untimed warm-up prediction), token totals
    timing: dict
    #: one Prediction per evaluated example, in input order
    predictions: list[Prediction]
    #: the evaluated examples (same order as predictions)
    examples: list[Example] = field(repr=False, default_factory=list)
    #: settings used: data, shots, shot_selection, shots_from, method, seed, limit, adapter...
    settings: dict = field(default_factory=dict)
    #: things a reader should know (unparseable answers, truncated data...)
    notes: list[str] = field(default_factory=list)
    #: where the predictions JSONL was written, if anywhere
    out: str | None = None

    @property
    def n(self) -> int:
        return len(self.predictions)

    @property
    def headline(self):
        return self.metrics[self.task.headline_metric]

    def to_dict(self, *, with_predictions: bool = False) -> dict:
        d = {"arm": self.arm, "model": self.model, "n": self.n, "task": self.task.to_config(),
             "headline_metric": self.task.headline_metric,
             "metrics": {k: _metric_dict(v) for k, v in self.metrics.items()},
             "report": self.report, "confusion": self.confusion, "timing": self.timing,
             "settings": self.settings, "notes": self.notes, "out": self.out}
        if with_predictions:
            from tunewise.evaluation.predictions import prediction_rows
            d["predictions"] = prediction_rows(self.task, self.examples, self.predictions)
        return d


def _metric_dict(m) -> dict:
    if hasattr(m, "to_dict"):
        return m.to_dict()
    return {"value": float(m), "ci": None}


# -- inputs ----------------------------------------------------------------------------------

def _read(data, what: str, read_options: dict | None) -> list[Example]:
    if data is None:
        return []
    if isinstance(data, (str, os.PathLike)):
        from tunewise.data import read
        return read(data, **(read_options or {}))
    examples = list(data)
    if examples and not isinstance(examples[0], Example):
        raise UsageError(f"{what}: expected a file path or a list of Example, got "
                         f"{type(examples[0]).__name__}")
    return examples


def _resolve_task(task, examples, extra, labels) -> Task:
    if isinstance(task, Task):
        return task
    from tunewise.tasks import PRESETS, make_task
    kind = preset = None
    if task:
        if task in PRESETS:
            preset = task
        else:
            kind = task
    labels = list(labels) if labels else None
    return make_task(kind, [*examples, *extra], labels=labels, preset=preset)


def _load(model, adapter):
    """(LoadedModel, Task from the run or None, arm name)."""
    from tunewise.models import load_model
    if adapter is None:
        return load_model(model, memo=True), None, "prompt"
    p = Path(adapter)
    if not p.exists():
        raise UsageError(f"--adapter {adapter}: no such folder",
                         fix="pass the run directory written by `tunewise train -o RUN_DIR`")
    if (p / "run.json").exists():
        from tunewise.training import load_run
        lm, task = load_run(p, memo=True)
        return lm, task, "finetuned"
    if (p / "adapter_config.json").exists():  # a bare PEFT adapter folder
        return load_model(model, adapter=p, memo=True), None, "finetuned"
    raise UsageError(f"--adapter {adapter}: not a tunewise run directory (no run.json) nor a "
                     "PEFT adapter folder (no adapter_config.json)",
                     fix="pass the run directory written by `tunewise train -o RUN_DIR`")


# -- the evaluation ----------------------------------------------------------------------------

def evaluate(data, *, model: str | None = None, adapter: str | os.PathLike | None = None,
             arm: str = "prompt", shots: int = 0, shots_from=None,
             shot_selection: str = "random", train=None, task: str | Task | None = None,
             labels: Sequence[str] | None = None, method: str = "auto", seed: int = 0,
             limit: int | None = None, out: str | os.PathLike | None = None,
             batch_size: int = 16, max_new_tokens: int | None = None,
             bf16: bool | None = None,
             calibrate: bool = False, n_resamples: int = 1000, read_options: dict | None = None,
             progress: bool = True) -> EvalResult:
    """Run one arm on ``data`` (a file or a list of Example) and measure it.

    - ``model``: model name (default: the embedded model); ``adapter``: a ``tunewise train`` run
      directory (its task and base model are used).
    - ``arm``: "prompt" or "classical" (needs ``train``).
    - ``shots``: k examples shown before each input, taken from ``shots_from`` (default: ``train``),
      chosen by ``shot_selection`` ("random", "balanced", "nearest").
    - ``task``: kind ("classification", "ner", "generation"), preset ("sentiment"...) or a Task;
      None = inferred from the data. ``labels``: classification labels / NER types.
    - ``method``: "auto", "score" (label log-likelihood) or "generate" (generate and parse).
    - ``limit``: evaluate only the first N examples. ``out``: predictions JSONL path.
    - ``calibrate``: contextual calibration of label scores (see ``predict``).
    - ``bf16``: None = bf16 label scoring where the CPU has bf16 math, close calls re-scored in
      fp32; ``max_new_tokens``: None = from the longest answer in ``train`` / the shots (see
      ``predict``).
    """
    if arm not in ARMS:
        raise UsageError(f"unknown arm {arm!r}", fix=f"use one of: {', '.join(ARMS)}")
    if shots < 0:
        raise UsageError(f"--shots must be >= 0, got {shots}")
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be >= 1, got {limit}")
    if arm == "classical":
        if train is None:
            raise UsageError("the classical arm needs training data", fix="pass --train FILE")
        if adapter is not None or shots:
            raise UsageError("the classical arm takes no --adapter and no --shots")
    if shots and shots_from is None and train is None:
        raise UsageError(f"--shots {shots} needs examples to show",
                         fix="pass --shots-from FILE (or --train FILE)")
    from tunewise.prompting.shots import SELECTIONS
    if shot_selection not in SELECTIONS:
        raise UsageError(f"unknown shot selection {shot_selection!r}",
                         fix=f"use one of: {', '.join(SELECTIONS)}")

    if out is not None:
        # before any work: the predictions must not replace an input, and must be writable
        from tunewise.outputs_guard import check_outputs
        check_outputs({"--data file": data, "--train file": train, "--shots-from file": shots_from},
                      {"predictions file (--out)": out})
    # read everything before loading a model: data problems surface first
    examples = _read(data, "data", read_options)
    if not examples:
        raise UsageError(f"{data}: no examples to evaluate")
    total = len(examples)
    if limit is not None:
        examples = examples[:limit]
    train_ex = _read(train, "train", read_options)
    pool = _read(shots_from, "shots-from", read_options) if shots_from is not None else train_ex

    t_load = time.perf_counter()
    lm = run_task = None
    arm_name = arm
    if arm == "prompt":
        lm, run_task, arm_name = _load(model, adapter)
    load_seconds = time.perf_counter() - t_load
    if run_task is not None and not isinstance(task, Task) and task is None and not labels:
        the_task = run_task
    else:
        the_task = _resolve_task(task, examples, [*train_ex, *(pool if shots else [])], labels)
    from tunewise.tasks import validate_examples
    validate_examples(the_task, examples)
    if arm == "prompt":
        method = resolve_method(the_task, method)

    shot_lists: Any = ()
    if arm == "prompt" and shots:
        from tunewise.prompting.shots import shots_for
        validate_examples(the_task, pool)
        shot_lists = shots_for(examples, pool, shots, method=shot_selection, seed=seed)

    if arm == "prompt":
        # untimed warm-up: the first forward pass pages the weights in and picks kernels;
        # it belongs to loading, not to the per-example cost
        t_warm = time.perf_counter()
        predict(the_task, lm, examples[:1], method=method, max_new_tokens=2, bf16=bf16,
                progress=False)
        load_seconds += time.perf_counter() - t_warm

    t0 = time.perf_counter()
    if arm == "classical":
        from tunewise.evaluation.classical import classical_predictions
        preds = classical_predictions(the_task, train_ex, examples, seed=seed)
    else:
        preds = predict(the_task, lm, examples, shots=shot_lists, method=method,
                        batch_size=batch_size, max_new_tokens=max_new_tokens, bf16=bf16,
                        calibrate=calibrate and method == "score",
                        budget_from=[*train_ex, *(pool if shots else [])], progress=progress)
    seconds = time.perf_counter() - t0

    result = _measure(the_task, examples, preds, n_resamples=n_resamples, seed=seed)
    timing = {"examples_per_second": len(preds) / seconds if seconds > 0 else None,
              "seconds": seconds, "load_seconds": load_seconds,
              "tokens_in": sum(p.tokens_in for p in preds),
              "tokens_out": sum(p.tokens_out for p in preds)}
    if arm == "classical" and preds:
        timing["fit_seconds"] = preds[0].extra.get("fit_s")
    notes = []
    if limit is not None and total > len(examples):
        notes.append(f"--limit {limit}: evaluated the first {len(examples)} of {total} examples")
    unparsed = sum(p.pred is None for p in preds)
    if unparsed and the_task.kind == "classification":
        notes.append(f"{unparsed} generated answer(s) matched no label and count as wrong")
    settings = {"data": str(data) if isinstance(data, (str, os.PathLike)) else None,
                "adapter": str(adapter) if adapter else None, "shots": shots,
                "shots_from": str(shots_from) if isinstance(shots_from, (str, os.PathLike))
                else None, "shot_selection": shot_selection if shots else None,
                "train": str(train) if isinstance(train, (str, os.PathLike)) else None,
                "method": method if arm == "prompt" else "classical", "seed": seed,
                "limit": limit, "batch_size": batch_size,
                "bf16": _bf16_used(bf16, lm, preds) if arm == "prompt" else False,
                "fp32_rechecked": sum(p.extra.get("precision") == "fp32" for p in preds)
                if arm == "prompt" and bf16 is not False else 0,
                "calibrate": bool(calibrate and arm == "prompt" and method == "score")}
    res = EvalResult(arm=arm_name, task=the_task, model=lm.name if lm else None,
                     predictions=preds, examples=examples, timing=timing, settings=settings,
                     notes=notes, **result)
    if out is not None:
        from tunewise.evaluation.predictions import write_predictions
        write_predictions(out, the_task, examples, preds, header={
            "arm": arm_name, "model": res.model, "settings": settings,
            "metrics": {k: _metric_dict(v) for k, v in res.metrics.items()}})
        res.out = str(out)
    return res


def _bf16_used(bf16, lm, preds) -> bool:
    """Whether the predictions ran under bf16 (``bf16=None`` resolved as ``predict`` does)."""
    from tunewise.prompting.predict import resolve_bf16
    scored = any(p.extra.get("method") == "score" for p in preds)
    return resolve_bf16(bf16, lm) if scored else bool(bf16)


def _measure(task: Task, examples, preds, *, n_resamples: int, seed: int) -> dict:
    """metrics (with CIs), report and confusion for ``preds``."""
    from tunewise.evaluation.stats import metrics_with_ci
    golds = [p.gold for p in preds]
    guesses = [p.pred for p in preds]
    metrics = metrics_with_ci(task, golds, guesses, n_resamples=n_resamples, seed=seed)
    report: dict = {}
    confusion = None
    if task.kind == "classification":
        from tunewise.tasks.metrics import (classification_report, confusion_columns,
                                            confusion_matrix)
        report = classification_report(golds, guesses, task.labels)
        m = confusion_matrix(golds, guesses, task.labels)
        confusion = {"labels": list(task.labels), "columns": confusion_columns(task.labels, m),
                     "matrix": m}
    elif hasattr(task, "report"):
        report = task.report(golds, guesses)
    return {"metrics": metrics, "report": report, "confusion": confusion}


def rescore(path: str | os.PathLike, *, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Metrics with CIs of a predictions file (as ``EvalResult.to_dict`` has them)."""
    from tunewise.evaluation.predictions import read_predictions
    pf = read_predictions(path)
    preds = [Prediction(gold=g, pred=p) for g, p in zip(pf.golds, pf.preds)]
    res = _measure(pf.task, [], preds, n_resamples=n_resamples, seed=seed)
    return {"metrics": {k: _metric_dict(v) for k, v in res["metrics"].items()},
            "report": res["report"], "confusion": res["confusion"]}
