"""Examples -> token ids + loss labels, and length-grouped batches.

Every example goes through the Task's prompt (``task.prompt_messages``) and
``tunewise.tasks.render.encode_prompt`` / ``encode_answer``: exactly the ids that label scoring and
generation use at evaluation time. The training sequence is ``prompt + answer + <|im_end|>``; labels
are -100 (ignored by the loss) on every prompt token (system, shots, user turns, the
``<|im_start|>assistant`` header) and on padding, so the loss covers the answer only.

Nothing is truncated: an example whose prompt + answer does not fit in a fixed ``max_length`` is a
TrainingError naming its file:line (a truncated answer would otherwise train on nothing, or give a
NaN loss when every label is masked). With ``max_length`` "auto" (compare's default) the data
decides: every example that fits the model's context is trained on, and one that does not is
left out with a log line (``encode_within``).

Batches are length-grouped: each epoch the examples are shuffled (seeded), cut into mega-batches of
``batch_size * group_factor`` examples, sorted by length inside each mega-batch, cut into batches,
and the batch order is shuffled again. Examples of similar length share a batch, so little compute
goes to padding, while the order stays random from epoch to epoch. The factor is capped so that
there are at least ``MIN_MEGA_BATCHES`` mega-batches (transformers' ``LengthGroupedSampler`` rule):
a mega-batch holding the whole set would be cut by length into the same batches every epoch.
Measured on WNUT-17 tweet NER at 16 examples (bench/middle_curve.py, seeds 0 and 1): the two fixed
batches scored entity F1 0.054 and 0.088, random batches 0.101 and 0.104.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Sequence

from tunewise.data.records import Example
from tunewise.errors import TrainingError

IGNORE = -100


@dataclass
class Encoded:
    """One training sequence."""

    input_ids: list[int]
    #: the target id at each position, IGNORE where no loss is taken
    labels: list[int]
    #: index of the source example in the list given to ``encode_examples``
    index: int
    #: "file:line" of the source example (for error messages)
    where: str

    @property
    def n_trained(self) -> int:
        return sum(1 for t in self.labels if t != IGNORE)

    def __len__(self) -> int:
        return len(self.input_ids)


def encode_example(task, tokenizer, ex: Example, *, index: int = 0) -> Encoded:
    """Prompt ids (labels ignored) followed by answer ids + end-of-turn (labels = the ids)."""
    from tunewise.tasks.render import encode_answer, encode_prompt
    prompt = encode_prompt(tokenizer, task.prompt_messages(ex))
    target = task.target(ex)
    if target is None or not str(target).strip():
        raise TrainingError(f"{ex.where()}: the example has no answer to train on",
                            fix="give every training example a final assistant message or a label")
    answer = encode_answer(tokenizer, str(target))
    return Encoded(input_ids=prompt + answer, labels=[IGNORE] * len(prompt) + answer,
                   index=index, where=ex.where())


def encode_examples(task, tokenizer, examples: Sequence[Example], *, max_length: int,
                    what: str = "training") -> list[Encoded]:
    """Encode every example; every one that does not fit ``max_length`` is reported at once
    (the fix names the setting as the command running it does: ``tunewise.knobs``)."""
    from tunewise.knobs import knob
    encoded, too_long = [], []
    for i, ex in enumerate(examples):
        enc = encode_example(task, tokenizer, ex, index=i)
        if len(enc) > max_length:
            too_long.append(enc)
        encoded.append(enc)
    if too_long:
        longest = max(len(e) for e in too_long)
        raise TrainingError(
            f"{len(too_long)} {what} example(s) are longer than max_length={max_length} tokens; "
            f"their answers would be truncated away:\n  " + _where_list(too_long),
            fix=f"raise max_length to at least {longest} ({knob('max_length', longest)}), or "
                f"let the data decide ({knob('max_length', 'auto')}), or shorten or remove those "
                "examples (`tunewise data clean`)")
    return encoded


def _where_list(encs: Sequence[Encoded], limit: int = 20) -> str:
    lines = [f"{e.where}: {len(e)} tokens (prompt {len(e) - e.n_trained} + answer "
             f"{e.n_trained})" for e in encs[:limit]]
    more = f"\n  ... and {len(encs) - limit} more" if len(encs) > limit else ""
    return "\n  ".join(lines) + more


def encode_within(task, tokenizer, examples: Sequence[Example], *, max_length: int,
                  context: Callable[[], int], what: str = "training",
                  say: Callable[[str], None] = lambda m: None) -> tuple[list[Encoded], list]:
    """Encode ``examples`` for training: (encodings, the examples they came from).

    ``max_length`` > 0 is a fixed limit (``encode_examples``: a longer example is an error).
    ``max_length`` 0 ("auto") lets the data decide: every example that fits ``context()`` (the
    model's context length) is kept however long it is, so the sequences are as long as the
    longest example and no longer; one that does not fit could only be truncated (training on a
    cut answer, or on nothing), so it is left out, and named through ``say``.
    """
    if max_length:
        return encode_examples(task, tokenizer, examples, max_length=max_length,
                               what=what), list(examples)
    limit = int(context())
    encoded = [encode_example(task, tokenizer, ex, index=i) for i, ex in enumerate(examples)]
    kept = [e for e in encoded if len(e) <= limit]
    if len(kept) < len(encoded):
        out = [e for e in encoded if len(e) > limit]
        say(f"left out {len(out)} of {len(encoded)} {what} example(s) longer than the model's "
            f"context of {limit} tokens:\n  " + _where_list(out, 5))
        if not kept:
            raise TrainingError(f"every {what} example is longer than the model's context of "
                                f"{limit} tokens", fix="shorten the inputs, or use a model with "
                                "a longer context")
    return kept, [examples[e.index] for e in kept]


@dataclass
class TokenCounts:
    """Tokens in one pass over a set of encoded examples (before padding)."""

    examples: int
    total: int
    trained: int

    def to_dict(self) -> dict:
        return {"examples": self.examples, "tokens": self.total, "trained_tokens": self.trained}


def token_counts(encoded: Sequence[Encoded]) -> TokenCounts:
    return TokenCounts(len(encoded), sum(len(e) for e in encoded),
                       sum(e.n_trained for e in encoded))


# -- batches ----------------------------------------------------------------------------------
#: length grouping leaves at least this many mega-batches (fewer examples: smaller mega-batches)
MIN_MEGA_BATCHES = 4


def length_grouped_batches(lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int,
                           group_factor: int = 32) -> list[list[int]]:
    """Index batches for one epoch: seeded shuffle, sort by length within mega-batches of
    ``batch_size * group_factor`` examples (fewer, down to one batch, so that there are at least
    ``MIN_MEGA_BATCHES``), shuffle the batch order. Deterministic for (seed, epoch); every index
    appears exactly once."""
    rng = random.Random(f"tunewise-batches:{seed}:{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    factor = max(1, min(group_factor, len(lengths) // (batch_size * MIN_MEGA_BATCHES)))
    mega = batch_size * factor
    batches: list[list[int]] = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start:start + mega], key=lambda i: -lengths[i])
        batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def split_batch(batch: Sequence[int], parts: int) -> list[list[int]]:
    """Cut a batch into ``parts`` contiguous pieces of near-equal size (some may be empty)."""
    n = len(batch)
    base, extra = divmod(n, parts)
    out, start = [], 0
    for p in range(parts):
        size = base + (1 if p < extra else 0)
        out.append(list(batch[start:start + size]))
        start += size
    return out


#: a shared prefix shorter than this is not worth a separate pass
MIN_SHARED_PREFIX = 8


def shared_prefix_len(items: Sequence[Encoded]) -> int:
    """Tokens at the start that every sequence of the batch shares and that carry no loss
    (the system prompt and chat framing): they can run once for the whole batch. At least one
    prompt token stays outside, since the last prompt position predicts the first answer token."""
    if len(items) < 2:
        return 0
    first = items[0].input_ids
    n = min(len(e) for e in items)
    for e in items[1:]:
        k = 0
        ids = e.input_ids
        while k < n and ids[k] == first[k]:
            k += 1
        n = k
    # stop before the first trained position, minus the one that predicts it
    first_trained = min(next((i for i, t in enumerate(e.labels) if t != IGNORE), len(e))
                        for e in items)
    n = min(n, first_trained - 1)
    return n if n >= MIN_SHARED_PREFIX else 0


def collate(items: Sequence[Encoded], pad_id: int, *, share_prefix: bool = False):
    """Right-padded tensors: input_ids, attention_mask, labels (IGNORE on padding). With
    ``share_prefix``, ``prefix_len`` = the batch's shared, loss-free prefix (see AnswerLoss)."""
    import torch
    width = max(len(e) for e in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, e in enumerate(items):
        n = len(e)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    out = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    if share_prefix:
        out["prefix_len"] = shared_prefix_len(items)
    return out


# -- --show-mask ------------------------------------------------------------------------------
def mask_segments(tokenizer, enc: Encoded) -> list[tuple[str, bool]]:
    """(token text, trained?) for every token of a sequence. Token i is *trained* when the loss
    asks the model to produce it (its label is not ignored)."""
    return [(tokenizer.decode([tid]), lab != IGNORE)
            for tid, lab in zip(enc.input_ids, enc.labels)]


def render_mask(tokenizer, enc: Encoded, *, markup: bool = False) -> str:
    """One example's tokens: trained ones in ``[[...]]`` (or green with ``markup=True``), ignored
    ones as plain text, then a count line."""
    parts = []
    for text, trained in mask_segments(tokenizer, enc):
        shown = text.replace("\n", "\\n\n")
        if markup:
            from rich.markup import escape
            shown = f"[bold green]{escape(shown)}[/]" if trained else f"[dim]{escape(shown)}[/]"
        elif trained:
            shown = f"[[{shown}]]"
        parts.append(shown)
    head = (f"{enc.where}: {len(enc)} tokens, {enc.n_trained} trained "
            f"({'green' if markup else '[[marked]]'}), {len(enc) - enc.n_trained} ignored")
    return head + "\n" + "|".join(parts)
