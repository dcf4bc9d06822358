"""A bfloat16 copy of a decoder body for CPU inference (label scoring's point 4,
``prompting.scoring``), made once per body and remade when one of its weights changed."""
from __future__ import annotations

import copy
import weakref

import torch

#: body -> (weights fingerprint, its bfloat16 copy); entries go with their model
_BF16_BODIES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _fingerprint(module) -> tuple:
    """Changes when any weight of ``module`` is replaced or modified in place (optimizer steps and
    ``load_state_dict`` bump a tensor's version counter)."""
    return tuple((p.data_ptr(), p._version) for p in module.parameters())


def bf16_body(body):
    """A bfloat16 copy of the decoder ``body`` for inference, made once per body and remade when
    one of its weights changed. Parameters are copied straight to bf16 (no transient fp32 copy);
    buffers (rotary frequencies) keep their dtype."""
    fp = _fingerprint(body)
    hit = _BF16_BODIES.get(body)
    if hit is not None and hit[0] == fp:
        return hit[1]
    _BF16_BODIES.pop(body, None)
    with torch.no_grad():
        memo = {id(p): torch.nn.Parameter(p.detach().to(torch.bfloat16), requires_grad=False)
                for p in body.parameters()}
        twin = copy.deepcopy(body, memo).eval()
    _BF16_BODIES[body] = (fp, twin)
    return twin
