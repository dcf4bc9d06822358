"""``tunewise data clean``: repair text, drop duplicates, conflicts, empty/overlong/low-confidence rows.

Every input row ends up either in OUT (kept, possibly changed) or in the log as removed; every
changed or removed row has one log line with its source line and reason, so
``kept + removed == input rows`` (checked before anything is written). The input file is only read.

Two streaming passes over the input: pass 1 repairs each row, decides the per-row removals and
keeps a few numbers per row (hashes, a MinHash signature); then duplicates, conflicts and
near-duplicates are resolved on those numbers; pass 2 reads the input again and writes OUT and
the log. Memory holds the per-row numbers and signatures, never the examples.

Removal reasons (first that applies):

- ``invalid``: the reader rejected the row (its error is in the log)
- ``empty``: no user text or no assistant answer (after repair)
- ``low_confidence``: ``meta["confidence"]`` below ``min_confidence``
- ``mojibake_unrepairable``: still looks like mojibake after repair
- ``overlong``: more tokens than ``max_tokens`` (or the model's context)
- ``conflicting_labels``: the same input with different labels (``conflicts="drop"`` removes
  every row of the group; ``"majority"`` keeps the majority label, drops the rest, and drops all
  on a tie)
- ``exact_duplicate``: same input (and label) as an earlier kept row: ``kept_line`` names it
- ``near_duplicate``: input similar to an earlier kept row (MinHash, >= ``near_dup_threshold``)
- ``label_issue`` (only with ``drop_label_issues``): confident learning says the label is
  probably wrong (``tunewise.quality.label_issues``); decided on the input before the other removals,
  applied to rows nothing else removed; the log names the suggested label and its confidence

Change reasons: see ``tunewise.data.textfix`` (unicode_repaired, mojibake_stripped,
whitespace_normalized); with ``redact``, ``personal_data_redacted`` (``tunewise.data.pii``: the
log counts the placeholders per kind and leaves the text before the change out).
"""
from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tunewise.data import dedup
from tunewise.data.clean_passes import (CHANGE_BITS, CODE, KEEP, NON_TEXT_DROPPED, REASONS,
                                        confidence, first_pass, resolve_exact, resolve_near)
from tunewise.data.clean_second_pass import SecondPass, input_fingerprint  # noqa: F401
from tunewise.data.records import Example
from tunewise.data.rowstream import ExampleSource, stream_rows
from tunewise.data.task_view import DataTask
from tunewise.errors import UsageError

__all__ = ["CHANGE_BITS", "CODE", "KEEP", "NON_TEXT_DROPPED", "REASONS", "CleanOptions",
           "CleanResult", "clean_examples", "default_log_path", "input_fingerprint"]

@dataclass
class CleanOptions:
    """What ``clean`` removes and how."""

    #: estimated Jaccard similarity (word 3-grams) at or above which inputs are near-duplicates;
    #: None or > 1 turns near-duplicate detection off
    near_dup_threshold: float | None = 0.9
    #: same input with different labels: "drop" every row of the group, or keep the "majority"
    conflicts: str = "drop"
    #: drop rows whose meta confidence is below this (None: no filter)
    min_confidence: float | None = None
    #: drop rows with more tokens than this (None: the model's context when a model is given)
    max_tokens: int | None = None
    #: tokenizer / context for the overlong check (a model name; None with max_tokens: default)
    model: str | None = None
    #: "strip" (ftfy, then remove what still looks like mojibake; drop rows still bad),
    #: "drop" (ftfy; drop rows still bad), "keep" (ftfy only)
    mojibake: str = "strip"
    #: MinHash permutations per row (memory: 4 bytes each per row)
    num_perm: int = 64
    #: drop the examples ``find_label_issues`` flags (classification; runs the language model)
    drop_label_issues: bool = False
    #: replace personal data (e-mail, phone, card, IBAN, IP, API key) by typed placeholders
    redact: bool = False

    def validate(self) -> None:
        problems = []
        if self.conflicts not in ("drop", "majority"):
            problems.append(f"conflicts must be 'drop' or 'majority', got {self.conflicts!r}")
        if self.mojibake not in ("strip", "drop", "keep"):
            problems.append(f"mojibake must be 'strip', 'drop' or 'keep', got {self.mojibake!r}")
        t = self.near_dup_threshold
        if t is not None and not 0 < t:
            problems.append(f"near-dup threshold must be in (0, 1] (above 1: off), got {t}")
        if self.min_confidence is not None and not 0 <= self.min_confidence <= 1:
            problems.append(f"min confidence must be in [0, 1], got {self.min_confidence}")
        if self.max_tokens is not None and self.max_tokens < 1:
            problems.append(f"max tokens must be a positive integer, got {self.max_tokens}")
        if problems:
            raise UsageError("; ".join(problems))


@dataclass
class CleanResult:
    """What cleaning did. ``removed``/``changed`` count rows per reason."""

    input_rows: int
    kept: int
    removed: dict[str, int]
    #: kept rows that were changed, per reason (a row may have several reasons)
    changed: dict[str, int]
    #: kept rows with at least one change (= "changed" lines in the log)
    changed_rows: int
    #: every input row's repairs, kept or not, per reason
    repairs: dict[str, int]
    out: str
    log: str
    task: str
    options: dict[str, Any] = field(default_factory=dict)
    #: the reader's warnings (e.g. the file was not UTF-8), rendered
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def removed_rows(self) -> int:
        return sum(self.removed.values())

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["removed_rows"] = self.removed_rows
        return d

    def summary_rows(self) -> list[tuple[str, str, int]]:
        """(action, reason, rows) for the summary table."""
        rows = [("removed", r, n) for r, n in self.removed.items() if n]
        rows += [("changed", r, n) for r, n in self.changed.items() if n]
        return rows


def peek(examples: ExampleSource, source: str, n: int = 2000) -> list[Example]:
    """The first ``n`` readable examples (what the task kind is inferred from)."""
    return [r.example for r in itertools.islice(stream_rows(examples, source), n)
            if r.example is not None]


def default_log_path(out: Path, log: "str | os.PathLike | None" = None) -> Path:
    """The log path: ``log`` when given, else ``<out stem>.log.jsonl`` beside ``out``."""
    return Path(log) if log is not None else out.with_name(out.stem + ".log.jsonl")


def clean_examples(examples: ExampleSource, out: str | os.PathLike, *, task: DataTask,
                   log: str | os.PathLike | None = None, options: CleanOptions | None = None,
                   source: str = "<input>", progress: bool = True,
                   input_path: str | os.PathLike | None = None,
                   count_tokens: Callable[[Example], int] | None = None,
                   token_limit: int | None = None,
                   label_issues: Callable[[], dict[int, dict]] | None = None,
                   head: list[Example] | None = None,
                   kept: list[Example] | None = None) -> CleanResult:
    """Clean what ``examples(problem_log)`` yields (called for a peek, then once per pass). Rows
    the reader rejects are removed as ``invalid``.

    ``task``: what an example's answer and gold label are (``tunewise.tasks.data_task``).
    ``input_path``: the file behind ``examples``; when it changes during the run (size,
    modification time or sha256) nothing is written and DataError is raised.
    ``count_tokens``/``token_limit``: the overlong check (a row with more tokens is removed).
    ``label_issues``: ``{source line: {"suggested", "confidence"}}`` of rows to drop as
    ``label_issue`` (``options.drop_label_issues``). ``tunewise.data.clean`` builds these three
    from the options (a tokenizer, confident learning) and the task from its name. ``head``: the
    ``peek`` the caller already took (saves a read). ``kept``: a list that receives the kept
    (repaired) examples, so a caller can go on in memory instead of reading ``out`` back."""
    from tunewise.data import write_chat_jsonl
    from tunewise.fileio import atomic_write
    from tunewise.progress import bar

    opts = options or CleanOptions()
    opts.validate()
    started = time.perf_counter()
    out, log_path = _check_start(examples, out, log, opts, source, head)
    reader_logs: list = []
    rows, groups, issues = _first_read(examples, source, reader_logs, opts, task, count_tokens,
                                       token_limit, label_issues, progress)
    limit = token_limit
    second = SecondPass(examples, source, rows, opts, task, groups, issues, limit,
                        before=input_fingerprint(input_path) if input_path is not None else None,
                        input_path=input_path, kept_out=kept)
    n = len(rows)
    with bar("clean: writing", n, disable=not progress) as advance:
        with atomic_write(log_path) as logf:
            write_chat_jsonl(out, second.kept_examples(logf, advance))
    warnings = [p.render() for lg in reader_logs for p in lg.problems if not p.is_error]
    removed, changed, repairs = second.removed, second.changed, second.repairs
    return CleanResult(
        input_rows=n, kept=second.kept,
        removed={r: removed[r] for r in REASONS[1:] if removed[r]},
        changed={r: changed[r] for r in CHANGE_BITS if changed[r]},
        changed_rows=second.changed_rows,
        repairs={r: repairs[r] for r in CHANGE_BITS if repairs[r]},
        out=str(out), log=str(log_path), task=task.kind,
        options={k: v for k, v in opts.__dict__.items()},
        warnings=warnings[:50],
        seconds=round(time.perf_counter() - started, 3))


def _check_start(examples, out, log, opts: CleanOptions, source: str, head):
    """(out, log path) once both are safe to write and the options fit the data."""
    from tunewise.outputs_guard import check_outputs, same_file
    out = Path(out)
    log_path = default_log_path(out, log)
    if same_file(log_path, out):
        raise UsageError(f"the log {log_path} and the output are the same file",
                         fix="give --log a different path")
    check_outputs({}, {"output": out, "log": log_path})
    if head is None:
        head = peek(examples, source)
    if opts.min_confidence is not None and head and \
            not any(confidence(e) is not None for e in head):
        raise UsageError(f"--min-confidence given but {source} has no confidence values",
                         fix="drop --min-confidence, or give data with a confidence column")
    return out, log_path


def _first_read(examples, source, reader_logs, opts: CleanOptions, task: DataTask,
                count_tokens, limit, label_issues, progress: bool):
    """The first read: each row's status (kept or why removed), the exact-duplicate groups and
    the label issues dropped."""
    from tunewise.progress import bar
    use_near = opts.near_dup_threshold is not None and opts.near_dup_threshold <= 1
    index = (dedup.NearDuplicateIndex(dedup.NearDupConfig(threshold=opts.near_dup_threshold,
                                                          num_perm=opts.num_perm))
             if use_near else None)
    with bar("clean: reading", None, disable=not progress) as advance:
        rows = first_pass(stream_rows(examples, source, reader_logs), opts, task, index,
                          count_tokens, limit, advance)
    issues = label_issues() if (opts.drop_label_issues and label_issues is not None) else {}
    for i in range(len(rows)):
        if rows.status[i] == KEEP and rows.line[i] in issues:
            rows.status[i] = CODE["label_issue"]
    groups = resolve_exact(rows, task.has_labels, opts.conflicts)
    if index is not None:
        resolve_near(rows, index)       # the signatures are freed when this returns
    return rows, groups, issues
