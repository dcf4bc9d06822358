"""Typed configuration from nested dataclasses: one reader, one merge, one set of messages.

A config is a dataclass whose fields carry their defaults and a ``#:`` comment (the help text of
the field, reused by the CLI). Fields may be nested dataclasses, ``list[...]`` of scalars or of
dataclasses, ``dict``, ``X | None`` and unions of scalars. ``apply(obj, raw, problems)`` returns
a copy of ``obj`` with the mapping ``raw`` applied:

- unknown keys are problems with "did you mean" (``lora.rr: unknown field (... 'r'?)``);
- values are coerced to the field's type as a YAML file or a command line gives them: ``"1e-4"``
  and ``3`` to float, ``"8"`` and ``8.0`` to int, ``"yes"``/``"off"`` to bool, ``"a,b"`` to a
  list of strings; NaN and infinity are never a valid number;
- a field's ``shorthand`` (``field(metadata=shorthand(fn))``) rewrites a short form first
  (``model: tiny-random`` for ``{name: tiny-random}``, ``epochs: auto`` for 0);
- every problem is collected, each starting with the field's dotted path, so that the caller
  raises ONE ``ConfigError`` listing all of them (with the YAML line and column when known).

Value rules (ranges, choices) and cross-field rules stay with each config (``problems()``).
This module is the bottom layer: it imports only ``tunewise.errors`` and yaml.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import inspect
import math
import types
import typing
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from tunewise.errors import ConfigError

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def shorthand(fn: Callable[[Any], Any]) -> dict:
    """Field metadata: ``fn(value)`` rewrites a short form before the value is coerced."""
    return {"shorthand": fn}


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``choose one of: a, b; did you mean 'a'?`` (the close matches only when there are any)."""
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(name), choices, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"choose one of: {', '.join(sorted(choices))}{hint}"


def field_names(cls) -> list[str]:
    """The settable fields of a config dataclass (``init=False`` fields are internal)."""
    return [f.name for f in dataclasses.fields(cls) if f.init]


# -- applying a mapping ------------------------------------------------------------------------
def apply(obj, raw: Any, problems: list[str], path: str = "", *, skip_none: bool = False):
    """A copy of the dataclass instance ``obj`` with the mapping ``raw`` applied (see module
    docstring). ``skip_none``: a None value leaves the field as it is (an unset CLI flag)."""
    obj = copy.deepcopy(obj)
    if raw is None:
        return obj
    if not isinstance(raw, Mapping):
        problems.append(f"{path or 'config'}: expected a mapping (key: value), got {raw!r}")
        return obj
    cls = type(obj)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key, val in raw.items():
        label = f"{path}.{key}" if path else str(key)
        f = fields.get(key) if isinstance(key, str) else None
        if f is None:
            problems.append(f"{label}: unknown field ({did_you_mean(str(key), fields)})")
            continue
        if val is None and skip_none:
            continue
        if "shorthand" in f.metadata:
            val = f.metadata["shorthand"](val)
        setattr(obj, key, coerce(hints[key], val, problems, label, getattr(obj, key),
                                 skip_none=skip_none))
    return obj


def build(cls, raw: Any, problems: list[str], path: str = ""):
    """``apply`` on the defaults of ``cls``."""
    return apply(cls(), raw, problems, path)


def coerce(tp, val: Any, problems: list[str], label: str, current: Any = None, *,
           skip_none: bool = False) -> Any:
    """``val`` converted to the type ``tp``; a problem (and ``current``) when it cannot be."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _union(args, val, problems, label, current)
    if dataclasses.is_dataclass(tp):
        base = current if isinstance(current, tp) else tp()
        return apply(base, val, problems, label, skip_none=skip_none)
    if origin is list or tp is list:
        return _list(args[0] if args else Any, val, problems, label)
    if origin is dict or tp is dict:
        if val is None:
            return {}
        if isinstance(val, Mapping):
            return dict(val)
        problems.append(f"{label}: expected a mapping (key: value), got {val!r}")
        return current
    if tp is Any:
        return val
    ok, out = _scalar(tp, val)
    if ok:
        return out
    problems.append(f"{label}: expected {_type_name(tp)}, got {val!r}")
    return current


def _union(args, val, problems, label, current):
    if val is None:
        if type(None) in args:
            return None
        problems.append(f"{label}: expected {' or '.join(_type_name(a) for a in args)}, got None")
        return current
    options = [a for a in args if a is not type(None)]
    for a in options:                       # a value of one of the types as it is
        base = typing.get_origin(a) or a
        if base in (int, float) and isinstance(val, bool):
            continue
        if isinstance(base, type) and isinstance(val, base) and not dataclasses.is_dataclass(a):
            return coerce(a, val, problems, label, current)
    for a in options:                       # else the first conversion that works
        trial: list[str] = []
        out = coerce(a, val, trial, label, current)
        if not trial:
            return out
    problems.append(f"{label}: expected {' or '.join(_type_name(a) for a in options)}, "
                    f"got {val!r}")
    return current


def _list(item_tp, val, problems, label):
    if val is None:
        return []
    if isinstance(val, str) and item_tp is str:        # "q_proj,v_proj" from a command line
        return [t.strip() for t in val.split(",") if t.strip()]
    if not isinstance(val, (list, tuple)):
        problems.append(f"{label}: expected a list, got {val!r}")
        return []
    out = []
    for i, v in enumerate(val):
        before = len(problems)
        item = coerce(item_tp, v, problems, f"{label}[{i}]")
        if len(problems) == before:            # a bad item is reported once, then left out
            out.append(item)
    return out


def _scalar(tp, val) -> tuple[bool, Any]:
    """(converted?, value) for bool, int, float and str."""
    try:
        if tp is bool:
            if isinstance(val, bool):
                return True, val
            if isinstance(val, str) and val.strip().lower() in _TRUE + _FALSE:
                return True, val.strip().lower() in _TRUE
            if isinstance(val, int) and val in (0, 1):
                return True, bool(val)
            return False, None
        if isinstance(val, bool) or not isinstance(val, (int, float, str)):
            return False, None
        if tp is int:
            if isinstance(val, int):
                return True, val
            f = float(val)
            return (True, int(f)) if math.isfinite(f) and f == int(f) else (False, None)
        if tp is float:
            f = float(val)
            return (True, f) if math.isfinite(f) else (False, None)   # nan / inf: never valid
        if tp is str:
            return True, str(val)
    except (TypeError, ValueError, OverflowError):
        return False, None
    return False, None


def _type_name(tp) -> str:
    names = {int: "int (a finite number)", float: "float (a finite number)",
             bool: "true or false", str: "a string", dict: "a mapping", list: "a list",
             type(None): "null"}
    if tp in names:
        return names[tp]
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list"
    if origin is dict:
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


# -- reading YAML ------------------------------------------------------------------------------
class YamlConfig(dict):
    """A YAML mapping plus ``positions``: dotted key path -> (line, column), 1-based."""

    positions: dict[str, tuple[int, int]]
    #: dotted path of this mapping inside the file ("" = the top level)
    prefix: str = ""
    source: str


def read_yaml(path: str | Path, *, hint: str = "") -> YamlConfig:
    """The top-level mapping of a YAML file, with the line and column of every key. A missing
    file, a folder, invalid YAML or a non-mapping is a ``ConfigError`` naming file, line and
    column (when YAML says) and the fix; ``hint`` adds where to find a valid file."""
    import yaml
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such file (fix: check the path{hint})", source=str(p))
    if not p.is_file():
        raise ConfigError(f"{p}: a folder, not a config file (fix: pass the YAML file itself, "
                          "e.g. a file inside that folder)", source=str(p))
    try:
        text = p.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{p}{where}: not valid YAML ({getattr(e, 'problem', None) or e}) "
                          "(fix: check indentation and quoting there)", source=str(p)) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text (fix: save the config as UTF-8)",
                          source=str(p)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping (key: value), "
                          f"got {type(data).__name__}", source=str(p))
    out = YamlConfig(data)
    out.positions = {}
    out.source = str(p)
    if node is not None:
        _positions(node, "", out.positions)
    return out


def _positions(node, prefix: str, out: dict) -> None:
    import yaml
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = f"{prefix}.{k.value}" if prefix else str(k.value)
            out[key] = (k.start_mark.line + 1, k.start_mark.column + 1)
            _positions(v, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            key = f"{prefix}[{i}]"
            out.setdefault(key, (v.start_mark.line + 1, v.start_mark.column + 1))
            _positions(v, key, out)


def locate(problems: list[str], doc: "YamlConfig | None", prefix: str = "", *,
           name_file: bool = True) -> list[str]:
    """Each problem that starts with a field path found in the YAML file ``doc`` gets the file
    (unless ``name_file`` is False: the error names it already), line and column of that key
    appended; ``prefix``: the path of the section in the file."""
    if doc is None:
        return list(problems)
    positions = getattr(doc, "positions", {})
    out = []
    for p in problems:
        path = prefix + p.split(":", 1)[0].strip()
        while path and path not in positions and ("." in path or "[" in path):
            path = path[:max(path.rfind("."), path.rfind("["))]
        pos = positions.get(path)
        where = [doc.source] if name_file else []
        if pos:
            where.append(f"line {pos[0]}, column {pos[1]}")
        out.append(f"{p} ({' '.join(where)})" if where else p)
    return out


# -- field documentation -----------------------------------------------------------------------
def field_docs(cls) -> dict[str, str]:
    """The ``#:`` comment above each field of dataclass ``cls`` (source order), as one line."""
    docs: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        s = line.strip()
        if s.startswith("#:"):
            pending.append(s[2:].strip())
        elif ":" in s and not s.startswith(("#", '"', "def ", "@", "class ")) and pending:
            docs[s.split(":", 1)[0].strip()] = " ".join(pending)
            pending = []
        elif not s.startswith("#"):
            pending = []
    return docs
