"""What the report says, as a list of format-neutral blocks; markdown.py and html.py only lay
them out, so both files carry exactly the same words and numbers."""
from __future__ import annotations

import json

from tunewise import formatting as fmt
from tunewise.arm_record import ArmRecord, records
from tunewise.report.cascade import cascade_blocks
from tunewise.report.models import models_blocks
from tunewise.report.probe import probe_blocks
from tunewise.report.remote import remote_blocks
from tunewise.report.data_audit import data_audit_blocks
from tunewise.report.blocks import (  # noqa: F401  (markdown.py and html.py import them here)
    Block, Bullets, Code, Figure, Heading, Paragraph, Table)


def value(arm: dict, metric: str) -> float | None:
    return ((arm.get("metrics") or {}).get(metric) or {}).get("value")


def ci(arm: dict, metric: str):
    return ((arm.get("metrics") or {}).get(metric) or {}).get("ci")


def arm_records(results: dict) -> list[ArmRecord]:
    """results.json's arms, each read once as an ``ArmRecord`` (the report asks them which arm
    they are; it never compares ``kind`` strings)."""
    return records(results.get("arms") or [], model=results.get("model"),
                   where="results.json arms")


def title(results: dict) -> str:
    if results.get("title"):
        return str(results["title"])
    kind = (results.get("task") or {}).get("kind", "task")
    src = (results.get("data") or {}).get("source")
    return f"tunewise report: {kind}" + (f" on {src}" if src else "")


def selected_arms(results: dict) -> list[dict]:
    """The arms whose per-class scores and confusion matrices the report shows: the best
    prompting arm, the classical arm, and the best fine-tuned run at the largest size."""
    metric = results["metric"]
    arms = arm_records(results)

    def best(cands):
        cands = [a for a in cands if a.value(metric) is not None]
        return max(cands, key=lambda a: a.value(metric)) if cands else None

    p = best([a for a in arms if a.is_prompting])
    c = best([a for a in arms if a.is_classical])
    fts = [a for a in arms if a.is_finetune]
    f = None
    if fts:
        top = max((a.train_size or 0) for a in fts)
        f = best([a for a in fts if (a.train_size or 0) == top])
    return [a.raw for a in (p, c, f) if a is not None]


def build(results: dict) -> list[Block]:
    """Every block of the report, in order (figures carry their SVG)."""
    from tunewise.report import plots
    metric = results["metric"]
    rec = results.get("recommendation") or {}
    blocks: list[Block] = [Heading(title(results), 1),
                           Paragraph(rec.get("headline") or "No recommendation.", "headline")]
    if rec.get("reasons"):
        blocks.append(Bullets(list(rec["reasons"]), "Evidence"))
    if rec.get("caveats"):
        blocks.append(Bullets(list(rec["caveats"]), "Caveats"))
    for w in results.get("warnings") or []:
        blocks.append(Paragraph(f"Warning: {w}", "warning"))

    blocks += _setup(results)
    blocks += data_audit_blocks(results)
    blocks += _arms_table(results)
    blocks += models_blocks(results)
    blocks += remote_blocks(results)

    # -- learning curve ---------------------------------------------------------------------
    blocks.append(Heading("Learning curve"))
    svg = plots.learning_curve_svg(results)
    if svg:
        blocks.append(Figure("learning_curve", f"{metric} against training examples; "
                             "dashed: the embedding probe; horizontal bands: prompting (local "
                             "and remote), classical and majority arms (95% CI)",
                             svg))
    curve = sorted(results.get("learning_curve") or [], key=lambda p: p["train_size"])
    if curve:
        rows = [[fmt.count(p["train_size"]), fmt.metric_ci(p["mean"], p.get("ci")),
                 ", ".join(fmt.metric(v) for v in p.get("values") or []),
                 ", ".join(str(s) for s in p.get("seeds") or []),
                 "" if p.get("epochs") is None else str(p["epochs"]),
                 {"none": "none: all examples trained on, last epoch kept"}.get(
                     p.get("validation"), f"{p['validation']}, best epoch kept"
                     if p.get("validation") else "")] for p in curve]
        blocks.append(Table(["training examples", f"{metric} (mean) [95% CI]", "per seed",
                             "seeds", "epochs", "validation"], rows,
                            [True, True, True, False, True, False]))
    else:
        blocks.append(Paragraph("No fine-tuned runs in these results.", "note"))
    blocks += probe_blocks(results)
    blocks += _lr_search(results)
    blocks += _crossover(results)
    blocks += _curve_prediction(results)

    blocks += _cost(results)
    blocks += cascade_blocks(results)
    blocks += _per_class(results)
    blocks += _reproduce(results)
    return blocks


def _lr_search(results: dict) -> list[Block]:
    """lr: auto: each rate tried, its validation score, and the one the curve used."""
    found = results.get("lr_search")
    if not found:
        return []
    out: list[Block] = []
    for ls in (found if isinstance(found, list) else [found]):
        out += _one_lr_search(ls)
    return out


def _one_lr_search(ls: dict) -> list[Block]:
    who = f" ({ls['model']})" if ls.get("model") else ""
    rows = [[f"{t['lr']:g}", fmt.metric(t["value"]), f"{t.get('train_seconds') or 0:.0f} s",
             "used for every run" if t["lr"] == ls["chosen"] else ""] for t in ls["trials"]]
    return [Heading(f"Learning-rate search{who}", 3),
            Paragraph(f"lr: auto trained {len(rows)} rates at {fmt.count(ls['size'])} examples "
                      f"and scored each on {fmt.count(ls['val_size'])} validation examples (not "
                      f"the test split) by {ls['metric']}; the curve used {ls['chosen']:g} "
                      f"(the method's default: {ls['default']:g})." + _kept_default(ls)),
            Table(["learning rate", f"{ls['metric']} (validation)", "training", ""], rows,
                  [True, True, True, False])]


def _kept_default(ls: dict) -> str:
    vs = ls.get("vs_default")
    if not vs or vs.get("significant"):
        return ""
    return (f" {vs['lr']:g} scored best but not significantly better than the default "
            f"(paired bootstrap p = {vs['p_value']:.2g}), so the default was kept.")


def _setup(results: dict) -> list[Block]:
    task = results.get("task") or {}
    data = results.get("data") or {}
    several = [m["model"] for m in results.get("models") or []]
    items = [f"Models: {', '.join(several)} (the sections below: {results.get('model')})"
             if len(several) > 1 else f"Model: {results.get('model', 'n/a')}",
             f"Task: {task.get('kind', 'n/a')}"
             + (f" ({len(task['labels'])} labels: {', '.join(task['labels'])})"
                if task.get("labels") else ""),
             f"Headline metric: {results['metric']}"]
    sizes = [f"{k} {fmt.count(data[k])}" for k in ("train", "val", "test")
             if isinstance(data.get(k), (int, float))]
    if sizes:
        items.append("Examples: " + ", ".join(sizes))
    if data.get("source"):
        items.append(f"Data: {data['source']}")
    if data.get("label_counts"):
        total = sum(data["label_counts"].values()) or 1
        dist = ", ".join(f"{k} {v:,} ({100 * v / total:.0f}%)"
                         for k, v in sorted(data["label_counts"].items(), key=lambda kv: -kv[1]))
        items.append(f"Test labels: {dist}")
    if data.get("imbalanced"):
        items.append("Labels are imbalanced: comparisons use macro-F1, and the majority-class "
                     "baseline is shown")
    t = results.get("timing") or {}
    if isinstance(t.get("total_seconds"), (int, float)):
        items.append(f"Wall time: {t['total_seconds']:,.0f} s")
    if results.get("created"):
        items.append(f"Created: {results['created']} (tunewise {results.get('tunewise_version', '?')})")
    return [Heading("Setup"), Bullets(items)]


def _arms_table(results: dict) -> list[Block]:
    metric = results["metric"]
    arms = [r.raw for r in sorted(arm_records(results), key=lambda r: (
        r.role.order, r.shots or 0, r.train_size or 0, r.seed or 0))]
    extra = "accuracy" if metric != "accuracy" and any(
        value(a, "accuracy") is not None for a in arms) else None
    headers = ["arm", "kind", "training examples", "seed", f"{metric} [95% CI]"]
    if extra:
        headers.append(f"{extra} [95% CI]")
    headers.append("examples/s")
    rows = []
    for a in arms:
        row = [a["name"], a.get("kind", ""),
               fmt.count(a["train_size"]) if a.get("train_size") is not None else "",
               "" if a.get("seed") is None else str(a["seed"]),
               fmt.metric_ci(value(a, metric), ci(a, metric))]
        if extra:
            row.append(fmt.metric_ci(value(a, extra), ci(a, extra)))
        eps = (a.get("timing") or {}).get("examples_per_second")
        row.append("" if eps is None else f"{eps:,.1f}")
        rows.append(row)
    numeric = [False, False, True, True, True] + ([True] if extra else []) + [True]
    return [Heading("Every arm on the test split"),
            Table(headers, rows, numeric), *_failed_arms(results)]


def _failed_arms(results: dict) -> list[Block]:
    """The arms that could not run (``failed_arms``): why, and what to change."""
    failed = results.get("failed_arms") or []
    if not failed:
        return []
    rows = [[f.get("name", ""), f.get("kind", ""), f.get("reason", ""), f.get("fix") or ""]
            for f in failed]
    return [Heading("Arms that could not run", 3),
            Table(["arm", "kind", "reason", "fix"], rows, [False] * 4,
                  caption="left out of every comparison above; a rerun tries them again")]


def _crossover(results: dict) -> list[Block]:
    out: list[Block] = []
    cross = results.get("crossover") or {}
    items = []
    if cross.get("found"):
        s = (f"Crossover: fine-tuning beats {cross.get('versus')} from "
             f"{fmt.count(cross.get('train_size'))} training examples")
        if cross.get("diff") is not None:
            s += f" by {fmt.points(cross['diff'])}"
            if cross.get("ci"):
                lo, hi = cross["ci"]
                s += f" (95% CI {100 * lo:+.1f} to {100 * hi:+.1f})"
        if cross.get("p_value") is not None:
            s += f", paired test p = {cross['p_value']:.3g}"
        items.append(s + ".")
    else:
        items.append("Crossover: not found"
                     + (f" against {cross['versus']}" if cross.get("versus") else "") + ".")
    if cross.get("note") and not cross.get("found"):
        items.append(cross["note"])
    pw = results.get("prompt_worth") or {}
    if pw:
        if pw.get("examples") is not None:
            items.append(f"The {pw.get('versus')} prompt is worth about "
                         f"{fmt.count(round(pw['examples']))} training examples.")
        elif pw.get("note"):
            items.append(pw["note"])
    out.append(Bullets(items))
    return out


def _curve_prediction(results: dict) -> list[Block]:
    """The extrapolated learning curve (tunewise.comparison.extrapolate), with its backtest."""
    pred = results.get("curve_prediction")
    if not pred:
        return []
    if not pred.get("ok"):
        return [Paragraph(f"Extrapolation: {pred.get('message', 'none')}.", "note")]
    items = [f"Predicted {results['metric']} at {fmt.count(p['size'])} training examples: "
             f"{fmt.metric(p['value'])} ({round(100 * pred.get('confidence', 0.9))}% band "
             f"{fmt.metric(p['low'])} to {fmt.metric(p['high'])})"
             for p in pred.get("predictions") or []]
    bt = pred.get("backtest")
    if bt:
        items.append(f"Backtest: fitted without {fmt.count(bt['held_out_size'])}, the same fit "
                     f"predicted {fmt.metric(bt['predicted'])} there; measured "
                     f"{fmt.metric(bt['measured'])} (error {100 * bt['error']:+.1f} points, "
                     f"{'inside' if bt['covered'] else 'outside'} its band)")
    else:
        items.append("Backtest: needs at least 4 training sizes")
    if pred.get("crossover"):
        items.append(pred["crossover"]["text"][:1].upper() + pred["crossover"]["text"][1:])
    items.append(f"Caveat: {pred.get('caveat')}")
    return [Heading("Beyond the measured sizes", 3), Bullets(items)]


def cost_blocks(cost: dict, *, heading: str, level: int = 2, plot: bool = True) -> list[Block]:
    """The blocks for one cost section (main or scenario)."""
    from tunewise.report import plots
    out: list[Block] = [Heading(heading, level)]
    pr = cost.get("pricing") or {}
    src = ", ".join(x for x in (pr.get("source"), pr.get("date") and f"read {pr['date']}") if x)
    if cost.get("mode") == "remote":
        out.append(Paragraph("Remote models priced from their measured usage in this run "
                             "(prompt and completion tokens per request x the price-table "
                             "price) against the local fine-tune on "
                             f"{pr.get('compute') or '?'} (training and per-request cost from "
                             "the local cost section)."))
    elif cost.get("mode") == "local":
        out.append(Paragraph(f"Local compute on {pr.get('name', '?')} at "
                             f"{fmt.usd(pr.get('usd_per_hour'))}/hour"
                             + (f" ({src})" if src else "") + "; model "
                             f"{cost.get('model', '?')}; prices from throughput measured on "
                             f"{pr.get('measured_on') or 'this machine'}."))
    else:
        out.append(Paragraph(f"Hosted prices for {pr.get('name') or cost.get('model')}"
                             + (f" ({src})" if src else "") + "."))
    tr = cost.get("training") or {}
    be = cost.get("break_even") or {}
    if not cost.get("arms"):   # nothing to compare (no prompting or no fine-tuning arm)
        out.append(Paragraph(be.get("text") or tr.get("note") or "No cost comparison.", "note"))
        return out
    out.append(Paragraph(f"Training cost: {fmt.usd(tr.get('usd'))}"
                         + (f" ({tr['note']})" if tr.get("note") else "") + "."))
    rows = []
    for ac in cost.get("arms") or []:
        rows.append([ac["arm"], ac.get("kind", ""),
                     fmt.count(ac.get("prompt_tokens")) if ac.get("prompt_tokens") is not None
                     else "",
                     fmt.count(ac.get("output_tokens")) if ac.get("output_tokens") is not None
                     else "",
                     fmt.usd(ac.get("usd_per_request")), fmt.usd(ac.get("usd_per_1k_requests"))])
    out.append(Table(["arm", "kind", "prompt tokens", "output tokens", "per request",
                      "per 1,000 requests"], rows, [False, False, True, True, True, True]))
    if be:
        if be.get("never") or be.get("requests") is None:
            txt = (f"Break-even against {be.get('versus')}: never; the fine-tuned call is not "
                   f"cheaper per request, so the training cost is never paid back.")
        else:
            txt = (f"Break-even against {be.get('versus')}: after {fmt.requests(be['requests'])} "
                   f"requests the fine-tuned model ({be.get('finetuned')}) has paid back its "
                   f"training cost of {fmt.usd(tr.get('usd'))}"
                   + (f", saving {fmt.usd(be['saving_per_request'])} per request"
                      if be.get("saving_per_request") else "") + ".")
        out.append(Paragraph(txt))
    if cost.get("notes"):
        out.append(Bullets([str(n) for n in cost["notes"]], "Notes"))
    if plot:
        svg = plots.cost_svg(cost)
        if svg:
            key = "cost" if level == 2 else _slug(
                f"cost {cost.get('mode', '')} {(cost.get('pricing') or {}).get('name', '')}")
            out.append(Figure(key, "cumulative cost against requests served; the fine-tuned arm "
                              "starts at its training cost", svg))
    return out


def _cost(results: dict) -> list[Block]:
    out: list[Block] = []
    if results.get("cost"):
        out += cost_blocks(results["cost"], heading="Cost and break-even")
    for extra in results.get("extra_costs") or []:
        pr = (extra.get("pricing") or {}).get("name") or extra.get("model", "")
        heading = ("Cost: remote models (measured) against the local fine-tune"
                   if extra.get("mode") == "remote" else
                   f"Cost scenario: {extra.get('mode', '')} {pr}")
        out += cost_blocks(extra, heading=heading, level=3)
    return out


def _per_class(results: dict) -> list[Block]:
    from tunewise.report import plots
    arms = selected_arms(results)
    out: list[Block] = []
    with_pc = [a for a in arms if a.get("per_class")]
    if with_pc:
        out.append(Heading("Per class"))
        svg = plots.per_class_svg(with_pc)
        if svg:
            out.append(Figure("per_class_f1", "F1 per class of the best prompting arm, the "
                              "classical arm and the best fine-tuned run", svg))
        classes = list(with_pc[0]["per_class"])
        for a in with_pc[1:]:
            classes += [c for c in a["per_class"] if c not in classes]
        rows = []
        for c in classes:
            support = next((a["per_class"][c].get("support") for a in with_pc
                            if c in a["per_class"] and a["per_class"][c].get("support")
                            is not None), None)
            rows.append([c, fmt.count(support) if support is not None else ""]
                        + [fmt.metric((a["per_class"].get(c) or {}).get("f1")) for a in with_pc])
        out.append(Table(["class", "support"] + [f"F1 {a['name']}" for a in with_pc], rows,
                         [False, True] + [True] * len(with_pc)))
    with_cm = [a for a in arms if (a.get("confusion") or {}).get("matrix")]
    if with_cm:
        out.append(Heading("Confusion matrices"))
        svg = plots.confusion_svg(with_cm)
        if svg:
            out.append(Figure("confusion", "rows: gold label; columns: predicted label", svg))
        for a in with_cm:
            labels = a["confusion"]["labels"]
            rows = [[f"gold {lab}"] + [str(c) for c in row]
                    for lab, row in zip(labels, a["confusion"]["matrix"])]
            out.append(Table([a["name"]] + [f"pred {lab}" for lab in labels], rows,
                             [False] + [True] * len(labels)))
    return out


def _reproduce(results: dict) -> list[Block]:
    out: list[Block] = []
    if results.get("config"):
        out += [Heading("Configuration"),
                Code(json.dumps(results["config"], indent=2, ensure_ascii=False, default=str),
                     "json")]
    return out


def _slug(s: str) -> str:
    """A plot's file name from user text (a price entry's name): the one slug function."""
    from tunewise.fileio import safe_filename
    return safe_filename(s.lower().strip(), max_len=60)
