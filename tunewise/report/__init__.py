"""The compare report: ``results.json`` -> ``report.md`` + self-contained ``report.html``.

::

    from tunewise.report import render_report, write_results
    write_results(results, "out/")           # out/results.json
    paths = render_report(results, "out/")   # {"markdown": ..., "html": ..., "plots": [...]}

The results dict follows ``tunewise.comparison.schema`` (see ``example_results()``).
"""
from __future__ import annotations

from tunewise.report.render import load_results, render_report, write_results
from tunewise.report.example_results import example_results
from tunewise.comparison.schema import SCHEMA_VERSION, validate_results

__all__ = ["SCHEMA_VERSION", "example_results", "load_results", "render_report",
           "validate_results", "write_results"]
