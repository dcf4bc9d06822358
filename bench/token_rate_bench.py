"""The time per token that prices local arms: whole-batch prefill points (the old measurement)
against prefill points of ~1,024 tokens (``measure_token_rate(prefill_tokens=1024)``, today's).

Both measure the same model the way ``tunewise compare`` does (batch 32, lengths 32/128/320,
passes until 3 of them agree within 10%, at most 5), alternating old and new ``--reps`` times so
that a slow spell of the shared machine hits both. Printed per model: the seconds each
measurement took (median), the rates it found (median prompt tokens/s, output tokens/s), the
seconds a request of a zero-shot-sized and a 4-shot-sized prompt costs at each (the price the
report shows), and the ratios new / old. The new measurement must take far less time and price
the same requests within the run-to-run spread of the old one.

    python bench/token_rate_bench.py --models smollm2-135m-instruct gemma-3-270m --reps 3
"""
from __future__ import annotations

import argparse
import statistics
import time

#: mean prompt tokens of the demo's zero-shot and nearest 4-shot arms (SmolLM2's tokenizer)
REQUESTS = {"zero-shot (60 tokens)": 60, "4-shot (257 tokens)": 257}


def one(lm, prefill_tokens):
    from tunewise.cost.token_rate import measure_token_rate
    t = time.perf_counter()
    rate = measure_token_rate(lm, batch_size=32, passes=3, max_passes=5,
                              prefill_tokens=prefill_tokens)
    return time.perf_counter() - t, rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["smollm2-135m-instruct"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    from tunewise.models import load_model
    for name in args.models:
        lm = load_model(name)
        runs = {"whole batch (old)": [], "1,024 tokens (new)": []}
        for rep in range(args.reps):
            for label, budget in (("whole batch (old)", None), ("1,024 tokens (new)", 1024)):
                secs, rate = one(lm, budget)
                runs[label].append((secs, rate))
                print(f"  {name} rep {rep} {label}: {secs:.1f} s, {rate.passes} passes, "
                      f"{1 / rate.prompt_seconds_per_token:.0f} prompt tok/s, "
                      f"{1 / rate.output_seconds_per_token:.0f} output tok/s", flush=True)
        print(f"\n{name} ({args.reps} alternating reps each, medians):")
        med = {}
        for label, rs in runs.items():
            secs = statistics.median(s for s, _ in rs)
            req = {k: statistics.median(r.seconds_per_request(n, 1) for _, r in rs)
                   for k, n in REQUESTS.items()}
            spread = {k: (min(r.seconds_per_request(n, 1) for _, r in rs),
                          max(r.seconds_per_request(n, 1) for _, r in rs))
                      for k, n in REQUESTS.items()}
            med[label] = (secs, req)
            print(f"  {label:20s} measurement {secs:6.1f} s; " + "; ".join(
                f"{k} {req[k] * 1000:.0f} ms [{spread[k][0] * 1000:.0f}-{spread[k][1] * 1000:.0f}]"
                for k in REQUESTS))
        (so, ro), (sn, rn) = med["whole batch (old)"], med["1,024 tokens (new)"]
        print(f"  ratio: the new measurement takes {sn / so:.2f}x the time ({so / sn:.1f}x "
              "faster); seconds per request new / old: "
              + ", ".join(f"{k} {rn[k] / ro[k]:.2f}" for k in REQUESTS) + "\n", flush=True)
        del lm


if __name__ == "__main__":
    main()
