"""How one request picks its next token: its settings (``SamplingParams``) and ``choose_token``.

``choose_token`` is numerically safe for every value the request schema accepts (temperature
0..2, top_p in (0, 1]): a temperature below ``GREEDY_BELOW`` is greedy (argmax; dividing by 1e-40
turns logits into inf in any float type), the softmax is computed in float64 after subtracting the
maximum logit (so the top token has weight exp(0) = 1 and the sum is never 0 or NaN), and nucleus
sampling (top_p) is compared in float64 and always keeps the most likely token (top_p = 1e-300 is
0 in float32, which used to mask every token). Logits that are NaN or +inf (a broken model) are
an error for that row only (the decoder catches it per row).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

#: temperatures below this are greedy: the sampled token would be the argmax anyway (a logit gap
#: of 1e-3 divided by 1e-5 is a factor e^-100), and smaller ones overflow float64 soon enough
GREEDY_BELOW = 1e-5


@dataclass
class SamplingParams:
    """How one request is decoded."""

    #: tokens to generate at most (the stop token counts)
    max_tokens: int
    #: below GREEDY_BELOW (0 included) = greedy (argmax); otherwise logits are divided by it
    #: before sampling
    temperature: float = 1.0
    #: nucleus sampling: keep the smallest set of tokens whose probability reaches top_p (the
    #: most likely token is always kept)
    top_p: float = 1.0
    #: seeds this request's own random generator (same seed, same sampled answer)
    seed: int | None = None
    #: stop at (and trim) the first occurrence of any of these strings
    stop: Sequence[str] = ()
    #: return the log-probability of each generated token
    logprobs: bool = False
    #: ... and of this many most likely alternatives at each position
    top_logprobs: int = 0

    @property
    def greedy(self) -> bool:
        return not self.temperature >= GREEDY_BELOW   # NaN too


class SamplingError(ValueError):
    """The logits of one row cannot be sampled from (NaN or +inf: a broken model)."""


def choose_token(logits: torch.Tensor, params: SamplingParams, gen) -> int:
    """The next token for one row: argmax when greedy, else a sample with temperature and top_p
    drawn with ``gen`` (the request's own generator)."""
    if params.greedy:
        return int(torch.argmax(logits))
    x = logits.double()
    top = x.max()
    if not math.isfinite(float(top)) or bool(torch.isnan(x).any()):
        raise SamplingError("the model's scores for this request are not finite numbers")
    probs = torch.exp((x - top) / float(params.temperature))   # top token: exp(0) = 1
    probs = probs / probs.sum()
    top_p = float(params.top_p)
    if top_p < 1.0:
        sorted_p, order = torch.sort(probs, descending=True)
        before = torch.cumsum(sorted_p, dim=-1) - sorted_p   # mass of the tokens ranked higher
        cut = before >= top_p                                # ... already reaches top_p
        cut[0] = False                                       # the most likely token always stays
        sorted_p = sorted_p.masked_fill(cut, 0.0)
        probs = torch.zeros_like(probs).scatter(0, order, sorted_p)
    return int(torch.multinomial(probs, 1, generator=gen))
