"""LoRA dropout whose mask is drawn from the gaps between dropped elements.

``torch.nn.Dropout`` on CPU draws one Mersenne-Twister number per element (``bernoulli_``): for
the LoRA inputs of a classification batch (8 rows x 37 tokens x 576 features, twice per layer)
that was 18% of a bf16 training forward pass. At dropout rate p only a fraction p of the elements
is dropped, and the gaps between dropped elements of a Bernoulli(p) sequence are i.i.d.
Geometric(p); drawing those gaps (``geometric_``, about p x n draws) gives the same distribution
(every element dropped independently with probability p, kept ones scaled by 1 / (1 - p)) at
about a quarter of the cost (0.18 ms instead of 0.69 ms per mask on 2 cores). It uses torch's
default generator, so ``torch.manual_seed`` and checkpointed RNG states make it reproducible.
"""
from __future__ import annotations

import math

import torch


def keep_mask(numel: int, p: float, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """A flat tensor of ``numel`` values: 0 where dropped (each element independently, with
    probability ``p``), 1 elsewhere."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    mask = torch.ones(numel, dtype=dtype, device=device)
    if p == 0.0 or numel == 0:
        return mask
    expected = numel * p
    draws = int(expected + 6.0 * math.sqrt(expected) + 16)   # one round almost always suffices
    last = -1.0                                               # position of the last drop so far
    while True:
        # positions of the next drops: the previous one plus Geometric(p) gaps (values 1, 2, ...);
        # float64 counts exactly up to 2**53 elements
        pos = torch.empty(draws, dtype=torch.float64, device=device).geometric_(p)
        pos = pos.cumsum_(0).add_(last)
        end = float(pos[-1])
        mask[pos[pos < numel].long()] = 0
        if end >= numel:
            return mask
        last = end


class GapDropout(torch.nn.Module):
    """``torch.nn.Dropout(p)`` (same distribution, same scaling, identity in eval mode) with the
    mask from ``keep_mask``. The kept values are ``x * (1 / (1 - p))`` rounded once in x's
    dtype, as a float32 dropout followed by a cast to bf16 would give."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        mask = keep_mask(x.numel(), self.p, dtype=x.dtype, device=x.device)
        return (x * (1.0 / (1.0 - self.p))) * mask.view(x.shape)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def use_gap_dropout(model) -> int:
    """Replace the ``nn.Dropout`` of every PEFT LoRA layer (``lora_dropout`` dicts) by
    ``GapDropout`` with the same p; returns how many were replaced."""
    n = 0
    for module in model.modules():
        drops = getattr(module, "lora_dropout", None)
        if not isinstance(drops, torch.nn.ModuleDict):
            continue
        for name, d in list(drops.items()):
            if type(d) is torch.nn.Dropout and d.p > 0:
                drops[name] = GapDropout(d.p)
                n += 1
    return n
