"""``tunewise data stats``: what a dataset holds and what fine-tuning on it would cost.

``tunewise.data.profiling`` counts (examples, labels, chat-formatted token lengths, examples over
the context) with the task and token counter resolved here; this module adds the epochs OpenAI's
fine-tuning picks by default, billed training tokens and the training cost from the price table.
Reached as ``tunewise.data.stats``.

OpenAI's default epochs follow OpenAI's own reference (the cookbook's data-preparation notebook):
3 epochs; if examples x 3 < 100: min(25, 100 // examples); if examples x 3 > 25,000:
max(1, 25,000 // examples). Billed tokens = sum over examples of min(tokens, context) x epochs.

Streaming: examples are counted in batches; memory holds one number per example.
"""
from __future__ import annotations

import itertools
import os
from typing import Any, Iterable

import numpy as np

from tunewise.data.profiling import length_summary, profile_examples
from tunewise.errors import UsageError
from tunewise.tasks.factory import data_task

__all__ = ["length_summary", "openai_default_epochs", "stats", "stats_examples"]


def openai_default_epochs(n_examples: int) -> int:
    """Epochs OpenAI's fine-tuning picks when ``n_epochs`` is "auto" (see module docstring)."""
    from tunewise.cost.projection import openai_default_epochs as rule
    return rule(n_examples)


def _price_entry(price_model: str | None, model: str | None, prices):
    from tunewise.cost.prices import get_price, load_prices
    from tunewise.models.tokens import is_openai_model
    table = prices if hasattr(prices, "get") else load_prices(prices)
    if price_model is not None:
        entry = get_price(price_model, table)
        if entry.pricing == "compute":
            raise UsageError(f"{price_model!r} is a compute entry ($/hour), not a model",
                             fix="give --price-model an API model (e.g. gpt-4o-mini) or a local "
                                 "model entry")
        return entry
    if model is not None and is_openai_model(model) and model in table:
        return table.get(model)
    return None


def stats_examples(examples: Iterable, *, model: str | None = None,
                   price_model: str | None = None, prices=None, task=None,
                   source: str = "<input>", progress: bool = True) -> dict[str, Any]:
    """Profile ``examples`` (any iterable of Example, consumed once); ``task``: a kind name,
    a Task, or None (inferred from the first 2,000 examples)."""
    from tunewise.models.tokens import token_counter

    entry = _price_entry(price_model, model, prices)
    hosted = entry is not None and entry.pricing == "api"
    counter = token_counter(model or (entry.name if hosted else None))
    bill_counter = token_counter(entry.name) if hosted and entry.name != counter.name else None
    billing_context = (entry.context or (bill_counter or counter).context_length) if hosted else None

    it = iter(examples)
    head = list(itertools.islice(it, 2000))
    if not head:
        raise UsageError(f"{source} holds no examples", fix="check the file and its --format")
    result, billed = profile_examples(itertools.chain(head, it), task=data_task(task, head),
                                      counter=counter, bill_counter=bill_counter, source=source,
                                      progress=progress)
    del head
    result["openai_default_epochs"] = openai_default_epochs(result["examples"])
    result["cost"] = (_cost(entry, billed, result["openai_default_epochs"], billing_context,
                            bill_counter.name if bill_counter else counter.name)
                      if entry is not None else None)
    return result


def _cost(entry, lengths: np.ndarray, epochs: int, context: int | None, counted_with: str
          ) -> dict[str, Any]:
    """Billed training tokens and cost for one price entry."""
    out: dict[str, Any] = {"price_entry": entry.name, "kind": entry.pricing,
                           "source": entry.source, "date": entry.date}
    if entry.pricing != "api":
        out.update(training_usd=None, note=entry.note or "local model: cost = measured "
                   "throughput x a compute entry's $/hour (see `tunewise cost`)",
                   compute=entry.compute)
        return out
    if entry.training is None:
        out.update(training_usd=None, note=f"{entry.name} has no fine-tuning price: the provider "
                   "does not fine-tune it (pick a fine-tunable entry with --price-model)")
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
