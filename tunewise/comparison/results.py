"""The results of ``tunewise compare`` (``tunewise.comparison.schema``) from the arm records
(``tunewise.arm_record.ArmRecord``, read once from the raw records the runner caches): findings,
cost, recommendation; and the files they are written to."""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

from tunewise.arm_record import ArmRecord, ArmRole, records
from tunewise.comparison import analysis, costing, datasets, findings, remote_arms
from tunewise.comparison.config import CompareConfig
from tunewise.errors import UsageError


def build_results(cfg: CompareConfig, task, splits, test, golds,
                  raws: list[dict | ArmRecord], metric: str, head: dict, warnings: list[str], *,
                  plan_sizes, token_rate=None) -> dict:
    """The results dict (tunewise.comparison.schema) from the arm records (raw dicts are read)."""
    from tunewise.version import __version__
    raws = records(raws, model=cfg.model.name)
    kw = {"n_resamples": cfg.n_resamples, "alpha": cfg.alpha, "seed": cfg.seed}
    scored = findings.score_arms(task, golds, raws, **kw)
    curve = findings.learning_curve(task, golds, raws, metric, **kw)
    probe_curve = findings.learning_curve(task, golds, raws, metric, role=ArmRole.PROBE, **kw)
    _price_probe(cfg, raws, probe_curve)
    cmp = findings.compare_arms(task, golds, raws, metric, **kw)
    sizes_run = [p["train_size"] for p in curve]
    cross = findings.crossover_section(cmp, metric, sizes_run)
    worth = findings.prompt_worth_section(cmp)
    from tunewise.comparison.extrapolate import compare_section
    curve_pred = compare_section(task, golds, raws, scored, metric, seed=cfg.seed)

    cost, extra, be_requests = _costs(cfg, task, splits, test, raws, cmp, token_rate)
    rec = analysis.recommend(metric=metric, majority=cmp["majority"], classical=cmp["classical"],
                             best_prompt=cmp["best_prompt"], best_ft=cmp["best_ft"],
                             largest_ft=cmp["largest_ft"], crossover=cmp["crossover"],
                             tests=cmp["tests"], alpha=cfg.alpha, break_even=be_requests)
    casc = _cascade(cfg, task, golds, raws, metric, token_rate, kw)
    rec = _with_cascade(rec, casc)
    caveats = []
    if curve and all(len(p["values"]) == 1 for p in curve):
        caveats.append("one seed per training size: the curve shows one draw of each subset")
    if len(test) < 200:
        caveats.append(f"only {len(test)} test examples: confidence intervals are wide")
    if cmp["best_prompt"]:
        caveats.append(f"the best prompting arm ({cmp['best_prompt']['name']}) was chosen on the "
                       "test split itself, which favours prompting slightly")
    if (cmp["classical"] or {}).get("size"):
        caveats.append(f"the cheap classifier weighed is the embedding probe at its best size "
                       f"({cmp['classical']['size']}), picked on the test split like the best "
                       "prompting arm")
    action = "undecided" if rec.get("weak") else rec["action"]
    counts = task.class_counts(golds)
    data = {"train": len(splits.train), "val": len(splits.val), "test": len(test),
            "test_split": len(splits.test), "source": splits.source, "notes": splits.notes}
    if getattr(splits, "audit", None):           # tunewise data audit of train and test
        data["audit"] = splits.audit
        warnings = [*warnings, *splits.audit.get("warnings", [])]
    if counts:
        data.update({"label_counts": dict(counts), "imbalanced": bool(head.get("imbalanced")),
                     "majority_share": head.get("majority_share"),
                     "headline_rule": head.get("reason")})
    return {
        "schema_version": _schema_version(), "tunewise_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "title": _title(cfg, task), "config": remote_arms.recorded_config(cfg),
        "model": cfg.model.name,
        "task": {"kind": task.kind, "labels": task.class_names(), "config": task.to_config()},
        "metric": metric, "headline_rule": head.get("reason"), "data": data, "arms": scored,
        "learning_curve": curve, "probe_curve": probe_curve, "crossover": cross, "prompt_worth": worth,
        "curve_prediction": curve_pred, "tests": cmp["tests"], "cost": cost, "extra_costs": extra,
        "break_even": cost["break_even"], "cascade": casc,
        "recommendation": {"action": action, "headline": rec["text"], "reasons": rec["reasons"],
                           "caveats": caveats},
        "warnings": warnings,
    }


def _price_probe(cfg, raws: list[ArmRecord], curve: list[dict]) -> None:
    """Each probe point's serving cost (its lowest seed's arm): seconds per request = its
    measured forward pass per text (plus the classifier), priced at the compute entry's $/hour
    like the other local arms (``costing.unit_costs``; None where no entry applies)."""
    if not curve:
        return
    from tunewise.comparison.plan import price_table
    from tunewise.cost.compute_entry import resolve_compute
    from tunewise.cost.prices import get_price
    try:
        compute = get_price(resolve_compute(cfg.cost.compute), price_table(cfg))
    except UsageError:           # a GPU without a $/hour entry: the cost is unknown, not 0
        compute = None
    by_name = {r.name: r for r in raws}
    for p in curve:
        u = costing.unit_costs([by_name[p["arms"][0]]], compute)[p["arms"][0]]
        p["seconds_per_request"] = u["seconds_per_request"]
        p["usd_per_1k_requests"] = (None if u["usd_per_request"] is None
                                    else 1000 * u["usd_per_request"])


def _cascade(cfg, task, golds, raws, metric, token_rate, kw) -> dict:
    """The ``cascade`` section (``comparison.cascade_section``), every arm priced per request on the
    compute entry the local cost section uses (none: local costs unknown)."""
    from tunewise.comparison import cascade_section as cascades
    raws = records(raws, model=cfg.model.name)
    costs: dict = {}
    pairs, _ = cascades.sensible_pairs(raws) if task.can_score_labels else ([], [])
    if pairs:
        from tunewise.comparison.plan import price_table
        from tunewise.cost.compute_entry import resolve_compute
        from tunewise.cost.prices import get_price
        try:
            compute = get_price(resolve_compute(cfg.cost.compute), price_table(cfg))
        except UsageError:       # a GPU without a $/hour entry: local costs unknown
            compute = None
        needs_rate = compute is not None and any(c.is_finetune for c, _ in pairs)
        costs = costing.unit_costs(raws, compute,
                                   token_rate() if token_rate and needs_rate else None)
    return cascades.section(task, golds, raws, metric, costs, **kw)


def _with_cascade(rec: dict, casc: dict) -> dict:
    """The recommendation becomes the best cascade when it beats the best single arm
    significantly (paired bootstrap, cross-fitted threshold); else the cascade is one more
    reason."""
    best = casc.get("best")
    if not best:
        return rec
    if best["beats_best_single"]:
        return {**rec, "action": "cascade", "text": best["text"] + ".", "weak": False,
                "reasons": [*rec["reasons"], f"without a cascade: {rec['text']}"]}
    return {**rec, "reasons": [*rec["reasons"], f"best {best['text']}; not significantly "
                               "better than the best single arm"]}


def _costs(cfg, task, splits, test, raws, cmp, token_rate=None):
    """(main cost section, extra sections, break-even for the recommendation). The "local"
    section prices the best local prompting arm and the local fine-tune on the compute entry
    (``token_rate``: a function returning the model's ``TokenRate``, so each call is priced from
    its tokens); with remote arms a "remote" section prices them from their measured usage
    against the same local fine-tune, with the break-even against the best remote arm. The main
    section is the one whose break-even the recommendation uses: the remote one when a remote
    arm is the best prompting arm (the one the fine-tune must beat), else the local one."""
    from tunewise.cost.prices import get_price
    from tunewise.comparison.plan import price_table
    raws = records(raws, model=cfg.model.name)
    bp = cmp["best_local_prompt"] or cmp["best_prompt"]
    size = (cmp["crossover"] or {}).get("size") or (cmp["best_ft"] or {}).get("size")
    if bp is None or size is None:
        why = "no prompting arm" if bp is None else "no fine-tuning arm"
        return costing.empty_section(f"{why}: nothing to break even", cfg.model.name), [], None
    prompt_raw = next(r for r in raws if r.name == bp["name"])
    ft_raw = costing.pick_ft_arm(raws, size)
    table = price_table(cfg)
    from tunewise.cost.compute_entry import resolve_compute
    try:
        compute = get_price(resolve_compute(cfg.cost.compute), table)   # auto: the device used
    except UsageError as e:          # a GPU without a $/hour entry: the report says what to set
        return costing.empty_section(f"{e.message}; {e.fix}", cfg.model.name), [], None
    zero = next((r for r in raws if r.name == "zero-shot"), None)
    local_prompt = prompt_raw if prompt_raw.is_local_prompt else ft_raw
    main = costing.local_section(model=cfg.model.name, compute=compute, prompt_arm=local_prompt,
                                 ft_arm=ft_raw, zero_shot=zero,
                                 token_rate=token_rate() if token_rate else None)
    extra = []
    if cfg.cost.price and prompt_raw.is_local_prompt:
        extra.append(_hosted(cfg, task, splits, test, prompt_raw, ft_raw, size, table))
    be = main["break_even"]
    be_requests = "never" if be["never"] else be["requests"]
    remote = [r for r in raws if r.remote]
    if not remote:
        return main, extra, be_requests
    sec = costing.remote_section(remote_arms=remote, versus=cmp["best_remote"]["name"],
                                 local=main)
    if not cmp["best_prompt"]["remote"]:
        return main, [sec, *extra], be_requests
    # the fine-tune must beat a remote arm: its break-even is the main one
    rbe = sec["break_even"]
    be_requests = rbe["requests"] if rbe["requests"] is not None else (
        "never" if "saving_per_request" in rbe else None)
    local = [main] if prompt_raw.is_local_prompt else []   # else: no local prompting arm
    return sec, [*local, *extra], be_requests


def _hosted(cfg, task, splits, test, prompt_raw, ft_raw, size, table) -> dict:
    """The hosted projection (``cost.price``): our prompts and answers at that model's prices."""
    from tunewise.cost.prices import get_price
    price = get_price(cfg.cost.price, table)
    shots = ()
    if prompt_raw.shots:
        from tunewise.prompting.shots import shots_for
        shots = shots_for(test, splits.train, prompt_raw.shots,
                          method=prompt_raw.get("selection", "random"), seed=cfg.seed)
    subset = datasets.stratified_order(splits.train,
                                       seed=cfg.seed * 1000 + (ft_raw.seed or 0))[:size]
    return costing.hosted_section(price=price, task=task, test=test, train_subset=subset,
                                  prompt_arm=prompt_raw, shots=shots, ft_arm=ft_raw,
                                  epochs=int(ft_raw.get("epochs") or 1),
                                  ft_task=task.for_fine_tuning(cfg.arms.fine_tune.label_list_max))


def _schema_version() -> int:
    from tunewise.comparison.schema import SCHEMA_VERSION
    return SCHEMA_VERSION


def _title(cfg: CompareConfig, task) -> str:
    src = cfg.data.demo or Path(cfg.data.path or cfg.data.train or "data").name
    return f"Fine-tune or prompt? {task.kind} on {src} with {cfg.model.name}"


def write_outputs(results: dict, out: Path, render=None) -> dict:
    """results.json (validated against ``comparison.schema``); then ``render(results, out)``
    (``tunewise.report.render_report``: report.md, report.html) when given."""
    from tunewise.comparison.schema import validate_results
    from tunewise.fileio import write_json
    problems = validate_results(results)
    if problems:
        results.setdefault("warnings", []).append(
            "results.json does not match the schema: " + "; ".join(problems[:5]))
    write_json(out / "results.json", results)
    paths = {"results": str(out / "results.json")}
    if render is None:
        return paths
    rendered = render(results, out)
    if isinstance(rendered, dict):
        paths.update({k: str(v) for k, v in rendered.items()})
    results.setdefault("files", {}).update({"report_md": "report.md", "report_html": "report.html"})
    return paths
