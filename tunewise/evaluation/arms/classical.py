"""The classical arm: TF-IDF + logistic regression fitted on the training examples."""
from __future__ import annotations

from typing import Sequence

from tunewise.errors import UsageError
from tunewise.evaluation.arms.base import ArmResult, register, timed_predictions


@register
class ClassicalArm:
    """Fits on ``train`` and predicts (classification only: ``task.supports_classical``).
    Timing: ``seconds`` / ``examples_per_second`` cover prediction; ``train_seconds`` the fit."""

    kind = "classical"

    def __init__(self, train: Sequence, *, seed: int = 0, name: str = "classical"):
        self.train = list(train)
        self.seed = seed
        self.name = name

    @classmethod
    def from_options(cls, options, *, train, shots_from=()) -> "ClassicalArm":
        if not train:
            raise UsageError("the classical arm needs training data", fix="pass --train FILE")
        if options.adapter is not None or options.prompt.shots:
            raise UsageError("the classical arm takes no --adapter and no --shots")
        return cls(train, seed=options.seed)

    def predict(self, task, examples, *, progress: bool = True) -> ArmResult:
        from tunewise.evaluation.classical import classical_predictions
        examples = list(examples)
        preds, timing = timed_predictions(
            lambda batch: classical_predictions(task, self.train, batch, seed=self.seed),
            examples)
        fit = preds[0].extra.get("fit_s", 0.0) if preds else 0.0
        seconds = max(timing["seconds"] - fit, 1e-9)
        timing.update({"seconds": seconds, "examples_per_second": len(preds) / seconds,
                       "train_seconds": fit})
        return ArmResult(name=self.name, kind=self.kind, predictions=preds, timing=timing,
                         settings={"method": "classical", "seed": self.seed},
                         extra={"train_size": len(self.train)})
