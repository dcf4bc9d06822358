"""The tweet-NER learning curve before and after the training budget of issue 10.

Data: ../shared/datasets/wnut17 (WNUT-17 emerging entities, tweets, CoNLL format): a seeded
draw of N training sentences from wnut17train.conll, ``--test-n`` seeded sentences of
emerging.test.annotated. The embedded model, LoRA with tunewise's defaults otherwise; the
metric is entity F1 (exact type + span) of ``tunewise.prompting.predict`` (batched greedy
generation, budget from the training answers).

- **before**: the old ``tunewise compare`` fine-tuning default: 3 epochs, a validation split
  carved at every size (``min_val_carve: 0``), early stopping with patience 1.
- **after**: today's default: ``epochs: auto`` (clamp(ceil(512 / n), 2, 16)), no carve below 128
  labelled examples, the last epoch kept there.

Every finished cell is appended to bench/out/ner_curve.jsonl (a rerun skips it); ``--table``
prints the table.

    python bench/ner_curve.py --threads 1 --sizes 16 64 256 --test-n 100
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curve_data import ROOT, read_cells, setup_env  # noqa: E402

setup_env()

WNUT = ROOT.parent / "shared" / "datasets" / "wnut17"
OUT = ROOT / "bench" / "out" / "ner_curve.jsonl"
ARMS = {"before": dict(epochs=3, min_val_carve=0, patience=1), "after": {}}


def run_cell(arm: str, size: int, seed: int, test_n: int) -> dict:
    from tunewise.data import read
    from tunewise.prompting.predict import predict
    from tunewise.tasks import make_task
    from tunewise.tasks.ner import ner_metrics
    from tunewise.training import train
    pool = read(WNUT / "wnut17train.conll", format="conll")
    test = random.Random(0).sample(read(WNUT / "emerging.test.annotated", format="conll"), test_n)
    data = random.Random(seed).sample(pool, size)
    task = make_task("ner", pool)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tw-ner-curve-") as tmp:
        res = train(data, task=task, out=Path(tmp) / "run", seed=seed, checkpoint_every=0,
                    keep_checkpoints=1, say=lambda m: None, progress=False, **ARMS[arm])
        info = json.loads((Path(tmp) / "run" / "run.json").read_text())
    preds = predict(task, res.lm, test, budget_from=data, batch_size=32, progress=False)
    f1 = ner_metrics([task.gold(ex) for ex in test], [p.pred for p in preds])["f1"]
    return {"f1": f1, "epochs": info.get("epochs"), "epochs_run": info.get("epochs_run"),
            "best_epoch": info.get("best_epoch"), "n_train": info.get("n_train"),
            "n_val": info.get("n_val"), "seconds": time.perf_counter() - t0}


def table(cells: dict, sizes, test_n: int) -> str:
    lines = ["| size | before: entity F1 (epochs run, kept) | after: entity F1 (epochs run, kept) |",
             "|---|---|---|"]
    for n in sizes:
        row = [f"| {n} "]
        for arm in ARMS:
            got = [r for (a, nn, _s, t), r in cells.items() if a == arm and nn == n and t == test_n]
            row.append("| " + (", ".join(f"{r['f1']:.3f} ({r['epochs_run']}, {r['best_epoch']})"
                                         for r in got) or "–") + " ")
        lines.append("".join(row) + "|")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[16, 64, 256])
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--test-n", type=int, default=100)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--table", action="store_true")
    a = ap.parse_args(argv)
    if not WNUT.exists():
        print(f"dataset not found: {WNUT}", file=sys.stderr)
        return 2
    cells = read_cells(OUT, ("arm", "size", "seed", "test_n"))
    if not a.table:
        import torch
        if a.threads:
            torch.set_num_threads(a.threads)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        for seed in range(a.seeds):
            for n in a.sizes:
                for arm in ARMS:
                    key = (arm, n, seed, a.test_n)
                    if key in cells:
                        continue
                    print(f"{time.strftime('%H:%M:%S')} n={n} {arm} seed {seed}", flush=True)
                    rec = {"arm": arm, "size": n, "seed": seed, "test_n": a.test_n,
                           **run_cell(arm, n, seed, a.test_n)}
                    print(f"   entity F1 {rec['f1']:.3f} ({rec['seconds']:.0f} s)", flush=True)
                    cells[key] = rec
                    with open(OUT, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(rec) + "\n")
    print(table(cells, a.sizes, a.test_n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
