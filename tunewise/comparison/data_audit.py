"""The data section of a comparison: ``tunewise data audit`` run on the splits compare uses.

compare's own split keeps near-duplicates in one split; train and test files the user supplies
carry no such promise, so their leakage finding becomes a warning in the report (scores on
leaked test rows measure memory). The short form kept in results.json (``data.audit``) lists
each finding above "ok" in one line, the checks that passed, and those that did not run.
"""
from __future__ import annotations

from typing import Callable

#: rows of the training split the audit reads at most (a seeded sample beyond that; leakage
#: always compares the whole test split against the whole training split)
MAX_TRAIN_ROWS = 20000


def audit_splits(train: list, test: list, *, user_splits: bool, task: str | None = None,
                 seed: int = 0, say: Callable[[str], None] = lambda m: None) -> dict:
    """``data.audit`` of results.json: the audit's summary, plus ``warnings`` (sentences for the
    report) and ``user_splits``."""
    from tunewise.audit.run import audit
    from tunewise.errors import TunewiseError
    if not train or not test:
        return {}
    try:
        rep = audit(list(train), list(test), task=task, seed=seed, progress=False)
    except TunewiseError as e:           # the audit must never stop a comparison
        return {"error": e.message, "warnings": [], "user_splits": user_splits}
    summary = rep.summary()
    warnings = []
    leak = rep.find("leakage_test")
    if user_splits and leak is not None and leak.severity != "ok":
        warnings.append(f"data: {leak.summary} (the train and test files as given); {leak.fix}")
    for f in rep.findings:
        if f.check == "personal_data" and f.severity != "ok":
            warnings.append(f"data: {f.summary}")
    for w in warnings:
        say(f"warning: {w}")
    summary.update(warnings=warnings, user_splits=user_splits,
                   seconds=rep.timing.get("total_seconds"))
    return summary
