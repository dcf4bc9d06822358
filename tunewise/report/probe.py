"""The report's "Embedding probe" section: the probe's learning curve (results.json
``probe_curve``; with several models each model's, from its ``models`` row) beside the
fine-tuning curve, with what the probe is and what a request costs."""
from __future__ import annotations

from tunewise import formatting as fmt
from tunewise.report.blocks import Block, Heading, Paragraph, Table


def probe_blocks(results: dict) -> list[Block]:
    metric = results["metric"]
    models = results.get("models") or []
    curves = ([(m.get("label") or m["model"], m.get("probe_curve") or []) for m in models]
              if len(models) > 1 else [(None, results.get("probe_curve") or [])])
    rows = [([name] if len(curves) > 1 else [])
            + [fmt.count(p["train_size"]), fmt.metric_ci(p["mean"], p.get("ci")),
               ", ".join(fmt.metric(v) for v in p.get("values") or []),
               ", ".join(str(s) for s in p.get("seeds") or []),
               fmt.usd(p.get("usd_per_1k_requests")),
               "n/a" if p.get("seconds_per_request") is None
               else f"{1000 * p['seconds_per_request']:,.1f} ms"]
            for name, pts in curves for p in sorted(pts, key=lambda q: q["train_size"])]
    if not rows:
        return []
    several = len(curves) > 1
    headers = (["model"] if several else []) + ["training examples",
                                                f"{metric} (mean) [95% CI]", "per seed", "seeds",
                                                "$ per 1,000 requests", "latency per request"]
    return [Heading("Embedding probe", 3),
            Paragraph("A logistic regression on the base model's frozen features (the middle "
                      "layer's hidden state at the last token and its mean over the tokens, as "
                      "tunewise data noise computes them), fitted on the same training "
                      "subsets as the fine-tuning runs. A request costs one forward pass up to "
                      "that layer, no decoding; each text is embedded once per model."),
            Table(headers, rows, ([False] if several else []) + [True, True, True, False, True, True],
                  caption="the probe's curve (drawn dashed in the learning-curve plot); cost and "
                          "latency: its lowest seed's measured forward pass per test text at the "
                          "compute entry's $/hour")]
