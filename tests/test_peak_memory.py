"""The memory a training run adds at its peak (``tunewise.training.peak_memory``): measured on a
Linux CPU from the process's resident memory (the peak survives a free, a new measurement starts
from the memory held then), None where nothing is measured, and the larger peak kept across a
resume."""
from __future__ import annotations

import types
from pathlib import Path

import pytest
import torch

from tunewise.training.hardware import TrainHardware
from tunewise.training.peak_memory import RESIDENT, PeakMemory, larger
from tunewise.training.state import TrainState

CPU = torch.device("cpu")
linux = pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(),
                           reason="the CPU measurement reads Linux's /proc")


@linux
def test_cpu_peak_counts_what_was_allocated_since_the_start_even_after_a_free():
    mem = PeakMemory(CPU)
    assert mem.source == RESIDENT
    x = torch.ones(64 * 2 ** 20)                 # 256 MB, every page written
    del x
    assert mem.mb() >= 240                       # freed, but the peak held it
    again = PeakMemory(CPU)                      # a new run starts from what is held now
    assert again.mb() < 100


@linux
def test_memory_an_earlier_run_freed_is_counted_when_a_later_run_reuses_it():
    """Freed holes in the heap stay resident; without handing them back at the start, a run
    that reuses them would read ~140 of its 183 MB (a second SmolLM2 run: 528 of ~1,020 MB)."""
    keep, drop = [], []
    for _ in range(3000):                        # 64 KB blocks between 8 KB ones: holes
        drop.append(torch.ones(16_000))
        keep.append(torch.ones(2_000))
    del drop
    mem = PeakMemory(CPU)
    again = [torch.ones(16_000) for _ in range(3000)]      # 183 MB, fits in the holes
    assert mem.mb() >= 170
    del again, keep


def test_status_fields_give_the_growth_in_mb(tmp_path):
    status, clear = tmp_path / "status", tmp_path / "clear_refs"
    status.write_text("Name:\tpython\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n")
    mem = PeakMemory(CPU, status=status, clear_refs=clear)
    assert clear.read_text() == "5"              # the peak was reset when the run began
    assert mem.start == 1024 * 1024
    assert mem.mb() == pytest.approx(1.0)        # (2,048 - 1,024) kB
    status.write_text("VmHWM:\t    1536 kB\nVmRSS:\t    1024 kB\n")
    assert mem.mb() == pytest.approx(0.5)


def test_not_measured_is_none_never_a_guess(tmp_path):
    status = tmp_path / "status"
    status.write_text("VmHWM:\t 2048 kB\nVmRSS:\t 1024 kB\n")
    refused = PeakMemory(CPU, status=status, clear_refs=tmp_path / "no" / "clear_refs")
    assert refused.source is None and refused.mb() is None       # the reset was refused
    assert PeakMemory(CPU, status=tmp_path / "absent").mb() is None   # no /proc: macOS, Windows
    assert PeakMemory(torch.device("mps")).mb() is None          # Apple GPUs: no peak counter
    status.write_text("Name:\tpython\n")
    assert PeakMemory(CPU, status=status, clear_refs=tmp_path / "c").mb() is None


def test_a_resumed_run_keeps_the_larger_peak():
    st = TrainState.from_dict(TrainState(peak_memory_mb=300.0).to_dict())   # from a checkpoint
    assert st.peak_memory_mb == 300.0

    def hw(value):
        return types.SimpleNamespace(memory=types.SimpleNamespace(mb=lambda: value))
    assert TrainHardware.peak_memory_mb(hw(120.0), st) == 300.0
    assert TrainHardware.peak_memory_mb(hw(450.0), st) == 450.0 and st.peak_memory_mb == 450.0
    assert TrainHardware.peak_memory_mb(hw(None), st) == 450.0
    assert larger(None, None) is None and larger(None, 2.0) == 2.0 and larger(3.0, None) == 3.0
