"""`tunewise eval`'s flags, generated from the fields of ``EvalOptions`` and its parts.

Each field of ``EvalOptions``, ``PromptOptions`` and ``RemoteOptions``
(``tunewise.evaluation.options``) is a flag named after it (``shots_from`` -> ``--shots-from``,
``FLAG_NAMES`` for the few older spellings), its help the field's ``#:`` comment, its type from
the annotation (a closed set of values: a ``click.Choice``), its default the field's: a new
field is a new flag with no edit to ``cli/eval.py``. ``NOT_FLAGS`` lists the fields that get
none here, each for a reason; ``cli/eval.py`` writes those flags by hand.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import NamedTuple

import click

from tunewise import typed_config as tc
from tunewise.cli.eval_remote import max_cost
from tunewise.evaluation.arms import ARM_KINDS
from tunewise.evaluation.arms.remote import SCORINGS
from tunewise.evaluation.options import PARTS, EvalOptions
from tunewise.prompting.predict import METHODS
from tunewise.prompting.shots import SELECTIONS

#: ``--arm``: every registered arm kind ("finetuned" is chosen by ``--adapter``, "remote" by a
#: remote ``--model``; ``--arm remote`` is accepted too)
ARM_CHOICES = ["prompt", *sorted(k for k in ARM_KINDS if k not in ("prompt", "finetuned"))]

#: fields with no generated flag: the parts (their fields are flags), what a command line does
#: not spell (``price``: looked up in the price table; ``progress``: always on;
#: ``read_options``: built from --format / --text-column / --label-column), and the flags
#: ``cli/eval.py`` writes by hand (``labels``: a comma list; ``calibrate``: also a bare flag;
#: ``bf16``: --bf16/--fp32)
NOT_FLAGS = ("prompt", "remote", "price", "progress", "read_options", "labels", "calibrate",
             "bf16")
#: flag names that are not the field's name with dashes
FLAG_NAMES = {"max_cost_usd": "--max-cost", "timeout_s": "--timeout", "max_retries": "--retries"}
#: fields with a closed set of values
CHOICES = {"arm": ARM_CHOICES, "shot_selection": list(SELECTIONS), "method": list(METHODS),
           "scoring": list(SCORINGS)}
#: fields read from the flag's text by a function (its errors: the library's typed ones)
CONVERT = {"max_cost_usd": max_cost}
#: how the help names a flag's value (default: click's, from the type)
METAVARS = {"model": "M", "adapter": "RUN_DIR", "train": "FILE", "shots_from": "FILE",
            "task": "T", "limit": "N", "max_new_tokens": "N", "out": "PRED.jsonl",
            "base_url": "URL", "api_key_env": "VAR", "max_cost_usd": "USD", "concurrency": "N",
            "timeout_s": "S", "max_retries": "N", "cache_dir": "DIR"}


class Flag(NamedTuple):
    """One generated flag: its name, the field it sets, and the ``click.option`` keywords."""

    flag: str
    field: str
    kwargs: dict


def _default(f: dataclasses.Field):
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def _click_type(cls, f: dataclasses.Field):
    """click's type for field ``f``: a Choice, text for a converted field, else the annotation's
    one number type (``int | None`` -> int), else text."""
    if f.name in CHOICES:
        return click.Choice(CHOICES[f.name])
    if f.name in CONVERT:
        return str
    hint = typing.get_type_hints(cls)[f.name]
    args = [a for a in (typing.get_args(hint) or (hint,)) if a is not types.NoneType]
    return args[0] if len(args) == 1 and args[0] in (int, float) else str


def field_flags(cls) -> list[Flag]:
    """The flags of the fields of ``cls`` (``EvalOptions`` or one of its parts), in field
    order, less ``NOT_FLAGS``."""
    docs = tc.field_docs(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.name in NOT_FLAGS:
            continue
        default = _default(f)
        if f.name in CONVERT and default is not None:
            default = format(default, "g") if isinstance(default, float) else str(default)
        kwargs = {"type": _click_type(cls, f), "default": default,
                  "show_default": default is not None,
                  "help": docs.get(f.name, "").replace("``", "").replace("%", "%%")}
        if f.name in METAVARS:
            kwargs["metavar"] = METAVARS[f.name]
        out.append(Flag(FLAG_NAMES.get(f.name, "--" + f.name.replace("_", "-")), f.name, kwargs))
    return out


def all_flags() -> list[Flag]:
    """Every generated flag of ``tunewise eval``: ``EvalOptions``'s, then each part's."""
    return [x for cls in (EvalOptions, *PARTS.values()) for x in field_flags(cls)]


def field_options(cls):
    """A decorator adding the flags of ``cls``'s fields to a click command (each passes its
    field's name as the parameter name)."""
    def add(fn):
        for flag, name, kwargs in reversed(field_flags(cls)):
            fn = click.option(flag, name, **kwargs)(fn)
        return fn
    return add


def option_fields(values: dict) -> dict:
    """``EvalOptions`` keyword fields (flat) from the values of the generated flags, each
    converted where ``CONVERT`` says."""
    names = {x.field for x in all_flags()}
    return {k: (CONVERT[k](v) if k in CONVERT and isinstance(v, str) else v)
            for k, v in values.items() if k in names}
