"""The majority baseline: always the most frequent training answer (NER: never an entity)."""
from __future__ import annotations

import copy
from typing import Sequence

from tunewise.errors import UsageError
from tunewise.evaluation.arms.base import ArmResult, register
from tunewise.tasks.base import Prediction


@register
class MajorityArm:
    """Answers every example with ``task.majority_answer`` of the training golds."""

    kind = "majority"

    def __init__(self, train: Sequence, *, name: str = "majority"):
        self.train = list(train)
        self.name = name

    @classmethod
    def from_options(cls, options, *, train, shots_from=()) -> "MajorityArm":
        if not train:
            raise UsageError("the majority arm needs training data", fix="pass --train FILE")
        return cls(train)

    def predict(self, task, examples, *, progress: bool = True) -> ArmResult:
        """No timing: answering a constant costs nothing worth measuring."""
        answer = task.majority_answer([task.gold(ex) for ex in self.train])
        if answer is None:
            raise UsageError(f"a {task.kind} task has no majority answer",
                             fix="use the prompt or fine-tuned arms")
        extra = {k: v for k, v in answer.items() if k != "prediction"}
        preds = [Prediction(gold=task.gold(ex), pred=copy.deepcopy(answer["prediction"]))
                 for ex in examples]
        return ArmResult(name=self.name, kind=self.kind, predictions=preds,
                         extra={"train_size": len(self.train), **extra})
