"""``tunewise data stats``: what a dataset holds and what fine-tuning on it would cost.

Counts, label distribution, chat-formatted token lengths (p10/p50/p90/max, computed and labelled
as exactly those percentiles), examples over the model's context, the epochs OpenAI's fine-tuning
picks by default, billed training tokens and the training cost from the price table.

OpenAI's default epochs follow OpenAI's own reference (the cookbook's data-preparation notebook):
3 epochs; if examples x 3 < 100: min(25, 100 // examples); if examples x 3 > 25,000:
max(1, 25,000 // examples). Billed tokens = sum over examples of min(tokens, context) x epochs.

Streaming: examples are counted in batches; memory holds one number per example.
"""
from __future__ import annotations

import itertools
import os
from array import array
from collections import Counter
from typing import Any, Iterable

import numpy as np

from tunewise.errors import UsageError

PERCENTILES = (10, 50, 90)
_BATCH = 1024


def openai_default_epochs(n_examples: int) -> int:
    """Epochs OpenAI's fine-tuning picks when ``n_epochs`` is "auto" (see module docstring)."""
    from tunewise.cost.projection import openai_default_epochs as rule
    return rule(n_examples)


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


def _gold(ex, kind: str) -> list[str]:
    if kind == "ner":
        types = sorted({e.type for e in (ex.entities or [])})
        return types or ["none"]
    if kind == "classification":
        return [str(ex.label if ex.label is not None else (ex.answer or "").strip())]
    return []


def _price_entry(price_model: str | None, model: str | None, prices):
    from tunewise.cost.prices import get_price, load_prices
    from tunewise.data.tokens import is_openai_model
    table = prices if hasattr(prices, "get") else load_prices(prices)
    if price_model is not None:
        entry = get_price(price_model, table)
        if entry.kind == "compute":
            raise UsageError(f"{price_model!r} is a compute entry ($/hour), not a model",
                             fix="give --price-model an API model (e.g. gpt-4o-mini) or a local "
                                 "model entry")
        return entry
    if model is not None and is_openai_model(model) and model in table:
        return table.get(model)
    return None


def stats_examples(examples: Iterable, *, model: str | None = None,
                   price_model: str | None = None, prices=None, task: str | None = None,
                   source: str = "<input>", progress: bool = True) -> dict[str, Any]:
    """Profile ``examples`` (any iterable of Example, consumed once)."""
    from tunewise.data import dedup
    from tunewise.data.tokens import token_counter
    from tunewise.progress import bar

    entry = _price_entry(price_model, model, prices)
    count_model = model or (entry.name if entry is not None and entry.kind == "api" else None)
    counter = token_counter(count_model)
    bill_counter = (token_counter(entry.name)
                    if entry is not None and entry.kind == "api" and entry.name != counter.name
                    else None)
    billing_context = None
    if entry is not None and entry.kind == "api":
        billing_context = entry.context or (bill_counter or counter).context_length

    it = iter(examples)
    head = list(itertools.islice(it, 2000))
    if not head:
        raise UsageError(f"{source} holds no examples", fix="check the file and its --format")
    kind = task or dedup.infer_kind(head)

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
            labels.update(_gold(ex, kind))
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
        "task": kind,
        "messages_per_example": {str(k): v for k, v in sorted(messages.items())},
        "with_system_message": n_system,
        "label_distribution": dict(labels.most_common()) if kind != "generation" else None,
        "tokens": {"model": counter.name, "counted_as": "chat-formatted conversation",
                   "context": context, **length_summary(np.frombuffer(lengths, dtype=np.int64))},
        "over_context": {"count": n_over, "lines": over},
        "openai_default_epochs": openai_default_epochs(n),
    }
    if entry is not None:
        result["cost"] = _cost(entry, np.frombuffer(billed_lengths, dtype=np.int64),
                               result["openai_default_epochs"], billing_context,
                               bill_counter.name if bill_counter else counter.name)
    else:
        result["cost"] = None
    return result


def _cost(entry, lengths: np.ndarray, epochs: int, context: int | None, counted_with: str
          ) -> dict[str, Any]:
    """Billed training tokens and cost for one price entry."""
    out: dict[str, Any] = {"price_entry": entry.name, "kind": entry.kind, "source": entry.source,
                           "date": entry.date}
    if entry.kind != "api":
        out.update(training_usd=None, note=entry.note or "local model: cost = measured "
                   "throughput x a compute entry's $/hour (see `tunewise cost`)",
                   compute=entry.compute)
        return out
    per_epoch = int(np.minimum(lengths, context).sum()) if context else int(lengths.sum())
    billed = per_epoch * epochs
    out.update(tokens_counted_with=counted_with, context=context, epochs=epochs,
               tokens_per_epoch=per_epoch, billed_training_tokens=billed,
               training_usd_per_1m=entry.training,
               training_usd=round(billed / 1e6 * entry.training, 4))
    return out


def stats(path: str | os.PathLike, *, model: str | None = None, price_model: str | None = None,
          prices: str | os.PathLike | None = None, format: str | None = None,
          task: str | None = None, text_column: str | None = None,
          label_column: str | None = None, encoding: str | None = None,
          progress: bool = True) -> dict[str, Any]:
    """Profile the dataset at ``path`` (see the module docstring); returns one JSON-able dict.

    ``model``: tokenizer and context for lengths (default: the embedded model, or the price
    model when that is an OpenAI model). ``price_model``: a price-table entry for the cost.
    ``prices``: a user price YAML merged over the shipped table.
    """
    from tunewise.data import iter_examples
    return stats_examples(
        iter_examples(path, format=format, task=task, text_column=text_column,
                      label_column=label_column, encoding=encoding),
        model=model, price_model=price_model, prices=prices, task=task, source=os.fspath(path),
        progress=progress)
