"""Dynamic batching: concurrent requests are decoded together, one adapter per batch.

Requests queue up; one worker thread takes the oldest, waits at most ``batch_wait_s`` (counted
from that request's arrival, so a request that already waited behind a running batch waits no
more) for others to join, and decodes up to ``max_batch`` requests *for the same adapter* in one
batch (the base model is a batch of its own, with the adapters switched off). Requests for other
adapters wait for the next batch, oldest first, so no adapter starves. A request whose client is
gone is skipped before it starts and leaves a running batch at its next step.

The asyncio side talks to the worker through ``Pending``: ``submit`` hands a job over, the worker
pushes text deltas and the end back with ``loop.call_soon_threadsafe``.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field

from tunewise.serving.decode import Decoder, Job

log = logging.getLogger("tunewise.serving")


@dataclass
class Pending:
    """The asyncio view of one job: an event queue filled from the worker thread."""

    job: Job
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    arrived: float = field(default_factory=time.monotonic)

    def push(self, event: tuple) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)
        except RuntimeError:  # the event loop is closed: nobody is listening any more
            pass

    async def events(self):
        """("delta", text, logprobs) ... then ("done", None) or ("error", message)."""
        while True:
            ev = await self.queue.get()
            yield ev
            if ev[0] in ("done", "error"):
                return


class Engine:
    """Owns the model; one worker thread runs every forward pass."""

    def __init__(self, served, *, max_batch: int = 32, batch_wait_s: float = 0.01,
                 bf16: bool = False):
        self.served = served
        self.decoder = Decoder(served.model, served.tokenizer, bf16=bf16)
        self.max_batch = max(1, int(max_batch))
        self.batch_wait_s = max(0.0, float(batch_wait_s))
        self._pending: collections.deque[Pending] = collections.deque()
        self._cv = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        #: counters for /health and the benchmark
        self.stats = {"requests": 0, "batches": 0, "batched_requests": 0, "cancelled": 0,
                      "errors": 0, "max_batch_seen": 0}

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tunewise-engine", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch in progress, fail what never started, stop the thread."""
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._cv:
            while self._pending:
                self._pending.popleft().push(("error", "the server is shutting down"))

    @property
    def queued(self) -> int:
        return len(self._pending)

    # -- the asyncio side -----------------------------------------------------------------------
    def submit(self, job: Job, *, stream: bool = False) -> Pending:
        p = Pending(job=job, loop=asyncio.get_running_loop())
        if stream:
            job.on_delta = lambda text, lps, last: p.push(("delta", text, lps))
        with self._cv:
            if self._stop:
                raise RuntimeError("the server is shutting down")
            self._pending.append(p)
            self.stats["requests"] += 1
            self._cv.notify()
        return p

    # -- the worker -----------------------------------------------------------------------------
    def _take_batch(self) -> list[Pending] | None:
        with self._cv:
            while not self._pending and not self._stop:
                self._cv.wait(0.5)
            if self._stop and not self._pending:
                return None
            # wait for company, counted from the oldest request's arrival
            oldest = self._pending[0]
            while (not self._stop and len(self._pending) < self.max_batch
                   and (left := oldest.arrived + self.batch_wait_s - time.monotonic()) > 0):
                self._cv.wait(left)
            adapter = self._pending[0].job.adapter
            batch, rest = [], collections.deque()
            while self._pending:
                p = self._pending.popleft()
                if p.job.cancelled.is_set():
                    self.stats["cancelled"] += 1
                    p.push(("done", None))
                elif p.job.adapter == adapter and len(batch) < self.max_batch:
                    batch.append(p)
                else:
                    rest.append(p)
            self._pending = rest
            return batch

    def _adapter_context(self, adapter: str | None):
        model = self.served.model
        if not self.served.adapters:  # a plain model (no PEFT wrapper)
            return contextlib.nullcontext()
        if adapter is None:
            return model.disable_adapter()
        model.set_adapter(adapter)
        return contextlib.nullcontext()

    def _run(self) -> None:
        import torch
        torch.set_grad_enabled(False)
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            if not batch:
                continue
            self.stats["batches"] += 1
            self.stats["batched_requests"] += len(batch)
            self.stats["max_batch_seen"] = max(self.stats["max_batch_seen"], len(batch))
            try:
                with self._adapter_context(batch[0].job.adapter):
                    self.decoder.run([p.job for p in batch])
            except Exception:  # a bug or an out-of-memory: answer, log, keep serving
                log.exception("decoding a batch of %d failed", len(batch))
                self.stats["errors"] += len(batch)
                for p in batch:
                    p.push(("error", "internal server error while generating (logged)"))
                continue
            for p in batch:
                if p.job.finish == "cancelled":
                    self.stats["cancelled"] += 1
                p.push(("done", None))
