"""Zero-shot label scoring over many labels: the scoring code before issue #23 vs today's.

100 CLINC150 test utterances (bench/clinc_intents.py: the 77 first intents, sorted by name), the
embedded model (SmolLM2-135M-Instruct), the task's default prompt (it lists the 77 labels:
~340 tokens, shared by every example and encoded once), ``predict`` with compare's defaults
(label scoring, batch 32, bf16 body where the CPU has bf16 math, close calls re-scored in fp32).

- baseline ("before"): ``tunewise/prompting/scoring.py`` and ``predict.py`` as they were at
  commit ``BASE`` (read with ``git show``): every label's answer tokens fed after each prompt
  (253 tokens for the 77 labels) and the vocabulary head's log-softmax over all of them at once
  ((32 x 253 x 49,152) fp32 logits per batch);
- tunewise ("after"): the code in this tree.

Both run in this process on the same examples, alternating (``--reps``), after one untimed
warm-up each. The script prints seconds per 100 examples, the ratio, each side's accuracy and
how many of its predictions equal the fp32 reference (today's code with ``bf16=False``: bf16
decides the clear calls, so either side may differ from fp32 where bf16 moved a margin by more
than the re-check margin), and the largest difference between the two codes' fp32 scores of
every label on 16 examples (the same numbers, computed differently).

Usage::

    python bench/many_labels_bench.py              # 100 examples x 77 labels
    python bench/many_labels_bench.py --n 20 --reps 1
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TUNEWISE_HOME", str(ROOT / ".cache" / "tunewise"))

from clinc_intents import many_label_rows  # noqa: E402

#: the last commit before the many-label changes of issue #23
BASE = "2abf016"
OLD_FILES = ("tunewise/prompting/scoring.py", "tunewise/prompting/predict.py")


def _old_module(path: str):
    name = path[:-3].replace("/", ".")
    src = subprocess.run(["git", "show", f"{BASE}:{path}"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader(name, loader=None)
    mod = importlib.util.module_from_spec(spec)
    mod.__file__ = f"<{BASE}:{path}>"
    return name, mod, src


@contextlib.contextmanager
def old_code():
    """The modules of ``OLD_FILES`` as they were at ``BASE``, installed for the duration."""
    import importlib
    import tunewise.prompting as pkg
    saved = {}
    for path in OLD_FILES:        # today's modules, loaded first so that they can be put back
        importlib.import_module(path[:-3].replace("/", "."))
    for path in OLD_FILES:
        name, mod, src = _old_module(path)
        saved[name] = sys.modules.get(name)
        sys.modules[name] = mod
        setattr(pkg, name.rsplit(".", 1)[1], mod)
        exec(compile(src, mod.__file__, "exec"), mod.__dict__)
    try:
        yield sys.modules["tunewise.prompting.predict"].predict
    finally:
        for name, mod in saved.items():
            sys.modules[name] = mod
            setattr(pkg, name.rsplit(".", 1)[1], mod)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100, help="test examples")
    ap.add_argument("--classes", type=int, default=77)
    ap.add_argument("--reps", type=int, default=1, help="timed runs of each side (alternating)")
    ap.add_argument("--batch-size", type=int, default=32)
    a = ap.parse_args()
    import torch
    from tunewise.data.records import Example
    from tunewise.models.load import load_model
    from tunewise.prompting.predict import predict as new_predict
    from tunewise.tasks import make_task
    rows = many_label_rows(a.classes)
    test = many_label_rows(a.classes, splits=("test",))[:a.n]
    task = make_task("classification", [Example.from_text(t, lab, label=lab) for t, lab in rows])
    exs = [Example.from_text(t, lab, label=lab) for t, lab in test]
    lm = load_model("smollm2-135m-instruct")
    print(f"{len(exs)} examples x {len(task.labels)} labels, {torch.get_num_threads()} threads, "
          f"batch {a.batch_size}", flush=True)

    def run(which: str, n=None, **kw):
        batch = exs[:n] if n else exs
        with (old_code() if which == "before" else contextlib.nullcontext(new_predict)) as pred:
            pred(task, lm, exs[:2], batch_size=a.batch_size, progress=False, **kw)   # warm-up
            t0 = time.perf_counter()
            out = pred(task, lm, batch, batch_size=a.batch_size, progress=False, **kw)
            return time.perf_counter() - t0, out

    times: dict[str, list[float]] = {"before": [], "after": []}
    preds = {}
    for _ in range(a.reps):
        for which in ("before", "after"):
            dt, preds[which] = run(which)
            times[which].append(dt)
            print(f"  {which}: {dt:.1f} s", flush=True)
    t_ref, ref = run("after", bf16=False)        # the exact answers: fp32 throughout
    print(f"  fp32 reference: {t_ref:.1f} s", flush=True)
    best = {k: min(v) for k, v in times.items()}
    for which in ("before", "after"):
        ps = preds[which]
        acc = sum(p.pred == p.gold for p in ps) / len(ps)
        rechecked = sum(p.extra["precision"] == "fp32" for p in ps)
        same = sum(p.pred == r.pred for p, r in zip(ps, ref))
        print(f"{which:>6}: {best[which]:6.1f} s for {len(ps)} examples "
              f"({len(ps) / best[which]:.2f} ex/s), accuracy {acc:.3f}, {rechecked} close calls "
              f"re-scored in fp32, {same} of {len(ps)} predictions equal to fp32's")
    agree = sum(o.pred == n.pred for o, n in zip(preds["before"], preds["after"]))
    print(f"ratio: {best['before'] / best['after']:.2f}x; before and after agree on {agree} of "
          f"{len(ref)}; fp32 throughout: {t_ref:.1f} s, accuracy "
          f"{sum(p.pred == p.gold for p in ref) / len(ref):.3f}")
    # the two codes compute the same numbers: fp32 scores of every label on a few examples
    k = min(16, len(exs))
    _, old32 = run("before", n=k, bf16=False)
    diff = max(abs(o.extra["scores"][lab] - r.extra["scores"][lab])
               for o, r in zip(old32, ref[:k]) for lab in task.labels)
    print(f"fp32 scores of all {len(task.labels)} labels, before vs after, {k} examples: "
          f"largest difference {diff:.1e} nats")

if __name__ == "__main__":
    main()
