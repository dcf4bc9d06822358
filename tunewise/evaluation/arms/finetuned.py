"""The fine-tuned arm: a ``tunewise train`` run directory (or a bare PEFT adapter folder)
prompted like the base model; optionally made first by the caller's ``training`` step (compare's
``tunewise.comparison.finetune_step.Training``: this module never trains).

    FineTunedArm("runs/sentiment").predict(task, test)               # an existing run
    FineTunedArm("OUT/runs/finetune-n64-s0", training=Training(...))  # made (or resumed) first
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from tunewise.evaluation.arms.base import ArmResult, register
from tunewise.evaluation.arms.prompt import PromptArm, _prompt_kwargs


class MakesRun(Protocol):
    """What ``training`` must offer: ``ensure(run_dir) -> info`` makes (or resumes, or reuses)
    the run folder; ``record(run_dir, info) -> dict`` is what the arm's record keeps of it."""

    def ensure(self, run_dir: Path) -> dict: ...

    def record(self, run_dir: Path, info: dict) -> dict: ...


@register
class FineTunedArm(PromptArm):
    """Prompting (zero-shot unless ``shots``) of the model of ``run``; ``merge`` folds LoRA into
    the weights first (served as deployed). Other keywords: as ``PromptArm``."""

    kind = "finetuned"

    def __init__(self, run, *, model: str | None = None, training: MakesRun | None = None,
                 merge: bool = False, name: str | None = None, **prompt_options):
        super().__init__(model, name=name or "fine-tuned", **prompt_options)
        self.run = Path(run)
        self.training = training
        self.merge = merge
        self.train_info: dict = {}
        if training is None:
            from tunewise.runs import check_run
            check_run(self.run, finished=False, bare_adapter_ok=True)

    @classmethod
    def from_options(cls, options, *, train, shots_from=()) -> "FineTunedArm":
        return cls(options.adapter, model=options.model,
                   **_prompt_kwargs(options, train, shots_from))

    def own_task(self):
        """The task a ``tunewise train`` run was trained for (None for a bare adapter)."""
        self.loaded()
        return self._task

    def _load(self):
        if self.training is not None:
            self.train_info = self.training.ensure(self.run)
        from tunewise.runs import load_run
        if (self.run / "run.json").exists():
            lm, task = load_run(self.run, memo=self.memo)
        else:   # a bare PEFT adapter folder
            from tunewise.models import load_model
            lm, task = load_model(self.model, adapter=self.run, memo=self.memo), None
        if self.merge and hasattr(lm.model, "merge_and_unload"):
            lm.model = lm.model.merge_and_unload()
        return lm, task

    def predict(self, task, examples, *, progress: bool = True) -> ArmResult:
        # a run trained here is prompted as it was trained (compare: its fine-tuning prompt,
        # ``Task.for_fine_tuning``: the same labels and metric, maybe without the label list)
        if self.training is not None:
            task = self.training.task
        res = super().predict(task, examples, progress=progress)
        res.kind = self.kind
        if not self.shots:
            res.extra = {}
        res.extra["run_dir"] = str(self.run)
        if self.training is not None:
            res.extra.update(self.training.record(self.run, self.train_info))
            tim = self.train_info.get("timing", {}) or {}
            res.timing.update(train_seconds=tim.get("train_seconds"),
                              train_examples_per_second=tim.get("train_examples_per_second"),
                              peak_memory_mb=tim.get("peak_memory_mb"))
            res.usage["train_total"] = (self.train_info.get("tokens", {}) or {}).get("tokens")
        return res
