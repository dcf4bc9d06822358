"""Read any supported dataset file into ``Example`` records.

    from tunewise.data import read, iter_examples
    examples = read("train.csv")                    # DataError lists every error at once
    examples, problems = read_with_problems("train.csv")   # warnings and errors, no raise
    for ex in iter_examples("big.jsonl.gz"): ...    # streaming; memory does not grow with the file

A folder of class folders of ``.txt`` files is read as the ``folder`` format. A file that cannot
be read at all (missing, another directory, binary, empty) raises ``InputError``
(exit code 2). Format: detected from the extension and the content, or ``format=``.
"""
from __future__ import annotations

import os
from typing import Iterator

from tunewise.data.formats import ReadOptions, detect_format, iter_format, resolve_format
from tunewise.data.formats.problem_log import ProblemLog
from tunewise.data.formats.textio import InputFile, inspect
from tunewise.data.problems import Problem
from tunewise.data.records import Example
from tunewise.errors import DataError

TASKS = ("classification", "ner", "generation")


def open_input(path: str | os.PathLike, format: str | None = None) -> tuple[InputFile, str]:
    """Inspect the file (raises InputError if unreadable) and decide its format name. A folder
    of class folders is the ``folder`` format."""
    from tunewise.data.formats import class_folders
    if (format is None or resolve_format(format).name == "folder") and \
            class_folders.looks_like_class_folders(path):
        return class_folders.folder_info(path), "folder"
    if format is not None:
        fmt = resolve_format(format).name     # unknown names fail before touching the file
        return inspect(path), fmt
    info = inspect(path)
    return info, detect_format(info)


def _options(path, task, text_column, label_column, encoding) -> ReadOptions:
    if task is not None and task not in TASKS:
        from tunewise.errors import UnknownNameError
        from tunewise.registry import did_you_mean
        raise UnknownNameError(f"unknown task {task!r}", fix=did_you_mean(task, TASKS))
    return ReadOptions(os.fspath(path), task, text_column, label_column, encoding)


def iter_examples(path: str | os.PathLike, *, format: str | None = None, task: str | None = None,
                  text_column: str | None = None, label_column: str | None = None,
                  encoding: str | None = None, log: ProblemLog | None = None) -> Iterator[Example]:
    """Stream the valid examples of ``path``.

    Problems go to ``log`` when one is given; without one, a ``DataError`` listing every error is
    raised after the last example (the examples before it have been yielded already).
    """
    own = log is None
    if own:
        log = ProblemLog(os.fspath(path))
    info, fmt = open_input(path, format)
    opts = _options(path, task, text_column, label_column, encoding)
    yield from iter_format(info, fmt, opts, log)
    if own and log.n_errors:
        raise _data_error(os.fspath(path), log)


def read_with_problems(path: str | os.PathLike, *, format: str | None = None,
                       task: str | None = None, text_column: str | None = None,
                       label_column: str | None = None, encoding: str | None = None
                       ) -> tuple[list[Example], list[Problem]]:
    """All valid examples and every problem found (errors and warnings); never raises DataError."""
    log = ProblemLog(os.fspath(path))
    examples = list(iter_examples(path, format=format, task=task, text_column=text_column,
                                  label_column=label_column, encoding=encoding, log=log))
    return examples, log.problems


def read(path: str | os.PathLike, *, format: str | None = None, task: str | None = None,
         text_column: str | None = None, label_column: str | None = None,
         encoding: str | None = None) -> list[Example]:
    """All examples of ``path``; raises DataError listing every error (warnings are dropped)."""
    log = ProblemLog(os.fspath(path))
    examples = list(iter_examples(path, format=format, task=task, text_column=text_column,
                                  label_column=label_column, encoding=encoding, log=log))
    if log.n_errors:
        raise _data_error(os.fspath(path), log)
    return examples


def _data_error(path: str, log: ProblemLog) -> DataError:
    errors = [p for p in log.problems if p.is_error]
    n = log.n_errors
    more = f" (the first {len(errors)} are listed)" if n > len(errors) else ""
    return DataError(f"{path}: {n:,} error{'s' if n != 1 else ''} in the data{more}", errors,
                     fix=f"fix them, or run `tunewise data check {path}` for the full report")
