"""`tunewise serve`: a base model and training runs' LoRA adapters behind an OpenAI-compatible API.

::

    from tunewise.serving import create_app, serve
    app = create_app(model="tiny-random", adapters={"sentiment": "runs/sentiment"})  # FastAPI app
    serve(adapters={"sentiment": "runs/sentiment"}, port=8000)      # blocks; SIGTERM drains

(Exporting a run for vLLM or PEFT is the run folder's business: ``tunewise.runs.export_run``.)

Modules: ``app`` (create_app, serve, ServeConfig), ``server`` (uvicorn with a read deadline, a
connection cap and a drain that answers 503), ``guards`` (the Host check), ``routes`` (endpoints,
auth, body limits, Content-Type), ``schemas`` (request models), ``prompts`` (request → prompt ids
and decoding settings, through the run's Task as in eval), ``engine`` (dynamic batching, one
adapter per batch, a bounded queue), ``decode`` (the batched decoding loop, per-row failures),
``sampling`` (numerically safe temperature / top_p), ``responses`` (response bodies, server-sent
events), ``errors`` (OpenAI error JSON), ``adapters`` (loading and validating runs' adapters).
"""
from __future__ import annotations

__all__ = ["ServeConfig", "create_app", "serve", "load_served"]


def __getattr__(name: str):
    if name in ("ServeConfig", "create_app", "serve"):
        from tunewise.serving import app
        return getattr(app, name)
    if name == "load_served":
        from tunewise.serving.adapters import load_served
        return load_served
    raise AttributeError(name)
