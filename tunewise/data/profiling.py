"""What a dataset holds (the data half of ``tunewise data stats``).

Counts, label distribution (what ``task.label_keys`` names), chat-formatted token lengths
(p10/p50/p90/max, computed and labelled as exactly those percentiles) with a token counter the
caller passes, and the examples over the counter's context. The epochs, billed tokens and cost are
added by ``tunewise.cost.dataset_stats`` (``tunewise.data.stats``).

Streaming: examples are counted in batches; memory holds one number per example.
"""
from __future__ import annotations

import itertools
from array import array
from collections import Counter
from typing import Any, Iterable

import numpy as np

from tunewise.data.task_view import DataTask
from tunewise.errors import UsageError

PERCENTILES = (10, 50, 90)
_BATCH = 1024


def length_summary(lengths: Iterable[int]) -> dict[str, Any]:
    """min, p10, p50, p90, max, mean and total of token lengths (numpy 'linear' percentiles)."""
    a = np.asarray(lengths if isinstance(lengths, np.ndarray) else list(lengths), dtype=np.int64)
    if a.size == 0:
        return {"count": 0}
    out: dict[str, Any] = {"count": int(a.size), "min": int(a.min())}
    for p in PERCENTILES:
        out[f"p{p}"] = float(np.percentile(a, p))
    out.update(max=int(a.max()), mean=round(float(a.mean()), 2), total=int(a.sum()))
    return out


def profile_examples(examples: Iterable, *, task: DataTask, counter, bill_counter=None,
                     source: str = "<input>", progress: bool = True
                     ) -> tuple[dict[str, Any], np.ndarray]:
    """Profile ``examples`` (any iterable of Example, consumed once): the result dict without
    cost, and the token lengths to bill (``bill_counter``'s when given, else ``counter``'s).

    ``task`` says what the label distribution counts; ``counter`` (a
    ``tunewise.models.tokens.TokenCounter``) counts chat-formatted tokens. ``tunewise.data.stats``
    resolves both from names and adds the cost."""
    from tunewise.progress import bar

    it = iter(examples)
    head = list(itertools.islice(it, 2000))
    if not head:
        raise UsageError(f"{source} holds no examples", fix="check the file and its --format")

    lengths = array("q")
    billed_lengths = array("q") if bill_counter is not None else lengths
    labels: Counter = Counter()
    messages = Counter()
    n_system = 0
    over: list[int] = []
    n_over = 0
    context = counter.context_length
    n = 0
    with bar("stats: counting tokens", None, disable=not progress) as advance:
        batch: list = []

        def flush():
            nonlocal n_over
            counts = counter.count_examples(batch, batch_size=_BATCH)
            for ex, c in zip(batch, counts):
                lengths.append(c)
                if c > context:
                    n_over += 1
                    if len(over) < 20:
                        over.append(ex.meta.get("line"))
            if bill_counter is not None:
                billed_lengths.extend(bill_counter.count_examples(batch, batch_size=_BATCH))
            advance(len(batch))
            batch.clear()

        for ex in itertools.chain(head, it):
            n += 1
            labels.update(task.label_keys(ex))
            messages[len(ex.messages)] += 1
            n_system += ex.system is not None
            batch.append(ex)
            if len(batch) >= _BATCH:
                flush()
        if batch:
            flush()
    del head

    result: dict[str, Any] = {
        "source": source,
        "examples": n,
        "task": task.kind,
        "messages_per_example": {str(k): v for k, v in sorted(messages.items())},
        "with_system_message": n_system,
        "label_distribution": dict(labels.most_common()) if task.has_labels else None,
        "tokens": {"model": counter.name, "counted_as": "chat-formatted conversation",
                   "context": context, **length_summary(np.frombuffer(lengths, dtype=np.int64))},
        "over_context": {"count": n_over, "lines": over},
    }
    return result, np.frombuffer(billed_lengths, dtype=np.int64)
