"""The confidence cascade: a cheap arm answers the examples it is sure of, an expensive arm the rest.

Computed from predictions compare already has (no new model call): for a cheap arm (a fine-tuned
size or the classical model) whose record carries its label distribution per test example
(``label_logprobs``, ``tunewise.evaluation.confidence``) and an expensive arm (a remote model or a
k-shot prompt), the cascade's answer to an example is the cheap arm's when its confidence is at
least the threshold, else the expensive arm's::

    from tunewise.comparison import cascade
    pair = cascade(cheap_record, expensive_record, golds, task, metric="accuracy",
                   cheap_cost={"usd_per_request": 1e-6, "seconds_per_request": 0.01},
                   expensive_cost={"usd_per_request": 4e-4, "seconds_per_request": 0.8})
    pair["crossfit"]        # the recommended threshold's honest measurement

- **Confidence** = the cheap arm's calibrated probability of the label it chose: its normalized
  label log-probabilities divided by a temperature T, softmaxed (temperature scaling, Guo et al.
  2017). T minimizes the negative log-likelihood of the gold labels of ONE half of the test split
  and is applied to the OTHER half (cross-fitted): no example's confidence is calibrated with its
  own label.
- **The curve**: for thresholds at every 5% of examples escalated, the cascade's metric with a
  bootstrap CI, its cost per 1,000 requests (the cheap arm on every request, the expensive arm on
  the escalated share) and its seconds per request at each arm's measured throughput.
- **The recommended threshold** is cross-fitted too: the threshold maximizing the metric on one
  half (ties: the fewest escalations) is measured on the other half, and the halves swap; the
  reported value, CI and paired tests are of those out-of-half answers. ``in_sample_value`` is
  what choosing on the same examples would have reported (higher: the choice fits the noise), shown
  so the difference is visible. ``threshold`` (with ``temperature["all"]``) is the rule chosen on
  every test example: the one to deploy.

The halves are split per gold label (stratified) and seeded. ``tunewise.comparison.cascade_section``
runs every sensible pair of a compare and builds results.json's ``cascade`` section.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from tunewise.errors import UsageError

#: fewest test examples a cascade is cross-fitted on (each half needs a few of each answer)
MIN_EXAMPLES = 10
#: the curve's points: escalated shares 0%, 5%, ..., 100%
CURVE_STEPS = 20
#: the temperatures considered (a narrower range would be a prior, a wider one is never needed)
T_BOUNDS = (0.05, 20.0)
#: the threshold that escalates every example (confidences are at most 1.0)
ESCALATE_ALL = math.nextafter(1.0, 2.0)


class CascadeUndefined(UsageError):
    """No cascade can be computed for these arms (no confidence defined, too few examples)."""


# -- calibration ---------------------------------------------------------------------------------

def _log_softmax(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def fit_temperature(logprobs: np.ndarray, gold_idx: np.ndarray) -> float:
    """The temperature minimizing the mean negative log-likelihood of the gold labels (rows whose
    gold is not a label, ``gold_idx < 0``, are left out; none left: 1.0)."""
    from scipy.optimize import minimize_scalar
    keep = gold_idx >= 0
    z, g = np.asarray(logprobs, dtype=float)[keep], gold_idx[keep]
    if not len(g):
        return 1.0

    def nll(log_t: float) -> float:
        return float(-_log_softmax(z / math.exp(log_t))[np.arange(len(g)), g].mean())
    res = minimize_scalar(nll, bounds=tuple(math.log(b) for b in T_BOUNDS), method="bounded",
                          options={"xatol": 1e-4})
    return float(math.exp(res.x))


def confidence(logprobs: np.ndarray, pred_idx: np.ndarray, temperature: float) -> np.ndarray:
    """The calibrated probability of each row's chosen label (0 when it chose no label)."""
    lp = _log_softmax(np.asarray(logprobs, dtype=float) / temperature)
    conf = np.exp(lp[np.arange(len(pred_idx)), np.maximum(pred_idx, 0)])
    return np.where(pred_idx >= 0, conf, 0.0)


def halves(golds: Sequence[Any], seed: int = 0) -> np.ndarray:
    """0/1 per example: two halves with each gold answer split evenly between them (seeded)."""
    rng = np.random.default_rng(seed)
    side = np.zeros(len(golds), dtype=int)
    by_gold: dict = {}
    for i, g in enumerate(golds):
        by_gold.setdefault(str(g), []).append(i)
    turn = 0
    for key in sorted(by_gold):
        idx = rng.permutation(by_gold[key])
        for j, i in enumerate(idx):
            side[i] = (j + turn) % 2
        turn = (turn + len(idx)) % 2          # odd classes alternate which half gets the extra
    return side


# -- thresholds ----------------------------------------------------------------------------------

def _sums_by_escalated(conf, st_cheap, st_exp):
    """(order, sums): ``sums[j]`` = the metric's summed statistics when the j least confident
    examples (``order[:j]``) are escalated, for j = 0..n."""
    order = np.argsort(conf, kind="stable")
    z = np.zeros((1, st_cheap.shape[1]))
    exp_cum = np.vstack([z, np.cumsum(st_exp[order], axis=0)])
    cheap_cum = np.vstack([z, np.cumsum(st_cheap[order], axis=0)])
    return order, exp_cum + (cheap_cum[-1] - cheap_cum)


def _valid_counts(sorted_conf: np.ndarray) -> np.ndarray:
    """The escalated counts a threshold can give (examples with equal confidence go together)."""
    n = len(sorted_conf)
    inner = [j for j in range(1, n) if sorted_conf[j - 1] < sorted_conf[j]]
    return np.array([0, *inner, n], dtype=int)


def _threshold(sorted_conf: np.ndarray, j: int) -> float:
    if j == 0:
        return 0.0
    if j >= len(sorted_conf):
        return ESCALATE_ALL
    return float((sorted_conf[j - 1] + sorted_conf[j]) / 2)


def choose_threshold(conf: np.ndarray, st_cheap: np.ndarray, st_exp: np.ndarray,
                     metric_fn) -> dict:
    """The threshold maximizing the metric on these examples (ties: the fewest escalated):
    {"threshold", "escalated", "value"}. Escalate an example when its confidence < threshold."""
    order, sums = _sums_by_escalated(conf, st_cheap, st_exp)
    c = conf[order]
    valid = _valid_counts(c)
    values = np.asarray(metric_fn.value(sums[valid]), dtype=float)
    j = int(valid[int(np.argmax(values))])          # argmax: the first (fewest) of equal bests
    return {"threshold": _threshold(c, j), "escalated": j, "value": float(values.max())}


# -- one pair ------------------------------------------------------------------------------------

def _label_index(labels: Sequence[str], answers: Sequence[Any]) -> np.ndarray:
    pos = {lab: i for i, lab in enumerate(labels)}
    return np.array([pos.get(a, -1) for a in answers], dtype=int)


def _unit(cost: dict | None, key: str) -> float | None:
    v = (cost or {}).get(key)
    return None if v is None else float(v)


def _mix(cheap: float | None, exp: float | None, share: float, scale: float = 1.0):
    """The cheap arm on every request plus the expensive arm on ``share`` of them."""
    if cheap is None or exp is None:
        return None
    return scale * (cheap + share * exp)


def cascade(cheap: dict, expensive: dict, golds: Sequence[Any], task, *,
            metric: str | None = None, cheap_cost: dict | None = None,
            expensive_cost: dict | None = None, n_resamples: int = 1000, alpha: float = 0.05,
            seed: int = 0) -> dict:
    """The cascade of ``cheap`` then ``expensive`` on the test examples whose gold answers are
    ``golds`` (module docstring). ``cheap`` / ``expensive``: arm records as compare caches them
    in OUT/arms/<name>.json ("result": "name", "preds"; the cheap one "label_logprobs");
    ``*_cost``: {"usd_per_request", "seconds_per_request"} (either may be None: unknown).
    Returns the pair's record of results.json's ``cascade`` section, plus "predictions" (the
    cross-fitted cascade's answers). Raises ``CascadeUndefined`` when no confidence is defined
    (NER, generation, an arm without label probabilities) or there are too few examples."""
    from tunewise.comparison.scoring import metric_function, paired_difference
    from tunewise.evaluation.stats import resample_weights
    if not getattr(task, "can_score_labels", False):
        raise CascadeUndefined(f"no confidence is defined for {task.kind} answers: the cascade "
                               "needs a probability for the answer, which only a closed label "
                               "set gives")
    golds = list(golds)
    lp = cheap.get("label_logprobs")
    if lp is None or not len(lp):
        raise CascadeUndefined(f"{cheap.get('name')}: its record has no label probabilities "
                               "(an arm that generates its answers, or cached by an older "
                               "tunewise)", fix="delete its OUT/arms file to recompute it")
    n = len(golds)
    if n < MIN_EXAMPLES or len(lp) != n or len(cheap["preds"]) != n or \
            len(expensive["preds"]) != n:
        raise CascadeUndefined(f"a cascade needs the two arms' answers to the same {n} test "
                               f"examples, at least {MIN_EXAMPLES}")
    metric = metric or task.headline_metric
    fn = metric_function(task, metric)
    labels = list(task.labels)
    lp = np.asarray(lp, dtype=float)
    c_preds, e_preds = list(cheap["preds"]), list(expensive["preds"])
    pred_idx, gold_idx = _label_index(labels, c_preds), _label_index(labels, golds)
    st_c = np.asarray(fn.stats(golds, c_preds), dtype=float)
    st_e = np.asarray(fn.stats(golds, e_preds), dtype=float)

    side = halves(golds, seed)
    temps = [fit_temperature(lp[side == h], gold_idx[side == h]) for h in (0, 1)]
    conf = np.empty(n)          # each half calibrated with the OTHER half's temperature
    thresholds = []
    escalate = np.zeros(n, dtype=bool)
    for h in (0, 1):
        pick, apply = side == h, side != h
        own = confidence(lp[pick], pred_idx[pick], temps[h])
        t = choose_threshold(own, st_c[pick], st_e[pick], fn)["threshold"]
        thresholds.append(t)
        conf[apply] = confidence(lp[apply], pred_idx[apply], temps[h])
        escalate[apply] = conf[apply] < t
    preds = [e if esc else c for c, e, esc in zip(c_preds, e_preds, escalate)]
    share = float(escalate.mean())

    t_all = fit_temperature(lp, gold_idx)
    chosen_all = choose_threshold(confidence(lp, pred_idx, t_all), st_c, st_e, fn)
    W = resample_weights(n, n_resamples, seed)

    def with_ci(st: np.ndarray) -> dict:
        dist = np.asarray(fn.value(W @ st), dtype=float)
        lo, hi = np.percentile(dist, [100 * alpha / 2, 100 * (1 - alpha / 2)])
        return {"value": float(fn.value(st.sum(axis=0))), "ci": [float(lo), float(hi)]}

    cu, eu = _unit(cheap_cost, "usd_per_request"), _unit(expensive_cost, "usd_per_request")
    cs, es = (_unit(cheap_cost, "seconds_per_request"),
              _unit(expensive_cost, "seconds_per_request"))
    point = {**with_ci(np.where(escalate[:, None], st_e, st_c)), "share_escalated": share,
             "thresholds": thresholds, "usd_per_1k_requests": _mix(cu, eu, share, 1000.0),
             "seconds_per_request": _mix(cs, es, share),
             "in_sample_value": chosen_all["value"]}

    def test(other):
        return paired_difference(fn, golds, [preds], [other], n_resamples=n_resamples,
                                 alpha=alpha, seed=seed)
    return {"cheap": cheap["name"], "expensive": expensive["name"], "metric": metric, "n": n,
            "temperature": {"all": t_all, "halves": temps},
            "threshold": chosen_all["threshold"],
            "share_escalated_all": chosen_all["escalated"] / n,
            "crossfit": point,
            "cheap_alone": {**with_ci(st_c), "usd_per_1k_requests": _mix(cu, 0.0, 0, 1000.0),
                            "seconds_per_request": cs},
            "expensive_alone": {**with_ci(st_e), "usd_per_1k_requests":
                                None if eu is None else 1000.0 * eu, "seconds_per_request": es},
            "tests": {"vs_cheap": test(c_preds), "vs_expensive": test(e_preds)},
            "curve": _curve(conf, st_c, st_e, fn, with_ci, cu, eu, cs, es),
            "predictions": preds}


def _curve(conf, st_c, st_e, fn, with_ci, cu, eu, cs, es) -> list[dict]:
    """Points at every 1/CURVE_STEPS of examples escalated (the nearest count a threshold can
    give), least confident first, over the cross-fitted confidences."""
    n = len(conf)
    order = np.argsort(conf, kind="stable")
    c = conf[order]
    valid = _valid_counts(c)
    counts = sorted({int(valid[np.argmin(np.abs(valid - round(k * n / CURVE_STEPS)))])
                     for k in range(CURVE_STEPS + 1)})
    out = []
    for j in counts:
        esc = np.zeros(n, dtype=bool)
        esc[order[:j]] = True
        share = j / n
        out.append({"threshold": _threshold(c, j), "share_escalated": share,
                    **with_ci(np.where(esc[:, None], st_e, st_c)),
                    "usd_per_1k_requests": _mix(cu, eu, share, 1000.0),
                    "seconds_per_request": _mix(cs, es, share)})
    return out
