"""Which remote model, where, with which key: ``RemoteSpec`` and ``parse_model_spec``.

::

    parse_model_spec("openai:gpt-4.1-mini")            # https://api.openai.com/v1, $OPENAI_API_KEY
    parse_model_spec("qwen", base_url="http://127.0.0.1:8000/v1")      # vLLM, llama.cpp, Ollama,
    parse_model_spec("a", base_url=url, api_key_env="MY_KEY")          # `tunewise serve`...

Which key goes where: a provider's key (``OPENAI_API_KEY``) goes only to that provider's own
host (https://api.openai.com), whether the model is written ``openai:NAME`` or as a plain name
at that base URL. Any other server (a ``base_url`` elsewhere, ``openai:NAME`` pointed at a
proxy included) gets a key only from the variable ``api_key_env`` names; without one it gets
the placeholder "none", so a user's hosted key never travels to a host it was not made for.

The key is read from the environment variable when a request is made, never stored on the spec,
never logged, written to results or put in a message or repr. Credentials in the base URL
(``http://user:pw@host/v1``, ``?api_key=``) are used for the request but shown and recorded
only as ``redacted_url`` (``tunewise.remote.urls.redact_url``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from tunewise.errors import UsageError
from tunewise.remote.errors import RemoteAuthError
from tunewise.remote.urls import check_url, redact_url

#: provider prefix -> (base URL, default key variable)
PROVIDERS = {"openai": ("https://api.openai.com/v1", "OPENAI_API_KEY")}


@dataclass(frozen=True)
class RemoteSpec:
    """A model on an OpenAI-compatible server."""

    #: the model name sent in requests ("gpt-4.1-mini", "ft:gpt-4o-mini:acme::abc", "a")
    model: str
    #: the API root, ending in /v1 for most servers
    base_url: str
    #: the environment variable holding the API key; None = no key (the placeholder "none")
    api_key_env: str | None = "OPENAI_API_KEY"
    #: "openai" for the hosted API, None for any other server
    provider: str | None = None
    #: whether a missing key is an error (hosted APIs) or sent as a placeholder (local servers)
    key_required: bool = True

    @property
    def display(self) -> str:
        return f"{self.provider}:{self.model}" if self.provider else self.model

    @property
    def redacted_url(self) -> str:
        """The base URL as it may be shown and recorded: credentials replaced by ``***``."""
        return redact_url(self.base_url)

    def api_key(self) -> str:
        """The key from ``api_key_env``; a placeholder for a keyless server."""
        if self.api_key_env is None:
            return "none"
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
        return {"model": self.model, "base_url": self.redacted_url,
                "api_key_env": self.api_key_env, "provider": self.provider}


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
    api_key_env = (api_key_env or "").strip() or None
    prefix, rest = split_provider(model)
    if prefix is not None and rest:
        url = check_url(base_url) if base_url else PROVIDERS[prefix][0]
        own = provider_of(url)
        # the provider's key only for its own host; elsewhere only a key named for it
        env = api_key_env or (PROVIDERS[prefix][1] if own == prefix else None)
        return RemoteSpec(model=rest, base_url=url, api_key_env=env, provider=prefix,
                          key_required=env is not None)
    if not base_url:
        raise UsageError(f"remote model {model!r}: no provider prefix and no base URL",
                         fix="write openai:MODEL for the OpenAI API, or give base_url="
                             "http://HOST:PORT/v1 for vLLM, llama.cpp, Ollama or tunewise serve")
    url = check_url(base_url)
    own = provider_of(url)
    # a provider's own host gets its key; any other server only the key api_key_env names
    # (none: a placeholder), never the user's hosted key
    env = api_key_env or (PROVIDERS[own][1] if own else None)
    return RemoteSpec(model=model, base_url=url, api_key_env=env, provider=None,
                      key_required=env is not None)


def provider_of(url: str) -> str | None:
    """The provider whose own API ``url`` is (https on the provider's host), or None."""
    parts = urlsplit(url)
    for name, (home, _) in PROVIDERS.items():
        ref = urlsplit(home)
        if (parts.scheme == ref.scheme and parts.hostname and ref.hostname
                and parts.hostname.lower() == ref.hostname and parts.port in (None, 443)
                and not parts.username and not parts.password):
            return name
    return None
