"""Writers: chat JSONL (lossless for tunewise, or exactly what OpenAI's upload accepts) and CSV.

Both write atomically (temporary file + rename); inputs are never touched.
"""
from __future__ import annotations

import csv
import os
from typing import Iterable

import orjson

from tunewise.data.records import Example
from tunewise.fileio import atomic_write


def chat_record(ex: Example, *, openai: bool = False) -> dict:
    """The dict written for one example.

    Default: ``messages`` plus tunewise's gold keys (label, entities, tokens, reference) so that
    reading the file back gives the same examples. ``openai=True``: only ``messages``, each
    message with the keys OpenAI's fine-tuning upload accepts.
    """
    if not openai:
        return ex.to_chat_dict(with_gold=True)
    msgs = []
    for m in ex.messages:
        d = {"role": m.role}
        if m.content is not None or not m.tool_calls:
            d["content"] = m.content if m.content is not None else ""
        if m.name is not None:
            d["name"] = m.name
        if m.weight is not None and m.role == "assistant":
            d["weight"] = int(m.weight)
        if m.tool_calls:
            d["tool_calls"] = m.tool_calls
        if m.tool_call_id is not None:
            d["tool_call_id"] = m.tool_call_id
        msgs.append(d)
    return {"messages": msgs}


def write_chat_jsonl(path: str | os.PathLike, examples: Iterable[Example], *,
                     openai: bool = False) -> int:
    """Write examples as chat JSONL (UTF-8, one object per line); returns the number written."""
    n = 0
    with atomic_write(path, "wb") as fh:
        for ex in examples:
            fh.write(orjson.dumps(chat_record(ex, openai=openai)))
            fh.write(b"\n")
            n += 1
    return n


def write_csv(path: str | os.PathLike, examples: Iterable[Example], *, text_column: str = "text",
              label_column: str = "label", delimiter: str = ",") -> int:
    """Write ``text,label`` CSV (UTF-8); label = gold label, else reference, else the answer.

    A ``confidence`` column is added when any example carries meta["confidence"].
    """
    rows = []
    conf = False
    for ex in examples:
        gold = ex.label if ex.label is not None else (
            ex.reference if ex.reference is not None else (ex.answer or ""))
        c = ex.meta.get("confidence")
        conf |= c is not None
        rows.append((ex.input, gold, c))
    with atomic_write(path, "w", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow([text_column, label_column] + (["confidence"] if conf else []))
        for text, gold, c in rows:
            w.writerow([text, gold] + ([("" if c is None else c)] if conf else []))
    return len(rows)
