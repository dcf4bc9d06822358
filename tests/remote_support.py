"""Real HTTP for the remote-arm tests: a request-counting wrapper around the `tunewise serve` app,
a fault-injecting HTTP proxy (plain asyncio sockets) to put in front of it, and ``FakeOpenAI``:
the same fault injection answering by itself (no model), one fault per URL prefix."""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
from typing import Callable

from tests.serve_support import free_port


@contextlib.contextmanager
def counting_server(runs: dict):
    """`tunewise serve` on tiny-random with the trained adapter ``runs["a"]`` served as "a",
    behind a ``CountingApp`` (``server.counter``) so tests count the requests it answered."""
    from tests.serve_support import Server
    from tunewise.serving import create_app
    app = CountingApp(create_app(model="tiny-random", adapters={"a": str(runs["a"])}))
    with Server(app) as s:
        s.counter = app
        yield s


class CountingApp:
    """ASGI wrapper: counts POSTs to /v1/chat/completions and keeps a hash of each body."""

    def __init__(self, app):
        self.app = app
        self.state = getattr(app, "state", None)     # what `tunewise serve`'s server reads
        self.bodies: list[str] = []
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return len(self.bodies)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            return await self.app(scope, receive, send)
        chunks = []
        while True:
            msg = await receive()
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        body = b"".join(chunks)
        with self._lock:
            self.bodies.append(body_hash(body))
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        return await self.app(scope, replay, send)


def body_hash(body: bytes) -> str:
    """Hash of a request body's JSON (key order ignored)."""
    try:
        obj = json.loads(body)
        body = json.dumps(obj, sort_keys=True).encode()
    except ValueError:
        pass
    return hashlib.sha256(body).hexdigest()


#: what the proxy can do to one chat request instead of forwarding it
FAULTS = ("429", "500", "drop", "slow", "malformed", "ctype", "no_logprobs", "refuse_logprobs",
          "no_usage", "ok")


def _response(status: int, reason: str, body: bytes, ctype: str, extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n").encode() + body


class FaultProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 forwarding to ``upstream`` (http://host:port). Each chat
    request takes the next fault from ``faults`` (a list, then "ok"), or ``faults(n)`` for the
    n-th chat request (0-based). ``slow_s``: how long "slow" waits before forwarding; ``port``:
    a fixed port (a healthy proxy replacing a faulty one keeps the base URL, hence the cache)."""

    def __init__(self, upstream: str, faults: list[str] | Callable[[int], str] = (), *,
                 slow_s: float = 3.0, port: int | None = None):
        self.upstream = upstream.rstrip("/")
        self.faults = faults if callable(faults) else list(faults)
        self.slow_s = slow_s
        self.port = port or free_port()
        self.seen: list[str] = []          # the fault applied to each chat request
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _next_fault(self) -> str:
        n = len(self.seen)
        if callable(self.faults):
            f = self.faults(n)
        else:
            f = self.faults[n] if n < len(self.faults) else "ok"
        self.seen.append(f)
        return f

    def _run(self):
        asyncio.set_event_loop(self._loop)

        async def main():
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            self._ready.set()
            async with self._server:
                await self._server.serve_forever()
        try:
            self._loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass

    def __enter__(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        def stop():
            self._server.close()
            for t in asyncio.all_tasks(self._loop):
                t.cancel()
        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)

    async def _handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", 0) or 0))
            fault = self._next_fault() if path.endswith("/chat/completions") else "ok"
            out = await self._answer(fault, method, path, headers, body)
            if out is not None:
                writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _answer(self, fault, method, path, headers, body) -> bytes | None:
        err = lambda msg: json.dumps({"error": {"message": msg, "type": "x"}}).encode()  # noqa
        if fault == "drop":
            return None
        if fault == "429":
            return _response(429, "Too Many Requests", err("rate limited"), "application/json",
                             "Retry-After: 1\r\n")
        if fault == "500":
            return _response(500, "Internal Server Error", err("boom"), "application/json")
        if fault == "malformed":
            return _response(200, "OK", b'{"id": "x", "choices": [', "application/json")
        if fault == "ctype":
            return _response(200, "OK", b"<html><body>502 Bad Gateway</body></html>",
                             "text/html")
        if fault == "refuse_logprobs" and b'"logprobs"' in body:
            return _response(400, "Bad Request", err("logprobs are not supported by this "
                                                     "server"), "application/json")
        if fault == "slow":
            await asyncio.sleep(self.slow_s)
        status, ctype, data = await asyncio.to_thread(self._forward, method, path, headers, body)
        if fault in ("no_logprobs", "no_usage") and status == 200:
            obj = json.loads(data)
            if fault == "no_usage":
                obj.pop("usage", None)
            for c in obj.get("choices", []) if fault == "no_logprobs" else []:
                c["logprobs"] = None
            data = json.dumps(obj).encode()
        return _response(status, "X", data, ctype)

    def _forward(self, method, path, headers, body):
        import httpx
        keep = {k: v for k, v in headers.items()
                if k in ("content-type", "authorization", "accept")}
        r = httpx.request(method, self.upstream + path, headers=keep, content=body, timeout=60)
        return r.status_code, r.headers.get("content-type", "application/json"), r.content


#: what ``FakeOpenAI`` does, chosen by the URL (``http://127.0.0.1:PORT/<mode>/v1``)
FAKE_MODES = ("ok", "bad_message", "bad_usage", "bad_logprob", "bad_content", "trickle",
              "echo_key", "huge_usage", "500")


class FakeOpenAI(FaultProxy):
    """An OpenAI-compatible server on 127.0.0.1 that answers every chat request by itself:
    "positive" with top logprobs (positive -0.1, negative -2.5) and usage 10 + 1 tokens, unless
    the mode in the URL (``FAKE_MODES``; ``url_for(mode)``) or ``self.mode`` says otherwise.
    ``requests`` counts chat requests per mode; ``auth`` keeps every request's Authorization
    header (the tests look for keys that must not be sent); ``trickle_s``: seconds between two
    bytes of a trickled answer."""

    def __init__(self, *, trickle_s: float = 0.5, port: int | None = None):
        super().__init__("http://unused", port=port)
        self.trickle_s = trickle_s
        self.mode: str | None = None                # overrides the URL's mode when set
        self.requests: dict[str, int] = {}
        self.auth: list[str] = []

    def url_for(self, mode: str = "ok", userinfo: str = "") -> str:
        return f"http://{userinfo}127.0.0.1:{self.port}/{mode}/v1"

    async def _handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", 0) or 0))
            self.auth.append(headers.get("authorization", ""))
            mode = self.mode or path.strip("/").split("/")[0]
            if not path.endswith("/chat/completions"):
                out = _response(404, "Not Found", b'{"error": {"message": "no such path"}}',
                                "application/json")
            else:
                self.requests[mode] = self.requests.get(mode, 0) + 1
                out = self._canned(mode, headers, body)
            if mode == "trickle" and path.endswith("/chat/completions"):
                for i in range(len(out)):
                    writer.write(out[i:i + 1])
                    await writer.drain()
                    await asyncio.sleep(self.trickle_s)
            else:
                writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def _canned(self, mode: str, headers: dict, body: bytes) -> bytes:
        if mode == "500":
            return _response(500, "Internal Server Error",
                             b'{"error": {"message": "boom", "type": "x"}}', "application/json")
        alts = [{"token": "positive", "logprob": -0.1}, {"token": "negative", "logprob": -2.5}]
        text = "positive"
        if mode == "echo_key":
            text = f"positive (you sent {headers.get('authorization', '')})"
        message: object = {"role": "assistant", "content": text}
        usage: dict = {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
        content: object = [{"token": "positive", "logprob": -0.1, "top_logprobs": alts}]
        if mode == "bad_message":
            message = "positive"
        elif mode == "bad_usage":
            usage["prompt_tokens"] = "many"
        elif mode == "bad_logprob":
            content[0]["top_logprobs"][0]["logprob"] = "x"
        elif mode == "bad_content":
            content = [1, 2, 3]
        elif mode == "huge_usage":
            usage["prompt_tokens"] = 10_000_000
        obj = {"id": "chatcmpl-fake", "object": "chat.completion", "model": "fake",
               "choices": [{"index": 0, "message": message, "finish_reason": "stop",
                            "logprobs": {"content": content}}],
               "usage": usage}
        return _response(200, "OK", json.dumps(obj).encode(), "application/json")


def gpt_4o_mini_answering(folder) -> str:
    """A user price file (for ``TUNEWISE_PRICES``) that keeps gpt-4o-mini answering on any day:
    its shutdown 30 days from today, its last fine-tuning jobs 22 days from today. The shipped
    table shuts it down on 2027-01-14, and a hosted model past that is refused before any
    request; the tests that call it are about pricing, retries and secrets, and still see its
    "retires in N days" warning (the shipped dates themselves: test_remote_units.py)."""
    import datetime as dt
    from pathlib import Path
    today = dt.date.today()
    path = Path(folder) / "prices-gpt-4o-mini-answering.yaml"
    path.write_text("models:\n  gpt-4o-mini-2024-07-18:\n"
                    f"    retires: '{today + dt.timedelta(days=30)}'\n"
                    f"    training_ends: '{today + dt.timedelta(days=22)}'\n")
    return str(path)
