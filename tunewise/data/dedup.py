"""Duplicate detection shared by ``clean`` and ``split``.

- ``normalize``: the text two inputs are compared on (Unicode NFKC, case-folded, punctuation and
  spacing ignored), so "Great car!" and "great  car" are the same input.
- ``key_hash``: a stable 64-bit hash of a normalised text (exact duplicates; stable across runs,
  unlike Python's salted ``hash``).
- ``NearDuplicateIndex``: MinHash signatures (``datasketch``) over word shingles, banded LSH to
  find candidates (bands chosen for >= 99% recall at the threshold), each candidate pair
  verified against the threshold (Jaccard estimated from the signatures). The
  signatures live in one compact ``uint32`` array (num_perm x 4 bytes per row); band buckets are
  found with numpy sorts, not per-row Python dicts, so a million rows fit in a few hundred MB.
- ``UnionFind``: groups rows that are duplicates of each other, transitively (for ``split``).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """Text for duplicate comparison: NFKC, case-folded, runs of non-word characters -> one space."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", text).strip()


def key_hash(text: str) -> int:
    """Stable unsigned 64-bit hash of ``text`` (blake2b)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "little")


def shingles(norm_text: str, ngram: int = 3) -> list[bytes]:
    """Word n-grams of a normalised text (texts shorter than ``ngram`` words: the whole text)."""
    words = norm_text.split()
    if len(words) <= ngram:
        return [" ".join(words).encode("utf-8", "surrogatepass")]
    return [" ".join(words[i:i + ngram]).encode("utf-8", "surrogatepass")
            for i in range(len(words) - ngram + 1)]


def lsh_bands(threshold: float, num_perm: int, recall: float = 0.99) -> tuple[int, int]:
    """(bands, rows per band) with the fewest false candidates such that a pair whose Jaccard
    similarity equals ``threshold`` shares a band with probability >= ``recall``.

    datasketch's MinHashLSH balances false positives against false negatives instead, which at
    threshold 0.9 with 64 permutations misses ~30% of pairs at similarity 0.95; here every
    candidate is verified against the threshold, so false candidates only cost a comparison.
    """
    for r in range(num_perm, 0, -1):
        b = num_perm // r
        if 1 - (1 - threshold ** r) ** b >= recall:
            return b, r
    return num_perm, 1


@dataclass
class NearDupConfig:
    """How near-duplicates are found."""

    #: estimated Jaccard similarity of word-shingle sets at or above which two texts are twins
    threshold: float = 0.9
    #: MinHash permutations per text (more: finer estimate, 4 bytes more memory per row each)
    num_perm: int = 64
    #: words per shingle
    ngram: int = 3
    #: MinHash seed (fixed: results are the same on every run)
    seed: int = 1


class NearDuplicateIndex:
    """Collects MinHash signatures row by row, then answers which rows are near-duplicates.

    ``add(norm_text)`` returns the row's position (0, 1, 2...). After all rows are added:
    ``greedy_twins(eligible)`` -> {row: earlier kept twin} (for clean: the first of each
    cluster stays) and ``pairs()`` -> verified similar pairs (for grouping with UnionFind).
    """

    def __init__(self, config: NearDupConfig | None = None):
        from datasketch import MinHash
        self.config = cfg = config or NearDupConfig()
        if not 0.0 < cfg.threshold <= 1.0:
            from tunewise.errors import UsageError
            raise UsageError(f"near-duplicate threshold must be in (0, 1], got {cfg.threshold}",
                             fix="use e.g. 0.9 (90% of word 3-grams shared)")
        self._reuse = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        self._sig = np.empty((1024, cfg.num_perm), dtype=np.uint32)
        self.n = 0
        self.bands, self.rows_per_band = lsh_bands(cfg.threshold, cfg.num_perm)

    def signature(self, norm_text: str) -> np.ndarray:
        m = self._reuse            # one MinHash, cleared per text (construction costs ~20 us)
        m.clear()
        m.update_batch(shingles(norm_text, self.config.ngram))
        return m.hashvalues.astype(np.uint32, copy=True)

    def add(self, norm_text: str) -> int:
        if self.n == len(self._sig):
            grown = np.empty((len(self._sig) * 2, self.config.num_perm), dtype=np.uint32)
            grown[:self.n] = self._sig[:self.n]
            self._sig = grown
        self._sig[self.n] = self.signature(norm_text)
        self.n += 1
        return self.n - 1

    @property
    def signatures(self) -> np.ndarray:
        return self._sig[:self.n]

    def similarity(self, a: int, b: int) -> float:
        """Estimated Jaccard similarity of rows a and b."""
        return float(np.mean(self._sig[a] == self._sig[b]))

    def clusters(self, threshold: float | None = None) -> np.ndarray:
        """A cluster id for every row: rows whose estimated similarity reaches ``threshold``
        (default: the index's) end up in one cluster, transitively. Each band bucket is checked
        against its first member only (a star per bucket), so the work is linear in the rows
        even when thousands of rows share a bucket; a pair can be missed only when neither row
        is the first of any bucket they share."""
        thr = self.config.threshold if threshold is None else threshold
        bands, r = lsh_bands(thr, self.config.num_perm)
        uf = UnionFind(self.n)
        if self.n < 2:
            return np.arange(self.n)
        rows = np.arange(self.n)
        for inv in self._band_buckets(rows, bands, r):
            _, first = np.unique(inv, return_index=True)
            rep = first[inv]
            cand = np.flatnonzero(rep != rows)
            if not len(cand):
                continue
            sim = np.mean(self._sig[cand] == self._sig[rep[cand]], axis=1)
            for a, b in zip(cand[sim >= thr], rep[cand][sim >= thr]):
                uf.union(int(a), int(b))
        roots = np.fromiter((uf.find(i) for i in range(self.n)), dtype=np.int64, count=self.n)
        return np.unique(roots, return_inverse=True)[1].reshape(-1)

    # -- candidates --------------------------------------------------------------------------
    def _band_buckets(self, rows: np.ndarray, bands: int | None = None,
                      rows_per_band: int | None = None) -> list[np.ndarray]:
        """Per band: a bucket id for each of ``rows`` (rows sharing a band signature share it)."""
        bands = self.bands if bands is None else bands
        rpb = self.rows_per_band if rows_per_band is None else rows_per_band
        sig = self._sig[rows].astype(np.uint64)
        out = []
        mult = np.uint64(0x9E3779B97F4A7C15)
        for b in range(bands):
            band = sig[:, b * rpb:(b + 1) * rpb]
            h = np.full(len(rows), np.uint64(0xCBF29CE484222325), dtype=np.uint64)
            with np.errstate(over="ignore"):
                for j in range(band.shape[1]):
                    h = (h ^ band[:, j]) * mult
                    h ^= h >> np.uint64(29)
            _, inverse = np.unique(h, return_inverse=True)
            out.append(inverse.reshape(-1))
        return out

    def _colliding(self, rows: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        buckets = self._band_buckets(rows)
        hit = np.zeros(len(rows), dtype=bool)
        for inv in buckets:
            counts = np.bincount(inv)
            hit |= counts[inv] > 1
        return hit, buckets

    def greedy_twins(self, eligible: np.ndarray | None = None) -> dict[int, int]:
        """{row: twin} for every eligible row that is a near-duplicate of an earlier kept row.

        Rows are visited in order; a row is kept unless it is similar (>= threshold) to a row
        already kept, in which case its twin is the earliest such kept row.
        """
        rows = np.arange(self.n) if eligible is None else np.flatnonzero(eligible[:self.n])
        if len(rows) < 2:
            return {}
        hit, buckets = self._colliding(rows)
        kept_in: list[dict[int, list[int]]] = [dict() for _ in range(self.bands)]
        twins: dict[int, int] = {}
        thr = self.config.threshold
        for pos in np.flatnonzero(hit):
            row = int(rows[pos])
            cands = set()
            for b in range(self.bands):
                cands.update(kept_in[b].get(int(buckets[b][pos]), ()))
            twin = None
            for c in sorted(cands):
                if self.similarity(row, c) >= thr:
                    twin = c
                    break
            if twin is not None:
                twins[row] = twin
                continue
            for b in range(self.bands):
                kept_in[b].setdefault(int(buckets[b][pos]), []).append(row)
        return twins

    def pairs(self, eligible: np.ndarray | None = None) -> list[tuple[int, int]]:
        """Every verified similar pair (a < b) among eligible rows that share a band bucket."""
        rows = np.arange(self.n) if eligible is None else np.flatnonzero(eligible[:self.n])
        if len(rows) < 2:
            return []
        hit, buckets = self._colliding(rows)
        found: set[tuple[int, int]] = set()
        thr = self.config.threshold
        for inv in buckets:
            members: dict[int, list[int]] = {}
            for pos in np.flatnonzero(hit):
                members.setdefault(int(inv[pos]), []).append(int(rows[pos]))
            for group in members.values():
                for i in range(len(group)):
                    for j in range(i + 1, len(group)):
                        a, b = group[i], group[j]
                        if (a, b) not in found and self.similarity(a, b) >= thr:
                            found.add((a, b))
        return sorted(found)


def _final_assistant(ex) -> int | None:
    for i in range(len(ex.messages) - 1, -1, -1):
        if ex.messages[i].role == "assistant":
            return i
    return None


def compare_texts(ex, include_answer: bool = False) -> tuple[str, str]:
    """(exact text, near text) an example is compared on.

    By default the input only (every message but the final assistant answer; the near text leaves
    out the system prompt, which many rows share). ``include_answer`` (a task whose
    ``answer_in_identity`` is set, e.g. generation): input and answer, since one prompt may
    legitimately have several answers.
    """
    last = _final_assistant(ex)
    exact, near = [], []
    for i, m in enumerate(ex.messages):
        if i == last and not include_answer:
            continue
        content = m.content if isinstance(m.content, str) else ""
        exact.append(f"{m.role}: {normalize(content)}")
        if m.role != "system":
            near.append(content)
    return "\n".join(exact), normalize(" ".join(near))


class UnionFind:
    """Disjoint sets over 0..n-1 (path halving, union by size)."""

    def __init__(self, n: int):
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return ra

    def groups(self) -> list[list[int]]:
        """Members of each set, sets ordered by their first member, members ascending."""
        by_root: dict[int, list[int]] = {}
        for x in range(len(self.parent)):
            by_root.setdefault(self.find(x), []).append(x)
        return sorted(by_root.values(), key=lambda g: g[0])
