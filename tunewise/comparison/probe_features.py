"""The embedding-probe arm's features, computed once per text and base model and kept in OUT.

A probe learning curve fits one logistic regression per training size and seed, on nested and
overlapping subsets of the training split, each scored on the same test sample: without a cache
every arm would run the base model over the same texts again. ``FeatureCache`` keys each text's
features by a hash of the model, the precision, the feature recipe and the text, so a curve of
sizes reuses them, an added size embeds only its new texts, and a resumed compare recomputes
nothing (like compare's other caches, ``comparison.cache``). Each text also keeps the forward
seconds measured when it was embedded: the probe's cost per request is its text's forward pass,
measured once, not the lookup that answers it later.

The file (``OUT/probe-features/<model>.npz``: the hashes, the features and the seconds) is plain
numpy arrays, read without pickle, rewritten atomically after each batch of new texts.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tunewise.fileio import atomic_write, safe_filename

#: where compare keeps the features (inside OUT)
FEATURES_DIR = "probe-features"
#: bump when the feature recipe changes (``quality.text_features``): every key changes with it
FEATURES_VERSION = 1


def features_path(out: str | os.PathLike, model: str) -> Path:
    """OUT/probe-features/<safe model name>.npz."""
    return Path(out) / FEATURES_DIR / f"{safe_filename(model)}.npz"


class FeatureCache:
    """``cache(texts) -> (features, seconds)`` for one base model (``ProbeArm``'s ``features``).

    ``base_model``: a zero-argument function returning the ``LoadedModel`` (called only when a
    text is missing, so a fully cached curve never loads the model)."""

    def __init__(self, out: str | os.PathLike, model: str, base_model: Callable[[], Any], *,
                 bf16: bool, progress: bool = True):
        from tunewise.quality.text_features import MAX_TOKENS
        self.path = features_path(out, model)
        self.model, self.base_model, self.bf16, self.progress = model, base_model, bf16, progress
        self._salt = json.dumps([FEATURES_VERSION, model, bool(bf16), MAX_TOKENS])
        self._index: dict[str, int] | None = None
        self._x = np.zeros((0, 0), dtype=np.float32)
        self._secs = np.zeros(0)

    def key(self, text: str) -> str:
        return hashlib.sha256((self._salt + "\n" + (text or "")).encode("utf-8")).hexdigest()

    def __call__(self, texts: list) -> tuple[np.ndarray, np.ndarray]:
        self._load()
        keys = [self.key(t) for t in texts]
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in self._index and k not in missing:
                missing[k] = t
        if missing:
            self._add(list(missing), list(missing.values()))
        rows = [self._index[k] for k in keys]
        return self._x[rows], self._secs[rows]

    def _add(self, keys: list[str], texts: list[str]) -> None:
        from tunewise.quality.text_features import embed_texts
        lm = self.base_model()
        t0 = time.perf_counter()
        x = embed_texts(texts, lm=lm, bf16=self.bf16, progress=self.progress)
        per = (time.perf_counter() - t0) / len(texts)   # one batch run: its mean per text
        self._x = x if not len(self._index) else np.concatenate([self._x, x])
        self._secs = np.concatenate([self._secs, np.full(len(texts), per)])
        for k in keys:
            self._index[k] = len(self._index)
        self._save()

    def _load(self) -> None:
        if self._index is not None:
            return
        self._index = {}
        if not self.path.is_file():
            return
        try:
            with np.load(self.path, allow_pickle=False) as z:
                keys, x, secs = z["keys"], z["features"], z["seconds"]
        except (OSError, ValueError, KeyError):
            return               # unreadable (the write is atomic, so rare): embed again
        if len(keys) != len(x) or len(x) != len(secs):
            return
        self._index = {str(k): i for i, k in enumerate(keys)}
        self._x, self._secs = x.astype(np.float32), secs.astype(float)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path, "wb", encoding=None) as fh:
            np.savez(fh, keys=np.array(list(self._index), dtype="U64"), features=self._x,
                     seconds=self._secs)
