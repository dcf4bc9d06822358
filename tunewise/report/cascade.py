"""The report's "Cascade" section: the accuracy-cost plot of every arm and cascade, the cascades'
cross-fitted results with their paired tests, and the best cascade's curve."""
from __future__ import annotations

from tunewise import formatting as fmt
from tunewise.report.blocks import Block, Bullets, Figure, Heading, Paragraph, Table


def _test(t: dict | None) -> str:
    if not t:
        return ""
    ci = t.get("ci")
    txt = f"{100 * t['diff']:+.1f}"
    return txt + (f" [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]" if ci else "") + \
        f", p = {t.get('p_value', float('nan')):.3g}"


def _seconds(x) -> str:
    return "n/a" if x is None else f"{x:.3g} s"


def cascade_blocks(results: dict) -> list[Block]:
    from tunewise.report import plots
    sec = results.get("cascade")
    if not sec:
        return []
    metric = results["metric"]
    out: list[Block] = [Heading("Cascade: the cheap arm first, the expensive arm when unsure")]
    if not sec.get("pairs"):
        out.append(Paragraph(sec.get("note") or "No cascade.", "note"))
        return out
    out.append(Paragraph(sec["note"][:1].upper() + sec["note"][1:] + "."))
    svg = plots.cascade_svg(sec, metric)
    if svg:
        priced = any(q.get("usd_per_1k_requests") is not None for p in sec["pairs"]
                     for q in p["curve"])
        out.append(Figure("cascade", (
            f"{metric} against USD per 1,000 requests: every arm with a known cost, each "
            "cascade's curve (a point per 5% of examples escalated), the frontier, and the best "
            "cascade cross-fitted (95% CI)") if priced else (
            f"{metric} against the share of requests escalated (no price is known for the "
            "expensive arm, so no cost is drawn); the best cascade cross-fitted (95% CI)"), svg))
    rows = []
    for p in sec["pairs"]:
        cf = p["crossfit"]
        rows.append([p["cheap"], p["expensive"], f"{100 * cf['share_escalated']:.0f}%",
                     fmt.metric_ci(cf["value"], cf.get("ci")), fmt.metric(cf["in_sample_value"]),
                     fmt.usd(cf.get("usd_per_1k_requests")),
                     _seconds(cf.get("seconds_per_request")),
                     _test((p.get("tests") or {}).get("vs_expensive"))])
    out.append(Table(["cheap arm", "expensive arm", "escalated", f"{metric} [95% CI]",
                      "chosen in-sample (optimistic)", "per 1,000 requests", "per request",
                      "minus expensive alone (points)"], rows,
                     [False, False, True, True, True, True, True, True],
                     caption="cross-fitted: the threshold is chosen on one half of the test "
                             "split and measured on the other, and the halves swap; the "
                             "in-sample column is what choosing on the measured examples "
                             "reports"))
    best = sec.get("best") or {}
    pair = next((p for p in sec["pairs"] if p["cheap"] == best.get("cheap")
                 and p["expensive"] == best.get("expensive")), sec["pairs"][0])
    if pair:
        out.append(Heading(f"{pair['cheap']} -> {pair['expensive']}: the curve", 3))
        rows = [[f"{100 * q['share_escalated']:.0f}%", f"{min(q['threshold'], 1.0):.3f}",
                 fmt.metric_ci(q["value"], q.get("ci")), fmt.usd(q.get("usd_per_1k_requests")),
                 _seconds(q.get("seconds_per_request"))] for q in pair["curve"]]
        out.append(Table(["escalated", "confidence below", f"{metric} [95% CI]",
                          "per 1,000 requests", "per request"], rows,
                         [True, True, True, True, True]))
        out.append(Paragraph(
            f"To deploy: temperature {pair['temperature']['all']:.3g}; send an example to "
            f"{pair['expensive']} when {pair['cheap']}'s calibrated probability of its label is "
            f"below {min(pair['threshold'], 1.0):.3f} (chosen on every test example; "
            f"{100 * pair['share_escalated_all']:.0f}% of them)."))
    items = [f"Rule: {sec['rule']}.", f"Calibration: {sec['calibration']}.",
             "Cost: the cheap arm answers every request, the expensive arm the escalated share; "
             "time per request: each arm's measured throughput."]
    items += list(sec.get("skipped") or [])
    out.append(Bullets(items, "How it is computed"))
    return out
