"""``arms.fine_tune.lr: auto``: a small learning-rate search before the learning curve.

The learning rate matters more to a fine-tune than its rank ("LoRA Without Regret", 2025), and
the best one depends on the model and the data. With ``lr: auto`` compare trains, before the
curve, ``len(FACTORS)`` runs at one size (``lr_search_size``; default: the curve's middle size,
at least 64 where the curve reaches it) with rates spaced 3x around the method's default (LoRA
1e-3 -> 3.3e-4, 1e-3, 3e-3; full fine-tuning 2e-5 -> 6.7e-6, 2e-5, 6e-5), seed 0, and scores
each on the VALIDATION split (at most ``max_val`` examples; never the test split the report is
judged on) with the headline metric. The best rate trains every run of the curve if it beats the
default significantly: a paired bootstrap of the two runs' validation predictions, p < ``alpha``
(``vs_default``). Otherwise the default stays: 200 validation examples cannot tell apart rates
that differ by a point or two, and on movie reviews a rate that won by one example lost on the
test split (docs/learning-curve.md).

The trial runs live in OUT/lr-search/ and are reused by a rerun like the curve's runs; every
trial is recorded in results.json (``lr_search``) and the report. With ``executor: ray`` the
trial runs train at once, as Ray tasks (``comparison.ray_runner``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tunewise.errors import UsageError

#: the rates tried, as multiples of the method's default (spaced 3x)
FACTORS = (1 / 3, 1.0, 3.0)
#: the default peak learning rate of each fine-tuning method (training/config.py's advice)
METHOD_DEFAULT = {"lora": 1e-3, "full": 2e-5}
#: fewer validation examples than this cannot tell the rates apart
MIN_VAL = 16
#: the smallest default search size: a run on 16 examples says more about its seed than its
#: rate (movie reviews, seed 0 at 16: 3e-3 won on validation by 7.5 points and then lost to 1e-3
#: on seeds 1 and 2, and by 5.5 points at 64; docs/learning-curve.md)
MIN_SEARCH_SIZE = 64


@dataclass
class LrSearch:
    """The search's outcome: the rate chosen and every trial (``to_dict`` is results.json's)."""

    size: int
    chosen: float
    default: float
    metric: str
    val_size: int
    trials: list[dict] = field(default_factory=list)
    #: the paired bootstrap of the best rate against the default on validation (None when the
    #: default scored best): a rate other than the default is used only when it is significant
    vs_default: dict | None = None

    #: the base model searched (with several models in one compare)
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"size": self.size, "chosen": self.chosen, "default": self.default,
             "metric": self.metric, "val_size": self.val_size, "split": "validation",
             "trials": self.trials, "vs_default": self.vs_default}
        return {"model": self.model, **d} if self.model else d


@dataclass
class LrSearches:
    """One search per base model (a compare of several models): results.json's ``lr_search``
    is then a list, one entry per model, each naming its model."""

    searches: list[LrSearch]

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.searches]


def rates(method: str) -> list[float]:
    """The rates tried for ``method`` (rounded to 2 significant digits)."""
    center = METHOD_DEFAULT.get(method, METHOD_DEFAULT["lora"])
    return [float(f"{center * f:.2g}") for f in FACTORS]


def search_size(cfg, sizes: list[int]) -> int:
    """The size the rates are tried at: ``lr_search_size`` (clamped to the training split's
    sizes), else the curve's middle size, but at least ``MIN_SEARCH_SIZE`` (the smallest size
    of the curve from there on; the largest when the curve stays below it)."""
    ft = cfg.arms.fine_tune
    if ft.lr_search_size:
        return min(int(ft.lr_search_size), max(sizes))
    return default_search_size(sizes)


def default_search_size(sizes: list[int]) -> int:
    """The curve's middle size, or the smallest size from ``MIN_SEARCH_SIZE`` on when the middle
    is below it (the largest size when every size is)."""
    sizes = sorted(sizes)
    middle = sizes[(len(sizes) - 1) // 2]
    if middle >= MIN_SEARCH_SIZE:
        return middle
    return next((n for n in sizes if n >= MIN_SEARCH_SIZE), sizes[-1])


def choose(ctx, sizes: list[int], metric: str, *, run_trials=None) -> LrSearch | None:
    """Run the search when ``arms.fine_tune.lr`` is "auto" (None otherwise): train the trial
    runs (reused when finished), score them on the validation split, set ``ctx.lr``.
    ``run_trials(arms, task, examples)``: trains and predicts the trial arms elsewhere, all at
    once, and returns their ArmResults in order (``executor: ray``); None: here, in turn."""
    ft = ctx.cfg.arms.fine_tune
    if not ft.enabled or ft.lr != "auto" or not sizes:
        return None
    from tunewise.comparison import datasets
    val = datasets.subsample(ctx.splits.val, ft.max_val, ctx.cfg.seed)
    if len(val) < MIN_VAL:
        raise UsageError(f"lr: auto needs at least {MIN_VAL} validation examples to choose a "
                         f"learning rate on, and the validation split has {len(val)}",
                         fix="raise data.val_fraction (or give data.val), or set "
                             "arms.fine_tune.lr to a number")
    size = search_size(ctx.cfg, sizes)
    default = rates(ft.method)[FACTORS.index(1.0)]
    golds = [ctx.task.gold(ex) for ex in val]
    from tunewise.tasks.metrics import metric_functions
    metric_fn = metric_functions(ctx.task)[metric]
    trials, preds, lrs = [], {}, rates(ft.method)
    for lr in lrs if run_trials else []:
        _announce(ctx, size, lr, val)
    done = run_trials([_trial_arm(ctx, size, lr) for lr in lrs], ctx.task, val) if run_trials \
        else None
    for k, lr in enumerate(lrs):
        if done is None:
            _announce(ctx, size, lr, val)
            res = _trial(ctx, size, lr, val)
        else:
            res = done[k]
        preds[lr] = [p.pred for p in res.predictions]
        value = float(metric_fn(golds, preds[lr]))
        trials.append({"lr": lr, "value": value,
                       "train_seconds": float(res.timing.get("train_seconds") or 0.0)})
        ctx.say(f"lr search: lr {lr:g} -> {metric} {value:.3f} on validation")
    chosen, vs_default = pick(metric_fn, golds, preds, default=default,
                              n_resamples=ctx.cfg.n_resamples, alpha=ctx.cfg.alpha,
                              seed=ctx.cfg.seed)
    if vs_default and not vs_default["significant"]:
        ctx.say(f"lr search: lr {vs_default['lr']:g} is not significantly better than the "
                f"default {default:g} on validation (p = {vs_default['p_value']:.2g}); keeping "
                "the default")
    ctx.lr = chosen
    ctx.say(f"lr search: every fine-tuning run uses lr {ctx.lr:g}")
    return LrSearch(size=size, chosen=ctx.lr, default=default, metric=metric,
                    val_size=len(val), trials=trials, vs_default=vs_default,
                    model=getattr(ctx, "model", None))


def pick(metric_fn, golds: list, preds: dict[float, list], *, default: float,
         n_resamples: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, dict | None]:
    """(the rate chosen, the paired test of the best rate against the default or None) from
    each rate's validation predictions ``preds`` (rate -> predictions, ``golds`` order): the
    best ``metric_fn`` value (a tie goes to the rate nearest the default, log scale), used only
    when the paired bootstrap says it beats the default (p < ``alpha``)."""
    from tunewise.evaluation.stats import paired_bootstrap
    values = {lr: float(metric_fn(golds, p)) for lr, p in preds.items()}
    best = max(values, key=lambda lr: (round(values[lr], 6), -abs(math.log(lr / default))))
    if best == default:
        return default, None
    test = paired_bootstrap(metric_fn, golds, preds[best], preds[default],
                            n_resamples=n_resamples, alpha=alpha, seed=seed)
    vs_default = {"lr": best, "diff": test["diff"], "ci": test["ci"],
                  "p_value": test["p_value"], "significant": test["significant"]}
    return (best if test["significant"] else default), vs_default


def _announce(ctx, size: int, lr: float, val: list) -> None:
    ctx.say(f"lr search: {ctx.model_name} at size {size} with lr {lr:g} ({len(val)} "
            "validation examples score it)")


def _trial(ctx, size: int, lr: float, val: list):
    """The ArmResult (validation predictions, timing) of the run at ``size`` with ``lr``,
    trained here."""
    return _trial_arm(ctx, size, lr).predict(ctx.task, val, progress=ctx.progress)


def _trial_arm(ctx, size: int, lr: float):
    """The fine-tuned arm of the trial run at ``size`` with ``lr`` (trained when predicting)."""
    from tunewise.comparison import datasets
    from tunewise.comparison.cache import fingerprint
    from tunewise.comparison.finetune_step import Training
    from tunewise.evaluation.arms import FineTunedArm
    cfg, ft, m, name = ctx.cfg, ctx.cfg.arms.fine_tune, ctx.cfg.model, ctx.model_name
    task = ctx.task.for_fine_tuning(ft.label_list_max)
    conf_in = ft.config
    if isinstance(conf_in, str):          # a training YAML: its content, not its path, counts
        from tunewise.training.config import read_yaml
        conf_in = read_yaml(cfg.resolve(conf_in))
    inputs = {"arm": "lr-search", "task": task.to_config(), "size": size, "seed": 0,
              "data_seed": cfg.seed, "train": ctx.train_fp, "model": name,
              "method": ft.method, "lr": lr, "bf16": ctx.bf16, "config": conf_in}
    subset = datasets.stratified_order(ctx.splits.train, seed=cfg.seed * 1000)[:size]
    conf = ft.train.merged({"model": name, "method": ft.method, "seed": 0, "lr": lr})
    training = Training(subset, task, conf, inputs_hash=fingerprint(inputs), say=ctx.say,
                        progress=ctx.progress)
    tag = getattr(ctx, "tag", None)          # several models: one folder per model
    from tunewise.fileio import safe_filename
    run = ctx.out / "lr-search" / safe_filename(f"{tag} n{size}-lr{lr:g}" if tag
                                                else f"n{size}-lr{lr:g}")
    return FineTunedArm(run, training=training, merge=True, name=run.name,
                        batch_size=m.batch_size, bf16=ctx.bf16, memo=False)
