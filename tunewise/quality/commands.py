"""The file-level ``clean`` and ``split`` (``tunewise data clean`` / ``tunewise data split``).

They resolve the task from its name (or infer it from the data) with ``tunewise.tasks.data_task``
and pass it down to ``tunewise.data.cleaning`` / ``tunewise.data.splitting``, together with what
those may not import themselves: the tokenizer for the overlong check (``tunewise.models.tokens``)
and the label-issue finder (``tunewise.quality.label_issues``). Reached as ``tunewise.data.clean``
and ``tunewise.data.split``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from tunewise.data.cleaning import (CleanOptions, CleanResult, clean_examples, default_log_path,
                                     peek)
from tunewise.data.records import Example
from tunewise.data.rowstream import ExampleSource, stream_rows
from tunewise.data.splitting import SPLIT_FILES, sha256_file
from tunewise.data.splitting import split_examples as _split_examples
from tunewise.errors import UsageError
from tunewise.tasks.factory import data_task

__all__ = ["clean", "clean_source", "split", "split_examples"]


def split_examples(examples: Sequence[Example], out_dir: str | os.PathLike, *,
                   task: Any = None, **kwargs) -> dict[str, Any]:
    """``tunewise.data.splitting.split_examples`` with ``task`` given as a kind name (or None:
    inferred from ``examples``); see there for the other options."""
    examples = list(examples)
    if not examples:
        raise UsageError(f"{kwargs.get('input_path') or 'the input'} holds no examples to split")
    return _split_examples(examples, out_dir, task=data_task(task, examples), **kwargs)


def split(path: str | os.PathLike, out_dir: str | os.PathLike, *, val: float = 0.1,
          test: float = 0.1, seed: int = 0, format: str | None = None, task: str | None = None,
          near_dup_threshold: float | None = 0.9, text_column: str | None = None,
          label_column: str | None = None, encoding: str | None = None,
          progress: bool = True) -> dict[str, Any]:
    """Split the dataset at ``path`` into ``out_dir``/{train,val,test}.jsonl + manifest.json.

    Deterministic for a given input and ``seed``. No input (nor a near-duplicate of it) appears
    in two splits. Raises DataError when the input has errors (run ``tunewise data clean``).
    """
    from tunewise.data import read
    from tunewise.outputs_guard import check_outputs
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder", fix="give -o a folder path")
    check_outputs({"input": path}, {f"split file {name}": out / name for name in SPLIT_FILES},
                  fix=f"give -o a folder other than the one holding {path}, or rename the input")
    digest = sha256_file(path) if Path(path).is_file() else None
    examples = read(path, format=format, task=task, text_column=text_column,
                    label_column=label_column, encoding=encoding)
    return split_examples(examples, out, val=val, test=test, seed=seed, task=task,
                          near_dup_threshold=near_dup_threshold, input_path=os.fspath(path),
                          input_sha256=digest, options={"format": format}, progress=progress)


def _token_counter(options: CleanOptions) -> tuple[Callable[[Example], int] | None, int | None]:
    """(count tokens of one example, limit), or (None, None) when no length check is asked.

    The count is exact (chat-formatted, the model's own tokenizer) only when a cheap upper bound
    from the byte length exceeds the limit; below the bound a row cannot be overlong, and the
    function returns 0 for it.
    """
    if options.max_tokens is None and options.model is None:
        return None, None
    from tunewise.models.tokens import token_counter
    counter = token_counter(options.model)
    limit = int(options.max_tokens if options.max_tokens is not None else counter.context_length)

    def count(ex: Example) -> int:
        n_bytes = sum(len((m.content or "").encode("utf-8")) + len(m.role) + len(m.name or "")
                      for m in ex.messages)
        if counter.length_bound(n_bytes, len(ex.messages)) <= limit:
            return 0
        return counter.count_examples([ex])[0]
    return count, limit


def _label_issues(examples: ExampleSource, source: str, model: str | None,
                  progress: bool) -> Callable[[], dict[int, dict]]:
    """A function returning {source line: {"suggested", "confidence"}} of the rows confident
    learning flags (features from ``model``, default the embedded one)."""
    def find() -> dict[int, dict]:
        from tunewise.quality.label_issues import find_label_issues
        valid = [r.example for r in stream_rows(examples, source) if r.example is not None]
        res = find_label_issues(valid, model=model, progress=progress)
        return {s.line: {"suggested": s.suggested, "confidence": round(s.confidence, 4)}
                for s in res.suspects if s.line is not None}
    return find


def clean_source(examples: ExampleSource, out: str | os.PathLike, *, task: Any = None,
                 options: CleanOptions | None = None, source: str = "<input>",
                 progress: bool = True, **kwargs) -> CleanResult:
    """``tunewise.data.cleaning.clean_examples`` with ``task`` as a kind name (None: inferred
    from the first 2,000 readable rows) and the tokenizer / label-issue finder the options ask
    for."""
    opts = options or CleanOptions()
    opts.validate()
    head = peek(examples, source)
    task = data_task(task, head)
    count_tokens, limit = _token_counter(opts)
    return clean_examples(examples, out, task=task, options=opts, source=source,
                          progress=progress, count_tokens=count_tokens, token_limit=limit,
                          label_issues=_label_issues(examples, source, opts.model, progress),
                          head=head, **kwargs)


def clean(path: str | os.PathLike, out: str | os.PathLike, *, log: str | os.PathLike | None = None,
          format: str | None = None, task: str | None = None,
          near_dup_threshold: float | None = 0.9, conflicts: str = "drop",
          min_confidence: float | None = None, max_tokens: int | None = None,
          model: str | None = None, mojibake: str = "strip", text_column: str | None = None,
          label_column: str | None = None, encoding: str | None = None,
          drop_label_issues: bool = False, redact: bool = False,
          progress: bool = True) -> CleanResult:
    """Clean the dataset at ``path`` into the chat JSONL ``out``; log every change/removal.

    ``log`` defaults to ``<out stem>.log.jsonl`` beside ``out``. See ``tunewise.data.cleaning``
    for the reasons. ``redact``: replace personal data by typed placeholders (``<EMAIL>``...).
    Raises UsageError when ``out`` or ``log`` would overwrite the input.
    """
    from tunewise.data import iter_examples
    from tunewise.outputs_guard import check_outputs
    # the log defaults to OUT.log.jsonl: that derived path must not be the input either
    check_outputs({"input": path}, {"output": out, "log": default_log_path(Path(out), log)},
                  fix="write the output (-o) and the log (--log) to paths other than the input")
    opts = CleanOptions(near_dup_threshold=near_dup_threshold, conflicts=conflicts,
                        min_confidence=min_confidence, max_tokens=max_tokens, model=model,
                        mojibake=mojibake, drop_label_issues=drop_label_issues, redact=redact)

    def examples(problem_log) -> Iterator[Example]:
        return iter_examples(path, format=format, task=task, text_column=text_column,
                             label_column=label_column, encoding=encoding, log=problem_log)
    return clean_source(examples, out, log=log, task=task, options=opts, source=str(path),
                        progress=progress, input_path=path if Path(path).is_file() else None)
