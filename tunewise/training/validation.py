"""The recipe's per-epoch evaluation: validation loss per answer token, and the Task's predictions
through the same code as ``tunewise eval``."""
from __future__ import annotations

from typing import Sequence

import torch

from tunewise.data.records import Example
from tunewise.training.batching import collate
from tunewise.training.hardware import TrainHardware
from tunewise.training.loss import AnswerLoss


@torch.no_grad()
def validation_loss(loss_fn: AnswerLoss, encoded, pad_id: int, batch_size: int,
                    hw: TrainHardware, reduced: bool) -> float:
    """Mean cross-entropy per answer token over the validation set (``reduced``: under the run's
    autocast precision, else fp32)."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    total, count = 0.0, 0
    for s in range(0, len(order), batch_size):
        batch = hw.to_device(collate([encoded[i] for i in order[s:s + batch_size]], pad_id))
        with hw.autocast(reduced):
            loss_sum, n = loss_fn(**batch)
        total, count = total + float(loss_sum), count + int(n)
    return total / max(count, 1)


def predict_examples(task, lm, examples: Sequence[Example], *, batch_size: int, bf16: bool):
    """The Task's predictions through the same code as ``tunewise eval``."""
    from tunewise.prompting.predict import predict
    return predict(task, lm, list(examples), batch_size=batch_size, bf16=bf16, progress=False)
