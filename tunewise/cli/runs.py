"""`tunewise runs`: the SQLite run registry (list, show, add)."""
from __future__ import annotations

import click


def register(app: click.Group) -> None:
    app.add_command(runs)


@click.group()
def runs():
    """Training runs recorded in $TUNEWISE_HOME/runs.db."""


@runs.command("list")
@click.option("--limit", type=int, default=None, help="Show at most this many (newest first).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def list_cmd(limit, as_json):
    """List registered runs, newest first."""
    from pathlib import Path

    from rich.table import Table

    from tunewise.cli.output import console, emit_json, safe
    from tunewise.store import db_path, list_runs
    recs = list_runs(limit=limit)
    if as_json:
        emit_json({"db": str(db_path()), "runs": [r.to_dict() for r in recs]})
        return
    if not recs:
        console.print(f"no runs recorded yet in {safe(db_path())} "
                      "(`tunewise train` records each run; `tunewise runs add RUN_DIR` adds one)")
        return
    t = Table(title=f"runs in {safe(db_path())}")
    t.add_column("id", no_wrap=True)
    t.add_column("created", no_wrap=True)
    for col in ("model", "method", "task", "n", "seed", "best epoch", "metric", "status",
                "run dir"):
        t.add_column(col, overflow="fold")
    for r in recs:
        metric = (f"{r.headline_metric} {r.headline_value:.3f}"
                  if r.headline_value is not None else (r.headline_metric or ""))
        cells = (r.id, (r.created or "")[:16].replace("T", " "), r.model or "", r.method or "",
                 r.task_kind or "", "" if r.n_train is None else str(r.n_train),
                 "" if r.seed is None else str(r.seed),
                 "" if r.best_epoch is None else str(r.best_epoch), metric,
                 (r.status or "") if Path(r.run_dir).is_dir() else "folder missing",
                 r.run_dir)
        t.add_row(*(safe(c) for c in cells))
    console.print(t)


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def show_cmd(run_id, as_json):
    """Show one run: RUN_ID is its id or a unique prefix of it."""
    import json

    from tunewise.cli.output import safe as escape

    from tunewise.cli.output import console, emit_json
    from tunewise.store import get_run
    r = get_run(run_id)
    if as_json:
        emit_json(r.to_dict())
        return
    for k in ("id", "run_dir", "status", "created", "recorded", "model", "method", "task_kind",
              "n_train", "seed", "best_epoch", "headline_metric", "headline_value"):
        v = getattr(r, k)
        if v is not None:
            console.print(f"[bold]{k}[/]: {escape(str(v))}")
    for k in ("task", "config", "metrics"):
        console.print(f"[bold]{k}[/]:")
        console.print(escape(json.dumps(getattr(r, k), indent=2, default=str)))


@runs.command("add")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def add_cmd(run_dir, as_json):
    """Register (or refresh) a run directory written by `tunewise train`."""
    from tunewise.cli.output import console, emit_json, safe
    from tunewise.store import record_run
    r = record_run(run_dir)
    if as_json:
        emit_json(r.to_dict())
    else:
        console.print(f"recorded run {safe(r.id)} ({safe(r.run_dir)})")
