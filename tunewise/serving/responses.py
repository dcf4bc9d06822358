"""Response bodies and server-sent-event chunks in OpenAI's shapes.

A stream is ``data: {chunk}\\n\\n`` lines ending with ``data: [DONE]``. Chat: the first chunk
carries ``delta.role``, then content deltas, then a chunk with ``finish_reason``; with
``stream_options.include_usage`` every chunk has ``"usage": null`` and one last chunk with no
choices carries the usage. A stream that cannot finish (a failure of its own request, or the
server shutting down past its drain timeout) ends with ``data: {"error": {...}}`` (code
``internal_error`` or ``shutting_down``) and then ``data: [DONE]``. ``usage`` counts tokens with the served model's own tokenizer: the
prompt as rendered, and every generated token including the one that ended the answer.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Sequence

from tunewise.serving.decode import Job, TokenLogprob


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def finish_reason(job: Job) -> str:
    return "length" if job.finish == "length" else "stop"


def usage(job: Job) -> dict:
    return {"prompt_tokens": len(job.prompt), "completion_tokens": len(job.tokens),
            "total_tokens": len(job.prompt) + len(job.tokens)}


def _bytes(text: str) -> list[int]:
    return list(text.encode("utf-8"))


def chat_logprobs(entries: Sequence[TokenLogprob]) -> dict:
    return {"content": [
        {"token": e.text, "logprob": e.logprob, "bytes": _bytes(e.text),
         "top_logprobs": [{"token": t, "logprob": lp, "bytes": _bytes(t)} for _, t, lp in e.top]}
        for e in entries], "refusal": None}


def completion_logprobs(entries: Sequence[TokenLogprob], offset: int = 0) -> dict:
    offsets, pos = [], offset
    for e in entries:
        offsets.append(pos)
        pos += len(e.text)
    return {"tokens": [e.text for e in entries], "token_logprobs": [e.logprob for e in entries],
            "top_logprobs": [{t: lp for _, t, lp in e.top} for e in entries],
            "text_offset": offsets}


def chat_body(job: Job, model: str, rid: str, created: int) -> dict:
    choice = {"index": 0, "message": {"role": "assistant", "content": job.text, "refusal": None},
              "logprobs": chat_logprobs(job.logprobs) if job.params.logprobs else None,
              "finish_reason": finish_reason(job)}
    return {"id": rid, "object": "chat.completion", "created": created, "model": model,
            "choices": [choice], "usage": usage(job), "system_fingerprint": "tunewise"}


def completion_body(job: Job, model: str, rid: str, created: int) -> dict:
    choice = {"index": 0, "text": job.text,
              "logprobs": completion_logprobs(job.logprobs) if job.params.logprobs else None,
              "finish_reason": finish_reason(job)}
    return {"id": rid, "object": "text_completion", "created": created, "model": model,
            "choices": [choice], "usage": usage(job), "system_fingerprint": "tunewise"}


def sse(obj) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return f"data: {data}\n\n".encode("utf-8")


async def stream_events(pending, *, chat: bool, model: str, include_usage: bool):
    """The SSE byte chunks of one streamed request; cancels the job if the client goes away."""
    job = pending.job
    rid, created = new_id("chatcmpl" if chat else "cmpl"), int(time.time())
    obj = "chat.completion.chunk" if chat else "text_completion"
    extra = {"usage": None} if include_usage else {}
    sent_text = 0

    def chunk(delta_text: str | None, lps, finish: str | None, *, role: bool = False) -> dict:
        if chat:
            delta: dict = {}
            if role:
                delta["role"] = "assistant"
            if delta_text is not None:
                delta["content"] = delta_text
            choice = {"index": 0, "delta": delta,
                      "logprobs": chat_logprobs(lps) if (lps and job.params.logprobs) else None,
                      "finish_reason": finish}
        else:
            choice = {"index": 0, "text": delta_text or "",
                      "logprobs": (completion_logprobs(lps, sent_text)
                                   if (lps and job.params.logprobs) else None),
                      "finish_reason": finish}
        return {"id": rid, "object": obj, "created": created, "model": model,
                "choices": [choice], "system_fingerprint": "tunewise", **extra}

    try:
        if chat:
            yield sse(chunk("", None, None, role=True))
        async for ev in pending.events():
            if ev[0] == "delta":
                _, text, lps = ev
                if text or lps:
                    yield sse(chunk(text, lps, None))
                    sent_text += len(text)
            elif ev[0] == "error":
                yield sse({"error": {"message": ev[1], "type": "server_error", "param": None,
                                     "code": ev[2] or "internal_error"}})
                yield sse("[DONE]")
                return
            else:
                if job.finish == "cancelled":
                    return
                yield sse(chunk(None if chat else "", None, finish_reason(job)))
                if include_usage:
                    yield sse({"id": rid, "object": obj, "created": created, "model": model,
                               "choices": [], "system_fingerprint": "tunewise",
                               "usage": usage(job)})
                yield sse("[DONE]")
                return
    finally:
        # the client went away (or the stream ended): a job still running leaves its batch
        if job.finish is None:
            job.cancel()
