"""`tunewise data check FILE`: validate a dataset; a thin layer over ``tunewise.data.check``."""
from __future__ import annotations

from collections import defaultdict

import click

from tunewise.tasks.factory import TASK_KINDS

#: problems shown per category in the human output (all are counted; --json lists more)
SHOW_PER_CATEGORY = 8


@click.command("check")
@click.argument("file", type=click.Path(dir_okay=True, path_type=str))
@click.option("--format", "fmt", default=None, metavar="F",
              help="chat | prompt_completion | alpaca | csv | conll (default: detect)")
@click.option("--task", type=click.Choice(TASK_KINDS.names()), default=None,
              help="what the data is for (enables task checks)")
@click.option("--model", default=None, metavar="M",
              help="count tokens and check the context of this model (default: the embedded "
                   "smollm2-135m-instruct; OpenAI names such as gpt-4o-mini use o200k/cl100k)")
@click.option("--labels", default=None, metavar="a,b,c",
              help="the allowed labels, comma-separated: any other label is an error")
@click.option("--text-column", default=None, metavar="C", help="CSV: the text column")
@click.option("--label-column", default=None, metavar="C", help="CSV: the label column")
@click.option("--encoding", default=None, metavar="E", help="decode with this codec (default: detect)")
@click.option("--no-tokens", is_flag=True, help="skip token counting (and the context check)")
@click.option("--workers", type=int, default=None, help="processes for large JSONL files (default: auto)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object on stdout")
def check_cmd(file, fmt, task, model, labels, text_column, label_column, encoding, no_tokens,
              workers, as_json):
    """Validate FILE: every problem with file, line, category and the fix.

    \b
    Exit code: 0 clean (warnings allowed), 1 problems found, 2 unreadable input or usage error.
    OpenAI chat-format rules, JSON syntax (line and column), encodings, NUL/binary/empty files,
    duplicate keys, mixed formats, special tokens in text, empty answers, labels outside --labels,
    IOB errors, examples over the model's context, too few examples.
    """
    from tunewise.models.data_check import check
    report = check(file, format=fmt, task=task, model=model, labels=labels,
                   text_column=text_column, label_column=label_column, encoding=encoding,
                   count_tokens=not no_tokens, workers=workers, progress=not as_json)
    if as_json:
        from tunewise.cli.output import emit_json
        emit_json(report.to_dict())
    else:
        render(report)
    return report.exit_code


def render(report) -> None:
    """Problems grouped by category (errors first), then a summary table and the verdict."""
    from tunewise.cli.output import safe as escape
    from rich.table import Table

    from tunewise.cli.output import console
    groups = defaultdict(list)
    for p in report.problems:
        groups[(p.severity, p.category)].append(p)
    counts = report.counts
    order = sorted(groups, key=lambda k: (k[0] != "error", -len(groups[k]), k[1]))
    for sev, cat in order:
        probs = groups[(sev, cat)]
        total = counts.get(sev, {}).get(cat, len(probs))
        colour = "red" if sev == "error" else "yellow"
        console.print(f"[bold {colour}]{sev}[/] [bold]{cat}[/] ({total:,})")
        fixes = {p.fix for p in probs}
        for p in probs[:SHOW_PER_CATEGORY]:
            fld = escape(f" [{p.field}]") if p.field else ""
            console.print(f"  {escape(p.where())}{fld}: {escape(p.message)}")
            if len(fixes) > 1 and p.fix:
                console.print(f"      fix: {escape(p.fix)}", style="dim")
        if total > SHOW_PER_CATEGORY:
            console.print(f"  ... and {total - SHOW_PER_CATEGORY:,} more (--json lists up to "
                          f"{len(probs)})", style="dim")
        if len(fixes) == 1 and probs[0].fix:
            console.print(f"  [green]fix:[/] {escape(probs[0].fix)}")
    if report.exit_code == 2:
        console.print("[bold red]unreadable input[/] (exit 2)")
        return
    table = Table(title=f"data check: {escape(report.file)}", show_header=True,
                  header_style="bold", title_justify="left")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("format", escape(report.format or "?"))
    table.add_row("records", f"{report.n_records:,}")
    table.add_row("valid examples", f"{report.n_examples:,}")
    if report.context_length:
        table.add_row("model / context",
                      f"{escape(str(report.model))} / {report.context_length:,} tokens")
        table.add_row("over context", f"{report.n_over_context:,}")
    table.add_row("errors", f"{report.n_errors:,}")
    table.add_row("warnings", f"{report.n_warnings:,}")
    table.add_row("time", f"{report.seconds:.2f} s"
                  + (f" ({report.workers} processes)" if report.workers > 1 else ""))
    if order:
        console.print()
    console.print(table)
    if report.exit_code == 1:
        console.print(f"[bold red]✗ {report.n_errors:,} error(s)[/], {report.n_warnings:,} "
                      "warning(s) (exit 1)")
    else:
        console.print(f"[bold green]✓ no errors[/] ({report.n_warnings:,} warning(s))")


def register(group: click.Group) -> None:
    group.add_command(check_cmd)
