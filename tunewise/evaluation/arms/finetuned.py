"""The fine-tuned arm: a ``tunewise train`` run directory (or a bare PEFT adapter folder)
prompted like the base model; optionally trained first (``tunewise compare``).

    FineTunedArm("runs/sentiment").predict(task, test)               # an existing run
    FineTunedArm("OUT/runs/finetune-n64-s0", training=Training(...))  # train (or resume) first
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from tunewise.errors import UsageError
from tunewise.evaluation.arms.base import ArmResult, register
from tunewise.evaluation.arms.prompt import PromptArm, _prompt_kwargs


@dataclass
class Training:
    """How to produce the run directory when it is not finished: ``tunewise.training.train`` on
    ``examples`` with ``config`` (the compare arm's training settings). ``inputs_hash`` names
    the inputs: a run directory made from other inputs is trained again."""

    examples: Sequence
    task: Any
    #: a ``TrainConfig`` (what compare passes) or a mapping of its fields
    config: Any = field(default_factory=dict)
    inputs_hash: str = ""
    say: Callable[[str], None] = lambda m: None
    progress: bool = True


@register
class FineTunedArm(PromptArm):
    """Prompting (zero-shot unless ``shots``) of the model of ``run``; ``merge`` folds LoRA into
    the weights first (served as deployed). Other keywords: as ``PromptArm``."""

    kind = "finetuned"

    def __init__(self, run, *, model: str | None = None, training: Training | None = None,
                 merge: bool = False, name: str | None = None, **prompt_options):
        super().__init__(model, name=name or "fine-tuned", **prompt_options)
        self.run = Path(run)
        self.training = training
        self.merge = merge
        self.train_info: dict = {}
        if training is None:
            _check_run(self.run)

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
            self.train_info = ensure_trained(self.run, self.training)
        from tunewise.training import load_run
        if (self.run / "run.json").exists():
            lm, task = load_run(self.run, memo=self.memo)
        else:   # a bare PEFT adapter folder
            from tunewise.models import load_model
            lm, task = load_model(self.model, adapter=self.run, memo=self.memo), None
        if self.merge and hasattr(lm.model, "merge_and_unload"):
            lm.model = lm.model.merge_and_unload()
        return lm, task

    def predict(self, task, examples, *, progress: bool = True) -> ArmResult:
        res = super().predict(task, examples, progress=progress)
        res.kind = self.kind
        if not self.shots:
            res.extra = {}
        res.extra["run_dir"] = str(self.run)
        if self.training is not None:
            res.extra.update(training_record(self.run, self.train_info, self.training))
            tim = self.train_info.get("timing", {}) or {}
            res.timing.update(train_seconds=tim.get("train_seconds"),
                              train_examples_per_second=tim.get("train_examples_per_second"))
            res.usage["train_total"] = (self.train_info.get("tokens", {}) or {}).get("tokens")
        return res


def _check_run(p: Path) -> None:
    if not p.exists():
        raise UsageError(f"--adapter {p}: no such folder",
                         fix="pass the run directory written by `tunewise train -o RUN_DIR`")
    if not (p / "run.json").exists() and not (p / "adapter_config.json").exists():
        raise UsageError(f"--adapter {p}: not a tunewise run directory (no run.json) nor a "
                         "PEFT adapter folder (no adapter_config.json)",
                         fix="pass the run directory written by `tunewise train -o RUN_DIR`")


def ensure_trained(run_dir: Path, tr: Training) -> dict:
    """Train ``run_dir`` (or resume it from its checkpoint, or reuse it when finished and made
    from the same inputs); returns the training info (``TrainResult.to_dict``)."""
    from tunewise import training
    marker = run_dir / "compare-inputs.json"
    state = run_state(run_dir)
    same = marker.is_file() and json.loads(marker.read_text()).get("hash") == tr.inputs_hash
    if state == "broken" or (state != "absent" and not same):
        shutil.rmtree(run_dir)   # ours: other inputs, or died before a checkpoint
        state = "absent"
    if state == "done":
        tr.say(f"{run_dir.name}: reusing the finished training run in {run_dir}")
        return training.read_run(run_dir)
    if state == "unfinished":
        tr.say(f"{run_dir.name}: resuming the unfinished training run in {run_dir}")
        return training.train(resume=str(run_dir), say=tr.say, progress=tr.progress).to_dict()
    run_dir.mkdir(parents=True, exist_ok=True)
    from tunewise.fileio import write_json
    write_json(marker, {"hash": tr.inputs_hash})
    return training.train(list(tr.examples), val=None, task=tr.task, config=tr.config,
                          out=str(run_dir), say=tr.say, progress=tr.progress).to_dict()


def training_record(run_dir: Path, info: dict, tr: Training) -> dict:
    """What a compare record says about the training: size, seed, epochs, model selection."""
    from tunewise import training
    run = training.read_run(run_dir)
    conf = tr.config if isinstance(tr.config, dict) else tr.config.to_dict()
    return {"train_size": len(tr.examples), "seed": conf.get("seed"),
            "epochs": len(info.get("history") or []) or conf.get("epochs") or None,
            "planned_epochs": run.get("epochs"), "budget": run.get("budget"),
            "model_selection": run.get("model_selection"), "val_size": run.get("n_val"),
            "best_epoch": info.get("best_epoch"), "val_metrics": info.get("metrics")}


def run_state(run_dir: Path) -> str:
    """"absent", "done" (finished), "unfinished" (has a checkpoint to resume) or "broken"."""
    p = Path(run_dir)
    if not p.exists():
        return "absent"
    try:
        info = json.loads((p / "run.json").read_text())
    except (OSError, ValueError):
        info = {}
    if info.get("status") == "done":
        return "done"
    ck = p / "checkpoints"
    return "unfinished" if ck.is_dir() and any(ck.iterdir()) else "broken"
