"""Fine-tuning speed and accuracy: tunewise vs transformers.Trainer + PEFT (the common way).

Data: 800 training and 200 held-out movie reviews from ../shared/datasets/mr (Pang & Lee sentence
polarity; cp1252, ``label text`` per line, split on \\n only), class-balanced, seeded, disjoint.
Labels 0/1 are named negative/positive; the prompt is the sentiment preset, rendered with the
model's chat template (the same text for both arms).

Both arms: the embedded SmolLM2-135M-Instruct, LoRA r=8 on q_proj/v_proj, 1 epoch, batch 8.

- baseline: ``transformers.Trainer`` + PEFT with the default language-modelling collator
  (``DataCollatorForLanguageModeling(mlm=False)``: loss on every token of the chat text, padding
  to the longest row of a random batch), fp32, lr 2e-4 (a usual PEFT LoRA rate; Trainer's
  default 5e-5 learns less), otherwise Trainer defaults.
- tunewise: ``tunewise.training.train`` with its defaults (answer-only loss, vocabulary head only
  at answer positions, length-grouped batches, bf16 autocast where the CPU supports it,
  lr 1e-3 linear with warmup), no checkpoints, no early stopping (one epoch).

Figures: training examples/s (training steps only), real (non-padding) tokens/s, and validation
accuracy of label scoring (``tunewise.evaluation.evaluate.predict``) on the 200 held-out reviews,
plus the zero-shot accuracy of the untrained model for reference.

Measured on a quiet 2-core machine (AVX-512 BF16 / AMX), 2 threads, 800 / 200 reviews, each
line one run (both arms in the same run):

    2026-11-28 (SDPA, autocast casts):     tunewise 5.91 ex/s  baseline 2.57 ex/s   2.30x
    2026-11-30 + eager attention:          tunewise 7.90 ex/s  baseline 3.22 ex/s   2.45x
    2026-11-30 + frozen weights held bf16: tunewise 7.72 ex/s  baseline 2.88 ex/s   2.68x
    accuracy after one epoch: tunewise 0.850 / 0.860 / 0.855, baseline 0.730 / 0.755 / 0.755

The two changes of 2026-11-30: PyTorch's SDPA backward on CPU took 23% of a step for these
60-token rows (eager attention: 1.15x), and autocast cast every frozen weight to bf16 again in
every forward (18% of a step; they are now held as bf16 twins during the steps).

2026-12-01, the same machine quieter (the baseline ran 4.0-4.3 ex/s; one run per line):

    2026-11-30 code:                       tunewise 10.3 ex/s   baseline 4.20 ex/s   2.45x
    + LoRA dropout from Geometric gaps:    tunewise 12.8 ex/s   baseline 4.33 ex/s   2.96x
    + shared prefix as a row of the batch: tunewise 14.4 ex/s   baseline 4.05 ex/s   3.56x
    accuracy after one epoch: tunewise 0.855 / 0.860 / 0.860, baseline 0.755

torch's CPU ``bernoulli_`` draws one Mersenne-Twister number per element: the LoRA dropout
masks were 18% of a forward pass; ``training/dropout.py`` draws only the gaps between dropped
elements (same distribution, ~4x cheaper), and PEFT's fp32 round trip of the LoRA input is
skipped in bf16 steps. The separate batch-1 pass over the shared prompt prefix cost almost a
whole pass (each CPU matmul re-packs its weights, whatever the number of rows);
``training/prefix_row.py`` runs the prefix as row 0 of the batch's own pass (one training step
604 -> 528 ms for 8 reviews of ~65 tokens).

Usage::

    python bench/train_bench.py              # 800 / 200 (several minutes on 2 cores)
    python bench/train_bench.py --quick      # 160 / 60, smoke run
    python bench/train_bench.py --only tunewise --precision fp32
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TUNEWISE_HOME", str(ROOT / ".cache" / "tunewise"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mr import LABELS, MR, load_mr  # noqa: E402,F401


def split(rows, n_train: int, n_val: int, seed: int = 0):
    """Class-balanced, disjoint train / held-out samples."""
    rng = random.Random(seed)
    by: dict[str, list] = {}
    for r in rows:
        by.setdefault(r[1], []).append(r)
    train, val = [], []
    for lab in sorted(by):
        picked = rng.sample(by[lab], (n_train + n_val) // len(by))
        train += picked[:n_train // len(by)]
        val += picked[n_train // len(by):]
    rng.shuffle(train)
    rng.shuffle(val)
    return train, val


def to_examples(rows, name: str):
    from tunewise.data.records import Example
    return [Example.from_text(text, lab, label=lab, meta={"source": name, "line": i + 1})
            for i, (text, lab) in enumerate(rows)]


def accuracy(task, lm, examples, bf16: bool) -> float:
    from tunewise.prompting.predict import predict
    preds = predict(task, lm, examples, batch_size=32, bf16=bf16, progress=False)
    return task.metrics([p.gold for p in preds], [p.pred for p in preds])["accuracy"]


# ---------------------------------------------------------------------------------------------
def run_baseline(task, train_ex, val_ex, args) -> dict:
    """transformers.Trainer + PEFT LoRA, default causal-LM collator, loss on the whole text."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments
    from tunewise.models.load import load_model
    from tunewise.tasks.render import encode_answer, encode_prompt
    torch.manual_seed(0)
    lm = load_model()
    tok = lm.tokenizer
    rows = [{"input_ids": encode_prompt(tok, task.prompt_messages(ex)) +
             encode_answer(tok, task.target(ex))} for ex in train_ex]
    real_tokens = sum(len(r["input_ids"]) for r in rows)
    model = get_peft_model(lm.model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05,
                                                target_modules=["q_proj", "v_proj"],
                                                task_type="CAUSAL_LM"))
    out = tempfile.mkdtemp(prefix="tw-bench-trainer-")
    targs = TrainingArguments(output_dir=out, per_device_train_batch_size=8, num_train_epochs=1,
                              learning_rate=2e-4, logging_steps=10_000, save_strategy="no",
                              report_to=[], seed=0, use_cpu=True, disable_tqdm=True)
    trainer = Trainer(model=model, args=targs, train_dataset=rows,
                      data_collator=DataCollatorForLanguageModeling(tok, mlm=False))
    t0 = time.perf_counter()
    metrics = trainer.train().metrics
    seconds = time.perf_counter() - t0
    model.eval()
    lm.model = model
    acc = accuracy(task, lm, val_ex, bf16=False)
    return {"train_seconds": seconds,
            "train_examples_per_second": len(rows) / seconds,
            "trainer_reported_samples_per_second": metrics.get("train_samples_per_second"),
            "real_tokens_per_second": real_tokens / seconds, "val_accuracy": acc}


def run_tunewise(task, train_ex, val_ex, args) -> dict:
    from tunewise.training import train
    out = Path(tempfile.mkdtemp(prefix="tw-bench-train-")) / "run"
    overrides = dict(epochs=1, batch_size=8, lora_r=8, lora_targets=["q_proj", "v_proj"],
                     checkpoint_every=0, patience=0, seed=0)
    if args.precision:
        overrides["precision"] = args.precision
    if args.lr:
        overrides["lr"] = args.lr
    res = train(train_ex, val=val_ex, out=out, task=task, progress=False,
                say=lambda m: print("  tunewise:", m, file=sys.stderr), **overrides)
    return {"train_seconds": res.timing["train_seconds"],
            "train_examples_per_second": res.timing["train_examples_per_second"],
            "real_tokens_per_second": res.timing["train_tokens_per_second"],
            "val_accuracy": res.metrics["accuracy"], "run_dir": str(out)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="160 train / 60 held-out reviews")
    ap.add_argument("--n-train", type=int, default=800)
    ap.add_argument("--n-val", type=int, default=200)
    ap.add_argument("--only", choices=["tunewise", "baseline"])
    ap.add_argument("--precision", choices=["auto", "bf16", "fp32"])
    ap.add_argument("--lr", type=float)
    ap.add_argument("--no-zero-shot", action="store_true")
    ap.add_argument("--threads", type=int,
                    help="torch threads for both arms (default: torch's own; on a busy shared "
                         "machine 1 avoids the collapse of oversubscribed OpenMP threads)")
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = ap.parse_args()
    if not MR.exists():
        print(f"dataset not found: {MR}", file=sys.stderr)
        return 2
    n_train, n_val = (160, 60) if args.quick else (args.n_train, args.n_val)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    from tunewise.models.load import load_model
    from tunewise.tasks import make_task
    from tunewise.models.device import cpu_supports_bf16
    train_rows, val_rows = split(load_mr(), n_train, n_val)
    train_ex, val_ex = to_examples(train_rows, "mr-train"), to_examples(val_rows, "mr-val")
    task = make_task("classification", train_ex, preset="sentiment")
    print(f"mr: {len(train_ex)} training / {len(val_ex)} held-out reviews; {torch.get_num_threads()}"
          f" threads; CPU bf16: {cpu_supports_bf16()}", file=sys.stderr)

    results: dict = {"n_train": len(train_ex), "n_val": len(val_ex)}
    if not args.no_zero_shot:
        results["zero_shot_accuracy"] = accuracy(task, load_model(), val_ex, bf16=False)
        print(f"zero-shot accuracy: {results['zero_shot_accuracy']:.3f}", file=sys.stderr)
    if args.only != "baseline":
        results["tunewise"] = run_tunewise(task, train_ex, val_ex, args)
        print(f"tunewise: {results['tunewise']}", file=sys.stderr)
    if args.only != "tunewise":
        results["baseline"] = run_baseline(task, train_ex, val_ex, args)
        print(f"baseline: {results['baseline']}", file=sys.stderr)

    print(f"\n{'':28}{'baseline':>12}{'tunewise':>12}{'ratio':>8}")
    for key, label in (("train_examples_per_second", "train examples/s"),
                       ("real_tokens_per_second", "real tokens/s"),
                       ("val_accuracy", "val accuracy")):
        b = results.get("baseline", {}).get(key)
        t = results.get("tunewise", {}).get(key)
        ratio = f"{t / b:.2f}x" if (b and t) else ""
        fmt = (lambda v: f"{v:12.3f}") if key == "val_accuracy" else (lambda v: f"{v:12.1f}")
        print(f"{label:28}{fmt(b) if b is not None else '':>12}{fmt(t) if t is not None else '':>12}"
              f"{ratio:>8}")
    if "zero_shot_accuracy" in results:
        print(f"{'zero-shot accuracy (ref.)':28}{results['zero_shot_accuracy']:12.3f}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
