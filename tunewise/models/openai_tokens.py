"""OpenAI model names -> vocabularies, and ``OpenAICounter``: counted offline with ``bpe-openai``
(vocabularies embedded in the package), with OpenAI's chat accounting (3 tokens per message + 3 to
prime the reply + 1 per name)."""
from __future__ import annotations

import json
from typing import Sequence

from tunewise.models.token_base import TokenCounter

#: longest training example (tokens) OpenAI fine-tuning accepts, by model family
OPENAI_CONTEXT = [
    ("gpt-3.5", 16_385), ("gpt-4o", 65_536), ("gpt-4.1", 65_536), ("gpt-4", 8_192),
    ("gpt-5", 65_536), ("o1", 65_536), ("o3", 65_536), ("o4", 65_536),
    ("davinci-002", 16_384), ("babbage-002", 16_384),
]
_O200K = ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss")
_CL100K = ("gpt-3.5", "gpt-4", "gpt-35", "text-embedding-3", "text-embedding-ada")


def _base_name(model: str) -> str:
    m = model.strip().lower()
    if m.startswith("ft:"):                  # ft:gpt-4o-mini-2024-07-18:org::id
        m = m[3:].split(":", 1)[0]
    return m.removeprefix("openai/")


def openai_encoding_name(model: str) -> str | None:
    """o200k_base / cl100k_base for an OpenAI model name, None if it is not one."""
    m = _base_name(model)
    if m in ("o200k_base", "cl100k_base"):
        return m
    if any(m.startswith(p) for p in _O200K):
        return "o200k_base"
    if any(m.startswith(p) for p in _CL100K) or m in ("davinci-002", "babbage-002"):
        return "cl100k_base"
    return None


def is_openai_model(model: str | None) -> bool:
    return bool(model) and openai_encoding_name(model) is not None


class OpenAICounter(TokenCounter):
    kind = "openai"

    def __init__(self, name: str):
        self.name = name
        self.encoding_name = openai_encoding_name(name)
        base = _base_name(name)
        self.context_length = next((n for p, n in OPENAI_CONTEXT if base.startswith(p)), 65_536)
        # 3 per message (+1 for a name) and 3 to prime the reply; role tokens are in the bytes
        self.per_message_overhead = 8
        self.per_conversation_overhead = 3
        self._enc = None

    @property
    def encoding(self):
        if self._enc is None:
            import bpe_openai
            self._enc = bpe_openai.get_encoding(self.encoding_name)
        return self._enc

    @property
    def special_tokens(self) -> list[str]:
        return ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                "<|endofprompt|>", "<|im_start|>", "<|im_end|>", "<|im_sep|>"]

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        enc = self.encoding.encode_ordinary   # special-token text counts as plain text
        return [len(enc(t)) for t in texts]

    def count_messages(self, conversations: Sequence[Sequence[dict]]) -> list[int]:
        enc = self.encoding.encode_ordinary
        out = []
        for conv in conversations:
            n = 3
            for m in conv:
                n += 3
                for key in ("role", "content", "name"):
                    v = m.get(key)
                    if isinstance(v, str):
                        n += len(enc(v)) + (1 if key == "name" else 0)
                if m.get("tool_calls"):
                    n += len(enc(json.dumps(m["tool_calls"])))
            out.append(n)
        return out
