"""Held-out classification sets from ../shared/datasets for the learning-curve benchmarks
(bench/budget_sweep.py, bench/curve_bench.py): a training pool and a fixed test sample each.

- ``mr``: movie-review sentence polarity (one file): a seeded shuffle, the first ``test_n`` are
  the test sample, the rest the training pool.
- ``tweeteval_emotion`` / ``tweeteval_offensive``: the train file is the pool, a seeded sample of
  ``test_n`` from the test file is the test sample.
- ``wnut17``: WNUT-17 tweet NER (CoNLL files): the train file is the pool, a seeded sample of
  ``test_n`` annotated test tweets the test sample; scored by entity F1 of greedy generation.

Training subsets come from ``tunewise.comparison.datasets.stratified_order`` (seeded, nested,
class-proportional prefixes), the same draw ``tunewise compare`` makes.
"""
from __future__ import annotations

import json
import os
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"
DATASETS = ("mr", "tweeteval_emotion", "tweeteval_offensive", "wnut17")


def setup_env() -> None:
    """What every learning-curve bench sets before importing tunewise: this checkout on the path,
    the model cache in the clone, and a throwaway run registry (bench runs stay out of the user's)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("TUNEWISE_HOME", str(ROOT / ".cache" / "tunewise"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TUNEWISE_RUNS_DB",
                          os.path.join(tempfile.gettempdir(), "tw-bench-runs.db"))


def read_cells(path: Path, key: tuple[str, ...]) -> dict:
    """Finished cells of a bench's JSONL cache, keyed by the values of the ``key`` fields."""
    cells = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                cells[tuple(r[k] for k in key)] = r
    return cells


def _examples(pairs):
    from tunewise.data.records import Example
    return [Example.from_text(text, label, label=label, meta={"line": i + 1})
            for i, (text, label) in enumerate(pairs)]


def _tweeteval(name: str, part: str) -> list[tuple[str, str]]:
    d = SHARED / name
    names = dict(line.split("\t") for line in
                 (d / "mapping.txt").read_text(encoding="utf-8").strip().split("\n"))
    names = {k.strip(): v.strip() for k, v in names.items()}
    texts = (d / f"{part}_text.txt").read_text(encoding="utf-8").split("\n")
    labels = (d / f"{part}_labels.txt").read_text(encoding="utf-8").split("\n")
    return [(t.strip(), names[lab.strip()]) for t, lab in zip(texts, labels)
            if t.strip() and lab.strip() in names]


def load(name: str, test_n: int, seed: int = 0):
    """(task, training pool, test sample) of one dataset."""
    from tunewise.tasks import make_task
    if not SHARED.is_dir():
        sys.exit(f"skipped: {SHARED} not found (the benchmarks need ../shared/datasets)")
    if name == "wnut17":
        from tunewise.data import read
        pool = read(SHARED / "wnut17" / "wnut17train.conll", format="conll")
        test = random.Random(seed).sample(
            read(SHARED / "wnut17" / "emerging.test.annotated", format="conll"), test_n)
        return make_task("ner", pool), pool, test
    if name == "mr":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from mr import load_mr
        rows = load_mr()
        random.Random(seed).shuffle(rows)
        test, pool = rows[:test_n], rows[test_n:]
    elif name in DATASETS:
        pool = _tweeteval(name, "train")
        test = _tweeteval(name, "test")
        random.Random(seed).shuffle(test)
        test = test[:test_n]
    else:
        sys.exit(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    pool_ex, test_ex = _examples(pool), _examples(test)
    labels = sorted({lab for _t, lab in pool})
    task = make_task("classification", pool_ex[:0], labels=labels)
    return task, pool_ex, test_ex


def subset(pool, n: int, seed: int):
    """The seeded, class-proportional training subset of size n (nested over n)."""
    from tunewise.comparison.datasets import stratified_order
    return stratified_order(pool, seed=seed)[:n]


def headline(task, golds, preds) -> tuple[str, float]:
    """Accuracy for balanced data, macro-F1 otherwise (tunewise compare's rule); entity F1 of
    the predicted answers for NER."""
    if task.kind == "ner":
        from tunewise.tasks.ner import ner_metrics
        return "entity_f1", float(ner_metrics(golds, preds)["f1"])
    from tunewise.comparison.analysis import choose_headline
    from tunewise.comparison.scoring import metric_function
    metric = choose_headline("classification", golds, task.labels)["metric"]
    return metric, float(metric_function(task, metric)(list(golds), list(preds)))
