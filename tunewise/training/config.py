"""Training configuration: typed dataclasses, the only place defaults live.

Precedence: dataclass defaults < YAML file (``--config``) < CLI flags / keyword overrides.
``validate()`` checks every field and reports all problems at once (``ConfigError``) before any
model is loaded. Reading YAML (with line and column), unknown keys ("did you mean") and type
coercion are ``tunewise.typed_config``'s, shared with ``tunewise compare``; this module declares
the fields, their ``#:`` help (also the ``tunewise train --flag`` help) and their value rules.

Defaults, measured on the embedded SmolLM2-135M-Instruct (bench/train_bench.py: 800 movie
reviews, 200 held out, 2 shared CPU cores): LoRA r=8, alpha=16 on q_proj/v_proj, AdamW lr 1e-3
with 6% linear warmup and linear decay, batch 8 -> one epoch reaches 0.85 held-out accuracy
(zero-shot label scoring: 0.605; Trainer + PEFT with the full-sequence loss: see the bench).

Training budget (``epochs: auto``, the default): small sets get more passes, large sets fewer,
by one rule (``TrainConfig.epochs_for``)::

    epochs = clamp(round(budget_scale / sqrt(n)), min_epochs, max_epochs)   # n = examples trained on

with budget_scale 64, min_epochs 2 and max_epochs 16 (16 examples -> 16 epochs, 64 -> 8,
256 -> 4, 922 and more -> 2): the examples seen grow as 64 x sqrt(n), 4x the data gets 2x the
optimizer steps. It replaced ceil(512 / n) (issue 20), which gave 256 examples 2-3 epochs, so
the demo tweets scored lower at 256 than at 64; 4 epochs lifted them (bench/middle_curve.py,
docs/learning-curve.md). At 16, 64 and 922 it gives the old rule's epochs, measured before.
``min_examples_seen`` brings the linear rule back. The floor of 2: one epoch of 921 tweets left
the model answering the majority class (tweeteval_offensive, bench/curve_bench.py).

Model selection follows the data size: below ``min_val_carve`` (512) labelled examples and no
validation file, nothing is carved off (a few dozen examples choose noise: at 256 the old
threshold of 128 carved 26 and kept epoch 1 of 3 on WNUT-17): all n are trained on for the
fixed budget, no early stopping, the last epoch kept. From 512 on, ``val_fraction`` is carved off (51 examples and more) and the best epoch is
kept. The learning rate was chosen from a measured sweep (bench/budget_sweep.py; table in
docs/learning-curve.md).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from tunewise import typed_config as tc
from tunewise.errors import ConfigError

METHODS = ("lora", "full")
OPTIMIZERS = ("adamw", "sgd", "adafactor")
SCHEDULERS = ("linear", "cosine", "constant")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
QUANTIZE = ("none", "4bit")
SWITCHES = ("auto", "true", "false")
#: ``batch_size: auto``: this effective batch, split into the largest micro-batches that fit
AUTO_BATCH_SIZE = 8


def _lower(v):
    return v.strip().lower() if isinstance(v, str) else v


def _auto_epochs(v):
    return 0 if isinstance(v, str) and v.strip().lower() == "auto" else v


def _switch(v):
    from tunewise.models.device import switch
    return switch(v)


_CHOICE = tc.shorthand(_lower)
_SWITCH = tc.shorthand(_switch)


@dataclass
class LoraConfig:
    """Low-rank adapters (PEFT) on the named linear layers; the base weights stay frozen."""

    #: rank of the update matrices (trainable parameters grow linearly with it)
    r: int = 8
    #: scaling numerator: the update is multiplied by alpha / r
    alpha: float = 16.0
    #: dropout on the adapter input during training (0 = deterministic steps)
    dropout: float = 0.05
    #: module names to adapt, e.g. ["q_proj", "v_proj"]; "all-linear" adapts every linear layer
    targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])


@dataclass
class TrainConfig:
    """Everything a training run needs besides the data; recorded in RUN_DIR/config.yaml."""

    #: model name (``smollm2-135m-instruct``, ``gemma-3-270m``, ``tiny-random``), local folder
    #: or hub id
    model: str = "smollm2-135m-instruct"
    #: "lora" (adapters, small files) or "full" (every weight trained; a full model copy is saved)
    method: str = field(default="lora", metadata=_CHOICE)
    #: LoRA settings (ignored for method "full")
    lora: LoraConfig = field(default_factory=LoraConfig)

    #: passes over the training set; 0 or "auto" = the data-scaled budget:
    #: clamp(round(budget_scale / sqrt(n)), min_epochs, max_epochs) for n training examples
    epochs: int = field(default=0, metadata=tc.shorthand(_auto_epochs))
    #: "auto" epochs: budget_scale x sqrt(n) examples are seen in training (16 examples -> 16
    #: epochs, 64 -> 8, 256 -> 4, 1,024 -> 2: 4x the data, 2x the optimizer steps)
    budget_scale: float = 64.0
    #: "auto" epochs by the older linear rule instead: at least this many examples are seen,
    #: ceil(min_examples_seen / n) epochs (0 = off: the budget_scale rule)
    min_examples_seen: int = 0
    #: "auto" epochs: never fewer passes than this (one pass over a large set can leave the model
    #: answering the majority class)
    min_epochs: int = 2
    #: "auto" epochs: never more passes than this (a tiny set is not memorised for ever)
    max_epochs: int = 16
    #: examples per optimizer step, in total over processes and accumulation steps; "auto" (or
    #: 0): 8 per step, in the largest micro-batches that fit the device's memory (halved after
    #: each out-of-memory error, with gradient accumulation keeping the 8; recorded in run.json)
    batch_size: int = field(default=8, metadata=tc.shorthand(_auto_epochs))
    #: micro-steps per optimizer step: the batch is split in this many parts to save memory
    grad_accum: int = 1
    #: "adamw", "sgd" (momentum 0.9) or "adafactor" (transformers.optimization.Adafactor)
    optimizer: str = field(default="adamw", metadata=_CHOICE)
    #: peak learning rate (LoRA likes ~1e-3 on small data; full fine-tuning ~2e-5)
    lr: float = 1e-3
    #: decoupled weight decay (AdamW / Adafactor) or L2 (SGD)
    weight_decay: float = 0.0
    #: learning-rate shape after warmup: "linear" decay to 0, "cosine" decay to 0, or "constant"
    scheduler: str = field(default="linear", metadata=_CHOICE)
    #: fraction of all optimizer steps spent warming up linearly from 0 (ignored if warmup_steps>0)
    warmup_ratio: float = 0.06
    #: warmup length in optimizer steps; overrides warmup_ratio when > 0
    warmup_steps: int = 0
    #: gradient-norm clipping threshold (0 = off)
    max_grad_norm: float = 1.0
    #: longest sequence in tokens (prompt + answer); a longer example is an error naming its
    #: file:line (never truncated silently: that would cut the answer away). "auto" (or 0): the
    #: data decides: every example that fits the model's context is trained on, however long,
    #: and one that does not is left out with a log line (compare's default)
    max_length: int = field(default=512, metadata=tc.shorthand(_auto_epochs))
    #: seed for data order, validation carving, adapter init and dropout
    seed: int = 0
    #: where to train: "auto" (a CUDA GPU if present, else Apple's MPS, else the CPU), "cpu",
    #: "cuda", "cuda:N" or "mps"; a device this machine lacks is an error, never a CPU run
    device: str = field(default="auto", metadata=_CHOICE)
    #: "auto" (bf16 autocast where the device has bf16 math; fp16 with loss scaling on a GPU
    #: without it; else fp32), "bf16", "fp16" (GPU only) or "fp32"
    precision: str = field(default="auto", metadata=_CHOICE)
    #: "none", or "4bit": QLoRA, the frozen base weights in 4-bit NF4 (bitsandbytes; CUDA and
    #: LoRA only; pip install 'tunewise[gpu]')
    quantize: str = field(default="none", metadata=_CHOICE)
    #: recompute activations in the backward pass instead of storing them (less memory, about a third
    #: more compute): "auto" (on for models of 1B+ parameters on a GPU), "true" or "false"
    gradient_checkpointing: str = field(default="auto", metadata=_SWITCH)
    #: CPU speed trick: LoRA dropout masks drawn from geometric gaps (4x cheaper than
    #: bernoulli_ there): "auto" (on the CPU), "true" or "false"
    gap_dropout: str = field(default="auto", metadata=_SWITCH)
    #: CPU speed trick: bf16 twins of the frozen weights during bf16 LoRA steps (no per-step
    #: cast): "auto" (on the CPU), "true" or "false"
    frozen_bf16: str = field(default="auto", metadata=_SWITCH)
    #: CPU speed trick: eager attention for training rows of <= 1,024 tokens (SDPA's CPU
    #: backward is slower): "auto" (on the CPU; SDPA/flash kernels on a GPU), "true" or "false"
    eager_attention: str = field(default="auto", metadata=_SWITCH)
    #: also score the per-epoch validation in bf16. Off by default: measured on 800 movie
    #: reviews, bf16 *training* matched fp32 (val loss 0.1994 vs 0.1988, accuracy 0.850 = 0.850
    #: when scored in fp32), but bf16 *scoring* flipped borderline examples (0.845 vs 0.850)
    eval_bf16: bool = False

    #: fraction of the training file carved out (stratified, seeded) as validation when no
    #: validation file is given
    val_fraction: float = 0.1
    #: with fewer labelled examples than this and no validation file, no validation is carved:
    #: all are trained on for the fixed budget, no early stopping, the last epoch is kept (a
    #: carve of val_fraction below 512 holds too few examples to choose an epoch)
    min_val_carve: int = 512
    #: stop after this many epochs without improvement of the task's headline metric (0 = never)
    patience: int = 2
    #: batch size for the per-epoch validation (label scoring / generation)
    eval_batch_size: int = 32
    #: cap on validation examples scored each epoch (0 = all)
    max_eval_examples: int = 0
    #: write a resumable checkpoint every N optimizer steps (0 = only at epoch ends)
    checkpoint_every: int = 50
    #: how many step checkpoints to keep (older ones are deleted; the best weights are kept apart)
    keep_checkpoints: int = 2
    #: log the training loss every N optimizer steps to metrics.jsonl
    log_every: int = 10
    #: length grouping: shuffled examples cut into chunks of batch_size*group_factor (smaller if
    #: fewer than 4 chunks), sorted by length within each (less padding); see training/batching
    group_factor: int = 32
    #: run the prompt prefix every example of a batch shares (system prompt, chat framing) once
    #: per batch instead of once per example (same loss and gradients, less compute), as one
    #: extra row of the batch's pass where the model's attention allows it
    share_prefix: bool = True

    # -- (de)serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, source: str | None = None) -> "TrainConfig":
        """Build from a mapping; unknown keys are errors (with "did you mean")."""
        cfg = cls()
        return cfg.merged(d, source=source)

    def merged(self, overrides: Mapping[str, Any] | None, *,
               source: str | None = None) -> "TrainConfig":
        """A copy with ``overrides`` applied. Keys: field names, ``lora`` as a mapping, or the flat
        forms ``lora_r`` / ``lora_alpha`` / ``lora_dropout`` / ``lora_targets``. None values are
        skipped (an unset CLI flag)."""
        problems: list[str] = []
        new = self._merge(overrides, problems)
        if problems:
            raise ConfigError(problems, source=source)
        return new

    def _merge(self, overrides: Mapping[str, Any] | None, problems: list[str]) -> "TrainConfig":
        return tc.apply(self, _nest_flat_lora(overrides), problems, skip_none=True)

    def validate(self, *, world_size: int = 1) -> "TrainConfig":
        """Check every field; raise one ConfigError listing all problems."""
        p = self.problems(world_size=world_size)
        if p:
            raise ConfigError(p)
        return self

    def problems(self, *, world_size: int = 1) -> list[str]:
        """Every problem with the field values (empty when the config is usable)."""
        p: list[str] = []
        if self.method not in METHODS:
            p.append(f"method: {self.method!r} is not one of {', '.join(METHODS)}")
        if self.optimizer not in OPTIMIZERS:
            p.append(_unknown("optimizer", self.optimizer, OPTIMIZERS))
        if self.scheduler not in SCHEDULERS:
            p.append(_unknown("scheduler", self.scheduler, SCHEDULERS))
        if self.precision not in PRECISIONS:
            p.append(_unknown("precision", self.precision, PRECISIONS))
        from tunewise.models.device import check_device_spec
        bad_device = check_device_spec(self.device)
        if bad_device:
            p.append(bad_device)
        if self.quantize not in QUANTIZE:
            p.append(_unknown("quantize", self.quantize, QUANTIZE))
        elif self.quantize == "4bit" and self.method != "lora":
            p.append("quantize: 4bit trains LoRA adapters on a frozen 4-bit base (QLoRA); "
                     "use method lora, or quantize none for full fine-tuning")
        for name in ("gradient_checkpointing", "gap_dropout", "frozen_bf16", "eager_attention"):
            if getattr(self, name) not in SWITCHES:
                p.append(_unknown(name, getattr(self, name), SWITCHES))
        if self.epochs < 0:
            p.append(f"epochs: must be >= 1, or 0 / auto for the data-scaled budget, "
                     f"got {self.epochs}")
        if self.batch_size < 0:
            p.append(f"batch_size: must be >= 1, or auto, got {self.batch_size}")
        if self.max_length < 0:
            p.append(f"max_length: must be >= 1, or 0 / auto to follow the data, "
                     f"got {self.max_length}")
        if not self.budget_scale > 0:
            p.append(f"budget_scale: must be > 0, got {self.budget_scale}")
        for name in ("min_epochs", "max_epochs", "grad_accum",
                     "eval_batch_size", "keep_checkpoints", "log_every", "group_factor"):
            if getattr(self, name) < 1:
                p.append(f"{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("patience", "checkpoint_every", "warmup_steps", "max_eval_examples",
                     "min_val_carve", "min_examples_seen"):
            if getattr(self, name) < 0:
                p.append(f"{name}: must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0:
            p.append(f"lr: must be > 0, got {self.lr}")
        elif self.lr > 1:
            p.append(f"lr: {self.lr} is far too large (typical: 1e-3 for LoRA, 2e-5 for full)")
        if self.weight_decay < 0:
            p.append(f"weight_decay: must be >= 0, got {self.weight_decay}")
        if not 0 <= self.warmup_ratio < 1:
            p.append(f"warmup_ratio: must be in [0, 1), got {self.warmup_ratio}")
        if self.max_grad_norm < 0:
            p.append(f"max_grad_norm: must be >= 0 (0 = off), got {self.max_grad_norm}")
        if not 0 < self.val_fraction < 1:
            p.append(f"val_fraction: must be between 0 and 1, got {self.val_fraction}")
        if self.batch_size >= 0 and self.grad_accum >= 1 \
                and self.effective_batch_size < self.grad_accum * world_size:
            p.append(f"batch_size: {self.effective_batch_size} examples cannot be split over "
                     f"grad_accum={self.grad_accum} x {world_size} process(es); "
                     f"use batch_size >= {self.grad_accum * world_size}")
        if self.method == "lora":
            if self.lora.r < 1:
                p.append(f"lora.r: must be >= 1, got {self.lora.r}")
            if not self.lora.alpha > 0:
                p.append(f"lora.alpha: must be > 0, got {self.lora.alpha}")
            if not 0 <= self.lora.dropout < 1:
                p.append(f"lora.dropout: must be in [0, 1), got {self.lora.dropout}")
            if not self.lora.targets or not all(isinstance(t, str) and t for t in self.lora.targets):
                p.append("lora.targets: give at least one module name, e.g. q_proj,v_proj")
        if not self.model:
            p.append("model: empty; use smollm2-135m-instruct, gemma-3-270m, tiny-random, a folder or a hub id")
        return p

    def epochs_for(self, n: int) -> int:
        """Epochs for ``n`` training examples: ``epochs`` when set, else the budget rule
        clamp(round(budget_scale / sqrt(n)), min_epochs, max_epochs), or with
        ``min_examples_seen`` set clamp(ceil(min_examples_seen / n), ...)."""
        if self.epochs:
            return self.epochs
        import math
        n = max(n, 1)
        want = (-(-self.min_examples_seen // n) if self.min_examples_seen
                else max(1, round(self.budget_scale / math.sqrt(n))))
        return max(min(self.min_epochs, self.max_epochs), min(self.max_epochs, want))

    def budget_text(self, n: int) -> str:
        """How the epochs for ``n`` examples were chosen, in words (for logs and reports)."""
        if self.epochs:
            return f"{self.epochs} epoch(s) as configured"
        rule = (f"ceil({self.min_examples_seen} / {n} examples)" if self.min_examples_seen
                else f"round({self.budget_scale:g} / sqrt({n} examples))")
        return (f"{self.epochs_for(n)} epoch(s) by the auto budget: {rule}, at least "
                f"{self.min_epochs}, at most {self.max_epochs}")

    @property
    def auto_batch(self) -> bool:
        """``batch_size: auto``: micro-batches are halved on out-of-memory errors."""
        return self.batch_size == 0

    @property
    def effective_batch_size(self) -> int:
        """Examples per optimizer step (``AUTO_BATCH_SIZE`` for ``batch_size: auto``)."""
        return self.batch_size or AUTO_BATCH_SIZE

    def micro_batch_size(self, world_size: int = 1) -> int:
        """Examples per forward pass on one process (the batch split over accum x processes)."""
        return max(1, -(-self.effective_batch_size // (self.grad_accum * world_size)))




# -- YAML -------------------------------------------------------------------------------------
def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
                *, base: TrainConfig | None = None, world_size: int = 1) -> TrainConfig:
    """Defaults < YAML file < overrides; then validation. All problems (unknown keys, wrong
    types, bad values) are reported together in one ConfigError; a problem in the file names
    its line and column."""
    cfg = base or TrainConfig()
    problems: list[str] = []
    doc = read_yaml(path) if path is not None else None
    if doc is not None:
        file_problems: list[str] = []
        cfg = cfg._merge(doc, file_problems)
        problems += tc.locate(file_problems, doc, doc.prefix)
    flat = _nest_flat_lora(overrides)
    cfg = cfg._merge(flat, problems)
    for p in cfg.problems(world_size=world_size):    # a bad value read from the file: where
        key = p.split(":", 1)[0]
        top, _, sub = key.partition(".")
        overridden = top in flat and (not sub or not isinstance(flat[top], Mapping)
                                      or sub in flat[top])
        problems += [p] if doc is None or overridden else tc.locate([p], doc, doc.prefix)
    if problems:
        raise ConfigError(problems)
    return cfg


def read_yaml(path: str | Path) -> dict:
    """The settings of a training YAML: a flat file, or one with a top-level ``train:`` section
    (a ``typed_config.YamlConfig``: a dict that knows each key's line and column)."""
    data = tc.read_yaml(path, hint="; a training config holds TrainConfig fields, see configs/")
    if set(data) == {"train"} and isinstance(data["train"], dict):
        inner = tc.YamlConfig(data["train"])
        inner.positions, inner.source, inner.prefix = data.positions, data.source, "train."
        return inner
    return data


def dump_yaml(cfg: TrainConfig) -> str:
    import yaml
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


# -- helpers ----------------------------------------------------------------------------------
def _nest_flat_lora(overrides: Mapping[str, Any] | None) -> dict:
    """``lora_r: 4`` (a CLI flag / keyword) is ``lora: {r: 4}``."""
    out: dict = {}
    lora_names = tc.field_names(LoraConfig)
    for key, val in (overrides or {}).items():
        if isinstance(key, str) and key.startswith("lora_") and key[5:] in lora_names:
            if val is not None:
                lora = out.setdefault("lora", {})
                if isinstance(lora, dict):
                    lora[key[5:]] = val
        elif key == "lora" and isinstance(val, Mapping) and isinstance(out.get("lora"), dict):
            out["lora"] = {**val, **out["lora"]}
        else:
            out[key] = val
    return out


def _unknown(label: str, name: str, choices) -> str:
    return f"{label}: {name!r} is unknown; {tc.did_you_mean(str(name), choices)}"


def field_docs() -> dict[str, str]:
    """Help text of every setting, taken from the ``#:`` comments above the fields in this file
    (written once, reused by the CLI). Keys: TrainConfig field names and ``lora_<field>``."""
    docs = tc.field_docs(TrainConfig)
    docs.update({f"lora_{k}": v for k, v in tc.field_docs(LoraConfig).items()})
    return docs
