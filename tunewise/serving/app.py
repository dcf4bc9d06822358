"""``create_app``: the FastAPI application; ``serve``: run it with uvicorn.

::

    from tunewise.serving import create_app, serve
    app = create_app(model="tiny-random", adapters={"sentiment": "runs/sentiment"})
    serve(model=None, adapters={"sentiment": "runs/sentiment"}, port=8000)   # blocks

The model is loaded and every adapter validated inside ``create_app`` (errors are
``TunewiseError``s naming the run); the batching engine starts with the app (its lifespan) and
stops after uvicorn has drained the requests in flight (SIGTERM / Ctrl-C: no new connections,
running ones finish, then the process exits).
"""
from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from tunewise.errors import UsageError

log = logging.getLogger("tunewise.serving")


@dataclass
class ServeConfig:
    """Server settings (``tunewise serve`` flags have the same names)."""

    #: interface to bind; 127.0.0.1 (this machine only) unless you mean to expose it
    host: str = "127.0.0.1"
    #: TCP port to listen on
    port: int = 8000
    #: the API key clients must send as ``Authorization: Bearer KEY``; None = no authentication
    api_key: str | None = field(default=None, repr=False)
    #: requests decoded together at most
    max_batch: int = 32
    #: how long a request waits for others to share its batch (milliseconds)
    batch_wait_ms: float = 10.0
    #: largest max_tokens a request may ask for
    max_tokens_limit: int = 1024
    #: largest request body in bytes (larger: HTTP 413)
    max_request_bytes: int = 1_000_000
    #: bfloat16 autocast on CPU (faster on BF16 CPUs; answers may differ from fp32 eval)
    bf16: bool = False
    #: seconds SIGTERM waits for requests in flight before closing them
    drain_timeout_s: float = 60.0

    def validate(self) -> None:
        problems = []
        if not 0 <= int(self.port) <= 65535:
            problems.append(f"--port {self.port}: must be 0..65535")
        for name in ("max_batch", "max_tokens_limit", "max_request_bytes"):
            if int(getattr(self, name)) < 1:
                problems.append(f"--{name.replace('_', '-')} must be >= 1")
        if self.batch_wait_ms < 0:
            problems.append("--batch-wait-ms must be >= 0")
        if problems:
            raise UsageError("; ".join(problems))


@dataclass
class AppState:
    served: object
    engine: object
    config: ServeConfig
    draining: bool = False


def create_app(model: str | None = None,
               adapters: Mapping[str, str] | Sequence[str] = (), *,
               config: ServeConfig | None = None, served=None, **settings):
    """The OpenAI-compatible FastAPI app for ``model`` with ``adapters`` ({NAME: RUN_DIR or run
    id} or ["NAME=RUN", ...]). ``settings`` override ``config`` fields (``api_key``,
    ``max_batch``...). ``served``: an already loaded ``ServedModels`` (tests reuse one)."""
    from fastapi import FastAPI

    from tunewise.serving.adapters import load_served
    from tunewise.serving.engine import Engine
    from tunewise.serving.errors import install_handlers
    from tunewise.serving.routes import build_router
    cfg = config or ServeConfig()
    for k, v in settings.items():
        if not hasattr(cfg, k):
            raise UsageError(f"create_app: unknown setting {k!r}")
        setattr(cfg, k, v)
    cfg.validate()
    if served is None:
        served = load_served(model, adapters, dtype="float32")
    engine = Engine(served, max_batch=cfg.max_batch, batch_wait_s=cfg.batch_wait_ms / 1000.0,
                    bf16=cfg.bf16)
    state = AppState(served=served, engine=engine, config=cfg)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        engine.start()
        try:
            yield
        finally:
            state.draining = True
            engine.stop()

    app = FastAPI(title="tunewise serve", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.tunewise = state
    install_handlers(app)
    app.include_router(build_router())
    return app


def _is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_key_from_env(var: str | None) -> str | None:
    """The API key held in environment variable ``var`` (never taken from the command line)."""
    if not var:
        return None
    key = os.environ.get(var, "")
    if not key.strip():
        raise UsageError(f"--api-key-env {var}: the environment variable is unset or empty",
                         fix=f"export {var}=<a long random key> before starting the server")
    return key.strip()


def serve(model: str | None = None, adapters: Mapping[str, str] | Sequence[str] = (), *,
          config: ServeConfig | None = None, say=None, **settings) -> None:
    """Load, validate and serve until SIGTERM / Ctrl-C (which drain the requests in flight)."""
    import uvicorn
    say = say or (lambda msg: print(msg, flush=True))
    cfg = config or ServeConfig()
    for k, v in settings.items():
        setattr(cfg, k, v)
    cfg.validate()
    if not _is_loopback(cfg.host) and not cfg.api_key:
        say(f"warning: binding {cfg.host} exposes the server beyond this machine without an API "
            "key; pass --api-key-env VAR")
    app = create_app(model, adapters, config=cfg)
    served = app.state.tunewise.served
    for e in served.entries:
        what = f"adapter of run {e.run_dir}" + (f" (id {e.run_id})" if e.run_id else "") \
            if e.adapter else f"base model ({e.root})"
        say(f"serving {e.id!r}: {what}")
    say(f"OpenAI-compatible API on http://{cfg.host}:{cfg.port}/v1 "
        f"(auth: {'Bearer key from env' if cfg.api_key else 'none'}; "
        f"max batch {cfg.max_batch}); Ctrl-C or SIGTERM drains and stops")
    uvicorn.run(app, host=cfg.host, port=int(cfg.port), log_level="warning",
                timeout_graceful_shutdown=cfg.drain_timeout_s, access_log=False)
