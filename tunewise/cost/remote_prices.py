"""The price of a remote model name, from the dated price table.

A base model (``gpt-4.1-mini``, ``openai:gpt-4.1-mini``) is priced at its entry's ``base_input`` /
``base_output``; a fine-tune (``ft:gpt-4o-mini-2024-07-18:org::id``) at its base entry's
``ft_input`` / ``ft_output``. Names the table does not know (a local server's models) have no
price: None, so their cost is unknown rather than 0.
"""
from __future__ import annotations

from tunewise.remote.pricing import RemotePrice


def remote_price(model: str, prices=None) -> RemotePrice | None:
    """The ``RemotePrice`` of ``model`` (a name as sent to the API) or None.
    ``prices``: a PriceTable or a user YAML path (None = shipped table + $TUNEWISE_PRICES)."""
    from tunewise.cost.prices import load_prices
    from tunewise.cost.retirement import base_model_name
    table = prices if hasattr(prices, "entries") else load_prices(prices)
    name, fine_tune = base_model_name(model)
    if name not in table:
        return None
    e = table.get(name)
    if e.pricing != "api":
        return None
    inp, out = (e.ft_input, e.ft_output) if fine_tune else (e.base_input, e.base_output)
    if inp is None or out is None:
        return None
    return RemotePrice(entry=e.name, input=float(inp), output=float(out), fine_tune=fine_tune,
                       source=e.source, date=e.date, encoding=e.encoding)
