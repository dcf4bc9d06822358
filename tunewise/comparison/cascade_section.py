"""results.json's ``cascade`` section: every sensible cheap -> expensive pair of a compare
(``tunewise.comparison.cascade``: one pair, in ``cascade_pair``), the accuracy-cost frontier, and the best cascade
with its paired test against the best single arm (the recommendation may become that cascade).

Sensible pairs: the cheap arm is the classical model or a fine-tuned size (its lowest seed, the run
the cost section prices) whose record carries label probabilities; the expensive arm is a remote
model or a k-shot prompt (zero-shot prompting of the base model costs what the fine-tuned model
costs and knows less). A pair whose expensive arm is known to cost no more than its cheap arm is
left out. NER and generation: no confidence is defined, the section says so and holds no pairs.
"""
from __future__ import annotations

from typing import Any, Sequence

from tunewise.arm_record import ArmRecord, ArmRole, records
from tunewise.comparison.cascade_pair import CascadeUndefined, cascade

RULE = ("the cheap arm answers when its calibrated confidence in its label is at least the "
        "threshold; otherwise the expensive arm answers")
CALIBRATION = ("temperature scaling of the cheap arm's label probabilities, fitted on one half of "
               "the test split and applied to the other (cross-fitted); the recommended threshold "
               "is chosen on one half and measured on the other, and the halves swap")


def sensible_pairs(raws: Sequence[dict | ArmRecord]
                   ) -> tuple[list[tuple[ArmRecord, ArmRecord]], list[str]]:
    """(pairs of (cheap, expensive) arm records, notes on cheap arms left out)."""
    cheap, notes = [], []
    by_size: dict[int | None, ArmRecord] = {}
    raws = records(raws)
    for r in raws:
        if r.is_classical:
            cheap.append(r)
        elif r.is_finetune:
            cur = by_size.get(r.train_size)
            if cur is None or (r.seed or 0) < (cur.seed or 0):
                by_size[r.train_size] = r
    cheap += [by_size[s] for s in sorted(by_size)]
    usable = []
    for r in cheap:
        if r.get("label_logprobs"):
            usable.append(r)
        else:
            notes.append(f"{r.name}: no label probabilities in its record (it generated its "
                         "answers, or was cached by an older tunewise: delete "
                         "OUT/arms/ of it to recompute), so it cannot lead a cascade")
    expensive = [r for r in raws if r.remote or (r.is_local_prompt and r.shots)]
    return [(c, e) for c in usable for e in expensive], notes


def section(task, golds: Sequence[Any], raws: Sequence[dict | ArmRecord], metric: str,
            costs: dict[str, dict], *, n_resamples: int = 1000, alpha: float = 0.05,
            seed: int = 0) -> dict:
    """The ``cascade`` section (``tunewise.comparison.schema.CascadeSection``). ``costs``: arm
    name -> {"usd_per_request", "seconds_per_request"} (``costing.unit_costs``)."""
    raws = records(raws)
    base = {"metric": metric, "rule": RULE, "calibration": CALIBRATION, "pairs": [],
            "best": None, "frontier": [], "arms": _arm_points(task, golds, raws, metric, costs),
            "skipped": []}
    if not getattr(task, "can_score_labels", False):
        return {**base, "defined": False,
                "note": f"no cascade: no confidence is defined for {task.kind} answers (a "
                        "cascade needs the cheap arm's probability of its answer, which only a "
                        "closed label set gives)"}
    pairs, notes = sensible_pairs(raws)
    base["skipped"] = notes
    done, preds = [], {}
    for c, e in pairs:
        cu = (costs.get(c.name) or {}).get("usd_per_request")
        eu = (costs.get(e.name) or {}).get("usd_per_request")
        if cu is not None and eu is not None and eu <= cu:
            base["skipped"].append(f"{c.name} -> {e.name}: {e.name} costs no more "
                                   "per request, nothing to save")
            continue
        try:
            p = cascade(c.raw, e.raw, golds, task, metric=metric, cheap_cost=costs.get(c.name),
                        expensive_cost=costs.get(e.name), n_resamples=n_resamples,
                        alpha=alpha, seed=seed)
        except CascadeUndefined as err:
            base["skipped"].append(f"{c.name} -> {e.name}: {err.message}")
            continue
        preds[(p["cheap"], p["expensive"])] = p.pop("predictions")
        done.append(p)
    base["pairs"] = done
    if not done:
        return {**base, "defined": True,
                "note": "no cascade: no pair of a cheap arm with label probabilities (classical "
                        "or fine-tuned) and an expensive one (remote or k-shot)"}
    base["frontier"] = frontier(base["arms"], done)
    mixed = [p for p in done if 0 < p["crossfit"]["share_escalated"] < 1]
    if not mixed:
        return {**base, "defined": True,
                "note": "no cascade mixes its arms: with the threshold cross-fitted, each one "
                        "answers with its cheap arm alone or its expensive arm alone"}
    base["best"] = _best(task, golds, raws, metric, mixed, preds, n_resamples, alpha, seed)
    return {**base, "defined": True, "note": base["best"]["text"]}


def _arm_points(task, golds, raws, metric, costs) -> list[dict]:
    """Every arm's headline value and unit cost (the plot's points)."""
    from tunewise.comparison.scoring import metric_function
    try:
        fn = metric_function(task, metric)
    except Exception:   # noqa: BLE001 - a task without this metric has no points to draw
        return []
    golds = list(golds)
    out = []
    for r in raws:
        c = costs.get(r.name) or {}
        usd = c.get("usd_per_request")
        out.append({"name": r.name, "kind": r.kind, "value": float(fn(golds, r.preds)),
                    "usd_per_1k_requests": None if usd is None else 1000.0 * usd,
                    "seconds_per_request": c.get("seconds_per_request")})
    return out


def frontier(arms: Sequence[dict], pairs: Sequence[dict]) -> list[dict]:
    """The accuracy-cost frontier over every arm and every cascade curve point with a known cost:
    the points no other point beats on both value and cost, cheapest first. (Descriptive: a
    curve point's threshold is read off the test split; the recommended cascade is
    ``best``.)"""
    pts = [{"label": a["name"], "kind": "arm", "usd_per_1k_requests": a["usd_per_1k_requests"],
            "value": a["value"]} for a in arms
           if ArmRole.parse(a["kind"], where="cascade arm") is not ArmRole.MAJORITY]
    for p in pairs:
        for q in p["curve"]:
            if 0 < q["share_escalated"] < 1:
                pts.append({"label": f"{p['cheap']} -> {p['expensive']} "
                                     f"({100 * q['share_escalated']:.0f}% escalated)",
                            "kind": "cascade", "cheap": p["cheap"], "expensive": p["expensive"],
                            "share_escalated": q["share_escalated"],
                            "usd_per_1k_requests": q["usd_per_1k_requests"],
                            "value": q["value"]})
    pts = [p for p in pts if p["usd_per_1k_requests"] is not None]
    pts.sort(key=lambda p: (p["usd_per_1k_requests"], -p["value"]))
    out, best = [], float("-inf")
    for p in pts:
        if p["value"] > best:
            out.append(p)
            best = p["value"]
    return out


def _best(task, golds, raws, metric, pairs, preds, n_resamples, alpha, seed) -> dict:
    """The cascade with the best cross-fitted value (ties: the cheaper), tested against the best
    single arm (majority aside) on the same examples."""
    from tunewise.comparison.scoring import metric_function, paired_difference

    def cost_key(p):
        u = p["crossfit"]["usd_per_1k_requests"]
        return float("inf") if u is None else u
    top = max(pairs, key=lambda p: (p["crossfit"]["value"], -cost_key(p)))
    fn = metric_function(task, metric)
    golds = list(golds)
    singles = [r for r in raws if not r.is_majority]
    single = max(singles, key=lambda r: fn(golds, r.preds))
    t = paired_difference(fn, golds, [preds[(top["cheap"], top["expensive"])]],
                          [single.preds], n_resamples=n_resamples, alpha=alpha, seed=seed)
    cf = top["crossfit"]
    exp_usd = top["expensive_alone"]["usd_per_1k_requests"]
    share_of_cost = (cf["usd_per_1k_requests"] / exp_usd
                     if cf["usd_per_1k_requests"] is not None and exp_usd else None)
    better = bool(t["significant"] and t["diff"] > 0)
    text = cascade_text(top, single.name, t, metric, share_of_cost)
    return {"cheap": top["cheap"], "expensive": top["expensive"], "value": cf["value"],
            "ci": cf["ci"], "share_escalated": cf["share_escalated"],
            "threshold": top["threshold"], "temperature": top["temperature"]["all"],
            "usd_per_1k_requests": cf["usd_per_1k_requests"],
            "share_of_expensive_cost": share_of_cost, "best_single": single.name,
            "vs_best_single": t, "beats_best_single": better, "text": text}


def cascade_text(pair: dict, single: str, t: dict, metric: str,
                 share_of_cost: float | None) -> str:
    """The cascade in one sentence, with its paired test against the best single arm."""
    cf = pair["crossfit"]
    lo, hi = cf["ci"]
    m = "macro-F1" if metric == "macro_f1" else metric.replace("_", "-")
    text = (f"cascade: {pair['cheap']} answers and sends the {100 * cf['share_escalated']:.0f}% "
            f"least confident to {pair['expensive']}: {m} {cf['value']:.3f} [{lo:.3f}, {hi:.3f}] "
            f"(threshold cross-fitted on halves of the test split) vs {t['b']:.3f} for {single} "
            f"alone (difference {100 * t['diff']:+.1f} points, paired bootstrap p = "
            f"{t['p_value']:.3g}")
    text += ")" if share_of_cost is None else \
        f"), at {100 * share_of_cost:.0f}% of {pair['expensive']}'s cost"
    return text
