"""`tunewise cost`: what k-shot prompting and fine-tuning cost, and when fine-tuning pays back."""
from __future__ import annotations

import click

from tunewise.cli.options import device_option

from tunewise.cost.projection import DEFAULT_MODEL


def register(app: click.Group) -> None:
    app.add_command(cost)


@click.command()
@device_option
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False),
              help="Training data (any format `tunewise data check` reads).")
@click.option("--model", default=DEFAULT_MODEL, show_default=True,
              help="Hosted model (price-table entry or alias, optionally openai:NAME) or a local "
                   "model.")
@click.option("--shots", type=int, default=4, show_default=True,
              help="Examples in the prompted arm's prompt (k-shot).")
@click.option("--epochs", type=int, default=None,
              help="Training epochs [default: OpenAI's rule for hosted models, 3 for local].")
@click.option("--output-tokens", type=float, default=None,
              help="Output tokens per request [default: mean length of the gold answers].")
@click.option("--requests", type=int, default=10_000, show_default=True,
              help="Request volume for the 'total' column.")
@click.option("--prices", type=click.Path(dir_okay=False), default=None,
              help="Your price YAML, merged over the shipped table.")
@click.option("--task", "task_kind", default=None,
              help="classification | ner | generation [default: inferred from the data].")
@click.option("--compute", default=None,
              help="Local models: compute entry for $/hour (cpu, t4, l4, a10g, a100, h100, apple) "
                   "[default: the entry of the device --device picks].")
@click.option("--throughput", type=float, default=None,
              help="Local models: measured inference examples/s (fine-tuned, zero-shot prompt).")
@click.option("--prompt-throughput", type=float, default=None,
              help="Local models: measured examples/s with k-shot prompts "
                   "[default: --throughput scaled by prompt length].")
@click.option("--train-throughput", type=float, default=None,
              help="Local models: measured training examples/s.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for picking the shots.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def cost(data, model, shots, epochs, output_tokens, requests, prices, task_kind, compute,
         throughput, prompt_throughput, train_throughput, seed, as_json):
    """Cost per 1,000 requests of k-shot prompting vs a fine-tuned model, the training cost, and
    the break-even request volume, from a dataset and a few flags.

    \b
    tunewise cost --data train.jsonl                          # gpt-4o-mini, 4-shot
    tunewise cost --data train.jsonl --model openai:gpt-4.1-mini
    tunewise cost --data train.csv --model gpt-4.1-mini --shots 8 --epochs 3
    tunewise cost --data train.csv --model smollm2 --compute cpu \\
        --throughput 40 --train-throughput 12                 # local: measured speed x $/hour
    """
    from tunewise.cost.projection import estimate
    task = None
    if task_kind:
        from tunewise.data import read
        from tunewise.tasks import make_task
        examples = read(data)
        task = make_task(task_kind, examples)
        data = examples
    est = estimate(data, model=model, shots=shots, epochs=epochs, output_tokens=output_tokens,
                   requests=requests, prices=prices, task=task, compute=compute,
                   throughput=throughput, prompt_throughput=prompt_throughput,
                   train_throughput=train_throughput, seed=seed)
    from tunewise.cost.retirement import retirement_warnings
    warnings = retirement_warnings(est.model, prices=prices) if est.mode == "hosted" else []
    if as_json:
        from tunewise.cli.output import emit_json
        emit_json({**est.to_dict(), "retirement_warnings": warnings})
        return
    print_estimate(est)
    from rich.markup import escape

    from tunewise.cli.output import console
    for w in warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}")


def print_estimate(est) -> None:
    """The human-readable table and break-even line."""
    from rich.markup import escape
    from rich.table import Table

    from tunewise.cli.output import console
    from tunewise import formatting as fmt
    pr = est.pricing
    where = (f"{est.model} (hosted)" if est.mode == "hosted"
             else f"{est.model} on {pr.get('name')} at {fmt.usd(pr.get('usd_per_hour'))}/hour")
    t = Table(title=f"cost: {where}")
    for col, right in (("arm", False), ("prompt tokens", True), ("output tokens", True),
                       ("per 1,000 requests", True), (f"total at {est.requests:,} requests", True)):
        t.add_column(col, justify="right" if right else "left")
    totals = est.totals()
    for a in est.arms:
        t.add_row(escape(a.arm), fmt.count(a.prompt_tokens) if a.prompt_tokens is not None else "",
                  fmt.count(a.output_tokens) if a.output_tokens is not None else "",
                  fmt.usd(a.usd_per_1k_requests), fmt.usd(totals[a.arm]))
    console.print(t)
    console.print(f"training: {fmt.usd(est.training.usd)} ({escape(est.training.note)})")
    be = est.break_even
    if be.never:
        console.print(f"[bold]break-even: never[/]: the fine-tuned call is not cheaper than "
                      f"{escape(be.versus)} per request, so training is never paid back")
    else:
        console.print(f"[bold]break-even: {fmt.requests(be.requests)} requests[/] (training "
                      f"{fmt.usd(est.training.usd)} / saving {fmt.usd(be.saving_per_request)} "
                      f"per request vs {escape(be.versus)})")
    for n in est.notes:
        console.print(f"note: {escape(n)}")
    console.print(f"prices: {escape(pr.get('source', ''))}, checked {pr.get('date', '?')}; "
                  "override with --prices YOUR.yaml")
