"""Every file ``tunewise compare`` writes, named and checked before any arm runs.

Arm names are user text (a remote arm's ``name``, or its model name): a file named after one goes
through ``fileio.safe_filename``, so ``name: "../../victim"`` is the file
``predictions/__.._victim.jsonl`` inside OUT, never a path outside it. Two arms whose names give
the same file name are refused (one would overwrite the other's predictions and cached result),
and ``outputs_guard.check_outputs`` refuses any output that is one of the inputs (the config, the
data files, the price table, a training config) or cannot be written.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from tunewise.errors import UsageError
from tunewise.fileio import safe_filename

#: the report files compare writes at the top of OUT
REPORT_FILES = ("results.json", "report.md", "report.html")


def predictions_path(out: str | os.PathLike, name: str) -> Path:
    """OUT/predictions/<safe name>.jsonl of the arm ``name``."""
    return Path(out) / "predictions" / f"{safe_filename(name)}.jsonl"


def input_files(cfg, config=None) -> dict:
    """{description: path} of every file compare reads: the config file (when ``config`` is a
    path), the data, the price table and a fine-tuning config YAML."""
    d = cfg.data
    ins = {"config file": os.fspath(config) if isinstance(config, (str, os.PathLike)) else None,
           "data file": cfg.resolve(d.path), "training file": cfg.resolve(d.train),
           "validation file": cfg.resolve(d.val), "test file": cfg.resolve(d.test),
           "price file": cfg.resolve(cfg.cost.prices_file)}
    conf = cfg.arms.fine_tune.config
    if isinstance(conf, str):
        ins["training config"] = cfg.resolve(conf)
    return {k: v for k, v in ins.items() if v}


def check_compare_outputs(cfg, out: str | os.PathLike, planned: Sequence, cache,
                          config=None) -> None:
    """Refuse (UsageError, exit 2) before any arm runs: two arms with the same file name, an
    output that would replace an input, an output that cannot be written. ``planned``: the
    PlannedArms; ``cache``: the ArmCache whose ``path(name)`` names each arm's cached result."""
    from tunewise.outputs_guard import check_outputs
    by_file: dict[str, str] = {}
    for p in planned:
        key = safe_filename(p.name).lower()         # case-insensitive file systems too
        if key in by_file and by_file[key] != p.name:
            raise UsageError(
                f"the arms {by_file[key]!r} and {p.name!r} would write the same files "
                f"(predictions/{safe_filename(p.name)}.jsonl)",
                fix="give the remote arms distinct names (arms.remote[].name) made of "
                    "letters, digits, '.', '_' and '-'")
        if key in by_file:
            raise UsageError(f"two arms are named {p.name!r}",
                             fix="give every remote arm its own name (arms.remote[].name)")
        by_file[key] = p.name
    outs: list[tuple[str, Path]] = [(name, Path(out) / name) for name in REPORT_FILES]
    for p in planned:
        outs.append((f"predictions of arm {p.name!r}", predictions_path(out, p.name)))
        outs.append((f"cached result of arm {p.name!r}", cache.path(p.name)))
        outs += list(getattr(p, "files", ()))
    check_outputs(input_files(cfg, config), outs,
                  fix="choose another output folder (-o) or move the input out of it")
