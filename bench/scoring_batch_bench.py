"""Label scoring on a CPU: batches of ``batch_size`` rows (the old way) against token-sized
batches (today's: at most ``CPU_BATCH_TOKENS`` tokens, rows x longest row).

The same prompts for both: movie-review sentences (../shared/datasets/mr, a seeded sample) with
their 4 nearest training sentences as shots (the demo's k-shot arm, ~250 tokens a prompt) and
without shots (zero-shot, ~70 tokens), the ``sentiment`` preset, SmolLM2-135M in fp32.
The two ways alternate ``--reps`` times so a slow spell of the shared machine hits both.
Printed: seconds per way (median), the ratio, and the largest score difference (must be
float rounding: no prediction may change).

``--data clinc77``: zero-shot over the 77 first CLINC150 intents instead (bench/clinc_intents.py;
the prompt lists the labels and is shared by every row, so a row is its utterance, ~20 tokens,
plus the answer tree's nodes, ~250 tokens for the 77 labels): what a many-label task's batches
cost.

    python bench/scoring_batch_bench.py --n 100 --reps 3
    python bench/scoring_batch_bench.py --data clinc77 --n 100 --reps 3
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

from mr import load_mr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--pool", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--budgets", type=int, nargs="+", default=None,
                    help="token budgets to try (default: CPU_BATCH_TOKENS)")
    ap.add_argument("--data", choices=["mr", "clinc77"], default="mr")
    args = ap.parse_args()
    from tunewise.cost.token_rate import CPU_BATCH_TOKENS
    from tunewise.data.records import Example
    from tunewise.models import load_model
    from tunewise.prompting.scoring import LabelScorer, ScoreOptions
    from tunewise.prompting.shots import nearest_shots
    from tunewise.tasks import make_task
    from tunewise.tasks.render import encode_answer, encode_prompts

    if args.data == "clinc77":
        from clinc_intents import many_label_rows
        pool = [Example.from_text(t, a, label=a) for t, a in many_label_rows(77)]
        test = [Example.from_text(t, a, label=a)
                for t, a in many_label_rows(77, splits=("test",))[:args.n]]
        task = make_task("classification", pool)
    else:
        rows = load_mr()
        random.Random(0).shuffle(rows)
        pool = [Example.from_text(t, a) for t, a in rows[:args.pool]]
        test = [Example.from_text(t, a) for t, a in rows[args.pool:args.pool + args.n]]
        task = make_task(preset="sentiment", examples=pool)
    lm = load_model(args.model)
    lm.model.eval()
    answers = [encode_answer(lm.tokenizer, lab) for lab in task.labels]
    arms = {"zero-shot": [[] for _ in test]} if args.data == "clinc77" else \
        {"4-shot nearest": nearest_shots(pool, test, 4), "zero-shot": [[] for _ in test]}
    for arm, shots in arms.items():
        prompts = encode_prompts(lm.tokenizer, [task.prompt_messages(ex, s)
                                                for ex, s in zip(test, shots)])
        ways = {f"{args.batch_size} rows (old)": None}
        for b in args.budgets or [CPU_BATCH_TOKENS]:
            ways[f"{b} tokens" + (" (new)" if b == CPU_BATCH_TOKENS else "")] = b
        secs = {w: [] for w in ways}
        scores, batches = {}, {}
        for _ in range(args.reps):
            for way, budget in ways.items():
                scorer = LabelScorer(lm.model, answers, pad_id=lm.tokenizer.pad_token_id,
                                     options=ScoreOptions(batch_size=args.batch_size,
                                                          batch_tokens=budget))
                t = time.perf_counter()
                batches[way] = []
                scores[way] = scorer.score(prompts, batches[way].append)
                secs[way].append(time.perf_counter() - t)
        mean_len = statistics.fmean(len(p) for p in prompts)
        print(f"{arm} ({args.n} prompts, mean {mean_len:.0f} tokens), medians of {args.reps}:")
        base_way = next(iter(ways))
        old, a = statistics.median(secs[base_way]), scores[base_way]
        for way, v in secs.items():
            line = (f"  {way:22s} {statistics.median(v):6.1f} s  (runs: "
                    + ", ".join(f"{x:.1f}" for x in v) + f"; {len(batches[way])} batches)")
            if way != base_way:
                b = scores[way]
                diff = max(abs(x - y) for s, r in zip(a, b) for x, y in zip(s.total, r.total))
                flips = sum(max(range(len(s.total)), key=s.total.__getitem__)
                            != max(range(len(r.total)), key=r.total.__getitem__)
                            for s, r in zip(a, b))
                line += (f"; old / this {old / statistics.median(v):.2f}x, largest score "
                         f"difference {diff:.1e} nats, predictions changed {flips}")
            print(line)
        print(flush=True)


if __name__ == "__main__":
    main()
