"""Evaluate one arm on a split: ``predict`` (re-exported) and ``evaluate``."""
from __future__ import annotations

from tunewise.evaluation.predict import predict  # noqa: F401  (contract: evaluate.predict)
