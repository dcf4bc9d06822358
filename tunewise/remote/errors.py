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

No message ever contains the API key: server-provided text is passed through ``scrub`` first.
"""
from __future__ import annotations

from tunewise.errors import TunewiseError


class RemoteError(TunewiseError):
    """A remote (OpenAI-compatible) model call failed."""

    exit_code = 1


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


def scrub(text: str, secret: str | None) -> str:
    """``text`` with ``secret`` (and any long prefix of it) replaced by ``***``."""
    text = str(text)
    if not secret:
        return text
    text = text.replace(secret, "***")
    # servers often echo a truncated key ("sk-abc...xyz"): hide any 8+ character piece of it
    for n in range(len(secret) - 1, 7, -1):
        for i in range(0, len(secret) - n + 1):
            piece = secret[i:i + n]
            if piece in text:
                text = text.replace(piece, "***")
    return text
