"""The report's "Remote models" section: each remote arm's model, measured usage and cost, and its
paired test against the best fine-tune on the same test examples."""
from __future__ import annotations

from tunewise import formatting as fmt
from tunewise.arm_record import records
from tunewise.report.blocks import Block, Bullets, Heading, Table


def remote_blocks(results: dict) -> list[Block]:
    arms = [a.raw for a in records(results.get("arms") or [], model=results.get("model"),
                                   where="results.json arms") if a.remote]
    if not arms:
        return []
    rows = []
    for a in arms:
        u = a.get("usage") or {}
        rows.append([a["name"], str(a.get("model") or ""), str(a.get("shots", 0)),
                     fmt.count(u.get("prompt_tokens_total")),
                     fmt.count(u.get("output_tokens_total")),
                     fmt.count(u.get("requests")), fmt.count(u.get("cache_hits")),
                     fmt.count(u.get("retries")), fmt.usd(u.get("cost_usd")),
                     fmt.usd(u.get("usd_per_request"))])
    out: list[Block] = [
        Heading("Remote models", 3),
        Table(["arm", "model", "shots", "prompt tokens", "output tokens", "requests",
               "cache hits", "retries", "measured cost", "per request"], rows,
              [False, False, True, True, True, True, True, True, True, True],
              caption="measured on this test sample: tokens the server counted, requests sent "
                      "this run (a rerun answers from the cache), cost = tokens x the "
                      "price-table price (n/a: no price for the model)")]
    tests = results.get("tests") or {}
    items = []
    metric = results.get("metric", "")
    for a in arms:
        t = tests.get(f"ft_best|remote:{a['name']}")
        if t:
            items.append(f"best fine-tune minus {a['name']}: {_points(t)} {metric} (paired "
                         f"bootstrap p = {t.get('p_value', float('nan')):.3g})")
        for note in (a.get("usage") or {}).get("notes") or []:
            items.append(f"{a['name']}: {note}")
    if items:
        out.append(Bullets(items))
    return out


def _points(t: dict) -> str:
    ci = t.get("ci")
    txt = f"{100 * t['diff']:+.1f} points"
    return txt + (f" [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]" if ci else "")
