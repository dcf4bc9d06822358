"""`tunewise data audit`: representativeness, diversity, task relevance, leakage and personal
data of a training set, one finding per check with the rows that show it."""
from __future__ import annotations

import click

from tunewise.cli.options import device_option, reader_options

SEVERITY_STYLE = {"ok": "green", "info": "cyan", "warning": "yellow", "error": "bold red"}


def register(group: click.Group) -> None:
    group.add_command(audit_cmd)


@click.command("audit")
@device_option
@click.argument("train", type=click.Path())
@click.option("--test", "test", type=click.Path(), default=None,
              help="The test split: leakage is checked against it, and it stands in for "
                   "production when no --production sample is given.")
@click.option("--production", type=click.Path(), default=None,
              help="Inputs as they arrive in use (unlabelled: .txt one per line, JSONL, CSV or "
                   "any dataset file): what the training set should represent.")
@click.option("--features", type=click.Choice(["tfidf", "lm+tfidf", "lm"]), default="tfidf",
              show_default=True,
              help="Text features of the representativeness checks: TF-IDF alone (fast, no "
                   "model), or also a language model's embeddings.")
@click.option("--model", default=None,
              help="The model whose embeddings --features lm / lm+tfidf use [default: the "
                   "embedded model].")
@click.option("--presidio", is_flag=True,
              help="Also look for names and street addresses with Microsoft Presidio (needs "
                   "pip install 'tunewise[presidio]' and a spaCy model).")
@click.option("--top", type=int, default=5, show_default=True,
              help="Rows shown per finding (--json and -o keep up to 20).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seeds the samples and the cross-validation folds.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Also write the report as JSON to this file.")
@reader_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def audit_cmd(train, test, production, features, model, presidio, top, seed, output, fmt, task,
              text_column, label_column, encoding, as_json):
    """Audit a training set before training on it: is it representative of the inputs met in
    use (--production, or the --test split), diverse (distinct examples, per class, label
    balance), on-task (off-task inputs, answers of the wrong form), free of test leakage
    (exact and near-duplicate inputs shared with --test) and of personal data (e-mail, phone,
    card numbers, IBANs, IP addresses, API keys)? Each finding has its figures, the rows
    (file:line), a severity and a fix; checks that could not run say why. Files are only read.

    \b
    tunewise data audit train.jsonl --test test.jsonl
    tunewise data audit train.csv --production inputs.txt --json
    tunewise data clean train.csv -o clean.jsonl --redact
    """
    from tunewise.errors import UsageError
    if top < 0:
        raise UsageError(f"--top must be 0 or more, got {top}")
    from tunewise.audit.run import audit
    report = audit(train, test, production, format=fmt, task=task, text_column=text_column,
                   label_column=label_column, encoding=encoding, features=features, model=model,
                   presidio=presidio, seed=seed, output=output, progress=not as_json)
    if as_json:
        from tunewise.cli.output import emit_json
        emit_json(report.to_dict())
        return 0
    render(report, top)
    return 0


def render(report, top: int = 5) -> None:
    from rich.table import Table

    from tunewise.audit.report import CHECKS
    from tunewise.cli.output import console
    from tunewise.cli.output import safe as escape
    rows = ", ".join(f"{k} {v:,}" for k, v in report.rows.items())
    console.print(f"[bold]audit[/] of {escape(report.files['train'])} ({rows} rows; task "
                  f"{escape(report.task)}; features {escape(report.features)})")
    for note in report.notes:
        console.print(f"[cyan]note:[/] {escape(note)}")
    for check, findings in report.by_check().items():
        if not findings:
            continue
        table = Table(title=f"{check.replace('_', ' ')}: {CHECKS.get(check, '')}",
                      title_justify="left", show_header=False, expand=True)
        table.add_column("severity", no_wrap=True, width=8)
        table.add_column("finding", ratio=1)
        for f in findings:
            style = SEVERITY_STYLE.get(f.severity, "")
            body = f"[bold]{escape(f.name)}[/]: {escape(f.summary)}"
            if f.fix:
                body += f"\n[yellow]fix:[/] {escape(f.fix)}"
            for e in f.evidence[:top]:
                body += f"\n  [dim]{escape(e.where)}[/] {escape(e.text)}" + _detail(e)
            more = (f.evidence_total or len(f.evidence)) - min(top, len(f.evidence))
            if f.evidence and more > 0:
                body += f"\n  [dim]... and {more:,} more (--json or -o lists up to 20)[/]"
            table.add_row(f"[{style}]{f.severity}[/]", body)
        console.print(table)
    if report.not_checked:
        console.print("[bold]not checked[/]")
        for s in report.not_checked:
            console.print(f"  {escape(s.check)}: {escape(s.what)}: {escape(s.why)}")
    console.print(f"worst: [{SEVERITY_STYLE[report.worst]}]{report.worst}[/]; "
                  f"{report.timing.get('total_seconds', 0):.1f} s")


def _detail(e) -> str:
    from tunewise.cli.output import safe as escape
    d = e.detail
    if "train" in d:
        return f"\n    [dim]~ {escape(d['train'])}[/] {escape(d.get('train_text', ''))} " \
               f"[dim]({escape(d.get('kind', ''))}, {d.get('similarity', '')})[/]"
    if "values" in d:
        return f" [dim]({escape(', '.join(d['values']))})[/]"
    if "why" in d:
        return f" [dim]-> {escape(d.get('answer', ''))} ({escape(d['why'])})[/]"
    return ""
