"""A many-class intent dataset from CLINC150 (../shared/datasets/clinc150/data_full.json).

CLINC150 (clinc/oos-eval, Larson et al. 2019, "An Evaluation Dataset for Intent Classification
and Out-of-Scope Prediction", CC BY 3.0) has 150 intents with 100 train / 20 val / 30 test
utterances each. Issue #23 reproduced its failures on a 77-class, ~10k-row intent set; this
script makes one like it, deterministically:

- the intents: the first ``--classes`` (77) intent names in sorted order;
- the rows: every utterance of those intents from train, val and test (77 x 150 = 11,550; the
  out-of-scope rows are left out), shuffled with ``--seed``;
- written as CSV with the columns ``text,label`` (what ``tunewise compare --data`` reads).

``many_label_rows`` is what ``bench/many_labels_bench.py`` uses. The small test fixture
``tests/fixtures/clinc77/clinc77_small.csv`` (4 rows per intent) is made with ``--per-class 4``.

Usage::

    python bench/clinc_intents.py /tmp/clinc77.csv                  # 11,550 rows, 77 intents
    python bench/clinc_intents.py tests/fixtures/clinc77/clinc77_small.csv --per-class 4
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tunewise.fileio import write_text  # noqa: E402

CLINC = ROOT.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
SPLITS = ("train", "val", "test")


def load_clinc(path: Path = CLINC) -> dict[str, list[tuple[str, str]]]:
    """{split: [(text, intent)]} of CLINC150's in-scope splits."""
    if not path.exists():
        sys.exit(f"skipped: {path} not found (the benchmarks need ../shared/datasets)")
    data = json.loads(path.read_text(encoding="utf-8"))
    return {s: [(t, lab) for t, lab in data[s]] for s in SPLITS}


def many_label_rows(classes: int = 77, *, per_class: int | None = None, seed: int = 0,
                    splits=SPLITS, path: Path = CLINC) -> list[tuple[str, str]]:
    """(text, intent) rows of the first ``classes`` intents (sorted names) from ``splits``;
    ``per_class`` = a seeded sample of that many per intent (None = all), shuffled by ``seed``."""
    data = load_clinc(path)
    intents = sorted({lab for s in SPLITS for _, lab in data[s]})[:classes]
    keep = set(intents)
    rows = [r for s in splits for r in data[s] if r[1] in keep]
    rng = random.Random(seed)
    if per_class is not None:
        by: dict[str, list] = {}
        for r in rows:
            by.setdefault(r[1], []).append(r)
        rows = [r for lab in intents for r in rng.sample(by[lab], min(per_class, len(by[lab])))]
    rng.shuffle(rows)
    return rows


def write_csv(rows, out: Path) -> None:
    """``text,label`` CSV, written to a temporary file and renamed into place."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["text", "label"])
    w.writerows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, buf.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--classes", type=int, default=77)
    ap.add_argument("--per-class", type=int, default=None, help="rows per intent (default all)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rows = many_label_rows(a.classes, per_class=a.per_class, seed=a.seed)
    write_csv(rows, a.out)
    print(f"wrote {a.out}: {len(rows)} rows, {len({r[1] for r in rows})} intents")


if __name__ == "__main__":
    main()
