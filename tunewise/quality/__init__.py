"""Data quality work that needs a task or a model: finding probable label errors (confident
learning on out-of-fold probabilities from language-model features or TF-IDF), and the file-level
``clean`` / ``split`` commands, which resolve the task kind and hand ``tunewise.data`` the task,
the tokenizer and the label-issue finder it must not import itself.

    from tunewise.quality import clean, split, find_label_issues
"""
from __future__ import annotations

from tunewise.lazy import lazy_exports

_EXPORTS = {
    "find_label_issues": "tunewise.quality.label_issues", "LabelIssues": "tunewise.quality.label_issues",
    "clean": "tunewise.quality.commands", "split": "tunewise.quality.commands",
    "split_examples": "tunewise.quality.commands",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
