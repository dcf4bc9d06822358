"""`tunewise compare` on held-out movie-review sentences (../shared/datasets/mr): the crossover
and the prompt's worth from the learning curve with tunewise's default training budget.

Writes the splits (seeded, disjoint: 2,000 train / 100 val / --test-n test) as chat JSONL under
bench/out/compare-mr/splits and runs ``tunewise.comparison.compare`` with bench/compare-mr.yaml
(sizes and seeds overridable: CPU time grows with them), output in bench/out/compare-mr/.

Usage::

    nohup python bench/compare_mr.py > bench/out/compare_mr.log 2>&1 &
    python bench/compare_mr.py --sizes 16 64 256 --seeds 3 --test-n 300
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from curve_data import ROOT, read_cells, setup_env  # noqa: E402

setup_env()

OUT = ROOT / "bench" / "out" / "compare-mr"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[16, 64, 256])
    ap.add_argument("--seeds", type=int, default=3, help="seeds for sizes up to 64")
    ap.add_argument("--test-n", type=int, default=300)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    if a.threads:
        import torch
        torch.set_num_threads(a.threads)
    from mr import load_mr
    from tunewise.comparison import compare
    from tunewise.data.formats.writers import write_chat_jsonl
    from tunewise.data.records import Example
    rows = load_mr()
    random.Random(0).shuffle(rows)
    parts = {"test": rows[:a.test_n], "val": rows[a.test_n:a.test_n + 100],
             "train": rows[a.test_n + 100:a.test_n + 2100]}
    d = a.out / "splits"
    d.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        write_chat_jsonl(d / f"{name}.jsonl",
                         [Example.from_text(t, lab, label=lab) for t, lab in part])
    import yaml
    cfg = yaml.safe_load((ROOT / "bench" / "compare-mr.yaml").read_text(encoding="utf-8"))
    cfg["data"].update(train=str(d / "train.jsonl"), val=str(d / "val.jsonl"),
                       test=str(d / "test.jsonl"))
    cfg["max_eval"] = a.test_n
    # (a dict given as a dotted override is merged key by key, and YAML's int keys and the
    # override's keys do not meet: so the config dict is edited here instead)
    cfg["arms"]["fine_tune"].update(sizes=a.sizes,
                                    seeds={n: a.seeds for n in a.sizes if n <= 64})
    res = compare(cfg, out=a.out)
    print("learning curve:")
    for p in res["learning_curve"]:
        print(f"  {p['train_size']:>5}: {p['mean']:.3f} (seeds {p['values']}, "
              f"{p.get('epochs')} epochs, validation {p.get('validation')})")
    print("crossover:", res["crossover"]["note"])
    print("prompt worth:", (res.get("prompt_worth") or {}).get("note"))
    print("recommendation:", res["recommendation"]["headline"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
