"""Dynamic batching: concurrent requests are decoded together, one adapter per batch.

Requests queue up; one worker thread takes the oldest, waits at most ``batch_wait_s`` (counted
from that request's arrival, so a request that already waited behind a running batch waits no
more) for others to join, and decodes up to ``max_batch`` requests *for the same adapter* in one
batch (the base model is a batch of its own, with the adapters switched off). Requests for other
adapters wait for the next batch, oldest first, so no adapter starves. A request whose client is
gone is skipped before it starts and leaves a running batch at its next step.

The asyncio side talks to the worker through ``Pending``: ``submit`` hands a job over, the worker
pushes text deltas and the end back with ``loop.call_soon_threadsafe``.

Failures stay with their request: a row whose token cannot be chosen ends with an error while its
batch goes on (``Decoder``); when a batched forward pass itself fails, the jobs that have handed
out nothing yet are decoded again one at a time, so only the one that fails alone gets the error.
The queue is bounded (``max_queue``: ``Overloaded`` past it, answered 503 + Retry-After), and
``abort`` (the drain deadline of a shutdown) ends queued and running jobs at once with the
"shutting down" error instead of leaving them to be cut.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field

from tunewise.serving.decode import SHUTTING_DOWN, Decoder, Job

log = logging.getLogger("tunewise.serving")


class ShuttingDown(RuntimeError):
    """``submit`` after the server began to stop."""


class Overloaded(RuntimeError):
    """``submit`` with ``max_queue`` requests already waiting."""


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
        """("delta", text, logprobs) ... then ("done", None) or ("error", message, code)."""
        while True:
            ev = await self.queue.get()
            yield ev
            if ev[0] in ("done", "error"):
                return


class Engine:
    """Owns the model; one worker thread runs every forward pass."""

    def __init__(self, served, *, max_batch: int = 32, batch_wait_s: float = 0.01,
                 bf16: bool = False, max_queue: int = 256):
        self.served = served
        self.decoder = Decoder(served.model, served.tokenizer, bf16=bf16)
        from tunewise.serving.choices import ChoiceScorer
        self.chooser = ChoiceScorer(served.model, served.tokenizer, bf16=bf16,
                                    abort=self.decoder.abort)
        self.max_batch = max(1, int(max_batch))
        self.batch_wait_s = max(0.0, float(batch_wait_s))
        self.max_queue = max(1, int(max_queue))
        self._pending: collections.deque[Pending] = collections.deque()
        self._cv = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        #: counters for /health and the benchmark
        self.stats = {"requests": 0, "batches": 0, "batched_requests": 0, "cancelled": 0,
                      "errors": 0, "max_batch_seen": 0, "refused_overloaded": 0}

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tunewise-engine", daemon=True)
            self._thread.start()

    def abort(self, message: str = "the server is shutting down") -> None:
        """Stop now: refuse new jobs, fail every queued one and end the running batch at its next
        step (its unfinished jobs fail with code SHUTTING_DOWN). Safe from any thread."""
        self.decoder.abort.set()
        with self._cv:
            self._stop = True
            while self._pending:
                self._pending.popleft().push(("error", message, SHUTTING_DOWN))
            self._cv.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        """Abort (see ``abort``) and wait up to ``timeout`` s for the worker thread to end; it
        blocks, so call it off the event loop (``asyncio.to_thread``)."""
        self.abort()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the decoding thread did not stop within %.0f s; exiting anyway",
                            timeout)
            self._thread = None

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
                raise ShuttingDown("the server is shutting down")
            if len(self._pending) >= self.max_queue:
                self.stats["refused_overloaded"] += 1
                raise Overloaded(f"the server is busy: {len(self._pending)} requests are waiting "
                                 f"(tunewise serve --max-queue {self.max_queue}); retry shortly")
            self._pending.append(p)
            self.stats["requests"] += 1
            self._cv.notify()
        return p

    # -- the worker -----------------------------------------------------------------------------
    def _take_batch(self) -> list[Pending] | None:
        with self._cv:
            while not self._pending and not self._stop:
                self._cv.wait(0.5)
            if self._stop:
                return None
            # wait for company, counted from the oldest request's arrival
            oldest = self._pending[0]
            while (not self._stop and len(self._pending) < self.max_batch
                   and (left := oldest.arrived + self.batch_wait_s - time.monotonic()) > 0):
                self._cv.wait(left)
            if self._stop:  # aborted while waiting: abort() has answered the queue
                return None
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
            self._decode(batch)
            for p in batch:
                job = p.job
                if job.finish == "error":
                    self.stats["errors"] += job.error_code != SHUTTING_DOWN
                    p.push(("error", job.error, job.error_code))
                    continue
                if job.finish == "cancelled":
                    self.stats["cancelled"] += 1
                p.push(("done", None))

    def _work(self, jobs: list[Job]) -> None:
        """Score the choice jobs (``serving.choices``), decode the others."""
        chosen = [j for j in jobs if j.choices is not None]
        if chosen:
            self.chooser.run(chosen)
        rest = [j for j in jobs if j.choices is None]
        if rest:
            self.decoder.run(rest)

    def _decode(self, batch: list[Pending]) -> None:
        """Decode ``batch``; if the batched pass fails, decode each job that has handed out
        nothing yet on its own, so that only a job that fails alone ends with an error."""
        adapter = batch[0].job.adapter
        try:
            with self._adapter_context(adapter):
                self._work([p.job for p in batch])
            return
        except Exception:  # a bug or an out-of-memory: log it, then find whose it is
            log.exception("decoding a batch of %d failed%s", len(batch),
                          "; retrying its requests one at a time" if len(batch) > 1 else "")
        for p in batch:
            job = p.job
            if job.finish is not None:
                continue
            if len(batch) == 1 or job._sent or job._lp_sent:   # nothing to retry / already sent
                job.fail("internal server error while generating (logged on the server)")
                continue
            job.tokens, job.logprobs, job.text = [], [], ""
            try:
                with self._adapter_context(adapter):
                    self._work([job])
            except Exception:
                log.exception("decoding one request failed")
                job.fail("internal server error while generating (logged on the server)")
