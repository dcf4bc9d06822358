"""Compare's fine-tuning step: the one place outside ``tunewise train`` that trains a model.

A ``Training`` makes a fine-tuned arm's run folder before the arm loads it: ``ensure`` trains it
(or resumes it from its checkpoint, or reuses it when finished and made from the same inputs);
``record`` says what compare's record keeps of the training. ``FineTunedArm`` only calls these
(``tunewise.evaluation`` never imports ``tunewise.training``).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence


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

    def ensure(self, run_dir: Path) -> dict:
        """Train ``run_dir`` (or resume, or reuse it); returns the training info
        (``TrainResult.to_dict`` or the finished run.json)."""
        from tunewise import training
        from tunewise.runs import read_run, run_state
        marker = run_dir / "compare-inputs.json"
        state = run_state(run_dir)
        same = marker.is_file() and json.loads(marker.read_text()).get("hash") == self.inputs_hash
        if state == "broken" or (state != "absent" and not same):
            shutil.rmtree(run_dir)   # ours: other inputs, or died before a checkpoint
            state = "absent"
        if state == "done":
            self.say(f"{run_dir.name}: reusing the finished training run in {run_dir}")
            return read_run(run_dir)
        if state == "unfinished":
            self.say(f"{run_dir.name}: resuming the unfinished training run in {run_dir}")
            return training.train(resume=str(run_dir), say=self.say,
                                  progress=self.progress).to_dict()
        run_dir.mkdir(parents=True, exist_ok=True)
        from tunewise.fileio import write_json
        write_json(marker, {"hash": self.inputs_hash})
        return training.train(list(self.examples), val=None, task=self.task, config=self.config,
                              out=str(run_dir), say=self.say, progress=self.progress).to_dict()

    def record(self, run_dir: Path, info: dict) -> dict:
        """What a compare record says about the training: size, seed, epochs, model selection."""
        from tunewise.runs import read_run
        run = read_run(run_dir)
        conf = self.config if isinstance(self.config, dict) else self.config.to_dict()
        return {"train_size": len(self.examples), "seed": conf.get("seed"),
                "epochs": len(info.get("history") or []) or conf.get("epochs") or None,
                "planned_epochs": run.get("epochs"), "budget": run.get("budget"),
                "model_selection": run.get("model_selection"), "val_size": run.get("n_val"),
                "best_epoch": info.get("best_epoch"), "val_metrics": info.get("metrics")}
