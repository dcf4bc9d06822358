"""The stratified sampler: a seeded order of items whose every prefix is stratified by a key.

    from tunewise.data.sampling import stratified_order, stratified_sample
    order = stratified_order(examples, key=task.stratum, seed=0)   # nested prefixes
    sample = stratified_sample(examples, 64, key=task.stratum, seed=0)

Each stratum is shuffled, and its i-th member gets the position key (i + u) / n_stratum (u uniform
in [0, 1)); sorting by that key interleaves the strata in proportion. Prefixes are nested: the 16
items of a seed are among its 64. The key is a function, so the data layer never asks what kind of
task it serves (the caller passes ``task.stratum`` or ``Example.gold_key``).
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Callable, Hashable, Sequence, TypeVar

T = TypeVar("T")


def stratified_order(items: Sequence[T], key: Callable[[T], Hashable], seed: int) -> list[T]:
    """``items`` in a seeded order whose every prefix is (close to) stratified by ``key``."""
    rng = random.Random(seed)
    by: dict = defaultdict(list)
    for it in items:
        by[key(it)].append(it)
    keyed = []
    for stratum in sorted(by):
        members = by[stratum]
        rng.shuffle(members)
        n = len(members)
        for i, it in enumerate(members):
            keyed.append(((i + rng.random()) / n, rng.random(), it))
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [it for _, _, it in keyed]


def shuffled_by_stratum(items: Sequence[T], strata: Sequence[Hashable],
                        rng: random.Random) -> list[T]:
    """``items`` grouped by stratum (strata in sorted order), each group shuffled with ``rng``:
    the order ``split`` deals duplicate groups to train/val/test in, so that every stratum is
    spread over the splits in proportion."""
    by: dict = {}
    for it, s in zip(items, strata):
        by.setdefault(s, []).append(it)
    order: list[T] = []
    for s in sorted(by):
        members = by[s]
        rng.shuffle(members)
        order.extend(members)
    return order


def stratified_sample(items: Sequence[T], n: int | None, key: Callable[[T], Hashable],
                      seed: int) -> list[T]:
    """A stratified, seeded sample of ``n`` items (all of them, in their order, when ``n`` is None
    or not smaller than the set); samples of one seed are nested."""
    items = list(items)
    if n is None or n >= len(items):
        return items
    return stratified_order(items, key, seed)[:n]
