"""`tunewise compare`, top to bottom:

1. read and validate the config (every problem at once, before any model loads);
2. data: clean + split (or read pre-made splits); a stratified, seeded test sample of ``max_eval``;
3. the task (shared by every arm) and the headline metric (macro-F1 when labels are imbalanced);
4. arms, each cached in OUT/arms/<name>.json as soon as it finishes (a rerun reuses them):
   majority baseline -> classical -> zero-shot -> k-shot -> embedding probe -> remote models ->
   fine-tuning at every training size and seed (stratified, seeded, nested subsets of the
   training split); the remote arms' estimated cost is checked against ``max_cost_usd``
   before any arm runs; an arm that raises a typed error is recorded as failed
   (``failed_arms``: reason and fix, named in compare's settings) and the others still run
   (a rerun tries it again);
5. findings on the SAME test examples: metrics with bootstrap CIs, learning curve, paired tests,
   crossover, prompt worth; cost and break-even; a recommendation that follows from them;
6. results.json, report.md, report.html.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tunewise.arm_record import ArmRole, records
from tunewise.comparison import analysis, costing, datasets, findings, lr_search, remote_arms
from tunewise.comparison.cache import ArmCache, examples_fingerprint
from tunewise.comparison.config import KNOBS, CompareConfig, load_config
from tunewise.comparison.outputs import check_compare_outputs, predictions_path
from tunewise.comparison.plan import (PlanContext, PlannedArm, model_label, plan_arms,
                                      probe_skip_reason, training_sizes)
from tunewise.comparison.results import build_results, write_outputs  # noqa: F401 (API)
from tunewise.errors import OutputError, TunewiseError, UsageError
from tunewise.knobs import knob_style

#: ArmResult.timing keys a results.json arm keeps
RECORD_TIMING = ("examples_per_second", "seconds", "train_seconds", "train_examples_per_second")


def compare(config: str | os.PathLike | dict | CompareConfig, *, out: str | os.PathLike | None = None,
            overrides: dict | None = None, max_minutes: float | None = None,
            say: Callable[[str], None] | None = None, progress: bool = True,
            on_arm_done: Callable[[str, bool], None] | None = None,
            render: Callable[[dict, Path], dict] | None = None) -> dict:
    """Run every arm of ``config`` on the same test split and return the results dict
    (``tunewise.comparison.schema``); writes OUT/results.json, then ``render(results, out)``.
    ``tunewise.compare`` (``tunewise.report.compare_report.compare``) is this with the report
    renderer, writing report.md and report.html too.

    - ``config``: a YAML path, a dict or a CompareConfig; ``overrides`` are merged over it (nested
      dicts or dotted keys, e.g. ``{"model.name": "tiny-random", "arms.fine_tune.sizes": [8]}``).
    - ``out``: output folder (default ``compare-out``). Finished arms are cached there: a rerun
      (after an interruption or a config change) recomputes only the arms whose inputs changed.
    - ``max_minutes``: stop starting new arms after this many minutes; the report covers the
      arms that finished, and a rerun continues.
    - ``say``: progress messages (one line each; default: stderr).
    - ``on_arm_done(name, reused)``: called after each arm (tests use it to interrupt a run).
    """
    import sys
    say = say or (lambda m: print(m, file=sys.stderr, flush=True))
    t_start = time.perf_counter()
    cfg = load_config(config, overrides=overrides)
    if max_minutes is not None:
        cfg.max_minutes = max_minutes
    out = Path(out or "compare-out")
    out.mkdir(parents=True, exist_ok=True)
    s = _setup(cfg, out, say)
    bf16 = _bf16(cfg.model)
    sizes = training_sizes(cfg, s.splits)
    names, slot = cfg.model_names(), _ModelSlot()
    several = len(names) > 1
    ctxs = [PlanContext(cfg=cfg, task=s.task, splits=s.splits,
                        train_fp=examples_fingerprint(s.splits.train),
                        base_model=_LazyModel(m, say, slot), bf16=bf16, out=out,
                        progress=progress, say=say, model=m if several else None,
                        tag=model_label(m) if several else None) for m in names]
    ctx = ctxs[0]
    runner = ArmRunner(task=s.task, test=s.test, metric=s.metric, cache=ArmCache(out),
                       out=out, say=say, on_arm_done=on_arm_done, progress=progress,
                       deadline=t_start + 60 * cfg.max_minutes if cfg.max_minutes else None)
    if isinstance(cfg.arms.fine_tune.lr, float):
        for c in ctxs:
            c.lr = cfg.arms.fine_tune.lr
    # lr: auto -> each model's trial runs (validation split) set its ctx.lr before the curve
    # is planned; one model's search is results.json's lr_search, several a list of them
    searches = [lr_search.choose(c, sizes, s.metric) for c in ctxs]
    search = searches[0] if not several else (
        lr_search.LrSearches([x for x in searches if x is not None]) if any(searches) else None)
    planned = plan_arms(ctxs, sizes)
    # before any arm runs: every file it will write is checked (safe names, no input replaced)
    check_compare_outputs(cfg, out, planned, runner.cache, config=config)
    # before any arm runs: the remote arms' calls over max_cost_usd are refused
    est = remote_arms.check_cost(planned, s.task, s.test, max_cost_usd=cfg.max_cost_usd,
                                 is_cached=runner.is_cached)
    if est["arms"]:
        say(f"remote arms: estimated at most ${est['total_usd']:.4f} for the uncached calls "
            f"(limit max_cost_usd=${cfg.max_cost_usd:g})"
            + (f"; no price for {', '.join(est['unpriced'])}" if est["unpriced"] else ""))
    s.warnings += remote_arms.retirement_notes(cfg)
    s.warnings += [n for n in [probe_skip_reason(cfg, s.task)] if n]
    raws = records(runner.run_all(planned), model=cfg.model.name)   # read once, asked after
    if runner.failed:
        s.warnings.append(failures_warning(runner.failed))
    over = remote_arms.over_limit_warning(raws, cfg.max_cost_usd,
                                          est["total_usd"] if est["arms"] else None)
    if over:
        say(f"warning: {over}")
        s.warnings.append(over)
    if runner.skipped:
        s.warnings.append(f"stopped after {cfg.max_minutes:g} minutes: {len(runner.skipped)} "
                          f"arm(s) not run ({', '.join(runner.skipped)}); rerun the same command "
                          "to continue")

    def rate(c=ctx):   # measured only when a cost section needs it
        return costing.token_rate(_measurements(out, c), c.base_model,
                                  model=c.model_name, bf16=bf16,
                                  batch_size=cfg.model.batch_size, say=say)
    if several:        # per model: its own sections, then the model table across them
        from tunewise.comparison.multi_model import build_multi
        results = build_multi(cfg, s.task, s.splits, s.test, s.golds, raws, s.metric, s.head,
                              s.warnings, plan_sizes=sizes, contexts=ctxs, token_rate=rate,
                              measurements=lambda c: _measurements(out, c))
    else:
        results = build_results(cfg, s.task, s.splits, s.test, s.golds, raws, s.metric,
                                s.head, s.warnings, plan_sizes=sizes, token_rate=rate)
    results["failed_arms"] = runner.failed
    if search is not None:
        results["lr_search"] = search.to_dict()
    results["timing"] = {"total_seconds": time.perf_counter() - t_start,
                         "arms_seconds": {r.name: r.get("seconds") for r in raws}}
    results["files"] = {**{k: os.path.relpath(v, out) for k, v in s.splits.files.items()},
                        "arms": "arms/", "predictions": "predictions/"}
    write_outputs(results, out, render=render)
    return results


# -- data, task, headline -----------------------------------------------------------------------

@dataclass
class _Setup:
    splits: Any
    test: list
    task: Any
    golds: list
    head: dict
    metric: str
    warnings: list = field(default_factory=list)


def _setup(cfg: CompareConfig, out: Path, say) -> _Setup:
    """The splits, the test sample, the task shared by every arm and the headline metric."""
    splits = datasets.prepare(cfg, out, say)
    if not splits.train or not splits.test:
        raise UsageError(f"{splits.source}: the training or test split is empty "
                         f"(train {len(splits.train)}, test {len(splits.test)})",
                         fix="use a larger dataset or smaller data.test_fraction")
    test = datasets.subsample(splits.test, cfg.max_eval, cfg.seed)
    task = _make_task(cfg, splits)
    golds = [task.gold(ex) for ex in test]
    head = analysis.choose_headline(task, golds)
    metric = head["metric"]
    if task.headline_by_balance:
        task.headline_metric = metric   # fine-tuning early-stops on the same metric
    say(f"data: {len(splits.train)} train / {len(splits.val)} val / {len(splits.test)} test "
        f"({len(test)} evaluated); task {task.kind}; headline metric {metric}")
    warnings = [head["reason"]] if head.get("imbalanced") else []
    kind_note = _inferred_kind_note(cfg, task, splits)
    if kind_note:
        say(f"warning: {kind_note}")
        warnings.append(kind_note)
    return _Setup(splits, test, task, golds, head, metric, warnings)


def _inferred_kind_note(cfg: CompareConfig, task, splits) -> str | None:
    """Why short answers were taken as generation, when the kind was inferred: one distinct
    answer (one class) is no classification task, and it must not pass without a word."""
    if cfg.task.kind is not None or task.kind != "generation":
        return None
    answers = {(ex.reference if ex.reference is not None else ex.answer or "").strip()
               for ex in splits.train + splits.val + splits.test}
    if len(answers) == 1:
        return (f"every example has the same answer {next(iter(answers))[:40]!r}: with one class "
                "there is nothing to classify, so compare runs it as a generation task "
                f"({task.headline_metric}); for classification, use data with at least 2 labels")
    return None


def _make_task(cfg: CompareConfig, splits):
    from tunewise.tasks import make_task
    t = cfg.task
    return make_task(t.kind, splits.train + splits.val + splits.test, labels=t.labels,
                     template=t.template, preset=t.preset)


def _measurements(out: Path, ctx: PlanContext) -> ArmCache:
    """Where a model's measurements (its time per token) are kept: OUT/measurements, in a
    folder of its own per model when a compare has several."""
    from tunewise.fileio import safe_filename
    return ArmCache(out, "measurements" + (f"/{safe_filename(ctx.tag)}" if ctx.tag else ""))


class _ModelSlot:
    """Holds at most one loaded base model: a compare of several models keeps only the one its
    arms are using in memory (each model's arms run together, so each loads once)."""

    name: str | None = None
    lm: Any = None


class _LazyModel:
    """The base model, loaded on the first call (arms reused from the cache never load it);
    loading it frees the other model held in ``slot``."""

    def __init__(self, name: str, say, slot: _ModelSlot | None = None):
        self.name, self.say, self.slot = name, say, slot or _ModelSlot()

    def __call__(self):
        if self.slot.name != self.name or self.slot.lm is None:
            import gc

            from tunewise.models.load import load_model
            self.slot.name = self.slot.lm = None
            gc.collect()
            self.say(f"loading {self.name}")
            self.slot.lm, self.slot.name = load_model(self.name), self.name
        return self.slot.lm


def _bf16(m) -> bool:
    if m.precision == "bf16":
        return True
    if m.precision == "fp32":
        return False
    from tunewise.models.device import cpu_supports_bf16
    return bool(cpu_supports_bf16())


# -- the one runner ------------------------------------------------------------------------------

class _OutOfTime(Exception):
    pass


class _ArmFailed(Exception):
    def __init__(self, record: dict):
        super().__init__(record["reason"])
        self.record = record


def failure_record(p: PlannedArm, e: TunewiseError) -> dict:
    """results.json's record of an arm that could not run: a typed error inside it (a training
    example too long for a fixed max_length, an unreachable server, a model that cannot load)
    ends that arm only; the comparison covers the others, and this says why and what to do."""
    return {"name": p.name, "kind": p.role.kind, "status": "failed",
            "error": type(e).__name__, "reason": e.message, "fix": e.fix,
            "exit_code": e.exit_code}


def failures_warning(failed: list[dict]) -> str:
    return (f"{len(failed)} arm(s) could not run and are left out of the comparison: "
            + "; ".join(f"{f['name']} ({f['reason'].splitlines()[0][:160]})" for f in failed)
            + " (results.json failed_arms: the reasons and fixes)")


@dataclass
class ArmRunner:
    """Runs planned arms in order: a cached result is reused; past the deadline no new arm
    starts; each result is cached, its predictions written, and reported as a raw record."""

    task: Any
    test: list
    metric: str
    cache: ArmCache
    out: Path
    say: Callable[[str], None]
    deadline: float | None = None
    on_arm_done: Callable[[str, bool], None] | None = None
    progress: bool = True
    skipped: list = field(default_factory=list)
    #: arms that could not run: ``failure_record``s (results.json ``failed_arms``)
    failed: list = field(default_factory=list)

    def inputs(self, p: PlannedArm) -> dict:
        """The cache key inputs of ``p``: its own inputs, the test sample and the task."""
        return {"test": examples_fingerprint(self.test), "task": self.task.to_config(),
                **p.inputs}

    def is_cached(self, p: PlannedArm) -> bool:
        return self.cache.get(p.name, self.inputs(p)) is not None

    def run_all(self, planned: list[PlannedArm]) -> list[dict]:
        raws: list[dict] = []
        for i, p in enumerate(planned, 1):
            if self.skipped:
                self.skipped.append(p.name)
                continue
            label = f"[{i}/{len(planned)}] {p.name}"
            try:
                raws.append(self.run(label, p, self.inputs(p)))
                if p.model:          # several base models: each arm names its own
                    raws[-1]["model"] = p.model
            except _OutOfTime:
                self.skipped.append(p.name)
            except _ArmFailed as f:
                self.failed.append(f.record)
                self.say(f"{label}: failed: {f.record['reason']}"
                         + (f" (fix: {f.record['fix']})" if f.record.get("fix") else "")
                         + "; the other arms go on")
        return raws

    def run(self, label: str, p: PlannedArm, inputs: dict) -> dict:
        cached = self.cache.get(p.name, inputs)
        if cached is not None:
            self.say(f"{label}: reused the finished result")
            self._done(p.name, True)
            return {**cached, "reused": True}
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise _OutOfTime
        self.say(f"{label}: running")
        t0 = time.perf_counter()
        try:
            with knob_style(KNOBS):        # fix texts name compare's settings
                result = p.arm.predict(self.task, self.test, progress=self.progress)
        except OutputError:                # nothing else could be written either
            raise
        except TunewiseError as e:         # this arm cannot run; the others still can
            raise _ArmFailed(failure_record(p, e)) from e
        from tunewise.evaluation.predictions import write_predictions
        write_predictions(predictions_path(self.out, p.name), self.task, self.test,
                          result.predictions, header={"arm": p.name, "model": result.model,
                                                      "settings": result.settings})
        rec = raw_record(result, self.task)
        rec["seconds"] = time.perf_counter() - t0
        self.cache.put(p.name, inputs, rec)
        value = findings.metric_function(self.task, self.metric)(
            [self.task.gold(ex) for ex in self.test], rec["preds"])
        self.say(f"{label}: {self.metric} {value:.3f} ({rec['seconds']:.0f} s)")
        self._done(p.name, False)
        return {**rec, "reused": False}

    def _done(self, name: str, reused: bool) -> None:
        if self.on_arm_done:
            self.on_arm_done(name, reused)


def raw_record(result, task) -> dict:
    """The raw record of an ``ArmResult`` (what the cache stores, and what is read once as an
    ``ArmRecord`` to be scored): name, kind (results.json's, ``ArmRole``), JSON predictions, the
    arm's extra fields, timing (with the device it was measured on) and mean tokens."""
    role = ArmRole.parse(result.kind, where=f"arm {result.name}")
    rec = {"name": result.name, "kind": role.kind,
           "preds": [task.to_json(p.pred) for p in result.predictions], **result.extra}
    from tunewise.evaluation.confidence import label_logprobs
    probs = label_logprobs(task, result.predictions)
    if probs is not None:        # the cascade's confidence (comparison.cascade); not in results
        rec["label_logprobs"] = probs
    if result.timing:
        rec["timing"] = {**{k: result.timing[k] for k in RECORD_TIMING if k in result.timing},
                         "hardware": _hardware(role)}
    if "tokens_in" in result.usage:
        n = max(len(result.predictions), 1)
        rec["tokens"] = {"prompt": result.usage["tokens_in"] / n,
                         "output": result.usage["tokens_out"] / n}
        if "train_total" in result.usage:
            rec["tokens"]["train_total"] = result.usage["train_total"]
    if role is ArmRole.REMOTE:          # an arm that asked a server: its measured usage
        rec.update(shots=result.settings.get("shots", 0), model=result.model,
                   base_url=result.settings.get("base_url"),
                   usage=remote_arms.usage_record(result))
        if rec["shots"]:
            rec["selection"] = result.settings.get("shot_selection")
    return rec


def _hardware(role: ArmRole) -> str:
    """Where an arm's timing was measured: a remote model on its servers; the local language
    model (prompted, fine-tuned, or its features probed) on the device compare loads it on
    (``auto``); the baselines on the CPU."""
    from tunewise.models.device import device_label, resolve_device
    if role is ArmRole.REMOTE:
        return "remote"
    return device_label(None if role.uses_base_model else resolve_device("cpu"))
