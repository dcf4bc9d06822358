"""Small compatibility helpers across transformers versions and PEFT wrappers."""
from __future__ import annotations

import inspect


def cache_kwarg(module) -> str:
    """The name under which ``module.forward`` takes a KV cache: ``cache`` (transformers 5.x, where
    ``past_key_values`` is deprecated) or ``past_key_values`` (4.x)."""
    params = inspect.signature(module.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def causal_lm(model):
    """The causal LM itself: a PeftModel's base model, else ``model``."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model
