"""Every input row in file order: a valid ``Example`` or the reader's error for that row.

``clean`` must account for every row, including the ones the reader rejects (invalid JSON, a
message without a role...). ``stream_rows`` reads with a problem log that hands each row-level
error back in order, so a rejected row becomes a ``Row`` with ``example=None`` and its error,
at the position it had in the file. Reading the same file twice gives the same rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from tunewise.data.formats.problem_log import ProblemLog
from tunewise.data.problems import Problem
from tunewise.data.records import Example
from tunewise.errors import DataError

#: what ``clean`` reads: called with a problem log, returns the examples (may be called twice)
ExampleSource = Callable[[ProblemLog], Iterable[Example]]


@dataclass
class Row:
    """One input row: its example (None when the reader rejected it) and source line."""

    example: Example | None
    line: int | None
    #: the reader's first error on this row ("category: message"), None when valid
    error: str | None = None


class _RowLog(ProblemLog):
    """A ProblemLog that also queues row-level errors for ``stream_rows``."""

    def __init__(self, file: str | None):
        super().__init__(file)
        self.pending: dict[int, str] = {}       # line -> first error, in arrival order
        self.file_errors: list[Problem] = []

    def add(self, p: Problem) -> None:
        super().add(p)
        if not p.is_error:
            return
        if p.line is None:
            self.file_errors.append(p)
        elif p.line not in self.pending:
            self.pending[p.line] = f"{p.category}: {p.message}"

    def take(self) -> dict[int, str]:
        out, self.pending = self.pending, {}
        return out


def stream_rows(source: ExampleSource, name: str, log_sink: list | None = None) -> Iterator[Row]:
    """Rows of ``source`` in order; raises DataError for file-level errors (no line).

    ``log_sink``: a list that receives the ProblemLog when the stream ends (for warnings).
    """
    log = _RowLog(name)
    for ex in source(log):
        line = ex.meta.get("line")
        line = line if isinstance(line, int) else None
        errors = log.take()
        own = errors.pop(line, None) if line is not None else None
        for ln, err in errors.items():
            yield Row(None, ln, err)
        yield Row(None if own else ex, line, own)
    for ln, err in log.take().items():
        yield Row(None, ln, err)
    if log.file_errors:
        raise DataError(f"{name}: the file cannot be cleaned", log.file_errors,
                        fix=f"run `tunewise data check {name}` and fix these first")
    if log_sink is not None:
        log_sink.append(log)
