"""Does ``lr: auto`` beat the fixed default rate, and do LoRA adapters on every linear layer beat
attention-only ones? (issue 20, on the movie-review curve of bench/curve_bench.py)

Variants, each trained with ``tunewise.training.train`` (the compare's fine-tuning run) on the same
seeded, class-proportional subsets of the ``mr`` pool and scored by label scoring on the same
``--test-n`` held-out sentences:

- ``default``: today's defaults (LoRA r=8 on q_proj/v_proj, lr 1e-3);
- ``auto``: ``lr: auto`` as ``tunewise compare`` runs it: the 3 rates of
  ``tunewise.comparison.lr_search.rates("lora")`` trained at the search size (the curve's middle
  size, at least 64: ``lr_search.default_search_size``), seed 0, each scored on a validation set
  of ``--val-n`` sentences held out of the pool (never the test sentences); ``lr_search.pick``
  chooses (the best, if a paired bootstrap says it beats the default; else the default), and
  the choice trains every size and seed. When it picks the default, its cells ARE the default's;
- ``all-linear``: LoRA on q/k/v/o/gate/up/down at r=2, the same parameter budget as r=8 on q/v
  (SmolLM2-135M: 20,352 vs 15,360 per layer), lr 1e-3 ("LoRA Without Regret", 2025: LoRA on the
  MLP matches full fine-tuning where attention-only does not; the best rate barely depends on r).

Every cell (with its per-example correctness, for a paired comparison) is appended to
bench/out/lr_targets_bench.jsonl; a rerun skips finished cells. ``--table`` prints mean ± sd per
variant and size and the paired difference to ``default``.

    nohup python bench/lr_targets_bench.py --threads 2 > bench/out/lr_targets_bench.log 2>&1 &
    python bench/lr_targets_bench.py --table
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curve_bench import commit  # noqa: E402
from curve_data import ROOT, read_cells, setup_env  # noqa: E402

setup_env()

OUT = ROOT / "bench" / "out" / "lr_targets_bench.jsonl"
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
VARIANTS = {"default": {}, "all-linear": {"lora_targets": ALL_LINEAR, "lora_r": 2}}


def data(test_n: int, val_n: int):
    """(task, pool, val, test): curve_data's mr split, ``val_n`` of the pool held out."""
    from curve_data import load
    task, pool, test = load("mr", test_n)
    pool = list(pool)
    random.Random(1).shuffle(pool)
    return task, pool[val_n:], pool[:val_n], test


def run(task, pool, scored: dict, *, size: int, seed: int, model: str, overrides: dict) -> dict:
    """Train on the seeded subset of ``size``; score every split of ``scored`` (name -> examples)."""
    from curve_data import headline, subset
    from tunewise.prompting.predict import predict
    from tunewise.training import train
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tw-lr-") as tmp:
        res = train(subset(pool, size, seed), task=task, out=Path(tmp) / "run", model=model,
                    seed=seed, checkpoint_every=0, keep_checkpoints=1, say=lambda m: None,
                    progress=False, **overrides)
        info = json.loads((Path(tmp) / "run" / "run.json").read_text())
    rec = {"epochs": info.get("epochs"), "model_selection": info.get("model_selection"),
           "lr": info["config"]["lr"], "targets": info["config"]["lora"]["targets"],
           "r": info["config"]["lora"]["r"], "train_seconds": res.timing["train_seconds"]}
    for name, examples in scored.items():
        preds = predict(task, res.lm, examples, batch_size=32, progress=False)
        metric, value = headline(task, [p.gold for p in preds], [p.pred for p in preds])
        rec[name] = {"metric": metric, "value": value,
                     "correct": [int(p.pred == p.gold) for p in preds]}
    rec["seconds"] = time.perf_counter() - t0
    return rec


def search(cells, append, task, pool, val, test, *, size: int, model: str) -> float:
    """The lr: auto choice: the rates at ``size``, seed 0, scored on ``val``, chosen by
    ``lr_search.pick`` (the best, if significantly better than the default)."""
    from tunewise.comparison.lr_search import rates
    for lr in rates("lora"):
        key = ("search", size, 0, lr)
        if key not in cells:
            cells[key] = append({"variant": "search", "size": size, "seed": 0, "lr_tried": lr,
                                 **run(task, pool, {"val": val, "test": test}, size=size,
                                       seed=0, model=model, overrides={"lr": lr})})
        print(f"   search lr {lr:g}: val {cells[key]['val']['value']:.3f}", flush=True)
    lines, best = search_lines(cells)
    print(f"   {lines[0]}", flush=True)
    return best


def search_lines(cells: dict) -> tuple[list[str], float | None]:
    """The search's trials (validation and test accuracy) and its choice, from the cells."""
    from tunewise.comparison.lr_search import FACTORS, pick, rates
    from tunewise.tasks.metric_types import Accuracy
    trials = sorted((k[3], r) for k, r in cells.items() if k[0] == "search")
    if not trials:
        return [], None
    # accuracy of the per-example correctness against all-correct golds is the accuracy
    preds = {lr: r["val"]["correct"] for lr, r in trials}
    best, vs = pick(Accuracy(), [1] * len(trials[0][1]["val"]["correct"]), preds,
                    default=rates("lora")[FACTORS.index(1.0)])
    test = "" if vs is None else (f" (best {vs['lr']:g}: +{vs['diff']:.3f} over the default on "
                                  f"validation, paired bootstrap p = {vs['p_value']:.2g})")
    lines = [f"lr search at size {trials[0][1]['size']}, seed 0: " + "; ".join(
        f"lr {lr:g}: validation {r['val']['value']:.3f} (test {r['test']['value']:.3f})"
        for lr, r in trials) + f" -> chooses {best:g}{test}"]
    return lines, best


def table(cells: dict, sizes) -> str:
    found, chosen = search_lines(cells)
    same = chosen is not None and math.isclose(chosen, 1e-3)
    lines = found + ["", "| variant | size | accuracy (mean ± sd, seeds) | − default (paired mean) "
                     "| lr |", "|---|---|---|---|---|"]
    for variant in ("default", "auto", "all-linear"):
        for n in sizes:
            # lr: auto that chose the default rate trains exactly the default's runs
            want = "default" if variant == "auto" and same else variant
            rows = {s: r for (v, nn, s, _lr), r in cells.items() if v == want and nn == n}
            if not rows:
                continue
            vals = [r["test"]["value"] for r in rows.values()]
            base = {s: r for (v, nn, s, _lr), r in cells.items() if v == "default" and nn == n}
            diffs = [statistics.mean(rows[s]["test"]["correct"]) -
                     statistics.mean(base[s]["test"]["correct"]) for s in rows if s in base]
            sd = f" ± {statistics.stdev(vals):.3f}" if len(vals) > 1 else ""
            d = f"{statistics.mean(diffs):+.3f} ({len(diffs)})" if diffs else "–"
            lrs = sorted({f"{r['lr']:g}" for r in rows.values()})
            lines.append(f"| {variant} | {n} | {statistics.mean(vals):.3f}{sd} ({len(vals)}) "
                         f"| {d} | {', '.join(lrs)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[16, 64, 256, 1024])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=["default", "auto", "all-linear"],
                    choices=["default", "auto", "all-linear"])
    ap.add_argument("--test-n", type=int, default=500)
    ap.add_argument("--val-n", type=int, default=200, help="the search's validation set "
                    "(compare's arms.fine_tune.max_val default)")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--table", action="store_true")
    a = ap.parse_args(argv)
    cells = read_cells(a.out, ("variant", "size", "seed", "lr_tried"))
    if a.table:
        print(table(cells, a.sizes))
        return 0
    import torch
    if a.threads:
        torch.set_num_threads(a.threads)
    a.out.parent.mkdir(parents=True, exist_ok=True)

    def append(rec: dict) -> dict:
        with open(a.out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
        return rec

    task, pool, val, test = data(a.test_n, a.val_n)
    sizes = sorted(a.sizes)
    chosen = None
    if "auto" in a.variants:
        from tunewise.comparison.lr_search import default_search_size
        size = default_search_size(sizes)          # as compare picks it (no lr_search_size)
        print(f"{time.strftime('%H:%M:%S')} lr search at size {size}", flush=True)
        chosen = search(cells, append, task, pool, val, test, size=size, model=a.model)
    for seed in range(a.seeds):
        for n in sizes:
            for variant in a.variants:
                overrides = dict(VARIANTS.get(variant, {}))
                if variant == "auto":
                    if math.isclose(chosen, 1e-3):
                        continue     # the default's cells are auto's (same rate, same runs)
                    overrides["lr"] = chosen
                key = (variant, n, seed, None)
                trial = cells.get(("search", n, seed, 1e-3))
                if key not in cells and variant == "default" and trial:
                    # the search's default-rate trial is this very run (same subset, seed, rate)
                    cells[key] = append({**trial, "variant": "default", "lr_tried": None})
                if key in cells:
                    continue
                print(f"{time.strftime('%H:%M:%S')} {variant} n={n} seed {seed}", flush=True)
                cells[key] = append({"variant": variant, "size": n, "seed": seed,
                                     "lr_tried": None, "commit": commit(),
                                     **run(task, pool, {"test": test}, size=n, seed=seed,
                                           model=a.model, overrides=overrides)})
                r = cells[key]
                print(f"   {r['test']['metric']} {r['test']['value']:.3f} ({r['seconds']:.0f} s, "
                      f"{r['epochs']} epochs, lr {r['lr']:g})", flush=True)
    print(table(cells, sizes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
