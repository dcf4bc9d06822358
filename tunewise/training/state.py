"""What a training run carries from step to step (``TrainState``, saved in every checkpoint) and
what it produced (``TrainResult``)."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainResult:
    """What a training run produced (also in RUN_DIR/run.json)."""

    run_dir: Path
    #: 1-based epoch whose weights were kept
    best_epoch: int
    #: validation metrics of the best epoch (task metrics + ``val_loss``)
    metrics: dict
    #: per-epoch validation rows
    history: list[dict]
    #: train_seconds (training steps only), train_examples_per_second, train_tokens_per_second
    #: (real, non-padding tokens), eval_seconds, peak_memory_mb (None: not measured here)
    timing: dict
    #: trainable / total parameter counts
    params: dict
    #: token counts of one pass over the training set (tokens, trained_tokens)
    tokens: dict
    stopped_early: bool = False
    headline_metric: str = ""
    #: the trained model (best epoch's weights) and tokenizer, ready to use in this process
    lm: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"run_dir": str(self.run_dir), "best_epoch": self.best_epoch,
                "headline_metric": self.headline_metric, "metrics": self.metrics,
                "history": self.history, "timing": self.timing, "params": self.params,
                "tokens": self.tokens, "stopped_early": self.stopped_early}


@dataclass
class TrainState:
    """Where training stands; saved in every checkpoint (state.json)."""

    epoch: int = 0          # 0-based epoch in progress
    batch: int = 0          # next batch of that epoch (data-order position)
    step: int = 0           # optimizer steps done
    best_epoch: int = 0     # 1-based; 0 = none yet
    best_metric: float = -math.inf
    since_best: int = 0
    stop: bool = False
    stopped_early: bool = False
    history: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    train_seconds: float = 0.0
    train_examples: int = 0
    train_tokens: int = 0   # real (non-padding) tokens through the model in training steps
    eval_seconds: float = 0.0
    peak_memory_mb: float | None = None   # the run's peak added memory (peak_memory.py)
    win_loss: float = 0.0   # answer-token loss sum since the last logged row
    win_tokens: int = 0     # answer tokens since the last logged row

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["best_metric"] = None if self.best_metric == -math.inf else self.best_metric
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainState":
        names = {f.name for f in dataclasses.fields(cls)}
        s = cls(**{k: v for k, v in d.items() if k in names})
        if s.best_metric is None:
            s.best_metric = -math.inf
        return s
