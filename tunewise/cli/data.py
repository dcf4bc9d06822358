"""`tunewise data ...`: the group; each subcommand lives in its own module (data_<cmd>.py)."""
import click


@click.group("data")
def data_group():
    """Read, validate, clean, split and profile a dataset."""


def register(app: click.Group) -> None:
    from tunewise.cli import (data_audit, data_check, data_clean, data_noise, data_split,
                              data_stats)
    for mod in (data_check, data_clean, data_split, data_stats, data_noise, data_audit):
        mod.register(data_group)
    app.add_command(data_group)
