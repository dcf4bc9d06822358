"""Atomic output files: write to a temporary file in the target folder, then rename into place.

Inputs are never modified; an interrupted write never leaves a half-written output behind.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator


#: characters a file name made from user text keeps; every other run becomes "_"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: longest slug (a file name must stay far below the file system's 255 bytes with its suffix)
SLUG_MAX = 100


def safe_filename(text: str, max_len: int = SLUG_MAX) -> str:
    """The one way a file name is made from user text (an arm, model or plot name): runs of
    anything but ``A-Z a-z 0-9 . _ -`` become ``_``, leading dots go (no ``..``, no hidden
    file), an empty result is ``_``, and a name longer than ``max_len`` keeps its start plus
    a hash of the whole text. The result is one path component: it cannot leave its folder.

    ``"../../victim"`` -> ``"__.._victim"``; ``"served a"`` -> ``"served_a"``."""
    s = _UNSAFE.sub("_", str(text))
    if s.startswith("."):
        s = "_" + s.lstrip(".")
    s = s or "_"
    if len(s) > max_len:
        digest = hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:10]
        s = f"{s[:max_len - 11]}-{digest}"
    return s


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                 newline: str | None = None, *, private: bool = False) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync and rename it over ``path``.

    ``private``: the file is readable by its owner only (0600) and a missing folder is made
    0700 (caches of prompts and answers); otherwise the file gets the permissions a plain
    ``open()`` would give it.

    A failure to write ``path`` (disk full, file-size limit, read-only folder...) raises
    ``OutputError`` naming ``path``, the OS reason and a fix; the previous file at ``path`` is
    left as it was. Any other exception raised by the caller's block passes through unchanged.
    """
    from tunewise.outputs_guard import write_error
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if private:
            make_private_dir(path.parent)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise write_error(e, path) from None
    binary = "b" in mode
    fh = None
    try:
        fh = os.fdopen(fd, mode, encoding=None if binary else encoding,
                       newline=None if binary else newline)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.close(fd)
        _discard(None, tmp)
        raise write_error(e, path) from None
    try:
        yield _Guarded(fh, path)        # its write errors name ``path``; others pass through
    except BaseException:
        _discard(fh, tmp)
        raise
    try:
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        # mkstemp creates 0600 files; give the output the permissions a plain open() would
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as e:                # our own flush / fsync / rename failed
        _discard(fh, tmp)
        raise write_error(e, path) from None
    except BaseException:               # e.g. KeyboardInterrupt during fsync
        _discard(fh, tmp)
        raise


def make_private_dir(folder: str | os.PathLike) -> None:
    """Create ``folder`` (and missing parents) readable by its owner only (0700); an existing
    folder is left as it is."""
    folder = Path(folder)
    if folder.is_dir():
        return
    missing = []
    p = folder
    while not p.exists() and p.parent != p:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            if not d.is_dir():
                raise
        else:
            os.chmod(d, 0o700)         # mkdir's mode is masked by the umask: make it exact


def _discard(fh, tmp: str) -> None:
    if fh is not None:
        with contextlib.suppress(OSError, ValueError):
            fh.close()              # may try to flush the buffer again: ignore, it is discarded
    with contextlib.suppress(OSError):
        os.unlink(tmp)


class _Guarded:
    """A file object whose write errors become OutputError naming the final path (the caller's
    block is the only writer of it, so any OSError from write() is a failure to write it)."""

    def __init__(self, fh, path: Path):
        self._fh, self._path = fh, path

    def write(self, data):
        try:
            return self._fh.write(data)
        except OSError as e:
            from tunewise.outputs_guard import write_error
            raise write_error(e, self._path) from None

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        try:
            return self._fh.flush()
        except OSError as e:
            from tunewise.outputs_guard import write_error
            raise write_error(e, self._path) from None

    def __iter__(self):
        return iter(self._fh)

    def __getattr__(self, name):
        return getattr(self._fh, name)


def atomic_dir(final: Path):
    """A temporary sibling folder of ``final`` and a ``commit()`` that renames it over ``final``
    (the old folder is renamed away first, ``.NAME.old``, and removed after: a crash between the
    two renames leaves one complete copy, which ``restore_old_dirs`` puts back)."""
    import shutil
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))

    def commit():
        old = None
        if final.exists():  # rename the old one away first; a crash now leaves one of them
            old = old_dir_name(final)
            if old.exists():
                shutil.rmtree(old)
            os.replace(final, old)
        os.replace(tmp, final)
        fsync_dir(final.parent)          # the renames survive a power cut
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return tmp, commit


def old_dir_name(final: Path) -> Path:
    """Where ``atomic_dir``'s commit parks the previous folder: ``.NAME.old`` beside it."""
    return Path(final).with_name(f".{Path(final).name}.old")


def restore_old_dirs(root: Path) -> list[str]:
    """Undo a crash between the two renames of ``atomic_dir``'s commit in folder ``root``: a
    ``.NAME.old`` folder with no ``NAME`` beside it is the last complete copy: renamed back. A
    ``.NAME.old`` whose ``NAME`` exists is stale and removed. Returns what was done."""
    import shutil
    done = []
    if not Path(root).is_dir():
        return done
    for p in Path(root).iterdir():
        if not (p.is_dir() and p.name.startswith(".") and p.name.endswith(".old")):
            continue
        final = Path(root) / p.name[1:-len(".old")]
        if final.exists():
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed the stale {p.name}")
        else:
            os.replace(p, final)
            done.append(f"restored {final.name} from {p.name} (left by an interrupted save)")
    return done


def fsync_dir(folder: str | os.PathLike) -> None:
    """fsync a folder so a rename inside it survives a power cut (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    """Write ``obj`` as JSON atomically."""
    with atomic_write(path) as fh:
        json.dump(obj, fh, indent=indent, ensure_ascii=False, default=_json_default)
        fh.write("\n")


def write_jsonl(path: str | os.PathLike, rows) -> int:
    """Write an iterable of dicts as JSON Lines atomically; returns the number of rows."""
    n = 0
    with atomic_write(path) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=_json_default))
            fh.write("\n")
            n += 1
    return n


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_write(path) as fh:
        fh.write(text)


def _json_default(o: Any):
    # numpy scalars / arrays, dataclasses, paths
    if hasattr(o, "tolist"):
        return o.tolist()
    if hasattr(o, "__dataclass_fields__"):
        import dataclasses
        return dataclasses.asdict(o)
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
