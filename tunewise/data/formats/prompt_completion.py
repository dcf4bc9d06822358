"""Prompt/completion JSONL ({"prompt": ..., "completion": ...}) -> Example (user, assistant)."""
from __future__ import annotations

from typing import Any

from tunewise.data.formats.openai_chat import _json_type, is_record_of
from tunewise.data.records import Example

NAME = "prompt_completion"
KEYS = frozenset(("prompt", "completion", "label", "reference", "meta", "id"))


def to_example(obj: Any, line: int, opts, log) -> Example | None:
    if not is_record_of(obj, NAME, line, log, display="prompt/completion",
                        shape='{"prompt": "...", "completion": "..."}',
                        missing="'prompt' or 'completion' key"):
        return None
    ok = True
    for key in ("prompt", "completion"):
        v = obj.get(key)
        if v is None:
            log.error("missing_key", f"no {key!r}", f"add \"{key}\": a string", line=line, field=key)
            ok = False
        elif type(v) is not str:
            log.error("invalid_content", f"{key} must be a string, not {_json_type(v)}",
                      "write a string", line=line, field=key)
            ok = False
        elif not v.strip():
            cat = "empty_assistant_content" if key == "completion" else "missing_content"
            log.error(cat, f"{key} is empty", f"give the {key} text, or drop the example",
                      line=line, field=key)
            ok = False
    for k in obj:
        if k not in KEYS:
            log.warning("unrecognized_key", f"unknown key {k!r}", "remove it", line=line, field=k)
    if not ok:
        return None
    label = obj.get("label")
    meta = dict(obj["meta"]) if type(obj.get("meta")) is dict else {}
    meta.update(source=opts.source, line=line)
    meta.setdefault("id", str(obj["id"]) if obj.get("id") is not None else str(line))
    ex = Example.from_text(obj["prompt"], obj["completion"],
                           label=str(label) if label is not None else None,
                           reference=obj.get("reference") if type(obj.get("reference")) is str
                           else None, meta=meta)
    if opts.task == "generation" and ex.reference is None:
        ex.reference = obj["completion"]
    return ex
