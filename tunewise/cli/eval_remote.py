"""`tunewise eval` on a remote model: the --max-cost reading, the price lookup, and the usage/cost
lines (its flags are generated from ``RemoteOptions``: ``cli/eval_flags.py``).

A remote model is ``--model openai:NAME`` (the OpenAI API) or ``--model NAME --base-url URL``
(any OpenAI-compatible server); ``tunewise.evaluation.evaluate`` then runs the remote arm
(``tunewise.evaluation.arms.remote.RemoteArm``). The key comes only from the environment
(``--api-key-env``; ``OPENAI_API_KEY`` only for OpenAI's own host); responses are cached under
``$TUNEWISE_HOME/remote-cache`` unless ``--cache-dir`` says otherwise.
"""
from __future__ import annotations

import math
from dataclasses import replace

from tunewise.errors import UsageError

#: the words for "no cost limit" (a number that is not finite is refused: nan would silently
#: disable the check)
_NO_LIMIT = ("none", "off", "unlimited")


def max_cost(value: str) -> float | None:
    """``--max-cost``'s text as US dollars (None: no limit); not a finite number: UsageError."""
    if value.strip().lower() in _NO_LIMIT:
        return None
    fix = "e.g. --max-cost 2.50, or --max-cost none for no limit"
    try:
        usd = float(value)
    except ValueError:
        raise UsageError(f"--max-cost {value!r} is not a number of US dollars", fix=fix) from None
    if not math.isfinite(usd):
        raise UsageError(f"--max-cost {value!r} is not a finite number of US dollars", fix=fix)
    return usd


def with_price(options):
    """(``options`` with the model's price from the price table, retirement warnings)."""
    from tunewise.cost.remote_prices import remote_price
    from tunewise.cost.retirement import retirement_warnings
    from tunewise.remote.spec import parse_model_spec
    spec = parse_model_spec(options.model, base_url=options.remote.base_url,
                            api_key_env=options.remote.api_key_env)
    # a local server's model named like a hosted one is not billed by OpenAI: price only
    # hosted models
    if spec.provider is None:
        return options, []
    from tunewise.cost.retirement import check_not_retired
    check_not_retired(spec.model)            # shut down: refused before any request
    price = options.remote.price or remote_price(spec.model)
    return (replace(options, remote=replace(options.remote, price=price)),
            retirement_warnings(spec.model))


def render_usage(usage: dict, warnings: list[str]) -> None:
    """The remote arm's requests, cache hits, retries, tokens and actual cost."""
    from tunewise import formatting as fmt
    from tunewise.cli.output import console
    from tunewise.cli.output import safe as escape
    console.print(f"remote usage: {usage.get('requests', 0):,} requests, "
                  f"{usage.get('cache_hits', 0):,} from the cache, "
                  f"{usage.get('retries', 0):,} retries; tokens in "
                  f"{usage.get('tokens_in', 0):,}, out {usage.get('tokens_out', 0):,}")
    cost = usage.get("cost_usd")
    if cost is None:
        console.print("cost: unknown (no price for this model in the price table)")
    else:
        price = usage.get("price") or {}
        console.print(f"cost: {fmt.usd(cost)} for these answers, "
                      f"{fmt.usd(usage.get('cost_usd_this_run') or 0)} paid by this run "
                      f"(estimate before running {fmt.usd(usage.get('estimated_cost_usd') or 0)}"
                      f"; prices of {escape(str(price.get('date', '?')))})")
    if usage.get("cost_warning"):
        console.print(f"[yellow]warning:[/] {escape(usage['cost_warning'])}")
    for w in warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")
