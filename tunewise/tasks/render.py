"""Prompt and answer token ids, shared by label scoring, generation and training.

The prompt is rendered with the model's chat template and ``add_generation_prompt=True``; the
answer is tokenized on its own and followed by the end-of-turn token. Concatenating the two gives
the training sequence, and the boundary between them is exactly where the loss mask starts, so a
model is trained on precisely the tokens it is later asked to produce.
"""
from __future__ import annotations

from typing import Sequence


def end_of_turn_id(tokenizer) -> int:
    """Token closing an assistant turn: ``<|im_end|>`` for ChatML models, else EOS."""
    for tok in ("<|im_end|>", "<|eot_id|>", "<end_of_turn>"):
        tid = tokenizer.convert_tokens_to_ids(tok)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid is not None:
            return tid
    return tokenizer.eos_token_id


def prompt_text(tokenizer, messages: Sequence[dict]) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)


def encode_prompt(tokenizer, messages: Sequence[dict]) -> list[int]:
    return tokenizer(prompt_text(tokenizer, messages), add_special_tokens=False)["input_ids"]


def encode_prompts(tokenizer, conversations: Sequence[Sequence[dict]]) -> list[list[int]]:
    """``encode_prompt`` of many conversations, tokenized in one batched call."""
    texts = [prompt_text(tokenizer, msgs) for msgs in conversations]
    return [list(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] \
        if texts else []


def encode_answer(tokenizer, answer: str, *, close: bool = True) -> list[int]:
    ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    return ids + [end_of_turn_id(tokenizer)] if close else ids
