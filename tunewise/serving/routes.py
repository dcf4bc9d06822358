"""The endpoints: /v1/models, /v1/chat/completions, /v1/completions, /health.

Bodies are read by hand (size-capped: 413 past ``max_request_bytes``, checked on the
Content-Length header first and again while reading) and validated with the pydantic models of
``schemas``, so every failure becomes OpenAI's error JSON with the right status. A POST must say
``Content-Type: application/json`` (415 otherwise: a web page's "simple" cross-site POST cannot).
Parsing, prompt rendering and tokenizing run in a worker thread, so a large request does not stall
the event loop (``/health``, streams of other clients). A full queue is 503 with Retry-After.
"""
from __future__ import annotations

import asyncio
import hmac
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from tunewise.serving.decode import SHUTTING_DOWN, Job
from tunewise.serving.engine import Overloaded, ShuttingDown
from tunewise.serving.errors import APIError, validation_error
from tunewise.serving.responses import chat_body, completion_body, new_id, stream_events

#: seconds a client is told to wait (Retry-After) when the queue is full
RETRY_AFTER_S = 1


def _state(request: Request):
    return request.app.state.tunewise


async def check_auth(request: Request) -> None:
    """With an API key configured, ``Authorization: Bearer KEY`` (compared in constant time)."""
    key = _state(request).config.api_key
    if not key:
        return
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise APIError(401, "missing API key: send 'Authorization: Bearer YOUR_KEY'",
                       code="invalid_api_key")
    if not hmac.compare_digest(given.strip().encode("utf-8"), key.encode("utf-8")):
        raise APIError(401, "incorrect API key", code="invalid_api_key")


def require_json(request: Request) -> None:
    """415 unless the body is declared as JSON (``application/json``, any parameters)."""
    given = request.headers.get("content-type", "")
    if given.split(";", 1)[0].strip().lower() != "application/json":
        raise APIError(415, f"Content-Type must be application/json (got "
                            f"{given[:80] if given else 'none'!r}): send the body as JSON",
                       code="unsupported_media_type")


def shutting_down() -> APIError:
    return APIError(503, "the server is shutting down", code=SHUTTING_DOWN)


async def read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None:
        try:
            n = int(length)
        except ValueError:
            raise APIError(400, "invalid Content-Length header", code="invalid_request") from None
        if n > limit:
            raise APIError(413, f"request body of {n} bytes is over this server's limit of "
                                f"{limit} bytes (tunewise serve --max-request-bytes)",
                           code="request_too_large")
    chunks, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise APIError(413, f"request body is over this server's limit of {limit} bytes "
                                "(tunewise serve --max-request-bytes)", code="request_too_large")
        chunks.append(part)
    body = b"".join(chunks)
    if not body.strip():
        raise APIError(400, "empty request body: send a JSON object", code="invalid_json")
    return body


def parse(model_cls, body: bytes):
    try:
        return model_cls.model_validate_json(body)
    except ValidationError as e:
        raise validation_error(e.errors(include_url=False)) from None


def _resolve(state, name: str):
    entry = state.served.resolve(name)
    if entry is None:
        known = ", ".join(e.id for e in state.served.entries)
        raise APIError(404, f"the model {name!r} does not exist on this server (served: {known})",
                       param="model", code="model_not_found")
    return entry


async def _wait(pending, request: Request) -> None:
    """Wait for a non-streamed job to end; a client that hangs up meanwhile cancels it."""
    async def watch():
        while True:
            await asyncio.sleep(1.0)
            if await request.is_disconnected():
                pending.job.cancel()
                return

    watcher = asyncio.create_task(watch())
    try:
        async for ev in pending.events():
            if ev[0] == "error":
                if ev[2] == SHUTTING_DOWN:
                    raise shutting_down()
                raise APIError(500, ev[1], code="internal_error")
    finally:
        watcher.cancel()
        if pending.job.finish is None:  # this handler was cancelled: nobody waits for the job
            pending.job.cancel()


def _prepare(state, body: bytes, chat: bool):
    """Body → (request, model entry, Job); APIError when it cannot run.
    CPU work (JSON, templates, tokenizer): called in a worker thread."""
    from tunewise.serving.prompts import chat_prompt, completion_prompt, sampling_params
    from tunewise.serving.schemas import ChatCompletionRequest, CompletionRequest
    from tunewise.serving.choices import choice_spec
    req = parse(ChatCompletionRequest if chat else CompletionRequest, body)
    entry = _resolve(state, req.model)
    spec = choice_spec(req) if chat else None
    prompt = chat_prompt(state.served, entry, req) if chat else completion_prompt(state.served, req)
    params = sampling_params(state.served, entry, req, len(prompt),
                             max_tokens_limit=state.config.max_tokens_limit, chat=chat)
    job = Job(prompt=prompt, params=params, adapter=entry.adapter)
    if spec is not None:       # scored, not generated (serving.choices)
        job.choices, job.choice_ids = spec, state.engine.chooser.answers(spec)
    return req, entry, job


async def _generate(request: Request, *, chat: bool):
    state = _state(request)
    require_json(request)
    if state.draining:
        raise shutting_down()
    body = await read_body(request, state.config.max_request_bytes)
    req, entry, job = await run_in_threadpool(_prepare, state, body, chat)
    if state.draining:
        raise shutting_down()
    try:
        pending = state.engine.submit(job, stream=bool(req.stream))
    except ShuttingDown:
        raise shutting_down() from None
    except Overloaded as e:
        raise APIError(503, str(e), code="server_overloaded",
                       headers={"Retry-After": str(RETRY_AFTER_S)}) from None
    if req.stream:
        include = bool(req.stream_options and req.stream_options.include_usage)
        return StreamingResponse(stream_events(pending, chat=chat, model=entry.id,
                                               include_usage=include),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})
    await _wait(pending, request)
    rid, created = new_id("chatcmpl" if chat else "cmpl"), int(time.time())
    body_fn = chat_body if chat else completion_body
    return JSONResponse(body_fn(job, entry.id, rid, created))


def model_card(e, served) -> dict:
    """One ``/v1/models`` entry. No absolute paths (a page that reaches the server must not
    learn the machine's folders): ``root`` is the base model's name, or RUN_FOLDER/adapter for
    an adapter; ``run_dir`` is the run folder's name."""
    from pathlib import Path
    d = {"id": e.id, "object": "model", "created": e.created, "owned_by": "tunewise",
         "root": served.base.id, "parent": e.parent, "max_model_len": served.context_length}
    if e.adapter is not None:
        name = Path(e.run_dir).name if e.run_dir else e.id
        d.update(root=f"{name}/adapter", run_id=e.run_id, run_dir=name)
    if e.task is not None and getattr(e.task, "can_score_labels", False):
        # what a choice request (serving.choices) to a classification adapter lists
        d["labels"] = list(e.task.labels)
    return d


def build_router() -> APIRouter:
    router = APIRouter()
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(check_auth)])

    @v1.get("/models")
    async def list_models(request: Request):
        served = _state(request).served
        return {"object": "list", "data": [model_card(e, served) for e in served.entries]}

    @v1.get("/models/{model_id:path}")
    async def get_model(model_id: str, request: Request):
        return model_card(_resolve(_state(request), model_id), _state(request).served)

    @v1.post("/chat/completions")
    async def chat_completions(request: Request):
        return await _generate(request, chat=True)

    @v1.post("/completions")
    async def completions(request: Request):
        return await _generate(request, chat=False)

    @router.get("/health")
    async def health(request: Request):
        state = _state(request)
        # no model names here: /health answers without the API key
        return {"status": "draining" if state.draining else "ok",
                "queued": state.engine.queued, **state.engine.stats}

    router.include_router(v1)
    return router
