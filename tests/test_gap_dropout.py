"""GapDropout: the LoRA dropout drawn from Geometric gaps behaves as nn.Dropout does."""
from __future__ import annotations

import math

import pytest
import torch

from tunewise.training.config import LoraConfig, TrainConfig
from tunewise.training.dropout import GapDropout, keep_mask
from tunewise.training.model_setup import FrozenBf16, prepare_model


def test_mask_values_are_zero_or_one():
    m = keep_mask(50_000, 0.1)
    assert set(m.unique().tolist()) == {0.0, 1.0}


@pytest.mark.parametrize("p", [0.05, 0.3])
def test_every_position_is_dropped_with_probability_p_independently(p):
    torch.manual_seed(0)
    n, draws = 4_000, 400
    drops = torch.stack([keep_mask(n, p) == 0 for _ in range(draws)]).float()
    sd = math.sqrt(p * (1 - p) / (n * draws))
    assert abs(drops.mean().item() - p) < 5 * sd
    # no position is favoured: the first and the last 200 positions, the rate per position
    for part in (drops[:, :200], drops[:, -200:]):
        assert abs(part.mean().item() - p) < 5 * math.sqrt(p * (1 - p) / part.numel())
    # neighbours are independent: both dropped at rate p^2, and counts per mask vary binomially
    both = (drops[:, :-1] * drops[:, 1:]).mean().item()
    assert abs(both - p * p) < 5 * math.sqrt(p * p * (1 - p * p) / drops[:, 1:].numel())
    per_mask = drops.sum(1)
    assert per_mask.std().item() == pytest.approx(math.sqrt(n * p * (1 - p)), rel=0.2)


def test_masks_follow_torch_seed_and_cover_tiny_and_empty_inputs():
    torch.manual_seed(3)
    a = keep_mask(1000, 0.2)
    torch.manual_seed(3)
    assert torch.equal(a, keep_mask(1000, 0.2))
    assert keep_mask(0, 0.5).numel() == 0
    assert torch.equal(keep_mask(7, 0.0), torch.ones(7))
    with pytest.raises(ValueError):
        keep_mask(10, 1.0)


def test_gap_dropout_is_identity_in_eval_and_masks_with_its_gradient_in_training():
    d = GapDropout(0.25)
    x = torch.randn(3, 5, 16, requires_grad=True)
    assert d.eval()(x) is x
    d.train()
    torch.manual_seed(1)
    y = d(x)
    torch.manual_seed(1)
    mask = keep_mask(x.numel(), 0.25).view(x.shape)
    assert torch.equal(y, x * (1 / 0.75) * mask)
    y.sum().backward()
    assert torch.allclose(x.grad, mask / 0.75)


def test_lora_layers_get_gap_dropout_and_bf16_steps_skip_the_fp32_round_trip(tiny):
    """prepare_model puts GapDropout in every LoRA layer; during bf16 steps PEFT's input cast
    is off, with the same loss and adapter gradients as with it."""
    from tunewise.models import load_model
    model = prepare_model(load_model("tiny-random").model,
                          TrainConfig(model="tiny-random", lora=LoraConfig(dropout=0.1)))
    drops = [d for m in model.modules() if hasattr(m, "lora_dropout")
             for d in m.lora_dropout.values()]
    assert drops and all(isinstance(d, GapDropout) and d.p == 0.1 for d in drops)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
    model.train()
    ids = torch.randint(0, 100, (2, 9))

    def loss_and_grads():
        torch.manual_seed(5)
        model.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                               if p.requires_grad}

    frozen = FrozenBf16(model)
    frozen.to_bf16()
    cast_off = loss_and_grads()
    assert frozen.lora_layers and all(not m.cast_input_dtype_enabled for m in frozen.lora_layers)
    for m in frozen.lora_layers:
        m.cast_input_dtype_enabled = True
    cast_on = loss_and_grads()
    frozen.to_fp32()
    assert all(m.cast_input_dtype_enabled for m in frozen.lora_layers)
    assert torch.equal(cast_off[0], cast_on[0])
    for n, g in cast_on[1].items():
        assert torch.equal(cast_off[1][n], g), n
