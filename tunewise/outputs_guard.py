"""One rule in one place: an output never replaces an input, and a write target is checked
before long work starts.

Every command that writes files calls :func:`check_outputs` with the paths it reads and every
path it will write (derived ones included: a default log, the split files, the files of a run
folder) *before* it writes anything. Two paths are the same file when they resolve to the same
path (symbolic links followed) or name the same inode (hard links).

:func:`check_run_folder` is the rule for ``train -o``: the folder is new, empty, or a tunewise
run; anything else (a folder of the user's own files) is refused.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Iterable, Sequence

from tunewise.errors import OutputError, UsageError

PathLike = "str | os.PathLike"


def _resolve(p: "str | os.PathLike") -> Path:
    try:
        return Path(p).expanduser().resolve()
    except (OSError, RuntimeError):          # a symlink loop: compare the path as given
        return Path(os.path.abspath(os.fspath(p)))


def same_file(a: "str | os.PathLike", b: "str | os.PathLike") -> bool:
    """True when ``a`` and ``b`` are the same file: the same path after resolving symbolic
    links, or (both existing) the same inode."""
    if _resolve(a) == _resolve(b):
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _pairs(items) -> list[tuple[str, "str | os.PathLike"]]:
    if isinstance(items, dict):
        items = items.items()
    return [(what, p) for what, p in items if p is not None and isinstance(p, (str, os.PathLike))]


def check_outputs(inputs, outputs, *, fix: str | None = None) -> None:
    """Refuse (UsageError, exit 2) when an output would replace an input, or cannot be written.

    ``inputs`` / ``outputs``: ``{description: path}`` or ``[(description, path), ...]``; entries
    whose path is None (or not a path, e.g. a list of examples) are ignored.
    """
    ins, outs = _pairs(inputs), _pairs(outputs)
    for what_out, out in outs:
        for what_in, inp in ins:
            if same_file(out, inp):
                raise UsageError(
                    f"the {what_out} {out} would replace the {what_in} {inp} (the same file); "
                    "inputs are never modified",
                    fix=fix or f"write the {what_out} to another path")
    for what_out, out in outs:
        check_writable(out, what_out)


def check_writable(path: "str | os.PathLike", what: str = "output") -> None:
    """The output file ``path`` can be created: it is not a folder, and its nearest existing
    parent is a folder we may write to. Raises UsageError otherwise."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"the {what} {p} is a folder", fix=f"give the {what} a file path, "
                         f"e.g. {p / 'out.jsonl'}")
    parent = p.parent
    while not parent.exists():
        if parent.is_symlink():
            break
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"cannot write the {what} {p}: {parent} is a file, not a folder",
                         fix=f"give the {what} a path inside a folder")
    if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write the {what} {p}: the folder {parent} is not writable",
                         fix="choose a folder you may write to, or change its permissions")


#: files tunewise itself may put in a run folder before the run starts (compare's input marker)
OWN_FILES = frozenset({"compare-inputs.json"})


def check_run_folder(out_dir: "str | os.PathLike", inputs, *, run_files: Sequence[str] = (),
                     marker: str = "run.json") -> None:
    """``train -o DIR``: DIR must be new, empty or a tunewise run (it holds ``marker``); no
    file it will hold (``run_files``, relative to DIR) may be an input; no input may live in it."""
    d = Path(out_dir)
    if d.exists() and not d.is_dir():
        raise UsageError(f"-o {d} is a file", fix="pass a folder path for the run")
    ins = _pairs(inputs)
    for what_in, inp in ins:
        r_in, r_dir = _resolve(inp), _resolve(d)
        if r_dir == r_in or r_dir in r_in.parents:
            raise UsageError(f"the {what_in} {inp} is inside the run folder {d}; the run would "
                             "overwrite it", fix="choose a new, empty folder for -o")
    check_outputs(ins, [(f"run file {rel}", d / rel) for rel in run_files])
    if d.is_dir() and not (d / marker).exists():
        try:
            entries = [e.name for e in os.scandir(d) if e.name not in OWN_FILES]
        except OSError as e:
            raise UsageError(f"cannot read the run folder {d}: {e.strerror}",
                             fix="choose another -o folder") from None
        if entries:
            shown = ", ".join(sorted(entries)[:5]) + (" ..." if len(entries) > 5 else "")
            raise UsageError(f"-o {d} is a folder of other files ({shown}), not a tunewise run",
                             fix="choose a new or empty folder for -o")


# -- write failures -----------------------------------------------------------------------------
_FIXES = {
    errno.ENOSPC: "free space on that disk, or write to another disk",
    errno.EDQUOT: "free space within your quota, or write to another disk",
    errno.EFBIG: "the file is larger than allowed (file-size limit, `ulimit -f`, or the "
                 "file system's maximum); raise the limit or write to another file system",
    errno.EROFS: "the file system is read-only; write to another folder",
    errno.EACCES: "choose a folder you may write to, or change its permissions",
    errno.EPERM: "choose a folder you may write to, or change its permissions",
    errno.EISDIR: "give a file path, not a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder; fix the path",
    errno.ENOENT: "the folder does not exist (or was removed); create it or choose another",
    errno.ENAMETOOLONG: "use a shorter path",
}


def file_in_path(path: "str | os.PathLike | None") -> str | None:
    """The first part of ``path`` that exists and is not a folder (``/proc/version`` in
    ``/proc/version/x``; the path itself when it is a file), or None."""
    if path is None:
        return None
    p = os.path.abspath(os.fspath(path))
    parts = []
    while True:
        parts.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for part in reversed(parts):           # from the root down to the path itself
        if os.path.lexists(part) and not os.path.isdir(part):
            return part
    return None


def _reason(exc: OSError, path) -> tuple[str, int | None]:
    """The OS reason, except that "File exists" / "Not a directory" raised for a path through a
    file (``mkdir`` over a file, the usual cause of both) says which part is the file."""
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = file_in_path(path)
        if blocker is not None:
            return f"{blocker} is a file, not a folder", errno.ENOTDIR
    return exc.strerror or str(exc), exc.errno


def write_error(exc: OSError, path: "str | os.PathLike") -> OutputError:
    """An OutputError naming the path, the OS reason and a fix, for an OSError while writing."""
    reason, code = _reason(exc, path)
    fix = _FIXES.get(code, "check the path, free space and permissions, then retry")
    return OutputError(f"cannot write {path}: {reason}; nothing was replaced (a previous file "
                       "there is unchanged)", fix=fix, path=os.fspath(path), errno=exc.errno)


def os_error_message(exc: OSError) -> str:
    """An OSError in words: the path(s) and the operating system's reason."""
    reason, _ = _reason(exc, exc.filename)
    if exc.filename is not None and exc.filename2 is not None:
        return f"{exc.filename} -> {exc.filename2}: {reason}"
    if exc.filename is not None:
        return f"{exc.filename}: {reason}"
    return reason


def save_error(exc: BaseException, folder: "str | os.PathLike", what: str = "checkpoint"):
    """A failed write of a model / checkpoint folder in words (OutputError: path, OS reason,
    fix); an exception that is not a failed write is returned as it is (a bug, reported as one)."""
    if isinstance(exc, OSError):
        return write_error(exc, folder)
    msg = str(exc).lower()
    if "writ" not in msg and "file" not in msg:
        return exc
    return OutputError(f"cannot write {what} {folder}: {exc}; the previous one is kept",
                       fix="check free space and the file-size limit (`ulimit -f`), then retry",
                       path=os.fspath(folder))
