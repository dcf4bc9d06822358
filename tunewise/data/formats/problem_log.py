"""Collect problems while reading: exact counts for every category, details for the first N.

A million-line file with the same mistake on every line must not hold a million ``Problem``
objects in memory, so each category keeps its first ``keep_per_category`` problems and counts the
rest. Summary warnings (e.g. "3,120 examples have no system message") are built with ``tally``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tunewise.data.problems import ERROR, WARNING, Problem


@dataclass
class _Tally:
    severity: str
    message: str       # with "{count}" and "{n}" placeholders
    fix: str
    count: int = 0
    lines: list = field(default_factory=list)   # the first few lines where it happened


class ProblemLog:
    """Problems of one input file: ``add``/``error``/``warning``; ``problems`` and ``counts``."""

    def __init__(self, file: str | None = None, *, keep_per_category: int = 1000):
        self.file = file
        self.keep_per_category = keep_per_category
        self._kept: list[Problem] = []
        self.counts: Counter = Counter()            # (severity, category) -> n
        self._kept_n: Counter = Counter()           # (severity, category) -> n kept
        self._tallies: dict[str, _Tally] = {}

    # -- adding ---------------------------------------------------------------------------
    def add(self, p: Problem) -> None:
        if p.file is None:
            p.file = self.file
        key = (p.severity, p.category)
        self.counts[key] += 1
        if self._kept_n[key] < self.keep_per_category:
            self._kept_n[key] += 1
            self._kept.append(p)

    def error(self, category: str, message: str, fix: str = "", *, line: int | None = None,
              column: int | None = None, field: str | None = None, **extra) -> None:
        self.add(Problem(ERROR, category, message, fix, self.file, line, column, field, extra))

    def warning(self, category: str, message: str, fix: str = "", *, line: int | None = None,
                column: int | None = None, field: str | None = None, **extra) -> None:
        self.add(Problem(WARNING, category, message, fix, self.file, line, column, field, extra))

    def tally(self, category: str, line: int | None, *, severity: str = WARNING,
              message: str = "", fix: str = "") -> None:
        """Count an occurrence of a file-level summary problem (one Problem at the end)."""
        t = self._tallies.get(category)
        if t is None:
            t = self._tallies[category] = _Tally(severity, message, fix)
        t.count += 1
        if len(t.lines) < 20 and line is not None:
            t.lines.append(line)

    def tally_many(self, category: str, count: int, lines: list, *, severity: str = WARNING,
                   message: str = "", fix: str = "") -> None:
        """Add ``count`` occurrences at once (``lines``: the first few of them)."""
        if not count:
            return
        t = self._tallies.get(category)
        if t is None:
            t = self._tallies[category] = _Tally(severity, message, fix)
        t.count += count
        t.lines.extend(lines[: max(20 - len(t.lines), 0)])

    def merge(self, other: "ProblemLog", line_offset: int = 0) -> None:
        """Add another log's problems (e.g. from a worker), shifting line numbers."""
        for p in other._kept:
            if p.line is not None:
                p.line += line_offset
            key = (p.severity, p.category)
            if self._kept_n[key] < self.keep_per_category:
                self._kept_n[key] += 1
                self._kept.append(p)
        self.counts.update(other.counts)
        for cat, t in other._tallies.items():
            mine = self._tallies.get(cat)
            if mine is None:
                mine = self._tallies[cat] = _Tally(t.severity, t.message, t.fix)
            mine.count += t.count
            room = 20 - len(mine.lines)
            mine.lines.extend(ln + line_offset for ln in t.lines[:max(room, 0)])

    def _finish_tallies(self) -> list[Problem]:
        out = []
        for cat, t in self._tallies.items():
            t.lines.sort()
            shown = ", ".join(map(str, t.lines[:5])) + (", ..." if t.count > 5 else "")
            msg = t.message.format(count=f"{t.count:,}", n=t.count)
            if t.lines:
                msg += f" (line{'s' if t.count > 1 else ''} {shown})"
            out.append(Problem(t.severity, cat, msg, t.fix, self.file,
                               t.lines[0] if t.lines else None, None, None,
                               {"count": t.count, "lines": list(t.lines)}))
        return out

    # -- reading ----------------------------------------------------------------------------
    @property
    def problems(self) -> list[Problem]:
        """Kept problems (plus one per summary tally), sorted by line."""
        probs = self._kept + self._finish_tallies()
        return sorted(probs, key=lambda p: (p.line if p.line is not None else -1,
                                            p.severity != ERROR, p.category))

    def category_counts(self) -> dict[str, dict[str, int]]:
        """{"error": {category: n}, "warning": {...}} including summary tallies."""
        out: dict[str, dict[str, int]] = {ERROR: {}, WARNING: {}}
        for (sev, cat), n in self.counts.items():
            out.setdefault(sev, {})[cat] = out.get(sev, {}).get(cat, 0) + n
        for cat, t in self._tallies.items():
            out.setdefault(t.severity, {})[cat] = t.count
        return out

    @property
    def n_errors(self) -> int:
        return sum(n for (sev, _), n in self.counts.items() if sev == ERROR) + sum(
            t.count for t in self._tallies.values() if t.severity == ERROR)

    @property
    def n_warnings(self) -> int:
        return sum(n for (sev, _), n in self.counts.items() if sev == WARNING) + sum(
            t.count for t in self._tallies.values() if t.severity == WARNING)

    @property
    def truncated(self) -> bool:
        return any(n > self.keep_per_category for n in self.counts.values())
