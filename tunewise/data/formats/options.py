"""Options every reader receives."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ReadOptions:
    #: the path as the user gave it (goes into every message and into Example.meta["source"])
    source: str
    #: "classification" | "ner" | "generation" | None (unknown: readers keep every gold they see)
    task: str | None = None
    #: CSV: the column holding the input text (None = auto-detect text/sentence/tweet/...)
    text_column: str | None = None
    #: CSV: the column holding the label (None = auto-detect label/sentiment/class/...)
    label_column: str | None = None
    #: codec to decode with (None = detect: BOM, UTF-8, then cp1252 with a warning)
    encoding: str | None = None
