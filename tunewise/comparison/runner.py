"""`tunewise compare`, top to bottom:

1. read and validate the config (every problem at once, before any model loads);
2. data: clean + split (or read pre-made splits); a stratified, seeded test sample of ``max_eval``;
3. the task (shared by every arm) and the headline metric (macro-F1 when labels are imbalanced);
4. arms, each cached in OUT/arms/<name>.json as soon as it finishes (a rerun reuses them):
   majority baseline -> classical -> zero-shot -> k-shot -> fine-tuning at every training size
   and seed (stratified, seeded, nested subsets of the training split);
5. findings on the SAME test examples: metrics with bootstrap CIs, learning curve, paired tests,
   crossover, prompt worth; cost and break-even; a recommendation that follows from them;
6. results.json, report.md, report.html.
"""
from __future__ import annotations

import datetime as _dt
import os
import time
from pathlib import Path
from typing import Any, Callable

from tunewise.comparison import analysis, arms as arm_fns, costing, datasets, findings
from tunewise.comparison.cache import ArmCache, examples_fingerprint
from tunewise.comparison.config import CompareConfig, load_config
from tunewise.errors import UsageError


class _OutOfTime(Exception):
    pass


def compare(config: str | os.PathLike | dict | CompareConfig, *, out: str | os.PathLike | None = None,
            overrides: dict | None = None, max_minutes: float | None = None,
            say: Callable[[str], None] | None = None, progress: bool = True,
            on_arm_done: Callable[[str, bool], None] | None = None) -> dict:
    """Run every arm of ``config`` on the same test split and return the results dict
    (``tunewise.report.schema``); writes OUT/results.json, report.md, report.html.

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
    deadline = t_start + 60 * cfg.max_minutes if cfg.max_minutes else None

    # -- data and task ---------------------------------------------------------------------------
    splits = datasets.prepare(cfg, out, say)
    if not splits.train or not splits.test:
        raise UsageError(f"{splits.source}: the training or test split is empty "
                         f"(train {len(splits.train)}, test {len(splits.test)})",
                         fix="use a larger dataset or smaller data.test_fraction")
    test = datasets.subsample(splits.test, cfg.max_eval, cfg.seed)
    task = _make_task(cfg, splits)
    golds = [task.gold(ex) for ex in test]
    head = analysis.choose_headline(task.kind, golds, getattr(task, "labels", None))
    metric = head["metric"]
    if task.kind == "classification":
        task.headline_metric = metric   # fine-tuning early-stops on the same metric
    say(f"data: {len(splits.train)} train / {len(splits.val)} val / {len(splits.test)} test "
        f"({len(test)} evaluated); task {task.kind}; headline metric {metric}")
    warnings: list[str] = []
    if head.get("imbalanced"):
        warnings.append(head["reason"])

    cache = ArmCache(out)
    base = {"test": examples_fingerprint(test), "task": task.to_config()}
    train_fp = examples_fingerprint(splits.train)
    plan = _plan(cfg, task, splits)
    raws: list[dict] = []
    skipped: list[str] = []
    state = {"lm": None}
    bf16 = _bf16(cfg.model)
    pred_dir = out / "predictions"

    def base_model():
        if state["lm"] is None:
            from tunewise.models.load import load_model
            say(f"loading {cfg.model.name}")
            state["lm"] = load_model(cfg.model.name)
            # one untimed call first, so the first timed arm does not pay the warm-up
            arm_fns.warm_up(task, state["lm"], test, method=cfg.model.method, bf16=bf16)
        return state["lm"]

    def run_arm(i: int, name: str, inputs: dict, fn: Callable[[], dict]) -> None:
        inputs = {**base, **inputs}
        cached = cache.get(name, inputs)
        if cached is not None:
            cached["reused"] = True
            raws.append(cached)
            say(f"[{i}/{len(calls)}] {name}: reused the finished result")
            if on_arm_done:
                on_arm_done(name, True)
            return
        if deadline is not None and time.perf_counter() > deadline:
            skipped.append(name)
            raise _OutOfTime
        say(f"[{i}/{len(calls)}] {name}: running")
        t0 = time.perf_counter()
        rec = fn()
        rec["seconds"] = time.perf_counter() - t0
        cache.put(name, inputs, rec)
        raws.append({**rec, "reused": False})
        value = findings.metric_function(task, metric)(golds, rec["preds"])
        say(f"[{i}/{len(calls)}] {name}: {metric} {value:.3f} ({rec['seconds']:.0f} s)")
        if on_arm_done:
            on_arm_done(name, False)

    calls = _arm_calls(cfg, task, splits, test, plan, train_fp, base_model, bf16, pred_dir, out,
                       progress, say)
    stopped = False
    for i, (name, inputs, fn) in enumerate(calls, 1):
        if stopped:
            skipped.append(name)
            continue
        try:
            run_arm(i, name, inputs, fn)
        except _OutOfTime:
            stopped = True
    if skipped:
        warnings.append(f"stopped after {cfg.max_minutes:g} minutes: {len(skipped)} arm(s) not "
                        f"run ({', '.join(skipped)}); rerun the same command to continue")
    results = build_results(cfg, task, splits, test, golds, raws, metric, head, warnings,
                            plan_sizes=plan["sizes"])
    results["timing"] = {"total_seconds": time.perf_counter() - t_start,
                         "arms_seconds": {r["name"]: r.get("seconds") for r in raws}}
    results["files"] = {**{k: os.path.relpath(v, out) for k, v in splits.files.items()},
                        "arms": "arms/", "predictions": "predictions/"}
    write_outputs(results, out)
    return results


# -- the plan ---------------------------------------------------------------------------------

def _make_task(cfg: CompareConfig, splits):
    from tunewise.tasks import make_task
    t = cfg.task
    return make_task(t.kind, splits.train + splits.val + splits.test, labels=t.labels,
                     template=t.template, preset=t.preset)


def _plan(cfg: CompareConfig, task, splits) -> dict:
    """Training sizes actually run: "all" = the whole training split; sizes above it are clamped
    (and merged with "all")."""
    n = len(splits.train)
    sizes: list[int] = []
    if cfg.arms.fine_tune.enabled:
        for s in cfg.arms.fine_tune.sizes:
            v = n if s == "all" else min(int(s), n)
            if v not in sizes:
                sizes.append(v)
    return {"sizes": sorted(sizes)}


def _arm_calls(cfg, task, splits, test, plan, train_fp, base_model, bf16, pred_dir: Path,
               out: Path, progress: bool, say):
    """(name, inputs, fn) for every arm in order; ``inputs`` = what its result depends on."""
    calls = []
    m = cfg.model
    if task.kind in ("classification", "ner"):   # generation has no majority answer
        calls.append(("majority", {"arm": "majority", "train": train_fp},
                      lambda: arm_fns.majority_arm(task, splits.train, test)))
    if cfg.arms.classical and task.kind == "classification":
        calls.append(("classical", {"arm": "classical", "train": train_fp, "seed": cfg.seed},
                      lambda: arm_fns.classical_arm(task, splits.train, test, seed=cfg.seed,
                                                    predictions_path=pred_dir / "classical.jsonl")))
    pkw = {"method": m.method, "batch_size": m.batch_size, "bf16": bf16, "progress": progress}
    minputs = {"model": m.name, "method": m.method, "bf16": bf16}
    if cfg.arms.zero_shot:
        calls.append(("zero-shot", {"arm": "zero-shot", **minputs},
                      lambda: arm_fns.prompt_arm(task, base_model(), test, name="zero-shot",
                                                 predictions_path=pred_dir / "zero-shot.jsonl",
                                                 **pkw)))
    names = [f"{k.k}-shot" for k in cfg.arms.k_shot]
    for ks in cfg.arms.k_shot:
        name = f"{ks.k}-shot" if names.count(f"{ks.k}-shot") == 1 else f"{ks.k}-shot-{ks.selection}"

        def fn(ks=ks, name=name):
            from tunewise.prompting.shots import shots_for
            shots = shots_for(test, splits.train, ks.k, method=ks.selection, seed=cfg.seed)
            return arm_fns.prompt_arm(task, base_model(), test, name=name, shots=shots, k=ks.k,
                                      selection=ks.selection, seed=cfg.seed,
                                      predictions_path=pred_dir / f"{name}.jsonl", **pkw)
        calls.append((name, {"arm": "k-shot", "k": ks.k, "selection": ks.selection,
                             "seed": cfg.seed, "train": train_fp, **minputs}, fn))
    ft = cfg.arms.fine_tune
    if ft.enabled:
        from tunewise.comparison.cache import fingerprint
        conf = ft.config
        if isinstance(conf, str):          # a training YAML: its content, not its path, counts
            from tunewise.training.config import read_yaml
            conf = read_yaml(cfg.resolve(conf))
        # seed 0 of every size first, then the extra seeds: a run cut short by max_minutes
        # still has the whole curve
        pairs = sorted(((s, size) for size in plan["sizes"]
                        for s in range(ft.seeds_for("all" if size == len(splits.train)
                                                    else size))))
        for s, size in pairs:
            name = f"finetune-n{size}-s{s}"
            epochs = ft.epochs_for("all" if size == len(splits.train) else size)
            # what the training run depends on (the test sample is added for the arm's
            # cache key only, so a new test sample re-predicts without retraining)
            inputs = {"arm": "finetune", "task": task.to_config(), "size": size, "seed": s,
                      "data_seed": cfg.seed,
                      "train": train_fp, "max_val": ft.max_val,
                      # validation is carved from the size's own examples (or none below
                      # min_val_carve): the compare-level val split no longer enters training
                      "selection": "by-size-v2",
                      "model": m.name, "method": ft.method, "config": conf,
                      "epochs": epochs, "bf16": bf16}

            def fn(size=size, s=s, name=name, epochs=epochs, inputs=inputs):
                subset = datasets.stratified_order(splits.train,
                                                   seed=cfg.seed * 1000 + s)[:size]
                return arm_fns.finetune_arm(
                    task, subset, None, test, name=name, model=m.name, method=ft.method,
                    train_config=ft.train, seed=s, run_dir=out / "runs" / name,
                    epochs=epochs, batch_size=m.batch_size, bf16=bf16, progress=progress,
                    predictions_path=pred_dir / f"{name}.jsonl", say=say,
                    inputs_hash=fingerprint(inputs), max_val=ft.max_val)
            calls.append((name, inputs, fn))
    return calls


def _bf16(m) -> bool:
    if m.precision == "bf16":
        return True
    if m.precision == "fp32":
        return False
    from tunewise.models.device import cpu_supports_bf16
    return bool(cpu_supports_bf16())


# -- results ----------------------------------------------------------------------------------

def build_results(cfg: CompareConfig, task, splits, test, golds, raws: list[dict], metric: str,
                  head: dict, warnings: list[str], *, plan_sizes) -> dict:
    """The results dict (tunewise.report.schema) from the raw arm records."""
    from collections import Counter
    import tunewise
    kw = {"n_resamples": cfg.n_resamples, "alpha": cfg.alpha, "seed": cfg.seed}
    scored = findings.score_arms(task, golds, raws, **kw)
    curve = findings.learning_curve(task, golds, raws, metric, **kw)
    cmp = findings.compare_arms(task, golds, raws, metric, **kw)
    sizes_run = [p["train_size"] for p in curve]
    cross = findings.crossover_section(cmp, metric, sizes_run)
    worth = findings.prompt_worth_section(cmp)
    from tunewise.comparison.extrapolate import compare_section
    curve_pred = compare_section(task, golds, raws, scored, metric, seed=cfg.seed)

    cost, extra, be_requests = _costs(cfg, task, splits, test, raws, cmp)
    rec = analysis.recommend(metric=metric, majority=cmp["majority"], classical=cmp["classical"],
                             best_prompt=cmp["best_prompt"], best_ft=cmp["best_ft"],
                             largest_ft=cmp["largest_ft"], crossover=cmp["crossover"],
                             tests=cmp["tests"], alpha=cfg.alpha, break_even=be_requests)
    caveats = []
    if curve and all(len(p["values"]) == 1 for p in curve):
        caveats.append("one seed per training size: the curve shows one draw of each subset")
    if len(test) < 200:
        caveats.append(f"only {len(test)} test examples: confidence intervals are wide")
    if cmp["best_prompt"]:
        caveats.append(f"the best prompting arm ({cmp['best_prompt']['name']}) was chosen on the "
                       "test split itself, which favours prompting slightly")
    action = {"fine-tune": "fine-tune", "prompt": "prompt", "classical": "classical",
              "none": "majority"}[rec["kind"]]
    if rec.get("weak"):
        action = "undecided"
    counts = Counter(str(g) for g in golds) if task.kind == "classification" else {}
    data = {"train": len(splits.train), "val": len(splits.val), "test": len(test),
            "test_split": len(splits.test), "source": splits.source, "notes": splits.notes}
    if counts:
        data.update({"label_counts": dict(counts), "imbalanced": bool(head.get("imbalanced")),
                     "majority_share": head.get("majority_share"),
                     "headline_rule": head.get("reason")})
    return {
        "schema_version": _schema_version(), "tunewise_version": tunewise.__version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "title": _title(cfg, task), "config": cfg.to_dict(), "model": cfg.model.name,
        "task": {"kind": task.kind, "labels": list(getattr(task, "labels", None)
                                                   or getattr(task, "types", None) or []),
                 "config": task.to_config()},
        "metric": metric, "headline_rule": head.get("reason"), "data": data, "arms": scored,
        "learning_curve": curve, "crossover": cross, "prompt_worth": worth,
        "curve_prediction": curve_pred, "tests": cmp["tests"], "cost": cost, "extra_costs": extra,
        "break_even": cost["break_even"],
        "recommendation": {"action": action, "headline": rec["text"], "reasons": rec["reasons"],
                           "caveats": caveats},
        "warnings": warnings,
    }


def _costs(cfg, task, splits, test, raws, cmp):
    """(main cost section, extra sections, break-even for the recommendation)."""
    from tunewise.cost.prices import get_price, load_prices
    bp = cmp["best_prompt"]
    size = (cmp["crossover"] or {}).get("size") or (cmp["best_ft"] or {}).get("size")
    if bp is None or size is None:
        why = "no prompting arm" if bp is None else "no fine-tuning arm"
        return costing.empty_section(f"{why}: nothing to break even", cfg.model.name), [], None
    prompt_raw = next(r for r in raws if r["name"] == bp["name"])
    ft_raw = costing.pick_ft_arm(raws, size)
    table = load_prices(cfg.resolve(cfg.cost.prices_file)) if cfg.cost.prices_file else None
    compute = get_price(cfg.cost.compute, table)
    zero = next((r for r in raws if r["name"] == "zero-shot"), None)
    main = costing.local_section(model=cfg.model.name, compute=compute, prompt_arm=prompt_raw,
                                 ft_arm=ft_raw, zero_shot=zero)
    extra = []
    if cfg.cost.price:
        price = get_price(cfg.cost.price, table)
        shots = ()
        if prompt_raw.get("shots"):
            from tunewise.prompting.shots import shots_for
            shots = shots_for(test, splits.train, prompt_raw["shots"],
                              method=prompt_raw.get("selection", "random"), seed=cfg.seed)
        subset = datasets.stratified_order(splits.train,
                                           seed=cfg.seed * 1000 + ft_raw.get("seed", 0))[:size]
        extra.append(costing.hosted_section(price=price, task=task, test=test,
                                            train_subset=subset, prompt_arm=prompt_raw,
                                            shots=shots, ft_arm=ft_raw,
                                            epochs=int(ft_raw.get("epochs") or 1)))
    be = main["break_even"]
    return main, extra, ("never" if be["never"] else be["requests"])


def _schema_version() -> int:
    try:
        from tunewise.report.schema import SCHEMA_VERSION
        return SCHEMA_VERSION
    except ImportError:  # pragma: no cover
        return 1


def _title(cfg: CompareConfig, task) -> str:
    src = cfg.data.demo or Path(cfg.data.path or cfg.data.train or "data").name
    return f"Fine-tune or prompt? {task.kind} on {src} with {cfg.model.name}"


def write_outputs(results: dict, out: Path) -> dict:
    """results.json (validated against the schema), report.md, report.html."""
    from tunewise.fileio import write_json
    try:
        from tunewise.report.schema import validate_results
        problems = validate_results(results)
    except ImportError:  # pragma: no cover
        problems = []
    if problems:
        results.setdefault("warnings", []).append(
            "results.json does not match the schema: " + "; ".join(problems[:5]))
    try:
        from tunewise.report import write_results
        write_results(results, out)
    except ImportError:
        write_json(out / "results.json", results)
    paths = {"results": str(out / "results.json")}
    try:
        from tunewise.report import render_report
    except ImportError:
        return paths
    rendered = render_report(results, out)
    if isinstance(rendered, dict):
        paths.update({k: str(v) for k, v in rendered.items()})
    results.setdefault("files", {}).update({"report_md": "report.md", "report_html": "report.html"})
    return paths
