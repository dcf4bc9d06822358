"""What the data layer needs of a task, as a Protocol (the data layer does not import tasks).

``tunewise.tasks.Task`` (its classes and instances) satisfies it; callers above the data layer
resolve a kind name to one with ``tunewise.tasks.data_task`` and pass it down (dependency
inversion: split, clean and stats ask the task, they never branch on its kind).
"""
from __future__ import annotations

from typing import Protocol

from tunewise.data.records import Example


class DataTask(Protocol):
    """Kind-specific answers for splitting, de-duplication, cleaning and profiling."""

    #: "classification" | "ner" | "generation" (recorded in manifests and results)
    kind: str
    #: what ``stratum`` balances on, named in split manifests; None = nothing
    stratified_by: str | None
    #: examples carry gold labels (conflict checks, label distributions)
    has_labels: bool
    #: the answer belongs to an example's identity when de-duplicating
    answer_in_identity: bool

    def stratum(self, ex: Example) -> str: ...

    def label_keys(self, ex: Example) -> list[str]: ...

    def gold_key(self, ex: Example) -> str: ...

    def answer_text(self, ex: Example) -> str | None: ...
