"""The sweep behind tunewise's training budget (``epochs: auto``) and learning-rate default.

For each dataset x training size x setting x seed: ``tunewise.training.train`` on a seeded,
class-proportional subset (the draw ``tunewise compare`` makes) with tunewise's own model
selection (below ``min_val_carve`` labelled examples: no validation, fixed budget, last epoch;
from there: a carved validation split and the best epoch), then the headline metric on a fixed
held-out test sample (label scoring, ``tunewise.evaluation.evaluate.predict``).

Settings (``--settings``): ``b<examples>-lr<lr>`` = ``epochs: auto`` with
``min_examples_seen=<examples>``, ``max_epochs=16``, AdamW at ``<lr>``; ``e3-lr1e-3`` = the old
default (3 epochs, early stopping patience 2, validation always carved). Cells whose effective
training run is identical (same epochs and lr for a size) are run once and reported for each.

Every finished cell is appended to bench/out/budget_sweep.jsonl; a rerun skips finished cells,
so the sweep can be stopped and continued. ``--table`` prints the table from that file only.

Usage::

    nohup python bench/budget_sweep.py > bench/out/budget_sweep.log 2>&1 &
    python bench/budget_sweep.py --table
    python bench/budget_sweep.py --datasets mr --sizes 16 64 --seeds 2 --test-n 100
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

OUT = ROOT / "bench" / "out" / "budget_sweep.jsonl"
DEFAULT_SETTINGS = ["b256-lr1e-3", "b512-lr1e-3", "b512-lr5e-4"]


def setting_overrides(name: str) -> dict:
    """TrainConfig overrides of a setting name (see the module docstring)."""
    budget, _, lr = name.partition("-lr")
    over = {"lr": float(lr)}
    if budget.startswith("b"):
        over.update(epochs=0, min_examples_seen=int(budget[1:]), max_epochs=16)
    elif budget.startswith("e"):
        over.update(epochs=int(budget[1:]), min_val_carve=0, patience=2)
    else:
        raise SystemExit(f"unknown setting {name!r}")
    return over


def done_cells(path: Path) -> dict:
    return read_cells(path, ("dataset", "size", "setting", "seed", "test_n"))


def run_cell(task, pool, test, *, size: int, seed: int, setting: str, model: str) -> dict:
    from curve_data import headline, subset
    from tunewise.prompting.predict import predict
    from tunewise.training import train
    data = subset(pool, size, seed)
    with tempfile.TemporaryDirectory(prefix="tw-sweep-") as tmp:
        t0 = time.perf_counter()
        res = train(data, task=task, out=Path(tmp) / "run", model=model, seed=seed,
                    checkpoint_every=0, keep_checkpoints=1, say=lambda m: None, progress=False,
                    **setting_overrides(setting))
        info = json.loads((Path(tmp) / "run" / "run.json").read_text())
        preds = predict(task, res.lm, test, batch_size=32, progress=False)
    golds = [p.gold for p in preds]
    metric, value = headline(task, golds, [p.pred for p in preds])
    return {"metric": metric, "value": value, "epochs": info.get("epochs"),
            "best_epoch": info.get("best_epoch"), "n_train": info.get("n_train"),
            "n_val": info.get("n_val"), "model_selection": info.get("model_selection"),
            "train_seconds": res.timing["train_seconds"],
            "seconds": time.perf_counter() - t0}


def table(cells: dict, datasets, sizes, settings) -> str:
    lines = ["| dataset | size | " + " | ".join(settings) + " |",
             "|---|---|" + "---|" * len(settings)]
    for d in datasets:
        for n in sizes:
            row = []
            for s in settings:
                vals = [r for (dd, nn, ss, _seed, _t), r in cells.items()
                        if dd == d and nn == n and ss == s]
                if not vals:
                    row.append("–")
                    continue
                v = [r["value"] for r in vals]
                sd = f" ± {statistics.stdev(v):.3f}" if len(v) > 1 else ""
                row.append(f"{statistics.mean(v):.3f}{sd} ({len(v)}s, {vals[0]['epochs']}ep)")
            lines.append(f"| {d} | {n} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["mr", "tweeteval_emotion"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[16, 64, 256])
    ap.add_argument("--settings", nargs="+", default=DEFAULT_SETTINGS)
    ap.add_argument("--seeds", type=int, default=2, help="seeds for sizes up to --many-seeds-max")
    ap.add_argument("--many-seeds-max", type=int, default=64,
                    help="larger sizes get one seed (default 64)")
    ap.add_argument("--test-n", type=int, default=200)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--table", action="store_true", help="only print the table of finished cells")
    a = ap.parse_args(argv)
    cells = done_cells(a.out)
    if a.table:
        print(table(cells, a.datasets, a.sizes, a.settings))
        return 0
    import torch
    if a.threads:
        torch.set_num_threads(a.threads)
    from curve_data import load
    from tunewise.training.config import TrainConfig
    a.out.parent.mkdir(parents=True, exist_ok=True)
    loaded = {d: load(d, a.test_n) for d in a.datasets}
    max_seeds = max(a.seeds, 1)
    # seed 0 of everything first: a sweep stopped early still has every cell once
    for seed in range(max_seeds):
        for d in a.datasets:
            task, pool, test = loaded[d]
            for n in a.sizes:
                if seed > 0 and n > a.many_seeds_max:
                    continue
                memo = {}
                for s in a.settings:
                    key = (d, n, s, seed, a.test_n)
                    if key in cells:
                        continue
                    over = setting_overrides(s)
                    cfg = TrainConfig().merged(over)
                    n_train = n if n < cfg.min_val_carve else n - round(n * cfg.val_fraction)
                    effective = (cfg.epochs_for(n_train), over["lr"], cfg.epochs > 0)
                    same = next((r for (dd, nn, _s, sd, t), r in cells.items()
                                 if (dd, nn, sd, t) == (d, n, seed, a.test_n)
                                 and r.get("effective") == list(effective)), None)
                    if same is not None:
                        rec = {**same, "setting": s, "shared_with": same["setting"]}
                    else:
                        print(f"{time.strftime('%H:%M:%S')} {d} n={n} {s} seed {seed} "
                              f"({effective[0]} epochs)", flush=True)
                        rec = {"dataset": d, "size": n, "setting": s, "seed": seed,
                               "test_n": a.test_n, "effective": list(effective),
                               **run_cell(task, pool, test, size=n, seed=seed, setting=s,
                                          model=a.model)}
                        print(f"   {rec['metric']} {rec['value']:.3f} ({rec['seconds']:.0f} s)",
                              flush=True)
                    cells[key] = rec
                    with open(a.out, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(rec) + "\n")
                    memo[s] = rec
    print(table(cells, a.datasets, a.sizes, a.settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
