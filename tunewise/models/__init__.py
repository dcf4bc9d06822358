"""Model loading: the embedded default, local directories, hub ids and a tiny test model."""
from tunewise.models.load import (  # noqa: F401
    DEFAULT_MODEL, EMBEDDED_MODEL, TINY_RANDOM, LoadedModel, load_model, load_tokenizer,
    context_length, tunewise_home,
)
