"""uvicorn as ``tunewise serve`` runs it: a read deadline, a connection cap and a drain that
answers what it cannot finish.

- **Read deadline** (``read_timeout_s``): a request must arrive whole (headers and body) within
  that many seconds of its first byte, or of the connection being opened. A client that is slower
  (slowloris: one header byte every few seconds, a body shorter than its Content-Length) gets 408
  and its connection is closed. uvicorn's h11 protocol has no such timeout: its keep-alive timer
  is reset by every byte.
- **Connection cap** (``max_connections``): a connection past the cap is answered 503 (with
  Retry-After) and closed at once, so idle sockets cannot use up the process's file descriptors;
  with the deadline, ``/health`` is reachable again within ``read_timeout_s``.
- **Drain** (``drain_timeout_s``): on SIGTERM / Ctrl-C the server stops accepting, lets requests
  in flight finish, and when the drain timeout passes aborts the engine: queued and running
  requests are answered 503 ``shutting_down`` (JSON), streams end with an error event and
  ``[DONE]``. uvicorn's own timeout (a few seconds later) cancels what is left, and the engine's
  thread is stopped off the event loop, so the process exits on time.
"""
from __future__ import annotations

import asyncio
import http
import json
import logging

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from tunewise.serving.errors import error_body

log = logging.getLogger("tunewise.serving")

#: seconds between the drain deadline (503s sent) and uvicorn cancelling what is left
ANSWER_GRACE_S = 3.0


def raw_response(status: int, message: str, code: str, headers: dict | None = None) -> bytes:
    """A complete HTTP/1.1 response with OpenAI's error JSON that closes the connection (written
    straight to the socket: used where no ASGI cycle can answer)."""
    body = json.dumps(error_body(status, message, code=code)).encode("utf-8")
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
             "content-type: application/json", f"content-length: {len(body)}",
             "connection: close", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a per-request read deadline and a connection cap (the two
    limits are class attributes: ``protocol_class`` makes a subclass with the configured ones)."""

    read_timeout: float = 10.0
    max_connections: int = 512

    def connection_made(self, transport) -> None:
        self._timer = None
        self._refused = len(self.connections) >= self.max_connections
        if self._refused:
            self.transport = transport
            log.info("refusing a connection: %d are open (--max-connections)",
                     len(self.connections))
            transport.write(raw_response(
                503, f"the server has {len(self.connections)} open connections, its limit "
                     "(tunewise serve --max-connections); retry shortly", "too_many_connections",
                {"retry-after": "1"}))
            transport.close()
            return
        super().connection_made(transport)
        self._arm()  # a client that connects and sends nothing is on the clock too

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if not self._receiving():
            self._disarm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _receiving(self) -> bool:
        """Is a request partly received (headers incomplete, or body not yet whole)?"""
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            return True
        return state is h11.IDLE and bool(self.conn.trailing_data[0])

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = self.loop.call_later(self.read_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        idle = self.conn.their_state is h11.IDLE and not self.conn.trailing_data[0]
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY) or (
                idle and self.cycle is not None):
            return  # the request arrived meanwhile; idle kept-alive connections: uvicorn's timer
        client = "%s:%d" % self.client if self.client else "a client"
        log.info("closing the connection of %s: its request did not arrive whole within %g s "
                 "(--read-timeout)", client, self.read_timeout)
        cycle = self.cycle if self.cycle is not None and not self.cycle.response_complete \
            else None
        if cycle is None or not cycle.response_started:
            if cycle is not None:  # the app is reading the body: it sees a disconnect, and its
                cycle.disconnected = True  # answer (if any) goes nowhere
                cycle.message_event.set()
            self.transport.write(raw_response(
                408, f"the request did not arrive whole within {self.read_timeout:g} s "
                     "(tunewise serve --read-timeout)", "request_timeout"))
        self.transport.close()


def protocol_class(read_timeout: float, max_connections: int) -> type:
    return type("TunewiseH11Protocol", (GuardedH11Protocol,),
                {"read_timeout": float(read_timeout), "max_connections": int(max_connections)})


class DrainingServer(uvicorn.Server):
    """``uvicorn.Server`` whose shutdown marks the app draining and, at the drain deadline,
    aborts the engine so that every request still in flight is answered (see the module
    docstring)."""

    def __init__(self, config: uvicorn.Config, *, state, drain_s: float):
        super().__init__(config)
        self.state, self.drain_s = state, float(drain_s)

    async def shutdown(self, sockets=None) -> None:
        self.state.draining = True
        timer = asyncio.get_running_loop().call_later(self.drain_s, self._deadline)
        try:
            await super().shutdown(sockets)
        finally:
            timer.cancel()

    def _deadline(self) -> None:
        engine = self.state.engine
        log.warning("drain timeout (%g s) passed: answering the requests still in flight (%d "
                    "queued) with 503 shutting_down", self.drain_s, engine.queued)
        engine.abort()


def build_server(app, *, host: str | None = None, port: int | None = None) -> DrainingServer:
    """The uvicorn server for a ``create_app`` app (or an ASGI wrapper exposing its ``state``),
    with its ServeConfig's limits (``host`` / ``port`` override the config's: tests pick a free
    port)."""
    state = getattr(getattr(app, "state", None), "tunewise", None)
    if state is None:
        raise TypeError("build_server runs an app made by tunewise.serving.create_app (or an "
                        "ASGI wrapper that exposes its .state)")
    cfg = state.config
    config = uvicorn.Config(
        app, host=host or cfg.host, port=int(cfg.port if port is None else port),
        http=protocol_class(cfg.read_timeout_s, cfg.max_connections), log_level="warning",
        access_log=False, timeout_graceful_shutdown=cfg.drain_timeout_s + ANSWER_GRACE_S)
    return DrainingServer(config, state=state, drain_s=cfg.drain_timeout_s)
