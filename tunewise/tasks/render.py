"""Prompt and answer token ids, shared by label scoring, generation and training.

The prompt is rendered with the model's chat template and ``add_generation_prompt=True``; the
answer is tokenized on its own and followed by the end-of-turn token. Concatenating the two gives
the training sequence, and the boundary between them is exactly where the loss mask starts, so a
model is trained on precisely the tokens it is later asked to produce.
"""
from __future__ import annotations

from typing import Sequence


#: an answer no tokenizer splits oddly; what the template writes after it closes the turn
_PROBE_ANSWER = "tunewiseprobeanswer"
_KNOWN_CLOSERS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>")


def end_of_turn_id(tokenizer) -> int:
    """Token closing an assistant turn, as the chat template writes it: ``<|im_end|>`` for
    ChatML, ``<end_of_turn>`` for Gemma, ``<|eot_id|>`` for Llama 3; EOS when the template
    writes no special token after the answer (or cannot be rendered).

    Read from the template, never from the vocabulary alone: a vocabulary may hold several of
    these tokens (Gemma's tokenizer on a ChatML-era vocabulary) and only the template says which
    one the model learned to stop on. Cached on the tokenizer per template.
    """
    template = getattr(tokenizer, "chat_template", None)
    cached = getattr(tokenizer, "_tunewise_end_of_turn", None)
    if cached is not None and cached[0] == template:
        return cached[1]
    tid = _closer_from_template(tokenizer)
    if tid is None:
        tid = tokenizer.eos_token_id
    try:
        tokenizer._tunewise_end_of_turn = (template, tid)
    except AttributeError:  # pragma: no cover - a tokenizer refusing attributes
        pass
    return tid


def _closer_from_template(tokenizer) -> int | None:
    """The first special token the template writes after an assistant answer, or None."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    try:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": "x"}, {"role": "assistant", "content": _PROBE_ANSWER}],
            tokenize=False)
    except Exception:  # noqa: BLE001 - a template refusing this conversation: the EOS rule
        return None
    if not isinstance(text, str) or _PROBE_ANSWER not in text:
        return None
    after = text[text.rindex(_PROBE_ANSWER) + len(_PROBE_ANSWER):]
    specials = set(getattr(tokenizer, "all_special_ids", []) or [])
    unk = tokenizer.unk_token_id
    for tid in tokenizer(after, add_special_tokens=False)["input_ids"]:
        token = tokenizer.convert_ids_to_tokens(tid)
        if tid in specials or token in _KNOWN_CLOSERS or tid == tokenizer.eos_token_id:
            return None if tid == unk else tid
    return None


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
