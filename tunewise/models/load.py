"""Load a causal language model and its tokenizer by name.

Names accepted by ``load_model``:

- a built-in name (``catalog.py``): ``smollm2-135m-instruct`` (the default), ``gemma-3-270m``,
  ``tiny-random``, ``tiny-random-gemma``. Each is dequantized once from its packaged GGUF file
  (or built) into a safetensors cache under ``$TUNEWISE_HOME`` and loaded from there afterwards.
- a local Hugging Face model directory.
- a hub id (works where the hub is reachable or the model is in the local HF cache).

Remote code is never executed unless ``trust_remote_code=True`` is passed explicitly.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunewise.errors import ModelError
from tunewise.models.cache import tunewise_home  # noqa: F401  (re-exported)
from tunewise.models.catalog import (EMBEDDED_MODEL, GEMMA_MODEL, MODELS,  # noqa: F401
                                     TINY_RANDOM, TINY_RANDOM_GEMMA, builtin_names, lookup)
from tunewise.models.chat_templates import fallback_template
from tunewise.registry import did_you_mean

DEFAULT_MODEL = EMBEDDED_MODEL

log = logging.getLogger(__name__)
# PEFT (0.21) reads transformers' `is_gradient_checkpointing`, deprecated in transformers 5: noise
# on every adapter load/creation that the user can do nothing about. Only that message is hidden.
warnings.filterwarnings("ignore", message=r".*`is_gradient_checkpointing` is deprecated",
                        category=FutureWarning)
_MEMO: dict[tuple, Any] = {}


@dataclass
class LoadedModel:
    model: Any          # transformers PreTrainedModel (possibly a PeftModel)
    tokenizer: Any      # transformers tokenizer with a chat template
    name: str           # the name the user gave (or the default)
    path: str           # where it was loaded from

    @property
    def context_length(self) -> int:
        return context_length(self.model.config)


def context_length(config) -> int:
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        val = getattr(config, key, None)
        if isinstance(val, int) and val > 0:
            return val
    return 2048


def model_context_length(name: str | None = None) -> int:
    """The context length of model ``name`` from its config alone (no weights loaded)."""
    from transformers import AutoConfig
    display, path = resolve(name)
    try:
        return context_length(AutoConfig.from_pretrained(path))
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot read the config of {display!r}: {_first_line(e)}",
                         fix="check the name; without internet only local folders and cached "
                             "hub models work") from None


def _quiet_transformers():
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except Exception:  # pragma: no cover
        pass


def embedded_dir() -> Path:
    """The safetensors cache of the embedded model, converting it on first use."""
    _quiet_transformers()
    return MODELS.get(EMBEDDED_MODEL).folder()


def resolve(name: str | None) -> tuple[str, str]:
    """Map a model name to (display name, path or hub id to load from)."""
    name = name or DEFAULT_MODEL
    builtin = lookup(name)
    if builtin is not None:
        _quiet_transformers()
        return builtin.name, str(builtin.folder())
    p = Path(name).expanduser()
    if p.exists():
        if not p.is_dir():
            raise ModelError(f"--model {name}: is a file, not a model directory",
                             fix="pass the folder holding config.json and the weights")
        if not (p / "config.json").exists():
            raise ModelError(f"--model {name}: no config.json in this folder",
                             fix="pass a Hugging Face model directory (config.json + weights)")
        return name, str(p)
    if "/" not in name:
        raise ModelError(
            f"unknown model {name!r}: not a built-in name, a local folder or a hub id (owner/name)",
            fix=f"{did_you_mean(name.lower(), builtin_names())}; or use a local directory "
                "or a hub id")
    return name, name  # hub id


def load_tokenizer(name: str | None = None, *, trust_remote_code: bool = False):
    """Load only the tokenizer (fast; used for token counts)."""
    from transformers import AutoTokenizer
    display, path = resolve(name)
    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load the tokenizer of {display!r}: {_first_line(e)}",
                         fix="check the name; without internet only local folders and cached "
                             "hub models work") from None
    _ensure_pad(tok)
    return tok


def load_model(name: str | None = None, *, adapter: str | os.PathLike | None = None,
               trust_remote_code: bool = False, dtype: str = "auto", device: Any = "auto",
               quantize: str = "none", memo: bool = False) -> LoadedModel:
    """Load model + tokenizer onto ``device`` (the device policy: ``auto|cpu|cuda|cuda:N|mps``
    or a ``torch.device``; a device this machine lacks raises ``DeviceError``). ``adapter``
    applies a saved PEFT adapter folder on top.

    ``dtype``: a torch dtype name, or ``auto``: fp32 on the CPU, the device's compute dtype
    (bf16, else fp16) on a GPU. ``quantize="4bit"``: the weights in 4-bit NF4 (bitsandbytes,
    CUDA only; for QLoRA training). ``memo=True`` returns the same object for the same
    arguments within this process (for evaluating several arms without reloading); never use it
    for a model you will train.
    """
    from tunewise.models import device as dev
    target = device if not isinstance(device, (str, type(None))) else dev.resolve_device(device)
    if dtype == "auto":
        dtype = dev.load_dtype(target, dev.training_precision(target))
    key = (name, str(adapter) if adapter else None, trust_remote_code, dtype, str(target),
           quantize)
    if memo and key in _MEMO:
        return _MEMO[key]
    _quiet_transformers()
    import torch
    from transformers import AutoModelForCausalLM
    display, path = resolve(name)
    tok = load_tokenizer(path, trust_remote_code=trust_remote_code) if lookup(display) is None \
        else load_tokenizer(display)
    extra = _quantized(quantize, target, dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=getattr(torch, dtype), trust_remote_code=trust_remote_code, **extra)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load model {display!r}: {_first_line(e)}",
                         fix="check the name; without internet only local folders, cached hub "
                             f"models and the built-in {', '.join(builtin_names())} work") from None
    if adapter:
        from peft import PeftModel
        try:
            # read onto the CPU beside the base weights; both move to the device below (a
            # quantized base is on its device already: the adapter goes there directly)
            model = PeftModel.from_pretrained(model, str(adapter),
                                              torch_device=str(target) if extra else "cpu")
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load adapter {adapter}: {_first_line(e)}",
                             fix="pass the adapter folder written by `tunewise train`") from None
    if not extra:                       # a quantized model is placed by its device_map
        model.to(target)
    model.eval()
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    lm = LoadedModel(model=model, tokenizer=tok, name=display, path=path)
    if memo:
        _MEMO[key] = lm
    return lm


def _quantized(quantize: str, device, dtype: str) -> dict:
    """from_pretrained arguments for 4-bit NF4 weights (QLoRA), or {} for ``none``."""
    if quantize in (None, "none"):
        return {}
    if quantize != "4bit":
        raise ModelError(f"--quantize {quantize}: unknown", fix="use --quantize 4bit or none")
    if device.type != "cuda":
        raise ModelError(f"--quantize 4bit needs a CUDA GPU (the device is {device})",
                         fix="run on a CUDA machine with --device cuda, or drop --quantize (LoRA "
                             "on full-precision weights)")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ModelError("--quantize 4bit needs the bitsandbytes package",
                         fix="pip install 'tunewise[gpu]'  (or pip install bitsandbytes)")
    import torch
    from transformers import BitsAndBytesConfig
    compute = torch.float16 if dtype == "float16" else torch.bfloat16
    return {"quantization_config": BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute), "device_map": {"": device.index or 0}}


def _ensure_pad(tok) -> None:
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if getattr(tok, "chat_template", None) is None:
        # Gemma's turn format for a Gemma vocabulary, else plain ChatML (chat_templates.py)
        unk = tok.unk_token_id
        tok.chat_template = fallback_template(
            lambda t: tok.convert_tokens_to_ids(t) not in (None, unk))


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
