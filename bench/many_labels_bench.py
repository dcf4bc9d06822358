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
warm-up each. The script prints seconds per 100 examples, the ratio, how many predictions
agree, each side's accuracy, and the largest score difference between the two on examples both
scored at the same precision.

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

    def run(which: str):
        with (old_code() if which == "before" else contextlib.nullcontext(new_predict)) as pred:
            pred(task, lm, exs[:2], batch_size=a.batch_size, progress=False)      # warm-up
            t0 = time.perf_counter()
            out = pred(task, lm, exs, batch_size=a.batch_size, progress=False)
            return time.perf_counter() - t0, out

    times: dict[str, list[float]] = {"before": [], "after": []}
    preds = {}
    for _ in range(a.reps):
        for which in ("before", "after"):
            dt, preds[which] = run(which)
            times[which].append(dt)
            print(f"  {which}: {dt:.1f} s", flush=True)
    old, new = preds["before"], preds["after"]
    best = {k: min(v) for k, v in times.items()}
    agree = sum(o.pred == n.pred for o, n in zip(old, new))
    same_prec = [(o, n) for o, n in zip(old, new)
                 if o.extra["precision"] == n.extra["precision"]]
    diff = max((abs(o.extra["scores"][k] - n.extra["scores"][k])
                for o, n in same_prec for k in task.labels), default=0.0)
    for which, ps in (("before", old), ("after", new)):
        acc = sum(p.pred == p.gold for p in ps) / len(ps)
        rechecked = sum(p.extra["precision"] == "fp32" for p in ps)
        print(f"{which:>6}: {best[which]:6.1f} s for {len(ps)} examples "
              f"({len(ps) / best[which]:.2f} ex/s), accuracy {acc:.3f}, {rechecked} close calls "
              f"re-scored in fp32")
    print(f"ratio: {best['before'] / best['after']:.2f}x; predictions agree on {agree} of "
          f"{len(new)}; largest score difference at equal precision {diff:.2e} nats "
          f"({len(same_prec)} examples)")


if __name__ == "__main__":
    main()
