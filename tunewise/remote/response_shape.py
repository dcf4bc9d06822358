"""The shape of a chat completion, declared once (msgspec structs) and checked before any answer
is cached or read.

A server can send valid JSON with the wrong inner types (``message`` a string, ``usage`` tokens
"many", ``logprobs.content`` ``[1, 2, 3]``). The client checks every body against
``ChatCompletion`` before caching it (a mismatch is a malformed answer: retried, then
``RemoteProtocolError``), and the cache checks every entry it reads (a mismatch is a miss), so
code that reads a response (``RemoteArm``, ``remote.labels``) can trust the fields it uses.
Fields the code does not read are not checked; unknown fields are allowed.
"""
from __future__ import annotations

from typing import Annotated, Any

import msgspec

#: a token count: a number >= 0 (some servers write 12.0), not NaN / Infinity
_Count = (Annotated[int, msgspec.Meta(ge=0, le=10**15)]
          | Annotated[float, msgspec.Meta(ge=0, le=1e15)])


class _Alternative(msgspec.Struct):
    token: str | None = None
    #: NaN / Infinity literals are accepted: a label without a finite score gets none
    logprob: float | None = None


class _TokenLogprob(msgspec.Struct):
    token: str | None = None
    logprob: float | None = None
    top_logprobs: list[_Alternative] | None = None


class _Logprobs(msgspec.Struct):
    content: list[_TokenLogprob] | None = None


class _Message(msgspec.Struct):
    #: text, or a list of content parts (``{"type": "text", "text": ...}``), or null
    content: str | list[Any] | None = None


class _Choice(msgspec.Struct):
    message: _Message
    logprobs: _Logprobs | None = None
    finish_reason: str | None = None


class _CompletionDetails(msgspec.Struct):
    #: hidden reasoning tokens (billed as output; OpenAI counts them in completion_tokens)
    reasoning_tokens: _Count | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: _Count | None = None
    completion_tokens: _Count | None = None
    completion_tokens_details: _CompletionDetails | None = None


class ChatCompletion(msgspec.Struct):
    """What tunewise reads of a chat completion: at least one choice with a message."""

    choices: Annotated[list[_Choice], msgspec.Meta(min_length=1)]
    usage: _Usage | None = None


def completion_problem(body: Any) -> str | None:
    """None when ``body`` (decoded JSON) has the shape of a chat completion, else what is
    wrong, e.g. "Expected `object`, got `str` - at `$.choices[0].message`"."""
    try:
        msgspec.convert(body, ChatCompletion)
    except msgspec.ValidationError as e:
        return str(e)
    return None


def message_text(choice: dict) -> str:
    """The text of a (checked) choice's message: the string, or the text parts joined."""
    content = (choice.get("message") or {}).get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text") for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""
