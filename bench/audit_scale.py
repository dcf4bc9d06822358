"""The 100k-row timing of `tunewise data audit` (issue 22: <= 3 minutes on the 2-core machine with
--features tfidf).

100,000 chat rows (a system prompt, the user text, the label as the answer) are made from the
public texts in ../shared/datasets (movie reviews, TweetEval tweets, clinc150 utterances): each
row is one text followed by the second half of another text of the same source, so rows are
distinct but the vocabulary is real. A 5,000-row test file and a 5,000-row production sample
(.txt) come from the same generator. The command is run as a user would, in a subprocess, and
its wall time and per-check times are reported.

    flock /tmp/tunewise-cpu.lock python bench/audit_bench.py --rows100k
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audit_plant import ROOT, load_clinc  # noqa: E402


def sources() -> dict[str, list[tuple[str, str]]]:
    from mr import load_mr
    from tweeteval import load_tweeteval
    return {"review": load_mr(), "tweet": load_tweeteval("offensive") + load_tweeteval("emotion"),
            "utterance": load_clinc()}


def rows(n: int, rng: random.Random, pools) -> list[dict]:
    out = []
    names = list(pools)
    for _ in range(n):
        pool = pools[rng.choice(names)]
        (text, label), (other, _) = rng.choice(pool), rng.choice(pool)
        words = other.split()
        text = f"{text} {' '.join(words[len(words) // 2:])}".strip()
        out.append({"messages": [{"role": "system", "content": "Label the text."},
                                 {"role": "user", "content": text},
                                 {"role": "assistant", "content": label}]})
    return out


def time_100k(seed: int = 0, n: int = 100_000) -> dict:
    rng = random.Random(seed)
    pools = sources()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for name, k in (("train.jsonl", n), ("test.jsonl", 5000)):
            with (d / name).open("w", encoding="utf-8") as fh:
                for r in rows(k, rng, pools):
                    fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        prod = [r["messages"][1]["content"].replace("\n", " ") for r in rows(5000, rng, pools)]
        (d / "prod.txt").write_text("\n".join(prod) + "\n", encoding="utf-8")
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "tunewise", "data", "audit",
                              str(d / "train.jsonl"), "--test", str(d / "test.jsonl"),
                              "--production", str(d / "prod.txt"), "--features", "tfidf",
                              "-o", str(d / "audit.json"), "--json"],
                             capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        if res.returncode:
            return {"error": res.stderr[-2000:], "wall_seconds": round(wall, 1)}
        rep = json.loads((d / "audit.json").read_text())
    return {"rows": rep["rows"], "wall_seconds": round(wall, 1), "timing": rep["timing"],
            "worst": rep["worst"]}
