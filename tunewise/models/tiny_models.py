"""Tiny randomly initialised models for tests: a forward/backward pass takes milliseconds.

- ``tiny-random``: a 2-layer Llama with the real SmolLM2 tokenizer and its ChatML template.
- ``tiny-random-gemma``: a 2-layer Gemma 3 (sliding-window and full attention layers, Gemma's
  ``<bos>``/``<eos>``/``<pad>`` and turn tokens, Gemma's turn format) on the SmolLM2 vocabulary,
  which still holds ChatML's ``<|im_end|>``: code that picks the closing token by vocabulary
  instead of by template fails on it. The same tokenizer everywhere, whether or not the real
  Gemma packages are installed.

Both are built from the SmolLM2 tokenizer folder passed in (the embedded model's cache) and seeded,
so every machine builds the same weights.
"""
from __future__ import annotations

from pathlib import Path

#: the tiny Llama: small enough that a forward/backward pass takes milliseconds
TINY_CONFIG = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                   max_position_embeddings=2048, tie_word_embeddings=True,
                   rms_norm_eps=1e-5, rope_theta=100000.0)

#: the tiny Gemma 3: a sliding window shorter than a typical test prompt, so the sliding
#: attention layer's masking is exercised (the real 270M model's window is 512 tokens)
TINY_GEMMA_CONFIG = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                         query_pre_attn_scalar=16, max_position_embeddings=2048,
                         sliding_window=32, layer_types=["sliding_attention", "full_attention"],
                         tie_word_embeddings=True, rms_norm_eps=1e-6)

#: the special tokens the tiny Gemma adds to the SmolLM2 vocabulary
GEMMA_SPECIALS = {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>"}
GEMMA_TURN_TOKENS = ["<start_of_turn>", "<end_of_turn>"]


def build_tiny_llama(out: Path, *, tokenizer_dir: Path, name: str) -> None:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    cfg = LlamaConfig(vocab_size=len(tok), bos_token_id=tok.bos_token_id,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **TINY_CONFIG)
    torch.manual_seed(0)  # the same tiny model everywhere
    model = LlamaForCausalLM(cfg)
    model.config.name_or_path = name
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)


def build_tiny_gemma(out: Path, *, tokenizer_dir: Path, name: str, chat_template: str) -> None:
    import torch
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    tok.add_special_tokens(dict(GEMMA_SPECIALS))
    tok.add_tokens(list(GEMMA_TURN_TOKENS), special_tokens=True)
    tok.chat_template = chat_template
    cfg = Gemma3TextConfig(vocab_size=len(tok), bos_token_id=tok.bos_token_id,
                           eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                           **TINY_GEMMA_CONFIG)
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(cfg)
    model.config.name_or_path = name
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
