"""`tunewise serve`: a base model and training runs' adapters behind an OpenAI-compatible API;
a thin layer over ``tunewise.serving.serve``. Option help comes from ServeConfig's field comments."""
from __future__ import annotations

import click

from tunewise.serving.app import ServeConfig


def _doc(field: str) -> str:
    """The ``#:`` comment above ``field`` in ServeConfig (one help text, written once)."""
    import inspect
    lines = inspect.getsource(ServeConfig).splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(f"{field}:"):
            doc = []
            while i and lines[i - 1].strip().startswith("#:"):  # the comment may span lines
                i -= 1
                doc.insert(0, lines[i].strip()[2:].strip())
            return " ".join(doc).replace("%", "%%")
    return ""


_D = ServeConfig()


@click.command("serve")
@click.option("--model", default=None, metavar="M",
              help="base model: smollm2-135m-instruct, gemma-3-270m, tiny-random, a local folder "
                   "or a hub id "
                   "(default: the model the first --adapter was trained on, else the embedded one)")
@click.option("--adapter", "adapters", multiple=True, metavar="NAME=RUN",
              help="serve a training run's LoRA adapter as model NAME; RUN is a run directory or "
                   "a run id from `tunewise runs list` (repeatable)")
@click.option("--host", default=_D.host, show_default=True, help=_doc("host"))
@click.option("--port", type=int, default=_D.port, show_default=True, help=_doc("port"))
@click.option("--api-key-env", default=None, metavar="VAR",
              help="require 'Authorization: Bearer KEY' where KEY is this environment "
                   "variable's value (keys never go on the command line)")
@click.option("--max-batch", type=int, default=_D.max_batch, show_default=True,
              help=_doc("max_batch"))
@click.option("--batch-wait-ms", type=float, default=_D.batch_wait_ms, show_default=True,
              help=_doc("batch_wait_ms"))
@click.option("--max-tokens-limit", type=int, default=_D.max_tokens_limit, show_default=True,
              help=_doc("max_tokens_limit"))
@click.option("--max-request-bytes", type=int, default=_D.max_request_bytes, show_default=True,
              help=_doc("max_request_bytes"))
@click.option("--drain-timeout", "drain_timeout_s", type=float, default=_D.drain_timeout_s,
              show_default=True, help=_doc("drain_timeout_s"))
@click.option("--max-queue", type=int, default=_D.max_queue, show_default=True,
              help=_doc("max_queue"))
@click.option("--max-connections", type=int, default=_D.max_connections, show_default=True,
              help=_doc("max_connections"))
@click.option("--read-timeout", "read_timeout_s", type=float, default=_D.read_timeout_s,
              show_default=True, help=_doc("read_timeout_s"))
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help=_doc("allowed_hosts") + " (repeatable)")
@click.option("--bf16", is_flag=True, help=_doc("bf16"))
@click.option("--device", default="auto", show_default=True, metavar="auto|cpu|cuda|cuda:N|mps",
              help=_doc("device"))
def serve_cmd(model, adapters, host, port, api_key_env, max_batch, batch_wait_ms,
              max_tokens_limit, max_request_bytes, drain_timeout_s, max_queue, max_connections,
              read_timeout_s, allowed_hosts, bf16, device):
    """Serve a model and fine-tuned adapters with the OpenAI API (/v1/models,
    /v1/chat/completions, /v1/completions, /health).

    A request's "model" picks the adapter: its NAME, its run id, or BASE:NAME; the base model
    answers to its own name. Chat requests to an adapter are rendered through the run's task
    exactly as `tunewise eval --adapter RUN` renders them (same prompt, stop and answer budget),
    so a greedy answer (temperature 0) equals eval's.

    \b
    tunewise serve --adapter sentiment=runs/sentiment
    export TUNEWISE_API_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')
    tunewise serve --adapter sentiment=runs/sentiment --api-key-env TUNEWISE_API_KEY --port 8001
    curl http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\
      -d '{"model": "sentiment", "temperature": 0, "messages": [{"role": "user", "content": "A gem."}]}'
    """
    from tunewise.cli.output import err_console
    from tunewise.serving.app import api_key_from_env, serve
    cfg = ServeConfig(host=host, port=port, max_batch=max_batch, batch_wait_ms=batch_wait_ms,
                      max_tokens_limit=max_tokens_limit, max_request_bytes=max_request_bytes,
                      drain_timeout_s=drain_timeout_s, max_queue=max_queue,
                      max_connections=max_connections, read_timeout_s=read_timeout_s,
                      allowed_hosts=tuple(allowed_hosts), bf16=bf16, device=device)
    cfg.validate()  # flags first: before the key is read and the model loaded
    cfg.api_key = api_key_from_env(api_key_env)
    serve(model, list(adapters), config=cfg,
          say=lambda m: err_console.print(m, highlight=False, markup=False))
    return 0


def register(app: click.Group) -> None:
    app.add_command(serve_cmd)
