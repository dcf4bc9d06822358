"""Token counts per model for pricing, offline.

Hosted models: OpenAI's o200k/cl100k vocabularies and chat accounting (3 tokens per message, 1 more
per ``name``, 3 to prime the reply), via ``tunewise.models.tokens``. Local models: the prompt exactly
as inference sees it (``tasks.render.encode_prompt``: chat template with the generation prompt)
and, for training, the answer plus its end-of-turn token (``encode_answer``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Sequence


@dataclass
class TokenCounter:
    """Counts tokens the way ``model`` is billed (hosted) or run (local)."""

    model: str                                   #: model name the counts are for
    encoding: str                                #: "o200k_base", "cl100k_base" or "hf:<name>"
    _text: Callable[[str], int]
    _chat: Callable[[Sequence[dict]], int]

    def text(self, s: str) -> int:
        """Tokens in a plain string (no chat formatting), e.g. an answer or a prediction."""
        return self._text(s or "")

    def chat(self, messages: Sequence[dict]) -> int:
        """Tokens of a prompt: the chat messages as the model sees them, up to the point where
        the assistant starts answering."""
        return self._chat(messages)

    def conversation(self, messages: Sequence[dict], answer: str) -> int:
        """Tokens of one training example: the prompt plus the answer (billed training tokens)."""
        return self.chat(messages) + self.text(answer) + self._answer_close()

    def _answer_close(self) -> int:
        # HF: the end-of-turn token after the answer; OpenAI's recipe has no extra token
        return 1 if self.encoding.startswith("hf:") else 0


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
