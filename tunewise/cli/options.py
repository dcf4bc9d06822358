"""Options shared by commands that read a dataset file (one definition, one help text)."""
from __future__ import annotations

import click

_READER_OPTIONS = (
    click.option("--format", "fmt", default=None,
                 help="Input format (chat, prompt_completion, alpaca, csv, conll) [default: detected]."),
    click.option("--task", default=None,
                 help="classification | ner | generation [default: inferred from the data]."),
    click.option("--text-column", default=None, help="CSV: the text column."),
    click.option("--label-column", default=None, help="CSV: the label column."),
    click.option("--encoding", default=None, help="Input encoding [default: detected]."),
)


def reader_options(fn):
    """Add --format, --task, --text-column, --label-column and --encoding to a command."""
    for opt in reversed(_READER_OPTIONS):
        fn = opt(fn)
    return fn
