"""``tunewise.compare``: run the comparison and render its report.

The comparison layer (``tunewise.comparison``) produces ``results.json``; the report layer sits
above it and renders that into ``report.md`` and ``report.html``. This function joins the two, so
the public ``tunewise.compare(...)`` and ``tunewise compare`` leave the whole report behind.
"""
from __future__ import annotations

import os
from typing import Any

from tunewise.comparison.runner import compare as run_comparison
from tunewise.report.render import render_report


def compare(config: Any, *, out: str | os.PathLike | None = None, **options) -> dict:
    """Run every arm of ``config`` and write OUT/results.json, report.md and report.html; the
    options are ``tunewise.comparison.runner.compare``'s (``overrides``, ``max_minutes``, ``say``,
    ``progress``, ``on_arm_done``). Returns the results dict."""
    return run_comparison(config, out=out, render=render_report, **options)
