"""Typed errors of the remote client; each names what the server did and the fix.

Exit codes (the CLI renders ``TunewiseError.exit_code``):

- 2: the remote model cannot be used as configured: missing/invalid API key
  (``RemoteAuthError``), unreachable host (``RemoteUnreachableError``), unknown model or wrong
  base URL (``RemoteModelError``), a server without logprobs when they were required
  (``RemoteNoLogprobsError``), a run whose estimated cost is over the limit
  (``CostLimitError``), a request the server refuses as invalid (``RemoteRequestError``).
- 1: the server misbehaved past the retries: 429 / 5xx / timeouts / dropped connections
  (``RemoteRetriesExhausted``), a body that is not the JSON of a chat completion
  (``RemoteProtocolError``). Every response finished before the failure is in the cache, so a
  rerun repeats none of them.

No message ever contains the API key: server-provided text is passed through ``scrub`` first;
response bodies go through ``scrub_strings`` before they are cached or read.
"""
from __future__ import annotations

from tunewise.errors import TunewiseError


class RemoteError(TunewiseError):
    """A remote (OpenAI-compatible) model call failed."""

    exit_code = 1
    #: the request parameter a refusal (HTTP 400) names, when the server said
    param: str | None = None


class RemoteAuthError(RemoteError):
    """The API key is missing, or the server refused it (HTTP 401 / 403)."""

    exit_code = 2


class RemoteUnreachableError(RemoteError):
    """No connection to the base URL (DNS failure, refused connection, nothing listening)."""

    exit_code = 2


class RemoteModelError(RemoteError):
    """The server does not know the model (HTTP 404), or the base URL has no such endpoint."""

    exit_code = 2


class RemoteNoLogprobsError(RemoteError):
    """Label scoring needs ``logprobs``; the server refused or ignored them."""

    exit_code = 2


class RemoteRequestError(RemoteError):
    """The server refused a request as invalid (HTTP 400 / 422)."""

    exit_code = 2


class RemoteProtocolError(RemoteError):
    """The server answered with something that is not a chat completion's JSON."""

    exit_code = 1


class RemoteRetriesExhausted(RemoteError):
    """429 / 5xx / timeouts / dropped connections persisted past the retries."""

    exit_code = 1


class CostLimitError(RemoteError):
    """The estimated cost of the remote calls is over ``max_cost_usd``."""

    exit_code = 2


#: the shortest piece of a key that counts as the key (servers echo "sk-abc...xyz")
_PIECE = 8


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (and any piece of 8+ characters of it) replaced by ``***``."""
    text = str(text)
    if not secret or secret == "none":
        return text
    text = text.replace(secret, "***")
    if len(secret) <= _PIECE or not _has_piece(text, secret):
        return text
    # servers often echo a truncated key ("sk-abc...xyz"): hide any 8+ character piece of it
    for n in range(len(secret) - 1, _PIECE - 1, -1):
        for i in range(0, len(secret) - n + 1):
            piece = secret[i:i + n]
            if piece in text:
                text = text.replace(piece, "***")
    return text


def _has_piece(text: str, secret: str) -> bool:
    """Whether ``text`` holds any 8-character piece of ``secret`` (one pass over ``text``: the
    common case, an answer without the key, costs no quadratic search)."""
    pieces = {secret[i:i + _PIECE] for i in range(len(secret) - _PIECE + 1)}
    return any(text[i:i + _PIECE] in pieces for i in range(len(text) - _PIECE + 1))


def scrub_strings(obj, secret: str | None):
    """``obj`` (decoded JSON) with ``scrub`` applied to every string in it, keys included: a
    server that echoes the key inside an answer does not get it written to a cache or a
    predictions file."""
    if not secret or secret == "none":
        return obj
    if isinstance(obj, str):
        return scrub(obj, secret)
    if isinstance(obj, list):
        return [scrub_strings(v, secret) for v in obj]
    if isinstance(obj, dict):
        return {scrub(k, secret): scrub_strings(v, secret) for k, v in obj.items()}
    return obj
