"""k-shot selection: which examples from a shots file are shown before each input.

Methods:

- ``random``: k examples drawn at random (seeded); the same shots for every input.
- ``balanced``: class-balanced (round-robin over the gold classes, each class shuffled; when k is
  smaller than the number of classes, k classes are drawn at random); the same for every input.
- ``nearest``: for each input, the k pool examples most similar by TF-IDF cosine similarity
  (scikit-learn); different shots per input, the most similar one last (closest to the input).

An evaluated example is never its own shot: pool examples whose input text is identical to an
evaluated input are left out (for shared shots, identical to *any* evaluated input).
"""
from __future__ import annotations

import random
from typing import Sequence

from tunewise.data.records import Example
from tunewise.errors import UsageError

SELECTIONS = ("random", "balanced", "nearest")


def _norm(text: str) -> str:
    return " ".join((text or "").split())


def _check(pool: Sequence[Example], k: int, method: str) -> None:
    if method not in SELECTIONS:
        import difflib
        close = difflib.get_close_matches(method, SELECTIONS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown shot selection {method!r}{hint}",
                         fix=f"use one of: {', '.join(SELECTIONS)}")
    if k < 0:
        raise UsageError(f"--shots must be >= 0, got {k}")
    if k > len(pool):
        raise UsageError(f"{k} shots requested but the shots file has only {len(pool)} usable "
                         "examples (examples identical to an evaluated input are left out)",
                         fix="use fewer shots or a larger --shots-from file")


def select_shots(pool: Sequence[Example], k: int, *, method: str = "random", seed: int = 0,
                 exclude: Sequence[Example] = ()) -> list[Example]:
    """Shots shared by every input (``random`` or ``balanced``)."""
    if method == "nearest":
        raise UsageError("nearest-neighbour shots differ per input: use shots_for(...)")
    skip = {_norm(e.input) for e in exclude}
    pool = [e for e in pool if _norm(e.input) not in skip]
    _check(pool, k, method)
    if k == 0:
        return []
    rng = random.Random(seed)
    if method == "random":
        return rng.sample(list(pool), k)
    by: dict[str, list[Example]] = {}
    for e in pool:
        by.setdefault(e.gold_key(), []).append(e)
    classes = sorted(by)
    for c in classes:
        rng.shuffle(by[c])
    if k < len(classes):
        classes = sorted(rng.sample(classes, k))
    picked: list[Example] = []
    i = 0
    while len(picked) < k:
        progressed = False
        for c in classes:
            if i < len(by[c]) and len(picked) < k:
                picked.append(by[c][i])
                progressed = True
        if not progressed:  # pragma: no cover - guarded by _check
            break
        i += 1
    rng.shuffle(picked)  # no fixed class order in the prompt
    return picked


def nearest_shots(pool: Sequence[Example], queries: Sequence[Example], k: int
                  ) -> list[list[Example]]:
    """For each query, the k most similar pool examples by TF-IDF cosine (most similar last)."""
    _check(pool, k, "nearest")
    if k == 0:
        return [[] for _ in queries]
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    pool = list(pool)
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    try:
        P = vec.fit_transform([e.input for e in pool])
    except ValueError:  # empty vocabulary (e.g. inputs are only stop symbols)
        P = None
    pool_norm = [_norm(e.input) for e in pool]
    out = []
    for q in queries:
        if P is not None:
            sims = (P @ vec.transform([q.input]).T).toarray()[:, 0]
        else:
            sims = np.zeros(len(pool))
        qn = _norm(q.input)
        # stable: ties keep pool order
        ranked = [i for i in np.argsort(-sims, kind="stable") if pool_norm[i] != qn]
        if len(ranked) < k:
            raise UsageError(f"{k} shots requested but only {len(ranked)} pool examples differ "
                             f"from the input at {q.where()}", fix="use fewer shots")
        out.append([pool[i] for i in reversed(ranked[:k])])
    return out


def shots_for(examples: Sequence[Example], pool: Sequence[Example], k: int, *,
              method: str = "random", seed: int = 0) -> list[Example] | list[list[Example]]:
    """Shots for ``examples``: one shared list (random/balanced) or one list per example
    (nearest); pass the result to ``predict(..., shots=...)``."""
    if method == "nearest":
        return nearest_shots(pool, examples, k)
    return select_shots(pool, k, method=method, seed=seed, exclude=examples)
