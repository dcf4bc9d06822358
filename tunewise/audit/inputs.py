"""The files an audit reads, as the texts the checks compare: the training file, an optional test
file and an optional production sample (unlabelled inputs as they arrive in use).

Each becomes a ``Split``: per row the input text (every message but the final answer and the
system prompt, the text a model sees), the answer, the gold key and where the row is
(file:line). Files are only read. A production sample may be any dataset file tunewise reads, or
inputs without answers: a ``.txt`` file (one input per line), JSONL records with ``messages``
(no assistant turn needed) or a ``text`` / ``input`` / ``prompt`` field, or a CSV with a text
column. Bad inputs are refused with a typed error and a fix: an unreadable path (missing, a
folder, binary, empty), a test or production file that is the training file, a file without a
single readable row.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from tunewise.data.records import Example
from tunewise.errors import InputError, UsageError

#: the fields a production record's input may be in (JSON / CSV), first present wins
TEXT_FIELDS = ("text", "input", "prompt", "question", "query", "instruction", "content")


@dataclass
class Split:
    """One file's rows as the audit sees them."""

    role: str                                  #: "train", "test" or "production"
    name: str                                  #: the path, or "<train>" for in-memory examples
    texts: list[str]                           #: the input of each row
    wheres: list[str]                          #: "file:line" of each row
    answers: list[str | None] = field(default_factory=list)
    golds: list[str | None] = field(default_factory=list)
    #: every text of each row (system prompt and answers too): what the personal-data check reads
    full: list[str] = field(default_factory=list)
    #: rows the reader rejected (not audited)
    rejected: int = 0

    def __len__(self) -> int:
        return len(self.texts)


def input_text(ex: Example) -> str:
    """The text a model reads: every message but the final assistant answer and the system
    prompt (which many rows share), joined by newlines."""
    last = None
    for i in range(len(ex.messages) - 1, -1, -1):
        if ex.messages[i].role == "assistant":
            last = i
            break
    parts = [m.content for i, m in enumerate(ex.messages)
             if i != last and m.role != "system" and isinstance(m.content, str)]
    return "\n".join(parts)


def _full_text(ex: Example) -> str:
    parts = [m.content for m in ex.messages if isinstance(m.content, str)]
    if ex.reference and ex.reference not in parts:
        parts.append(ex.reference)
    return "\n".join(parts)


def from_examples(role: str, examples: Sequence[Example], task, name: str | None = None,
                  rejected: int = 0) -> Split:
    """A Split of in-memory examples; ``task`` (a DataTask) names each row's answer and gold."""
    name = name or f"<{role}>"
    texts, wheres, answers, golds, full = [], [], [], [], []
    for i, ex in enumerate(examples):
        texts.append(input_text(ex))
        line = ex.meta.get("line")
        src = ex.meta.get("source") or name
        wheres.append(f"{src}:{line}" if line else f"{src}#{i + 1}")
        answers.append(task.answer_text(ex) if task is not None else ex.answer)
        golds.append(task.gold_key(ex) if task is not None and task.has_labels else None)
        full.append(_full_text(ex))
    return Split(role, name, texts, wheres, answers, golds, full, rejected)


def same_path(a, b) -> bool:
    from tunewise.outputs_guard import same_file
    return isinstance(a, (str, os.PathLike)) and isinstance(b, (str, os.PathLike)) \
        and same_file(a, b)


def refuse_same_files(train, test, production) -> None:
    """A test or production file that is the training file is a mistake, not an audit: every
    row would "leak". Raises UsageError naming both."""
    for role, other in (("test", test), ("production", production)):
        if other is not None and same_path(train, other):
            raise UsageError(f"the {role} file {other} is the training file {train}: every "
                             f"{role} row would be found in training",
                             fix=f"give --{role} a different file (e.g. the split `tunewise data "
                                 "split` wrote)")
    if test is not None and production is not None and same_path(test, production):
        raise UsageError(f"the production sample {production} is the test file {test}",
                         fix="leave --production out: the test split stands in for production "
                             "when no sample is given")


def read_split(role: str, path, *, reader: dict, task=None) -> tuple[list[Example], int]:
    """(valid examples, rows rejected) of a dataset file; a file with no readable row raises
    UsageError (the reader's first problems named)."""
    from tunewise.data.reading import read_with_problems
    examples, problems = read_with_problems(path, **reader)
    errors = [p for p in problems if p.is_error]
    rejected = len({p.line for p in errors if p.line is not None}) or len(errors)
    if not examples:
        first = "; ".join(p.render() for p in errors[:3])
        raise UsageError(f"the {role} file {path} holds no readable example"
                         + (f" ({first})" if first else ""),
                         fix=f"run `tunewise data check {path}` and fix what it lists")
    return examples, rejected


def read_production(path, *, reader: dict) -> Split:
    """A production sample: a dataset file, or inputs without answers (module docstring)."""
    from tunewise.data.formats.textio import inspect
    info = inspect(path)                    # missing / folder / binary / empty: InputError
    suffix = "".join(Path(os.fspath(path)).suffixes[-2:]).lower().replace(".gz", "")
    if suffix.endswith(".txt"):
        rows = _text_lines(info)
    else:
        try:
            examples, rejected = read_split("production", path, reader=reader)
        except UsageError:
            examples, rejected = [], 0
        if examples and not rejected:
            return from_examples("production", examples, None, os.fspath(path))
        rows = _records(info, reader)
    if not rows:
        raise UsageError(f"the production sample {path} holds no input text",
                         fix="give one input per line (.txt), JSONL with a messages / text "
                             "field, or a CSV with a text column")
    name = os.fspath(path)
    return Split("production", name, [t for _, t in rows], [f"{name}:{ln}" for ln, _ in rows],
                 [None] * len(rows), [None] * len(rows), [t for _, t in rows])


def _decoded_lines(info) -> list[str]:
    from tunewise.data.formats.textio import detect_encoding, iter_text_lines
    return [ln.rstrip("\r\n") for ln in iter_text_lines(info, detect_encoding(info))]


def _text_lines(info) -> list[tuple[int, str]]:
    return [(i + 1, ln) for i, ln in enumerate(_decoded_lines(info))
            if ln.strip()]


def _record_text(obj) -> str | None:
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, dict):
        return None
    msgs = obj.get("messages")
    if isinstance(msgs, list):
        texts = [m.get("content") for m in msgs if isinstance(m, dict)
                 and m.get("role") not in ("system", "assistant")
                 and isinstance(m.get("content"), str)]
        return "\n".join(texts) if texts else None
    for key in TEXT_FIELDS:
        if isinstance(obj.get(key), str):
            return obj[key]
    return None


def _records(info, reader: dict) -> list[tuple[int, str]]:
    """(line, input) of JSONL records or CSV rows (no answer needed)."""
    import orjson
    lines = _decoded_lines(info)
    head = next((ln for ln in lines if ln.strip()), "")
    out = []
    if head.lstrip().startswith(("{", "[", '"')):
        for i, ln in enumerate(lines):
            if not ln.strip():
                continue
            try:
                text = _record_text(orjson.loads(ln))
            except orjson.JSONDecodeError:
                continue
            if text and text.strip():
                out.append((i + 1, text))
        return out
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    if not rows:
        return out
    header = [h.strip().lower() for h in rows[0]]
    want = (reader.get("text_column") or "").lower()
    col = header.index(want) if want in header else next(
        (header.index(k) for k in TEXT_FIELDS if k in header), 0 if len(header) == 1 else None)
    if col is None:
        raise InputError(f"{info.path}: no text column among {rows[0]}",
                         fix="name it with --text-column")
    for i, row in enumerate(rows[1:], start=2):
        if col < len(row) and row[col].strip():
            out.append((i, row[col]))
    return out
