"""Several base models in one compare (``models: [a, b, ...]``): each model's own results, the
``models`` table across them, and which model the recommendation names.

Every model's prompting arms and fine-tuning curve ran on the same test split (the runner
planned them with one ``PlanContext`` per model). Here each model's arms, with the shared ones
(majority, classical, remote), make one single-model results dict (``results.build_results``,
the same findings, cost and recommendation a one-model compare gives). The ``models`` table
then says per model: its best arm with its CI, where its fine-tuning crosses its best prompting
arm, training seconds and cost, parameters, memory (weights; the training runs' measured peak),
serving cost per 1,000 requests and latency measured on the device used;
``analysis.recommend_model`` picks the model (with the paired test of each model's best arm
against the best-scoring model's). results.json is the chosen model's results with
every arm of every model, the ``models`` table and a headline that names the model.
"""
from __future__ import annotations

from typing import Callable, Sequence

from tunewise.arm_record import ArmRecord, records
from tunewise.comparison import analysis, costing, findings, remote_arms
from tunewise.comparison.results import build_results
from tunewise.comparison.scoring import metric_function, paired_difference
from tunewise.errors import UsageError


def own_arms(raws: Sequence[ArmRecord], model: str) -> list[ArmRecord]:
    """The arms of ``model``'s results: the shared ones (baselines, classical, remote) and its
    own prompting, embedding-probe and fine-tuned arms."""
    return [r for r in raws if not r.role.uses_base_model or r.model == model]


def build_multi(cfg, task, splits, test, golds, raws, metric: str, head: dict,
                warnings: list[str], *, plan_sizes, contexts: Sequence,
                token_rate: Callable, measurements: Callable) -> dict:
    """results.json of a compare of several models (``contexts``: the runner's ``PlanContext``
    per model; ``token_rate(ctx)``: that model's ``TokenRate``; ``measurements(ctx)``: its
    measurement cache, where its parameter count is kept too)."""
    raws = records(raws, model=cfg.model.name)
    golds = list(golds)
    per: dict[str, dict] = {}
    made: dict[str, tuple] = {}
    # the last model's arms ran last: it is still loaded for its measurements, so go backwards
    for c in reversed(contexts):
        name = c.model_name
        own = own_arms(raws, name)
        res = build_results(_for_model(cfg, name), task, splits, test, golds, own, metric, head,
                            list(warnings), plan_sizes=plan_sizes,
                            token_rate=lambda c=c: token_rate(c))
        row, preds = _row(cfg, c, res, own, metric, token_rate, measurements)
        per[name], made[name] = res, (row, preds)
    rows = [made[c.model_name] for c in contexts if made[c.model_name][0] is not None]
    kw = {"n_resamples": cfg.n_resamples, "alpha": cfg.alpha, "seed": cfg.seed}
    choice = _choose(task, golds, metric, rows, kw)
    chosen = choice["model"] if choice else contexts[0].model_name
    out = dict(per[chosen])
    out["arms"] = findings.score_arms(task, golds, raws, **kw)
    names = [c.model_name for c in contexts]
    out["title"] = out["title"].rsplit(" with ", 1)[0] + " with " + ", ".join(names)
    out["config"] = remote_arms.recorded_config(cfg)
    out["model"] = chosen
    out["models"] = [r for r, _ in rows]
    out["warnings"] = list(dict.fromkeys(w for n in names for w in per[n]["warnings"]))
    rec = out["recommendation"]
    if choice:
        out["recommendation"] = {**rec, "model": chosen,
                                 "headline": f"{choice['text']}. With {chosen}: {rec['headline']}",
                                 "reasons": [*choice["reasons"], *rec["reasons"]]}
    return out


def _for_model(cfg, name: str):
    """``cfg`` with ``model.name`` = ``name`` (what one model's sections are built from)."""
    import dataclasses
    one = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, name=name), models=None)
    one.base_dir = cfg.base_dir
    return one


def _row(cfg, ctx, res: dict, own: list[ArmRecord], metric: str, token_rate,
         measurements) -> tuple[dict | None, list]:
    """One model's row of the ``models`` table and its best arm's predictions per seed."""
    name = ctx.model_name
    prompts = [r for r in own if r.is_local_prompt and r.model == name]
    fts = [r for r in own if r.is_finetune and r.model == name]
    scored = {a["name"]: a for a in res["arms"]}
    best_p = max(prompts, key=lambda r: _v(scored, r.name, metric), default=None)
    curve = res["learning_curve"]
    best_c = max(curve, key=lambda p: (p["mean"], -p["train_size"]), default=None)
    if best_p is None and best_c is None:
        return None, []
    p_val = _v(scored, best_p.name, metric) if best_p else float("-inf")
    if best_c is not None and best_c["mean"] > p_val:
        runs = sorted((r for r in fts if r.train_size == best_c["train_size"]),
                      key=lambda r: r.seed or 0)
        arm, preds = runs[0], [r.preds for r in runs]
        value, ci = best_c["mean"], best_c.get("ci")
        words = f"fine-tuned on {best_c['train_size']:,}"
    else:
        arm, preds = best_p, [best_p.preds]
        value, ci = p_val, scored[best_p.name]["metrics"][metric].get("ci")
        words = _base_name(best_p.name, ctx.tag)
    compute = _compute(cfg)
    unit = costing.unit_costs([arm], compute, token_rate(ctx))[arm.name]
    train_seconds = sum(float(r.timing.get("train_seconds") or 0.0) for r in fts)
    peaks = [float(r.timing["peak_memory_mb"]) for r in fts
             if r.timing.get("peak_memory_mb") is not None]
    from tunewise.models.catalog import lookup
    builtin = lookup(name)
    params = _parameters(ctx, measurements(ctx))
    cross = res.get("crossover") or {}
    row = {"model": name, "label": ctx.tag or name,
           "kind": builtin.kind if builtin else None,
           "base": builtin.kind.startswith("base") if builtin else None,
           "parameters": params,
           "weights_mb": None if params is None else params * (2 if ctx.bf16 else 4) / 2 ** 20,
           "best_arm": arm.name, "best": words, "metric": metric, "value": value, "ci": ci,
           "best_prompt": None if best_p is None else {"name": best_p.name, "value": p_val},
           "crossover": {"found": bool(cross.get("found")), "train_size": cross.get("train_size"),
                         "versus": cross.get("versus")},
           "train_seconds": train_seconds,
           "train_usd": _train_usd(train_seconds, compute) if fts else None,
           "train_peak_memory_mb": max(peaks, default=None),
           "usd_per_1k_requests": None if unit["usd_per_request"] is None
           else 1000 * unit["usd_per_request"],
           "seconds_per_request": unit["seconds_per_request"],
           "device": arm.hardware, "learning_curve": curve,
           "probe": _probe(res),
           "probe_curve": res.get("probe_curve") or [],
           "action": res["recommendation"]["action"],
           "recommendation": res["recommendation"]["headline"]}
    return row, preds


def _probe(res: dict) -> dict | None:
    """The model's embedding probe at its best size (mean over seeds, CI) and its serving cost
    (``probe_curve``'s, its measured forward pass per text); None without probe arms."""
    best = max(res.get("probe_curve") or [], key=lambda p: (p["mean"], -p["train_size"]),
               default=None)
    if best is None:
        return None
    return {"train_size": best["train_size"], "value": best["mean"], "ci": best.get("ci"),
            "usd_per_1k_requests": best.get("usd_per_1k_requests"),
            "seconds_per_request": best.get("seconds_per_request")}


def _v(scored: dict, name: str, metric: str) -> float:
    return scored[name]["metrics"][metric]["value"]


def _base_name(name: str, tag: str | None) -> str:
    return name[len(tag) + 1:] if tag and name.startswith(tag + " ") else name


def _compute(cfg):
    """The compute entry ($/hour) of the device used, or None (a GPU without a $/hour entry:
    the costs are unknown, not 0)."""
    from tunewise.comparison.plan import price_table
    from tunewise.cost.compute_entry import resolve_compute
    from tunewise.cost.prices import get_price
    try:
        return get_price(resolve_compute(cfg.cost.compute), price_table(cfg))
    except UsageError:
        return None


def _train_usd(seconds: float, compute) -> float | None:
    """The curve's training seconds at the compute's $/hour (None when it has no price)."""
    from tunewise.cost.formulas import local_training_cost
    rate = getattr(compute, "usd_per_hour", None)
    return None if rate is None else local_training_cost(seconds, rate)


def _parameters(ctx, cache) -> int | None:
    """The model's parameter count, kept beside its time per token (loads it once if needed)."""
    inputs = {"measure": "parameters-v1", "model": ctx.model_name}
    hit = cache.get("parameters", inputs)
    if hit:
        return hit["parameters"]
    n = int(sum(p.numel() for p in ctx.base_model().model.parameters()))
    cache.put("parameters", inputs, {"parameters": n})
    return n


def _choose(task, golds, metric, rows, kw) -> dict | None:
    """``analysis.recommend_model`` over the rows, with each model's best arm's paired test
    against the best-scoring model's; the tests are kept in the rows (``vs_lead``)."""
    if len(rows) < 2:
        return None
    fn = metric_function(task, metric)
    lead_row, lead_preds = max(rows, key=lambda rp: rp[0]["value"])
    tests = {}
    for row, preds in rows:
        if row is lead_row:
            row["vs_lead"] = None
            continue
        t = paired_difference(fn, golds, preds, lead_preds, **kw)
        tests[row["model"]] = row["vs_lead"] = {**t, "versus": lead_row["best_arm"]}
    pick = analysis.recommend_model(
        [{"model": r["model"], "arm": r["best"], "score": r["value"],
          "usd_per_1k": r["usd_per_1k_requests"], "seconds_per_request": r["seconds_per_request"]}
         for r, _ in rows], tests, metric=metric)
    for r, _ in rows:
        r["chosen"] = r["model"] == pick["model"]
    return pick
