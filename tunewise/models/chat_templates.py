"""Chat templates tunewise supplies when a tokenizer has none: ChatML, and Gemma's turn format.

A model's own template always wins. Only a tokenizer without one gets a template from here, and
which one is decided by its vocabulary (``fallback_template``): a tokenizer that knows Gemma's
``<start_of_turn>`` token gets Gemma's format, every other one ChatML. A wrong template costs
silently: the model is prompted (and fine-tuned) in turns it has never seen.

Gemma's format (the one of Google's instruction-tuned Gemma 3 checkpoints, which the pretrained
base checkpoints' tokenizers lack)::

    <bos><start_of_turn>user
    {system}\\n\\n{user}<end_of_turn>
    <start_of_turn>model
    {answer}<end_of_turn>

Gemma has no system role: the system text opens the first user turn, followed by a blank line.
The assistant's role is called ``model``; contents are trimmed, as in Google's template.
"""
from __future__ import annotations

from typing import Callable

CHATML_TEMPLATE = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
                   "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
                   "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- set prefix = (messages[0]['content'] or '') + '\n\n' -%}"
    "{%- set turns = messages[1:] -%}"
    "{%- else -%}"
    "{%- set prefix = '' -%}"
    "{%- set turns = messages -%}"
    "{%- endif -%}"
    "{%- for message in turns -%}"
    "{{ '<start_of_turn>' + ('model' if message['role'] == 'assistant' else message['role'])"
    " + '\n' + (prefix if loop.first else '') + ((message['content'] or '') | trim)"
    " + '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}")

#: the token that marks a vocabulary as Gemma's
GEMMA_TURN_TOKEN = "<start_of_turn>"


def fallback_template(has_token: Callable[[str], bool]) -> str:
    """The template for a tokenizer without one: Gemma's where the vocabulary has
    ``<start_of_turn>`` (``has_token(text)`` says whether a token is in it), else ChatML."""
    return GEMMA_TEMPLATE if has_token(GEMMA_TURN_TOKEN) else CHATML_TEMPLATE
