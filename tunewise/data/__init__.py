"""``tunewise.data``: read, validate, clean, split and profile fine-tuning datasets.

Public API (each backs one CLI command)::

    from tunewise import data
    examples = data.read("train.csv")                  # list[Example]; DataError lists every problem
    report = data.check("train.jsonl", task="classification")   # `tunewise data check`
    result = data.clean("raw.csv", "clean.jsonl", log="log.jsonl")  # `tunewise data clean`
    manifest = data.split("clean.jsonl", "splits/", val=0.1, test=0.1, seed=0)  # `tunewise data split`
    profile = data.stats("train.jsonl", model="smollm2-135m-instruct")   # `tunewise data stats`
    issues = data.find_label_issues("train.csv", top=50)   # `tunewise data noise`
    report = data.audit("train.jsonl", test="test.jsonl")   # `tunewise data audit`
"""
from __future__ import annotations

from tunewise.lazy import lazy_exports

_EXPORTS = {
    "read": "tunewise.data.reading", "iter_examples": "tunewise.data.reading",
    "write_chat_jsonl": "tunewise.data.formats.writers", "write_csv": "tunewise.data.formats.writers",
    "check": "tunewise.models.data_check", "CheckReport": "tunewise.data.validate",
    # file-level commands that need a task or a model live above the data layer (named as
    # strings here: this facade imports them only when asked, the data modules never do)
    "clean": "tunewise.quality.commands", "split": "tunewise.quality.commands",
    "stats": "tunewise.cost.dataset_stats",
    "Example": "tunewise.data.records", "Message": "tunewise.data.records",
    "Entity": "tunewise.data.records", "Problem": "tunewise.data.problems",
    "find_label_issues": "tunewise.quality.label_issues",
    "LabelIssues": "tunewise.quality.label_issues",
    "audit": "tunewise.audit.run", "AuditReport": "tunewise.audit.report",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
