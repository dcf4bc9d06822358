"""Token counts with the target model's own encoding, chat-formatted, and context lengths.

- Local models (the embedded ``smollm2-135m-instruct``, ``tiny-random``, a model folder, a cached
  hub id): the model's Hugging Face tokenizer and chat template. When the folder has a
  ``tokenizer.json`` it is loaded straight into the Rust ``tokenizers`` backend (0.1 s instead of
  ~4 s for transformers) and texts are encoded in batches; otherwise ``load_tokenizer`` is used.
- OpenAI model names (gpt-4o*, gpt-4.1*, gpt-5*, o1/o3/o4* -> o200k_base; gpt-3.5*, gpt-4 ->
  cl100k_base): counted offline with ``bpe-openai`` (vocabularies embedded in the package), with
  OpenAI's chat accounting (3 tokens per message + 3 to prime the reply + 1 per name).

A count is the whole conversation rendered with the chat template (what training sees).

``length_bound`` gives a cheap upper bound from byte lengths: every token of a byte-level BPE
(and of WordPiece/SentencePiece) covers at least one byte of text, so tokens <= bytes of the
contents + the template's own tokens. ``check`` counts exactly only when that bound exceeds the
context, which keeps the per-example context check exact at a fraction of the cost.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from tunewise.errors import ModelError

#: longest training example (tokens) OpenAI fine-tuning accepts, by model family
OPENAI_CONTEXT = [
    ("gpt-3.5", 16_385), ("gpt-4o", 65_536), ("gpt-4.1", 65_536), ("gpt-4", 8_192),
    ("gpt-5", 65_536), ("o1", 65_536), ("o3", 65_536), ("o4", 65_536),
    ("davinci-002", 16_384), ("babbage-002", 16_384),
]
_O200K = ("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss")
_CL100K = ("gpt-3.5", "gpt-4", "gpt-35", "text-embedding-3", "text-embedding-ada")


def _base_name(model: str) -> str:
    m = model.strip().lower()
    if m.startswith("ft:"):                  # ft:gpt-4o-mini-2024-07-18:org::id
        m = m[3:].split(":", 1)[0]
    return m.removeprefix("openai/")


def openai_encoding_name(model: str) -> str | None:
    """o200k_base / cl100k_base for an OpenAI model name, None if it is not one."""
    m = _base_name(model)
    if m in ("o200k_base", "cl100k_base"):
        return m
    if any(m.startswith(p) for p in _O200K):
        return "o200k_base"
    if any(m.startswith(p) for p in _CL100K) or m in ("davinci-002", "babbage-002"):
        return "cl100k_base"
    return None


def is_openai_model(model: str | None) -> bool:
    return bool(model) and openai_encoding_name(model) is not None


class TokenCounter(ABC):
    """Counts tokens for one model. Use ``token_counter(name)`` (memoized)."""

    name: str
    kind: str                 # "hf" | "openai"
    context_length: int
    #: upper bound on the template's tokens per message and per conversation (see length_bound)
    per_message_overhead: int
    per_conversation_overhead: int

    @abstractmethod
    def count_texts(self, texts: Sequence[str]) -> list[int]:
        """Token count of each plain text."""

    @property
    def special_tokens(self) -> list[str]:
        """Texts the tokenizer turns into special tokens (chat markers, end of text...)."""
        return []

    @abstractmethod
    def count_messages(self, conversations: Sequence[Sequence[dict]]) -> list[int]:
        """Chat-formatted token count of each conversation (list of {"role", "content"})."""

    def count_examples(self, examples: Iterable, batch_size: int = 1024) -> list[int]:
        out: list[int] = []
        batch: list[list[dict]] = []
        for ex in examples:
            batch.append([_msg_dict(m) for m in ex.messages])
            if len(batch) >= batch_size:
                out += self.count_messages(batch)
                batch = []
        if batch:
            out += self.count_messages(batch)
        return out

    def length_bound(self, n_bytes: int, n_messages: int) -> int:
        """Upper bound on the chat-formatted tokens of a conversation whose text (contents, names,
        roles, or the whole JSON line holding them) is ``n_bytes`` long in UTF-8."""
        return (n_bytes + n_messages * (self.per_message_overhead + 1)
                + self.per_conversation_overhead)


def _msg_dict(m) -> dict:
    d = {"role": m.role, "content": m.content if m.content is not None else ""}
    if m.name:
        d["name"] = m.name
    if m.tool_calls:
        d["tool_calls"] = m.tool_calls
    return d


# -- OpenAI -----------------------------------------------------------------------------------
class OpenAICounter(TokenCounter):
    kind = "openai"

    def __init__(self, name: str):
        self.name = name
        self.encoding_name = openai_encoding_name(name)
        base = _base_name(name)
        self.context_length = next((n for p, n in OPENAI_CONTEXT if base.startswith(p)), 65_536)
        # 3 per message (+1 for a name) and 3 to prime the reply; role tokens are in the bytes
        self.per_message_overhead = 8
        self.per_conversation_overhead = 3
        self._enc = None

    @property
    def encoding(self):
        if self._enc is None:
            import bpe_openai
            self._enc = bpe_openai.get_encoding(self.encoding_name)
        return self._enc

    @property
    def special_tokens(self) -> list[str]:
        return ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                "<|endofprompt|>", "<|im_start|>", "<|im_end|>", "<|im_sep|>"]

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        enc = self.encoding.encode_ordinary   # special-token text counts as plain text
        return [len(enc(t)) for t in texts]

    def count_messages(self, conversations: Sequence[Sequence[dict]]) -> list[int]:
        enc = self.encoding.encode_ordinary
        out = []
        for conv in conversations:
            n = 3
            for m in conv:
                n += 3
                for key in ("role", "content", "name"):
                    v = m.get(key)
                    if isinstance(v, str):
                        n += len(enc(v)) + (1 if key == "name" else 0)
                if m.get("tool_calls"):
                    n += len(enc(json.dumps(m["tool_calls"])))
            out.append(n)
        return out


# -- Hugging Face -------------------------------------------------------------------------------
def _token_str(v) -> str | None:
    if isinstance(v, dict):
        return v.get("content")
    return v if isinstance(v, str) else None


class HFCounter(TokenCounter):
    kind = "hf"

    def __init__(self, name: str):
        self.name, path = _resolve(name)
        self.path = Path(path)
        self._rust = None
        self._hf_tok = None
        self._fast_chatml = None
        if (self.path / "tokenizer.json").is_file():
            cfg = _read_json(self.path / "tokenizer_config.json")
            template = _read_text(self.path / "chat_template.jinja") or cfg.get("chat_template")
            if isinstance(template, list):   # named templates
                template = next((t.get("template") for t in template if t.get("name") == "default"),
                                template[0].get("template") if template else None)
            self._specials = {k: _token_str(cfg.get(k)) for k in ("bos_token", "eos_token",
                                                                   "pad_token", "unk_token")}
            self.context_length = _context_from_config(self.path / "config.json")
        else:
            tok = self._load_hf()
            template = tok.chat_template
            self._specials = {k: getattr(tok, k, None) for k in ("bos_token", "eos_token",
                                                                 "pad_token", "unk_token")}
            self.context_length = _context_from_hub(path)
        self._template = _compile(template or _CHATML_TEMPLATE)
        self._measure_overhead()

    # rendering ------------------------------------------------------------------------------
    def _render_jinja(self, conv) -> str:
        return self._template.render(messages=list(conv), add_generation_prompt=False,
                                     tools=None, **{k: v or "" for k, v in self._specials.items()})

    def render(self, conv: Sequence[dict]) -> str:
        """The conversation as the chat template writes it (no generation prompt)."""
        if self._fast_chatml is not None:
            default_system = self._fast_chatml
            head = default_system if (not conv or conv[0].get("role") != "system") else ""
            return head + "".join(f"<|im_start|>{m['role']}\n{m.get('content') or ''}<|im_end|>\n"
                                  for m in conv)
        return self._render_jinja(conv)

    def _measure_overhead(self) -> None:
        probes = [[{"role": "user", "content": ""}],
                  [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}],
                  [{"role": "system", "content": ""}, {"role": "user", "content": ""},
                   {"role": "assistant", "content": ""}],
                  [{"role": "system", "content": ""}, {"role": "user", "content": ""},
                   {"role": "assistant", "content": ""}, {"role": "user", "content": ""},
                   {"role": "assistant", "content": ""}]]
        sizes = []
        for p in probes:
            try:
                sizes.append((len(p), len(self._render_jinja(p).encode("utf-8"))))
            except Exception:   # templates may reject some role orders  # noqa: BLE001
                continue
        if len(sizes) < 2:
            self.per_message_overhead, self.per_conversation_overhead = 256, 4096
        else:
            per = max(max((b2 - b1) / max(n2 - n1, 1) for (n1, b1), (n2, b2) in zip(sizes, sizes[1:])), 0)
            self.per_message_overhead = int(per) + 8
            self.per_conversation_overhead = max(b - n * self.per_message_overhead
                                                 for n, b in sizes) + 64
            self.per_conversation_overhead = max(self.per_conversation_overhead, 64)
        # the ChatML fast path: render with an f-string when it gives exactly the same text
        try:
            plain = "<|im_start|>user\nX<|im_end|>\n"
            one = self._render_jinja([{"role": "user", "content": "X"}])
            if one.endswith(plain):
                self._fast_chatml = one[: -len(plain)]
                tests = [[{"role": "system", "content": "S"}, {"role": "user", "content": "u\n v"},
                          {"role": "assistant", "content": " a "}],
                         [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                          {"role": "user", "content": "q2"}, {"role": "assistant", "content": ""}]]
                if any(self.render(t) != self._render_jinja(t) for t in tests):
                    self._fast_chatml = None
        except Exception:  # noqa: BLE001
            self._fast_chatml = None

    # counting -------------------------------------------------------------------------------
    @property
    def special_tokens(self) -> list[str]:
        if not hasattr(self, "_special_list"):
            found: list[str] = []
            if (self.path / "tokenizer.json").is_file():
                added = _read_json(self.path / "tokenizer.json").get("added_tokens") or []
                found = [t["content"] for t in added if t.get("special") and t.get("content")]
            elif self._hf_tok is not None:
                found = list(getattr(self._hf_tok, "all_special_tokens", []))
            self._special_list = found
        return self._special_list

    def _load_hf(self):
        if self._hf_tok is None:
            from tunewise.models.load import load_tokenizer
            self._hf_tok = load_tokenizer(str(self.path) if self.path.exists() else self.name)
        return self._hf_tok

    @property
    def rust(self):
        if self._rust is None:
            if (self.path / "tokenizer.json").is_file():
                import tokenizers
                self._rust = tokenizers.Tokenizer.from_file(str(self.path / "tokenizer.json"))
            else:
                tok = self._load_hf()
                self._rust = getattr(tok, "backend_tokenizer", None) or False
        return self._rust

    def count_texts(self, texts: Sequence[str]) -> list[int]:
        texts = list(texts)
        if not texts:
            return []
        rust = self.rust
        if rust:
            enc = getattr(rust, "encode_batch_fast", None) or rust.encode_batch
            return [len(e.ids) for e in enc(texts, add_special_tokens=False)]
        tok = self._load_hf()
        return [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]]

    def count_messages(self, conversations: Sequence[Sequence[dict]]) -> list[int]:
        return self.count_texts([self.render(c) for c in conversations])


def _resolve(name: str) -> tuple[str, str]:
    """Like models.load.resolve, without importing transformers when the cache is ready."""
    from tunewise.models.cache import tunewise_home
    from tunewise.models.load import EMBEDDED_MODEL, TINY_RANDOM, resolve
    key = name.lower()
    alias = EMBEDDED_MODEL if key in (EMBEDDED_MODEL, "smollm2", "default") else (
        TINY_RANDOM if key == TINY_RANDOM else None)
    if alias:
        d = tunewise_home() / "models" / alias
        if (d / "config.json").exists() and (d / "tokenizer.json").exists():
            return alias, str(d)
    return resolve(name)


_CHATML_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
                    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
                    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def _compile(template: str):
    """Compile a chat template the way transformers does (sandboxed, trim/lstrip blocks)."""
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: __import__("datetime").datetime.now().strftime(fmt)
    return env.from_string(template)


def _read_json(p: Path) -> dict:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _read_text(p: Path) -> str | None:
    try:
        return p.read_text(encoding="utf-8")
    except OSError:
        return None


def _context_from_config(p: Path) -> int:
    cfg = _read_json(p)
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        v = cfg.get(key) or (cfg.get("text_config") or {}).get(key)
        if isinstance(v, int) and v > 0:
            return v
    return 2048


def _context_from_hub(path: str) -> int:
    try:
        from transformers import AutoConfig
        from tunewise.models.load import context_length as ctx
        return ctx(AutoConfig.from_pretrained(path))
    except Exception:  # noqa: BLE001 - an unknown config: the common default
        return 2048


# -- public ---------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def token_counter(model: str | None = None) -> TokenCounter:
    """The counter for ``model`` (default: the embedded smollm2-135m-instruct)."""
    from tunewise.models.load import DEFAULT_MODEL
    name = model or DEFAULT_MODEL
    if is_openai_model(name):
        return OpenAICounter(name)
    try:
        return HFCounter(name)
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - any loader failure, in words
        raise ModelError(f"cannot load the tokenizer of {name!r}: {e}",
                         fix="pass --model with a local model folder, 'smollm2-135m-instruct', "
                             "'tiny-random' or an OpenAI model name such as gpt-4o-mini") from None


def context_length(model: str | None = None) -> int:
    """Longest sequence (tokens) the model accepts; for OpenAI names, the fine-tuning limit."""
    return token_counter(model).context_length


def count_tokens(examples: Iterable, model: str | None = None) -> list[int]:
    """Chat-formatted token count of each Example, with ``model``'s encoding."""
    return token_counter(model).count_examples(examples)
