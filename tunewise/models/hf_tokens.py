"""``HFCounter``: chat-formatted token counts with a local model's own Hugging Face tokenizer and
chat template (the Rust ``tokenizers`` backend straight from ``tokenizer.json`` when the folder has
one; ``load_tokenizer`` otherwise)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from tunewise.models.chat_templates import fallback_template
from tunewise.models.token_base import TokenCounter

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
        self._template = _compile(template or fallback_template(self._has_token))
        self._measure_overhead()

    def _has_token(self, text: str) -> bool:
        """Whether ``text`` is one token of the vocabulary (picks the fallback template)."""
        if (self.path / "tokenizer.json").is_file():
            added = _read_json(self.path / "tokenizer.json").get("added_tokens") or []
            return any(t.get("content") == text for t in added)
        tok = self._load_hf()
        return tok.convert_tokens_to_ids(text) not in (None, tok.unk_token_id)

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
    from tunewise.models.catalog import lookup
    from tunewise.models.load import resolve
    builtin = lookup(name)
    if builtin is not None:
        d = tunewise_home() / "models" / builtin.name
        if (d / "config.json").exists() and (d / "tokenizer.json").exists():
            return builtin.name, str(d)
    return resolve(name)


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
