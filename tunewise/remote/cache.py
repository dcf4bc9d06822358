"""On-disk response cache: one JSON file per finished response, written atomically.

The key is the SHA-256 of (base URL, model, the full request JSON with sorted keys): a rerun of
the same requests makes no HTTP call, and a run interrupted halfway finds every response that
finished before the interruption (each is renamed into place as soon as it arrives). The API key
is not part of the key and is never written; the base URL enters the key without its
credentials (``redact_url``), so neither does a password in it.

The files hold prompts and answers: folders are made 0700 and files 0600. An entry that does
not hold a chat completion's shape (``remote.response_shape``; a damaged or hand-edited file) is
a miss: asked again and rewritten, never a crash. ``check()`` makes sure the folder can be
written before the first (paid) request.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from tunewise.errors import UsageError
from tunewise.fileio import atomic_write, make_private_dir
from tunewise.remote.response_shape import completion_problem
from tunewise.remote.urls import redact_url


def default_cache_dir() -> Path:
    """``$TUNEWISE_HOME/remote-cache`` (``~/.cache/tunewise/remote-cache`` by default)."""
    home = os.environ.get("TUNEWISE_HOME") or Path.home() / ".cache" / "tunewise"
    return Path(home) / "remote-cache"


def request_key(base_url: str, model: str, request: dict) -> str:
    blob = json.dumps({"base_url": redact_url(base_url.rstrip("/")), "model": model,
                       "request": request},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ResponseCache:
    """``get(key)`` / ``put(key, response)`` over a folder (two-level fan-out by key prefix)."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else default_cache_dir()
        self._checked = False

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError):
            return None          # a damaged entry is asked again and rewritten
        response = data.get("response") if isinstance(data, dict) else None
        if completion_problem(response) is not None:
            return None          # not a chat completion (hand-edited, older bug): a miss
        return response

    def put(self, key: str, response: dict, *, request: dict | None = None) -> None:
        self.check()
        path = self._path(key)
        with atomic_write(path, private=True) as fh:
            json.dump({"request": request, "response": response}, fh, ensure_ascii=False)
        with contextlib.suppress(OSError):
            if path.parent.stat().st_mode & 0o077:   # made by an older tunewise: ours to close
                os.chmod(path.parent, 0o700)

    def check(self) -> None:
        """Create the cache folder (0700 when it is new) or raise ``UsageError`` (exit 2) when
        it cannot be written: a file in its path, no permission. Called before any request, so
        a bad ``--cache-dir`` costs no paid call."""
        if self._checked:
            return
        folder = self.folder
        fix = "give --cache-dir (or $TUNEWISE_HOME) a folder you may write to"
        existing = folder
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent
        if not existing.is_dir():
            where = "is a file" if existing == folder else f"lies under {existing}, a file"
            raise UsageError(f"the remote cache folder {folder} {where}, not a folder", fix=fix)
        try:
            make_private_dir(folder)
        except OSError as e:
            raise UsageError(f"cannot create the remote cache folder {folder}: "
                             f"{e.strerror or e}", fix=fix) from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"cannot write the remote cache folder {folder}: permission denied",
                             fix=fix)
        self._checked = True
