"""Where converted models live: ``$TUNEWISE_HOME`` (default ``~/.cache/tunewise``)."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable


def tunewise_home() -> Path:
    return Path(os.environ.get("TUNEWISE_HOME") or Path.home() / ".cache" / "tunewise")


def cached_dir(name: str, build: Callable[[Path], None]) -> Path:
    """Return ``$TUNEWISE_HOME/models/<name>``, building it with ``build(tmpdir)`` if missing.

    The folder is built in a temporary folder and renamed into place, so concurrent processes
    (data-parallel training, parallel tests) never see a half-written cache; the loser of a race
    discards its copy.
    """
    target = tunewise_home() / "models" / name
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        build(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return target
