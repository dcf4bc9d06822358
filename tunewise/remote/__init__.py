"""Remote models on OpenAI-compatible servers (OpenAI, vLLM, llama.cpp, Ollama, tunewise serve).

::

    from tunewise.remote import parse_model_spec, RemoteClient, ClientOptions
    spec = parse_model_spec("openai:gpt-4.1-mini")           # key from $OPENAI_API_KEY
    client = RemoteClient(spec, options=ClientOptions(concurrency=8, timeout_s=60))
    responses = client.chat_many([{"messages": [...], "temperature": 0}])

The arm that answers a Task's examples with it is ``tunewise.evaluation.arms.remote.RemoteArm``.
Errors and their exit codes: ``tunewise.remote.errors``.
"""
from __future__ import annotations

from tunewise.remote.cache import ResponseCache, default_cache_dir, request_key
from tunewise.remote.client import ClientOptions, RemoteClient, retry_after_seconds
from tunewise.remote.errors import (CostLimitError, RemoteAuthError, RemoteError,
                                    RemoteModelError, RemoteNoLogprobsError, RemoteProtocolError,
                                    RemoteRequestError, RemoteRetriesExhausted,
                                    RemoteUnreachableError)
from tunewise.remote.pricing import RemotePrice, check_cost, estimate_tokens
from tunewise.remote.spec import PROVIDERS, RemoteSpec, parse_model_spec

__all__ = ["ClientOptions", "CostLimitError", "PROVIDERS", "RemoteAuthError", "RemoteClient",
           "RemoteError", "RemoteModelError", "RemoteNoLogprobsError", "RemotePrice",
           "RemoteProtocolError", "RemoteRequestError", "RemoteRetriesExhausted", "RemoteSpec",
           "RemoteUnreachableError", "ResponseCache", "check_cost", "default_cache_dir",
           "estimate_tokens", "parse_model_spec", "request_key", "retry_after_seconds"]
