"""`tunewise data`: not built yet (placeholder so the CLI imports)."""
import click


def register(app: click.Group) -> None:
    pass
