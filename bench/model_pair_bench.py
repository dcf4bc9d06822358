"""Two built-in models side by side on the same movie reviews: zero-shot label scoring and a tiny
LoRA (issue 20: a second real model that works offline).

For each model (``--models``, default the embedded instruction-tuned SmolLM2-135M and the
pretrained base Gemma 3 270M) on the same ``--test-n`` held-out movie-review sentences (``mr``
from ../shared/datasets, bench/curve_data.py's split, seed 0):

- **load**: seconds to load the model from its safetensors cache (converted before);
- **zero-shot**: ``tunewise.prompting.predict`` label scoring of "negative"/"positive" (what
  ``tunewise eval`` runs), accuracy and examples per second; again with content-free calibration
  (``--calibrate content-free``);
- **LoRA**: ``tunewise.training.train`` on the same seeded ``--size`` training examples with the
  defaults but a fixed ``--epochs`` (the same steps for both models), then the same scoring:
  accuracy, training seconds and examples per second.

One JSON line per model goes to stdout and bench/out/model_pair_bench.jsonl; a Markdown table
closes the output. CPU-heavy: run it under the shared lock.

Usage::

    flock /tmp/tunewise-cpu.lock python bench/model_pair_bench.py
    python bench/model_pair_bench.py --models tiny-random tiny-random-gemma --test-n 20 --size 16
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curve_data import ROOT, headline, load, setup_env, subset  # noqa: E402

setup_env()

OUT = ROOT / "bench" / "out" / "model_pair_bench.jsonl"


def run_model(name: str, task, pool, test, *, size: int, epochs: int, seed: int) -> dict:
    from tunewise.models.catalog import lookup
    from tunewise.models.load import load_model
    from tunewise.prompting.predict import predict
    from tunewise.training import train
    row: dict = {"model": name}
    entry = lookup(name)
    if entry is not None:
        row.update(kind=entry.kind, parameters=entry.parameters)
    t0 = time.perf_counter()
    lm = load_model(name)
    row["load_seconds"] = round(time.perf_counter() - t0, 2)
    row["parameters_counted"] = sum(p.numel() for p in lm.model.parameters())
    t0 = time.perf_counter()
    preds = predict(task, lm, test, batch_size=32, progress=False)
    secs = time.perf_counter() - t0
    metric, value = headline(task, [p.gold for p in preds], [p.pred for p in preds])
    row.update(metric=metric, zero_shot=round(value, 4), zero_shot_seconds=round(secs, 1),
               zero_shot_examples_per_s=round(len(test) / secs, 2),
               zero_shot_answers=sorted({p.pred for p in preds}))
    preds = predict(task, lm, test, batch_size=32, calibrate="content-free", progress=False)
    row["zero_shot_calibrated"] = round(headline(task, [p.gold for p in preds],
                                                 [p.pred for p in preds])[1], 4)
    del lm
    data = subset(pool, size, seed)
    with tempfile.TemporaryDirectory(prefix="tw-pair-") as tmp:
        t0 = time.perf_counter()
        res = train(data, task=task, out=Path(tmp) / "run", model=name, seed=seed,
                    epochs=epochs, checkpoint_every=0, keep_checkpoints=1,
                    say=lambda m: None, progress=False)
        wall = time.perf_counter() - t0
        info = json.loads((Path(tmp) / "run" / "run.json").read_text())
        t0 = time.perf_counter()
        preds = predict(task, res.lm, test, batch_size=32, progress=False)
        ft_secs = time.perf_counter() - t0
    _m, ft = headline(task, [p.gold for p in preds], [p.pred for p in preds])
    train_s = res.timing["train_seconds"]
    row.update(lora_size=size, lora_epochs=epochs, lora_n_train=info.get("n_train"),
               lora_steps=-(-(info.get("n_train") or size) // 8) * epochs,   # batch 8
               lora_hardware=info.get("hardware"),
               lora=round(ft, 4), lora_train_seconds=round(train_s, 1),
               lora_wall_seconds=round(wall, 1),
               lora_examples_per_s=round((info.get("n_train") or size) * epochs / train_s, 2),
               lora_eval_seconds=round(ft_secs, 1))
    return row


def table(rows: list[dict]) -> str:
    out = ["| model | kind | params | load s | zero-shot acc (calibrated) | zero-shot ex/s "
           "| LoRA acc | LoRA train s | LoRA train ex/s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['model']} | {r.get('kind', '')} | {r['parameters_counted'] / 1e6:.0f}M "
                   f"| {r['load_seconds']} | {r['zero_shot']:.3f} ({r['zero_shot_calibrated']:.3f}) "
                   f"| {r['zero_shot_examples_per_s']} "
                   f"| {r['lora']:.3f} | {r['lora_train_seconds']} | {r['lora_examples_per_s']} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["smollm2-135m-instruct", "gemma-3-270m"])
    ap.add_argument("--test-n", type=int, default=200)
    ap.add_argument("--size", type=int, default=64, help="LoRA training examples")
    ap.add_argument("--epochs", type=int, default=2, help="LoRA epochs (fixed, both models)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    a = ap.parse_args(argv)
    import torch
    if a.threads:
        torch.set_num_threads(a.threads)
    task, pool, test = load("mr", a.test_n, seed=0)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in a.models:
        r = run_model(name, task, pool, test, size=a.size, epochs=a.epochs, seed=a.seed)
        r.update(test_n=len(test), torch_threads=torch.get_num_threads())
        print(json.dumps(r), flush=True)
        with OUT.open("a", encoding="utf-8") as f:
            f.write(json.dumps(r) + "\n")
        rows.append(r)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
