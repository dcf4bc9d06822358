"""Evaluate one arm on a split: task metrics with bootstrap CIs, per-class report, timing.

::

    from tunewise.evaluation import evaluate
    r = evaluate("test.csv")                                   # zero-shot, embedded model
    r = evaluate("test.csv", shots=4, shots_from="train.csv", shot_selection="balanced")
    r = evaluate("test.csv", arm="classical", train="train.csv")   # TF-IDF + logistic regression
    r = evaluate("test.csv", adapter="runs/sentiment")         # a `tunewise train` run
    r.metrics["accuracy"].value, r.metrics["accuracy"].ci, r.timing["examples_per_second"]
    r.to_dict()                                                # what `tunewise eval --json` prints
    r = evaluate("test.csv", model="openai:gpt-4.1-mini", price=remote_price("gpt-4.1-mini"),
                 max_cost_usd=2)                               # a remote model: the remote arm
    r.usage["cost_usd"], r.usage["requests"], r.usage["cache_hits"]

    opts = EvalOptions(shots=4, shots_from="train.csv"); evaluate("test.csv", opts)
    opts.prompt.shots, opts.remote.max_cost_usd          # the options' parts (``options.py``)

Arms (``tunewise.evaluation.arms``, any registered kind): ``prompt`` (zero/k-shot prompting of a
model, or of a fine-tuned run with ``adapter``: the ``finetuned`` arm), ``classical``
(classification only), ``majority``, ``remote`` (a model behind an OpenAI-compatible API: a
``model`` with a provider prefix, ``openai:gpt-4.1-mini``, or any name with ``base_url``; chosen
automatically for such a model). Timing covers the prediction loop alone; model loading and
the warm-up are reported separately as ``load_seconds`` (``arms.timed_predictions``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from tunewise.data.records import Example
from tunewise.errors import UsageError
# the options live in their own module; imported from here as before
from tunewise.evaluation.options import (EvalOptions, PromptOptions,  # noqa: F401
                                         RemoteOptions, eval_options)
from tunewise.tasks.base import Prediction, Task

ARMS = ("prompt", "classical")   # the documented ones; any registered arm kind is accepted


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
    #: remote arms: tokens_in/out, requests, cache_hits, attempts, retries, retry_causes,
    #: unparseable, estimated_cost_usd, cost_usd (all answers), cost_usd_this_run, price
    usage: dict = field(default_factory=dict)

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
        if self.usage:
            d["usage"] = self.usage
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


# -- the evaluation ----------------------------------------------------------------------------

def evaluate(data, options: EvalOptions | None = None, **fields_) -> EvalResult:
    """Run one arm on ``data`` (a file or a list of Example) and measure it.

    ``options``: an ``EvalOptions`` (see its fields); keyword fields are accepted too and
    override it: ``evaluate("test.csv", shots=4, shots_from="train.csv")``. The arm is built
    from the options through the arm registry (``tunewise.evaluation.arms``), run, and scored
    with the task's metrics (bootstrap CIs), report and confusion matrix.
    """
    opts = eval_options(options, **fields_)
    opts.check()
    if opts.out is not None:
        # before any work: the predictions must not replace an input, and must be writable
        from tunewise.outputs_guard import check_outputs
        check_outputs({"--data file": data, "--train file": opts.train,
                       "--shots-from file": opts.prompt.shots_from},
                      {"predictions file (--out)": opts.out})
    # read everything before loading a model: data problems surface first
    examples = _read(data, "data", opts.read_options)
    if not examples:
        raise UsageError(f"{data}: no examples to evaluate")
    total = len(examples)
    if opts.limit is not None:
        examples = examples[:opts.limit]
    train_ex = _read(opts.train, "train", opts.read_options)
    pool = (_read(opts.prompt.shots_from, "shots-from", opts.read_options)
            if opts.prompt.shots_from is not None else train_ex)

    from tunewise.evaluation.arms import arm_class
    cls = arm_class(opts.arm_kind())
    from_options = getattr(cls, "from_options", None)   # an arm without settings: cls()
    arm = from_options(opts, train=train_ex, shots_from=pool) if from_options else cls()
    own = arm.own_task() if hasattr(arm, "own_task") else None
    if own is not None and opts.task is None and not opts.labels:
        the_task = own
    else:
        the_task = _resolve_task(opts.task, examples,
                                 [*train_ex, *(pool if opts.prompt.shots else [])], opts.labels)
    from tunewise.tasks import validate_examples
    validate_examples(the_task, examples)
    ran = arm.predict(the_task, examples, progress=opts.progress)
    res = _result(data, opts, the_task, examples, ran)
    if opts.limit is not None and total > len(examples):
        res.notes.insert(0, f"--limit {opts.limit}: evaluated the first {len(examples)} of "
                            f"{total} examples")
    if opts.out is not None:
        from tunewise.evaluation.predictions import write_predictions
        write_predictions(opts.out, the_task, examples, res.predictions, header={
            "arm": res.arm, "model": res.model, "settings": res.settings,
            "metrics": {k: _metric_dict(v) for k, v in res.metrics.items()}})
        res.out = str(opts.out)
    return res


def _path(x) -> str | None:
    return str(x) if isinstance(x, (str, os.PathLike)) else None


def _result(data, opts: EvalOptions, task: Task, examples, ran) -> EvalResult:
    """The EvalResult of an ``ArmResult``: metrics, report, timing and settings."""
    preds = ran.predictions
    measured = _measure(task, examples, preds, n_resamples=opts.n_resamples, seed=opts.seed)
    t = ran.timing
    timing = {"examples_per_second": t.get("examples_per_second"), "seconds": t.get("seconds"),
              "load_seconds": t.get("load_seconds", 0.0),
              "tokens_in": sum(p.tokens_in for p in preds),
              "tokens_out": sum(p.tokens_out for p in preds)}
    if t.get("train_seconds") is not None:   # an arm that fits on --train (classical)
        timing["fit_seconds"] = t["train_seconds"]
    settings = {"data": _path(data), "adapter": str(opts.adapter) if opts.adapter else None,
                "shots": opts.prompt.shots, "shots_from": _path(opts.prompt.shots_from),
                "shot_selection": opts.prompt.shot_selection if opts.prompt.shots else None,
                "train": _path(opts.train), "method": ran.kind, "seed": opts.seed,
                "limit": opts.limit, "batch_size": opts.batch_size, "bf16": False,
                "fp32_rechecked": 0, "calibrate": False}
    settings.update({k: v for k, v in ran.settings.items() if k in settings})
    usage = {}
    if "requests" in ran.usage:
        # an arm that asked a server: where and how the remote model was asked (the key variable's name, never the key)
        settings.update({k: v for k, v in ran.settings.items() if k != "model"},
                        method=ran.settings.get("scoring"), batch_size=None)
        usage = dict(ran.usage)
    return EvalResult(arm=ran.kind, task=task, model=ran.model, predictions=preds,
                      examples=examples, timing=timing, settings=settings,
                      notes=list(ran.notes), usage=usage, **measured)


def _measure(task: Task, examples, preds, *, n_resamples: int, seed: int) -> dict:
    """metrics (with CIs), report and confusion for ``preds``."""
    from tunewise.evaluation.stats import metrics_with_ci
    golds = [p.gold for p in preds]
    guesses = [p.pred for p in preds]
    metrics = metrics_with_ci(task, golds, guesses, n_resamples=n_resamples, seed=seed)
    return {"metrics": metrics, "report": task.report(golds, guesses),
            "confusion": task.confusion(golds, guesses)}


def rescore(path: str | os.PathLike, *, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Metrics with CIs of a predictions file (as ``EvalResult.to_dict`` has them)."""
    from tunewise.evaluation.predictions import read_predictions
    pf = read_predictions(path)
    preds = [Prediction(gold=g, pred=p) for g, p in zip(pf.golds, pf.preds)]
    res = _measure(pf.task, [], preds, n_resamples=n_resamples, seed=seed)
    return {"metrics": {k: _metric_dict(v) for k, v in res["metrics"].items()},
            "report": res["report"], "confusion": res["confusion"]}
