"""`tunewise data clean`: repair, deduplicate and filter a dataset; log every change."""
from __future__ import annotations

import click

from tunewise.cli.options import reader_options

# what each reason means, for the summary table
REASON_HELP = {
    "invalid": "the reader rejected the row",
    "empty": "no user text or no answer",
    "low_confidence": "confidence below --min-confidence",
    "mojibake_unrepairable": "still garbled after repair",
    "overlong": "more tokens than --max-tokens / the context",
    "conflicting_labels": "same input, different labels",
    "exact_duplicate": "same input and label as a kept row",
    "near_duplicate": "input nearly the same as a kept row",
    "label_issue": "label probably wrong (see tunewise data noise)",
    "unicode_repaired": "mojibake / entities fixed (ftfy)",
    "mojibake_stripped": "undecodable garbage removed",
    "whitespace_normalized": "spaces collapsed / trimmed",
    "non_text_parts_dropped": "image/audio content parts left out (text model)",
    "personal_data_redacted": "personal data -> <EMAIL>, <PHONE>... (--redact)",
}


def register(group: click.Group) -> None:
    group.add_command(clean_cmd)


@click.command("clean")
@click.argument("file", type=click.Path())
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="Cleaned chat JSONL to write.")
@click.option("--log", "log", type=click.Path(dir_okay=False), default=None,
              help="Log JSONL, one line per removed or changed row [default: OUT.log.jsonl].")
@click.option("--near-dup-threshold", type=float, default=0.9, show_default=True,
              help="Word-3-gram Jaccard similarity at which inputs count as near-duplicates "
                   "(> 1 turns near-duplicate removal off).")
@click.option("--conflicts", type=click.Choice(["drop", "majority"]), default="drop",
              show_default=True,
              help="Same input with different labels: drop every such row, or keep the majority "
                   "label (a tie drops all).")
@click.option("--min-confidence", type=float, default=None,
              help="Drop rows whose confidence column is below this.")
@click.option("--max-tokens", type=int, default=None,
              help="Drop rows longer than this many tokens [default with --model: its context].")
@click.option("--model", default=None,
              help="Tokenizer and context for the length check; with --drop-label-issues also "
                   "the model whose features find them.")
@click.option("--mojibake", type=click.Choice(["strip", "drop", "keep"]), default="strip",
              show_default=True,
              help="What ftfy cannot repair: strip the garbled characters, drop the row, or keep it.")
@click.option("--drop-label-issues", is_flag=True,
              help="Also drop the examples `tunewise data noise` flags as probably mislabelled "
                   "(classification; runs the embedded model over the data).")
@click.option("--redact", is_flag=True,
              help="Replace e-mail addresses, phone numbers, card numbers, IBANs, IP addresses "
                   "and API keys with typed placeholders (<EMAIL>, <PHONE>...); each changed row "
                   "is logged with its counts per kind (see tunewise data audit).")
@reader_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def clean_cmd(file, out, log, fmt, task, near_dup_threshold, conflicts, min_confidence,
              max_tokens, model, mojibake, drop_label_issues, redact, text_column, label_column,
              encoding, as_json):
    """Repair text (ftfy), drop duplicates, near-duplicates, conflicting labels, empty,
    overlong and low-confidence rows. Writes OUT as chat JSONL and a log with one line per
    removed or changed row (source line, reason, kept twin), so kept + removed = input.

    \b
    tunewise data clean tweets.csv -o clean.jsonl
    tunewise data clean tweets.csv -o clean.jsonl --conflicts majority --min-confidence 0.6
    """
    from tunewise.quality.commands import clean
    res = clean(file, out, log=log, format=fmt, task=task, near_dup_threshold=near_dup_threshold,
                conflicts=conflicts, min_confidence=min_confidence, max_tokens=max_tokens,
                model=model, mojibake=mojibake, text_column=text_column,
                label_column=label_column, encoding=encoding,
                drop_label_issues=drop_label_issues, redact=redact, progress=not as_json)
    from tunewise.cli.output import show
    return show(res, as_json, _render)


def _render(res) -> None:
    from tunewise.cli.output import safe as escape
    from rich.table import Table

    from tunewise.cli.output import console
    for w in res.warnings[:10]:
        console.print(f"[yellow]warning:[/] {escape(w)}")
    table = Table(title=f"clean: {escape(res.out)}", title_justify="left")
    table.add_column("rows")
    table.add_column("reason")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    table.add_column("meaning", style="dim")
    n = max(res.input_rows, 1)
    table.add_row("input", "", f"{res.input_rows:,}", "100.0%", "")
    for action, reason, count in res.summary_rows():
        table.add_row(action, reason, f"{count:,}", f"{100 * count / n:.1f}%",
                      REASON_HELP.get(reason, ""))
    table.add_row("[bold]kept[/]", "", f"[bold]{res.kept:,}[/]", f"{100 * res.kept / n:.1f}%",
                  f"{res.changed_rows:,} of them changed")
    console.print(table)
    console.print(f"kept {res.kept:,} + removed {res.removed_rows:,} = {res.input_rows:,} input "
                  f"rows; log: {escape(res.log)}")
