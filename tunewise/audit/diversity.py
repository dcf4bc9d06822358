"""Diversity: how many distinct examples the training set really holds, per class too, and how
balanced its labels are.

- ``near_duplicates``: rows are grouped into clusters of near-duplicates (MinHash over word
  3-grams, ``tunewise.data.dedup``; estimated Jaccard >= 0.8, exact duplicates included). The
  number of clusters is the count of distinct examples; the effective number exp(entropy of the
  cluster shares) also weighs how unevenly rows spread over them (1,000 rows of which 900 are
  one text: about 100 clusters, an effective number near 3).
- ``class_diversity``: per class, the number of distinct templates (clusters of rows whose sets
  of words reach Jaccard 0.6: "book a flight to Paris" and "book a flight to Rome" are one
  template) per row;
  a class made of one template repeated teaches the template, not the class.
- ``label_balance``: the label counts and what they imply for the metric.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from tunewise.audit.inputs import Split
from tunewise.audit.report import Evidence, Finding, excerpt
from tunewise.data import dedup

#: estimated Jaccard similarity (word 3-grams) at which two rows are one example
DUPLICATE_JACCARD = 0.8
#: ... and one template (Jaccard of the sets of words)
TEMPLATE_JACCARD = 0.6
#: a class with fewer distinct templates per row than this is flagged
MIN_TEMPLATE_RATIO = 0.25
#: classes smaller than this are not judged for diversity
MIN_CLASS_ROWS = 10


def cluster_ids(texts: list[str], *, ngram: int = 3, threshold: float = DUPLICATE_JACCARD
                ) -> np.ndarray:
    """A cluster id per text: texts whose word ``ngram`` sets reach an estimated Jaccard of
    ``threshold`` share one, transitively. Identical normalised texts share one signature."""
    index = dedup.NearDuplicateIndex(dedup.NearDupConfig(threshold=threshold, ngram=ngram))
    sig_of: dict[int, int] = {}
    row_sig = np.empty(len(texts), dtype=np.int64)
    for i, t in enumerate(texts):
        norm = dedup.normalize(t)
        key = dedup.key_hash(norm)
        if key not in sig_of:
            sig_of[key] = index.add(norm)
        row_sig[i] = sig_of[key]
    return index.clusters()[row_sig] if index.n else row_sig


def template_ids(texts: list[str]) -> np.ndarray:
    """A template id per text (word sets, Jaccard >= TEMPLATE_JACCARD)."""
    return cluster_ids(texts, ngram=1, threshold=TEMPLATE_JACCARD)


def effective_number(ids: np.ndarray) -> float:
    """exp(Shannon entropy) of the cluster shares (= the number of clusters when equal)."""
    if not len(ids):
        return 0.0
    p = np.bincount(ids) / len(ids)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum()))


def check_duplicates(train: Split, dup: np.ndarray) -> Finding:
    n = len(train)
    sizes = np.bincount(dup)
    distinct = int((sizes > 0).sum())
    eff = effective_number(dup)
    in_dups = int((sizes[dup] > 1).sum())
    share_dup = 1 - distinct / max(n, 1)
    sev = "ok" if share_dup < 0.05 else "info" if share_dup < 0.2 else "warning"
    evidence = []
    for c in np.argsort(-sizes)[:5]:
        if sizes[c] < 2:
            break
        rows = np.flatnonzero(dup == c)
        evidence.append(Evidence(train.wheres[rows[0]], excerpt(train.texts[rows[0]]),
                                 {"cluster_rows": int(sizes[c]),
                                  "also": [train.wheres[r] for r in rows[1:6]]}))
    summary = (f"{distinct:,} distinct examples among {n:,} rows (near-duplicate clusters; "
               f"effective number {eff:,.0f}); {in_dups:,} rows have a near-duplicate")
    fix = "" if sev == "ok" else ("run `tunewise data clean`, which keeps one row of each "
                                  "near-duplicate group and logs the others")
    return Finding("diversity", "near_duplicates", sev, summary, fix,
                   {"rows": n, "distinct": distinct, "effective_number": round(eff, 1),
                    "rows_with_duplicates": in_dups, "jaccard": DUPLICATE_JACCARD}, evidence)


def check_class_diversity(train: Split, tmpl: np.ndarray) -> Finding | None:
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(train.golds):
        if g is not None:
            rows_of[g].append(i)
    per_class, flagged, evidence = {}, [], []
    for label, rows in sorted(rows_of.items(), key=lambda kv: -len(kv[1])):
        if len(rows) < MIN_CLASS_ROWS:
            continue
        ids = tmpl[rows]
        distinct = len(set(ids.tolist()))
        ratio = distinct / len(rows)
        per_class[label] = {"rows": len(rows), "templates": distinct, "ratio": round(ratio, 3),
                            "effective": round(effective_number(np.unique(ids, return_inverse=True)[1]), 1)}
        if ratio < MIN_TEMPLATE_RATIO:
            flagged.append(label)
            top = Counter(ids.tolist()).most_common(1)[0][0]
            r = rows[int(np.flatnonzero(ids == top)[0])]
            evidence.append(Evidence(train.wheres[r], excerpt(train.texts[r]),
                                     {"label": label, "rows": len(rows), "templates": distinct}))
    if not per_class:
        return None
    if flagged:
        sev = "warning"
        summary = ("classes made of few templates: " + "; ".join(
            f"{lab}: {per_class[lab]['templates']} templates in {per_class[lab]['rows']} rows"
            for lab in flagged[:6]))
        fix = ("write or collect differently phrased examples for these classes: a model learns "
               "the template, and scores on a test split of the same templates overstate it")
    else:
        sev = "ok"
        low = min(per_class, key=lambda k: per_class[k]["ratio"])
        summary = (f"every class has at least {100 * MIN_TEMPLATE_RATIO:.0f}% distinct templates per "
                   f"row (lowest: {low}, {per_class[low]['templates']} in {per_class[low]['rows']})")
        fix = ""
    return Finding("diversity", "class_diversity", sev, summary, fix,
                   {"per_class": per_class, "flagged": flagged, "jaccard": TEMPLATE_JACCARD},
                   evidence)


def check_balance(train: Split, test: Split | None = None) -> Finding | None:
    counts = Counter(g for g in train.golds if g is not None)
    if len(counts) < 2:
        return None
    n = sum(counts.values())
    (major, n_major), (minor, n_minor) = counts.most_common(1)[0], counts.most_common()[-1]
    share = n_major / n
    ratio = n_major / max(n_minor, 1)
    small = [lab for lab, c in counts.items() if c < MIN_CLASS_ROWS]
    sev = "ok" if ratio < 3 and not small else "info" if ratio < 10 and not small else "warning"
    parts = [f"{len(counts)} labels; the most common, {major!r}, is {100 * share:.0f}% of rows and "
             f"{ratio:.1f}x the rarest ({minor!r}, {n_minor:,})"]
    if ratio >= 3:
        parts.append(f"always answering {major!r} already scores accuracy {share:.2f}: judge models "
                     "by macro-F1, which weighs each label equally")
    if small:
        parts.append(f"{len(small)} label(s) have fewer than {MIN_CLASS_ROWS} examples "
                     f"({', '.join(map(repr, small[:5]))}): too few to learn, and their test "
                     "scores have wide intervals")
    fix = "" if sev == "ok" else ("collect more examples of the rare labels, or merge labels "
                                  "too rare to learn; report macro-F1")
    return Finding("diversity", "label_balance", sev, "; ".join(parts), fix,
                   {"counts": dict(counts.most_common()), "majority_share": round(share, 4),
                    "imbalance_ratio": round(ratio, 2), "rare_labels": small})
