"""`tunewise data noise`: rank the examples whose label is probably wrong (confident learning)."""
from __future__ import annotations

import click

from tunewise.cli.options import device_option, reader_options


def register(group: click.Group) -> None:
    group.add_command(noise_cmd)


@click.command("noise")
@device_option
@click.argument("file", type=click.Path())
@click.option("--model", default=None,
              help="Language model whose frozen features feed the probe [default: the embedded "
                   "model].")
@click.option("--folds", type=int, default=5, show_default=True,
              help="Folds of the out-of-fold probabilities (stratified).")
@click.option("--top", type=int, default=None,
              help="Show only the N most suspicious examples [default: every flagged one].")
@click.option("--features", type=click.Choice(["lm+tfidf", "lm", "tfidf"]), default=None,
              help="Probabilities from a probe on language-model features averaged with TF-IDF + "
                   "logistic regression (lm+tfidf), or either alone (tfidf: fast, no model) "
                   "[default: lm+tfidf].")
@click.option("--rank-by", type=click.Choice(["self_confidence", "normalized_margin"]),
              default="self_confidence", show_default=True,
              help="Order of the suspects: lowest probability of the given label first, or "
                   "lowest margin over the best other label.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the folds.")
@reader_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def noise_cmd(file, model, folds, top, features, rank_by, seed, fmt, task, text_column,
              label_column, encoding, as_json):
    """Find probably wrong labels in classification data: out-of-fold probabilities, then
    confident learning (per-class thresholds, confident joint, pruning by the estimated noise
    rate). Lists the suspects (file:line, given label, suggested label, confidence) most
    suspicious first, and the estimated share of wrong labels per class.

    \b
    tunewise data noise reviews.csv
    tunewise data noise train.jsonl --top 50 --json
    tunewise data clean train.jsonl -o clean.jsonl --drop-label-issues
    """
    from tunewise.quality.label_issues import find_label_issues
    res = find_label_issues(file, model=model, folds=folds, top=top, features=features,
                            rank_by=rank_by, seed=seed, format=fmt, task=task,
                            text_column=text_column, label_column=label_column,
                            encoding=encoding, progress=not as_json)
    from tunewise.cli.output import show
    return show(res, as_json, _render)


def _render(res) -> None:
    from rich.markup import escape
    from rich.table import Table

    from tunewise.cli.output import console
    for note in res.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    table = Table(title=f"probably wrong labels: {escape(res.source)} ({res.n_flagged:,} of "
                        f"{res.n_examples:,} flagged"
                        + (f", the first {len(res.suspects):,} shown" if len(res.suspects) <
                           res.n_flagged else "") + ")", title_justify="left")
    # the line and the labels are what a reader acts on: they keep their width (every suspect
    # comes from the file named in the title); the text takes what is left, two lines at most
    label_w = min(max((len(x) for s in res.suspects for x in (s.given, s.suggested)),
                      default=5), 18)
    table.add_column("line", justify="right", no_wrap=True)
    table.add_column("given", no_wrap=True, overflow="ellipsis", min_width=min(label_w, 9),
                     max_width=label_w)
    table.add_column("suggested", no_wrap=True, overflow="ellipsis", min_width=min(label_w, 9),
                     max_width=label_w)
    table.add_column("conf.", justify="right", no_wrap=True)
    table.add_column("text", overflow="ellipsis", ratio=1, min_width=12)
    text_w = max(12, console.width - 2 * label_w - 30)
    for s in res.suspects:
        table.add_row(str(s.line) if s.line else "-", escape(s.given), escape(s.suggested),
                      f"{s.confidence:.2f}", escape(_clip(s.text, 2 * text_w)))
    console.print(table)
    rates = Table(title="estimated share of wrong labels per class", title_justify="left")
    rates.add_column("given label")
    rates.add_column("noise rate", justify="right")
    for lab, rate in res.noise_rate.items():
        rates.add_row(escape(lab), f"{100 * rate:.1f}%")
    console.print(rates)
    console.print(f"probabilities: {res.features}, {res.folds}-fold out-of-fold; "
                  f"{res.timing.get('total_seconds', 0):.1f} s. These are a model's estimates: "
                  "look at a suspect before you change or drop it.")



def _clip(text: str, chars: int) -> str:
    """The text on one logical line, cut to ``chars`` characters (two table lines)."""
    text = " ".join(text.split())
    return text if len(text) <= chars else text[:chars - 1] + "…"
