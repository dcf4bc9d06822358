"""Is tunewise's fine-tuned learning curve as good as a careful practitioner's? (issue 10)

For each dataset (``--datasets``: mr, tweeteval_emotion, tweeteval_offensive, wnut17 from
../shared/datasets) and training size (``--sizes``, default 16 64 256 1024; ``--seeds`` seeds for
sizes up to 64, ``--big-seeds`` above): the headline metric (accuracy, or macro-F1 when the
test labels are imbalanced: tunewise compare's rule; entity F1 of greedy generation for NER) on
the same ``--test-n`` held-out examples of

- **tunewise**: ``tunewise.training.train`` with its defaults (``epochs: auto`` budget, model
  selection by data size, lr from the config), exactly what ``tunewise compare`` runs per size;
- **plain**: a hand-written loop: PEFT LoRA r=8 (alpha 16, dropout 0.05) on q_proj/v_proj,
  bf16 autocast, AdamW lr 5e-4 (no schedule), batch 8, epochs = max(1, min(16, 512 // n)),
  no early stopping, no validation, loss on the answer (label) tokens only, right padding.

Both arms train on the same seeded, class-proportional subset (the draw ``tunewise compare``
makes) with the same prompt (the task's rendering), and are scored by the same label scoring
(``tunewise.prompting.predict``; greedy generation with the answer budget of the training
draw for NER), so the only difference is the training recipe.

Every finished cell goes to bench/out/curve_bench.jsonl; a rerun skips finished cells (run it
partially with --datasets / --sizes / --arms and fill in later). ``--table`` prints the table
from that file only, with "–" for missing cells.

Usage::

    nohup python bench/curve_bench.py --threads 1 > bench/out/curve_bench.log 2>&1 &
    python bench/curve_bench.py --table
    python bench/curve_bench.py --datasets mr --sizes 16 64 --seeds 2 --test-n 100 --arms plain
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curve_data import ROOT, read_cells, setup_env  # noqa: E402

setup_env()

OUT = ROOT / "bench" / "out" / "curve_bench.jsonl"
ARMS = ("plain", "tunewise")


def plain_epochs(n: int) -> int:
    return max(1, min(16, 512 // n))


def train_plain(task, data, *, model: str, seed: int):
    """The hand-written recipe (module docstring); returns a LoadedModel with the adapter."""
    import torch
    from peft import LoraConfig, get_peft_model
    from tunewise.models.load import LoadedModel, load_model
    from tunewise.tasks.render import encode_answer, encode_prompt
    torch.manual_seed(seed)
    lm = load_model(model)
    tok = lm.tokenizer
    peft_model = get_peft_model(lm.model, LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "v_proj"],
        bias="none", task_type="CAUSAL_LM"))
    rows = []
    for ex in data:
        prompt = encode_prompt(tok, task.prompt_messages(ex))
        answer = encode_answer(tok, str(task.target(ex)))
        rows.append((prompt + answer, [-100] * len(prompt) + answer))
    opt = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=5e-4)
    rng = random.Random(seed)
    peft_model.train()
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    steps = 0
    t0 = time.perf_counter()
    for _epoch in range(plain_epochs(len(data))):
        order = list(range(len(rows)))
        rng.shuffle(order)
        for s in range(0, len(order), 8):
            batch = [rows[i] for i in order[s:s + 8]]
            width = max(len(ids) for ids, _ in batch)
            ids = torch.tensor([i + [pad] * (width - len(i)) for i, _ in batch])
            labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
            mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = peft_model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            steps += 1
    peft_model.eval()
    info = {"epochs": plain_epochs(len(data)), "steps": steps,
            "train_seconds": time.perf_counter() - t0}
    return LoadedModel(model=peft_model, tokenizer=tok, name=lm.name, path=lm.path), info


def train_tunewise(task, data, *, model: str, seed: int):
    from tunewise.training import train
    with tempfile.TemporaryDirectory(prefix="tw-curve-") as tmp:
        res = train(data, task=task, out=Path(tmp) / "run", model=model, seed=seed,
                    checkpoint_every=0, keep_checkpoints=1, say=lambda m: None, progress=False)
        info = json.loads((Path(tmp) / "run" / "run.json").read_text())
    return res.lm, {"epochs": info.get("epochs"), "best_epoch": info.get("best_epoch"),
                    "n_train": info.get("n_train"), "n_val": info.get("n_val"),
                    "model_selection": info.get("model_selection"),
                    "lr": info["config"]["lr"], "train_seconds": res.timing["train_seconds"]}


def commit() -> str:
    """The checkout's commit (recorded with every cell: the table may mix runs of two commits)."""
    import subprocess
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_cell(task, pool, test, *, arm: str, size: int, seed: int, model: str) -> dict:
    from curve_data import headline, subset
    from tunewise.prompting.predict import predict
    data = subset(pool, size, seed)
    t0 = time.perf_counter()
    fn = train_plain if arm == "plain" else train_tunewise
    lm, info = fn(task, data, model=model, seed=seed)
    preds = predict(task, lm, test, budget_from=data, batch_size=32, progress=False)
    metric, value = headline(task, [p.gold for p in preds], [p.pred for p in preds])
    return {"metric": metric, "value": value, **info, "seconds": time.perf_counter() - t0,
            "commit": commit(),
            # per test example, for bench/curve_predict_bench.py fit --source curve_bench
            "correct": [int(p.pred == p.gold) for p in preds]}


def load_cells(path: Path) -> dict:
    return read_cells(path, ("dataset", "size", "arm", "seed", "test_n"))


def table(cells: dict, datasets, sizes, test_n: int, min_diff: float = -0.02) -> str:
    lines = ["| dataset | size | metric | tunewise (mean ± sd, seeds) | plain (mean ± sd, seeds) "
             "| tunewise − plain | target (≥ −0.02) |", "|---|---|---|---|---|---|---|"]
    for d in datasets:
        for n in sizes:
            got, metric = {}, ""
            for arm in ARMS:
                vals = [r for (dd, nn, aa, _s, t), r in cells.items()
                        if dd == d and nn == n and aa == arm and t == test_n]
                got[arm] = [r["value"] for r in vals]
                metric = metric or (vals[0]["metric"] if vals else "")

            def fmt(v):
                if not v:
                    return "– (not run)"
                sd = f" ± {statistics.stdev(v):.3f}" if len(v) > 1 else ""
                return f"{statistics.mean(v):.3f}{sd} ({len(v)})"
            if got["tunewise"] and got["plain"]:
                diff = statistics.mean(got["tunewise"]) - statistics.mean(got["plain"])
                verdict = "met" if diff >= min_diff else "NOT met"
                dtxt = f"{diff:+.3f}"
            else:
                dtxt, verdict = "–", "–"
            lines.append(f"| {d} | {n} | {metric} | {fmt(got['tunewise'])} | {fmt(got['plain'])} "
                         f"| {dtxt} | {verdict} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["mr", "tweeteval_emotion",
                                                      "tweeteval_offensive"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[16, 64, 256, 1024])
    ap.add_argument("--seeds", type=int, default=3, help="seeds for sizes up to 64 (default 3)")
    ap.add_argument("--big-seeds", type=int, default=1,
                    help="seeds for sizes above 64 (default 1: they are expensive)")
    ap.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    ap.add_argument("--test-n", type=int, default=300)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--table", action="store_true", help="only print the table of finished cells")
    a = ap.parse_args(argv)
    cells = load_cells(a.out)
    if a.table:
        print(table(cells, a.datasets, a.sizes, a.test_n))
        return 0
    import torch
    if a.threads:
        torch.set_num_threads(a.threads)
    from curve_data import load
    a.out.parent.mkdir(parents=True, exist_ok=True)
    loaded = {}
    # seed 0 of every cell first, smallest sizes first: a run cut short has the whole picture
    for seed in range(max(a.seeds, a.big_seeds, 1)):
        for n in sorted(a.sizes):
            if seed >= (a.seeds if n <= 64 else a.big_seeds):
                continue
            for d in a.datasets:
                for arm in a.arms:
                    key = (d, n, arm, seed, a.test_n)
                    if key in cells:
                        continue
                    if d not in loaded:
                        loaded[d] = load(d, a.test_n)
                    task, pool, test = loaded[d]
                    print(f"{time.strftime('%H:%M:%S')} {d} n={n} {arm} seed {seed}", flush=True)
                    rec = {"dataset": d, "size": n, "arm": arm, "seed": seed, "test_n": a.test_n,
                           **run_cell(task, pool, test, arm=arm, size=n, seed=seed,
                                      model=a.model)}
                    print(f"   {rec['metric']} {rec['value']:.3f} ({rec['seconds']:.0f} s, "
                          f"{rec.get('epochs')} epochs)", flush=True)
                    cells[key] = rec
                    with open(a.out, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(rec) + "\n")
    print(table(cells, a.datasets, a.sizes, a.test_n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
