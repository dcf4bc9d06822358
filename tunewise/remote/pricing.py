"""What remote calls cost: an estimate before running and the bill after, at a ``RemotePrice``.

The price itself comes from the dated price table through ``tunewise.cost.remote_prices.
remote_price(model)`` (the cost layer sits above this one, so the caller looks it up and hands it
in). A model without a price (a local server's) costs None, never 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from tunewise.remote.errors import CostLimitError


@dataclass(frozen=True)
class RemotePrice:
    """US dollars per 1M input / output tokens of one remote model."""

    entry: str
    input: float
    output: float
    fine_tune: bool
    source: str
    date: str
    encoding: str | None = None

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input + tokens_out * self.output) / 1e6

    def to_dict(self) -> dict:
        return {"entry": self.entry, "usd_per_1m_input": self.input,
                "usd_per_1m_output": self.output, "fine_tune": self.fine_tune,
                "source": self.source, "date": self.date}


def estimate_tokens(requests: Sequence[dict], price: RemotePrice | None) -> tuple[int, int]:
    """(prompt tokens, most completion tokens) of ``requests``: prompts counted offline with the
    model's encoding (about 4 characters a token without one), answers at their ``max_tokens``."""
    counter = None
    if price is not None and price.encoding:
        try:
            from tunewise.data.tokens import OpenAICounter
            counter = OpenAICounter(price.entry)
            counter.encoding_name = price.encoding
        except Exception:  # noqa: BLE001 - fall back to the character estimate
            counter = None
    tokens_in = tokens_out = 0
    for req in requests:
        msgs = req.get("messages", [])
        if counter is not None:
            tokens_in += counter.count_messages([list(msgs)])[0]
        else:
            tokens_in += sum(len(str(m.get("content") or "")) // 4 + 4 for m in msgs) + 3
        tokens_out += int(req.get("max_completion_tokens") or req.get("max_tokens") or 0)
    return tokens_in, tokens_out


def check_cost(requests: Sequence[dict], price: RemotePrice | None, model: str,
               max_cost_usd: float | None) -> float | None:
    """The estimated cost of sending ``requests`` (None without a price); ``CostLimitError``
    when it is over ``max_cost_usd`` (None = no limit)."""
    if price is None or not requests:
        return None if price is None else 0.0
    tokens_in, tokens_out = estimate_tokens(requests, price)
    usd = price.cost(tokens_in, tokens_out)
    if max_cost_usd is not None and usd > max_cost_usd:
        limit = suggested_limit(usd)
        raise CostLimitError(
            f"the {len(requests)} uncached requests to {model} are estimated at "
            f"${dollars(usd)} ({tokens_in} prompt tokens, at most {tokens_out} answer tokens, at "
            f"${price.input:g}/${price.output:g} per 1M from the price table of {price.date}), "
            f"over the limit of max_cost_usd=${max_cost_usd:g}",
            fix=f"raise the limit (max_cost_usd: {limit} in the config, --max-cost {limit} on "
                "the command line) or evaluate fewer examples (--limit)")
    return usd


def dollars(usd: float, digits: int = 2) -> str:
    """``usd`` with at least ``digits`` significant digits and never fewer than 2 decimals,
    rounded UP (a limit written from it is never below it): 0.000111 -> "0.00012",
    1.234 -> "1.24", 0 -> "0.00"."""
    if not math.isfinite(usd) or usd <= 0:
        return "0.00"
    exp = math.floor(math.log10(usd))
    decimals = max(2, digits - 1 - exp)
    step = 10.0 ** -decimals
    up = math.ceil(usd / step - 1e-9) * step
    if up < usd:
        up += step
    return f"{up:.{decimals}f}"


def suggested_limit(usd: float) -> str:
    """A cost limit to suggest for an estimate of ``usd``: 20% of headroom, rounded up with two
    significant digits, so it is accepted (never the "0.00" a fixed two decimals would give
    for $0.0001)."""
    return dollars(usd * 1.2)


def over_limit_note(actual: float | None, max_cost_usd: float | None,
                    estimate: float | None) -> str | None:
    """A warning when the cost of what the server reports it used (``actual``) is over the
    limit the estimate was checked against; None otherwise."""
    if actual is None or max_cost_usd is None or actual <= max_cost_usd:
        return None
    est = f"${dollars(estimate)}" if estimate is not None else "unknown"
    return (f"the server reported usage costing ${dollars(actual)}, over the limit "
            f"max_cost_usd=${max_cost_usd:g} (the estimate before sending was {est}): the "
            "server counted far more tokens than the prompts hold, or the answers ran past "
            "max_tokens; check the server's usage figures and your bill")
