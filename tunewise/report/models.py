"""The report's "Models" section (a compare of several base models, results.json ``models``):
per model its best arm with its CI, where its fine-tuning crosses its best prompting arm,
training time and cost, parameters, memory, serving cost and latency on the device used, and its
paired test against the best-scoring model; a base (pretrained, not instruction-tuned) model is
named as such."""
from __future__ import annotations

from tunewise import formatting as fmt
from tunewise.report.blocks import Block, Heading, Paragraph, Table


def models_blocks(results: dict) -> list[Block]:
    rows_in = results.get("models") or []
    if len(rows_in) < 2:
        return []
    metric = results["metric"]
    rows = []
    for m in rows_in:
        cross = m.get("crossover") or {}
        t = m.get("vs_lead")
        rows.append([
            m["model"] + (" (chosen)" if m.get("chosen") else ""),
            m.get("kind") or "n/a",
            _params(m.get("parameters")),
            f"{m.get('best') or m.get('best_arm')}",
            fmt.metric_ci(m.get("value"), m.get("ci")),
            "best" if t is None else f"{fmt.points(t['diff'])}, p = {t['p_value']:.3g}",
            (f"{cross['train_size']:,} (vs {cross.get('versus')})" if cross.get("found")
             else "not crossed"),
            _probe(m.get("probe")),
            _training(m),
            _memory(m),
            fmt.usd(m.get("usd_per_1k_requests")),
            "n/a" if m.get("seconds_per_request") is None
            else f"{1000 * m['seconds_per_request']:,.1f} ms",
            m.get("device") or "n/a"])
    out: list[Block] = [
        Heading("Models"),
        Table(["model", "kind", "parameters", "best arm", f"{metric} [95% CI]",
               "vs the best model", "fine-tuning crosses prompting at",
               "embedding probe (best size)", "training time (cost)", "memory",
               "$ per 1,000 requests", "latency per request", "device"], rows,
              [False, False, True, False, True, True, False, True, True, False, True, True,
               False],
              caption="each model's own prompting arms and fine-tuning curve on the same test "
                      "examples; vs the best model: its best arm minus the best-scoring model's "
                      "(paired bootstrap); cost and latency of its best arm from its measured "
                      "time per token on the device named; the embedding probe's cost: its "
                      "measured forward pass per text; training: every run of its curve at the "
                      "compute's $/hour; memory: its weights at the precision used, and the "
                      "most a training run added at its peak (measured: CUDA allocated, or "
                      "the process's resident memory on Linux)")]
    curve_rows = [[m["model"], fmt.count(p["train_size"]), fmt.metric_ci(p["mean"], p.get("ci")),
                   ", ".join(fmt.metric(v) for v in p.get("values") or [])]
                  for m in rows_in for p in sorted(m.get("learning_curve") or [],
                                                   key=lambda q: q["train_size"])]
    if curve_rows:
        out.append(Table(["model", "training examples", f"{metric} (mean) [95% CI]", "per seed"],
                         curve_rows, [False, True, True, True],
                         caption="each model's fine-tuning curve (drawn together in the "
                                 "learning-curve plot)"))
    base = [m["model"] for m in rows_in if m.get("base")]
    if base:
        out.append(Paragraph(
            f"{', '.join(base)}: a pretrained base model, not instruction-tuned: prompting it "
            "(zero- or k-shot) asks a model that was never taught to follow instructions, so "
            "its prompting arms start lower and fine-tuning matters more; beside an "
            "instruction-tuned model this shows what instruction tuning buys on your task.",
            "note"))
    return out


def _probe(p: dict | None) -> str:
    """The model's embedding probe at its best size, and its serving cost per 1,000 requests."""
    if not p:
        return "not run"
    return (f"{fmt.metric_ci(p.get('value'), p.get('ci'))} on {p['train_size']:,} "
            f"({fmt.usd(p.get('usd_per_1k_requests'))} per 1,000)")


def _training(m: dict) -> str:
    secs = f"{m.get('train_seconds') or 0:,.0f} s"
    return secs if m.get("train_usd") is None else f"{secs} ({fmt.usd(m['train_usd'])})"


def _memory(m: dict) -> str:
    """Weights, and the training runs' peak added memory where it was measured."""
    parts = [] if m.get("weights_mb") is None else [f"weights {_mb(m['weights_mb'])}"]
    if m.get("train_peak_memory_mb") is not None:
        parts.append(f"training +{_mb(m['train_peak_memory_mb'])}")
    return "; ".join(parts) or "n/a"


def _mb(x: float) -> str:
    return f"{x / 1024:.1f} GB" if x >= 1024 else f"{x:,.0f} MB"


def _params(n) -> str:
    if not n:
        return "n/a"
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"
