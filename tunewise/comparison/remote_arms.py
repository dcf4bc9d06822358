"""Remote models as compare arms (``arms.remote``): the cost gate, the measured usage, the
retirement warnings.

Planning is in ``plan.py`` (``_remote``): each ``arms.remote`` entry gives one ``RemoteArm`` per k
of its ``shots``, prompted with the same Task prompts as the local arms on the same test examples,
k-shot examples drawn from the training split exactly like the local k-shot arms'. Responses are
cached in OUT/remote-cache (keyed by base URL, model and the full request), so an interrupted
compare resumes without repeating a paid call, and the finished arm is cached like any other (a
rerun sends nothing).

Before any arm runs, ``check_cost`` estimates every remote arm's uncached calls and refuses
(``CompareCostLimitError``) when the total is over ``max_cost_usd``. After the run, a remote arm's
cost per request is its MEASURED usage (prompt and completion tokens x the price-table price,
``tunewise.cost.remote_prices.remote_price``), recorded per arm in results.json (``usage``).
"""
from __future__ import annotations

from typing import Sequence

from tunewise.arm_record import ArmRecord, ArmRole, records
from tunewise.comparison.plan import PlannedArm, price_table
from tunewise.remote.errors import CostLimitError
from tunewise.remote.pricing import dollars, over_limit_note, suggested_limit
from tunewise.remote.urls import redact_url

class CompareCostLimitError(CostLimitError):
    """The remote arms of a compare are estimated above ``max_cost_usd`` (exit 2)."""


def check_cost(planned: Sequence[PlannedArm], task, test, *, max_cost_usd: float,
               is_cached) -> dict:
    """Estimate every remote arm whose result is not cached yet (``is_cached(planned)``) and
    raise ``CompareCostLimitError`` when the total is over ``max_cost_usd``. Returns
    {"total_usd", "arms": {name: usd or None}, "unpriced": [names]}."""
    per_arm: dict = {}
    for p in planned:
        if p.role is not ArmRole.REMOTE or is_cached(p):
            continue
        per_arm[p.name] = p.arm.estimate_cost(task, test)
    total = sum(v for v in per_arm.values() if v)
    unpriced = [n for n, v in per_arm.items() if v is None]
    if total > max_cost_usd:
        parts = ", ".join(f"{n} ${dollars(v)}" for n, v in per_arm.items() if v)
        limit = suggested_limit(total)
        raise CompareCostLimitError(
            f"the remote arms' uncached calls are estimated at ${dollars(total)} in total "
            f"({parts}; {len(test)} test examples each, answers at their max_tokens), over the "
            f"limit max_cost_usd=${max_cost_usd:g}; nothing was sent",
            fix=f"raise the limit (max_cost_usd: {limit} in the config, or --max-cost {limit}), "
                "or evaluate fewer examples (max_eval)")
    return {"total_usd": total, "arms": per_arm, "unpriced": unpriced}


def over_limit_warning(raws: Sequence[dict | ArmRecord], max_cost_usd: float,
                       estimate: float | None) -> str | None:
    """A warning when the remote arms run now cost more, by the usage their servers reported,
    than ``max_cost_usd`` (which only their estimate was checked against); else None."""
    paid = [r.usage.get("cost_usd_this_run") for r in records(raws)
            if r.remote and not r.reused]
    paid = [c for c in paid if c is not None]
    return over_limit_note(sum(paid), max_cost_usd, estimate) if paid else None


def recorded_config(cfg) -> dict:
    """``cfg.to_dict()`` as results.json records it: remote base URLs without their
    credentials (the config itself keeps them for the requests)."""
    d = cfg.to_dict()
    for r in (d.get("arms") or {}).get("remote") or []:
        if r.get("base_url"):
            r["base_url"] = redact_url(r["base_url"])
    return d


def usage_record(result) -> dict:
    """What results.json keeps of a remote arm's measured usage (totals for this test sample):
    tokens, requests, cache hits, retries, the measured cost and the price it was priced at."""
    u = result.usage
    n = max(len(result.predictions), 1)
    cost = u.get("cost_usd")
    return {"prompt_tokens_total": u.get("tokens_in", 0),
            "output_tokens_total": u.get("tokens_out", 0),
            "requests": u.get("requests", 0), "cache_hits": u.get("cache_hits", 0),
            "attempts": u.get("attempts", 0), "retries": u.get("retries", 0),
            "retry_causes": u.get("retry_causes") or {}, "n": len(result.predictions),
            "estimated_cost_usd": u.get("estimated_cost_usd"),
            "cost_usd": cost, "cost_usd_this_run": u.get("cost_usd_this_run"),
            "usd_per_request": None if cost is None else cost / n,
            "unparseable": u.get("unparseable"), "price": u.get("price"),
            "reasoning_tokens_total": u.get("reasoning_tokens", 0),
            "notes": list(result.notes)}


def retirement_notes(cfg, *, today=None) -> list[str]:
    """Warnings for remote arms' models, and the OpenAI fine-tuning route priced in the hosted
    cost scenario (``cost.price``), that retire within 90 days; a remote arm's hosted model
    already shut down is refused before any arm runs (``ModelRetiredError``, naming its
    replacement), a shut-down ``cost.price`` is a warning (the projection is only a price)."""
    from tunewise.cost.retirement import check_not_retired, retirement_warnings
    from tunewise.remote.spec import parse_model_spec
    table = price_table(cfg)
    for r in cfg.arms.remote:
        spec = parse_model_spec(r.model, base_url=r.base_url,
                                api_key_env=getattr(r, "api_key_env", None))
        if spec.provider is not None:        # a local server's names are its own
            check_not_retired(spec.model, today=today, prices=table)
    # a shut-down cost.price is not refused: the hosted projection only prices the route, and
    # retirement_warnings below says it retired and names the replacement
    out: list[str] = []
    models = [r.model for r in cfg.arms.remote]
    if cfg.cost.price:
        models.append(cfg.cost.price)
    for model in dict.fromkeys(models):
        for w in retirement_warnings(model, today=today, prices=table):
            text = f"{model}: {w}"
            if text not in out:
                out.append(text)
    return out
