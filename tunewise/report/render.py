"""Write the report files: results.json, report.md (+ plots/*.svg) and report.html."""
from __future__ import annotations

import json
import os
from pathlib import Path

from tunewise.errors import ConfigError, InputError
from tunewise.fileio import write_json, write_text
from tunewise.comparison.schema import validate_results


def _check(results: dict, where: str = "results") -> None:
    problems = validate_results(results)
    if problems:
        raise ConfigError(problems, source=where)


def write_results(results: dict, out_dir: str | os.PathLike) -> Path:
    """Validate ``results`` and write ``out_dir/results.json`` atomically; returns its path."""
    _check(results)
    path = Path(out_dir) / "results.json"
    write_json(path, results)
    return path


def load_results(path: str | os.PathLike) -> dict:
    """Read and validate a results.json (a file, or a folder holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    try:
        results = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: no such file", fix="pass the folder `tunewise compare -o DIR` "
                                                   "wrote, or its results.json") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{p}: not a readable JSON file ({e})") from None
    _check(results, str(p))
    return results


def render_report(results: dict, out_dir: str | os.PathLike) -> dict:
    """Write ``report.md``, ``plots/*.svg`` and the self-contained ``report.html`` into
    ``out_dir``; returns ``{"markdown": Path, "html": Path, "plots": [Path, ...]}``."""
    from tunewise.report import content
    from tunewise.report.html import to_html
    from tunewise.report.markdown import to_markdown
    _check(results)
    out = Path(out_dir)
    blocks = content.build(results)
    plot_paths = []
    for b in blocks:
        if isinstance(b, content.Figure):
            p = out / "plots" / f"{b.key}.svg"
            write_text(p, '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n' + b.svg)
            plot_paths.append(p)
    md = out / "report.md"
    html = out / "report.html"
    write_text(md, to_markdown(blocks))
    write_text(html, to_html(blocks, title=content.title(results)))
    return {"markdown": md, "html": html, "plots": plot_paths}
