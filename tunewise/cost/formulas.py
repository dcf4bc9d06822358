"""The cost formulas: pure functions of token counts, prices, seconds and measured throughput.

Prices are US dollars per 1,000,000 tokens, or per hour of a machine:

* hosted training  = billed tokens per epoch x epochs x ``training`` price / 1M
* local training   = measured training seconds / 3600 x $/hour
* hosted request   = prompt tokens x input price / 1M + output tokens x output price / 1M
* local request    = $/hour / 3600 x the machine seconds of one call (``cost.token_rate``: from
  the call's prompt and output tokens at a robustly measured rate), or / measured examples per
  second when only a throughput is known
* break-even       = training cost / (prompted $ per request - fine-tuned $ per request),
  "never" when the fine-tuned call is not cheaper
"""
from __future__ import annotations

import math

from tunewise.errors import UsageError

PER_MILLION = 1_000_000
SECONDS_PER_HOUR = 3600
#: OpenAI's default-epoch rule: 3 epochs, scaled so examples x epochs lands in [100, 25000],
#: clamped to [1, 25] (OpenAI fine-tuning docs / cookbook "Data preparation and analysis")
OPENAI_DEFAULT_EPOCHS, OPENAI_MIN_TARGET, OPENAI_MAX_TARGET = 3, 100, 25_000
OPENAI_MIN_EPOCHS, OPENAI_MAX_EPOCHS = 1, 25



def _nonneg(**values: float | None) -> None:
    bad = [f"{k} = {v!r}" for k, v in values.items()
           if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)
                                 or math.isnan(v) or v < 0)]
    if bad:
        raise UsageError(f"cost inputs must be numbers >= 0: {', '.join(bad)}")


def hosted_request_cost(prompt_tokens: float, output_tokens: float, *, input_per_1m: float,
                        output_per_1m: float) -> float:
    """Dollars for one hosted call with these mean token counts."""
    _nonneg(prompt_tokens=prompt_tokens, output_tokens=output_tokens,
            input_per_1m=input_per_1m, output_per_1m=output_per_1m)
    return (prompt_tokens * input_per_1m + output_tokens * output_per_1m) / PER_MILLION


def hosted_training_cost(tokens_per_epoch: float, epochs: int, training_per_1m: float) -> float:
    """Dollars to fine-tune on a hosted service: billed tokens x epochs x price."""
    _nonneg(tokens_per_epoch=tokens_per_epoch, epochs=epochs, training_per_1m=training_per_1m)
    return tokens_per_epoch * epochs * training_per_1m / PER_MILLION


def local_request_cost(examples_per_second: float, usd_per_hour: float) -> float:
    """Dollars per request on a machine that costs ``usd_per_hour`` and serves
    ``examples_per_second`` (measured)."""
    _nonneg(examples_per_second=examples_per_second, usd_per_hour=usd_per_hour)
    if examples_per_second == 0:
        raise UsageError("examples_per_second must be > 0 to price local inference")
    return usd_per_hour / SECONDS_PER_HOUR / examples_per_second


def local_request_cost_from_seconds(seconds: float, usd_per_hour: float) -> float:
    """Dollars for one request taking ``seconds`` of a machine that costs ``usd_per_hour``."""
    _nonneg(seconds=seconds, usd_per_hour=usd_per_hour)
    return seconds / SECONDS_PER_HOUR * usd_per_hour


def local_training_cost(seconds: float, usd_per_hour: float) -> float:
    """Dollars for ``seconds`` of training on a machine that costs ``usd_per_hour``."""
    _nonneg(seconds=seconds, usd_per_hour=usd_per_hour)
    return seconds / SECONDS_PER_HOUR * usd_per_hour


def training_seconds(n_examples: int, epochs: int, train_examples_per_second: float) -> float:
    """Training wall seconds from a measured throughput (training steps only)."""
    _nonneg(n_examples=n_examples, epochs=epochs,
            train_examples_per_second=train_examples_per_second)
    if train_examples_per_second == 0:
        raise UsageError("train_examples_per_second must be > 0")
    return n_examples * epochs / train_examples_per_second


def break_even_requests(training_usd: float, prompt_usd_per_request: float,
                        finetuned_usd_per_request: float) -> float | None:
    """Requests after which the fine-tuned arm's training cost is paid back by its cheaper
    calls; ``None`` ("never") when the fine-tuned call is not cheaper."""
    _nonneg(training_usd=training_usd, prompt_usd_per_request=prompt_usd_per_request,
            finetuned_usd_per_request=finetuned_usd_per_request)
    saving = prompt_usd_per_request - finetuned_usd_per_request
    if saving <= 0:
        return None
    return training_usd / saving


def openai_default_epochs(n_examples: int) -> int:
    """The number of epochs OpenAI's fine-tuning picks when none is given."""
    if n_examples <= 0:
        return OPENAI_DEFAULT_EPOCHS
    if n_examples * OPENAI_DEFAULT_EPOCHS < OPENAI_MIN_TARGET:
        return min(OPENAI_MAX_EPOCHS, OPENAI_MIN_TARGET // n_examples)
    if n_examples * OPENAI_DEFAULT_EPOCHS > OPENAI_MAX_TARGET:
        return max(OPENAI_MIN_EPOCHS, OPENAI_MAX_TARGET // n_examples)
    return OPENAI_DEFAULT_EPOCHS
