"""Token counts with the target model's own encoding, chat-formatted, and context lengths.

- Local models (the embedded ``smollm2-135m-instruct``, ``tiny-random``, a model folder, a cached
  hub id): the model's Hugging Face tokenizer and chat template. When the folder has a
  ``tokenizer.json`` it is loaded straight into the Rust ``tokenizers`` backend (0.1 s instead of
  ~4 s for transformers) and texts are encoded in batches; otherwise ``load_tokenizer`` is used.
- OpenAI model names (gpt-4o*, gpt-4.1*, gpt-5*, o1/o3/o4* -> o200k_base; gpt-3.5*, gpt-4 ->
  cl100k_base): counted offline with ``bpe-openai`` (vocabularies embedded in the package), with
  OpenAI's chat accounting (3 tokens per message + 3 to prime the reply + 1 per name).

A count is the whole conversation rendered with the chat template (what training sees).

``length_bound`` gives a cheap upper bound from byte lengths: every token of a byte-level BPE
(and of WordPiece/SentencePiece) covers at least one byte of text, so tokens <= bytes of the
contents + the template's own tokens. ``check`` counts exactly only when that bound exceeds the
context, which keeps the per-example context check exact at a fraction of the cost.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from tunewise.errors import ModelError
from tunewise.models.hf_tokens import HFCounter
from tunewise.models.openai_tokens import (OPENAI_CONTEXT, OpenAICounter, is_openai_model,
                                           openai_encoding_name)
from tunewise.models.token_base import FunctionCounter, TokenCounter

__all__ = ["FunctionCounter", "HFCounter", "OPENAI_CONTEXT", "OpenAICounter", "TokenCounter",
           "context_length", "count_tokens", "is_openai_model", "openai_encoding_name",
           "token_counter"]


# -- public ---------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def token_counter(model: str | None = None) -> TokenCounter:
    """The counter for ``model`` (default: the embedded smollm2-135m-instruct)."""
    from tunewise.models.load import DEFAULT_MODEL
    name = model or DEFAULT_MODEL
    if is_openai_model(name):
        return OpenAICounter(name)
    try:
        return HFCounter(name)
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - any loader failure, in words
        raise ModelError(f"cannot load the tokenizer of {name!r}: {e}",
                         fix="pass --model with a local model folder, 'smollm2-135m-instruct', "
                             "'tiny-random' or an OpenAI model name such as gpt-4o-mini") from None


def context_length(model: str | None = None) -> int:
    """Longest sequence (tokens) the model accepts; for OpenAI names, the fine-tuning limit."""
    return token_counter(model).context_length


def count_tokens(examples: Iterable, model: str | None = None) -> list[int]:
    """Chat-formatted token count of each Example, with ``model``'s encoding."""
    return token_counter(model).count_examples(examples)
