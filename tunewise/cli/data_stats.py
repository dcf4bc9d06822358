"""`tunewise data stats`: counts, labels, token lengths, OpenAI's default epochs, cost."""
from __future__ import annotations

import click

from tunewise.cli.options import reader_options


def register(group: click.Group) -> None:
    group.add_command(stats_cmd)


@click.command("stats")
@click.argument("file", type=click.Path())
@click.option("--model", default=None,
              help="Tokenizer and context for token lengths [default: the embedded model, or "
                   "--price-model when that is an OpenAI model].")
@click.option("--price-model", default=None,
              help="Price-table entry for the training cost (e.g. gpt-4o-mini, gpt-4.1-mini).")
@click.option("--prices", type=click.Path(dir_okay=False), default=None,
              help="Your price YAML, merged over the shipped table.")
@reader_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def stats_cmd(file, model, price_model, prices, fmt, task, text_column, label_column, encoding,
              as_json):
    """Counts, label distribution, token lengths (p10/p50/p90/max), examples over the
    context, the epochs OpenAI's fine-tuning picks by default, billed training tokens and the
    training cost from the dated price table.

    \b
    tunewise data stats train.jsonl
    tunewise data stats train.jsonl --price-model gpt-4o-mini
    """
    from tunewise.cost.dataset_stats import stats
    res = stats(file, model=model, price_model=price_model, prices=prices, format=fmt, task=task,
                text_column=text_column, label_column=label_column, encoding=encoding)
    if as_json:
        from tunewise.cli.output import emit_json
        emit_json(res)
        return 0
    _render(res)
    return 0


def _render(r: dict) -> None:
    from tunewise.cli.output import safe as escape
    from rich.table import Table

    from tunewise.cli.output import console
    t = r["tokens"]
    table = Table(title=f"stats: {escape(r['source'])}", title_justify="left", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row("examples", f"{r['examples']:,}")
    table.add_row("task", r["task"])
    table.add_row("with a system message", f"{r['with_system_message']:,}")
    table.add_row(f"tokens ({escape(t['model'])}, chat-formatted)",
                  f"min {t['min']:,} · p10 {t['p10']:,.0f} · p50 {t['p50']:,.0f} · "
                  f"p90 {t['p90']:,.0f} · max {t['max']:,}")
    table.add_row("tokens in total", f"{t['total']:,} (mean {t['mean']:,.1f})")
    ov = r["over_context"]
    table.add_row(f"over the context ({t['context']:,} tokens)",
                  f"{ov['count']:,}" + (f" (lines {', '.join(map(str, ov['lines'][:5]))})"
                                        if ov["count"] else ""))
    table.add_row("OpenAI default epochs", str(r["openai_default_epochs"]))
    c = r.get("cost")
    if c and c.get("training_usd") is not None:
        table.add_row("billed training tokens",
                      f"{c['billed_training_tokens']:,} ({c['epochs']} epochs x "
                      f"{c['tokens_per_epoch']:,})")
        table.add_row(f"training cost ({escape(c['price_entry'])})",
                      f"${c['training_usd']:,.2f} at ${c['training_usd_per_1m']}/1M "
                      f"(prices of {c['date']})")
    elif c:
        table.add_row(f"training cost ({escape(c['price_entry'])})", escape(c.get("note", "")))
    else:
        table.add_row("training cost", "pass --price-model (e.g. gpt-4o-mini)")
    console.print(table)
    dist = r.get("label_distribution")
    if dist:
        lt = Table(title="labels" if r["task"] != "ner" else "entity types (examples with one)",
                   title_justify="left")
        lt.add_column("label")
        lt.add_column("count", justify="right")
        lt.add_column("share", justify="right")
        n = max(r["examples"], 1)
        for label, count in list(dist.items())[:40]:
            lt.add_row(escape(label), f"{count:,}", f"{100 * count / n:.1f}%")
        console.print(lt)
