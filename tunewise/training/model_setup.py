"""Setup pieces of the recipe: LoRA / full fine-tuning on the loaded model (QLoRA on a 4-bit base),
gradient checkpointing, the CPU speed tricks, optimizer, learning-rate schedule."""
from __future__ import annotations

import torch

from tunewise.errors import ConfigError
from tunewise.models.compat import causal_lm
from tunewise.training.config import TrainConfig
from tunewise.training.dropout import use_gap_dropout


def prepare_model(model, cfg: TrainConfig, plan=None):
    """LoRA adapters (PEFT) on ``cfg.lora.targets``, or every weight trainable (full); gradient
    checkpointing and geometric-gap dropout as the run's ``SpeedPlan`` says (None: the CPU
    defaults, geometric-gap dropout on a CPU model and no checkpointing)."""
    if plan is not None and plan.gradient_checkpointing:
        gradient_checkpointing(model)
    if cfg.method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    from peft import LoraConfig as PeftLoraConfig, get_peft_model
    if getattr(model, "is_loaded_in_4bit", False):     # QLoRA: norms in fp32, inputs need grads
        from peft import prepare_model_for_kbit_training
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=bool(plan and plan.gradient_checkpointing),
            gradient_checkpointing_kwargs={"use_reentrant": False})
    targets = cfg.lora.targets
    target_modules = "all-linear" if targets == ["all-linear"] else list(targets)
    pcfg = PeftLoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                          target_modules=target_modules, bias="none", task_type="CAUSAL_LM")
    try:
        peft_model = get_peft_model(model, pcfg)  # (its v5 deprecation noise: models/load.py)
    except ValueError as e:
        names = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                        if isinstance(m, torch.nn.Linear)})
        raise ConfigError([f"lora.targets: {', '.join(targets)} not found in {cfg.model} "
                           f"({str(e).splitlines()[0][:120]}); linear layers there: "
                           f"{', '.join(names)} (or all-linear)"]) from None
    gap = plan.gap_dropout if plan is not None else \
        next(peft_model.parameters()).device.type == "cpu"   # CUDA's Philox dropout is cheap
    if gap:
        use_gap_dropout(peft_model)   # same dropout, a quarter of the CPU RNG cost (dropout.py)
    return peft_model


def gradient_checkpointing(model) -> None:
    """Recompute each layer's activations in the backward pass (transformers' non-reentrant
    checkpointing: same loss and gradients, less memory)."""
    causal = causal_lm(model)
    if not getattr(causal, "supports_gradient_checkpointing", False):
        raise ConfigError([f"gradient_checkpointing: {type(causal).__name__} does not support it; "
                           "use gradient_checkpointing false"])
    causal.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    causal.config.use_cache = False


#: training on CPU uses eager attention (matmul + softmax) when no row is longer than this: for
#: the short rows of classification data a LoRA step runs 1.15x faster than with PyTorch's SDPA
#: kernel, whose CPU backward dominated the step (measured: 160 movie reviews, 7.6 -> 8.7
#: examples/s). Longer rows keep SDPA: eager keeps a rows x heads x L x L matrix per layer.
EAGER_TRAINING_MAX_LEN = 1024


def attention_for_training(model, longest: int, enabled: bool | None = None) -> str | None:
    """Switch ``model`` to eager attention for training (see ``EAGER_TRAINING_MAX_LEN``) when
    ``enabled`` (the speed plan's ``eager_attention``; None: when the model is on the CPU);
    returns the implementation to restore afterwards (``restore_attention``), None when nothing
    changed."""
    causal = causal_lm(model)
    current = getattr(causal.config, "_attn_implementation", None)
    if enabled is None:
        from tunewise.models.device import model_device
        enabled = model_device(causal).type == "cpu"
    if not enabled or current != "sdpa" or longest > EAGER_TRAINING_MAX_LEN \
            or not hasattr(causal, "set_attn_implementation"):
        return None
    causal.set_attn_implementation("eager")
    return current


def restore_attention(model, previous: str | None) -> None:
    if previous is not None:
        causal_lm(model).set_attn_implementation(previous)


class FrozenBf16:
    """The frozen weights of a LoRA model in bf16 during the training steps, fp32 otherwise.

    Under bf16 autocast every forward casts every frozen fp32 weight to bf16 again (autocast
    caches casts only of weights that are trained): measured 18% of a LoRA step on CPU. Holding
    bf16 twins (made once; the fp32 tensors are kept, not copied) and swapping ``.data``
    between the two costs nothing per step. Evaluation, checkpoints and the saved model see the
    fp32 weights (``to_fp32``); the adapters are trained and saved in fp32 either way.

    During the steps PEFT's cast of each LoRA input to the adapter's fp32 is also switched off
    (its ``cast_input_dtype_enabled``): the bf16 activations went to fp32 for the dropout and
    back to bf16 for autocast's matmul, two copies per adapter with the same result."""

    def __init__(self, model, enabled: bool = True):
        self.pairs = [(p, p.data, p.data.to(torch.bfloat16)) for p in model.parameters()
                      if enabled and not p.requires_grad and p.dtype == torch.float32]
        self.lora_layers = [m for m in model.modules() if enabled and hasattr(m, "lora_A")]

    def to_bf16(self) -> None:
        for p, _fp32, bf16 in self.pairs:
            p.data = bf16
        for m in self.lora_layers:
            m.cast_input_dtype_enabled = False

    def to_fp32(self) -> None:
        for p, fp32, _bf16 in self.pairs:
            p.data = fp32
        for m in self.lora_layers:
            m.cast_input_dtype_enabled = True


def frozen_weights(model, cfg: TrainConfig, enabled: bool) -> FrozenBf16:
    """``FrozenBf16`` when the speed plan says so (bf16 LoRA steps on the CPU); otherwise one that
    swaps nothing."""
    return FrozenBf16(model, enabled=enabled and cfg.method == "lora")


def count_params(model) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": total}


def make_optimizer(params, cfg: TrainConfig):
    params = list(params)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    from transformers.optimization import Adafactor
    return Adafactor(params, lr=cfg.lr, weight_decay=cfg.weight_decay, scale_parameter=False,
                     relative_step=False, warmup_init=False)


def make_scheduler(optimizer, cfg: TrainConfig, total_steps: int):
    from transformers import (get_constant_schedule_with_warmup,
                              get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup)
    warmup = cfg.warmup_steps or int(round(cfg.warmup_ratio * total_steps))
    if cfg.scheduler == "constant":
        return get_constant_schedule_with_warmup(optimizer, warmup)
    fn = get_cosine_schedule_with_warmup if cfg.scheduler == "cosine" \
        else get_linear_schedule_with_warmup
    return fn(optimizer, warmup, total_steps)

