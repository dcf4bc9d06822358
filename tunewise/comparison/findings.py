"""From every arm's predictions on the shared test split to the numbers the report shows.

``score_arms`` turns raw arm records (predictions per test example) into results.json arms
(metrics with CIs, per-class scores, confusion); ``learning_curve`` aggregates the fine-tuned arms
per training size; ``compare_arms`` runs every paired test the analysis needs and finds the best
prompting arm, the crossover and the prompt's worth. The rules themselves live in
``tunewise.comparison.analysis``.

A raw arm record (what ``runner.py`` caches in OUT/arms/<name>.json; each function here reads
it once as an ``ArmRecord``, ``tunewise.arm_record``, and accepts either)::

    {"name": "finetune-n64-s1", "kind": "finetune", "train_size": 64, "seed": 1,
     "preds": [...one structured prediction per test example...],
     "timing": {...}, "tokens": {...}, "run_dir": "runs/finetune-n64-s1"}
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

from tunewise.arm_record import ArmRecord, ArmRole, records
from tunewise.comparison import analysis
from tunewise.comparison.scoring import metric_function, paired_difference, score_with_ci

#: keys of a raw arm record copied into the results.json arm unchanged
_PASS = ("name", "kind", "shots", "selection", "train_size", "seed", "timing", "tokens",
         "run_dir", "predictions", "reused", "epochs", "note", "planned_epochs", "budget",
         "model_selection", "val_size", "model", "base_url", "usage")


def metric_names(task) -> list[str]:
    from tunewise.tasks.metrics import metric_functions
    return list(metric_functions(task))


def score_arms(task, golds: Sequence[Any], raws: Sequence[dict | ArmRecord], *,
               n_resamples: int = 1000, alpha: float = 0.05, seed: int = 0) -> list[dict]:
    """results.json arms (``schema.ResultsArm``): every metric of the task with a bootstrap CI,
    per-class scores and (classification) the confusion matrix."""
    golds = list(golds)
    fns = {m: metric_function(task, m) for m in metric_names(task)}
    out = []
    for rec in records(raws):
        preds = rec.preds
        arm = {k: rec.raw[k] for k in _PASS if k in rec.raw}
        arm["metrics"] = {}
        for m, fn in fns.items():
            s = score_with_ci(fn, golds, [preds], n_resamples=n_resamples, alpha=alpha, seed=seed)
            arm["metrics"][m] = {"value": s["value"], "ci": s["ci"]}
        arm["n_test"] = len(golds)
        arm.update(per_class(task, golds, preds))
        out.append(arm)
    return out


def per_class(task, golds, preds) -> dict:
    """{"per_class": task.report, "confusion": task.confusion} (each when the task has one)."""
    out = {}
    report = task.report(golds, preds)
    if report:
        out["per_class"] = report
    confusion = task.confusion(golds, preds)
    if confusion is not None:
        out["confusion"] = {k: confusion[k] for k in ("labels", "matrix", "columns")}
    return out


def learning_curve(task, golds, raws: Sequence[dict | ArmRecord], metric: str, *,
                   n_resamples: int = 1000, alpha: float = 0.05, seed: int = 0,
                   role: ArmRole = ArmRole.FINETUNE) -> list[dict]:
    """Fine-tuned arms (or ``role``'s: ``ArmRole.PROBE``, results.json's ``probe_curve``)
    aggregated per training size (ascending): mean over seeds with a bootstrap CI of that mean
    over the test examples."""
    fn = metric_function(task, metric)
    by_size: dict[int, list[ArmRecord]] = defaultdict(list)
    for r in records(raws):
        if r.role is role:
            by_size[r.train_size].append(r)
    curve = []
    for size in sorted(by_size):
        runs = sorted(by_size[size], key=lambda r: r.seed or 0)
        s = score_with_ci(fn, golds, [r.preds for r in runs], n_resamples=n_resamples,
                          alpha=alpha, seed=seed)
        curve.append({"train_size": size, "mean": s["value"], "ci": s["ci"],
                      "values": s["values"], "seed_std": s["seed_std"],
                      "spread": [min(s["values"]), max(s["values"])],
                      "seeds": [r.seed or 0 for r in runs],
                      "arms": [r.name for r in runs],
                      "epochs": runs[0].get("planned_epochs") or runs[0].get("epochs"),
                      "validation": "none" if runs[0].get("val_size") == 0 else
                      (f"{runs[0].get('val_size')} carved" if runs[0].get("val_size") else None),
                      "model_selection": runs[0].get("model_selection")})
    return curve


def compare_arms(task, golds, raws: Sequence[dict | ArmRecord], metric: str, *,
                 alpha: float = 0.05, n_resamples: int = 1000, seed: int = 0) -> dict:
    """Best prompting arm (local or remote), paired tests, crossover and prompt worth.

    Returns {"best_prompt", "best_local_prompt", "best_remote", "best_ft", "largest_ft",
    "majority", "classical", "tests", "crossover", "prompt_worth", "curve_points"} where arms
    are {"name", "score"(, "size")} (prompting arms also "shots", "kind" and "remote";
    "classical" is the cheap classifier, ``_best_cheap``: TF-IDF or the embedding probe) and
    ``tests`` maps "A|B" to a paired difference of A minus B (a remote arm's key is
    "remote:<name>")."""
    fn = metric_function(task, metric)
    golds = list(golds)

    def score(preds_by_seed):
        return sum(fn(golds, list(p)) for p in preds_by_seed) / len(preds_by_seed)

    def test(a, b):
        return paired_difference(fn, golds, a, b, n_resamples=n_resamples, alpha=alpha, seed=seed)

    by_role: dict[ArmRole, list[ArmRecord]] = defaultdict(list)
    for r in records(raws):
        by_role[r.role].append(r)
    majority = by_role[ArmRole.MAJORITY][0] if by_role[ArmRole.MAJORITY] else None
    # remote models are prompting arms too: the best prompting option may be a remote one
    prompts = by_role[ArmRole.PROMPT] + by_role[ArmRole.REMOTE]
    ft_by_size: dict[int, list[ArmRecord]] = defaultdict(list)
    for r in by_role[ArmRole.FINETUNE]:
        ft_by_size[r.train_size].append(r)

    preds = {}  # key -> predictions per seed
    arms = {}   # key -> {"name", "score"(, "size")}
    if majority:
        preds["majority"] = [majority.preds]
        arms["majority"] = {"name": majority.name, "score": score(preds["majority"])}
    cheap = _best_cheap(by_role, score)
    if cheap:
        preds["classical"] = cheap.pop("preds")
        arms["classical"] = cheap
    best_prompt = None
    scored = [(score([p.preds]), -i, p) for i, p in enumerate(prompts)]
    if prompts:
        _, _, best = max(scored, key=lambda t: (t[0], t[1]))  # ties: the first listed (simpler)
        preds["prompt"] = [best.preds]
        arms["prompt"] = best_prompt = _best_of(scored)
    best_local = _best_of([(sc, i, p) for sc, i, p in scored if p.is_local_prompt])
    best_remote = _best_of([(sc, i, p) for sc, i, p in scored if p.remote])
    points = []
    for size in sorted(ft_by_size):
        p = [r.preds for r in sorted(ft_by_size[size], key=lambda r: r.seed or 0)]
        preds[f"ft{size}"] = p
        pt = {"size": size, "score": score(p), "name": f"fine-tuned on {size} examples"}
        if "prompt" in preds:
            pt["vs_prompt"] = test(p, preds["prompt"])
        points.append(pt)
    best_ft = largest_ft = None
    if points:
        top = max(points, key=lambda q: (q["score"], -q["size"]))   # ties: fewer examples
        best_ft = {"name": top["name"], "score": top["score"], "size": top["size"]}
        largest_ft = {"name": points[-1]["name"], "score": points[-1]["score"],
                      "size": points[-1]["size"]}
        preds["ft_best"] = preds[f"ft{top['size']}"]
        preds["ft_largest"] = preds[f"ft{points[-1]['size']}"]
        arms["ft_best"] = best_ft

    tests = _paired_tests(preds, by_role[ArmRole.REMOTE], test)
    cross = analysis.crossover(points, alpha) if best_prompt else None
    worth = analysis.prompt_worth(points, best_prompt["score"]) if best_prompt and points else None
    return {"majority": arms.get("majority"), "classical": arms.get("classical"),
            "best_prompt": best_prompt, "best_local_prompt": best_local,
            "best_remote": best_remote, "best_ft": best_ft, "largest_ft": largest_ft,
            "tests": tests, "crossover": cross, "prompt_worth": worth, "curve_points": points}


def _best_cheap(by_role: dict, score) -> dict | None:
    """The cheap non-generative classifier the recommendation weighs (results' "classical" slot
    and its "classical|..." tests): the TF-IDF arm, or the embedding probe's best training size
    (mean over its seeds) when it scores higher; {"name", "score", "what", "preds"(, "size")}."""
    cands = []
    for r in by_role[ArmRole.CLASSICAL][:1]:
        cands.append({"name": r.name, "score": score([r.preds]), "preds": [r.preds],
                      "what": "TF-IDF + logistic regression", "cost": "a fraction of a "
                      "language model"})
    sizes: dict[int, list[ArmRecord]] = defaultdict(list)
    for r in by_role[ArmRole.PROBE]:
        sizes[r.train_size].append(r)
    for size, runs in sorted(sizes.items()):
        p = [r.preds for r in sorted(runs, key=lambda r: r.seed or 0)]
        cands.append({"name": f"embedding probe on {size} examples", "score": score(p),
                      "preds": p, "size": size, "model": runs[0].model,
                      "what": f"the embedding probe (logistic regression on "
                              f"{runs[0].model or 'the base model'}'s frozen features, "
                              f"{size} training examples)",
                      "cost": "one forward pass of the base model, without decoding,"})
    # ties: the TF-IDF arm (cheaper still), then the smaller size
    return max(cands, key=lambda c: c["score"]) if cands else None


def _paired_tests(preds: dict, remote: Sequence[ArmRecord], test) -> dict[str, dict]:
    """Every paired test the analysis needs ("A|B": A minus B) between the keyed predictions
    ``preds``, and each remote arm ("remote:<name>") against the majority and the best
    fine-tune."""
    tests: dict[str, dict] = {}
    if "majority" in preds:
        for key in ("classical", "prompt", "ft_best"):
            if key in preds:
                tests[f"{key}|majority"] = test(preds[key], preds["majority"])
    if "classical" in preds:
        if "prompt" in preds:
            tests["prompt|classical"] = test(preds["prompt"], preds["classical"])
            tests["classical|prompt"] = _flip(tests["prompt|classical"])
        if "ft_best" in preds:
            tests["ft_best|classical"] = test(preds["ft_best"], preds["classical"])
    if "prompt" in preds and "ft_best" in preds:
        tests["ft_best|prompt"] = test(preds["ft_best"], preds["prompt"])
        tests["ft_largest|prompt"] = test(preds["ft_largest"], preds["prompt"])

    for r in remote:
        key = f"remote:{r.name}"
        if "majority" in preds:
            tests[f"{key}|majority"] = test([r.preds], preds["majority"])
        if "ft_best" in preds:
            tests[f"ft_best|{key}"] = test(preds["ft_best"], [r.preds])
    return tests


def _best_of(scored: list) -> dict | None:
    """{"name", "score", "shots", "kind", "remote"} of the best (score, -index, ArmRecord)
    triple, or None."""
    if not scored:
        return None
    s, _, best = max(scored, key=lambda t: (t[0], t[1]))
    return {"name": best.name, "score": s, "shots": best.shots or 0, "kind": best.kind,
            "remote": best.remote}


def _flip(t: dict) -> dict:
    ci = t.get("ci")
    return {**t, "diff": -t["diff"], "ci": [-ci[1], -ci[0]] if ci else None,
            "a": t.get("b"), "b": t.get("a")}


# -- schema sections -----------------------------------------------------------------------------

def crossover_section(cmp: dict, metric: str, sizes_tried: Sequence[int]) -> dict:
    bp = cmp["best_prompt"]
    versus = bp["name"] if bp else None
    c = cmp["crossover"]
    if c is not None:
        note = (f"fine-tuning on {c['size']} examples beats {versus} by "
                f"{analysis.points_text(c['diff'], c['ci'])} (paired bootstrap p = "
                f"{c['p_value']:.3g})")
        if not c["stable"]:
            note += "; a larger size fell back below it"
        return {"found": True, "train_size": c["size"], "versus": versus, "metric": metric,
                "diff": c["diff"], "ci": c["ci"], "p_value": c["p_value"], "stable": c["stable"],
                "note": note}
    if not bp:
        note = "no prompting arm ran, so there is nothing to cross"
    elif not sizes_tried:
        note = "no fine-tuning runs"
    else:
        note = (f"fine-tuning did not beat {versus} significantly at any size tried (up to "
                f"{max(sizes_tried)} examples)")
    return {"found": False, "train_size": None, "versus": versus, "metric": metric, "note": note}


def prompt_worth_section(cmp: dict) -> dict | None:
    w = cmp["prompt_worth"]
    bp = cmp["best_prompt"]
    if w is None or bp is None:
        return None
    exact = w["bound"] == "exact"
    return {"versus": bp["name"], "examples": w["examples"] if exact else None,
            "bound": w["bound"], "bound_examples": w["examples"],
            "note": f"the {bp['name']} prompt is worth {w['text']}"}
