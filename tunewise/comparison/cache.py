"""Interruption-safe per-arm results: OUT/arms/<name>.json, written atomically when an arm ends
(the file name is ``fileio.safe_filename(name)``: a name cannot lead out of the folder).

Each file holds the arm's result and a hash of every input the result depends on (the test
examples, the model, the task, the arm's own settings and, for learned arms, the training
examples). On a rerun ``ArmCache.get`` returns the stored result only when the hash still matches,
so an interrupted compare resumes where it stopped, and a changed config recomputes only the arms
whose inputs changed (e.g. adding a training size reuses every other arm; changing the test split
or the model recomputes all).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from tunewise.fileio import safe_filename, write_json

#: bump when the stored result format changes (invalidates every cached arm)
CACHE_VERSION = 1


def fingerprint(obj: Any) -> str:
    """sha256 of a JSON-able object (canonical: sorted keys)."""
    from tunewise.fileio import _json_default
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=_json_default)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def examples_fingerprint(examples: Iterable) -> str:
    """sha256 over the examples' conversations and gold answers (metadata ignored)."""
    h = hashlib.sha256()
    for ex in examples:
        h.update(json.dumps(ex.to_chat_dict(with_gold=True), sort_keys=True,
                            ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


class ArmCache:
    """Finished arms of one compare output folder."""

    def __init__(self, out_dir: str | Path, folder: str = "arms"):
        self.dir = Path(out_dir) / folder

    def path(self, name: str) -> Path:
        return self.dir / f"{safe_filename(name)}.json"

    def get(self, name: str, inputs: dict) -> dict | None:
        """The stored result of ``name`` if it was computed from exactly ``inputs``, else None."""
        p = self.path(name)
        if not p.is_file():
            return None
        try:
            stored = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None          # unreadable: recompute (the write is atomic, so rare)
        if stored.get("inputs_hash") != self.hash(inputs) or "result" not in stored:
            return None
        return stored["result"]

    def put(self, name: str, inputs: dict, result: dict) -> None:
        write_json(self.path(name), {"name": name, "cache_version": CACHE_VERSION,
                                     "inputs_hash": self.hash(inputs), "inputs": inputs,
                                     "result": result}, indent=None)

    @staticmethod
    def hash(inputs: dict) -> str:
        return fingerprint({"cache_version": CACHE_VERSION, **inputs})

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.json")) if self.dir.is_dir() else []
