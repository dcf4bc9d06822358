"""Predictions JSONL: one line per evaluated example, written atomically.

The first line is a header, ``{"_tunewise": "predictions", "version": 1, "task": <task config>,
"arm": ..., "model": ..., "metrics": ...}``, so that a file can be re-scored or compared with
another (``tunewise eval --compare``) without the original data. Every other line::

    {"index": 0, "id": ..., "source": "test.csv", "line": 2, "input": "...", "gold": ...,
     "prediction": ..., "raw": "...", "correct": true, "latency_s": 0.01,
     "tokens_in": 41, "tokens_out": 2, "extra": {...}}

``gold`` / ``prediction`` are a label (classification), a list of ``{type, start, end, text}``
entities (NER) or a string (generation); an unparseable generated answer is ``null``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from tunewise.data.records import Example
from tunewise.errors import InputError, UsageError
from tunewise.tasks.base import Prediction, Task

HEADER_KEY = "_tunewise"
VERSION = 1


def prediction_rows(task: Task, examples: Sequence[Example],
                    preds: Sequence[Prediction]) -> list[dict]:
    """The JSONL rows (without the header) for ``preds`` of ``examples``."""
    scores = task.example_scores([p.gold for p in preds], [p.pred for p in preds])
    rows = []
    for i, (ex, p, s) in enumerate(zip(examples, preds, scores)):
        row = {"index": i, "id": ex.meta.get("id"), "source": ex.meta.get("source"),
               "line": ex.meta.get("line"), "input": ex.input, "gold": task.to_json(p.gold),
               "prediction": task.to_json(p.pred), "raw": p.raw,
               "correct": task.is_correct(p.gold, p.pred), "score": float(s),
               "latency_s": round(float(p.latency_s), 6), "tokens_in": int(p.tokens_in),
               "tokens_out": int(p.tokens_out), "extra": p.extra or {}}
        rows.append(row)
    return rows


def write_predictions(path: str | os.PathLike, task: Task, examples: Sequence[Example],
                      preds: Sequence[Prediction], *, header: dict | None = None) -> int:
    """Write the header + one row per prediction atomically; returns the number of rows.

    The one predictions writer: ``tunewise eval --out`` and every arm of ``tunewise compare``
    (OUT/predictions/<arm>.jsonl) write through it."""
    from tunewise.fileio import write_jsonl
    head = {HEADER_KEY: "predictions", "version": VERSION, "task": task.to_config(),
            **(header or {})}
    return write_jsonl(path, [head, *prediction_rows(task, examples, preds)]) - 1


@dataclass
class PredictionsFile:
    """A predictions file read back: header, rows, and the task to score them with."""

    path: str
    header: dict
    rows: list[dict]
    task: Task
    golds: list = field(default_factory=list)
    preds: list = field(default_factory=list)

    def keys(self) -> list[tuple]:
        """Identity of each row for pairing two files: (id or input text, gold)."""
        return [(r.get("id") if r.get("id") is not None else r.get("input"),
                 json.dumps(r.get("gold"), sort_keys=True, ensure_ascii=False))
                for r in self.rows]


def _infer_task(rows: list[dict]) -> Task:
    from tunewise.tasks import make_task
    golds = [r.get("gold") for r in rows]
    if any(isinstance(g, list) for g in golds):
        types = sorted({e["type"] for g in golds if isinstance(g, list) for e in g
                        if isinstance(e, dict) and "type" in e}) or ["entity"]
        return make_task("ner", labels=types)
    distinct = {g for g in golds if isinstance(g, str)}
    if 2 <= len(distinct) <= 50 and len(distinct) < len(golds):
        return make_task("classification", labels=sorted(distinct))
    return make_task("generation")


def read_predictions(path: str | os.PathLike) -> PredictionsFile:
    """Read a predictions JSONL written by ``write_predictions`` (a file without the header is
    accepted; its task kind is inferred from the gold values)."""
    from tunewise.tasks import task_from_config
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file", fix="pass a predictions file written by "
                         "`tunewise eval --out PRED.jsonl`")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not a predictions file")
    header: dict = {}
    rows: list[dict] = []
    bad: list[str] = []
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a UTF-8 text file",
                         fix="pass a predictions JSONL written by tunewise eval --out") from None
    for n, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            bad.append(f"{p}:{n}: invalid JSON ({e.msg})")
            continue
        if not isinstance(obj, dict):
            bad.append(f"{p}:{n}: expected a JSON object")
        elif obj.get(HEADER_KEY) == "predictions":
            header = obj
        elif "gold" not in obj or "prediction" not in obj:
            bad.append(f"{p}:{n}: a prediction row needs 'gold' and 'prediction'")
        else:
            rows.append(obj)
    if bad:
        more = f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""
        raise InputError(f"{p} is not a valid predictions file:\n  " + "\n  ".join(bad[:20]) + more,
                         fix="pass a file written by `tunewise eval --out PRED.jsonl`")
    if not rows:
        raise InputError(f"{p}: no predictions in this file",
                         fix="pass a file written by `tunewise eval --out PRED.jsonl`")
    task = task_from_config(header["task"]) if header.get("task") else _infer_task(rows)
    return PredictionsFile(path=str(p), header=header, rows=rows, task=task,
                           golds=[task.from_json(r["gold"]) for r in rows],
                           preds=[task.from_json(r["prediction"]) for r in rows])


def check_same_examples(a: PredictionsFile, b: PredictionsFile) -> list[int]:
    """Indices into ``b`` aligning its rows with ``a``'s (files may be in different orders).

    Raises UsageError naming the first differences when the files do not cover the same
    examples with the same gold answers.
    """
    if type(a.task) is not type(b.task):
        raise UsageError(f"cannot compare a {a.task.kind} predictions file ({a.path}) with a "
                         f"{b.task.kind} one ({b.path})")
    ka, kb = a.keys(), b.keys()
    if len(ka) != len(kb):
        raise UsageError(f"the files cover different examples: {a.path} has {len(ka)} rows, "
                         f"{b.path} has {len(kb)}",
                         fix="evaluate both arms on the same split (and the same --limit)")
    if ka == kb:
        return list(range(len(kb)))
    slots: dict[tuple, list[int]] = {}
    for j, k in enumerate(kb):
        slots.setdefault(k, []).append(j)
    order, missing = [], []
    for i, k in enumerate(ka):
        if slots.get(k):
            order.append(slots[k].pop(0))
        else:
            missing.append(i)
    if missing:
        show = "; ".join(f"row {i + 1}: {str(a.rows[i].get('input'))[:60]!r}" for i in missing[:3])
        raise UsageError(f"the files cover different examples: {len(missing)} row(s) of {a.path} "
                         f"have no match (same input and gold) in {b.path}, e.g. {show}",
                         fix="evaluate both arms on the same split (and the same --limit)")
    return order
