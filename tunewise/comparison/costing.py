"""Cost of the compared arms and the break-even volume, via ``tunewise.cost.estimate``.

Two views of the same measured comparison:

- **local** (the main ``cost`` section): the model compared runs on your own hardware. Training =
  the measured training seconds x the compute entry's $/hour; a request = $/hour x the machine
  seconds of its prompt and output tokens at one rate measured for the model and precision
  (``cost.token_rate``), so noise cannot make a longer prompt cheaper. Without a rate: $/hour /
  measured examples per second, where a LoRA-merged (or fully) fine-tuned model has the base model's architecture
  and gets the same short zero-shot prompt, so a fine-tuned call costs what a zero-shot call
  costs: it is priced at the zero-shot arm's measured throughput when that arm ran (one
  measurement for two identical workloads, instead of two noisy ones on a shared machine).
- **hosted** (``extra_costs``, when ``cost.price`` names a hosted model): our prompts and answers
  counted in that model's tokens; prompted calls pay base prices on the (k-shot) prompt,
  fine-tuned calls fine-tuned prices on the zero-shot prompt; training = billed tokens per epoch
  x epochs x the training price.
"""
from __future__ import annotations

from typing import Sequence

from tunewise.arm_record import ArmRecord, ArmRole, records


def token_rate(cache, base_model, *, model: str, bf16: bool, batch_size: int, say):
    """The model's ``TokenRate`` at this precision (``cost.token_rate``): measured once, as the
    median of timed passes (3, or up to 5 until 3 of them agree within 10%), and kept in the
    output folder's cache so a rerun prices the same.
    ``base_model``: a zero-argument function returning the loaded model (loaded only to
    measure)."""
    from tunewise.cost.token_rate import TokenRate, measure_token_rate
    inputs = {"measure": "token-rate-v2", "model": model, "bf16": bf16, "batch_size": batch_size}
    hit = cache.get("token-rate", inputs)
    if hit:
        return TokenRate(**{k: v for k, v in hit.items() if k != "text"})
    say(f"measuring {model}'s time per token for the local cost (timed passes until 3 agree, "
        "at most 5)")
    rate = measure_token_rate(base_model(), bf16=bf16, batch_size=batch_size, passes=3,
                              max_passes=5)
    cache.put("token-rate", inputs, rate.to_dict())
    return rate


def pick_ft_arm(raws: Sequence[dict | ArmRecord], size: int) -> ArmRecord | None:
    """The fine-tuned run whose cost is reported: the lowest seed at ``size``."""
    runs = [r for r in records(raws) if r.is_finetune and r.train_size == size]
    return min(runs, key=lambda r: r.seed or 0) if runs else None


def local_section(*, model: str, compute, prompt_arm: dict | ArmRecord,
                  ft_arm: dict | ArmRecord, zero_shot: dict | ArmRecord | None,
                  token_rate=None) -> dict:
    """``token_rate`` (``cost.token_rate.TokenRate``): price every arm from its tokens at this one
    measured rate; without it, from each arm's measured examples/s."""
    from tunewise.cost.projection import ArmUsage, local_estimate
    prompt_arm, ft_arm = ArmRecord.from_dict(prompt_arm), ArmRecord.from_dict(ft_arm)
    zero_shot = None if zero_shot is None else ArmRecord.from_dict(zero_shot)
    tok_p, tok_f = prompt_arm.tokens, ft_arm.tokens
    notes = []
    ft_eps = ft_arm.examples_per_second
    if token_rate is None and zero_shot is not None and zero_shot.examples_per_second:
        ft_eps = zero_shot.examples_per_second
        notes.append("the fine-tuned model is priced at the zero-shot arm's measured throughput: "
                     "same architecture (LoRA merged), same zero-shot prompt, same work per call")
    if token_rate is None:
        notes.append("throughput measured on this machine while other work may have been running")
    secs = float(ft_arm.timing.get("train_seconds") or 0.0)
    est = local_estimate(
        compute, model=model,
        prompt_arms=[ArmUsage(prompt_arm.name, ArmRole.PROMPT.kind, tok_p.get("prompt") or 0.0,
                              tok_p.get("output") or 0.0, prompt_arm.examples_per_second)],
        finetuned=ArmUsage(ft_arm.name, ArmRole.FINETUNE.kind, tok_f.get("prompt") or 0.0,
                           tok_f.get("output") or 0.0, ft_eps),
        train_seconds=secs, epochs=ft_arm.get("epochs"), notes=notes, token_rate=token_rate)
    out = est.to_dict()
    measured_on = ft_arm.hardware
    if measured_on:
        out.setdefault("pricing", {})["measured_on"] = measured_on
    return out


def hosted_section(*, price, task, test, train_subset, prompt_arm: dict | ArmRecord, shots,
                   ft_arm: dict | ArmRecord, epochs: int, ft_task=None) -> dict:
    """``shots``: the prompting arm's shots (one list for all, or one list per test example);
    ``ft_task``: the task the fine-tune is trained and prompted with (``Task.for_fine_tuning``;
    default ``task``)."""
    ft_task = ft_task or task
    prompt_arm, ft_arm = ArmRecord.from_dict(prompt_arm), ArmRecord.from_dict(ft_arm)
    from tunewise.cost.counting import openai_counter
    from tunewise.cost.projection import ArmUsage, hosted_estimate
    counter = openai_counter(price.name, price.encoding or "o200k_base")
    test = list(test)
    n = max(len(test), 1)
    per_ex = shots if shots and isinstance(shots[0], (list, tuple)) else [list(shots)] * len(test)
    out_tok = sum(counter.text(task.target(ex)) for ex in test) / n
    p_tok = sum(counter.chat(task.prompt_messages(ex, s)) for ex, s in zip(test, per_ex)) / n
    f_tok = sum(counter.chat(ft_task.prompt_messages(ex, ())) for ex in test) / n
    billed = sum(counter.conversation(ft_task.prompt_messages(ex, ()), ft_task.target(ex))
                 for ex in train_subset)
    est = hosted_estimate(
        price, prompt_arms=[ArmUsage(prompt_arm.name, ArmRole.PROMPT.kind, p_tok, out_tok)],
        finetuned=ArmUsage(ft_arm.name, ArmRole.FINETUNE.kind, f_tok, out_tok),
        train_tokens_per_epoch=billed, epochs=max(int(epochs or 1), 1),
        notes=[f"projection: the same prompts, answers and {len(train_subset)} training "
               f"examples on {price.name}; output tokens = the gold answers' tokens"])
    return est.to_dict()


def empty_section(reason: str, model: str) -> dict:
    """A cost section when there is nothing to compare (no prompting or no fine-tuning arm)."""
    be = {"versus": None, "finetuned": None, "requests": None, "never": True, "text": reason}
    return {"mode": "local", "model": model, "pricing": {"name": "n/a"},
            "training": {"usd": 0.0, "note": reason}, "arms": [], "break_even": be,
            "notes": [reason]}


def remote_section(*, remote_arms: Sequence[dict | ArmRecord], versus: str | None,
                   local: dict) -> dict:
    """The local fine-tune against the remote arms, priced from their MEASURED usage (prompt and
    completion tokens x the price-table price, per request). ``local``: the main (local) cost
    section, whose training cost and fine-tuned $/request the fine-tune is priced at;
    ``versus``: the remote arm the break-even is computed against (the best-scoring one)."""
    from tunewise.cost.formulas import break_even_requests
    ft_row = next(a for a in local["arms"] if ArmRole.parse(a.get("kind")) is ArmRole.FINETUNE)
    train_usd = float(local["training"]["usd"])
    rows, notes, prices = [], [], []
    for r in records(remote_arms):
        u = r.usage
        n = max(int(u.get("n") or 0), 1)
        per = r.usd_per_request
        rows.append({"arm": r.name, "kind": r.kind,
                     "prompt_tokens": (u.get("prompt_tokens_total") or 0) / n,
                     "output_tokens": (u.get("output_tokens_total") or 0) / n,
                     "usd_per_request": per,
                     "usd_per_1k_requests": None if per is None else 1000 * per,
                     "measured": True, "requests": u.get("requests"),
                     "cache_hits": u.get("cache_hits"), "retries": u.get("retries")})
        if per is None:
            notes.append(f"{r.name}: no price in the price table for {r.model} (or "
                         "responses without usage): its cost is unknown, not $0")
        elif u.get("price"):
            p = u["price"]
            prices.append(f"{r.name}: {p.get('entry')} at ${p.get('usd_per_1m_input'):g} / "
                          f"${p.get('usd_per_1m_output'):g} per 1M input / output tokens "
                          f"({p.get('source')}, {p.get('date')})")
    rows.append({**ft_row})
    vs = next((a for a in rows if a["arm"] == versus), None)
    be = {"versus": versus, "finetuned": ft_row["arm"], "requests": None, "never": True}
    if vs is None or vs["usd_per_request"] is None:
        be["text"] = f"unknown: {versus} has no measured cost (no price)"
    else:
        n = break_even_requests(train_usd, vs["usd_per_request"], ft_row["usd_per_request"])
        be.update(requests=n, never=n is None,
                  saving_per_request=vs["usd_per_request"] - ft_row["usd_per_request"])
        be["text"] = ("never: the local fine-tuned call is not cheaper than " + versus
                      if n is None else f"pays back after {n:,.0f} requests against {versus}")
    notes.append("remote arms: measured usage of this compare (prompt + completion tokens per "
                 "request x the price-table price); the fine-tune: the local cost section's "
                 "training cost and $/request")
    return {"mode": "remote", "model": local.get("model"),
            "pricing": {"name": "measured remote usage", "remote": prices,
                        "compute": (local.get("pricing") or {}).get("name")},
            "training": {**local["training"]}, "arms": rows, "break_even": be,
            "notes": notes + prices}


def unit_costs(raws: Sequence[dict | ArmRecord], compute=None,
               token_rate=None) -> dict[str, dict]:
    """Every arm's price and time per request, for the cascade: {name: {"usd_per_request",
    "seconds_per_request"}} (None where unknown). Remote arms: their measured cost per request
    and wall seconds per answer at their measured throughput (concurrent requests); local
    language-model arms: machine seconds from their mean tokens at ``token_rate`` (else from
    their measured examples/s) at ``compute``'s $/hour; the classical model: from its measured
    examples/s."""
    out = {}
    per_hour = getattr(compute, "usd_per_hour", None)
    for r in records(raws):
        eps = r.examples_per_second
        secs = 1.0 / eps if eps else None
        tok = r.tokens
        if (r.is_local_prompt or r.is_finetune) and token_rate is not None and tok:
            secs = token_rate.seconds_per_request(tok.get("prompt") or 0.0,
                                                  tok.get("output") or 0.0)
        if r.remote:
            usd = r.usd_per_request
        else:
            usd = None if secs is None or per_hour is None else secs * per_hour / 3600.0
        out[r.name] = {"usd_per_request": usd, "seconds_per_request": secs}
    return out
