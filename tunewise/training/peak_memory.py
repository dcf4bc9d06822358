"""The memory one training run adds at its peak (run.json ``timing.peak_memory_mb``): what must be
free on the device beyond what the process already held when the run began.

- **CUDA**: ``torch.cuda.max_memory_allocated`` minus the memory allocated when the run started
  (the peak statistics are reset then): the run's weights, adapters, optimizer state, gradients
  and activations as torch's allocator counts them. The CUDA context (some 300-500 MB) and the
  allocator's cached free blocks come on top: ``nvidia-smi`` shows more.
- **CPU on Linux**: the process's peak resident memory (``VmHWM`` in /proc/self/status, reset by
  writing 5 to /proc/self/clear_refs when the run starts) minus its resident memory then: the
  growth the run caused, its own footprint since it loads its own copy of the model. Memory an
  earlier run freed would be reused unseen (a second SmolLM2 run in one process read 528 MB
  where the first read 1,255), so the start first hands freed memory back to the system
  (``gc.collect`` and glibc's ``malloc_trim``; three runs then read 1,272 / 1,051 / 1,050 MB,
  the first's extra ~220 MB being one-off imports and set-up a fresh process pays).
- **Elsewhere** (Apple MPS, macOS or Windows CPU), or where the device refuses a reset or a
  reading: None, "not measured"; never a guess, and never an error that ends the run.

A resumed run reports the larger of its processes' peaks (``TrainState.peak_memory_mb`` is in
every checkpoint). In a multi-process run each process measures its own device; run.json has
the main process's.

    mem = PeakMemory(torch.device("cpu"))     # at the start of the run
    ...                                       # load the model, train
    mem.mb()                                  # e.g. 812.4
"""
from __future__ import annotations

import ctypes
import gc
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_MB = 2 ** 20
#: ``PeakMemory.source`` values: what was measured
CUDA, RESIDENT = "cuda allocated", "process resident"


class PeakMemory:
    """The peak memory added on ``device`` from now on (see the module docstring)."""

    def __init__(self, device, *, status: Path = _STATUS, clear_refs: Path = _CLEAR_REFS):
        self.device, self._status, self._clear = device, Path(status), Path(clear_refs)
        self.source: str | None = None
        self.start = 0.0
        try:
            if device.type == "cuda":
                import torch
                torch.cuda.reset_peak_memory_stats(device)
                self.start, self.source = float(torch.cuda.memory_allocated(device)), CUDA
            elif device.type == "cpu" and self._status.is_file():
                _release_freed_memory()
                self._clear.write_text("5")          # VmHWM := VmRSS
                self.start, self.source = _status_bytes(self._status, "VmRSS"), RESIDENT
        except Exception:      # noqa: BLE001 - a measurement never ends a run: not measured
            self.source = None

    def mb(self) -> float | None:
        """MB the run added at its peak so far; None where it is not measured."""
        try:
            if self.source == CUDA:
                import torch
                peak = float(torch.cuda.max_memory_allocated(self.device))
            elif self.source == RESIDENT:
                peak = _status_bytes(self._status, "VmHWM")
            else:
                return None
        except Exception:      # noqa: BLE001 - as above
            return None
        return round(max(0.0, peak - self.start) / _MB, 1)


def larger(a: float | None, b: float | None) -> float | None:
    """The larger of two peaks, either of which may be unmeasured (None)."""
    return b if a is None else a if b is None else max(a, b)


def _release_freed_memory() -> None:
    """Return the memory the process freed to the system (glibc; a no-op elsewhere), so that
    a run reusing it is seen growing."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):     # not glibc (musl, macOS): nothing to hand back
        pass


def _status_bytes(status: Path, field: str) -> float:
    for line in status.read_text(encoding="utf-8").splitlines():
        if line.startswith(field + ":"):            # "VmHWM:	  812345 kB"
            return float(line.split()[1]) * 1024
    raise ValueError(f"no {field} in {status}")
