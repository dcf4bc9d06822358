"""Learning-curve extrapolation: how good would fine-tuning be with more examples?

``predict_curve`` fits a saturating power law ``y = a - b * n**(-c)`` to the measured curve (every
seed of every training size), with a bootstrap over seeds *and* test examples for the interval,
and predicts the headline metric at larger sizes and the size at which fine-tuning would beat the
best other arm.

How much to trust it, from the literature and from the backtest it prints:

- Figueroa et al. 2012 (BMC Med. Inform. Decis. Mak. 12:8): inverse power law fitted by weighted
  non-linear least squares, larger sizes weighted more (weight of the j-th of m sizes = j / m),
  bootstrap intervals. That is the fit here: bounded weighted least squares, solved exactly for
  (a, b) on a fine grid of exponents c (``_fit``), fast enough to refit every bootstrap sample.
- Mahmood et al. 2022 (CVPR, "How much more data do I need?"): a one-shot fit is unreliable and
  tends to be optimistic about large sizes; err low. So the "expected" crossover is reported
  beside a conservative one (where the *lower* edge of the band crosses), and the conservative
  one is the headline.
- Lin et al. 2024 (ICML, "rectified scaling law"): fine-tuning curves start with a flatter
  "pre-power" phase; a curve measured only there under-predicts later gains, and one whose last
  points are already in the power phase may over-predict if the small sizes pulled the fit.
- The backtest on the curve itself: fit without the largest measured size, predict it, and print
  the error beside the prediction (needs 4 sizes). With fewer than 3 sizes nothing is said.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from tunewise.arm_record import ArmRecord, records

#: fewest distinct training sizes a curve is fitted to (3 parameters)
MIN_SIZES = 3
#: how far beyond the largest measured size a crossover is looked for
MAX_MULTIPLE = 10
#: bounds of (a, b, c): a is the plateau, c the decay exponent
_LOWER = (0.0, 0.0, 0.05)
_UPPER_C = 2.0

CAVEAT = ("extrapolated from a saturating power law fitted to the measured sizes: fine-tuning "
          "curves often start flat (a 'pre-power' phase) and one-shot fits are unreliable, so "
          "treat the numbers as a rough guide; the backtest shows how far off such a fit was on "
          "this curve")


def power_law(n, a, b, c):
    """``a - b * n**(-c)``: rises towards the plateau ``a`` as ``n`` grows."""
    return a - b * np.power(np.asarray(n, dtype=float), -c)


@dataclass
class PointPrediction:
    size: int
    value: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {"size": self.size, "value": round(self.value, 4), "low": round(self.low, 4),
                "high": round(self.high, 4)}


@dataclass
class Backtest:
    """The fit without the largest measured size, compared with that size's measurement."""

    held_out_size: int
    predicted: float
    low: float
    high: float
    measured: float

    @property
    def error(self) -> float:
        return self.predicted - self.measured

    @property
    def covered(self) -> bool:
        return self.low <= self.measured <= self.high

    def to_dict(self) -> dict:
        return {"held_out_size": self.held_out_size, "predicted": round(self.predicted, 4),
                "low": round(self.low, 4), "high": round(self.high, 4),
                "measured": round(self.measured, 4), "error": round(self.error, 4),
                "covered": self.covered}


@dataclass
class CurvePrediction:
    """What ``predict_curve`` says; ``ok`` is False (and ``message`` says why) when it says
    nothing."""

    ok: bool
    message: str
    #: mean measured metric per size (over seeds)
    measured: dict[int, float] = field(default_factory=dict)
    #: fitted (a, b, c) of ``a - b * n**-c``
    params: tuple[float, float, float] | None = None
    predictions: list[PointPrediction] = field(default_factory=list)
    backtest: Backtest | None = None
    #: {"baseline": x, "expected": size|None, "conservative": size|None, "text": "..."}
    crossover: dict | None = None
    #: points for drawing: (size, fit, low, high) from the smallest size to MAX_MULTIPLE x largest
    band: list[tuple[int, float, float, float]] = field(default_factory=list)
    confidence: float = 0.9
    n_boot: int = 0
    caveat: str = CAVEAT

    @property
    def sizes(self) -> list[int]:
        return sorted(self.measured)

    def describe(self) -> str:
        if not self.ok:
            return self.message
        a, b, c = self.params
        parts = [f"y = {a:.3f} - {b:.3f} * n^-{c:.2f} (plateau {a:.3f})"]
        for p in self.predictions:
            parts.append(f"at {p.size:,}: {p.value:.3f} [{p.low:.3f}, {p.high:.3f}]")
        if self.backtest:
            bt = self.backtest
            parts.append(f"backtest: fitted without {bt.held_out_size:,}, predicted "
                         f"{bt.predicted:.3f} vs measured {bt.measured:.3f} (error "
                         f"{bt.error:+.3f}{', inside' if bt.covered else ', outside'} the band)")
        if self.crossover:
            parts.append(self.crossover["text"])
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "message": self.message,
                "measured": {str(k): round(v, 4) for k, v in sorted(self.measured.items())},
                "params": (None if self.params is None else
                           dict(zip(("a", "b", "c"), (round(x, 5) for x in self.params)))),
                "predictions": [p.to_dict() for p in self.predictions],
                "backtest": self.backtest.to_dict() if self.backtest else None,
                "crossover": self.crossover, "confidence": self.confidence,
                "n_boot": self.n_boot, "caveat": self.caveat if self.ok else "",
                "band": [[s, round(v, 4), round(lo, 4), round(hi, 4)]
                         for s, v, lo, hi in self.band]}


# ---------------------------------------------------------------------------------------------
class _Points:
    """Measurements grouped by size: per seed, either a scalar metric or per-example values."""

    def __init__(self, points: Iterable[Sequence], metric: Callable[[Any], float] | None):
        self.metric = metric
        self.by_size: dict[int, list] = {}
        self.n_examples: int | None = None
        for p in points:
            size, _seed, value = p
            if isinstance(value, (int, float, np.floating, np.integer)):
                v: Any = float(value)
            else:
                v = value if metric is not None else np.asarray(value, dtype=float)
                if self.n_examples is None:
                    self.n_examples = len(v)
                elif len(v) != self.n_examples:
                    raise ValueError("per-example values must score the same test examples at "
                                     f"every size (got {len(v)} and {self.n_examples})")
            self.by_size.setdefault(int(size), []).append(v)
        self.per_example = any(not isinstance(v, float) for vs in self.by_size.values()
                               for v in vs)

    def _value(self, v, idx) -> float:
        if isinstance(v, float):
            return v
        if self.metric is None:
            return float(v.mean() if idx is None else v[idx].mean())
        return float(self.metric(v if idx is None else [v[i] for i in idx]))

    def means(self, rng: np.random.Generator | None = None,
              sizes: Sequence[int] | None = None) -> dict[int, float]:
        """Mean metric per size; with ``rng``, one bootstrap replicate (seeds resampled within
        each size, test examples resampled once for all sizes: the curves stay paired)."""
        idx = None
        if rng is not None and self.per_example and self.n_examples:
            idx = rng.integers(0, self.n_examples, self.n_examples)
        out = {}
        for size in (sizes if sizes is not None else sorted(self.by_size)):
            vals = self.by_size[size]
            if rng is not None:
                vals = [vals[i] for i in rng.integers(0, len(vals), len(vals))]
            out[size] = float(np.mean([self._value(v, idx) for v in vals]))
        return out


#: decay exponents tried: for a fixed c the law is linear in (a, b), solved in closed form
_C_GRID = np.geomspace(_LOWER[2], _UPPER_C, 400)


def _fit(means: dict[int, float], upper: float) -> tuple[float, float, float] | None:
    """Weighted least squares of ``a - b * n**-c`` with 0 <= a <= upper, b >= 0, c in
    [0.05, 2]: for every c on a fine grid the best (a, b) is a weighted linear regression (with
    the bounds applied), and the c with the smallest weighted error wins. Exact up to the grid's
    resolution, no starting point to get wrong, and fast enough for the bootstrap."""
    sizes = np.array(sorted(means), dtype=float)
    y = np.array([means[int(s)] for s in sizes])
    m = len(sizes)
    if m < 2 or not np.all(np.isfinite(y)):
        return None
    w = np.arange(1, m + 1) / m                     # Figueroa: weight j/m for the j-th size
    x = sizes[None, :] ** -_C_GRID[:, None]          # (grid, m)
    sw = w.sum()
    xm = (x * w).sum(1) / sw
    ym = (y * w).sum() / sw
    sxx = ((x - xm[:, None]) ** 2 * w).sum(1)
    sxy = ((x - xm[:, None]) * (y - ym) * w).sum(1)
    slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1), 0.0)
    b = np.maximum(-slope, 0.0)                     # y = a - b x, b >= 0
    a = ym + b * xm
    for bound in (upper, _LOWER[0]):                 # a outside its bounds: fix it there, refit b
        out = (a > upper) if bound == upper else (a < _LOWER[0])
        if out.any():
            a = np.where(out, bound, a)
            b_fixed = np.maximum(((w * x * (bound - y)).sum(1)) / (w * x * x).sum(1), 0.0)
            b = np.where(out, b_fixed, b)
    sse = ((y[None, :] - (a[:, None] - b[:, None] * x)) ** 2 * w).sum(1)
    k = int(np.argmin(sse))
    return float(a[k]), float(b[k]), float(_C_GRID[k])


def _quantiles(values: np.ndarray, confidence: float) -> tuple[float, float]:
    lo = (1 - confidence) / 2
    return float(np.quantile(values, lo)), float(np.quantile(values, 1 - lo))


def predict_curve(points: Iterable[Sequence], *, at: Sequence[int] | None = None,
                  baseline: float | None = None, baseline_name: str = "the best other arm",
                  metric: Callable[[Any], float] | None = None, upper: float = 1.0,
                  confidence: float = 0.9, n_boot: int = 400, seed: int = 0,
                  backtest: bool = True) -> CurvePrediction:
    """Fit ``a - b * n**-c`` to a learning curve and extrapolate it.

    - ``points``: ``(size, seed, value)`` triples; ``value`` is the metric of that run (a float)
      or its per-example scores on the shared test set (e.g. 0/1 correctness: the metric is their
      mean, or ``metric(values)`` when given, e.g. macro-F1 over (gold, pred) pairs). Per-example
      values let the bootstrap resample test examples as well as seeds.
    - ``at``: sizes to predict (default: 2x, 4x and 10x the largest measured size).
    - ``baseline``: the best other arm's metric; the result then says at which size fine-tuning
      is expected to beat it, or that it does not within ``MAX_MULTIPLE`` x the largest size.
    - ``upper``: the metric's ceiling (the plateau ``a`` is bounded by it).
    - ``confidence``: of the bootstrap percentile interval; ``n_boot`` replicates.
    - ``backtest``: also fit without the largest size and compare with its measurement.

    With fewer than ``MIN_SIZES`` distinct sizes the result has ``ok=False`` and says nothing.
    """
    pts = _Points(points, metric)
    sizes = sorted(pts.by_size)
    measured = pts.means()
    if len(sizes) < MIN_SIZES:
        return CurvePrediction(ok=False, measured=measured, confidence=confidence,
                               message=f"no extrapolation: {len(sizes)} training size(s) "
                                       f"measured, at least {MIN_SIZES} are needed")
    params = _fit(measured, upper)
    if params is None:
        return CurvePrediction(ok=False, measured=measured, confidence=confidence,
                               message="no extrapolation: the power law could not be fitted "
                                       "to this curve")
    largest = sizes[-1]
    at = sorted(set(int(s) for s in (at or (2 * largest, 4 * largest, MAX_MULTIPLE * largest))))
    grid = np.unique(np.round(np.geomspace(sizes[0], MAX_MULTIPLE * largest, 60)).astype(int))
    grid = np.unique(np.concatenate([grid, at]))
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        p = _fit(pts.means(rng), upper)
        if p is not None:
            boot.append(power_law(grid, *p))
    boot_arr = np.array(boot) if boot else np.array([power_law(grid, *params)])
    lo_q, hi_q = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    low = np.quantile(boot_arr, lo_q, axis=0)
    high = np.quantile(boot_arr, hi_q, axis=0)
    fitted = power_law(grid, *params)
    pos = {int(s): i for i, s in enumerate(grid)}
    preds = [PointPrediction(s, float(fitted[pos[s]]), float(low[pos[s]]), float(high[pos[s]]))
             for s in at]
    band = [(int(s), float(f), float(lo), float(hi))
            for s, f, lo, hi in zip(grid, fitted, low, high)]
    res = CurvePrediction(ok=True, message="", measured=measured, params=params,
                          predictions=preds, band=band, confidence=confidence,
                          n_boot=len(boot))
    if backtest and len(sizes) >= MIN_SIZES + 1:
        sub = sizes[:-1]
        bt_fit = _fit({s: measured[s] for s in sub}, upper)
        if bt_fit is not None:
            vals = []
            for _ in range(max(n_boot // 2, 50)):
                p = _fit(pts.means(rng, sub), upper)
                if p is not None:
                    vals.append(float(power_law(largest, *p)))
            lo, hi = _quantiles(np.array(vals or [power_law(largest, *bt_fit)]), confidence)
            res.backtest = Backtest(largest, float(power_law(largest, *bt_fit)), lo, hi,
                                    measured[largest])
    if baseline is not None:
        res.crossover = _crossover(baseline, baseline_name, measured, grid, fitted, low, largest,
                                   params)
    return res


def _crossover(baseline, name, measured, grid, fitted, low, largest, params) -> dict:
    beyond = grid >= largest
    g = grid[beyond]

    def first(curve):
        hit = np.flatnonzero(curve[beyond] > baseline)
        return int(g[hit[0]]) if hit.size else None

    expected, conservative = first(fitted), first(low)
    already = [s for s, v in sorted(measured.items()) if v > baseline]
    limit = MAX_MULTIPLE * largest
    if expected is None:
        why = (f" (the fit levels off at {params[0]:.3f}, below {baseline:.3f})"
               if params[0] <= baseline else "")
        text = (f"fine-tuning is not expected to beat {name} ({baseline:.3f}) within "
                f"{MAX_MULTIPLE}x the largest size tried ({limit:,} examples){why}")
    elif conservative is None:
        text = (f"fine-tuning is expected to beat {name} ({baseline:.3f}) at about "
                f"{_round(expected):,} examples, but the lower edge of the band does not reach "
                f"it within {limit:,}")
    else:
        text = (f"fine-tuning is expected to beat {name} ({baseline:.3f}) at about "
                f"{_round(expected):,} examples; conservatively (lower edge of the band) at "
                f"{_round(conservative):,}")
    if already:
        text += f" (measured above it already at {already[0]:,})"
    return {"baseline": round(float(baseline), 4), "baseline_name": name,
            "expected": expected, "conservative": conservative, "within": limit,
            "measured_above_at": already[0] if already else None, "text": text}


def _round(n: int) -> int:
    """Two significant digits: a crossover size is not known more precisely."""
    if n < 100:
        return int(n)
    p = 10 ** (int(math.log10(n)) - 1)
    return int(round(n / p) * p)


def compare_section(task, golds: Sequence[Any], raws: Sequence[dict | ArmRecord],
                    scored: Sequence[dict | ArmRecord], metric: str, *, seed: int = 0, confidence: float = 0.9) -> dict:
    """results.json's ``curve_prediction``: ``predict_curve`` over compare's fine-tuned arms
    (every size and seed; per-example (gold, prediction) pairs on the shared test split, scored
    with the headline ``metric``), against the best arm that is not fine-tuned."""
    from tunewise.comparison.scoring import metric_function
    fn = metric_function(task, metric)
    golds = list(golds)
    pts = [(r.train_size, r.seed or 0, list(zip(golds, r.preds)))
           for r in records(raws) if r.is_finetune and r.preds is not None
           and len(r.preds) == len(golds)]
    # one arm per size and seed (fine-tuned, probe) is no single "other arm" to pick the best of
    others = [a for a in records(scored) if not a.role.is_curve and metric in a.metrics]
    best = max(others, key=lambda a: a.value(metric), default=None)
    res = predict_curve(pts, seed=seed, confidence=confidence,
                        metric=lambda pairs: float(fn([g for g, _ in pairs],
                                                      [p for _, p in pairs])),
                        baseline=best.value(metric) if best else None,
                        baseline_name=best.name if best else "the best other arm")
    return {"metric": metric, **res.to_dict(), "text": res.describe()}
