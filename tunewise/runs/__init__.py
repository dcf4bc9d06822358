"""The run folder: tunewise's main artefact, with one owner for its format.

``tunewise train`` writes it; ``eval --adapter``, ``serve --adapter``, ``export``, ``runs`` and
``train --resume`` read it. This package reads, writes, checks and exports it (layout.py: the files
and their readers/writers; weights.py: saving, loading and merging the weights; locate.py: a folder
or run id, checked for what a command needs; export.py: the adapter or merged model for other
tools).

    from tunewise.runs import load_run, export_run
    lm, task = load_run("runs/sentiment")
    export_run("runs/sentiment", "export/sentiment")
"""
from __future__ import annotations

from tunewise.runs.layout import (ADAPTER, CONFIG_YAML, FULL_MODEL, MERGED, METRICS,  # noqa: F401
                                  RUN_FILES, RUN_JSON, read_examples, read_run, run_state,
                                  write_config_text, write_examples, write_metrics,
                                  write_predictions, write_run)
from tunewise.runs.locate import check_run, resolve_run, same_base  # noqa: F401
from tunewise.runs.weights import load_run, merge_run, save_final, task_from_run  # noqa: F401


def export_run(run, to, *, merged: bool = False) -> dict:
    """``tunewise export``: see ``tunewise.runs.export.export_run``."""
    from tunewise.runs.export import export_run as _export
    return _export(run, to, merged=merged)
