"""``clean``'s second read of the input: repair the kept rows, log every removed or changed row
with its reason, and make sure the file did not change between the two reads.

The first pass (``clean_passes.first_pass`` and the duplicate resolution) decided each row's
status; ``SecondPass.kept_examples`` reads the rows again in the same order and yields the kept
(repaired) examples while it writes the log. Before it returns it checks that every input row
was either kept or logged as removed and that the input is unchanged: an error then leaves the
output and the log unwritten (``cleaning.clean_examples`` renames both into place only after).
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from tunewise.data.clean_passes import CODE, KEEP, REASONS, log_entry, repair_example
from tunewise.data.records import Example
from tunewise.data.rowstream import ExampleSource, stream_rows
from tunewise.data.task_view import DataTask
from tunewise.errors import DataError

_AGAIN = "run clean again once the file no longer changes"


def input_fingerprint(path: str | os.PathLike) -> tuple[int, int, str]:
    """(size, modification time in ns, sha256) of a file: how ``clean`` notices an input that
    changed while it ran."""
    from tunewise.data.splitting import sha256_file
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, sha256_file(path)


@dataclass
class SecondPass:
    """The second read, with what it counts (``removed``, ``changed``, ``repairs``, ``kept``)."""

    examples: ExampleSource
    source: str
    rows: Any                            # the first pass's row table (status, line, changes...)
    opts: Any                            # CleanOptions
    task: DataTask
    groups: dict
    issues: dict
    limit: int | None
    #: the input file's fingerprint before the first read (None: not a file)
    before: tuple | None = None
    input_path: Any = None
    #: receives the kept examples (a caller going on in memory), or None
    kept_out: list | None = None
    removed: Counter = field(default_factory=Counter)
    changed: Counter = field(default_factory=Counter)
    repairs: Counter = field(default_factory=Counter)
    kept: int = 0
    changed_rows: int = 0
    golds: dict = field(default_factory=dict)

    def kept_examples(self, logf, advance) -> Iterator[Example]:
        """Yield the kept examples in order, writing one log line per removed or changed row."""
        n = len(self.rows)
        twins_wanted = {t for t in self.rows.twin if t >= 0}
        i = -1
        for i, row in enumerate(stream_rows(self.examples, self.source)):
            if i >= n:
                raise DataError(f"{self.source} changed while it was being cleaned (more rows "
                                "on the second read); nothing was written", fix=_AGAIN)
            status = self.rows.status[i]
            fixed, reasons = self._repair(i, row, status)
            if fixed is not None and i in twins_wanted and self.task.has_labels:
                self.golds[i] = self.task.gold_key(fixed)
            self._count(status, reasons)
            if status != KEEP or reasons:
                self._log(logf, i, row, fixed, status, reasons)
            advance(1)
            if status == KEEP:
                if self.kept_out is not None:
                    self.kept_out.append(fixed)
                yield fixed
        self._check_end(i + 1, n)

    def _repair(self, i: int, row, status: int) -> tuple[Example | None, list[str]]:
        if row.example is not None and self.rows.changes[i] == 0:
            return row.example, []                   # pass 1 found nothing to repair
        if row.example is not None:
            fixed, reasons, _ = repair_example(row.example, self.opts.mojibake, self.opts.redact)
            for r in reasons:
                self.repairs[r] += 1
            return fixed, reasons
        if status != CODE["invalid"]:
            raise DataError(f"{self.source} changed while it was being cleaned (row {i + 1} "
                            "differs on the second read); nothing was written", fix=_AGAIN)
        return None, []

    def _count(self, status: int, reasons: list[str]) -> None:
        if status != KEEP:
            self.removed[REASONS[status]] += 1
            return
        self.kept += 1
        for r in reasons:
            self.changed[r] += 1
        if reasons:
            self.changed_rows += 1

    def _log(self, logf, i: int, row, fixed, status: int, reasons: list[str]) -> None:
        entry = log_entry(i, row, fixed, self.rows, reasons, self.golds, self.groups, self.task,
                          self.limit)
        if status == CODE["label_issue"]:
            entry.update(self.issues[self.rows.line[i]])
        logf.write(json.dumps(entry, ensure_ascii=False))
        logf.write("\n")

    def _check_end(self, seen: int, n: int) -> None:
        """After the last row and before the output and the log are renamed into place: an error
        now leaves both untouched (a previous output survives)."""
        if seen != n:
            raise DataError(f"{self.source} changed while it was being cleaned ({n} rows on the "
                            f"first read, {seen} on the second); nothing was written", fix=_AGAIN)
        if self.input_path is not None:
            now = input_fingerprint(self.input_path)
            if now != self.before:
                what = [name for name, a, b in zip(("size", "modification time", "sha256"),
                                                   self.before, now) if a != b]
                raise DataError(f"{self.source} changed while it was being cleaned "
                                f"({', '.join(what)} differ from the start); nothing was written",
                                fix=f"{_AGAIN} (e.g. on a copy)")
        # the promise of this command: every input row is either kept or logged as removed
        if self.kept + sum(self.removed.values()) != n:
            raise DataError(f"{self.source}: kept {self.kept} + removed "
                            f"{sum(self.removed.values())} rows != {n} input rows; nothing was "
                            "written", fix="run clean again on a file that does not change while "
                                           "it runs; if it still happens, please report it as a bug")
