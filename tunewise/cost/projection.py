"""What each arm costs, and after how many requests fine-tuning pays back.

The formulas are in ``cost.formulas``, the result records in ``cost.breakdown``:

* hosted training  = billed tokens per epoch x epochs x ``training`` price / 1M
* local training   = measured training seconds / 3600 x $/hour
  (seconds = examples x epochs / measured training examples per second, when not given)
* hosted request   = prompt tokens x input price / 1M + output tokens x output price / 1M; the
  prompted arm pays the base model's prices with its long k-shot prompt, the fine-tuned arm the
  fine-tuned prices with a short zero-shot prompt
* local request    = $/hour / 3600 x machine seconds per call: from the call's prompt and output
  tokens at the model's measured ``TokenRate`` (``cost.token_rate``), or 1 / measured examples
  per second when only a throughput is known
* break-even       = training cost / (prompted $ per request - fine-tuned $ per request),
  "never" when the fine-tuned call is not cheaper

The small functions are pure; ``hosted_estimate`` / ``local_estimate`` assemble a
``CostEstimate`` from measured usage (what ``tunewise compare`` calls), and ``estimate`` does it
standalone from a dataset (what ``tunewise cost`` calls). ``CostEstimate.to_dict()`` is the
``cost`` section of results.json (``tunewise.comparison.schema.CostSection``).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any, Sequence

from tunewise.cost.breakdown import (ArmCost, ArmUsage, BreakEven, CostEstimate,  # noqa: F401
                                     TrainingCost)
from tunewise.cost.formulas import (OPENAI_DEFAULT_EPOCHS, _nonneg,  # noqa: F401
                                    break_even_requests, hosted_request_cost,
                                    hosted_training_cost, local_request_cost,
                                    local_request_cost_from_seconds, local_training_cost,
                                    openai_default_epochs, training_seconds)
from tunewise.errors import UsageError
from tunewise import formatting as fmt

#: the default hosted model of `tunewise cost`
DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"


def _pricing(entry) -> dict:
    d = {"name": entry.name, "source": entry.source, "date": entry.date}
    for ours, theirs in (("training_per_1m", "training"), ("base_input_per_1m", "base_input"),
                         ("base_output_per_1m", "base_output"), ("ft_input_per_1m", "ft_input"),
                         ("ft_output_per_1m", "ft_output"), ("usd_per_hour", "usd_per_hour")):
        if getattr(entry, theirs, None) is not None:
            d[ours] = getattr(entry, theirs)
    return d


def _pick_versus(prompt_arms: Sequence[ArmCost], versus: str | None) -> ArmCost:
    if not prompt_arms:
        raise UsageError("a cost comparison needs at least one prompting arm")
    if versus is None:
        return prompt_arms[0]
    for a in prompt_arms:
        if a.arm == versus:
            return a
    raise UsageError(f"versus={versus!r} is not one of the prompting arms "
                     f"({', '.join(a.arm for a in prompt_arms)})")


def hosted_estimate(entry, *, prompt_arms: Sequence[ArmUsage], finetuned: ArmUsage,
                    train_tokens_per_epoch: int, epochs: int, versus: str | None = None,
                    requests: int = 10_000, notes: Sequence[str] = ()) -> CostEstimate:
    """Price the arms on a hosted model's price entry (``get_price(name)``, kind "api")."""
    if getattr(entry, "kind", None) != "api":
        raise UsageError(f"{entry.name!r} is not a hosted-model price entry",
                         fix="use a 'models:' entry of the price table, e.g. gpt-4o-mini")
    if not entry.fine_tunable:
        from tunewise.cost.prices import load_prices
        tunable = [n for n, e in load_prices().entries.items()
                   if e.pricing == "api" and e.fine_tunable]
        raise UsageError(f"{entry.name!r} has no fine-tuning price: the provider does not "
                         "fine-tune it, so there is no hosted fine-tune to price",
                         fix=f"price the hosted route on a fine-tunable entry "
                             f"({', '.join(tunable)}), or compare it as a prompted remote arm")
    if epochs < 1:
        raise UsageError(f"epochs must be >= 1, got {epochs}")
    p_costs = [ArmCost(a.name, a.kind, hosted_request_cost(
        a.prompt_tokens, a.output_tokens, input_per_1m=entry.base_input,
        output_per_1m=entry.base_output), a.prompt_tokens, a.output_tokens)
        for a in prompt_arms]
    f_cost = ArmCost(finetuned.name, "finetune", hosted_request_cost(
        finetuned.prompt_tokens, finetuned.output_tokens, input_per_1m=entry.ft_input,
        output_per_1m=entry.ft_output), finetuned.prompt_tokens, finetuned.output_tokens)
    usd = hosted_training_cost(train_tokens_per_epoch, epochs, entry.training)
    training = TrainingCost(usd=usd, tokens=int(train_tokens_per_epoch), epochs=int(epochs),
                            note=f"{train_tokens_per_epoch:,} billed tokens x {epochs} "
                                 f"epoch{'s' if epochs != 1 else ''} x "
                                 f"{fmt.usd(entry.training)} per 1M")
    vs = _pick_versus(p_costs, versus)
    be = BreakEven(vs.arm, f_cost.arm, break_even_requests(usd, vs.usd_per_request,
                                                           f_cost.usd_per_request),
                   vs.usd_per_request - f_cost.usd_per_request)
    return CostEstimate("hosted", entry.name, _pricing(entry), training, [*p_costs, f_cost], be,
                        requests, list(notes))


def local_estimate(compute, *, model: str, prompt_arms: Sequence[ArmUsage], finetuned: ArmUsage,
                   train_seconds: float | None = None, train_examples: int | None = None,
                   epochs: int | None = None, train_examples_per_second: float | None = None,
                   versus: str | None = None, requests: int = 10_000,
                   notes: Sequence[str] = (), token_rate=None) -> CostEstimate:
    """Price the arms on local hardware (``get_price("cpu")``, kind "compute").

    With ``token_rate`` (a ``cost.token_rate.TokenRate`` measured once for the model and
    precision) every arm is priced from its own prompt and output tokens at that one rate, so an
    arm with shorter prompts is always the cheaper one; without it, from each arm's measured
    ``examples_per_second``. Training time is ``train_seconds`` or examples x epochs / training
    throughput."""
    if getattr(compute, "kind", None) != "compute" or compute.usd_per_hour is None:
        raise UsageError(f"{compute.name!r} is not a compute price entry ($/hour)",
                         fix="use a 'compute:' entry of the price table, e.g. cpu, t4, a100")
    rate = compute.usd_per_hour
    missing = [a.name for a in (*prompt_arms, finetuned) if not a.examples_per_second]
    if missing and token_rate is None:
        raise UsageError(f"local pricing needs the measured examples/s of {', '.join(missing)}",
                         fix="measure it with `tunewise eval` / `tunewise compare`, or pass it")
    if train_seconds is None:
        if not (train_examples and epochs and train_examples_per_second):
            raise UsageError("local training cost needs train_seconds, or train_examples, epochs "
                             "and train_examples_per_second (measured)")
        train_seconds = training_seconds(train_examples, epochs, train_examples_per_second)
        how = (f"{train_examples:,} examples x {epochs} epoch{'s' if epochs != 1 else ''} / "
               f"{train_examples_per_second:,.1f} examples/s")
    else:
        how = "measured"
    p_costs = [_local_arm_cost(a, rate, token_rate) for a in prompt_arms]
    f_cost = _local_arm_cost(finetuned, rate, token_rate)
    notes = list(notes)
    if token_rate is not None:
        notes.append("local calls priced from their prompt and output tokens at one measured "
                     f"rate: {token_rate.text}")
    usd = local_training_cost(train_seconds, rate)
    training = TrainingCost(usd=usd, seconds=float(train_seconds), epochs=epochs,
                            note=f"{train_seconds:,.0f} s ({how}) x {fmt.usd(rate)}/hour")
    vs = _pick_versus(p_costs, versus)
    be = BreakEven(vs.arm, f_cost.arm, break_even_requests(usd, vs.usd_per_request,
                                                           f_cost.usd_per_request),
                   vs.usd_per_request - f_cost.usd_per_request)
    est = CostEstimate("local", model, _pricing(compute), training, [*p_costs, f_cost], be,
                       requests, notes)
    if token_rate is not None:
        est.pricing["token_rate"] = token_rate.to_dict()
    return est


def _local_arm_cost(a: ArmUsage, usd_per_hour: float, token_rate) -> ArmCost:
    """One arm's local price: from its tokens at ``token_rate``, else from its throughput."""
    if token_rate is None:
        return ArmCost(a.name, a.kind, local_request_cost(a.examples_per_second, usd_per_hour),
                       a.prompt_tokens or None, a.output_tokens or None, a.examples_per_second)
    seconds = token_rate.seconds_per_request(a.prompt_tokens or 0.0, a.output_tokens or 0.0)
    return ArmCost(a.name, a.kind, local_request_cost_from_seconds(seconds, usd_per_hour),
                   a.prompt_tokens or None, a.output_tokens or None, 1.0 / seconds)


# ---------------------------------------------------------------------------------------------
# Standalone, from a dataset
# ---------------------------------------------------------------------------------------------

def pick_shots(examples: Sequence, k: int, *, seed: int = 0, gold=None) -> list:
    """``k`` examples, seeded; with ``gold`` (example -> label) each label once before any twice."""
    if k <= 0:
        return []
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    if gold is None:
        return [examples[i] for i in order[:k]]
    picked: list[int] = []
    seen: set = set()
    for i in order:                  # first pass: one example per unseen label
        lab = gold(examples[i])
        if lab not in seen:
            seen.add(lab)
            picked.append(i)
        if len(picked) == k:
            break
    for i in order:                  # then fill up in shuffled order
        if len(picked) == k:
            break
        if i not in picked:
            picked.append(i)
    return [examples[i] for i in picked]


@dataclass
class DataUsage:
    """Token usage counted from a dataset with one model's tokenizer."""

    prompted: ArmUsage
    finetuned: ArmUsage
    train_tokens_per_epoch: int      #: every example's prompt + answer, as billed for training
    n_examples: int
    over_context: int = 0            #: training examples longer than the model's context


def measure_usage(examples: Sequence, task, counter, *, shots: int = 4, seed: int = 0,
                  output_tokens: float | None = None, outputs: Sequence[str] | None = None,
                  context: int | None = None, max_examples: int | None = 2000) -> DataUsage:
    """Count the prompted (k-shot, base model) and fine-tuned (zero-shot) arms' tokens.

    Output tokens per request: ``output_tokens`` if given, else the mean over ``outputs`` (the
    measured predictions' raw texts), else the mean length of the gold answers. Prompt means are
    over at most ``max_examples`` examples (seeded sample); training tokens over all of them.
    """
    examples = list(examples)
    if len(examples) < shots + 1:
        raise UsageError(f"{len(examples)} example(s) cannot make {shots}-shot prompts",
                         fix=f"use --shots {max(0, len(examples) - 1)} or more data")
    gold = task.gold if getattr(task, "can_score_labels", False) else None   # balanced shots
    shot_exs = pick_shots(examples, shots, seed=seed, gold=gold)
    shot_ids = {id(s) for s in shot_exs}
    rest = [ex for ex in examples if id(ex) not in shot_ids]
    sample = rest
    if max_examples and len(rest) > max_examples:
        sample = random.Random(seed + 1).sample(rest, max_examples)
    kshot = sum(counter.chat(task.prompt_messages(ex, shot_exs)) for ex in sample) / len(sample)
    zshot = sum(counter.chat(task.prompt_messages(ex, ())) for ex in sample) / len(sample)
    if output_tokens is None:
        texts = list(outputs) if outputs else [task.target(ex) for ex in sample]
        output_tokens = sum(counter.text(t) for t in texts) / max(1, len(texts))
    train_tokens, over = 0, 0
    for ex in examples:
        n = counter.conversation(task.prompt_messages(ex, ()), task.target(ex))
        if context and n > context:
            over += 1
            n = context
        train_tokens += n
    name = f"{shots}-shot" if shots else "zero-shot"
    return DataUsage(ArmUsage(name, "prompt", kshot, output_tokens),
                     ArmUsage("fine-tuned", "finetune", zshot, output_tokens),
                     train_tokens, len(examples), over)


def estimate(data, *, model: str = DEFAULT_MODEL, shots: int = 4, epochs: int | None = None,
             output_tokens: float | None = None, requests: int = 10_000,
             prices: Any = None, task=None, compute: str | None = None,
             throughput: float | None = None, prompt_throughput: float | None = None,
             train_throughput: float | None = None, seed: int = 0,
             max_examples: int | None = 2000) -> CostEstimate:
    """Cost of k-shot prompting vs fine-tuning ``model`` on the examples in ``data`` (a path or
    a list of Example); what ``tunewise cost`` prints.

    Hosted models (a ``models:`` entry of the price table): tokens counted offline with the
    model's encoding; training = billed tokens x epochs (default: OpenAI's rule) x price.
    Local models (a ``local_models:`` entry, a model folder or hub id): priced on ``compute``
    ($/hour, default the entry's or "cpu") from measured throughput: ``throughput`` (fine-tuned,
    zero-shot prompts, examples/s), ``prompt_throughput`` (k-shot prompts; default scaled from
    ``throughput`` by prompt length) and ``train_throughput`` (training examples/s).
    """
    from tunewise.cost.counting import token_counter
    from tunewise.cost.prices import get_price, load_prices
    if shots < 0:
        raise UsageError(f"--shots must be >= 0, got {shots}")
    if epochs is not None and epochs < 1:
        raise UsageError(f"--epochs must be >= 1, got {epochs}")
    if requests < 0:
        raise UsageError(f"--requests must be >= 0, got {requests}")
    _nonneg(output_tokens=output_tokens, throughput=throughput,
            prompt_throughput=prompt_throughput, train_throughput=train_throughput)
    table = prices if hasattr(prices, "entries") else load_prices(prices)
    model = _without_provider(model, table)
    entry = get_price(model, table) if (model in table or not _looks_local(model)) else None
    examples = _examples(data)
    if task is None:
        from tunewise.tasks import make_task
        task = make_task(None, examples)
    if entry is not None and entry.pricing == "compute":
        raise UsageError(f"{model!r} is a compute entry ($/hour), not a model",
                         fix=f"pass the model with --model and the hardware with --compute {model}")
    counter = token_counter(entry.name if entry is not None else model, table)
    hosted = entry is not None and entry.pricing == "api"
    usage = measure_usage(examples, task, counter, shots=shots, seed=seed,
                          output_tokens=output_tokens, max_examples=max_examples,
                          context=entry.context if hosted else None)
    notes = [f"tokens counted with {counter.encoding}; prompt means over "
             f"{min(len(examples) - shots, max_examples or len(examples)):,} examples"]
    if output_tokens is None:
        notes.append("output tokens = mean length of the gold answers (pass --output-tokens to "
                      "override)")
    if usage.over_context:
        notes.append(f"{usage.over_context} example(s) exceed the {entry.context:,}-token context "
                     f"and were counted at the limit")
    if hosted:
        from tunewise.cost.retirement import check_not_retired
        check_not_retired(entry.name, prices=entry)      # shut down: no route left to price
        if epochs is None:
            epochs = openai_default_epochs(usage.n_examples)
            notes.append(f"epochs = {epochs}, OpenAI's default for {usage.n_examples:,} examples")
        return hosted_estimate(entry, prompt_arms=[usage.prompted], finetuned=usage.finetuned,
                               train_tokens_per_epoch=usage.train_tokens_per_epoch,
                               epochs=epochs, requests=requests, notes=notes)
    # local model
    from tunewise.cost.compute_entry import resolve_compute
    cname = resolve_compute(compute)   # None / auto: the entry of the device it runs on here
    comp = get_price(cname, table)
    if not throughput or not train_throughput:
        raise UsageError(
            f"{model!r} runs locally: its cost is measured throughput x {comp.name} $/hour, and "
            "the throughput is not known",
            fix="pass --throughput EX_PER_S (inference) and --train-throughput EX_PER_S "
                "(training), e.g. from `tunewise eval --json` / `tunewise train --json`, or run "
                "`tunewise compare`, which measures them")
    if prompt_throughput is None:
        prompt_throughput = throughput * usage.finetuned.prompt_tokens / usage.prompted.prompt_tokens
        notes.append(f"k-shot throughput estimated from --throughput scaled by prompt length "
                     f"({prompt_throughput:,.1f} examples/s)")
    epochs = epochs or 3
    return local_estimate(
        comp, model=entry.name if entry is not None else model,
        prompt_arms=[_with_eps(usage.prompted, prompt_throughput)],
        finetuned=_with_eps(usage.finetuned, throughput), train_examples=usage.n_examples,
        epochs=epochs, train_examples_per_second=train_throughput, requests=requests,
        notes=notes)


def _with_eps(u: ArmUsage, eps: float) -> ArmUsage:
    return ArmUsage(u.name, u.kind, u.prompt_tokens, u.output_tokens, eps)


def _without_provider(model: str, table) -> str:
    """``openai:gpt-4.1-mini`` -> ``gpt-4.1-mini`` (the price-table name); the prefix names a
    hosted model, so it must be a hosted entry of the table."""
    from tunewise.remote.spec import split_provider
    prefix, rest = split_provider(model)
    if prefix is None:
        return model
    if rest in table and table.get(rest).pricing == "api":
        return rest
    hosted = sorted(n for n, e in table.entries.items() if e.pricing == "api")
    from tunewise.registry import did_you_mean
    raise UsageError(f"{model!r}: the price table has no hosted model {rest!r}",
                     fix=f"{did_you_mean(rest, hosted)}; or add it to your --prices YAML")


def _looks_local(model: str) -> bool:
    from tunewise.models.catalog import lookup      # the built-in names (gemma-3-270m ...)
    return lookup(model) is not None or "/" in model or os.path.isdir(model)


def _examples(data) -> list:
    if isinstance(data, (str, os.PathLike)):
        from tunewise.data import read
        return read(data)
    return list(data)
