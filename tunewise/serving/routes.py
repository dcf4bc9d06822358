"""The endpoints: /v1/models, /v1/chat/completions, /v1/completions, /health.

Bodies are read by hand (size-capped: 413 past ``max_request_bytes``, checked on the
Content-Length header first and again while reading) and validated with the pydantic models of
``schemas``, so every failure becomes OpenAI's error JSON with the right status.
"""
from __future__ import annotations

import asyncio
import hmac
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from tunewise.serving.decode import Job
from tunewise.serving.errors import APIError, validation_error
from tunewise.serving.responses import chat_body, completion_body, new_id, stream_events


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
                raise APIError(500, ev[1], code="internal_error")
    finally:
        watcher.cancel()


async def _generate(request: Request, *, chat: bool):
    from tunewise.serving.prompts import (chat_prompt, completion_prompt, sampling_params)
    from tunewise.serving.schemas import ChatCompletionRequest, CompletionRequest
    state = _state(request)
    cfg = state.config
    body = await read_body(request, cfg.max_request_bytes)
    req = parse(ChatCompletionRequest if chat else CompletionRequest, body)
    entry = _resolve(state, req.model)
    prompt = chat_prompt(state.served, entry, req) if chat else completion_prompt(state.served, req)
    params = sampling_params(state.served, entry, req, len(prompt),
                             max_tokens_limit=cfg.max_tokens_limit, chat=chat)
    if state.draining:
        raise APIError(503, "the server is shutting down", code="shutting_down")
    job = Job(prompt=prompt, params=params, adapter=entry.adapter)
    try:
        pending = state.engine.submit(job, stream=bool(req.stream))
    except RuntimeError as e:
        raise APIError(503, str(e), code="shutting_down") from None
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


def build_router() -> APIRouter:
    router = APIRouter()
    v1 = APIRouter(prefix="/v1", dependencies=[Depends(check_auth)])

    @v1.get("/models")
    async def list_models(request: Request):
        served = _state(request).served
        data = []
        for e in served.entries:
            d = {"id": e.id, "object": "model", "created": e.created, "owned_by": "tunewise",
                 "root": e.root, "parent": e.parent, "max_model_len": served.context_length}
            if e.run_id or e.run_dir:
                d["run_id"], d["run_dir"] = e.run_id, e.run_dir
            data.append(d)
        return {"object": "list", "data": data}

    @v1.get("/models/{model_id:path}")
    async def get_model(model_id: str, request: Request):
        e = _resolve(_state(request), model_id)
        served = _state(request).served
        return {"id": e.id, "object": "model", "created": e.created, "owned_by": "tunewise",
                "root": e.root, "parent": e.parent, "max_model_len": served.context_length}

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
