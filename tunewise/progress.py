"""Progress bars (rich) on stderr, with ETA; silent when disabled (e.g. --json) or not a TTY."""
from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def enabled(disable: bool = False) -> bool:
    if disable or os.environ.get("TUNEWISE_NO_PROGRESS"):
        return False
    return sys.stderr.isatty() or bool(os.environ.get("TUNEWISE_FORCE_PROGRESS"))


def _columns():
    from rich.progress import (BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    return (TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn())


@contextlib.contextmanager
def bar(description: str, total: int | None, *, disable: bool = False):
    """``with bar("training", total=n) as advance: advance(k, info="12 tok/s")``."""
    if not enabled(disable):
        yield lambda n=1, info="": None
        return
    from rich.console import Console
    from rich.progress import Progress
    with Progress(*_columns(), console=Console(stderr=True), transient=False) as prog:
        tid = prog.add_task(description, total=total, info="")

        def advance(n: int = 1, info: str = ""):
            prog.update(tid, advance=n, info=info)
        yield advance


def track(it: Iterable[T], description: str, total: int | None = None, *,
          disable: bool = False) -> Iterator[T]:
    if total is None and hasattr(it, "__len__"):
        total = len(it)  # type: ignore[arg-type]
    with bar(description, total, disable=disable) as advance:
        for x in it:
            yield x
            advance()
