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


def device_option(fn):
    """Add --device to a command that runs a model: every model it loads goes there
    (``tunewise.models.device.use_device``). Put it right below ``@click.command``."""
    import functools

    @functools.wraps(fn)
    def run_on(*args, device=None, **kwargs):
        from tunewise.models.device import use_device
        with use_device(device):
            return fn(*args, **kwargs)

    return click.option(
        "--device", default="auto", show_default=True, metavar="auto|cpu|cuda|cuda:N|mps",
        help="Where models run: auto = a CUDA GPU if present, else Apple's MPS, else the CPU; a "
             "device this machine lacks is an error (exit 2), never a CPU run.")(run_on)
