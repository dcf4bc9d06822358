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


def sliding_window(config) -> int | None:
    """Tokens a sliding-window attention layer sees (Gemma 2/3, Mistral), or None when the model
    has no such layer. Past it, scoring with a custom mask or a padded batch is not exact."""
    w = getattr(config, "sliding_window", None)
    if not isinstance(w, int) or isinstance(w, bool) or w <= 0:
        return None
    types = getattr(config, "layer_types", None)
    if types is not None and "sliding_attention" not in types:
        return None
    return None if getattr(config, "use_sliding_window", True) is False else w
