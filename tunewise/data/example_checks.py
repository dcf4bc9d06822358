"""Per-example checks of ``tunewise data check`` (labels, special tokens, length), shared by the
reader path (``validate``) and the fast chat-JSONL scanner (``chat_scan``) and its workers."""
from __future__ import annotations

import re
from typing import Iterable, Sequence

from tunewise.data.formats.problem_log import ProblemLog
from tunewise.data.problems import ERROR, WARNING, Problem  # noqa: F401
from tunewise.data.records import Example
from tunewise.registry import did_you_mean

CONTROL_TOKEN = re.compile(r"<\|[A-Za-z0-9_\-]{1,40}\|>")


def _labels(labels) -> list[str] | None:
    if labels is None:
        return None
    if isinstance(labels, str):
        labels = labels.split(",")
    out = [str(x).strip() for x in labels if str(x).strip()]
    return out or None


class ExampleChecker:
    """Example-level checks shared by every format (the chat fast path mirrors them)."""

    def __init__(self, log: ProblemLog, *, task: str | None, labels: Sequence[str] | None,
                 counter=None, batch_size: int = 256):
        self.log = log
        self.task = task
        self.labels = set(labels) if labels else None
        self.label_list = list(labels) if labels else None
        self.counter = counter
        self.context = counter.context_length if counter is not None else None
        self.model_specials = [t for t in (counter.special_tokens if counter else [])
                               if not CONTROL_TOKEN.fullmatch(t)]
        self._pending: list[tuple[int | None, list[dict]]] = []
        self.batch_size = batch_size
        self.n_over_context = 0

    def special_tokens(self, texts: Iterable[tuple[str, str]], line: int | None) -> None:
        for where, text in texts:
            if not text or "<" not in text:
                continue
            m = CONTROL_TOKEN.search(text)
            if m:
                self.log.error("special_token", f"literal {m.group()} in the text",
                               "remove or rewrite it: the tokenizer reads it as a control token "
                               "that ends the turn or the text", line=line, field=where)
                continue
            for tok in self.model_specials:
                if tok in text:
                    self.log.warning("special_token", f"literal {tok} in the text",
                                     "the model's tokenizer reads it as a special token; rewrite "
                                     "it if it is meant as plain text", line=line, field=where)
                    break

    def check(self, ex: Example) -> None:
        line = ex.meta.get("line")
        texts = [(f"messages[{i}].content", m.content) for i, m in enumerate(ex.messages)
                 if isinstance(m.content, str)]
        if ex.label is not None:
            texts.append(("label", ex.label))
        self.special_tokens(texts, line)
        gold = ex.label if ex.label is not None else ex.answer
        if self.labels is not None and gold is not None and ex.entities is None \
                and self.task in (None, "classification") and gold not in self.labels:
            self.log.error("unknown_label", f"label {gold!r} is not one of the declared labels",
                           f"fix the label or add it to --labels; {did_you_mean(gold, self.label_list)}",
                           line=line, field="label")
        if self.task == "classification" and not gold:
            self.log.error("missing_label", "no label (and no assistant answer)",
                           "give every example its label", line=line)
        elif self.task == "ner" and ex.entities is None:
            self.log.tally("no_entity_spans", line, message="{count} example(s) have no entity "
                           "spans (tokens + entities); the assistant text is used as the target",
                           fix="convert from CoNLL, or add tokens and entities to each record")
        if self.counter is not None:
            conv = [{"role": m.role, "content": m.content or "",
                     **({"name": m.name} if m.name else {}),
                     **({"tool_calls": m.tool_calls} if m.tool_calls else {})}
                    for m in ex.messages]
            n_bytes = sum(len(d["content"].encode("utf-8")) + len(d.get("name", "")) +
                          (len(str(d["tool_calls"])) * 4 if "tool_calls" in d else 0) + 16
                          for d in conv)
            self.maybe_too_long(line, conv, n_bytes)

    def maybe_too_long(self, line: int | None, conv: list[dict], n_bytes: int) -> None:
        """Count exactly (batched) only when the cheap bound says it could exceed the context."""
        if self.counter.length_bound(n_bytes, len(conv)) <= self.context:
            return
        self._pending.append((line, conv))
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        counts = self.counter.count_messages([c for _, c in self._pending])
        for (line, _), n in zip(self._pending, counts):
            if n > self.context:
                self.n_over_context += 1
                self.log.error("too_long", f"{n:,} tokens, over the {self.context:,}-token context "
                               f"of {self.counter.name}", "shorten the example or split it; "
                               "training would cut it off", line=line, tokens=n)
        self._pending = []
