"""On-disk response cache: one JSON file per finished response, written atomically.

The key is the SHA-256 of (base URL, model, the full request JSON with sorted keys): a rerun of
the same requests makes no HTTP call, and a run interrupted halfway finds every response that
finished before the interruption (each is renamed into place as soon as it arrives). The API key
is not part of the key and is never written.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tunewise.fileio import atomic_write


def default_cache_dir() -> Path:
    """``$TUNEWISE_HOME/remote-cache`` (``~/.cache/tunewise/remote-cache`` by default)."""
    home = os.environ.get("TUNEWISE_HOME") or Path.home() / ".cache" / "tunewise"
    return Path(home) / "remote-cache"


def request_key(base_url: str, model: str, request: dict) -> str:
    blob = json.dumps({"base_url": base_url.rstrip("/"), "model": model, "request": request},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """``get(key)`` / ``put(key, response)`` over a folder (two-level fan-out by key prefix)."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else default_cache_dir()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None          # a damaged entry is asked again and rewritten
        return data.get("response") if isinstance(data, dict) else None

    def put(self, key: str, response: dict, *, request: dict | None = None) -> None:
        with atomic_write(self._path(key)) as fh:
            json.dump({"request": request, "response": response}, fh, ensure_ascii=False)
