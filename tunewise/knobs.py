"""Settings named in fix texts in the words of the command that printed them.

The same library code runs under several commands: a training run under ``tunewise train`` (where
the training length is ``--max-length``) and under ``tunewise compare`` (where it is the config
field ``arms.fine_tune.config.max_length``, set in the YAML file or with ``--set``). A fix text
that names another command's flag sends the user to a knob they do not have, so library code
names a setting through ``knob(setting, value)`` and the command in charge says how its users set
it (``knob_style``); the default is the ``tunewise train`` / ``tunewise eval`` flag.

    raise TrainingError(..., fix=f"raise the limit ({knob('max_length', 600)})")
    # tunewise train:   raise the limit (--max-length 600)
    # tunewise compare: raise the limit (arms.fine_tune.config.max_length: 600, or
    #                   --set arms.fine_tune.config.max_length=600)
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, Callable, Iterator, Mapping

#: (setting, value or None) -> how the current command sets it
Style = Callable[[str, Any], str]


def flag_style(setting: str, value: Any = None) -> str:
    """``--max-length 600``: the command-line flag of ``tunewise train`` / ``eval``."""
    flag = "--" + setting.replace("_", "-").replace(".", "-")
    return flag if value is None else f"{flag} {value}"


def config_style(fields: Mapping[str, str], prefix: str = "") -> Style:
    """A config file's field: ``fields[setting]`` where given, else ``prefix + setting``; with a
    value, also the ``--set`` override that gives it on the command line."""
    def style(setting: str, value: Any = None) -> str:
        name = fields.get(setting, prefix + setting)
        if value is None:
            return name
        return f"{name}: {value}, or --set {name}={value}"
    return style


_STYLE: ContextVar[Style] = ContextVar("tunewise_knob_style", default=flag_style)


def knob(setting: str, value: Any = None) -> str:
    """How the command now running sets ``setting`` (a ``TrainConfig`` / eval option name),
    optionally to ``value``."""
    return _STYLE.get()(setting, value)


@contextlib.contextmanager
def knob_style(style: Style) -> Iterator[None]:
    """Name settings with ``style`` inside the block (compare around its fine-tuning arms)."""
    token = _STYLE.set(style)
    try:
        yield
    finally:
        _STYLE.reset(token)
