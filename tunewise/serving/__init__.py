"""`tunewise serve`: a base model and training runs' LoRA adapters behind an OpenAI-compatible API.

::

    from tunewise.serving import create_app, serve, export_run
    app = create_app(model="tiny-random", adapters={"sentiment": "runs/sentiment"})  # FastAPI app
    serve(adapters={"sentiment": "runs/sentiment"}, port=8000)      # blocks; SIGTERM drains
    export_run("runs/sentiment", "export/sentiment")                 # PEFT / vLLM adapter folder

Modules: ``app`` (create_app, serve, ServeConfig), ``server`` (uvicorn with a read deadline, a
connection cap and a drain that answers 503), ``guards`` (the Host check), ``routes`` (endpoints,
auth, body limits, Content-Type), ``schemas`` (request models), ``prompts`` (request → prompt ids
and decoding settings, through the run's Task as in eval), ``engine`` (dynamic batching, one
adapter per batch, a bounded queue), ``decode`` (the batched decoding loop, per-row failures),
``sampling`` (numerically safe temperature / top_p), ``responses`` (response bodies, server-sent
events), ``errors`` (OpenAI error JSON), ``adapters`` (loading and validating runs' adapters),
``export``.
"""
from __future__ import annotations

__all__ = ["ServeConfig", "create_app", "serve", "load_served", "export_run"]


def __getattr__(name: str):
    if name in ("ServeConfig", "create_app", "serve"):
        from tunewise.serving import app
        return getattr(app, name)
    if name == "load_served":
        from tunewise.serving.adapters import load_served
        return load_served
    if name == "export_run":
        from tunewise.serving.export import export_run
        return export_run
    raise AttributeError(name)
