"""A pretend CUDA GPU for testing the device policy on a CPU-only machine.

``fake_cuda(monkeypatch, bf16=True)`` makes ``torch.cuda`` report one GPU; every ``.to(cuda)`` of a
module or tensor is recorded (``FakeCuda.moves``) and then stays on the CPU, so the real code path
runs to the end here. What it proves: the policy chose the GPU, and the model and each batch were
sent to it. What it cannot prove: that CUDA kernels run (bench/gpu_check.py does, on a GPU).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import torch


@dataclass
class FakeCuda:
    moves: list = field(default_factory=list)
    #: what the allocator counters report: allocated now, and the peak since the last reset
    allocated: int = 100 * 2 ** 20
    peak: int = 612 * 2 ** 20
    resets: int = 0

    def modules_moved(self) -> list[str]:
        return [d for kind, d in self.moves if kind == "module"]

    def tensors_moved(self) -> int:
        return sum(kind == "tensor" for kind, _ in self.moves)


def _split(args, kwargs):
    """(cuda device or None, the same call without it)."""
    target = kwargs.get("device")
    rest = list(args)
    if target is None and rest and isinstance(rest[0], (str, torch.device)):
        target = rest.pop(0)
    if target is None or torch.device(target).type != "cuda":
        return None, args, kwargs
    kwargs = {k: v for k, v in kwargs.items() if k not in ("device", "non_blocking")}
    return torch.device(target), tuple(rest), kwargs


def fake_cuda(monkeypatch, *, bf16: bool = True, memory_gib: float = 24.0,
              name: str = "Fake GPU") -> FakeCuda:
    fake = FakeCuda()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: name)
    monkeypatch.setattr(torch.cuda, "set_device", lambda *a, **k: None)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: SimpleNamespace(
        name=name, total_memory=int(memory_gib * 1024 ** 3)))
    monkeypatch.setattr(torch.cuda, "reset_peak_memory_stats",
                        lambda *a, **k: setattr(fake, "resets", fake.resets + 1))
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda *a, **k: fake.allocated)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a, **k: fake.peak)
    module_to, tensor_to = torch.nn.Module.to, torch.Tensor.to

    def mod_to(self, *args, **kwargs):
        target, args, kwargs = _split(args, kwargs)
        if target is not None:
            fake.moves.append(("module", str(target)))
            return module_to(self, *args, **kwargs) if (args or kwargs) else self
        return module_to(self, *args, **kwargs)

    def ten_to(self, *args, **kwargs):
        target, args, kwargs = _split(args, kwargs)
        if target is not None:
            fake.moves.append(("tensor", str(target)))
            return tensor_to(self, *args, **kwargs) if (args or kwargs) else self
        return tensor_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", mod_to)
    monkeypatch.setattr(torch.Tensor, "to", ten_to)
    return fake
