"""The KV-cache argument of a model's forward across transformers versions."""
from __future__ import annotations

import inspect


def cache_kwarg(module) -> str:
    """The name under which ``module.forward`` takes a KV cache: ``cache`` (transformers 5.x, where
    ``past_key_values`` is deprecated) or ``past_key_values`` (4.x)."""
    params = inspect.signature(module.forward).parameters
    return "cache" if "cache" in params else "past_key_values"
