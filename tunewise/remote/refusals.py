"""Request parameters a model refuses, learnt once per model from its HTTP 400 and then left out.

Reasoning models (OpenAI's o-series, the GPT-5 family and their successors) refuse ``temperature``
other than 1, ``top_p``, ``logprobs`` / ``top_logprobs`` and often ``stop``, and take
``max_completion_tokens`` instead of ``max_tokens``. Their 400 names the parameter::

    {"error": {"message": "Unsupported value: 'temperature' does not support 0 with this model.
               Only the default (1) value is supported.", "param": "temperature",
               "code": "unsupported_value", "type": "invalid_request_error"}}

``learn(url, model, error)`` records such a refusal (from the error's ``param``, else the quoted
name in its message) for that server and model, for the rest of the process: every later request
to it is built without the parameter (``apply``), so each refusal costs one request per model,
not one per arm or per example. ``max_tokens`` is renamed ``max_completion_tokens``; a refused
``logprobs`` drops ``top_logprobs`` too (the remote arm then reads labels from the answers' text
and says so). A refusal of any other parameter is not adjustable: the 400 stands.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

#: parameters left out when refused (the server's default then applies)
DROPPABLE = ("temperature", "top_p", "logprobs", "top_logprobs", "stop", "presence_penalty",
             "frequency_penalty", "seed", "response_format")
#: parameters renamed when refused
RENAMED = {"max_tokens": "max_completion_tokens"}


@dataclass
class Quirks:
    """What one model on one server refused."""

    dropped: set[str] = field(default_factory=set)
    renamed: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"dropped": sorted(self.dropped), "renamed": dict(self.renamed)}


_LEARNT: dict[tuple[str, str], Quirks] = {}
_LOCK = threading.Lock()


def quirks(url: str, model: str) -> Quirks:
    """The refusals learnt so far for ``model`` on the server at ``url``."""
    with _LOCK:
        return _LEARNT.setdefault((url, model), Quirks())


def refused_param(error) -> str | None:
    """The parameter a 400 names: its ``param`` field, else the first quoted name in the
    message that is one tunewise sends."""
    param = getattr(error, "param", None)
    if isinstance(param, str) and param:
        return param
    text = str(getattr(error, "message", "") or error)
    for name in re.findall(r"'([a-z_]+)'", text):
        if name in DROPPABLE or name in RENAMED:
            return name
    return None


def learn(url: str, model: str, error, request: dict) -> str | None:
    """Record the parameter ``error`` (a 400 on ``request``) refused, when it is one tunewise can
    leave out or rename and ``request`` sent it; returns its name, or None (not adjustable: the
    error stands)."""
    name = refused_param(error)
    if name is None or name not in request:
        return None
    q = quirks(url, model)
    with _LOCK:
        if name in RENAMED:
            q.renamed[name] = RENAMED[name]
        elif name in DROPPABLE:
            q.dropped.add(name)
            if name == "logprobs":
                q.dropped.add("top_logprobs")
        else:
            return None
    return name


def apply(request: dict, q: Quirks) -> dict:
    """``request`` without the refused parameters, renamed ones under their new name."""
    out = {}
    for k, v in request.items():
        if k in q.dropped:
            continue
        out[q.renamed.get(k, k)] = v
    return out


def forget_all() -> None:
    """Clear every learnt refusal (tests)."""
    with _LOCK:
        _LEARNT.clear()
