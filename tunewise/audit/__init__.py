"""``tunewise data audit``: is a dataset representative of the inputs met in use, diverse,
about the task, free of test leakage and of personal data? One report, a finding per check,
each with its figures, the rows that show it (file:line), a severity and a fix.

    from tunewise.audit import audit          # also tunewise.data.audit
    report = audit("train.jsonl", test="test.jsonl", production="inputs.txt")

Modules: ``run`` (the orchestration), ``inputs`` (reading the files), ``representativeness``
and ``shift`` (train vs production), ``diversity``, ``relevance``, ``leakage``, ``pii_check``
(personal data; the detectors are ``tunewise.data.pii``), ``features`` (TF-IDF, nearest
neighbours), ``report`` (the findings).
"""
from __future__ import annotations

from tunewise.lazy import lazy_exports

_EXPORTS = {
    "audit": "tunewise.audit.run", "audit_examples": "tunewise.audit.run",
    "AuditReport": "tunewise.audit.report", "Finding": "tunewise.audit.report",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
