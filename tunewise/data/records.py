"""The one internal record. Every reader converts to ``Example`` at once; every writer from it.

Nothing downstream knows which file format an example came from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = ("system", "user", "assistant", "tool")


@dataclass
class Message:
    """One chat turn, OpenAI-style."""

    role: str
    content: str | None
    name: str | None = None
    #: OpenAI's per-assistant-message training weight (0 or 1); None = not given
    weight: float | None = None
    #: passed through untouched (assistant tool calls / tool results)
    tool_calls: list | None = None
    tool_call_id: str | None = None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"role": self.role}
        if self.content is not None or not self.tool_calls:
            d["content"] = self.content
        for key in ("name", "weight", "tool_calls", "tool_call_id"):
            val = getattr(self, key)
            if val is not None:
                d[key] = val
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Message":
        return cls(role=d.get("role"), content=d.get("content"), name=d.get("name"),
                   weight=d.get("weight"), tool_calls=d.get("tool_calls"),
                   tool_call_id=d.get("tool_call_id"))


@dataclass(frozen=True)
class Entity:
    """A typed span over the example's ``tokens``: tokens[start:end] (end exclusive)."""

    type: str
    start: int
    end: int
    text: str

    def key(self) -> tuple[str, int, int]:
        return (self.type, self.start, self.end)

    def to_dict(self) -> dict:
        return {"type": self.type, "start": self.start, "end": self.end, "text": self.text}

    @classmethod
    def from_dict(cls, d: dict) -> "Entity":
        return cls(type=d["type"], start=int(d["start"]), end=int(d["end"]), text=d.get("text", ""))


@dataclass
class Example:
    """A chat conversation plus its gold answer in structured form.

    - ``messages``: the conversation as given (for CSV/CoNLL rows: user = text, assistant = answer)
    - ``label``: classification gold label
    - ``entities`` / ``tokens``: NER gold spans over whitespace tokens
    - ``reference``: generation gold answer
    - ``meta``: ``source`` (file), ``line`` (1-based line of the record), ``id`` and reader extras
      (e.g. ``confidence`` from a CSV column)
    """

    messages: list[Message]
    label: str | None = None
    entities: list[Entity] | None = None
    tokens: list[str] | None = None
    reference: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    # -- convenient views ------------------------------------------------------------------
    @property
    def input(self) -> str:
        """The text of the last user message (the model's input)."""
        for m in reversed(self.messages):
            if m.role == "user":
                return m.content or ""
        return ""

    @property
    def answer(self) -> str | None:
        """The content of the final assistant message, if any."""
        for m in reversed(self.messages):
            if m.role == "assistant":
                return m.content
        return None

    @property
    def system(self) -> str | None:
        for m in self.messages:
            if m.role == "system":
                return m.content
        return None

    @property
    def line(self) -> int | None:
        return self.meta.get("line")

    @property
    def source(self) -> str | None:
        return self.meta.get("source")

    def where(self) -> str:
        """'file:line' for messages."""
        src = self.meta.get("source", "<input>")
        ln = self.meta.get("line")
        return f"{src}:{ln}" if ln else str(src)

    # -- (de)serialisation -------------------------------------------------------------------
    def to_chat_dict(self, *, with_gold: bool = False, with_meta: bool = False) -> dict:
        """The OpenAI chat-format line ({"messages": [...]}), optionally with tunewise extras.

        OpenAI's upload accepts only ``messages`` (plus tools/functions/parallel_tool_calls), so
        extras are off by default.
        """
        d: dict[str, Any] = {"messages": [m.to_dict() for m in self.messages]}
        if with_gold:
            if self.label is not None:
                d["label"] = self.label
            if self.entities is not None:
                d["entities"] = [e.to_dict() for e in self.entities]
            if self.tokens is not None:
                d["tokens"] = self.tokens
            if self.reference is not None:
                d["reference"] = self.reference
        if with_meta and self.meta:
            d["meta"] = self.meta
        return d

    @classmethod
    def from_chat_dict(cls, d: dict, meta: dict | None = None) -> "Example":
        ents = d.get("entities")
        return cls(
            messages=[Message.from_dict(m) for m in d.get("messages", [])],
            label=d.get("label"),
            entities=[Entity.from_dict(e) for e in ents] if ents is not None else None,
            tokens=d.get("tokens"),
            reference=d.get("reference"),
            meta={**(d.get("meta") or {}), **(meta or {})},
        )

    @classmethod
    def from_text(cls, text: str, answer: str | None = None, *, system: str | None = None,
                  **kw) -> "Example":
        """Build a single-turn example (user = text, assistant = answer)."""
        msgs = []
        if system:
            msgs.append(Message("system", system))
        msgs.append(Message("user", text))
        if answer is not None:
            msgs.append(Message("assistant", answer))
        return cls(messages=msgs, **kw)

    def gold_key(self) -> str:
        """The gold answer as a string, for label conflicts and stratification."""
        if self.label is not None:
            return self.label
        if self.entities is not None:
            return "|".join(sorted({e.type for e in self.entities})) or "O"
        if self.reference is not None:
            return self.reference
        return self.answer or ""
