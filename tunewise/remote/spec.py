"""Which remote model, where, with which key: ``RemoteSpec`` and ``parse_model_spec``.

::

    parse_model_spec("openai:gpt-4.1-mini")            # https://api.openai.com/v1, $OPENAI_API_KEY
    parse_model_spec("qwen", base_url="http://127.0.0.1:8000/v1")      # vLLM, llama.cpp, Ollama,
    parse_model_spec("a", base_url=url, api_key_env="MY_KEY")          # `tunewise serve`...

The key is read from the environment variable when a request is made, never stored on the spec,
never logged, written to results or put in a message or repr.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

from tunewise.errors import UsageError
from tunewise.remote.errors import RemoteAuthError

#: provider prefix -> (base URL, default key variable)
PROVIDERS = {"openai": ("https://api.openai.com/v1", "OPENAI_API_KEY")}


@dataclass(frozen=True)
class RemoteSpec:
    """A model on an OpenAI-compatible server."""

    #: the model name sent in requests ("gpt-4.1-mini", "ft:gpt-4o-mini:acme::abc", "a")
    model: str
    #: the API root, ending in /v1 for most servers
    base_url: str
    #: the environment variable holding the API key
    api_key_env: str = "OPENAI_API_KEY"
    #: "openai" for the hosted API, None for any other server
    provider: str | None = None
    #: whether a missing key is an error (hosted APIs) or sent as a placeholder (local servers)
    key_required: bool = True

    @property
    def display(self) -> str:
        return f"{self.provider}:{self.model}" if self.provider else self.model

    def api_key(self) -> str:
        """The key from ``api_key_env``; a placeholder for a keyless local server."""
        key = os.environ.get(self.api_key_env, "").strip()
        if key:
            return key
        if self.key_required:
            raise RemoteAuthError(
                f"no API key for {self.display}: the environment variable {self.api_key_env} "
                "is unset or empty",
                fix=f"export {self.api_key_env}=<your key> (keys are read only from the "
                    "environment; name another variable with api_key_env)")
        return "none"

    def to_dict(self) -> dict:
        """JSON-able settings for results (the variable's name, never its value)."""
        return {"model": self.model, "base_url": self.base_url, "api_key_env": self.api_key_env,
                "provider": self.provider}


def split_provider(model: str) -> tuple[str | None, str]:
    """``openai:gpt-4.1-mini`` -> ("openai", "gpt-4.1-mini"); a name without a known provider
    prefix -> (None, name)."""
    prefix, sep, rest = model.partition(":")
    return (prefix, rest) if sep and prefix in PROVIDERS else (None, model)


def parse_model_spec(model: str, *, base_url: str | None = None,
                     api_key_env: str | None = None) -> RemoteSpec:
    """``PROVIDER:NAME`` (``openai:gpt-4.1-mini``) or ``NAME`` with ``base_url``."""
    model = (model or "").strip()
    if not model:
        raise UsageError("a remote model needs a name", fix="e.g. openai:gpt-4.1-mini")
    prefix, rest = split_provider(model)
    if prefix is not None and rest:
        url, env = PROVIDERS[prefix]
        return RemoteSpec(model=rest, base_url=(base_url or url).rstrip("/"),
                          api_key_env=api_key_env or env, provider=prefix, key_required=True)
    if not base_url:
        raise UsageError(f"remote model {model!r}: no provider prefix and no base URL",
                         fix="write openai:MODEL for the OpenAI API, or give base_url="
                             "http://HOST:PORT/v1 for vLLM, llama.cpp, Ollama or tunewise serve")
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"base URL {base_url!r} is not an http(s) URL",
                         fix="e.g. http://127.0.0.1:8000/v1")
    # a local server usually needs no key: a missing variable sends a placeholder
    return RemoteSpec(model=model, base_url=base_url.rstrip("/"),
                      api_key_env=api_key_env or "OPENAI_API_KEY", provider=None,
                      key_required=api_key_env is not None)
