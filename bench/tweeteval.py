"""The TweetEval tasks in ../shared/datasets (emotion, offensive) shared by the benchmarks."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TWEETEVAL = ROOT.parent / "shared" / "datasets"


def load_tweeteval(name: str, split: str = "train") -> list[tuple[str, str]]:
    """(text, label name) pairs of ``tweeteval_<name>/<split>_{text,labels}.txt``."""
    folder = TWEETEVAL / f"tweeteval_{name}"
    if not folder.exists():
        sys.exit(f"skipped: {folder} not found (the benchmarks need ../shared/datasets)")
    names = {}
    for line in (folder / "mapping.txt").read_text(encoding="utf-8").split("\n"):
        if line.strip():
            idx, _, lab = line.strip().partition("\t")
            names[idx] = lab
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")
    labels = (folder / f"{split}_labels.txt").read_text(encoding="utf-8").split("\n")
    return [(t.strip(), names[lab.strip()]) for t, lab in zip(texts, labels)
            if t.strip() and lab.strip() in names]
