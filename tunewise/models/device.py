"""The device policy: which device a model runs on, in which precision, with which speed tricks.

Decided here, once per model; every other module takes the device from the model
(``model_device``) and never asks ``torch.cuda`` on its own.

- ``resolve_device("auto")``: CUDA when present, else Apple's MPS, else the CPU. ``cuda``,
  ``cuda:N`` or ``mps`` on a machine without it is a ``DeviceError`` (exit 2), never a silent CPU
  run.
- ``training_precision(device, "auto")``: bf16 autocast where the device has bf16 math (recent
  NVIDIA GPUs, Apple GPUs on macOS 14+, CPUs with AVX512-BF16/AMX), fp16 autocast with loss
  scaling (``grad_scaler``) on GPUs without bf16, fp32 otherwise.
- ``load_dtype``: frozen weights on a GPU load in the compute dtype (half the memory of fp32:
  what lets a 7B LoRA fit a 24 GB card); on the CPU they load in fp32 as before (the CPU
  trick below keeps bf16 twins instead).
- ``SpeedPlan``: the CPU-only speed tricks (geometric-gap dropout masks, bf16 twins of frozen
  weights, eager attention for the CPU backward), each ``auto`` by default (on where it was
  measured to help: the CPU) and each a switch that can be turned off; ``describe()`` is the one
  log line saying what is on.
"""
from __future__ import annotations

import contextlib
import contextvars
import re
from dataclasses import dataclass
from typing import Any

from tunewise.errors import UsageError

#: what ``--device`` accepts (``cuda:N`` with N a GPU index)
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
#: training precisions (``auto`` = ``training_precision``'s rule)
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
#: switches of the CPU speed tricks: ``auto`` (on where measured to help), ``true``, ``false``
TRICK_SWITCHES = ("auto", "true", "false")


class DeviceError(UsageError):
    """A device that is not on this machine, or a precision it cannot run (exit 2)."""


# ---------------------------------------------------------------------------------------------
# which device
# ---------------------------------------------------------------------------------------------
def cuda_count() -> int:
    import torch
    try:
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken driver counts as no GPU
        return 0


def mps_built() -> bool:
    """Whether this torch build has the Apple-silicon (MPS) backend, usable here or not."""
    import torch
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_built())


def mps_available() -> bool:
    import torch
    mps = getattr(torch.backends, "mps", None)
    try:
        return bool(mps is not None and mps.is_available())
    except Exception:  # noqa: BLE001
        return False


#: the device ``auto`` stands for in this context (``use_device``): a command's ``--device``
_CHOSEN: contextvars.ContextVar[str] = contextvars.ContextVar("tunewise_device", default="auto")


@contextlib.contextmanager
def use_device(spec: str | None):
    """Within the block, ``auto`` (every model load that is not told otherwise) means ``spec``:
    how a command's ``--device`` reaches every model it loads. Checked on entry (a device this
    machine lacks raises ``DeviceError`` before any work)."""
    spec = (spec or "auto").strip().lower()
    resolve_device(spec)
    token = _CHOSEN.set(spec)
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def resolve_device(spec: str | None = "auto"):
    """``auto|cpu|cuda|cuda:N|mps`` as a ``torch.device`` that exists on this machine (``auto``:
    the ``use_device`` choice in force, else CUDA, else MPS, else the CPU)."""
    import torch
    text = (spec or "auto").strip().lower()
    if text == "auto" and _CHOSEN.get() != "auto":
        text = _CHOSEN.get()
    if text == "auto":
        if cuda_count():
            return torch.device("cuda", 0)
        return torch.device("mps") if mps_available() else torch.device("cpu")
    if text == "cpu":
        return torch.device("cpu")
    m = re.fullmatch(r"cuda(?::(\d+))?", text)
    if m:
        n = cuda_count()
        if n == 0:
            raise DeviceError(f"--device {spec}: this machine has no CUDA GPU that torch can use "
                              f"(torch {torch.__version__}, CUDA build: "
                              f"{torch.version.cuda or 'no'})",
                              fix="use --device auto or --device cpu here; on a GPU machine "
                                  "install a CUDA build of torch (tunewise doctor shows what "
                                  "torch sees)")
        index = int(m.group(1) or 0)
        if index >= n:
            raise DeviceError(f"--device {spec}: there are {n} CUDA GPU(s) (cuda:0..cuda:{n - 1})",
                              fix=f"use --device cuda:0 .. cuda:{n - 1}")
        return torch.device("cuda", index)
    if text == "mps":
        if not mps_available():
            raise DeviceError(f"--device {spec}: Apple's MPS backend is not available here",
                              fix="use --device auto or --device cpu (MPS needs a Mac with "
                                  "Apple silicon and a torch build with MPS)")
        return torch.device("mps")
    from tunewise.registry import did_you_mean
    raise DeviceError(f"unknown device {spec!r}",
                      fix=did_you_mean(text, ["auto", "cpu", "cuda", "mps"])
                      + " (or cuda:N for GPU N)")


def check_device_spec(spec: str | None) -> str | None:
    """A config problem for a device name that can never be valid, else None (whether the
    device is on this machine is ``resolve_device``'s question, asked when the model loads)."""
    text = (spec or "auto").strip().lower()
    if text in ("auto", "cpu", "mps") or re.fullmatch(r"cuda(?::\d+)?", text):
        return None
    return f"device: {spec!r} is not one of auto, cpu, cuda, cuda:N, mps"


def device_name(device) -> str:
    """The hardware behind ``device`` in words: the GPU's name, Apple GPU (MPS), CPU."""
    import torch
    if device.type == "cuda":
        try:
            return torch.cuda.get_device_name(device)
        except Exception:  # noqa: BLE001
            return "CUDA GPU"
    return {"mps": "Apple GPU (MPS)", "cpu": "CPU"}.get(device.type, device.type)


def device_label(device=None) -> str:
    """``cuda:0 (NVIDIA H100 80GB HBM3)``, ``cpu (CPU)``: the device (default: what ``auto``
    picks here and now) and its hardware, as results and reports name it."""
    device = resolve_device("auto") if device is None else device
    return f"{device} ({device_name(device)})"


def model_device(model):
    """The device of ``model``'s weights (where its inputs must go)."""
    import torch
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


# ---------------------------------------------------------------------------------------------
# which precision
# ---------------------------------------------------------------------------------------------
def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 math (AVX512-BF16 / AMX), where autocast is faster."""
    try:
        import torch
        caps = torch.backends.cpu.get_cpu_capability()
        if caps in ("AVX512_BF16", "AMX"):  # newer torch reports these directly
            return True
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = fh.read()
        return "avx512_bf16" in flags or "amx_bf16" in flags
    except Exception:  # noqa: BLE001 - no /proc on this platform
        return False


def bf16_supported(device) -> bool:
    """Native bf16 math on ``device``."""
    import torch
    if device.type == "cuda":
        try:
            return bool(torch.cuda.is_bf16_supported())
        except Exception:  # noqa: BLE001
            return False
    if device.type == "mps":
        try:
            torch.ones(1, dtype=torch.bfloat16, device=device)   # macOS 14+ only
            return True
        except Exception:  # noqa: BLE001
            return False
    return cpu_supports_bf16()


def training_precision(device, precision: str = "auto") -> str:
    """``bf16``, ``fp16`` or ``fp32`` for forward/backward on ``device``.

    ``auto``: bf16 where the device has bf16 math; on a GPU without it fp16 (with loss scaling:
    ``grad_scaler``); fp32 on a CPU without bf16 math. An explicit ``fp16`` on the CPU is refused
    (no fp16 math there: use bf16 or fp32)."""
    precision = (precision or "auto").lower()
    if precision not in PRECISIONS:
        from tunewise.registry import did_you_mean
        raise DeviceError(f"unknown precision {precision!r}", fix=did_you_mean(precision, PRECISIONS))
    if precision == "fp16" and device.type == "cpu":
        raise DeviceError("precision fp16 on the CPU: the CPU has no fp16 math",
                          fix="use --precision bf16 or fp32 on the CPU (auto picks for you)")
    if precision != "auto":
        return precision
    if bf16_supported(device):
        return "bf16"
    return "fp16" if device.type in ("cuda", "mps") else "fp32"


def torch_dtype(precision: str):
    import torch
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]


def load_dtype(device, precision: str, *, trained_weights: bool = False) -> str:
    """The dtype to load a model's weights in (a ``torch`` dtype name).

    On a GPU, weights that are not trained (inference, LoRA's frozen base) load in the compute
    dtype: half the memory of fp32. Weights that are trained (full fine-tuning) and everything on
    the CPU stay fp32 (the optimizer needs fp32 master weights; the CPU's bf16 twins of frozen
    weights are made during training only, so evaluation there stays exact)."""
    if device.type == "cpu" or trained_weights or precision == "fp32":
        return "float32"
    return {"bf16": "bfloat16", "fp16": "float16"}[precision]


def autocast(device, precision: str, *, cache: bool = True):
    """The autocast context of ``precision`` on ``device`` (nothing for fp32). ``cache=False``
    under gradient checkpointing: autocast's cache of weight casts makes the recomputation save
    fewer tensors than the first pass, which torch's checkpoint refuses."""
    if precision == "fp32":
        return contextlib.nullcontext()
    import torch
    return torch.autocast(device.type, dtype=torch_dtype(precision), cache_enabled=cache)


def grad_scaler(device, precision: str):
    """A loss scaler, enabled for fp16 only (bf16 has fp32's exponent range and needs none)."""
    import torch
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")


# ---------------------------------------------------------------------------------------------
# which speed tricks
# ---------------------------------------------------------------------------------------------
def switch(value: Any) -> str:
    """A trick switch as ``auto``, ``true`` or ``false`` (YAML booleans accepted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    return {"on": "true", "yes": "true", "off": "false", "no": "false"}.get(text, text)


@dataclass(frozen=True)
class SpeedPlan:
    """The speed tricks of one training run, decided from the device and the switches."""

    #: LoRA dropout masks drawn from geometric gaps (training/dropout.py): CPU only, where
    #: torch's ``bernoulli_`` was 18% of a bf16 forward; CUDA's Philox dropout is cheap
    gap_dropout: bool
    #: bf16 twins of the frozen weights during bf16 LoRA steps (model_setup.FrozenBf16): CPU
    #: only; on a GPU the frozen weights are loaded in the compute dtype instead
    frozen_bf16: bool
    #: eager attention (matmul + softmax) for rows of <= 1,024 tokens: CPU only, where SDPA's
    #: backward dominated the step; on CUDA the SDPA/flash kernels are faster
    eager_attention: bool
    #: recompute activations in the backward pass instead of keeping them (less memory, ~30%
    #: more compute)
    gradient_checkpointing: bool

    def describe(self) -> str:
        names = {"gap_dropout": "geometric-gap dropout", "frozen_bf16": "bf16 frozen-weight twins",
                 "eager_attention": "eager attention",
                 "gradient_checkpointing": "gradient checkpointing"}
        on = [label for key, label in names.items() if getattr(self, key)]
        off = [label for key, label in names.items() if not getattr(self, key)]
        return f"on: {', '.join(on) or 'none'}; off: {', '.join(off) or 'none'}"

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("gap_dropout", "frozen_bf16", "eager_attention",
                                              "gradient_checkpointing")}


#: ``gradient_checkpointing: auto`` turns it on for models of at least this many parameters
#: on a GPU (where memory, not compute, is what stops a bigger model); never on the CPU
CHECKPOINTING_MIN_PARAMS = 1_000_000_000


def speed_plan(device, precision: str, *, method: str, n_params: int = 0,
               gap_dropout: Any = "auto", frozen_bf16: Any = "auto",
               eager_attention: Any = "auto", gradient_checkpointing: Any = "auto") -> SpeedPlan:
    """Each trick: ``auto`` = on where it was measured to help (see ``SpeedPlan``)."""
    on_cpu = device.type == "cpu"

    def pick(value, auto: bool) -> bool:
        value = switch(value)
        return auto if value == "auto" else value == "true"

    return SpeedPlan(
        gap_dropout=pick(gap_dropout, on_cpu) and method == "lora",
        frozen_bf16=pick(frozen_bf16, on_cpu) and method == "lora" and precision == "bf16",
        eager_attention=pick(eager_attention, on_cpu),
        gradient_checkpointing=pick(gradient_checkpointing,
                                    not on_cpu and n_params >= CHECKPOINTING_MIN_PARAMS))


# ---------------------------------------------------------------------------------------------
# out of memory
# ---------------------------------------------------------------------------------------------
def is_out_of_memory(exc: BaseException) -> bool:
    """True for an out-of-memory error of any backend (CUDA, MPS, the CPU allocator)."""
    import torch
    if isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    text = str(exc).lower()
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        "out of memory" in text or "can't allocate memory" in text
        or isinstance(exc, MemoryError))


def free_cached_memory(device) -> None:
    """Return the allocator's cached blocks after an out-of-memory error."""
    import torch
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()
