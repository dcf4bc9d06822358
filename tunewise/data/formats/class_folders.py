"""A folder of class folders of ``.txt`` files: ``FOLDER/<label>/<name>.txt`` is one
classification example (the file's text, whitespace runs collapsed, is the input; the folder name
the label). Files are read in sorted order, class folders too; hidden folders are skipped. An empty
file is left out (a warning naming it). Text that is not valid in the given encoding (default
UTF-8) is read as cp1252.

Registered as the format ``folder``; a directory given where a data file is expected is read this
way (``tunewise data check DIR``, ``eval``, ``train``, ``compare``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from tunewise.data.formats.options import ReadOptions
from tunewise.data.formats.textio import InputFile
from tunewise.data.records import Example
from tunewise.errors import InputError


def class_dirs(folder: str | Path) -> list[Path]:
    """The class folders of ``folder`` (sorted, hidden ones left out)."""
    return sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("."))


def looks_like_class_folders(path: str | Path) -> bool:
    """A directory with at least one class folder holding a ``.txt`` file."""
    p = Path(path)
    return p.is_dir() and any(next(c.glob("*.txt"), None) is not None for c in class_dirs(p))


def folder_info(path: str | Path) -> InputFile:
    """The ``InputFile`` record a folder is read through (no bytes: the files are read later)."""
    files = [f for c in class_dirs(path) for f in c.glob("*.txt")]
    return InputFile(path=str(path), gz=False, size=sum(f.stat().st_size for f in files),
                     head=b"")


def _text(f: Path, encoding: str | None) -> str:
    raw = f.read_bytes()
    try:
        text = raw.decode(encoding or "utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return " ".join(text.split())


def iter_class_folders(folder: str | Path, *, encoding: str | None = None,
                       skipped: list | None = None) -> Iterator[Example]:
    """One classification Example per non-empty ``.txt`` file; empty files are appended to
    ``skipped``. Raises InputError when there are no class folders."""
    classes = class_dirs(folder)
    if not classes:
        raise InputError(f"{folder}: no class folders found",
                         fix="put one folder per label, each holding .txt files")
    for c in classes:
        for f in sorted(c.glob("*.txt")):
            text = _text(f, encoding)
            if text:
                yield Example.from_text(text, c.name, label=c.name,
                                        meta={"source": str(f), "line": 1})
            elif skipped is not None:
                skipped.append(str(f))


def read_class_folders(folder: str | Path, *, encoding: str | None = None,
                       skipped: list | None = None) -> list[Example]:
    """Every example of ``folder`` (see ``iter_class_folders``); InputError when none."""
    out = list(iter_class_folders(folder, encoding=encoding, skipped=skipped))
    if not out:
        raise InputError(f"{folder}: the class folders hold no non-empty .txt files")
    return out


def iter_examples(info: InputFile, opts: ReadOptions, log) -> Iterator[Example]:
    """The ``folder`` format's reader: empty files become warnings in ``log``."""
    skipped: list[str] = []
    n = 0
    for ex in iter_class_folders(info.path, encoding=opts.encoding, skipped=skipped):
        n += 1
        yield ex
    for f in skipped:
        rel = Path(f).relative_to(info.path)
        log.warning("empty_file", f"{rel}: empty file, left out", "remove it or give it text")
    if n == 0:
        log.error("no_examples", f"{info.path}: the class folders hold no non-empty .txt files",
                  "put .txt files with text in the class folders")
