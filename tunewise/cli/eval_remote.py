"""`tunewise eval` on a remote model: its flags, the price lookup, and the usage/cost lines.

A remote model is ``--model openai:NAME`` (the OpenAI API) or ``--model NAME --base-url URL``
(any OpenAI-compatible server); ``tunewise.evaluation.evaluate`` then runs the remote arm
(``tunewise.evaluation.arms.remote.RemoteArm``). The key comes only from the environment
(``--api-key-env``; ``OPENAI_API_KEY`` only for OpenAI's own host); responses are cached under
``$TUNEWISE_HOME/remote-cache`` unless ``--cache-dir`` says otherwise.
"""
from __future__ import annotations

import math
from dataclasses import replace

import click

from tunewise.errors import UsageError

#: the words for "no cost limit" (a number that is not finite is refused: nan would silently
#: disable the check)
_NO_LIMIT = ("none", "off", "unlimited")


def _max_cost(value: str) -> float | None:
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


def remote_options(f):
    """The remote-model flags of ``tunewise eval`` (click decorators, outermost last)."""
    opts = [
        click.option("--base-url", default=None, metavar="URL",
                     help="an OpenAI-compatible server (vLLM, llama.cpp, Ollama, tunewise "
                          "serve): http://HOST:PORT/v1; --model is then the served name"),
        click.option("--api-key-env", default=None, metavar="VAR",
                     help="environment variable holding the API key [default: OPENAI_API_KEY "
                          "for openai: models and api.openai.com only; another --base-url "
                          "server gets no key unless this names one; keys are read only from "
                          "the environment]"),
        click.option("--max-cost", "max_cost", default="5", show_default=True, metavar="USD",
                     help="refuse a run whose uncached requests are estimated above USD "
                          "('none': no limit)"),
        click.option("--scoring", type=click.Choice(["auto", "logprobs", "generate", "choice",
                                                     "structured"]),
                     default=None, help="remote classification: labels from logprobs, from the "
                                        "generated text, logprobs when the server has them "
                                        "(auto), the labels sent as a choice list (choice: vLLM, "
                                        "tunewise serve) or asked as a JSON-schema enum "
                                        "(structured: OpenAI structured outputs, tunewise serve) "
                                        "[default: from --method]"),
        click.option("--concurrency", type=int, default=8, show_default=True, metavar="N",
                     help="remote requests in flight at most"),
        click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True,
                     metavar="S", help="seconds one remote request may take (a wall-clock "
                                       "deadline per attempt)"),
        click.option("--retries", "max_retries", type=int, default=6, show_default=True,
                     metavar="N", help="retries per remote request (429 / 5xx / timeouts, "
                                       "exponential backoff honouring Retry-After)"),
        click.option("--cache-dir", default=None, metavar="DIR",
                     help="remote response cache [default: $TUNEWISE_HOME/remote-cache]"),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def remote_fields(remote: dict) -> dict:
    """``EvalOptions`` fields from the flags of ``remote_options``."""
    return {"base_url": remote["base_url"], "api_key_env": remote["api_key_env"],
            "max_cost_usd": _max_cost(remote["max_cost"]), "scoring": remote["scoring"],
            "concurrency": remote["concurrency"], "timeout_s": remote["timeout_s"],
            "max_retries": remote["max_retries"], "cache_dir": remote["cache_dir"]}


def with_price(options):
    """(``options`` with the model's price from the price table, retirement warnings)."""
    from tunewise.cost.remote_prices import remote_price
    from tunewise.cost.retirement import retirement_warnings
    from tunewise.remote.spec import parse_model_spec
    spec = parse_model_spec(options.model, base_url=options.base_url,
                            api_key_env=options.api_key_env)
    # a local server's model named like a hosted one is not billed by OpenAI: price only
    # hosted models
    if spec.provider is None:
        return options, []
    from tunewise.cost.retirement import check_not_retired
    check_not_retired(spec.model)            # shut down: refused before any request
    price = options.price or remote_price(spec.model)
    return replace(options, price=price), retirement_warnings(spec.model)


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
