"""The arms of a compare config, in run order: majority -> classical -> zero-shot -> k-shot ->
the embedding probe at every training size and seed (``arms.probe``) -> remote models
(``arms.remote``: one arm per model and k) -> fine-tuning at every training size and seed. Each is a ``PlannedArm``: its name, what its result depends on (the cache key) and the Arm
object (``tunewise.evaluation.arms``) that runs it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from tunewise.arm_record import ArmRole
from tunewise.comparison.finetune_step import Training
from tunewise.fileio import safe_filename
from tunewise.evaluation.arms import (Arm, ClassicalArm, FineTunedArm, MajorityArm, ProbeArm,
                                      PromptArm)


#: where compare keeps the remote arms' responses (inside OUT): an interrupted run resumes there
#: without repeating a paid call
REMOTE_CACHE_DIR = "remote-cache"


@dataclass
class PlannedArm:
    name: str
    #: what the arm's result depends on (with the test sample and task: its cache key)
    inputs: dict
    arm: Arm
    #: the base model of a prompting or fine-tuned arm when a compare has several (recorded in
    #: its results.json arm); None: one model, or an arm of no base model
    model: str | None = None
    #: files the arm writes besides its predictions and cached result: (description, path)
    files: tuple = ()

    @property
    def role(self) -> ArmRole:
        """Which arm this is (its registry kind read as an ``ArmRole``)."""
        return ArmRole.parse(getattr(self.arm, "kind", None), where=f"arm {self.name}")


@dataclass
class PlanContext:
    """What every planned arm shares: the config, task, data and the lazily loaded base model."""

    cfg: Any
    task: Any
    splits: Any
    train_fp: str
    base_model: Callable[[], Any]
    bf16: bool
    out: Path
    progress: bool
    say: Callable[[str], None]
    #: the learning rate every fine-tuning run uses (``lr: auto``: the search's winner, see
    #: ``comparison.lr_search``); None = the training config's own
    lr: float | None = None
    #: the base model of this context's prompting and fine-tuning arms (None: ``cfg.model.name``)
    model: str | None = None
    #: with several models: the model's label, the first word of its arms' names
    #: ("gemma-3-270m zero-shot"); None with one model (names as they always were)
    tag: str | None = None
    #: the probe arms' feature cache of this model (``probe_features``), made on first use
    features: Any = None

    @property
    def model_name(self) -> str:
        return self.model or self.cfg.model.name

    def feature_cache(self):
        if self.features is None:
            from tunewise.comparison.probe_features import FeatureCache
            self.features = FeatureCache(self.out, self.model_name, self.base_model,
                                         bf16=self.bf16, progress=self.progress)
        return self.features

    def arm_name(self, base: str) -> str:
        return f"{self.tag} {base}" if self.tag else base


def model_label(name: str) -> str:
    """A model's short label in arm names: a built-in model's name, else a folder's or hub
    id's last part ("org/My-Model" -> "My-Model")."""
    from tunewise.models.catalog import lookup
    m = lookup(name)
    return m.name if m else (name.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or name)


def training_sizes(cfg, splits) -> list[int]:
    """Training sizes actually run: "all" = the whole training split; sizes above it are clamped
    (and merged with "all")."""
    n = len(splits.train)
    sizes: list[int] = []
    if cfg.arms.fine_tune.enabled:
        for s in cfg.arms.fine_tune.sizes:
            v = n if s == "all" else min(int(s), n)
            if v not in sizes:
                sizes.append(v)
    return sorted(sizes)


def plan_arms(ctx: PlanContext | list[PlanContext], sizes: list[int]) -> list[PlannedArm]:
    """One context (one model): baselines, prompting, remote, fine-tuning. Several (one per
    model): the baselines and remote arms once, then each model's prompting and fine-tuning
    arms together, so each base model is loaded once and only one at a time."""
    ctxs = ctx if isinstance(ctx, list) else [ctx]
    if len(ctxs) == 1:
        c = ctxs[0]
        return [*_baselines(c), *_prompting(c), *_probing(c, sizes), *_remote(c),
                *_fine_tuning(c, sizes)]
    out = [*_baselines(ctxs[0]), *_remote(ctxs[0])]
    for c in ctxs:
        own = [*_prompting(c), *_probing(c, sizes), *_fine_tuning(c, sizes)]
        for p in own:
            p.model = c.model_name
        out += own
    return out


def _baselines(ctx: PlanContext) -> list[PlannedArm]:
    cfg, task, train = ctx.cfg, ctx.task, ctx.splits.train
    arms = []
    if task.majority_answer([task.gold(ex) for ex in train]) is not None:   # not generation
        arms.append(PlannedArm("majority", {"arm": "majority", "train": ctx.train_fp},
                               MajorityArm(train)))
    if cfg.arms.classical and task.supports_classical:
        arms.append(PlannedArm("classical", {"arm": "classical", "train": ctx.train_fp,
                                             "seed": cfg.seed},
                               ClassicalArm(train, seed=cfg.seed)))
    return arms


def probe_skip_reason(cfg, task) -> str | None:
    """Why the embedding-probe arm does not run although ``arms.probe`` is on (results.json's
    warnings say it, so it is never skipped silently), or None."""
    if cfg.arms.probe and not task.supports_classical:
        return (f"the embedding-probe arm (arms.probe) was skipped: it fits a classifier to "
                f"labels, and this is a {task.kind} task, not classification")
    return None


def _probing(ctx: PlanContext, sizes: list[int]) -> list[PlannedArm]:
    """The embedding probe at the fine-tuning curve's sizes and seeds, on the same subsets
    (no curve with ``fine_tune: false``: no probe either); every arm reads the model's one
    feature cache (each text embedded once)."""
    from tunewise.comparison import datasets
    from tunewise.comparison.probe_features import FEATURES_VERSION
    from tunewise.quality.oof_probs import LM_PROBE_C
    cfg, ft, train = ctx.cfg, ctx.cfg.arms.fine_tune, ctx.splits.train
    if not cfg.arms.probe or not ctx.task.supports_classical:
        return []
    feats = ctx.feature_cache()
    arms = []
    for size in sizes:
        for s in range(ft.seeds_for("all" if size == len(train) else size)):
            name = ctx.arm_name(f"probe-n{size}-s{s}")
            subset = datasets.stratified_order(train, seed=cfg.seed * 1000 + s)[:size]
            inputs = {"arm": "probe", "model": ctx.model_name, "size": size, "seed": s,
                      "data_seed": cfg.seed, "train": ctx.train_fp, "bf16": ctx.bf16,
                      "features": FEATURES_VERSION, "C": LM_PROBE_C}
            arm = ProbeArm(feats, subset, seed=s, name=name, model=ctx.model_name)
            arms.append(PlannedArm(name, inputs, arm,
                                   files=((f"probe features of {ctx.model_name}", feats.path),)))
    return arms


def _prompting(ctx: PlanContext) -> list[PlannedArm]:
    cfg, m = ctx.cfg, ctx.cfg.model
    pkw = {"method": m.method, "batch_size": m.batch_size, "bf16": ctx.bf16,
           "calibrate": m.calibrate, "calibrate_from": ctx.splits.train}
    minputs = {"model": ctx.model_name, "method": m.method, "bf16": ctx.bf16,
               "calibrate": m.calibrate}
    if m.calibrate == "prior":     # the label bias is measured on training inputs
        minputs["train"] = ctx.train_fp
    arms = []
    if cfg.arms.zero_shot:
        zs = ctx.arm_name("zero-shot")
        arms.append(PlannedArm(zs, {"arm": "zero-shot", **minputs},
                               PromptArm(ctx.base_model, name=zs, **pkw)))
    names = [f"{k.k}-shot" for k in cfg.arms.k_shot]
    for ks in cfg.arms.k_shot:
        name = f"{ks.k}-shot" if names.count(f"{ks.k}-shot") == 1 else f"{ks.k}-shot-{ks.selection}"
        name = ctx.arm_name(name)
        arm = PromptArm(ctx.base_model, ks.k, shots_from=ctx.splits.train,
                        selection=ks.selection, seed=cfg.seed, name=name, **pkw)
        arms.append(PlannedArm(name, {"arm": "k-shot", "k": ks.k, "selection": ks.selection,
                                      "seed": cfg.seed, "train": ctx.train_fp, **minputs}, arm))
    return arms


def price_table(cfg):
    """The price table compare uses (the shipped one with ``cost.prices_file`` over it)."""
    from tunewise.cost.prices import load_prices
    return load_prices(cfg.resolve(cfg.cost.prices_file) if cfg.cost.prices_file else None)


def arm_names(cfg) -> list[str]:
    """The name of every remote arm, in config order (``name`` + " k-shot" when an entry has
    several shots; "<model> <k>-shot" without a name)."""
    from tunewise.remote.spec import parse_model_spec
    names = []
    for r in cfg.arms.remote:
        for k in r.shots:
            if r.name:
                names.append(r.name if len(r.shots) == 1 else f"{r.name} {k}-shot")
            else:
                names.append(f"{parse_model_spec(r.model, base_url=r.base_url).display} {k}-shot")
    return names


def _remote(ctx: PlanContext) -> list[PlannedArm]:
    """One PlannedArm per remote model and k; the cache inputs are what its answers depend on."""
    from tunewise.cost.remote_prices import remote_price
    from tunewise.evaluation.arms.remote import RemoteArm
    cfg = ctx.cfg
    table = price_table(cfg)
    names = iter(arm_names(cfg))
    arms = []
    for r in cfg.arms.remote:
        price = remote_price(r.model, table)
        for k in r.shots:
            name = next(names)
            # the total is checked once for all arms (check_cost): no per-arm limit
            arm = RemoteArm(r.model, base_url=r.base_url, api_key_env=r.api_key_env, name=name,
                            k=k, shots_pool=ctx.splits.train if k else (),
                            shot_selection=r.selection, seed=cfg.seed, scoring=r.scoring,
                            price=price, max_cost_usd=None, cache_dir=ctx.out / REMOTE_CACHE_DIR)
            # the base URL without credentials: they change no answer, and the cache keeps it
            inputs = {"arm": "remote", "model": r.model, "base_url": arm.spec.redacted_url,
                      "shots": k, "scoring": r.scoring, "seed": cfg.seed,
                      "price": price.to_dict() if price else None}
            if k:
                inputs.update(selection=r.selection, train=ctx.train_fp)
            arms.append(PlannedArm(name, inputs, arm))
    return arms


def _fine_tuning(ctx: PlanContext, sizes: list[int]) -> list[PlannedArm]:
    from tunewise.comparison import datasets
    from tunewise.comparison.cache import fingerprint
    cfg, ft, train = ctx.cfg, ctx.cfg.arms.fine_tune, ctx.splits.train
    if not ft.enabled:
        return []
    conf = ft.config
    if isinstance(conf, str):          # a training YAML: its content, not its path, counts
        from tunewise.training.config import read_yaml
        conf = read_yaml(cfg.resolve(conf))
    # seed 0 of every size first, then the extra seeds: a run cut short by max_minutes still
    # has the whole curve
    pairs = sorted((s, size) for size in sizes
                   for s in range(ft.seeds_for("all" if size == len(train) else size)))
    # the prompt a fine-tune is trained and prompted with: with many labels, no label list
    task = ctx.task.for_fine_tuning(ft.label_list_max)
    arms = []
    for s, size in pairs:
        name = ctx.arm_name(f"finetune-n{size}-s{s}")
        epochs = ft.epochs_for("all" if size == len(train) else size)
        # what the training run depends on (the test sample is added for the arm's cache key
        # only, so a new test sample re-predicts without retraining); validation is carved
        # from the size's own examples (or none below min_val_carve)
        inputs = {"arm": "finetune", "task": task.to_config(), "size": size, "seed": s,
                  "data_seed": cfg.seed, "train": ctx.train_fp, "max_val": ft.max_val,
                  "selection": "by-size-v2", "model": ctx.model_name, "method": ft.method,
                  "config": conf, "epochs": epochs, "bf16": ctx.bf16}
        # the typed TrainConfig load_config built (max_val, the training config, method: checked
        # once there), with this run's model, seed and epochs
        run_settings = {"model": ctx.model_name, "method": ft.method, "seed": s}
        if ctx.lr is not None:
            run_settings["lr"] = inputs["lr"] = ctx.lr
        if epochs is not None:
            run_settings["epochs"] = epochs
        overrides = ft.train.merged(run_settings)
        subset = datasets.stratified_order(train, seed=cfg.seed * 1000 + s)[:size]
        training = Training(subset, task, overrides, inputs_hash=fingerprint(inputs),
                            say=ctx.say, progress=ctx.progress)
        arm = FineTunedArm(ctx.out / "runs" / safe_filename(name), training=training, merge=True, name=name,
                           batch_size=cfg.model.batch_size, bf16=ctx.bf16, memo=False)
        arms.append(PlannedArm(name, inputs, arm))
    return arms
