"""``create_app``: the FastAPI application; ``serve``: run it with uvicorn.

::

    from tunewise.serving import create_app, serve
    app = create_app(model="tiny-random", adapters={"sentiment": "runs/sentiment"})
    serve(model=None, adapters={"sentiment": "runs/sentiment"}, port=8000)   # blocks

The model is loaded and every adapter validated inside ``create_app`` (errors are
``TunewiseError``s naming the run); the batching engine starts with the app (its lifespan) and
stops after uvicorn has drained the requests in flight (SIGTERM / Ctrl-C: no new connections,
running ones finish until ``drain_timeout_s``, what is left is answered 503, then the process
exits; see ``server``). Requests whose ``Host`` this server does not answer to get 421
(``guards``).
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
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
    #: where the model runs: auto (a CUDA GPU if present, else Apple's MPS, else the CPU), cpu,
    #: cuda, cuda:N or mps; on a GPU the weights load in its compute dtype, as eval loads them
    device: str = "auto"
    #: seconds SIGTERM waits for requests in flight; those still running are then answered 503
    drain_timeout_s: float = 60.0
    #: requests waiting for a batch at most; more are answered 503 with Retry-After
    max_queue: int = 256
    #: open connections at most; more are answered 503 and closed at once
    max_connections: int = 512
    #: seconds a client has to send a whole request (headers and body) from its first byte; slower
    #: ones get 408 and are closed
    read_timeout_s: float = 10.0
    #: extra Host names clients may use (loopback names and the bound address are always
    #: accepted; '.example.com' for a domain and its subdomains, '*' for any)
    allowed_hosts: Sequence[str] = ()

    def validate(self) -> None:
        """Every bad setting at once, each named by its flag with the accepted range."""
        problems = []
        if not 0 <= int(self.port) <= 65535:
            problems.append(f"--port {self.port}: must be 0..65535")
        for name in ("max_batch", "max_tokens_limit", "max_request_bytes", "max_queue",
                     "max_connections"):
            if int(getattr(self, name)) < 1:
                problems.append(f"--{name.replace('_', '-')} {getattr(self, name)}: must be >= 1")
        for flag, value, low, strict in (("--batch-wait-ms", self.batch_wait_ms, 0, False),
                                         ("--drain-timeout", self.drain_timeout_s, 0, False),
                                         ("--read-timeout", self.read_timeout_s, 0, True)):
            v = float(value)
            if not math.isfinite(v) or v < low or (strict and v <= low):
                problems.append(f"{flag} {value}: must be a number {'>' if strict else '>='} "
                                f"{low} (seconds{' in ms' if flag.endswith('ms') else ''})")
        from tunewise.serving.guards import host_name
        for h in self.allowed_hosts:
            if h != "*" and host_name(str(h).lstrip("*")) is None:
                problems.append(f"--allowed-host {h!r}: not a host name or address")
        from tunewise.models.device import check_device_spec, resolve_device
        bad_device = check_device_spec(self.device)
        if bad_device:
            problems.append(f"--{bad_device}")
        if problems:
            raise UsageError("; ".join(problems),
                             fix="correct the flag(s) named above (tunewise serve --help)")
        resolve_device(self.device)     # a device this machine lacks: DeviceError, exit 2


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
    from tunewise.serving.guards import HostGuard, HostPolicy
    from tunewise.serving.routes import build_router
    cfg = config or ServeConfig()
    for k, v in settings.items():
        if not hasattr(cfg, k):
            raise UsageError(f"create_app: unknown setting {k!r}")
        setattr(cfg, k, v)
    cfg.validate()
    if served is None:
        served = load_served(model, adapters, dtype="auto", device=cfg.device)
    engine = Engine(served, max_batch=cfg.max_batch, batch_wait_s=cfg.batch_wait_ms / 1000.0,
                    bf16=cfg.bf16, max_queue=cfg.max_queue)
    state = AppState(served=served, engine=engine, config=cfg)
    served.max_token_chars  # computed once now, not in the first request

    @contextlib.asynccontextmanager
    async def lifespan(app):
        engine.start()
        try:
            yield
        finally:
            state.draining = True
            # joins the decoding thread: never on the event loop, and not for long
            await asyncio.to_thread(engine.stop, 5.0)

    app = FastAPI(title="tunewise serve", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.tunewise = state
    install_handlers(app)
    app.include_router(build_router())
    app.add_middleware(HostGuard, policy=HostPolicy(cfg.host, cfg.allowed_hosts))
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


def _fit_fd_limit(cfg: ServeConfig, say) -> None:
    """Keep --max-connections below the process's open-file limit (with room for the model's
    and the server's own files), so the cap, not EMFILE, is what refuses connections."""
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return
    room = soft - 64
    if soft != resource.RLIM_INFINITY and int(cfg.max_connections) > room > 0:
        say(f"note: --max-connections {cfg.max_connections} lowered to {room} (the open-file "
            f"limit is {soft}; raise it with `ulimit -n`)")
        cfg.max_connections = room


def serve(model: str | None = None, adapters: Mapping[str, str] | Sequence[str] = (), *,
          config: ServeConfig | None = None, say=None, **settings) -> None:
    """Load, validate and serve until SIGTERM / Ctrl-C (which drain the requests in flight)."""
    from tunewise.serving.server import build_server
    say = say or (lambda msg: print(msg, flush=True))
    cfg = config or ServeConfig()
    for k, v in settings.items():
        setattr(cfg, k, v)
    cfg.validate()
    if not _is_loopback(cfg.host) and not cfg.api_key:
        say(f"warning: binding {cfg.host} exposes the server beyond this machine without an API "
            "key; pass --api-key-env VAR")
    if not _is_loopback(cfg.host) and "*" not in cfg.allowed_hosts:
        which = "an IP address" if cfg.host in ("0.0.0.0", "::") else repr(cfg.host)
        say(f"note: clients must reach the server as {which} or localhost (a Host check against "
            "DNS rebinding); add --allowed-host NAME for each other host name they use")
    _fit_fd_limit(cfg, say)
    app = create_app(model, adapters, config=cfg)
    served = app.state.tunewise.served
    for e in served.entries:
        what = f"adapter of run {e.run_dir}" + (f" (id {e.run_id})" if e.run_id else "") \
            if e.adapter else f"base model ({e.root})"
        say(f"serving {e.id!r}: {what}")
    say(f"OpenAI-compatible API on http://{cfg.host}:{cfg.port}/v1 "
        f"(auth: {'Bearer key from env' if cfg.api_key else 'none'}; "
        f"max batch {cfg.max_batch}); Ctrl-C or SIGTERM drains and stops")
    server = build_server(app)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise UsageError(f"could not listen on {cfg.host}:{cfg.port} (see the error above: the "
                         "port is in use, or the address is not this machine's)",
                         fix="choose another --port, or stop the process that holds it")
