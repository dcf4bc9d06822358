"""Model loading: the built-in models (``catalog.py``: the embedded default, Gemma 3 270M, tiny
test models), local directories and hub ids."""
from tunewise.models.load import (  # noqa: F401
    DEFAULT_MODEL, EMBEDDED_MODEL, GEMMA_MODEL, TINY_RANDOM, TINY_RANDOM_GEMMA, LoadedModel,
    load_model, load_tokenizer, context_length, tunewise_home,
)
