"""``predict``: one model's answers for a list of examples, through a Task.

- classification, ``method="score"`` (the default): log-likelihood of every label of the closed
  label set (see ``tunewise.prompting.scoring``); the prediction is always a label, and the
  per-label scores are kept in ``Prediction.extra``.
- classification ``method="generate"``, NER, generation: batched greedy generation with stop
  sequences, parsed with ``task.parse``.

Shots are either one sequence of examples used for every prompt (zero-shot: empty), or one
sequence per example (nearest-neighbour selection). When the shots are shared, the prompt prefix
they form is encoded once and its KV cache reused.
"""
from __future__ import annotations

import time
from typing import Sequence

from tunewise.data.records import Example
from tunewise.errors import UsageError
from tunewise.tasks.base import Prediction, Task

METHODS = ("auto", "score", "generate")

#: default generation budgets per task kind (tokens); classification derives its own
DEFAULT_MAX_NEW_TOKENS = {"ner": 128, "generation": 256}


def _shots_per_example(shots, n: int) -> list[Sequence[Example]]:
    if not shots:
        return [()] * n
    if isinstance(shots[0], Example):
        return [list(shots)] * n
    if len(shots) != n:
        raise UsageError(f"per-example shots: got {len(shots)} lists for {n} examples")
    return [list(s) for s in shots]


def resolve_method(task: Task, method: str) -> str:
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}", fix=f"use one of {', '.join(METHODS)}")
    if method == "auto":
        return "score" if task.kind == "classification" else "generate"
    if method == "score" and task.kind != "classification":
        raise UsageError(f"method 'score' needs a classification task (this one is {task.kind})",
                         fix="use --method generate (or auto)")
    return method


def stop_strings(task: Task) -> list[str]:
    """Stop sequences besides end-of-turn/EOS: NER lists end at a blank line."""
    return list(getattr(task, "stop", None) or (["\n\n"] if task.kind == "ner" else []))


def default_max_new_tokens(task: Task, tokenizer) -> int:
    if task.kind == "classification":
        longest = max(len(tokenizer(lab, add_special_tokens=False)["input_ids"])
                      for lab in task.labels)
        return longest + 8
    return int(getattr(task, "max_new_tokens", 0) or DEFAULT_MAX_NEW_TOKENS.get(task.kind, 128))


def predict(task: Task, lm, examples: Sequence[Example], *, shots=(), method: str = "auto",
            batch_size: int = 16, max_new_tokens: int | None = None, bf16: bool = False,
            prefix_cache: bool = True, length_normalize: bool = False,
            calibrate: bool = False, progress: bool = True) -> list[Prediction]:
    """Predict ``examples`` with ``lm`` (a LoadedModel) through ``task``.

    ``shots``: examples shown as earlier chat turns, the same for every example, or one list per
    example. ``method``: "auto" (score for classification, generate otherwise), "score",
    "generate". ``bf16``: autocast the model to bfloat16 (CPU). ``length_normalize``: pick the
    label with the best mean log-prob per token instead of the best total. ``calibrate``:
    contextual calibration (Zhao et al. 2021): subtract the label distribution the prompt gives
    content-free inputs (``CONTENT_FREE``) from each example's, which removes the model's prior
    preference for some labels (classification scoring only; off by default).
    """
    from tunewise.progress import bar
    from tunewise.tasks.render import encode_prompt
    method = resolve_method(task, method)
    examples = list(examples)
    if not examples:
        return []
    tok = lm.tokenizer
    per_shots = _shots_per_example(shots, len(examples))
    prompts = [encode_prompt(tok, task.prompt_messages(ex, s))
               for ex, s in zip(examples, per_shots)]
    _check_context(prompts, lm, examples)
    was_training = lm.model.training
    lm.model.eval()
    try:
        with bar(f"predicting ({method})", len(examples), disable=not progress) as advance:
            if method == "score":
                prior = (_content_free_prior(task, lm, shots, batch_size, bf16, length_normalize)
                         if calibrate else None)
                preds = _predict_score(task, lm, examples, prompts, batch_size, bf16,
                                       prefix_cache, length_normalize, advance, prior)
            else:
                preds = _predict_generate(task, lm, examples, prompts, batch_size,
                                          max_new_tokens, bf16, advance)
    finally:
        if was_training:
            lm.model.train()
    return preds


def _check_context(prompts, lm, examples) -> None:
    limit = lm.context_length
    long = [(ex, len(p)) for ex, p in zip(examples, prompts) if len(p) >= limit]
    if long:
        where = ", ".join(f"{ex.where()} ({n} tokens)" for ex, n in long[:5])
        more = f" and {len(long) - 5} more" if len(long) > 5 else ""
        raise UsageError(f"{len(long)} prompt(s) do not fit the model's context of {limit} "
                         f"tokens: {where}{more}", fix="use fewer shots or shorter inputs")


#: inputs without content, for contextual calibration
CONTENT_FREE = ("", "N/A", "[MASK]")


def _log_normalise(values: Sequence[float]) -> list[float]:
    import math
    m = max(values)
    lse = m + math.log(sum(math.exp(v - m) for v in values))
    return [v - lse for v in values]


def _scorer(task, lm, batch_size, bf16, prefix_cache=True):
    from tunewise.prompting.scoring import LabelScorer, ScoreOptions
    from tunewise.tasks.render import encode_answer
    answers = [encode_answer(lm.tokenizer, lab) for lab in task.labels]
    return answers, LabelScorer(lm.model, answers, pad_id=lm.tokenizer.pad_token_id,
                                options=ScoreOptions(batch_size=batch_size,
                                                     prefix_cache=prefix_cache, bf16=bf16))


def _content_free_prior(task, lm, shots, batch_size, bf16, norm) -> list[float]:
    """Mean log label distribution for content-free inputs (with the shared shots; without
    shots when they differ per example)."""
    from tunewise.tasks.render import encode_prompt
    shared = list(shots) if shots and isinstance(shots[0], Example) else []
    cf = [Example.from_text(x) for x in CONTENT_FREE]
    prompts = [encode_prompt(lm.tokenizer, task.prompt_messages(ex, shared)) for ex in cf]
    _, scorer = _scorer(task, lm, batch_size, bf16)
    rows = [_log_normalise(s.per_token if norm else s.total) for s in scorer.score(prompts)]
    return [sum(col) / len(col) for col in zip(*rows)]


def _predict_score(task, lm, examples, prompts, batch_size, bf16, prefix_cache, norm, advance,
                   prior=None):
    answers, scorer = _scorer(task, lm, batch_size, bf16, prefix_cache)
    t0 = time.perf_counter()
    scores = scorer.score(prompts, on_batch=advance)
    per = (time.perf_counter() - t0) / len(examples)
    out = []
    for ex, p, s in zip(examples, prompts, scores):
        key = s.per_token if norm else s.total
        extra = {"method": "score", "scores": dict(zip(task.labels, s.total)),
                 "scores_per_token": dict(zip(task.labels, s.per_token))}
        if prior is not None:
            key = [v - c for v, c in zip(_log_normalise(key), prior)]
            extra["calibrated"] = dict(zip(task.labels, key))
        j = max(range(len(task.labels)), key=lambda k: key[k])
        out.append(Prediction(
            gold=task.gold(ex), pred=task.labels[j], raw=task.labels[j], latency_s=per,
            tokens_in=len(p), tokens_out=len(answers[j]), extra=extra))
    return out


def _predict_generate(task, lm, examples, prompts, batch_size, max_new_tokens, bf16, advance):
    from tunewise.prompting.generate import GenerateOptions, generate
    opts = GenerateOptions(batch_size=batch_size, bf16=bf16, stop=stop_strings(task),
                           max_new_tokens=(max_new_tokens
                                           or default_max_new_tokens(task, lm.tokenizer)))
    gens = generate(lm.model, lm.tokenizer, prompts, options=opts, on_batch=advance)
    return [Prediction(gold=task.gold(ex), pred=task.parse(g.text, ex), raw=g.text,
                       latency_s=g.latency_s, tokens_in=g.tokens_in, tokens_out=g.tokens_out,
                       extra={"method": "generate", "finish": g.finish})
            for ex, g in zip(examples, gens)]
