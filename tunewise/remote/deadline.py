"""Wall-clock deadlines for HTTP calls made from worker threads.

httpx timeouts restart on every byte received: a server that trickles its answer one byte at a
time is never timed out. The remote client therefore makes its calls with the ``openai`` SDK's
async client on one event loop (a daemon thread, started on first use, once per process) and
bounds each call with ``asyncio.wait_for``: at the deadline the call is cancelled, its
connection closed, and ``DeadlineExceeded`` raised in the calling thread, whatever the server
was doing (connecting, trickling headers or body, or silent).

::

    loop = deadline.event_loop()
    body = deadline.call(lambda: sdk.chat.completions.create(...), timeout_s=60)
"""
from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, Awaitable, Callable


class DeadlineExceeded(Exception):
    """A call did not finish within its wall-clock deadline (it was cancelled)."""


_lock = threading.Lock()
_state: dict = {"loop": None, "pid": None}


def event_loop() -> asyncio.AbstractEventLoop:
    """The process's event loop for remote calls (made on first use; remade after a fork)."""
    with _lock:
        loop = _state["loop"]
        if loop is None or _state["pid"] != os.getpid() or loop.is_closed():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run():
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()
            threading.Thread(target=run, name="tunewise-remote-loop", daemon=True).start()
            ready.wait()
            _state.update(loop=loop, pid=os.getpid())
        return loop


def call(make: Callable[[], Awaitable[Any]], timeout_s: float | None) -> Any:
    """Run the coroutine ``make()`` on the shared loop and wait for its result; past
    ``timeout_s`` seconds (wall clock, from now) it is cancelled and ``DeadlineExceeded`` is
    raised. Its own exceptions pass through."""
    async def bounded():
        try:
            return await asyncio.wait_for(make(), timeout_s)
        except asyncio.TimeoutError:
            raise DeadlineExceeded(f"no answer within {timeout_s:g} s") from None
    return asyncio.run_coroutine_threadsafe(bounded(), event_loop()).result()
