"""``tunewise data split``: train / val / test without leakage, stratified, repeatable.

1. Rows whose inputs are the same (after normalisation) or near-duplicates (MinHash, >=
   ``near_dup_threshold``) are joined into one group (union-find, transitively), so no input
   and no near-copy of it can sit in two splits.
2. Each group gets a stratum: the majority of its rows' ``task.stratum`` (the label for
   classification, the set of entity types present for NER, one stratum for generation).
3. Groups are ordered by stratum, shuffled within each stratum with ``seed``, and dealt out one
   by one to the split that is furthest below its share so far (systematic stratified
   allocation): overall sizes match the fractions, and each stratum is split in the same
   proportions to within a couple of rows.

Outputs: ``train.jsonl``, ``val.jsonl``, ``test.jsonl`` (chat JSONL, rows in input order) and
``manifest.json`` (counts, label distribution per split, seed, sha256 of the input, options).
"""
from __future__ import annotations

import hashlib
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from tunewise.data import dedup
from tunewise.data.records import Example
from tunewise.data.sampling import shuffled_by_stratum
from tunewise.data.task_view import DataTask
from tunewise.errors import UsageError

SPLITS = ("train", "val", "test")
#: every file ``split`` writes into its output folder
SPLIT_FILES = tuple(f"{name}.jsonl" for name in SPLITS) + ("manifest.json",)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def group_duplicates(examples: Sequence[Example], *, near_dup_threshold: float | None = 0.9,
                     num_perm: int = 128) -> list[list[int]]:
    """Groups of row indices whose inputs are exact or near duplicates (transitively).

    128 permutations (clean uses 64): the split holds the data in memory anyway, and a finer
    similarity estimate lets fewer near-copies slip across splits.
    """
    uf = dedup.UnionFind(len(examples))
    first_of_key: dict[int, int] = {}
    reps: list[int] = []
    near_texts: list[str] = []
    for i, ex in enumerate(examples):
        exact, near = dedup.compare_texts(ex)    # the input only
        key = dedup.key_hash(exact)
        j = first_of_key.setdefault(key, i)
        if j != i:
            uf.union(j, i)
        else:
            reps.append(i)
            near_texts.append(near)
    if near_dup_threshold is not None and near_dup_threshold <= 1 and len(reps) > 1:
        index = dedup.NearDuplicateIndex(dedup.NearDupConfig(threshold=near_dup_threshold,
                                                             num_perm=num_perm))
        for text in near_texts:
            index.add(text)
        for a, b in index.pairs():
            uf.union(reps[a], reps[b])
    return uf.groups()


def assign_groups(groups: Sequence[Sequence[int]], strata: Sequence[str],
                  fractions: dict[str, float], seed: int = 0) -> dict[str, list[int]]:
    """Deal groups to splits: by stratum, shuffled with ``seed``, each to the split furthest
    below its share so far. Returns sorted row indices per split."""
    order = shuffled_by_stratum(range(len(groups)), strata, random.Random(seed))
    names = [k for k in fractions if fractions[k] > 0]
    have = {k: 0 for k in fractions}
    total = 0
    out: dict[str, list[int]] = {k: [] for k in fractions}
    for g in order:
        size = len(groups[g])
        total += size
        # the split furthest below its share once this group is counted; ties: the order given
        best = max(names, key=lambda k: (total * fractions[k] - have[k], -names.index(k)))
        have[best] += size
        out[best].extend(groups[g])
    return {k: sorted(v) for k, v in out.items()}


def _distribution(examples: Sequence[Example], rows: list[int], task: DataTask) -> dict[str, int]:
    c: Counter = Counter()
    for i in rows:
        c.update(task.label_keys(examples[i]))
    return dict(sorted(c.items()))


def split_examples(examples: Sequence[Example], out_dir: str | os.PathLike, *, task: DataTask,
                   val: float = 0.1, test: float = 0.1, seed: int = 0,
                   near_dup_threshold: float | None = 0.9, input_path: str | None = None,
                   input_sha256: str | None = None, options: dict | None = None,
                   progress: bool = True,
                   parts: dict[str, list[Example]] | None = None) -> dict[str, Any]:
    """Split ``examples`` into ``out_dir``; returns the manifest (also written there).

    ``task`` says what each example's stratum is (``tunewise.tasks.data_task`` resolves a kind
    name; ``tunewise.data.split`` does that for a file). ``parts``: a dict that receives the
    split examples ({"train": [...], "val": [...], "test": [...]}), so a caller can go on in
    memory instead of reading the files back."""
    from tunewise.version import __version__
    from tunewise.data import write_chat_jsonl
    from tunewise.fileio import write_json
    from tunewise.progress import bar

    problems = []
    for name, v in (("val", val), ("test", test)):
        if not 0 <= v < 1:
            problems.append(f"--{name} must be a fraction in [0, 1), got {v}")
    if not problems and val + test >= 1:
        problems.append(f"--val + --test must leave rows for training (got {val} + {test})")
    if problems:
        raise UsageError("; ".join(problems), fix="e.g. --val 0.1 --test 0.1")
    if not examples:
        raise UsageError(f"{input_path or 'the input'} holds no examples to split")
    fractions = {"train": 1 - val - test, "val": val, "test": test}
    with bar("split: grouping duplicates", None, disable=not progress):
        groups = group_duplicates(examples, near_dup_threshold=near_dup_threshold)
    strata = []
    for g in groups:
        votes = Counter(task.stratum(examples[i]) for i in g)
        strata.append(sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0][0])
    assigned = assign_groups(groups, strata, fractions, seed)

    out_dir = Path(out_dir)
    from tunewise.outputs_guard import check_outputs
    check_outputs({"input": input_path}, {f"split file {n}": out_dir / n for n in SPLIT_FILES})
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in SPLITS:
        rows = [examples[i] for i in assigned[name]]
        write_chat_jsonl(out_dir / f"{name}.jsonl", rows)
        if parts is not None:
            parts[name] = rows
    multi = [g for g in groups if len(g) > 1]
    manifest = {
        "input": input_path,
        "input_sha256": input_sha256,
        "seed": seed,
        "task": task.kind,
        "stratified_by": task.stratified_by,
        "counts": {**{k: len(assigned[k]) for k in SPLITS}, "total": len(examples)},
        "fractions": fractions,
        "label_distribution": ({k: _distribution(examples, assigned[k], task) for k in SPLITS}
                               if task.has_labels else None),
        "duplicate_groups": {"groups": len(groups), "multi_row_groups": len(multi),
                             "rows_in_multi_row_groups": sum(len(g) for g in multi)},
        "files": {k: f"{k}.jsonl" for k in SPLITS},
        "options": {"val": val, "test": test, "near_dup_threshold": near_dup_threshold,
                    **(options or {})},
        "tunewise_version": __version__,
    }
    write_json(out_dir / "manifest.json", manifest)
    return manifest
