"""The "when": headline metric, crossover, how many examples a prompt is worth, recommendation.

Pure functions over numbers (no models, no files), so each rule can be tested on synthetic curves.

Definitions (also printed in the report):

- **Headline metric.** Classification: macro-F1 when the test labels are imbalanced, else accuracy.
  Imbalanced = the majority class holds more than 60 % of the test examples, OR the rarest class
  holds less than half of its equal share (1/2K for K classes). On such data always answering the
  majority class already scores a high accuracy, so accuracy would flatter arms that ignore the
  rare classes. NER: entity-level F1; generation: ROUGE-L.
- **Crossover.** The smallest training size at which fine-tuning (mean over its seeds) beats the
  best prompting arm by a significant paired difference on the same test examples (paired
  bootstrap, p < alpha). None when no size does.
- **Prompt worth** (Le Scao & Rush 2021, "How many data points is a prompt worth?"): the horizontal
  gap between the curves = the training size at which the fine-tuning curve, linearly interpolated
  in log(size), first reaches the best prompting arm's score. A bound ("< smallest size" or
  "> largest size") when the curve starts above it or never reaches it.
- **Recommendation.** See ``recommend``: the arm that wins on the numbers, with the simplest
  (cheapest) arm preferred when the difference is not significant; "none" when no arm beats the
  majority-class baseline.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, Sequence

#: majority share above which classification labels count as imbalanced
IMBALANCE_MAJORITY_SHARE = 0.6
#: a class below this fraction of its equal share (1/K) also makes the labels imbalanced
IMBALANCE_MINORITY_RATIO = 0.5


def choose_headline(task, golds: Sequence[Any] = (), labels: Sequence[str] | None = None) -> dict:
    """{"metric", "reason", "imbalanced", "majority_share"} for the test split's gold answers.

    ``task``: a Task (or its kind, e.g. "classification"). Tasks whose headline is chosen by
    label balance (``headline_by_balance``: classification) get accuracy when the labels are
    roughly balanced, else macro-F1; others their ``headline_metric``."""
    if isinstance(task, str):
        from tunewise.tasks import Task
        task = {c.kind: c for c in _task_classes(Task)}[task]
    if not task.headline_by_balance:
        return {"metric": task.headline_metric, "reason": task.headline_reason,
                "imbalanced": None}
    if labels is None and not isinstance(task, type):
        labels = task.class_names()
    counts = Counter(golds)
    n = sum(counts.values())
    k = len(labels) if labels else len(counts)
    if n == 0 or k == 0:
        return {"metric": "accuracy", "reason": "no test labels", "imbalanced": False}
    label, top = counts.most_common(1)[0]
    share = top / n
    rarest = min((counts.get(lab, 0) for lab in (labels or counts)), default=0) / n
    imbalanced = share > IMBALANCE_MAJORITY_SHARE or rarest < IMBALANCE_MINORITY_RATIO / k
    if imbalanced:
        why = (f"labels are imbalanced (majority class {label!r} = {share:.0%} of the test split"
               f", rarest class = {rarest:.0%}): macro-F1, since always answering {label!r} "
               f"would already reach {share:.0%} accuracy")
    else:
        why = (f"labels are roughly balanced (majority class {label!r} = {share:.0%}, rarest "
               f"class = {rarest:.0%}): accuracy")
    return {"metric": "macro_f1" if imbalanced else "accuracy", "reason": why,
            "imbalanced": imbalanced, "majority_label": label, "majority_share": share,
            "rarest_share": rarest}


def crossover(points: Sequence[dict], alpha: float = 0.05) -> dict | None:
    """Smallest size whose paired test against the best prompting arm is a significant win.

    ``points``: [{"size": int, "score": float, "vs_prompt": {"diff", "ci", "p_value"}}] (any
    order). Returns {"size", "diff", "ci", "p_value", "stable"} where ``stable`` says whether every
    larger size also scores above the prompting arm; None when no size wins."""
    pts = sorted(points, key=lambda p: p["size"])
    for i, p in enumerate(pts):
        t = p.get("vs_prompt") or {}
        if t.get("diff", 0) > 0 and t.get("p_value", 1.0) < alpha:
            later = [q.get("vs_prompt", {}).get("diff", 0) > 0 for q in pts[i + 1:]]
            return {"size": p["size"], "diff": t["diff"], "ci": t.get("ci"),
                    "p_value": t["p_value"], "stable": all(later)}
    return None


def prompt_worth(points: Sequence[dict], target: float) -> dict:
    """Training size at which the fine-tuning curve reaches ``target`` (log-size interpolation).

    ``points``: [{"size", "score"}]. Returns {"examples": float | None, "bound": "exact" | "below" |
    "above" | "none", "text"}: "below" = the smallest size already reaches it (a prompt is worth
    fewer examples than that), "above" = no size reaches it."""
    pts = sorted((p for p in points if p.get("size")), key=lambda p: p["size"])
    if not pts:
        return {"examples": None, "bound": "none", "text": "no fine-tuning runs"}
    if pts[0]["score"] >= target:
        return {"examples": float(pts[0]["size"]), "bound": "below",
                "text": f"fewer than {pts[0]['size']} training examples (the smallest size "
                        "tried already matches the best prompt)"}
    for a, b in zip(pts, pts[1:]):
        if a["score"] < target <= b["score"]:
            la, lb = math.log(a["size"]), math.log(b["size"])
            frac = (target - a["score"]) / (b["score"] - a["score"])
            n = math.exp(la + frac * (lb - la))
            return {"examples": n, "bound": "exact",
                    "text": f"about {n:.0f} training examples"}
    return {"examples": float(pts[-1]["size"]), "bound": "above",
            "text": f"more than {pts[-1]['size']} training examples (fine-tuning never reached "
                    "the best prompt)"}


def _neg(ci):
    return [-ci[1], -ci[0]] if ci and ci[0] is not None else ci


def _flip(t: dict) -> dict:
    return {**t, "diff": -t["diff"], "ci": _neg(t.get("ci"))}


def points_text(diff: float, ci: Sequence[float] | None) -> str:
    """'4.2 ± 3.1 points' from a difference in [0, 1] units and its 95 % CI."""
    if ci and ci[0] is not None and ci[1] is not None:
        half = (ci[1] - ci[0]) / 2
        return f"{100 * diff:.1f} ± {100 * half:.1f} points"
    return f"{100 * diff:.1f} points"


def _requests_text(x) -> str:
    if x is None or x == "never" or (isinstance(x, float) and not math.isfinite(x)):
        return "never"
    x = float(x)
    if x >= 1e6:
        return f"{x / 1e6:.1f} million requests"
    if x >= 1e4:
        return f"{x / 1e3:.0f} thousand requests"
    return f"{math.ceil(x):,} requests"


def recommend(*, metric: str, majority: dict | None, classical: dict | None,
              best_prompt: dict | None, best_ft: dict | None, crossover: dict | None,
              tests: dict, alpha: float = 0.05, break_even: Any = None,
              largest_ft: dict | None = None) -> dict:
    """A recommendation in plain words that follows from the numbers: {"action", "text",
    "reasons"(, "size", "weak")}, ``action`` in results.json's vocabulary
    (``schema.Recommendation.action``: "fine-tune", "prompt", "classical", "majority"; compare
    may make it "cascade", and a ``weak`` one is reported as "undecided").

    Arms are dicts {"name", "score"} (score of the headline ``metric``); ``best_ft`` also has
    "size". ``tests`` holds paired tests keyed "A|B" (A minus B): "<arm>|majority" for each arm,
    "ft_best|classical", "classical|prompt", "ft_best|prompt". ``break_even`` = requests after which
    fine-tuning pays back against the best prompting arm (number, "never" or None = unknown).

    Rules, in order:
      1. "majority" when no arm beats the majority-class baseline significantly;
      2. "fine-tune" when some size crosses over (significantly beats the best prompting arm) and the
         classical model (if any) is significantly worse than the best fine-tuned size;
      3. "classical" when the classical model beats the majority baseline and neither the best prompt
         nor (when it crossed over) fine-tuning is significantly better (``classical``: the cheap
         non-generative classifier, TF-IDF or the embedding probe; its "what" and "cost" say
         which in the text);
      4. "prompt" when the best prompting arm beats the majority baseline and fine-tuning never
         significantly beat it;
      5. otherwise the arm that beats the majority baseline with the best score (said with a caveat).
    """
    def beats_majority(key: str) -> bool:
        return _sig_better(tests, f"{key}|majority")

    m = metric.replace("_", "-") if metric != "macro_f1" else "macro-F1"
    ok = {"classical": classical is not None and beats_majority("classical"),
          "prompt": best_prompt is not None and beats_majority("prompt"),
          "ft_best": best_ft is not None and beats_majority("ft_best")}
    reasons = _reasons(metric, tests, majority, classical, best_prompt, best_ft)

    if majority is not None and not any(ok.values()):
        text = (f"none of the arms beats the majority-class baseline ({majority['name']}, "
                f"{m} {majority['score']:.3f}) significantly: neither prompting nor fine-tuning "
                "nor the classical model learned this task from this data. Check the labels and "
                "the task definition, or collect more (and cleaner) examples before choosing.")
        return {"action": "majority", "text": text, "reasons": reasons}

    ft_vs_classical = _sig_better(tests, "ft_best|classical") if classical is not None else True
    if crossover is not None and best_ft is not None and ok["ft_best"] and (
            ft_vs_classical or not ok["classical"]):
        text = _fine_tune_text(m, tests, best_prompt, largest_ft, crossover, break_even)
        return {"action": "fine-tune", "text": text, "reasons": reasons, "size": crossover["size"]}

    prompt_better = best_prompt is not None and _sig_better(tests, "prompt|classical")
    ft_better = classical is not None and _sig_better(tests, "ft_best|classical")
    if ok["classical"] and not prompt_better and not ft_better:
        return {"action": "classical", "text": _classical_text(m, tests, classical, best_prompt,
                                                               best_ft), "reasons": reasons}

    if ok["prompt"] and crossover is None:
        text = f"prompt: {best_prompt['name']} scores {m} {best_prompt['score']:.3f}"
        if best_ft is not None:
            t = tests.get("ft_best|prompt")
            text += (f"; fine-tuning did not beat it significantly at any size tried (best: "
                     f"{best_ft['size']} examples, {best_ft['score']:.3f}"
                     + (f", difference {points_text(t['diff'], t['ci'])}, p = {t['p_value']:.3g}"
                        if t else "") + ")")
        return {"action": "prompt", "text": text + ".", "reasons": reasons}
    return _fallback(m, ok, majority, classical, best_prompt, best_ft, reasons)


def _sig_better(tests: dict, key: str) -> bool:
    t = tests.get(key)
    return bool(t and t["diff"] > 0 and t["significant"])


def _reasons(metric, tests, majority, classical, best_prompt, best_ft) -> list[str]:
    """One line per arm: its score, and its difference from the majority baseline."""
    reasons = []
    if majority is not None:
        reasons.append(f"majority-class baseline ({majority['name']}): {metric} "
                       f"{majority['score']:.3f}")
    for key, arm in (("classical", classical), ("prompt", best_prompt), ("ft_best", best_ft)):
        if arm is not None:
            t = tests.get(f"{key}|majority")
            rel = ("" if t is None else f"; vs majority {points_text(t['diff'], t['ci'])}, "
                   f"p = {t['p_value']:.3g}")
            reasons.append(f"{arm['name']}: {metric} {arm['score']:.3f}{rel}")
    return reasons


def _fine_tune_text(m, tests, best_prompt, largest_ft, crossover, break_even) -> str:
    arm = best_prompt["name"] if best_prompt else "prompting"
    text = (f"fine-tune: from ~{crossover['size']} examples it beats {arm} by "
            f"{points_text(crossover['diff'], crossover.get('ci'))} of {m}")
    if largest_ft is not None and largest_ft.get("size") != crossover["size"]:
        t = tests.get("ft_largest|prompt")
        if t:
            text += (f" ({points_text(t['diff'], t['ci'])} with {largest_ft['size']} "
                     "examples)")
    if break_even == "never":
        text += (" but a fine-tuned call is not cheaper than a prompted one, so it never pays "
                 "back on cost: choose it for quality")
    elif break_even is not None:
        text += f" and pays back after {_requests_text(break_even)}"
    if not crossover.get("stable", True):
        text += ("; note: a larger training size did not stay above the prompt, so the "
                 "crossover is not stable")
    return text + "."


def _classical_text(m, tests, classical, best_prompt, best_ft) -> str:
    parts = []
    for key, arm in (("classical|prompt", best_prompt), ("classical|ft_best", best_ft)):
        if arm is None:
            continue
        t = tests.get(key) or (_flip(tests[key.split("|")[1] + "|classical"])
                               if key.split("|")[1] + "|classical" in tests else None)
        label = arm["name"]
        if t is None:
            parts.append(f"{label} {arm['score']:.3f}")
        elif t["significant"] and t["diff"] > 0:
            parts.append(f"it beats {label} ({arm['score']:.3f}) by "
                         f"{points_text(t['diff'], t['ci'])}")
        else:
            parts.append(f"{label} scores {arm['score']:.3f} (difference "
                         f"{points_text(-t['diff'], _neg(t['ci']))}, p = {t['p_value']:.3g}, "
                         "not significant)")
    what = classical.get("what", "TF-IDF + logistic regression")
    return (f"use the classical model: {what} scores {m} "
            f"{classical['score']:.3f}" + (f"; {'; '.join(parts)}" if parts else "")
            + ". No language-model arm is significantly better, and the classical model "
            f"costs {classical.get('cost', 'a fraction of a language model')} to run.")


def _fallback(m, ok, majority, classical, best_prompt, best_ft, reasons) -> dict:
    """Rule 5: the arm that beats the majority baseline with the best score, said weakly."""
    cands = [(arm["score"], key, arm) for key, arm in
             (("classical", classical), ("prompt", best_prompt), ("ft_best", best_ft))
             if arm is not None and (ok[key] or majority is None)]
    if not cands:
        return {"action": "majority", "text": "no arm produced a usable score.",
                "reasons": reasons}
    score, key, arm = max(cands, key=lambda c: c[0])
    action = {"classical": "classical", "prompt": "prompt", "ft_best": "fine-tune"}[key]
    text = (f"{action}: {arm['name']} scores best ({m} {score:.3f}), but the differences between "
            "the arms are not significant on this test split; a larger test split would tell "
            "them apart.")
    return {"action": action, "text": text, "reasons": reasons, "weak": True}


def _task_classes(base) -> list:
    """Every concrete Task class (to read the class attributes of a task kind)."""
    out = []
    for c in base.__subclasses__():
        out += [c, *_task_classes(c)]
    return out


def recommend_model(rows: Sequence[dict], tests: dict, *, metric: str) -> dict:
    """Which base model, in plain words: {"model", "lead", "text", "reasons"}.

    ``rows``: one per model {"model", "arm" (its best arm, in words: "fine-tuned on 64",
    "4-shot"), "score", "usd_per_1k" (serving cost of that arm, None = unknown),
    "seconds_per_request"}; ``tests``: {model: paired difference of its best arm minus the
    lead's best arm} for every model but the lead (the best-scoring one).

    Rule: the lead, unless another model is not significantly worse than it (paired bootstrap)
    and cheaper to serve (cost per request; latency when no cost is known): then the cheapest
    such model, said with its difference and its share of the lead's serving cost."""
    m = metric.replace("_", "-") if metric != "macro_f1" else "macro-F1"
    lead = max(rows, key=lambda r: r["score"])
    reasons, cheaper = [], []
    for r in rows:
        if r is lead:
            continue
        t = tests[r["model"]]
        worse = t["significant"] and t["diff"] < 0
        share = _cost_share(r, lead)
        reasons.append(
            f"{r['model']} {r['arm']} ({m} {r['score']:.3f}) vs {lead['model']} {lead['arm']} "
            f"({lead['score']:.3f}): {points_text(t['diff'], t['ci'])}, paired bootstrap "
            f"p = {t['p_value']:.3g}" + ("" if share is None else
                                         f"; {share:.0%} of its serving {_share_what(r, lead)}"))
        if not worse and share is not None and share < 1:
            cheaper.append((share, r, t))
    if not cheaper:
        beaten = [r["model"] for r in rows if r is not lead
                  and tests[r["model"]]["significant"] and tests[r["model"]]["diff"] < 0]
        text = f"{lead['model']} {lead['arm']} scores best ({m} {lead['score']:.3f})"
        if beaten:
            text += f", significantly above {', '.join(beaten)}"
        others = [r["model"] for r in rows if r is not lead and r["model"] not in beaten]
        if others:
            text += (f"; {', '.join(others)} {'is' if len(others) == 1 else 'are'} not "
                     "significantly worse but not cheaper to serve")
        return {"model": lead["model"], "lead": lead["model"], "text": text, "reasons": reasons}
    share, r, t = min(cheaper, key=lambda c: c[0])
    gap = abs(t["diff"])
    half = (t["ci"][1] - t["ci"][0]) / 2 if t.get("ci") and None not in t["ci"] else None
    text = (f"{r['model']} {r['arm']} is within {100 * gap:.1f}"
            + (f" ± {100 * half:.1f}" if half is not None else "")
            + f" points of {lead['model']} {lead['arm']} ({m} {r['score']:.3f} vs "
            f"{lead['score']:.3f}, not significant: paired bootstrap p = {t['p_value']:.3g}) at "
            f"{share:.0%} of its serving {_share_what(r, lead)}")
    return {"model": r["model"], "lead": lead["model"], "text": text, "reasons": reasons}


def _cost_share(r: dict, lead: dict) -> float | None:
    """``r``'s serving cost as a share of ``lead``'s: per request, else latency; None unknown."""
    for key in ("usd_per_1k", "seconds_per_request"):
        if r.get(key) is not None and lead.get(key):
            return r[key] / lead[key]
    return None


def _share_what(r: dict, lead: dict) -> str:
    return "cost" if r.get("usd_per_1k") is not None and lead.get("usd_per_1k") else "latency"
