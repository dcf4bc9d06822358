"""Batched greedy generation with stop sequences.

Prompts are left-padded into batches (sorted by length, so little padding), generated greedily
with ``model.generate`` and stopped per row at the end-of-turn / EOS token, at a stop string
(e.g. a blank line for NER lists), or, with ``echo_ngram=n``, once the row's last n generated
tokens repeat n consecutive tokens of its own prompt (a small model that starts copying its input
or a shot's answer would otherwise run to the token limit). The stop string and whatever follows
it is trimmed from the returned text, and so is an echo (the whole run of tokens that matches the
prompt); ``tokens_out`` counts the generated tokens kept, including the stop token.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch

from tunewise.tasks.render import end_of_turn_id


@dataclass
class GenerateOptions:
    """How generation runs."""

    #: rows per ``generate`` call
    batch_size: int = 16
    #: upper bound on generated tokens per example
    max_new_tokens: int = 64
    #: stop at (and trim) the first occurrence of any of these strings
    stop: Sequence[str] = ()
    #: run under ``torch.autocast("cpu", bfloat16)``
    bf16: bool = False
    #: stop a row whose last n generated tokens occur, in order, in its prompt (0 = never)
    echo_ngram: int = 0


@dataclass
class Generation:
    """One generated answer."""

    text: str
    tokens_in: int
    tokens_out: int
    #: seconds of this example's batch divided by the batch size
    latency_s: float = 0.0
    #: why it stopped: "eos" (end-of-turn / EOS), "stop" (a stop string), "echo" (it repeated
    #: its prompt), "length"
    finish: str = "length"
    extra: dict = field(default_factory=dict)


class _StopStrings:
    """StoppingCriteria: a row is done once its generated text contains a stop string."""

    def __init__(self, tokenizer, stops: Sequence[str], prompt_width: int):
        self.tokenizer, self.stops, self.prompt_width = tokenizer, list(stops), prompt_width

    def __call__(self, input_ids, scores, **kwargs):
        done = []
        for row in input_ids[:, self.prompt_width:]:
            # only the tail can contain a newly completed stop string
            tail = self.tokenizer.decode(row[-8:], skip_special_tokens=True)
            done.append(any(s in tail for s in self.stops))
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def _ngrams(ids: Sequence[int], n: int) -> set[tuple[int, ...]]:
    return {tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)}


class _StopEcho:
    """StoppingCriteria: a row is done once its last ``n`` generated tokens are an n-gram of
    its prompt."""

    def __init__(self, prompts: Sequence[Sequence[int]], n: int, prompt_width: int):
        self.n, self.prompt_width = n, prompt_width
        self.grams = [_ngrams(p, n) for p in prompts]
        #: row -> generated tokens when it was stopped (later columns are padding)
        self.stopped: dict[int, int] = {}

    def __call__(self, input_ids, scores, **kwargs):
        n, made = self.n, input_ids.shape[1] - self.prompt_width
        done = [False] * input_ids.shape[0]
        if made >= n:
            tails = input_ids[:, -n:].tolist()
            for b, (t, g) in enumerate(zip(tails, self.grams)):
                if b not in self.stopped and tuple(t) in g:
                    self.stopped[b] = made
            done = [b in self.stopped for b in range(len(done))]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def echo_start(new: Sequence[int], prompt: Sequence[int], n: int) -> int | None:
    """Where the echo begins in ``new`` (generated ids) when its last ``n`` tokens are an
    n-gram of ``prompt``: the match is extended backwards as far as the generated tokens keep
    repeating the prompt; None when the tail is not an echo."""
    if n <= 0 or len(new) < n:
        return None
    tail = list(new[-n:])
    best = None
    for j in range(len(prompt) - n + 1):
        if list(prompt[j:j + n]) != tail:
            continue
        k, p = len(new) - n, j                       # extend backwards
        while k > 0 and p > 0 and new[k - 1] == prompt[p - 1]:
            k, p = k - 1, p - 1
        best = k if best is None else min(best, k)
    return best


def _trim(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    cut = min((text.find(s) for s in stops if s in text), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def generate(model, tokenizer, prompts: Sequence[Sequence[int]], *,
             options: GenerateOptions | None = None,
             on_batch: Callable[[int], None] | None = None) -> list[Generation]:
    """Greedy-generate an answer for every prompt (token id lists), in input order."""
    from transformers import StoppingCriteriaList
    opts = options or GenerateOptions()
    if not prompts:
        return []
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    stop_ids = sorted({i for i in (end_of_turn_id(tokenizer), tokenizer.eos_token_id)
                       if i is not None})
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[Generation | None] = [None] * len(prompts)
    bs = max(1, int(opts.batch_size))
    amp = (torch.autocast("cpu", dtype=torch.bfloat16) if opts.bf16 and device.type == "cpu"
           else contextlib.nullcontext())
    for start in range(0, len(order), bs):
        idx = order[start:start + bs]
        rows = [list(prompts[i]) for i in idx]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for b, r in enumerate(rows):  # left padding: the last prompt token is at the same column
            ids[b, width - len(r):] = torch.tensor(r)
            mask[b, width - len(r):] = 1
        echo = _StopEcho(rows, opts.echo_ngram, width) if opts.echo_ngram > 0 else None
        criteria = StoppingCriteriaList(
            ([_StopStrings(tokenizer, opts.stop, width)] if opts.stop else [])
            + ([echo] if echo else []))
        t0 = time.perf_counter()
        # no_grad, not inference_mode, under bf16: autocast then casts each weight once per
        # call instead of at every step
        with (torch.no_grad() if opts.bf16 else torch.inference_mode()), amp:
            seqs = model.generate(
                input_ids=ids.to(device), attention_mask=mask.to(device),
                max_new_tokens=int(opts.max_new_tokens), do_sample=False, num_beams=1,
                temperature=None, top_p=None, top_k=None,
                eos_token_id=stop_ids, pad_token_id=pad, stopping_criteria=criteria)
        per = (time.perf_counter() - t0) / len(rows)
        for b, i in enumerate(idx):
            new = seqs[b, width:].tolist()
            if echo and b in echo.stopped:             # the rest of the row is padding
                new = new[:echo.stopped[b]]
            while new and new[-1] == pad and pad not in stop_ids:  # rows finished early
                new.pop()
            finish, kept = "length", new
            for k, t in enumerate(new):
                if t in stop_ids:
                    finish, kept = "eos", new[:k + 1]
                    break
            if finish == "length" and echo and b in echo.stopped:
                cut = echo_start(new, rows[b], opts.echo_ngram)
                if cut is not None:
                    finish, kept = "echo", new[:cut]
            text = tokenizer.decode([t for t in kept if t not in stop_ids],
                                    skip_special_tokens=True)
            if opts.stop:
                text, hit = _trim(text, opts.stop)
                if hit:
                    finish = "stop"
            out[i] = Generation(text=text, tokens_in=len(rows[b]), tokens_out=len(kept),
                                latency_s=per, finish=finish)
        if on_batch:
            on_batch(len(idx))
    return out  # type: ignore[return-value]
