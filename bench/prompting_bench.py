"""Prompting speed and quality: ``tunewise eval`` vs a competent per-example ``model.generate``.

Two tasks, the embedded model (SmolLM2-135M-Instruct), the same prompt and the same examples for
both arms; the ratio of examples/s is what counts (the machine is shared, so run it more than once).

Sentiment (../shared/datasets/mr, movie-review sentences, a class-balanced seeded sample):

- baseline: what a careful user writes by hand: one ``model.generate`` per example, greedy,
  ``max_new_tokens`` = the longest label's tokens + the end-of-turn token, the prompt names the
  labels (the ``sentiment`` preset), the answer normalised (case, punctuation, first word)
  before it is matched to a label; an answer that is no label counts as wrong. fp32, as loaded.
- tunewise zero-shot: ``evaluate(...)`` with its defaults (label log-likelihood, batched,
  shared-prefix KV cache, bf16 body with close calls re-scored in fp32); timing is the prediction
  loop, as ``tunewise eval`` reports it
- tunewise fp32: the same forced to fp32 (``--fp32``): how many predictions bf16 changed
- tunewise 0-shot calibrated, 4-shot: as before, for the record

NER (../shared/datasets/wnut17, test sentences; entity types and the generation budget from the
training file):

- baseline: one ``model.generate`` per sentence, greedy, the same prompt, ``max_new_tokens`` the
  same budget tunewise derives (longest training answer + margin), stopping at end-of-turn and
  at a blank line (``stop_strings``), parsed by the same ``NERTask.parse``
- tunewise zero-shot: ``evaluate(...)``: batched generation, the same budget and stops, plus the
  echo stop

Measured 2026-11-30 22:20-22:35 on a quiet 2-core machine (AVX-512 BF16 / AMX; the curve
benchmarks paused), 2 threads, ``--task sentiment --shots 0``, one run each:

    before (autocast bf16, batch 16):   tunewise 34.4 ex/s   baseline 6.19 ex/s   5.6x
    bf16 body copy, batch 16:           tunewise 36.7 ex/s   baseline 5.56 ex/s   6.6x
    bf16 body copy, batch 32 (default): tunewise 40.5 ex/s   baseline 6.27 ex/s   6.5x
    accuracy 0.520 (tunewise) vs 0.320 (baseline); default vs fp32: 0 of 200 predictions differ;
    24 close calls re-scored in fp32; calibrated zero-shot 0.670

2026-12-01, the same machine quieter, one run per line (the curve benchmarks paused):

    2026-11-30 code:                          tunewise 47.3 ex/s   baseline 7.55 ex/s   6.3x
    fp32 re-scoring in length-sorted batches of 8 (RECHECK_BATCH):
                                              tunewise 54.3 ex/s   baseline 7.61 ex/s   7.1x
    without the fp32 re-check (BF16_RECHECK_MARGIN = 0, not the default):
                                              tunewise 75.8 ex/s   baseline 7.46 ex/s  10.2x
    accuracy 0.520 (0.540 without the re-check: 4 of the 200 predictions then differ from
    fp32's); baseline 0.320

**The 10x target is not met with predictions equal to fp32's.** bf16 alone reaches it but
changes 4 of 200 predictions here, so by the issue's own condition (bf16 where a check set shows
it changes no prediction) it does not qualify; the fp32 re-check of the 24 close calls costs
~1.1 s of the 3.7 s. (On 2026-11-30, where the time went (200 sentences, batch 32): the bf16
pass over all 200 took 3.2 s (62.5 ex/s, ~10x the baseline by itself), the fp32 re-scoring of the
24 calls that bf16 could have flipped (margin < 0.35 nats; bf16 moves a margin by up to 0.25)
took ~1.1-1.5 s: fp32 runs at ~23 ex/s on this CPU. Inside the bf16 pass the matmuls are 44%,
element-wise ops (RMSNorm, rotary, SiLU, casts) ~35%, attention 12%. Dropping the fp32
re-check would trade the guarantee that every prediction is fp32's for the last 1.5x; it was
kept.)

NER (an earlier run, 2026-11-30, loaded machine: load average 3.8 at the end): 100 wnut17 test
sentences, budget 61 tokens from the training answers: tunewise zero-shot 0.85 ex/s (finish:
24 echo, 24 length, 28 blank line, 24 end of turn), baseline 0.11 ex/s: 7.6x, identical entity
lists on 100 of 100, entity F1 0.000 for both (the 135M model finds no WNUT entity zero-shot).

The baseline's accuracy is far below the 0.655 issue #10 measured: on this sample the embedded
model answers a label in only ~55% of greedy answers with the best prompt found (9% with the old
preset, which had no "Sentiment:" cue).

Usage::

    python bench/prompting_bench.py                  # sentiment (200) and NER (100)
    python bench/prompting_bench.py --task sentiment --n 400
    python bench/prompting_bench.py --quick          # 40 sentences / 20 NER sentences
"""
from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TUNEWISE_HOME", str(ROOT / ".cache" / "tunewise"))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mr import LABELS, MR, load_mr  # noqa: E402,F401

WNUT = ROOT.parent / "shared" / "datasets" / "wnut17"


def balanced_sample(rows, n: int, seed: int, exclude=()):
    rng = random.Random(seed)
    skip = set(exclude)
    by = {}
    for text, lab in rows:
        if text not in skip:
            by.setdefault(lab, []).append((text, lab))
    out = []
    for lab in sorted(by):
        out += rng.sample(by[lab], n // len(by))
    rng.shuffle(out)
    return out


def normalise(text: str) -> str:
    """The answer's first word, lower case, without punctuation ("Positive." -> "positive")."""
    words = re.sub(r"[^\w\s-]", " ", (text or "").lower()).split()
    return words[0] if words else ""


def _generate_one(lm, ids, max_new_tokens, **kw):
    import torch
    tok = lm.tokenizer
    ids = torch.tensor([ids])
    with torch.inference_mode():
        out = lm.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                max_new_tokens=max_new_tokens, do_sample=False,
                                pad_token_id=tok.pad_token_id, **kw)
    return tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def baseline_sentiment(task, lm, examples):
    """Per-example greedy ``generate``, just enough tokens for the longest label + end of turn,
    the answer normalised before matching."""
    from tunewise.tasks.render import encode_prompt
    tok = lm.tokenizer
    budget = max(len(tok(lab, add_special_tokens=False)["input_ids"]) for lab in task.labels) + 1
    by_norm = {normalise(lab): lab for lab in task.labels}
    preds = []
    for ex in examples:
        text = _generate_one(lm, encode_prompt(tok, task.prompt_messages(ex)), budget)
        preds.append(by_norm.get(normalise(text)))
    return preds


def baseline_ner(task, lm, examples, budget):
    """Per-example greedy ``generate``: the same prompt and budget, stop at end of turn or a
    blank line, the same parser."""
    from tunewise.tasks.render import encode_prompt
    tok = lm.tokenizer
    return [task.parse(_generate_one(lm, encode_prompt(tok, task.prompt_messages(ex)), budget,
                                     stop_strings=["\n\n"], tokenizer=tok), ex)
            for ex in examples]


class Runner:
    """Times arms and prints one line each."""

    def __init__(self):
        self.results = {}

    def run(self, name, fn, n, score):
        t = time.perf_counter()
        preds, seconds = fn()
        seconds = seconds if seconds is not None else time.perf_counter() - t
        r = self.results[name] = dict(eps=n / seconds, score=score(preds), seconds=seconds, n=n,
                                      preds=preds)
        print(f"{name:<26} {n:>5} ex  {seconds:8.1f}s  {r['eps']:8.2f} ex/s  "
              f"{r['score']:.3f}", flush=True)
        return r


def _eval(examples, task, **kw):
    """``tunewise eval`` in-process: (predictions, seconds of the prediction loop)."""
    from tunewise.evaluation import evaluate
    r = evaluate(examples, task=task, progress=False, n_resamples=10, **kw)
    return r, [p.pred for p in r.predictions], r.timing["seconds"]


def sentiment(args, runner):
    from tunewise.data.records import Example
    from tunewise.models import load_model
    from tunewise.tasks import make_task
    rows = load_mr()
    sample = balanced_sample(rows, args.n, args.seed)
    examples = [Example.from_text(t, lab, label=lab) for t, lab in sample]
    pool = [Example.from_text(t, lab, label=lab)
            for t, lab in balanced_sample(rows, 200, args.seed + 1, exclude=[t for t, _ in sample])]
    task = make_task(preset="sentiment", examples=examples)
    golds = [task.gold(ex) for ex in examples]

    def acc(preds):
        return sum(g == p for g, p in zip(golds, preds)) / len(golds)
    lm = load_model(memo=True)
    print(f"\n== sentiment: {len(examples)} mr sentences; prompt {task.template.to_dict()}")
    _eval(examples[:4], task)                                             # warm-up, untimed
    baseline_sentiment(task, lm, examples[:2])
    print(f"{'arm':<26} {'n':>5}     {'time':>8}  {'speed':>13}  accuracy")
    info = {}

    def tw(**kw):
        r, preds, s = _eval(examples, task, **kw)
        info.update(r.settings)
        return preds, s
    z = runner.run("tunewise zero-shot", tw, len(examples), acc)
    rechecked = info.get("fp32_rechecked")
    b = runner.run("baseline generate", lambda: (baseline_sentiment(task, lm, examples), None),
                   len(examples), acc)
    print(f"  (bf16 {info.get('bf16')}, {rechecked} close call(s) re-scored in fp32)")
    f = runner.run("tunewise zero-shot fp32", lambda: tw(bf16=False), len(examples), acc)
    flips = sum(x != y for x, y in zip(z["preds"], f["preds"]))
    print(f"  default vs fp32: {flips} of {len(examples)} predictions differ")
    if not args.quick:
        runner.run("tunewise 0-shot calibrated", lambda: tw(calibrate=True), len(examples), acc)
    if not args.quick and args.shots:
        runner.run(f"tunewise {args.shots}-shot", lambda: tw(
            shots=args.shots, shots_from=pool, shot_selection="balanced"), len(examples), acc)
    print(f"SENTIMENT zero-shot vs baseline: {z['eps'] / b['eps']:.1f}x examples/s "
          f"(target >= 10x); accuracy {z['score']:.3f} vs {b['score']:.3f} (target >=)")


def ner(args, runner):
    from tunewise.data import read
    from tunewise.prompting.predict import generation_budget
    from tunewise.models import load_model
    from tunewise.tasks import make_task
    from tunewise.tasks.ner import ner_metrics
    if not WNUT.exists():
        print(f"skipped NER: {WNUT} not found")
        return
    train = read(WNUT / "wnut17train.conll", format="conll")
    test = read(WNUT / "emerging.test.annotated", format="conll")
    examples = random.Random(args.seed).sample(test, args.ner_n)
    task = make_task("ner", train)
    lm = load_model(memo=True)
    budget = generation_budget(task, lm.tokenizer, train)
    golds = [task.gold(ex) for ex in examples]

    def f1(preds):
        return ner_metrics(golds, preds)["f1"]
    print(f"\n== NER: {len(examples)} wnut17 test sentences; types {task.types}; "
          f"max_new_tokens {budget} (longest training answer + margin)")
    baseline_ner(task, lm, examples[:1], budget)                          # warm-up, untimed
    print(f"{'arm':<26} {'n':>5}     {'time':>8}  {'speed':>13}  entity F1")
    finish = {}

    def tw():
        r, preds, s = _eval(examples, task, train=train)
        for p in r.predictions:
            finish[p.extra["finish"]] = finish.get(p.extra["finish"], 0) + 1
        return preds, s
    z = runner.run("tunewise NER zero-shot", tw, len(examples), f1)
    print(f"  (finish reasons: {finish})")
    b = runner.run("baseline NER generate", lambda: (baseline_ner(task, lm, examples, budget),
                                                      None), len(examples), f1)
    same = sum(x == y for x, y in zip(z["preds"], b["preds"]))
    print(f"  identical entity lists: {same} of {len(examples)}")
    print(f"NER zero-shot vs baseline: {z['eps'] / b['eps']:.1f}x examples/s; "
          f"entity F1 {z['score']:.3f} vs {b['score']:.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=["sentiment", "ner", "both"], default="both")
    ap.add_argument("--n", type=int, default=200, help="movie sentences (balanced)")
    ap.add_argument("--ner-n", type=int, default=100, help="wnut17 test sentences")
    ap.add_argument("--quick", action="store_true", help="40 sentences, 20 NER sentences")
    ap.add_argument("--shots", type=int, default=4, help="shots for the k-shot sentiment arm")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for both arms (default: torch's; 1 on a loaded machine)")
    args = ap.parse_args(argv)
    if args.quick:
        args.n, args.ner_n = 40, 20
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch threads {torch.get_num_threads()}; load average {os.getloadavg()[0]:.1f}")
    runner = Runner()
    if args.task in ("sentiment", "both"):
        if not MR.exists():
            sys.exit(f"dataset not found: {MR} (../shared/datasets is absent)")
        sentiment(args, runner)
    if args.task in ("ner", "both"):
        ner(args, runner)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    return runner.results


if __name__ == "__main__":
    main()
