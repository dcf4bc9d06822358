"""The token counter type: ``TokenCounter`` (chat-formatted counts for data checks and
statistics, and the prompt / answer / training-example view cost projections use) and
``FunctionCounter`` (a counter built from two functions). Implementations: ``OpenAICounter``
(``openai_tokens``), ``HFCounter`` (``hf_tokens``); ``tunewise.models.tokens.token_counter`` picks
one for a model name."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Iterable, Sequence


class TokenCounter(ABC):
    """Counts tokens for one model. Use ``token_counter(name)`` (memoized)."""

    name: str
    kind: str                 # "hf" | "openai"
    context_length: int
    #: upper bound on the template's tokens per message and per conversation (see length_bound)
    per_message_overhead: int
    per_conversation_overhead: int

    @abstractmethod
    def count_texts(self, texts: Sequence[str]) -> list[int]:
        """Token count of each plain text."""

    @property
    def special_tokens(self) -> list[str]:
        """Texts the tokenizer turns into special tokens (chat markers, end of text...)."""
        return []

    @abstractmethod
    def count_messages(self, conversations: Sequence[Sequence[dict]]) -> list[int]:
        """Chat-formatted token count of each conversation (list of {"role", "content"})."""

    def count_examples(self, examples: Iterable, batch_size: int = 1024) -> list[int]:
        out: list[int] = []
        batch: list[list[dict]] = []
        for ex in examples:
            batch.append([_msg_dict(m) for m in ex.messages])
            if len(batch) >= batch_size:
                out += self.count_messages(batch)
                batch = []
        if batch:
            out += self.count_messages(batch)
        return out

    # -- usage view (prices, cost projections) --------------------------------------------------
    #: tokens after an answer in training (an end-of-turn token for local chat models)
    answer_close: int = 0

    def text(self, s: str) -> int:
        """Tokens in a plain string (no chat formatting), e.g. an answer or a prediction."""
        return self.count_texts([s or ""])[0]

    def chat(self, messages: Sequence[dict]) -> int:
        """Tokens of a prompt: the chat messages as the model sees them, up to the point where
        the assistant starts answering."""
        return self.count_messages([list(messages)])[0]

    def conversation(self, messages: Sequence[dict], answer: str) -> int:
        """Tokens of one training example: the prompt plus the answer (billed training tokens)."""
        return self.chat(messages) + self.text(answer) + self.answer_close

    def length_bound(self, n_bytes: int, n_messages: int) -> int:
        """Upper bound on the chat-formatted tokens of a conversation whose text (contents, names,
        roles, or the whole JSON line holding them) is ``n_bytes`` long in UTF-8."""
        return (n_bytes + n_messages * (self.per_message_overhead + 1)
                + self.per_conversation_overhead)


def _msg_dict(m) -> dict:
    d = {"role": m.role, "content": m.content if m.content is not None else ""}
    if m.name:
        d["name"] = m.name
    if m.tool_calls:
        d["tool_calls"] = m.tool_calls
    return d


class FunctionCounter(TokenCounter):
    """A counter from two functions: plain-text tokens and prompt (chat) tokens. ``model`` names
    what the counts are for, ``encoding`` how they were counted ("o200k_base", "hf:<name>"...)."""

    kind = "function"

    def __init__(self, model: str, encoding: str, text: Callable[[str], int],
                 chat: Callable[[Sequence[dict]], int], *, context_length: int = 0):
        self.name = self.model = model
        self.encoding = encoding
        self._text, self._chat = text, chat
        self.context_length = context_length
        self.per_message_overhead = self.per_conversation_overhead = 0
        # HF: the end-of-turn token after the answer; OpenAI's recipe has no extra token
        self.answer_close = 1 if encoding.startswith("hf:") else 0

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        return [self._text(t or "") for t in texts]

    def count_messages(self, conversations: Sequence[Sequence[dict]]) -> list[int]:
        return [self._chat(list(c)) for c in conversations]
