"""``predict``: one model's answers for a list of examples, through a Task.

- classification, ``method="score"`` (the default): log-likelihood of every label of the closed
  label set (see ``tunewise.prompting.scoring``); the prediction is always a label, and the
  per-label scores are kept in ``Prediction.extra``.
- classification ``method="generate"``, NER, generation: batched greedy generation with stop
  sequences, parsed with ``task.parse``.

Shots are either one sequence of examples used for every prompt (zero-shot: empty), or one
sequence per example (nearest-neighbour selection). When the shots are shared, the prompt prefix
they form is encoded once and its KV cache reused.

Precision (``bf16``): None (the default) runs label scoring with a bf16 copy of the model body
(``bf16_copy.bf16_body``) where the CPU has native bf16 math, else fp32. bf16 scoring never
decides a close call. A label is a contender of the bf16 best when it trails by less than
``BF16_RECHECK_MARGIN * (n_best + n_label) / 4`` nats (n: the answers' scored tokens, end of turn
included; 0.35 for two one-word labels): bf16's error on a score grows with the tokens scored.
An example with contenders is a close call: the best and its contenders are scored again in fp32
and the prediction is the best of them, so the predictions are fp32's unless bf16 moved a gap by
more than that. The other labels keep their bf16 scores (they trail too far to win in fp32 under
the same bound); ``extra["fp32_labels"]`` names the labels decided between. Measured: on 600
movie sentences (3 prompts, 2 labels of 2 tokens) bf16 moved the margin by at most 0.25 nats,
median 0.04; on 100 CLINC150 utterances x 77 intents (2-9 tokens, bench/many_labels_bench.py)
the gap of a label within 2 nats of the best by up to 0.8 nats, and a flat 0.35 let 2-3 of 100
predictions differ from fp32, the length-scaled margin none (40 close calls, 3.2 labels each
re-scored; re-scoring all 77 labels of every close call in fp32 cost a third of the time).
Generation runs in fp32 unless ``bf16=True``.

Generation budget (``max_new_tokens=None``): the longest answer among ``budget_from`` (training
examples) and the shots, in tokens, plus a margin (``generation_budget``); without answered
examples, the task's default. Generation also stops at the task's stop strings and, for tasks
with ``echo_ngram`` (NER), when the output starts repeating the prompt.
"""
from __future__ import annotations

import time
from typing import Sequence

from tunewise.data.records import Example
from tunewise.errors import UsageError
from tunewise.knobs import knob
from tunewise.prompting.calibration import (CONTENT_FREE, CalibrationSample,
                                            content_free_offsets, log_normalise, prior_offsets,
                                            resolve_calibration)
from tunewise.tasks.base import Prediction, Task
from tunewise.tasks.ner import NERTask

METHODS = ("auto", "score", "generate")

#: margin over the longest answer seen: a fraction of it, and at least a few tokens
BUDGET_MARGIN, BUDGET_MIN_MARGIN = 0.25, 8
#: bf16 label scoring: a label this close (nats) to the best is re-scored in fp32 with it, for
#: two answers of 2 tokens each; the margin grows with the tokens of the pair (``_contenders``)
BF16_RECHECK_MARGIN = 0.35
#: rows per fp32 re-scoring pass: the close calls are scattered over all lengths, and a big
#: batch pads every row to the longest (24 movie sentences: 1.69 s in one batch of 24, 1.07 s
#: in length-sorted batches of 8, 1.20 s of 4)
RECHECK_BATCH = 8


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
        return task.default_method()
    if method == "score" and not task.can_score_labels:
        raise UsageError(f"method 'score' needs a classification task (this one is {task.kind})",
                         fix=f"use {knob('method', 'generate')} (or auto)")
    return method


def stop_strings(task: Task) -> list[str]:
    """Stop sequences besides end-of-turn/EOS (``task.stop_sequences``: NER lists end at a blank
    line)."""
    return list(task.stop_sequences)


#: NER: stop a row once this many of its last generated tokens repeat its prompt (an entity
#: copied from the input is shorter; a model reciting the input or a shot's answer is not)
NER_ECHO_NGRAM = NERTask.echo_stop_ngram


def echo_ngram(task: Task) -> int:
    """n for the echo stop (``GenerateOptions.echo_ngram``): ``task.echo_stop_ngram`` (NER:
    ``NER_ECHO_NGRAM``; others 0: free text may legitimately quote its input)."""
    return int(task.echo_stop_ngram)


def default_max_new_tokens(task: Task, tokenizer) -> int:
    """The budget without answered examples: ``task.fixed_answer_budget`` (classification: the
    longest label + 8 tokens), else ``task.default_answer_tokens``."""
    fixed = task.fixed_answer_budget(tokenizer)
    return int(fixed) if fixed is not None else int(task.default_answer_tokens)


def generation_budget(task: Task, tokenizer, answered: Sequence[Example] = ()) -> int:
    """``max_new_tokens`` for ``task``: the longest answer (``task.target``) among ``answered``
    in tokens, end-of-turn included, plus ``max(BUDGET_MIN_MARGIN, BUDGET_MARGIN * longest)``;
    ``default_max_new_tokens`` when no example carries an answer (or for classification)."""
    if task.fixed_answer_budget(tokenizer) is not None:
        return default_max_new_tokens(task, tokenizer)
    texts = [t for t in (_answer_text(task, ex) for ex in answered) if t is not None]
    if not texts:
        return default_max_new_tokens(task, tokenizer)
    enc = tokenizer(texts, add_special_tokens=False)["input_ids"]
    longest = max(len(ids) for ids in enc) + 1          # + the end-of-turn token
    return longest + max(BUDGET_MIN_MARGIN, int(BUDGET_MARGIN * longest + 0.5))


def _answer_text(task: Task, ex: Example) -> str | None:
    """The gold answer text of ``ex``, or None when it carries none."""
    if ex.entities is None and ex.reference is None and not (ex.answer or "").strip():
        return None
    return task.target(ex)


def resolve_bf16(bf16: bool | None, lm) -> bool:
    """``bf16`` as given; None = True on a CPU with native bf16 math (AVX512-BF16 / AMX)."""
    if bf16 is not None:
        return bool(bf16)
    try:
        device = next(lm.model.parameters()).device
    except StopIteration:  # pragma: no cover
        return False
    from tunewise.models.device import cpu_supports_bf16
    return device.type == "cpu" and cpu_supports_bf16()


def predict(task: Task, lm, examples: Sequence[Example], *, shots=(), method: str = "auto",
            batch_size: int = 32, max_new_tokens: int | None = None,
            bf16: bool | None = None, prefix_cache: bool = True, length_normalize: bool = False,
            calibrate: bool | str = False, calibration: CalibrationSample | None = None,
            budget_from: Sequence[Example] = (), progress: bool = True) -> list[Prediction]:
    """Predict ``examples`` with ``lm`` (a LoadedModel) through ``task``.

    ``shots``: examples shown as earlier chat turns, the same for every example, or one list per
    example. ``method``: "auto" (score for classification, generate otherwise), "score",
    "generate". ``bf16``: bfloat16 autocast on CPU; None = for scoring where the CPU has bf16
    math, with close calls re-scored in fp32 (module docstring). ``max_new_tokens``: None =
    ``generation_budget`` over ``budget_from`` (answered examples, e.g. the training data) and
    the shots. ``length_normalize``: pick the
    label with the best mean log-prob per token instead of the best total. ``calibrate``
    (classification scoring only; off by default): divide out the label bias of the prompt,
    ``"content-free"`` (or True) from content-free inputs, ``"prior"`` from ``calibration``
    (``calibration.calibration_sample``: in-domain inputs with their shots, and the label counts
    to aim at); see ``tunewise.prompting.calibration``.
    """
    from tunewise.progress import bar
    from tunewise.tasks.render import encode_prompts
    method = resolve_method(task, method)
    examples = list(examples)
    if not examples:
        return []
    tok = lm.tokenizer
    per_shots = _shots_per_example(shots, len(examples))
    prompts = encode_prompts(tok, [task.prompt_messages(ex, s)
                                   for ex, s in zip(examples, per_shots)])
    _check_context(prompts, lm, examples)
    was_training = lm.model.training
    lm.model.eval()
    try:
        with bar(f"predicting ({method})", len(examples), disable=not progress) as advance:
            if method == "score":
                prior = _calibration_offsets(task, lm, shots, resolve_calibration(calibrate),
                                             calibration, batch_size, resolve_bf16(bf16, lm),
                                             length_normalize)
                preds = _predict_score(task, lm, examples, prompts, batch_size,
                                       resolve_bf16(bf16, lm), prefix_cache, length_normalize,
                                       advance, prior)
            else:
                if max_new_tokens is None:
                    shown = [s for ss in per_shots for s in ss] if shots else []
                    max_new_tokens = generation_budget(task, tok, [*budget_from, *shown[:1000]])
                preds = _predict_generate(task, lm, examples, prompts, batch_size,
                                          max_new_tokens, bool(bf16), advance)
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
                         f"tokens: {where}{more}",
                         fix=f"use fewer shots ({knob('shots')}) or shorter inputs")


_log_normalise = log_normalise


def _scorer(task, lm, batch_size, bf16, prefix_cache=True):
    from tunewise.prompting.scoring import LabelScorer, ScoreOptions
    from tunewise.tasks.render import encode_answer
    answers = [encode_answer(lm.tokenizer, lab) for lab in task.labels]
    return answers, LabelScorer(lm.model, answers, pad_id=lm.tokenizer.pad_token_id,
                                options=ScoreOptions(batch_size=batch_size,
                                                     prefix_cache=prefix_cache, bf16=bf16))


def _calibration_offsets(task, lm, shots, mode, sample, batch_size, bf16, norm):
    """Per-label offsets the decision subtracts (``tunewise.prompting.calibration``), or None.
    ``content-free``: its inputs with the shared shots (none when shots differ per example),
    always fp32 (a handful of prompts); ``prior``: ``sample``'s inputs with their shots."""
    if mode == "none":
        return None
    if mode == "prior" and sample is None:
        raise UsageError("prior calibration needs a calibration sample of training examples",
                         fix="pass calibration=calibration_sample(train, ...) or use "
                             "calibrate='content-free'")
    from tunewise.tasks.render import encode_prompts
    if mode == "prior":
        inputs, per = sample.inputs, _shots_per_example(sample.shots, len(sample.inputs))
    else:
        shared = list(shots) if shots and isinstance(shots[0], Example) else []
        inputs, bf16 = [Example.from_text(x) for x in CONTENT_FREE], False
        per = [shared] * len(inputs)
    prompts = encode_prompts(lm.tokenizer, [task.prompt_messages(ex, s)
                                            for ex, s in zip(inputs, per)])
    _, scorer = _scorer(task, lm, batch_size, bf16)
    rows = [s.per_token if norm else s.total for s in scorer.score(prompts)]
    if mode == "prior":
        return prior_offsets(rows, task.labels, sample.label_counts)
    return content_free_offsets(rows)


def _decision(s, norm: bool, prior) -> list[float]:
    """The values the prediction maximises: total or per-token log-probs, calibrated or not."""
    key = s.per_token if norm else s.total
    return [v - c for v, c in zip(_log_normalise(key), prior)] if prior is not None else key


def _contenders(key: Sequence[float], n_tokens: Sequence[int]) -> list[int]:
    """The bf16 best label and every label trailing it by less than ``BF16_RECHECK_MARGIN *
    (n_best + n_label) / 4`` nats (the answers' tokens; the module docstring says why): the
    labels a close call is decided between in fp32. One label: a clear call."""
    b = max(range(len(key)), key=lambda k: key[k])
    return [j for j in range(len(key)) if j == b or
            key[b] - key[j] < BF16_RECHECK_MARGIN * (n_tokens[b] + n_tokens[j]) / 4]


def _merge(bf16_scores, fp32_scores, labels: Sequence[int]):
    """``bf16_scores`` with the entries of ``labels`` replaced by their fp32 values."""
    from tunewise.prompting.scoring import LabelScores
    total, norm = list(bf16_scores.total), list(bf16_scores.per_token)
    for j in labels:
        total[j], norm[j] = fp32_scores.total[j], fp32_scores.per_token[j]
    return LabelScores(total=total, per_token=norm)


def _predict_score(task, lm, examples, prompts, batch_size, bf16, prefix_cache, norm, advance,
                   prior=None):
    answers, scorer = _scorer(task, lm, batch_size, bf16, prefix_cache)
    t0 = time.perf_counter()
    scores = scorer.score(prompts, on_batch=advance)
    precision = ["bf16" if bf16 else "fp32"] * len(prompts)
    between: dict[int, list[int]] = {}     # close call -> the labels it was decided between
    if bf16:  # close calls are decided in fp32 (module docstring)
        n_tokens = [len(a) for a in answers]
        for i, s in enumerate(scores):
            cands = _contenders(_decision(s, norm, prior), n_tokens)
            if len(cands) > 1:
                between[i] = cands
        if between:
            _, fp32 = _scorer(task, lm, min(batch_size, RECHECK_BATCH), False, prefix_cache)
            close = list(between)
            rescored = fp32.score([prompts[i] for i in close], only=[between[i] for i in close])
            for i, s in zip(close, rescored):
                scores[i], precision[i] = _merge(scores[i], s, between[i]), "fp32"
    per = (time.perf_counter() - t0) / len(examples)
    out = []
    all_labels = range(len(task.labels))
    for i, (ex, p, s, prec) in enumerate(zip(examples, prompts, scores, precision)):
        key = _decision(s, norm, prior)
        extra = {"method": "score", "precision": prec, "scores": dict(zip(task.labels, s.total)),
                 "scores_per_token": dict(zip(task.labels, s.per_token))}
        if prior is not None:
            extra["calibrated"] = dict(zip(task.labels, key))
        if i in between:
            extra["fp32_labels"] = [task.labels[j] for j in between[i]]
        j = max(between.get(i, all_labels), key=lambda k: key[k])
        out.append(Prediction(
            gold=task.gold(ex), pred=task.labels[j], raw=task.labels[j], latency_s=per,
            tokens_in=len(p), tokens_out=len(answers[j]), extra=extra))
    return out


def _predict_generate(task, lm, examples, prompts, batch_size, max_new_tokens, bf16, advance):
    from tunewise.prompting.generate import GenerateOptions, generate
    opts = GenerateOptions(batch_size=batch_size, bf16=bf16, stop=stop_strings(task),
                           echo_ngram=echo_ngram(task),
                           max_new_tokens=(max_new_tokens
                                           or default_max_new_tokens(task, lm.tokenizer)))
    gens = generate(lm.model, lm.tokenizer, prompts, options=opts, on_batch=advance)
    return [Prediction(gold=task.gold(ex), pred=task.parse(g.text, ex), raw=g.text,
                       latency_s=g.latency_s, tokens_in=g.tokens_in, tokens_out=g.tokens_out,
                       extra={"method": "generate", "finish": g.finish})
            for ex, g in zip(examples, gens)]
