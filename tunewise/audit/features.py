"""Cheap text features for the audit, and nearest neighbours over them.

- ``tfidf``: word unigrams and bigrams, sublinear term frequency, L2-normalised rows (cosine
  similarity = dot product), vocabulary fitted on the texts given;
- ``nearest``: for each query row its most similar reference row (sparse products in chunks, so
  memory stays bounded whatever the sizes);
- ``lsa``: a dense, normalised low-rank projection (truncated SVD) for k-nearest-neighbour
  scores, where dense matrix products are much faster than sparse ones;
- ``embeddings``: a language model's features (``tunewise.quality.text_features``), when one is
  asked for.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: query rows per sparse product chunk
CHUNK = 2048


def tfidf(fit_texts: Sequence[str], *, ngram: tuple[int, int] = (1, 2), min_df: int = 1,
          max_df: float = 1.0, max_features: int | None = 2 ** 18):
    """A fitted ``TfidfVectorizer`` (float32, sublinear tf, L2 rows)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    vec = TfidfVectorizer(ngram_range=ngram, min_df=min_df, max_df=max_df, sublinear_tf=True,
                          max_features=max_features, dtype=np.float32,
                          token_pattern=r"(?u)\b\w+\b")
    try:
        vec.fit(list(fit_texts))
    except ValueError:                  # every text empty or only stop words
        vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 1), dtype=np.float32)
        vec.fit([t or " " for t in fit_texts] + ["a"])
    return vec


def nearest(queries, reference, *, self_index: np.ndarray | None = None,
            advance=None) -> tuple[np.ndarray, np.ndarray]:
    """(index of the most similar reference row, its cosine similarity) for each query row of
    two L2-normalised sparse matrices. ``self_index[i]``: the reference row that *is* query i
    (-1: none), which never counts as its match. A query with no shared term gets -1 and 0."""
    n = queries.shape[0]
    best = np.full(n, -1, dtype=np.int64)
    sim = np.zeros(n, dtype=np.float32)
    if not reference.shape[0] or not n:
        return best, sim
    ref_t = reference.T.tocsc()
    for start in range(0, n, CHUNK):
        block = (queries[start:start + CHUNK] @ ref_t).tocsr()
        own = None if self_index is None else self_index[start:start + CHUNK]
        _row_max(block, best, sim, start, own)
        if advance is not None:
            advance(block.shape[0])
    return best, sim


def _row_max(block, best: np.ndarray, sim: np.ndarray, offset: int,
             own: np.ndarray | None) -> None:
    """Per row of a CSR block: the column of its largest value and the value; ``own[row]``: a
    column that does not count for that row. (scipy's per-row argmax: no sort of the block.)"""
    counts = np.diff(block.indptr)
    if not counts.sum():
        return
    if own is not None:
        row_of = np.repeat(np.arange(block.shape[0]), counts)
        block.data[block.indices == own[row_of]] = -1.0
    top = block.max(axis=1).toarray().ravel()
    arg = np.asarray(block.argmax(axis=1)).ravel()
    good = top > 0
    rows = np.flatnonzero(good)
    best[offset + rows] = arg[rows]
    sim[offset + rows] = top[rows]


def lsa(matrices: Sequence, *, dims: int = 128, fit_rows: int = 20000, seed: int = 0):
    """Dense, L2-normalised projections of sparse TF-IDF matrices onto ``dims`` components of a
    truncated SVD fitted on at most ``fit_rows`` rows of the first matrix."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize
    base = matrices[0]
    dims = max(1, min(dims, base.shape[1] - 1, base.shape[0] - 1))
    rng = np.random.default_rng(seed)
    rows = rng.choice(base.shape[0], min(fit_rows, base.shape[0]), replace=False)
    svd = TruncatedSVD(n_components=dims, random_state=seed, algorithm="randomized", n_iter=4)
    svd.fit(base[np.sort(rows)])
    return [normalize(svd.transform(m)).astype(np.float32) for m in matrices]


def knn_similarity(dense: np.ndarray, reference: np.ndarray, k: int, *,
                   self_rows: np.ndarray | None = None, chunk: int = 4096) -> np.ndarray:
    """Mean cosine similarity of each row of ``dense`` to its ``k`` most similar rows of
    ``reference`` (both L2-normalised). ``self_rows[i]``: the reference row that *is* query i
    (-1: none), left out."""
    n = dense.shape[0]
    k = max(1, min(k, reference.shape[0] - (1 if self_rows is not None else 0)))
    out = np.zeros(n, dtype=np.float32)
    for start in range(0, n, chunk):
        sims = dense[start:start + chunk] @ reference.T
        if self_rows is not None:
            own = self_rows[start:start + chunk]
            hit = np.flatnonzero(own >= 0)
            sims[hit, own[hit]] = -np.inf
        top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
        out[start:start + chunk] = top.mean(axis=1)
    return out


def embeddings(texts: Sequence[str], *, model=None, lm=None, progress: bool = False) -> np.ndarray:
    """L2-normalised language-model features of ``texts`` (``tunewise.quality.text_features``)."""
    from sklearn.preprocessing import normalize

    from tunewise.quality.text_features import embed_texts
    feats = embed_texts(list(texts), model=model, lm=lm, progress=progress)
    feats = feats - feats.mean(axis=0, keepdims=True)
    return normalize(feats).astype(np.float32)
