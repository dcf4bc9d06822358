"""The report's plots, drawn with matplotlib's object API (Agg, no pyplot global state) and
returned as inline SVG strings (no XML prolog, no external references).

* ``learning_curve_svg``: fine-tuned metric against training size with its CI band, the
  embedding probe's curve dashed; every prompting arm (local, and remote models), the classical and the majority baseline as horizontal
  bands (value and CI).
* ``cost_svg``: cumulative cost against request volume for each arm, break-even point marked.
* ``confusion_svg``: confusion matrices of the selected arms side by side.
* ``per_class_svg``: per-class (or per-entity-type) F1 bars of the selected arms.
* ``cascade_svg``: metric against $ per 1,000 requests for every arm, the cascades' curves and
  their frontier.

Each returns ``None`` when the results hold nothing to draw.
"""
from __future__ import annotations

import io
import math
from typing import Sequence

from tunewise import formatting as fmt
from tunewise.arm_record import ArmRole, records

FT_COLOR = "#1f77b4"
#: the embedding probe's curve (one model; with several, each model's color, dashed)
PROBE_COLOR = "#393b79"
ROLE_COLORS = {ArmRole.CLASSICAL: "#2ca02c", ArmRole.MAJORITY: "#7f7f7f"}
#: horizontal reference lines: local prompting solid, remote models dash-dot, baselines dashed
LINE_STYLES = {ArmRole.PROMPT: "-", ArmRole.REMOTE: "-."}
#: one fine-tuning curve per base model when a compare has several
MODEL_COLORS = [FT_COLOR, "#17becf", "#bcbd22", "#e377c2", "#8c564b"]
PROMPT_COLORS = ["#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
#: the cascades' curves (cheap -> expensive pairs)
CASCADE_COLORS = ["#9467bd", "#17becf", "#bcbd22", "#8c564b", "#e377c2", "#7f7f7f"]


def _figure(w: float, h: float):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    return fig


def _svg(fig) -> str:
    import matplotlib
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text: small, selectable
        fig.savefig(buf, format="svg")
    s = buf.getvalue()
    return s[s.index("<svg"):]


def _tex(s: str) -> str:
    """Label text as given: every plot is drawn under ``_plain_text`` (no mathtext, no TeX), so
    a label such as ``$x$`` or ``a_b^c`` is printed literally."""
    return str(s)


def _plain_text(fn):
    """Draw ``fn``'s figure with every text object plain: labels, titles and tick labels come from
    the user's data (class names, arm names) and must never be parsed as mathtext or TeX."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import matplotlib
        with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
            return fn(*args, **kwargs)
    return wrapper


def _thousands(ax, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter
    f = FuncFormatter(lambda v, _pos: f"{v:,.0f}")
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(f)


def _yerr(value: float, lo: float, hi: float) -> list[list[float]]:
    """Error-bar lengths below and above ``value`` for the interval [lo, hi]. A percentile
    bootstrap interval need not contain the point estimate (macro-F1 over 77 classes on 31
    examples: 0.186 [0.078, 0.163], resamples miss classes), and matplotlib refuses a negative
    length: the bar then ends at the point."""
    return [[max(0.0, value - lo)], [max(0.0, hi - value)]]


def _arm_color(name: str, role: ArmRole | None, prompt_index: dict[str, int]) -> str:
    """One color per prompting arm (in order of appearance), one per other role."""
    if role is not None and role.is_prompting:
        i = prompt_index.setdefault(name, len(prompt_index))
        return PROMPT_COLORS[i % len(PROMPT_COLORS)]
    if role is ArmRole.FINETUNE:
        return FT_COLOR
    return ROLE_COLORS.get(role, "#17becf")


@_plain_text
def learning_curve_svg(results: dict) -> str | None:
    metric = results["metric"]
    curve = sorted(results.get("learning_curve") or [], key=lambda p: p["train_size"])
    baselines = [a for a in records(results.get("arms", []), where="results.json arms")
                 if not a.role.is_curve and a.value(metric) is not None]
    several = [m for m in results.get("models") or [] if m.get("learning_curve")
               or m.get("probe_curve")] if len(results.get("models") or []) > 1 else []
    probes = ([(f"{m.get('label') or m['model']} ", m.get("probe_curve") or [],
                MODEL_COLORS[i % len(MODEL_COLORS)]) for i, m in enumerate(several)]
              if several else [("", results.get("probe_curve") or [], PROBE_COLOR)])
    probes = [(label, sorted(pts, key=lambda p: p["train_size"]), c) for label, pts, c in probes
              if pts]
    curve = curve or [p for _, pts, _ in probes for p in pts]
    if not curve and not baselines:
        return None
    fig = _figure(7.5, 4.4)
    ax = fig.add_subplot()
    prompt_index: dict[str, int] = {}
    for arm in baselines:
        v, ci = arm.value(metric), arm.ci(metric)
        color = _arm_color(arm.name, arm.role, prompt_index)
        if ci and None not in ci:
            ax.axhspan(ci[0], ci[1], color=color, alpha=0.12, lw=0)
        ax.axhline(v, color=color, lw=1.6, ls=LINE_STYLES.get(arm.role, "--"),
                   label=_tex(f"{arm.name} {fmt.metric(v)}"))
    if curve:
        # several base models: one curve per model (results.json ``models``), labelled
        curves = ([(f"{m.get('label') or m['model']} ", m.get("learning_curve") or [],
                    MODEL_COLORS[i % len(MODEL_COLORS)]) for i, m in enumerate(several)]
                  if several else [("", results.get("learning_curve") or [], FT_COLOR)])
        for label, pts, color in curves:
            if pts:
                _draw_curve(ax, sorted(pts, key=lambda p: p["train_size"]), label, color)
        for label, pts, color in probes:       # the embedding probe: dashed, no band
            ax.plot([p["train_size"] for p in pts], [p["mean"] for p in pts], color=color,
                    lw=1.8, ls="--", marker="s", ms=4,
                    label=_tex(f"{label}embedding probe (mean over seeds)"))
        xs = sorted({p["train_size"] for _, pts, _ in curves + probes for p in pts})
        if len(xs) > 1 and min(xs) > 0 and max(xs) / min(xs) >= 8:
            ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [f"{x:,}" for x in xs])
        ax.minorticks_off()
        _draw_prediction(ax, results.get("curve_prediction"), xs)
        cross = results.get("crossover") or {}
        if cross.get("found") and cross.get("train_size"):
            ax.axvline(cross["train_size"], color="black", lw=1, ls=":")
            ax.annotate(_tex(f"crossover vs {cross.get('versus', '')}: {cross['train_size']:,}"),
                        xy=(cross["train_size"], ax.get_ylim()[0]), xytext=(4, 6),
                        textcoords="offset points", fontsize=8)
    ax.set_xlabel("training examples")
    ax.set_ylabel(metric)
    ax.set_title(f"Learning curve: {metric} on the test split")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def _draw_curve(ax, curve: list, label: str, color: str) -> None:
    """One fine-tuning curve: its mean over seeds, its 95% CI band and each seed's dot."""
    xs = [p["train_size"] for p in curve]
    ys = [p["mean"] for p in curve]
    los = [(p.get("ci") or [None, None])[0] for p in curve]
    his = [(p.get("ci") or [None, None])[1] for p in curve]
    if all(x is not None for x in los + his):
        ax.fill_between(xs, los, his, color=color, alpha=0.22, lw=0,
                        label=_tex(f"{label}fine-tuned 95% CI"))
    ax.plot(xs, ys, color=color, lw=2.4, marker="o",
            label=_tex(f"{label}fine-tuned (mean over seeds)"))
    if len(xs) == 1 and los[0] is not None and his[0] is not None:  # no band from one point
        ax.errorbar(xs, ys, yerr=_yerr(ys[0], los[0], his[0]), color=color, capsize=6, lw=2)
    spread_label = "seeds (each dot; bar: min to max)" if not label else None
    for p in curve:
        vals = p.get("values") or []
        if len(vals) > 1:
            ax.vlines(p["train_size"], min(vals), max(vals), color=color, lw=1.2,
                      alpha=0.8, zorder=3, label=spread_label)
            ax.scatter([p["train_size"]] * len(vals), vals, s=12, color=color, alpha=0.5,
                       zorder=3)
            spread_label = None


@_plain_text
def cost_svg(cost: dict | None, *, max_requests: float | None = None) -> str | None:
    """Cumulative dollars against requests served: prompting arms start at $0 and grow by their
    per-request cost; a fine-tuned arm starts at its training cost."""
    if not cost or not cost.get("arms"):
        return None
    be = cost.get("break_even") or {}
    train_usd = float((cost.get("training") or {}).get("usd") or 0.0)
    be_n = be.get("requests") if not be.get("never") else None
    if max_requests is None:
        max_requests = max(2.5 * be_n, 1000.0) if be_n else 10_000.0
    max_requests = _nice_ceiling(max_requests)
    fig = _figure(7.5, 4.2)
    ax = fig.add_subplot()
    prompt_index: dict[str, int] = {}
    for ac in cost["arms"]:
        role = ArmRole.lookup(ac.get("kind"))
        start = train_usd if role is ArmRole.FINETUNE else 0.0
        slope = float(ac.get("usd_per_request") or 0.0)
        color = _arm_color(ac["arm"], role, prompt_index)
        ax.plot([0, max_requests], [start, start + slope * max_requests], color=color, lw=2,
                label=_tex(f"{ac['arm']}: {fmt.usd(ac.get('usd_per_1k_requests'))} / 1k requests"
                           + (f" + {fmt.usd(start)} training" if start else "")))
    if be_n:
        prompt_cost = next((a for a in cost["arms"] if a["arm"] == be.get("versus")), None)
        y = be_n * float(prompt_cost["usd_per_request"]) if prompt_cost else None
        if y is not None:
            ax.scatter([be_n], [y], s=60, color="black", zorder=5)
            ax.annotate(f"break-even: {fmt.requests(be_n)} requests", xy=(be_n, y),
                        xytext=(8, -14), textcoords="offset points", fontsize=9)
    elif be:
        ax.text(0.98, 0.04, "no break-even: the fine-tuned call is not cheaper",
                transform=ax.transAxes, fontsize=9, va="bottom", ha="right",
                bbox={"facecolor": "white", "edgecolor": "#cccccc", "alpha": 0.9})
    ax.set_xlim(0, max_requests)
    _thousands(ax)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("requests served")
    ax.set_ylabel("cumulative cost (USD)")
    where = cost.get("pricing", {}).get("name") or cost.get("model") or ""
    ax.set_title(_tex(f"Cost against request volume ({cost.get('mode', '')}: {where})"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _svg(fig)


@_plain_text
def confusion_svg(arms: Sequence[dict]) -> str | None:
    arms = [a for a in arms if (a.get("confusion") or {}).get("matrix")]
    if not arms:
        return None
    n = len(arms)
    k = len(arms[0]["confusion"]["labels"])
    side = min(max(2.6, 0.45 * k + 1.4), 6.0)
    fig = _figure(side * n + 0.4, side + 0.5)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, arm in zip(axes, arms):
        labels = arm["confusion"]["labels"]
        m = arm["confusion"]["matrix"]
        ax.imshow(m, cmap="Blues", vmin=0)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        top = max((max(r) for r in m if r), default=0) or 1
        if len(labels) <= 15:
            for i, row in enumerate(m):
                for j, c in enumerate(row):
                    ax.text(j, i, str(c), ha="center", va="center", fontsize=8,
                            color="white" if c > top / 2 else "black")
        ax.set_title(_tex(arm["name"]), fontsize=10)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("gold", fontsize=8)
    return _svg(fig)


@_plain_text
def per_class_svg(arms: Sequence[dict]) -> str | None:
    arms = [a for a in arms if a.get("per_class")]
    if not arms:
        return None
    classes = list(arms[0]["per_class"])
    for a in arms[1:]:
        classes += [c for c in a["per_class"] if c not in classes]
    width = 0.8 / len(arms)
    fig = _figure(min(max(5.0, 0.9 * len(classes) * max(1, len(arms) / 2) + 2), 12), 3.8)
    ax = fig.add_subplot()
    prompt_index: dict[str, int] = {}
    for i, (arm, rec) in enumerate(zip(arms, records(arms))):
        xs = [j + (i - (len(arms) - 1) / 2) * width for j in range(len(classes))]
        ys = [float((arm["per_class"].get(c) or {}).get("f1") or 0.0) for c in classes]
        ax.bar(xs, ys, width=width * 0.95, label=_tex(rec.name),
               color=_arm_color(rec.name, rec.role, prompt_index))
    ax.set_xticks(range(len(classes)), classes, rotation=30 if len(classes) > 5 else 0,
                  ha="right" if len(classes) > 5 else "center", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1")
    ax.set_title("F1 per class")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


@_plain_text
def cascade_svg(sec: dict | None, metric: str) -> str | None:
    """The headline metric against $ per 1,000 requests: every arm with a known cost (a dot),
    every cascade's curve (a thin line from its cheap arm to its expensive arm, a point per 5%
    escalated), the frontier (thick dashes) and the best cascade's cross-fitted result (a star
    with its CI)."""
    if not sec or not sec.get("pairs"):
        return None
    if not any(q.get("usd_per_1k_requests") is not None for p in sec["pairs"]
               for q in p["curve"]):
        return _cascade_by_share(sec, metric)
    arms = [a for a in sec.get("arms") or [] if a.get("usd_per_1k_requests") is not None
            and ArmRole.lookup(a.get("kind")) is not ArmRole.MAJORITY]
    fig = _figure(7.5, 4.6)
    ax = fig.add_subplot()
    prompt_index: dict[str, int] = {}
    xs_all = [a["usd_per_1k_requests"] for a in arms]
    for i, p in enumerate(sec["pairs"]):
        pts = [q for q in p["curve"] if q.get("usd_per_1k_requests") is not None]
        if pts:
            xs = [q["usd_per_1k_requests"] for q in pts]
            xs_all += xs
            ax.plot(xs, [q["value"] for q in pts], lw=1.1, marker=".", ms=4, alpha=0.7,
                    color=CASCADE_COLORS[i % len(CASCADE_COLORS)],
                    ls=("-", ":", "-.")[i // len(CASCADE_COLORS) % 3],
                    label=_tex(f"cascade {p['cheap']} -> {p['expensive']}"))
    for a in arms:
        ax.scatter([a["usd_per_1k_requests"]], [a["value"]], s=46, zorder=4,
                   color=_arm_color(a["name"], ArmRole.lookup(a.get("kind")), prompt_index))
        ax.annotate(_tex(a["name"]), (a["usd_per_1k_requests"], a["value"]), xytext=(5, 4),
                    textcoords="offset points", fontsize=8)
    front = list(sec.get("frontier") or [])
    if front:
        ax.step([q["usd_per_1k_requests"] for q in front], [q["value"] for q in front],
                where="post", color="black", lw=1.8, ls="--", marker="D", ms=3,
                label="frontier", zorder=3)
    best = sec.get("best") or {}
    if best.get("usd_per_1k_requests") is not None:
        lo, hi = best["ci"]
        ax.errorbar([best["usd_per_1k_requests"]], [best["value"]],
                    yerr=_yerr(best["value"], lo, hi), fmt="*", ms=14,
                    color="#d62728", capsize=4, zorder=5,
                    label=_tex(f"best cascade, cross-fitted ({100 * best['share_escalated']:.0f}"
                               "% escalated)"))
    pos = [x for x in xs_all if x and x > 0]
    if pos and len(pos) == len(xs_all) and max(pos) / min(pos) > 30:
        from matplotlib.ticker import FuncFormatter
        ax.set_xscale("log")      # ticks as plain numbers: no mathtext is drawn (_plain_text)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
    ax.set_xlabel("USD per 1,000 requests")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against cost: arms and cascades")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def _cascade_by_share(sec: dict, metric: str) -> str:
    """Without prices (a remote arm with no price entry): the metric against the share of
    requests escalated, from the cheap arm alone (0) to the expensive arm alone (1)."""
    fig = _figure(7.5, 4.6)
    ax = fig.add_subplot()
    for i, p in enumerate(sec["pairs"]):
        ax.plot([100 * q["share_escalated"] for q in p["curve"]],
                [q["value"] for q in p["curve"]], lw=1.1, marker=".", ms=4,
                color=CASCADE_COLORS[i % len(CASCADE_COLORS)],
                label=_tex(f"cascade {p['cheap']} -> {p['expensive']}"))
    best = sec.get("best") or {}
    if best.get("ci"):
        lo, hi = best["ci"]
        ax.errorbar([100 * best["share_escalated"]], [best["value"]],
                    yerr=[[best["value"] - lo], [hi - best["value"]]], fmt="*", ms=14,
                    color="#d62728", capsize=4, zorder=5, label="best cascade, cross-fitted")
    ax.set_xlabel("% of requests sent to the expensive arm (no price known: cost not drawn)")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} against the share escalated")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def _draw_prediction(ax, pred: dict | None, measured_sizes: list) -> None:
    """The fitted power law and its bootstrap band beyond the measured sizes: dashed line and
    hatched band, so an extrapolation is never mistaken for a measurement."""
    if not pred or not pred.get("ok") or not pred.get("band"):
        return
    last = max(measured_sizes)
    band = [row for row in pred["band"] if row[0] >= last]
    if len(band) < 2:
        return
    xs = [row[0] for row in band]
    ax.fill_between(xs, [row[2] for row in band], [row[3] for row in band], facecolor="none",
                    edgecolor=FT_COLOR, hatch="///", alpha=0.35, lw=0,
                    label=f"extrapolated {round(100 * pred.get('confidence', 0.9))}% band")
    ax.plot(xs, [row[1] for row in band], color=FT_COLOR, lw=1.6, ls="--",
            label="power-law fit (extrapolated)")
    ticks = sorted(set(measured_sizes) | {p["size"] for p in pred.get("predictions") or []})
    ax.set_xticks(ticks, [f"{x:,}" for x in ticks])
    ax.minorticks_off()


def _nice_ceiling(x: float) -> float:
    """Round up to 1, 2 or 5 x 10^k so the request axis ends on a round number."""
    if x <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if x <= m * e:
            return m * e
    return 10 * e
