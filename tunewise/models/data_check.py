"""``tunewise.data.check`` with the context-length check: ``tunewise.data.validate.check`` given
the model-level token counter (the data layer cannot import ``tunewise.models`` itself)."""
from __future__ import annotations

import os

from tunewise.data.validate import CheckReport
from tunewise.data.validate import check as _check
from tunewise.models.tokens import token_counter


def check(path: str | os.PathLike, **options) -> CheckReport:
    """Validate a dataset file; never raises for problems in the data (see CheckReport).

    Options as ``tunewise.data.validate.check`` (format, task, model, labels, text_column,
    label_column, encoding, count_tokens, workers, keep_per_category, progress); ``model``'s
    tokenizer and context length check the lengths unless ``count_tokens=False``.
    """
    options.setdefault("token_counter", token_counter)
    return _check(path, **options)
