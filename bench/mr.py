"""The movie-review polarity data (../shared/datasets/mr) shared by the benchmarks."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MR = ROOT.parent / "shared" / "datasets" / "mr" / "rt-polarity.all"
LABELS = {"0": "negative", "1": "positive"}


def load_mr(path: Path = MR) -> list[tuple[str, str]]:
    """All (text, label) pairs: cp1252, split on \\n only (the file contains byte 0x85)."""
    if not path.exists():
        sys.exit(f"skipped: {path} not found (the benchmarks need ../shared/datasets)")
    rows = []
    for line in path.read_bytes().decode("cp1252").split("\n"):
        line = line.strip()
        if not line:
            continue
        lab, _, text = line.partition(" ")
        if lab in LABELS and text.strip():
            rows.append((text.strip(), LABELS[lab]))
    return rows
