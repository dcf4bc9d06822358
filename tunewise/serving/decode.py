"""One batch of requests decoded step by step: greedy or sampled, stop handling, logprobs.

Greedy rows reproduce ``tunewise.prompting.generate`` (what ``tunewise eval`` runs) token for
token: the same left padding and position ids as ``model.generate``, argmax of the last logits, the
same stop tokens (end-of-turn and EOS, ``tasks.render.end_of_turn_id``) and the same trimming of
stop strings (``prompting.generate._trim``). What this loop adds for serving: per-row sampling
settings (temperature, top_p, seed), per-row budgets and stop strings, logprobs, text handed out
as it is produced (streaming), and rows that finish or are cancelled (a client gone) leave the
batch at once, so the rest runs on a smaller batch.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from tunewise.models.compat import cache_kwarg, causal_lm
from tunewise.prompting.generate import _trim
from tunewise.serving.sampling import SamplingParams, choose_token
from tunewise.tasks.render import end_of_turn_id

__all__ = ["Decoder", "Job", "SamplingParams", "TokenLogprob", "stop_token_ids", "SHUTTING_DOWN"]

log = logging.getLogger("tunewise.serving")

#: ``Job.error_code`` of the jobs a shutdown ended before they finished (answered with 503)
SHUTTING_DOWN = "shutting_down"


@dataclass
class TokenLogprob:
    token_id: int
    text: str
    logprob: float
    top: list[tuple[int, str, float]] = field(default_factory=list)


@dataclass
class Job:
    """One request in flight: its prompt, settings and, as decoding runs, its answer."""

    prompt: list[int]
    params: SamplingParams
    #: adapter name, or None for the base model
    adapter: str | None = None
    #: called from the engine thread with (text delta, new logprob entries) as text is safe to
    #: hand out, and once with ("", [], finished=True) at the end (streaming)
    on_delta: Callable[..., None] | None = None
    #: a choice request (``serving.choices.ChoiceSpec``) and each choice's answer tokens: the
    #: job is scored (``ChoiceScorer``), not decoded; ``choice_index`` is the answer chosen
    choices: Any = None
    choice_ids: list | None = None
    choice_index: int | None = None
    # -- filled in by the decoder --
    tokens: list[int] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    text: str = ""
    #: "stop" (end-of-turn / EOS or a stop string), "length", "cancelled" or "error"
    finish: str | None = None
    #: with finish "error": what went wrong (for the client) and its code ("internal_error", or
    #: SHUTTING_DOWN when the server stopped before the job could finish)
    error: str | None = None
    error_code: str | None = None
    _sent: int = 0
    _lp_sent: int = 0
    cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancelled.set()

    def fail(self, message: str, code: str = "internal_error") -> None:
        """End this job with an error (the other jobs of its batch go on)."""
        self.finish, self.error, self.error_code = "error", message, code


def stop_token_ids(tokenizer) -> list[int]:
    """End-of-turn and EOS: the tokens that end an answer (as in prompting.generate)."""
    return sorted({i for i in (end_of_turn_id(tokenizer), tokenizer.eos_token_id) if i is not None})


def _held_back(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters might be the start of a stop string (not sent yet)."""
    keep = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), 0, -1):
            if text.endswith(s[:k]):
                keep = max(keep, k)
                break
    return keep


class Decoder:
    """Decodes batches of jobs on one model (a PeftModel or a plain model)."""

    def __init__(self, model, tokenizer, *, bf16: bool = False):
        self.model, self.tokenizer = model, tokenizer
        self.stop_ids = stop_token_ids(tokenizer)
        pad = tokenizer.pad_token_id
        self.pad = pad if pad is not None else tokenizer.eos_token_id
        self.device = next(model.parameters()).device
        self.bf16 = bf16
        self._cache_kw = cache_kwarg(causal_lm(model))
        #: set (from any thread) when the server shuts down: the running batch ends at its next
        #: step, every unfinished job with error_code SHUTTING_DOWN
        self.abort = threading.Event()

    def _amp(self):
        if self.bf16 and self.device.type == "cpu":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def run(self, jobs: Sequence[Job]) -> None:
        """Decode every job to the end (or until it is cancelled); results land on the jobs.

        A failure while choosing one row's token (``_step``) ends that job with an error and the
        rest of the batch goes on; a failure of the batched forward pass itself is raised (the
        engine then retries the jobs one by one). Every prompt must hold at least one token."""
        jobs = list(jobs)
        if not jobs or self._aborted(jobs):
            return
        n = len(jobs)
        # the prompt prefix every job shares (system prompt, template head) is computed once
        shared = self._shared_prefix([j.prompt for j in jobs]) if n > 1 else 0
        width = max(len(j.prompt) for j in jobs) - shared
        ids = torch.full((n, width), self.pad, dtype=torch.long)
        mask = torch.zeros((n, width), dtype=torch.long)
        for b, j in enumerate(jobs):  # left padding: every prompt ends in the same column
            rest = j.prompt[shared:]
            ids[b, width - len(rest):] = torch.tensor(rest, dtype=torch.long)
            mask[b, width - len(rest):] = 1
        # position ids as model.generate derives them from the attention mask
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        pos = pos.masked_fill(mask == 0, 1) + shared
        mask = torch.cat([torch.ones((n, shared), dtype=torch.long), mask], dim=1)
        gens = [self._generator(j.params) for j in jobs]
        from transformers import DynamicCache
        cache = DynamicCache()
        active = list(range(n))
        with torch.inference_mode(), self._amp():
            if shared:
                head = torch.tensor([jobs[0].prompt[:shared]], dtype=torch.long)
                self.model(input_ids=head.to(self.device),
                           position_ids=torch.arange(shared).unsqueeze(0).to(self.device),
                           **{self._cache_kw: cache}, use_cache=True, logits_to_keep=1)
                cache.batch_repeat_interleave(n)
            out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                             position_ids=pos.to(self.device), **{self._cache_kw: cache},
                             use_cache=True, logits_to_keep=1)
            next_pos = pos[:, -1:] + 1
            while True:
                logits = out.logits[:, -1, :].float()
                new_tokens = []
                for r, b in enumerate(active):
                    new_tokens.append(self._safe_step(jobs[b], logits[r], gens[b]))
                if self._aborted([jobs[b] for b in active]):
                    break
                keep = [r for r, b in enumerate(active) if jobs[b].finish is None]
                if not keep:
                    break
                if len(keep) < len(active):
                    idx = torch.tensor(keep, dtype=torch.long, device=self.device)
                    cache.batch_select_indices(idx)
                    mask = mask[keep]
                    next_pos = next_pos[keep]
                    active = [active[r] for r in keep]
                    new_tokens = [new_tokens[r] for r in keep]
                mask = torch.cat([mask, torch.ones((len(active), 1), dtype=torch.long)], dim=1)
                step_ids = torch.tensor(new_tokens, dtype=torch.long).unsqueeze(1)
                out = self.model(input_ids=step_ids.to(self.device),
                                 attention_mask=mask.to(self.device),
                                 position_ids=next_pos.to(self.device),
                                 **{self._cache_kw: cache},
                                 use_cache=True, logits_to_keep=1)
                next_pos = next_pos + 1

    #: a shared prefix shorter than this is not worth its own forward pass
    MIN_SHARED = 8

    def _shared_prefix(self, prompts: Sequence[Sequence[int]]) -> int:
        """Length of the token prefix all prompts share, leaving each at least one own token."""
        first, k = prompts[0], min(len(p) for p in prompts) - 1
        for p in prompts[1:]:
            i = 0
            while i < k and p[i] == first[i]:
                i += 1
            k = i
        return k if k >= self.MIN_SHARED else 0

    @staticmethod
    def _generator(params: SamplingParams):
        if params.greedy:
            return None
        g = torch.Generator()
        if params.seed is not None:
            g.manual_seed(int(params.seed) & 0xFFFF_FFFF_FFFF_FFFF)
        else:
            g.seed()
        return g

    def _aborted(self, jobs: Sequence[Job]) -> bool:
        """On shutdown, end every unfinished job of ``jobs`` (answered 503 / a stream error)."""
        if not self.abort.is_set():
            return False
        for j in jobs:
            if j.finish is None:
                j.fail("the server is shutting down", SHUTTING_DOWN)
        return True

    def _safe_step(self, job: Job, logits: torch.Tensor, gen) -> int:
        """``_step``, but an exception ends this job only (logged), not its batch."""
        try:
            return self._step(job, logits, gen)
        except Exception:  # a bug or bad numbers in this row: fail it, keep the others going
            log.exception("generating a token for one request failed (the rest of its batch "
                          "goes on)")
            job.fail("internal server error while generating (logged on the server)")
            return self.pad

    #: how one row picks its token (a seam the tests use to make one row fail)
    _choose = staticmethod(choose_token)

    def _step(self, job: Job, logits: torch.Tensor, gen) -> int:
        """Pick one token for ``job``; update its text, logprobs and finish state."""
        params = job.params
        if job.cancelled.is_set():
            job.finish = "cancelled"
            return self.pad
        tok = self._choose(logits, params, gen)
        job.tokens.append(tok)
        if params.logprobs:
            lp = torch.log_softmax(logits, dim=-1)
            top = []
            if params.top_logprobs:
                vals, idx = torch.topk(lp, int(params.top_logprobs))
                top = [(int(i), self.tokenizer.decode([int(i)]), float(v))
                       for v, i in zip(vals, idx)]
            job.logprobs.append(TokenLogprob(tok, self.tokenizer.decode([tok]), float(lp[tok]),
                                             top))
        if tok in self.stop_ids:
            job.finish = "stop"
        elif len(job.tokens) >= params.max_tokens:
            job.finish = "length"
        if params.stop or job.on_delta is not None or job.finish is not None:
            # the text is needed now (stop strings, streaming, the end); otherwise decoding
            # every step would cost O(length^2) for nothing
            text = self.tokenizer.decode([t for t in job.tokens if t not in self.stop_ids],
                                         skip_special_tokens=True)
            if params.stop:
                text, hit = _trim(text, params.stop)
                if hit:
                    job.finish = "stop"
            job.text = text
        if job.on_delta is not None:
            self._emit(job)
        return tok

    def _emit(self, job: Job) -> None:
        """Hand out the text that can no longer change: not a possible stop-string start, not
        a half-decoded character."""
        text = job.text
        if job.finish is None:
            end = len(text) - _held_back(text, job.params.stop)
            while end > job._sent and text[end - 1] == "\ufffd":
                end -= 1
        else:
            end = len(text)
        delta = text[job._sent:end] if end > job._sent else ""
        lps = job.logprobs[job._lp_sent:]
        if delta or lps or job.finish is not None:
            job._sent = max(job._sent, end)
            job._lp_sent = len(job.logprobs)
            job.on_delta(delta, lps, job.finish is not None)
