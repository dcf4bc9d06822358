"""Retirement warnings: a model (or its fine-tuning route) that stops within N days.

::

    retirement_warnings("openai:gpt-4o-mini", today=date(2026, 11, 30))
    # ["gpt-4o-mini-2024-07-18 (and its fine-tunes) retires on 2027-01-14, in 45 days: ...",
    #  "new fine-tuning jobs on gpt-4o-mini-2024-07-18 end on 2027-01-06, in 37 days: ..."]

Dates come from the price table (``retires``, ``training_ends`` of a ``models`` entry, with
``retirement_source``). A fine-tune id (``ft:gpt-4o-mini-2024-07-18:org::id``) is looked up by its
base model. Unknown models (a local server's) have no dates and no warnings.

A model past its shutdown day no longer answers: ``check_not_retired`` refuses it before any
request (``ModelRetiredError``, exit 2) and names the replacement the provider gives
(``successor``) and the page the date comes from::

    check_not_retired("gpt-3.5-turbo", today=date(2026, 12, 6))
    # ModelRetiredError: gpt-3.5-turbo-0125 was shut down on 2026-10-23 ...; fix: use gpt-5.6-terra
"""
from __future__ import annotations

import datetime as dt

from tunewise.errors import ConfigError, UsageError


class ModelRetiredError(UsageError):
    """A hosted model (or a fine-tune of it) past its shutdown day."""


def base_model_name(model: str) -> tuple[str, bool]:
    """(price-table name, is_fine_tune) of ``model``: ``openai:`` and ``ft:...:org::id`` are
    stripped (``ft:gpt-4o-mini-2024-07-18:acme::abc`` -> ``gpt-4o-mini-2024-07-18``)."""
    name = model.strip()
    if name.startswith("openai:"):
        name = name[len("openai:"):]
    if name.startswith("ft:"):
        return name[3:].split(":", 1)[0], True
    return name, False


def _day(value, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError([f"{where}: {value!r} is not a date (YYYY-MM-DD)"]) from None


def _entry(model: str, prices):
    from tunewise.cost.prices import load_prices
    table = prices if hasattr(prices, "entries") else load_prices(prices)
    name, fine_tune = base_model_name(model)
    return (table.get(name) if name in table else None), fine_tune


def check_not_retired(model: str, today: dt.date | None = None, prices=None) -> None:
    """Raise ``ModelRetiredError`` when ``model`` (a name as sent to the API, or a fine-tune of
    it) is past its ``retires`` day in the price table; models without a date pass.
    ``prices``: a PriceTable, a user YAML path, or one ``PriceEntry`` (the model's)."""
    if hasattr(prices, "pricing"):
        entry, fine_tune = prices, base_model_name(model)[1]
    else:
        entry, fine_tune = _entry(model, prices)
    if entry is None or not entry.retires:
        return
    day = _day(entry.retires, f"models.{entry.name}.retires")
    today = today or dt.date.today()
    if day > today:
        return
    what = f"{model} (a fine-tune of {entry.name})" if fine_tune else (
        model if model.split(":")[-1] == entry.name else f"{model} ({entry.name})")
    src = f" (source: {entry.retirement_source})" if entry.retirement_source else ""
    fix = (f"use {entry.successor}, the replacement the provider names" if entry.successor
           else "pick a current model of the price table (tunewise cost --json lists them)")
    if fine_tune:
        fix += "; a fine-tune does not move with its base: fine-tune anew, or compare a local one"
    raise ModelRetiredError(f"{what} was shut down on {day.isoformat()} and no longer answers "
                            f"API calls{src}", fix=fix)


def retirement_warnings(model: str, today: dt.date | None = None, within_days: int = 90,
                        prices=None) -> list[str]:
    """Warnings for ``model`` whose retirement or fine-tuning end is at most ``within_days``
    away (or already past); [] for models without dates. ``prices``: a PriceTable or YAML path."""
    entry, fine_tune = _entry(model, prices)
    if entry is None:
        return []
    today = today or dt.date.today()
    src = f" (source: {entry.retirement_source})" if entry.retirement_source else ""
    if entry.successor:
        src = f" (replacement named by the provider: {entry.successor}){src}"
    out = []
    checks = [("retires", f"{entry.name} (and its fine-tunes) retires" if entry.fine_tunable
               else f"{entry.name} retires",
               "plan the move: compare it with a local fine-tune (tunewise compare)")]
    checks.append(("training_ends", f"new fine-tuning jobs on {entry.name} end",
                   ("this fine-tune cannot be retrained on it after that day" if fine_tune
                    else "a fine-tune needed after that day must use another route")))
    for field, what, advice in checks:
        value = getattr(entry, field, None)
        if not value:
            continue
        day = _day(value, f"models.{entry.name}.{field}")
        left = (day - today).days
        if left > within_days:
            continue
        when = (f"in {left} days" if left > 0 else "today" if left == 0
                else f"{-left} days ago")
        verb = what if left >= 0 else what.replace(" retires", " retired").replace(" end", " ended")
        out.append(f"{verb} on {day.isoformat()}, {when}: {advice}{src}")
    return out
