"""Shared CLI rendering: a stderr console for humans, stdout for --json, error formatting."""
from __future__ import annotations

import json
import sys

from rich.console import Console


def new_console(stderr: bool = False) -> Console:
    """A console as the CLI makes one: its width (``COLUMNS``) and colours come from the
    environment at this moment, as rich reads them when a console is created."""
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


#: human output goes to stderr when --json owns stdout; otherwise stdout
console = new_console()
err_console = new_console(stderr=True)


def safe(value) -> str:
    """``value`` as text that rich prints literally: every user-supplied string (a path, a run id,
    a label, a message quoting the data) goes through this before it meets rich markup, so
    ``[/x]`` or ``[bold]`` in it is printed as written instead of crashing or restyling output."""
    from rich.markup import escape
    return escape(str(value))


def emit_json(obj) -> None:
    """Print one JSON object on stdout (the only thing on stdout in --json mode)."""
    from tunewise.fileio import _json_default
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=_json_default, indent=2))
    sys.stdout.write("\n")
    sys.stdout.flush()


def show(res, as_json: bool, render) -> int:
    """A command's result: ``res.to_dict()`` as the one JSON object (``--json``), else
    ``render(res)``; exit code 0."""
    if as_json:
        emit_json(res.to_dict())
    else:
        render(res)
    return 0


def render_error(exc) -> None:
    """Print a TunewiseError (or one of its subclasses) in words, never a traceback."""
    escape = safe
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}")
    problems = getattr(exc, "problems", None)
    if problems and not isinstance(problems[0], str):
        for p in problems[:200]:
            err_console.print(f"  {escape(p.render())}")
        if len(problems) > 200:
            err_console.print(f"  ... and {len(problems) - 200} more")
    if exc.fix:
        err_console.print(f"[yellow]fix:[/] {escape(exc.fix)}")
