"""What ``tunewise data audit`` returns: one finding per check, each with its figures, the rows
that show it (file:line), a severity and a fix; and the checks that could not run, with why.

Severities, from least to most urgent: ``ok`` (checked, nothing to do), ``info`` (worth
knowing), ``warning`` (likely to distort training or the evaluation), ``error`` (the result of
a comparison would be wrong, or the data must not leave the building as it is).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("ok", "info", "warning", "error")

#: the checks, in report order, with what each answers
CHECKS = {
    "representativeness": "do the training examples look like the inputs met in use?",
    "diversity": "how many distinct examples are there, per class too?",
    "relevance": "is every row about the task?",
    "leakage": "do test (or production) inputs also appear in training?",
    "personal_data": "does the data hold personal data or secrets?",
}


def worse(a: str, b: str) -> str:
    """The more urgent of two severities."""
    return max(a, b, key=SEVERITIES.index)


@dataclass
class Evidence:
    """One row that shows a finding: where it is, a short excerpt and what was measured."""

    where: str                      #: "file:line"
    text: str                       #: the input, cut short (personal data masked)
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"where": self.where, "text": self.text}
        if self.detail:
            d["detail"] = self.detail
        return d


@dataclass
class Finding:
    """One measured property of the data (a check has one or more findings)."""

    check: str                      #: one of CHECKS
    name: str                       #: stable machine name, e.g. "domain_classifier"
    severity: str                   #: one of SEVERITIES
    summary: str                    #: what was measured, in one or two sentences with figures
    fix: str = ""                   #: what to do about it ("" when nothing)
    metrics: dict[str, Any] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    #: more rows than ``evidence`` lists (the total behind it)
    evidence_total: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"check": self.check, "name": self.name, "severity": self.severity,
             "summary": self.summary, "fix": self.fix, "metrics": self.metrics,
             "evidence": [e.to_dict() for e in self.evidence]}
        if self.evidence_total is not None:
            d["evidence_total"] = self.evidence_total
        return d


@dataclass
class Skipped:
    """A check (or part of one) that did not run, and why."""

    check: str
    what: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "what": self.what, "why": self.why}


@dataclass
class AuditReport:
    """Every finding of an audit, the checks that could not run, and what was read."""

    files: dict[str, str]           #: {"train": path, "test": path, "production": path}
    rows: dict[str, int]            #: rows read per file
    task: str
    features: str
    findings: list[Finding] = field(default_factory=list)
    not_checked: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)

    def add(self, finding: Finding | None) -> None:
        if finding is not None:
            self.findings.append(finding)

    def skip(self, check: str, what: str, why: str) -> None:
        self.not_checked.append(Skipped(check, what, why))

    @property
    def worst(self) -> str:
        """The most urgent severity among the findings ("ok" when there are none)."""
        return max((f.severity for f in self.findings), key=SEVERITIES.index, default="ok")

    def by_check(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {c: [] for c in CHECKS}
        for f in self.findings:
            out.setdefault(f.check, []).append(f)
        return out

    def find(self, name: str) -> Finding | None:
        return next((f for f in self.findings if f.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"files": self.files, "rows": self.rows, "task": self.task,
                "features": self.features, "worst": self.worst,
                "findings": [f.to_dict() for f in self.findings],
                "not_checked": [s.to_dict() for s in self.not_checked],
                "notes": self.notes, "timing": self.timing}

    def summary(self, max_items: int = 6) -> dict[str, Any]:
        """The short form compare keeps in results.json: each finding above ``ok`` in one line,
        worst first, and the checks that did not run."""
        ranked = sorted(self.findings, key=lambda f: -SEVERITIES.index(f.severity))
        return {"worst": self.worst, "rows": self.rows, "features": self.features,
                "findings": [{"check": f.check, "name": f.name, "severity": f.severity,
                              "summary": f.summary, "fix": f.fix}
                             for f in ranked if f.severity != "ok"][:max_items],
                "ok": [f.name for f in self.findings if f.severity == "ok"],
                "not_checked": [f"{s.what}: {s.why}" for s in self.not_checked]}


def excerpt(text: str, chars: int = 160) -> str:
    """``text`` on one line, cut to ``chars`` characters, personal data replaced by its typed
    placeholder (a report may be shared; it points at rows without copying e-mail addresses)."""
    from tunewise.data.pii import redact
    text = " ".join(redact(text or "")[0].split())
    return text if len(text) <= chars else text[:chars - 1] + "…"
