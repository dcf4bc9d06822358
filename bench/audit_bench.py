"""Planted-defect benchmark of `tunewise data audit` (issue 22), on public data in
../shared/datasets, against a simple named baseline per check.

For each setting a clean set is built (exact and near-duplicates dropped), split into train,
test and a same-distribution "production" sample, and then:

(a) 5% off-task rows from another dataset are planted into train, with labels drawn from the
    task's own labels (so only the input gives them away) -> precision@k (k = planted) of the
    off-task ranking; baseline: distance to the TF-IDF centroid;
(b) 30 test rows are copied into train with small edits -> precision / recall of the leaked test
    rows found; baseline: exact match after normalisation;
(c) 50 train rows get synthetic personal data (e-mail, phone, Luhn-valid card, IBAN with a
    valid checksum, IP address, API key), plus 10 hard negatives that only look like it ->
    recall on the planted rows, precision over all flagged rows; baseline: a plain regex list;
(d) a production sample from a different domain, and one from a random resplit of the same
    data -> the domain classifier's cross-validated AUC; baseline: input length alone as the
    score.

Settings: "mr" (movie reviews; off-task: clinc150 utterances; other domain: TweetEval
tweets), "emotion" (TweetEval emotion tweets; off-task: alpaca instructions; other domain:
clinc150 utterances).

    python bench/audit_bench.py              # both settings, one JSON line each
    python bench/audit_bench.py --rows100k   # the 100k-row timing (run under the CPU lock)

Measured 2026-12-06 on the 2-core machine, seed 0 (audit / baseline):

| check | mr (9,118 train rows) | emotion (2,084 train rows) | target |
|---|---|---|---|
| leakage, 30 edited copies: precision / recall | 0.97 / 1.00 (exact match: 1.00 / 0.30) | 0.91 / 0.97 (exact: 1.00 / 0.07) | recall >= 0.95 at precision >= 0.9 |
| personal data, 50 rows: recall (right kind) / precision | 1.00 (1.00) / 1.00; 0 of 10 look-alikes (plain regex list: 0.70 / 0.92; 2 of 10) | 1.00 (1.00) / 0.98; 0 of 10 (plain: 0.62 / 0.91; 2 of 10) | recall >= 0.95 |
| off-task, 5% planted: precision@k | 0.88 (TF-IDF centroid distance: 0.13) | 0.85 (centroid: 0.07) | >= 0.8 |
| domain AUC, other domain / random resplit | 0.98 / 0.50 (length alone: 0.62 / 0.51) | 0.98 / 0.51 (length: 0.84 / 0.52) | >= 0.9 / <= 0.6 |

Off-task history (relevance.outlier_scores). First change, 2026-12-06: 0.79 / 0.45 -> 0.87 /
0.78. The cause of the weak ranking: its seed (rarest content word + label entropy) had
precision@k 0.22 / 0.12 (the rarest word says little when planted rows use everyday words; a
weak 4-emotion classifier is unsure of many genuine tweets), and the word-only self-training
drifted onto formal-looking rows of the task (quotes among the tweets). The seed then added the
own-label surprise and the share of test rows among a row's neighbours (0.46 / 0.39), and the
self-training character 2-4-grams, the test rows and all rows below the top 10% as negatives
(other pairs, not tuned on: emotion + movie reviews 0.43 -> 0.84, emotion + clinc150 0.38 ->
0.59).

Second change, 2026-12-06 (0.87 / 0.78 -> 0.88 / 0.85): the emotion misses were short
instructions ("Create a birthday planning checklist.", "Make up a new flavor of ice cream.")
whose words and character n-grams are everyday ones: n-grams have no position, and what gives
them away is how they start and end. The self-training now adds a small block of form tokens
(first word and first two, last word and last two, the kind of the first character;
offtask_signals.FORM_WEIGHT says why its weight is 0.3), and weighs the test rows 10x among its
negatives (a test row is surely of the task, a row below the top 10% only probably:
relevance.REFERENCE_WEIGHT). Tried and not kept: averaging the out-of-fold scores over 3 fold
assignments (+0.00-0.03, noise-level once the form block is in, 3x the fits); the length as a
form token (the classifier drifted onto capitalised sentences among the tweets).
precision@k before -> after, with the test split, seed 0 / seed 1 (seeds 2 / 3 where run):

| set | before | after |
|---|---|---|
| mr (reviews + clinc150) | 0.87 / 0.85 | 0.88 / 0.87 |
| emotion (tweets + alpaca) | 0.78 / 0.80 (0.69 / 0.81) | 0.85 / 0.81 (0.73 / 0.80) |
| emotion + movie reviews (not tuned on) | 0.84 / 0.64 (0.70 / 0.86) | 0.91 / 0.85 (0.84 / 0.88) |
| emotion + clinc150 (not tuned on) | 0.59 / 0.60 (0.70 / 0.65) | 0.72 / 0.77 (0.78 / 0.73) |
| without a test split: mr / emotion | 0.80 / 0.70 (seed 0), 0.55 emotion seed 1 | 0.80 / 0.76 (seed 0), 0.73 / 0.59 (seed 1) |
| without a test split: emotion + movie reviews / + clinc150 | 0.76 / 0.57 (seed 0), 0.55 / 0.62 (seed 1) | 0.90 / 0.70 (seed 0), 0.77 / 0.79 (seed 1) |

The emotion figure moves with the seed (0.73-0.85 over seeds 0-3): k is 98 rows, so one row is
0.01, and part of what counts as a miss is TweetEval's own off-task rows: the clean base holds 13
word-salad SEO spam tweets ("...: xbeUJGB"), of which 1-2 sit in the top k with the test split
(4-5 without), counted as false positives. Rows flagged by the finding (robust z > 3.5), seed 0:
409 of which 375 planted (mr), 50 of which 49 (emotion). Off-task figures from
relevance.outlier_scores on this file's build(), seeds as said ("other pairs": build() with the
off-task texts swapped). The whole bench rerun after the second change (seed 0, 2026-12-06)
gives the table above: the off-task row as said, every other row as before.

100,000 chat rows + 5,000 test + 5,000 production, --features tfidf, on the 2-core machine under
the CPU lock (nothing else running; load average 1.27 before, from the test suite that had just
finished, 1.47 after): 157 s wall clock on 2026-12-06 after the second change (representativeness
35 s, relevance 76 s, leakage 25 s, diversity 9 s, personal data 5 s), target 3 minutes. The
relevance step fits each self-training round's 5 folds on both cores (threads; liblinear/lbfgs on
sparse data use one core) and now also builds the form block. Earlier the same day: 187 s after
the first change (relevance 86 s; representativeness 44 s, leakage 34 s), 76 s before it
(relevance 15 s). The steps this change did not touch ran 18 s faster than in the 187-s run, so
part of the 30 s gained is run-to-run variation of the shared machine, not the change.
Where the relevance step's time goes (in-process, same 100k rows, 2026-12-06, load ~2 from a
suite that had just ended, so slower than the run above: 104 s): style features 27 s (the
character analyzer, 105k rows in chunks on both cores), the test-neighbour share 20 s, the three
self-training rounds 16 + 20 + 13 s wall for 22 + 21 + 13 s of the main process's CPU: the
threads overlap the 5 fits only in part (lbfgs holds the GIL between its sparse products). Next
cuts, not tried: the folds in processes (loky) or on a sample of the negatives per fold.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from audit_plant import (HARD_NEGATIVES, ROOT, clean_base, edit, load_alpaca,  # noqa: E402
                         load_clinc, with_pii)

sys.path.insert(0, str(ROOT))
KINDS = ["EMAIL", "PHONE", "CARD", "IBAN", "IP", "API_KEY"]

#: the baseline "plain regex list" for personal data
PLAIN_REGEX = {
    "EMAIL": r"\S+@\S+\.\w+", "PHONE": r"\(?\d{3}\)?[-.\s]\d{3}[-.\s]\d{4}",
    "CARD": r"\b(?:\d{4}[- ]?){3}\d{4}\b", "IBAN": r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b",
    "IP": r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", "API_KEY": r"\b[A-Za-z0-9_-]{32,}\b",
}


def setting(name: str):
    """(base rows, off-task texts, other-domain texts)."""
    from mr import load_mr
    from tweeteval import load_tweeteval
    if name == "mr":
        return load_mr(), [t for t, _ in load_clinc()], [t for t, _ in load_tweeteval("emotion")]
    return (load_tweeteval("emotion"), load_alpaca(), [t for t, _ in load_clinc()])


def build(name: str, seed: int):
    rng = random.Random(seed)
    base, offtask, other = setting(name)
    base = clean_base(base)
    rng.shuffle(base)
    n_test = min(1000, len(base) // 6)
    test, same, train = base[:n_test], base[n_test:2 * n_test], base[2 * n_test:]
    labels = sorted({lab for _, lab in base})
    train = [(t, lab, "clean") for t, lab in train]
    # (c) personal data into 50 clean rows, 10 hard negatives
    for j, i in enumerate(rng.sample(range(len(train)), 60)):
        t, lab, _ = train[i]
        if j < 50:
            kind = KINDS[j % len(KINDS)]
            train[i] = (with_pii(t, kind, rng)[0], lab, f"pii:{kind}")
        else:
            train[i] = (HARD_NEGATIVES[j - 50], lab, "pii_negative")
    # (a) 5% off-task rows with labels from the task
    k_off = round(0.05 * len(train))
    train += [(t, rng.choice(labels), "offtask") for t in rng.sample(offtask, k_off)]
    # (b) 30 test rows copied into train with small edits
    leaked = rng.sample(range(len(test)), 30)
    train += [(edit(test[i][0], rng), test[i][1], f"leak:{i}") for i in leaked]
    rng.shuffle(train)
    prod_other = rng.sample(other, min(1000, len(other)))
    return train, test, [t for t, _ in same], prod_other, set(leaked)


def write_csv(path: Path, rows) -> None:
    import csv
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for r in rows:
            w.writerow([r[0], r[1]])


def pr(pred: set, truth: set) -> dict:
    tp = len(pred & truth)
    return {"precision": round(tp / len(pred), 3) if pred else None,
            "recall": round(tp / len(truth), 3) if truth else None, "flagged": len(pred)}


def measure(name: str, seed: int) -> dict:
    from tunewise.audit import leakage, relevance, representativeness
    from tunewise.audit.inputs import Split
    from tunewise.audit.run import audit
    from tunewise.data import pii
    from tunewise.data.dedup import normalize
    train, test, same, other, leaked = build(name, seed)
    out = {"setting": name, "seed": seed, "train": len(train), "test": len(test)}
    with tempfile.TemporaryDirectory() as tmp:
        tr_p, te_p = Path(tmp) / "train.csv", Path(tmp) / "test.csv"
        write_csv(tr_p, train)
        write_csv(te_p, test)
        (Path(tmp) / "prod.txt").write_text("\n".join(other) + "\n", encoding="utf-8")
        t0 = time.perf_counter()
        rep = audit(tr_p, te_p, Path(tmp) / "prod.txt", progress=False, seed=seed)
        out["audit_seconds"] = round(time.perf_counter() - t0, 1)
    tags = [r[2] for r in train]
    texts = [r[0] for r in train]
    # (a) off-task precision@k
    truth = {i for i, t in enumerate(tags) if t == "offtask"}
    k = len(truth)
    golds = [r[1] for r in train]
    ref = [t for t, _ in test]
    for label, scores in (("audit", relevance.outlier_scores(texts, seed, labels=golds,
                                                             reference=ref)),
                          ("baseline_centroid", relevance.centroid_scores(texts))):
        top = set(np.argsort(-scores)[:k].tolist())
        out[f"offtask_p_at_k_{label}"] = round(len(top & truth) / k, 3)
    out["offtask_flagged_by_audit"] = rep.find("off_task").metrics["flagged"]
    # (b) leakage: which test rows were found in train
    split = lambda role, rows: Split(role, role, [r[0] for r in rows],  # noqa: E731
                                     [f"{role}:{i}" for i in range(len(rows))])
    found = {j for j, _, _, _ in leakage.leaked_pairs(split("train", train), split("test", test))}
    norm_train = {normalize(t) for t in texts}
    exact = {j for j, (t, _) in enumerate(test) if normalize(t) in norm_train}
    out["leakage_audit"] = pr(found, leaked)
    out["leakage_baseline_exact"] = pr(exact, leaked)
    # (c) personal data: rows flagged vs rows planted
    planted = {i for i, t in enumerate(tags) if t.startswith("pii:")}
    got = {i for i, t in enumerate(texts) if pii.find_pii(t)}
    kind_hit = {i for i in planted if tags[i][4:] in {s.kind for s in pii.find_pii(texts[i])}}
    plain = {i for i, t in enumerate(texts) if any(re.search(rx, t) for rx in PLAIN_REGEX.values())}
    out["pii_audit"] = {**pr(got, planted), "recall_right_kind": round(len(kind_hit) / len(planted), 3),
                        "hard_negatives_flagged": sum(1 for i in got if tags[i] == "pii_negative")}
    out["pii_baseline_plain_regex"] = {**pr(plain, planted), "hard_negatives_flagged":
                                       sum(1 for i in plain if tags[i] == "pii_negative")}
    out["pii_recall_per_kind"] = {kd: round(sum(1 for i in kind_hit if tags[i] == f"pii:{kd}") /
                                            sum(1 for i in planted if tags[i] == f"pii:{kd}"), 3)
                                  for kd in KINDS}
    # (d) domain shift: a different domain, and a random resplit of the same data
    dom = rep.find("domain_classifier")
    out["domain_auc_other_domain"] = dom.metrics["auc_tfidf"]
    tr_split = split("train", train)
    same_split = Split("production", "same", same, [f"same:{i}" for i in range(len(same))])
    out["domain_auc_random_resplit"] = representativeness.check_domain(
        tr_split, same_split, seed=seed).metrics["auc_tfidf"]
    out["baseline_length_auc_other"] = _length_auc([r[0] for r in train], other)
    out["baseline_length_auc_resplit"] = _length_auc([r[0] for r in train], same)
    cov = rep.find("coverage")
    out["far_share_other_domain"] = cov.metrics["far_share"]
    return out


def _length_auc(a: list[str], b: list[str]) -> float:
    from sklearn.metrics import roc_auc_score
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    s = np.r_[[len(t.split()) for t in a], [len(t.split()) for t in b]]
    auc = roc_auc_score(y, s)
    return round(max(auc, 1 - auc), 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--settings", nargs="+", default=["mr", "emotion"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows100k", action="store_true", help="time data audit on 100k chat rows")
    args = ap.parse_args()
    if args.rows100k:
        from audit_scale import time_100k
        print(json.dumps(time_100k(args.seed)))
        return
    for name in args.settings:
        print(json.dumps(measure(name, args.seed)), flush=True)


if __name__ == "__main__":
    main()
