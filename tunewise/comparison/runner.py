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
   (a rerun tries it again); with ``executor: ray`` the fine-tuning trials run as Ray tasks
   (``ray_runner``) while the other arms run here;
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

from tunewise.arm_record import records
from tunewise.comparison import analysis, costing, datasets, lr_search, remote_arms
from tunewise.comparison.arm_runner import (ArmRunner, failure_record,  # noqa: F401 (API)
                                            failures_warning, raw_record)
from tunewise.comparison.cache import ArmCache, examples_fingerprint
from tunewise.comparison.config import CompareConfig, load_config
from tunewise.comparison.outputs import check_compare_outputs
from tunewise.comparison.plan import (PlanContext, model_label, plan_arms,
                                      probe_skip_reason, training_sizes)
from tunewise.comparison.results import build_results, write_outputs  # noqa: F401 (API)
from tunewise.errors import UsageError


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
    if cfg.executor == "ray":          # not installed: said before the data is even read
        from tunewise.comparison.ray_runner import require_ray
        require_ray()
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
    runner = _runner(cfg, task=s.task, test=s.test, metric=s.metric, cache=ArmCache(out),
                     out=out, say=say, on_arm_done=on_arm_done, progress=progress,
                     deadline=t_start + 60 * cfg.max_minutes if cfg.max_minutes else None)
    if isinstance(cfg.arms.fine_tune.lr, float):
        for c in ctxs:
            c.lr = cfg.arms.fine_tune.lr
    # lr: auto -> each model's trial runs (validation split) set its ctx.lr before the curve
    # is planned; one model's search is results.json's lr_search, several a list of them
    searches = [lr_search.choose(c, sizes, s.metric,
                                 run_trials=getattr(runner, "predict_trials", None))
                for c in ctxs]
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


def _runner(cfg: CompareConfig, **kw) -> ArmRunner:
    """The arm runner of ``cfg.executor``: local (here, in order) or ray (``ray_runner``)."""
    if cfg.executor == "ray":
        from tunewise.comparison.ray_runner import RayArmRunner
        return RayArmRunner(settings=cfg.ray, **kw)
    return ArmRunner(**kw)


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
    from tunewise.tasks import inferred_kind_note
    kind_note = None if cfg.task.kind is not None else inferred_kind_note(
        task, splits.train + splits.val + splits.test)
    if kind_note:
        say(f"warning: {kind_note}")
        warnings.append(kind_note)
    return _Setup(splits, test, task, golds, head, metric, warnings)


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
