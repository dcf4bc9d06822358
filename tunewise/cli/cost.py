"""`tunewise cost`: not built yet (placeholder so the CLI imports)."""
import typer


def register(app: typer.Typer) -> None:
    pass
