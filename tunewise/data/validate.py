"""``tunewise data check``: every problem in a dataset file, with file, line, category and fix.

    report = check("train.jsonl", task="classification", labels=["neg", "pos"])
    report.exit_code      # 0 clean (warnings allowed), 1 errors found, 2 unreadable input

Chat JSONL files go through a streaming fast path (chat_scan.py): lines that are plainly valid are
checked in a few microseconds each, anything else gets the full per-field diagnosis; large files
are split over worker processes. Other formats are read by their reader and then checked example
by example. Checks beyond the format rules: literal special tokens in text, labels outside the
declared set, examples longer than the model's context (counted with the model's own tokenizer),
too few examples (< 10 error, < 100 warning).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from tunewise.data.formats import iter_format, json_container
from tunewise.data.formats.problem_log import ProblemLog
from tunewise.data.formats.textio import UnreadableInput
from tunewise.data.problems import ERROR, WARNING, Problem
from tunewise.data.example_checks import CONTROL_TOKEN, ExampleChecker, _labels  # noqa: F401
from tunewise.errors import UsageError

MIN_EXAMPLES_ERROR = 10
MIN_EXAMPLES_WARNING = 100
#: chat-control markers: text that becomes a turn boundary when tokenized
#: stop counting problems of one category in detail after this many (counts stay exact)
KEEP_PER_CATEGORY = 100


@dataclass
class CheckReport:
    """What ``check`` found. ``problems`` holds the first ``KEEP_PER_CATEGORY`` of each category;
    ``counts`` is exact."""

    file: str
    format: str | None = None
    task: str | None = None
    model: str | None = None
    #: examples that passed the format rules (those count towards "too few examples")
    n_examples: int = 0
    #: records seen (valid or not): lines, rows or sentences
    n_records: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: {"error": {category: n}, "warning": {category: n}}
    counts: dict = field(default_factory=dict)
    context_length: int | None = None
    #: examples longer than the context
    n_over_context: int = 0
    #: the input could not be read at all (exit code 2)
    unreadable: bool = False
    seconds: float = 0.0
    workers: int = 1

    @property
    def n_errors(self) -> int:
        return sum(self.counts.get(ERROR, {}).values())

    @property
    def n_warnings(self) -> int:
        return sum(self.counts.get(WARNING, {}).values())

    @property
    def exit_code(self) -> int:
        if self.unreadable:
            return 2
        return 1 if self.n_errors else 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def to_dict(self) -> dict:
        return {"file": self.file, "format": self.format, "task": self.task, "model": self.model,
                "ok": self.ok, "exit_code": self.exit_code, "n_examples": self.n_examples,
                "n_records": self.n_records, "n_errors": self.n_errors,
                "n_warnings": self.n_warnings, "counts": self.counts,
                "context_length": self.context_length, "n_over_context": self.n_over_context,
                "seconds": round(self.seconds, 3), "workers": self.workers,
                "problems": [p.to_dict() for p in self.problems]}


def check(path: str | os.PathLike, *, format: str | None = None, task: str | None = None,
          model: str | None = None, labels: Sequence[str] | str | None = None,
          text_column: str | None = None, label_column: str | None = None,
          encoding: str | None = None, count_tokens: bool = True, workers: int | None = None,
          keep_per_category: int = KEEP_PER_CATEGORY, progress: bool = True,
          token_counter: Callable | None = None) -> CheckReport:
    """Validate a dataset file; never raises for problems in the data (see CheckReport).

    ``token_counter``: model name -> counter (``tunewise.models.tokens.token_counter``, which
    ``tunewise.data.check`` passes; the data layer does not import models). Without one, lengths
    are not checked.

    ``model``: whose tokenizer and context length to check lengths against (default: the
    embedded smollm2-135m-instruct; an OpenAI name such as gpt-4o-mini uses o200k/cl100k).
    ``count_tokens=False`` skips the context-length check. ``workers``: processes for large
    chat JSONL files (None = automatic).
    """
    from tunewise.data.reading import _options, open_input
    t0 = time.perf_counter()
    shown = os.fspath(path)
    labels = _labels(labels)
    report = CheckReport(shown, task=task)
    log = ProblemLog(shown, keep_per_category=keep_per_category)
    opts = _options(path, task, text_column, label_column, encoding)  # validates task
    try:
        info, fmt = open_input(path, format)
    except UnreadableInput as e:
        report.unreadable = True
        log.add(e.problem())
        return _finish(report, log, t0)
    except UsageError as e:
        if format is not None:
            raise     # an unknown --format name: a usage error for the caller
        report.unreadable = True
        log.error("unknown_format", e.message.split(": ", 1)[-1], e.fix or "", line=None)
        return _finish(report, log, t0)
    report.format = fmt
    counter = None
    if count_tokens and token_counter is not None:
        counter = token_counter(model)
        report.model = counter.name
        report.context_length = counter.context_length
    checker = ExampleChecker(log, task=task, labels=labels, counter=counter)
    try:
        # the byte-level fast path reads "\n"-separated UTF-8; UTF-16/32 and bare-CR files
        # go through the reader, which decodes / splits them
        plain = info.bom_encoding in (None, "utf-8-sig") and not info.bare_cr
        if fmt == "chat" and json_container(info) == "jsonl" and task != "ner" and plain:
            from tunewise.data.chat_scan import scan_chat_jsonl
            stats = scan_chat_jsonl(info, opts, log, checker, workers=workers, progress=progress,
                                    token_counter=token_counter)
            report.n_records, report.n_examples = stats.n_records, stats.n_examples
            report.n_over_context = stats.n_over_context
            report.workers = stats.workers
        else:
            from tunewise.progress import bar
            with bar(f"checking {info.name}", None, disable=not progress) as advance:
                for ex in iter_format(info, fmt, opts, log):
                    report.n_examples += 1
                    checker.check(ex)
                    advance()
            checker.flush()
            report.n_over_context = checker.n_over_context
            report.n_records = _records(report, log)
    except UnreadableInput as e:   # e.g. a gzip stream damaged half-way, a wrong --encoding
        report.unreadable = True
        log.add(e.problem())
        return _finish(report, log, t0)
    n = report.n_examples
    if n < MIN_EXAMPLES_ERROR:
        log.error("too_few_examples", f"only {n} valid example(s); fine-tuning needs at least "
                  f"{MIN_EXAMPLES_ERROR}", "add examples (50-100 well-chosen ones is a good start)")
    elif n < MIN_EXAMPLES_WARNING:
        log.warning("few_examples", f"only {n} examples; fine-tuning usually needs at least "
                    f"{MIN_EXAMPLES_WARNING} for a clear gain", "add examples if you can")
    return _finish(report, log, t0)


def _records(report: CheckReport, log: ProblemLog) -> int:
    # records with errors did not become examples; each error line is one record at most
    bad_lines = {p.line for p in log.problems if p.is_error and p.line is not None}
    return report.n_examples + len(bad_lines)


def _finish(report: CheckReport, log: ProblemLog, t0: float) -> CheckReport:
    report.problems = log.problems
    report.counts = log.category_counts()
    report.seconds = time.perf_counter() - t0
    return report
