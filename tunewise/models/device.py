"""What the machine can do: native bf16 math on this CPU (or GPU)."""
from __future__ import annotations

def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 math (AVX512-BF16 / AMX), where autocast is faster."""
    try:
        import torch
        if torch.cuda.is_available():
            return torch.cuda.is_bf16_supported()
        caps = torch.backends.cpu.get_cpu_capability()
        if caps in ("AVX512_BF16", "AMX"):  # newer torch reports these directly
            return True
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = fh.read()
        return "avx512_bf16" in flags or "amx_bf16" in flags
    except Exception:  # pragma: no cover - no /proc on this platform
        return False
