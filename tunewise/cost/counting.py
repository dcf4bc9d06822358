"""Token counts per model for pricing, offline: which counter a price entry or model name gets.
The counter type is ``tunewise.models.tokens.TokenCounter``; here it is ``FunctionCounter``
built from the two counts pricing needs (plain text, prompt).

Hosted models: OpenAI's o200k/cl100k vocabularies and chat accounting (3 tokens per message, 1 more
per ``name``, 3 to prime the reply), via ``tunewise.models.tokens``. Local models: the prompt exactly
as inference sees it (``tasks.render.encode_prompt``: chat template with the generation prompt)
and, for training, the answer plus its end-of-turn token (``encode_answer``).
"""
from __future__ import annotations

import functools
from typing import Sequence

from tunewise.models.token_base import FunctionCounter


#: the one token counter type (``tunewise.models.tokens``); built here from two functions
TokenCounter = FunctionCounter


def openai_counter(model: str, encoding: str) -> TokenCounter:
    """OpenAI chat accounting with ``encoding`` (o200k_base / cl100k_base), counted offline by
    ``tunewise.models.tokens.OpenAICounter`` (bpe-openai); the price entry names the encoding, so
    models whose names ``tokens`` does not know (a user's own entry) count too."""
    from tunewise.models.tokens import OpenAICounter
    c = OpenAICounter(model)
    c.encoding_name = encoding

    def text(s: str) -> int:
        return c.count_texts([s])[0]

    def chat(messages: Sequence[dict]) -> int:
        return c.count_messages([list(messages)])[0]
    return TokenCounter(model, encoding, text, chat)


@functools.lru_cache(maxsize=4)
def _hf_tokenizer(name: str):
    from tunewise.models.load import load_tokenizer
    return load_tokenizer(name)


def hf_counter(model: str) -> TokenCounter:
    from tunewise.tasks.render import encode_prompt
    tok = _hf_tokenizer(model)

    def text(s: str) -> int:
        return len(tok(s, add_special_tokens=False)["input_ids"])

    def chat(messages: Sequence[dict]) -> int:
        return len(encode_prompt(tok, list(messages)))
    return TokenCounter(model, f"hf:{model}", text, chat)


def token_counter(model: str, prices=None) -> TokenCounter:
    """The counter for ``model``: a hosted price entry with an ``encoding`` counts with that
    OpenAI vocabulary; anything else (a local model name, folder or hub id) with its tokenizer.
    ``prices`` is a PriceTable or a user YAML path (None = shipped table)."""
    from tunewise.cost.prices import get_price, load_prices
    table = prices if hasattr(prices, "entries") else load_prices(prices)
    if model in table:
        entry = get_price(model, table)
        if entry.pricing == "api":
            return openai_counter(entry.name, entry.encoding or "o200k_base")
        if entry.pricing == "local":
            return hf_counter(entry.name)
    return hf_counter(model)
