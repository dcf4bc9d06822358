"""Classification by log-likelihood: score every label of a closed label set, pick the best.

For each example the sequence is ``encode_prompt(messages) + encode_answer(label)`` (the answer
includes the end-of-turn token, so a label that is only a prefix of the model's preferred answer
is not favoured). The score of a label is the sum of the log-probabilities of its answer tokens.
No answer is ever unparseable: the prediction is always one of the labels.

How the work is kept small (the model is the expensive part, the vocabulary head a fifth of it):

1. **Shared prefix.** The longest token prefix common to every prompt (the system prompt, and the
   shots when they are the same for every example) is run once; its KV cache is reused for every
   batch (the cached tensors are expanded over the batch, never copied or mutated: the cache
   layers grow by ``torch.cat``, which allocates new tensors).
2. **Suffix pass.** Each batch runs only the per-example part of the prompt through the model
   *body* (right-padded, attention mask + explicit position ids), and applies the LM head at one
   position per row: the last prompt token, whose distribution scores every label's first token.
3. **Answer tokens.** The remaining answer tokens of every label are appended to each row in the
   same pass, with a 4-D "tree" attention mask: each label's tokens see the prompt and their own
   earlier tokens, never another label's, and their position ids continue from the prompt. One
   forward pass per batch, no cache copies. (Models whose attention implementation cannot take
   a custom mask fall back to a second pass over the batch cache repeated once per label.)

4. **bf16 body.** With ``bf16``, the body runs as a bfloat16 copy of the model body (made once
   per model by ``bf16_body`` and remade when a weight changed), not under autocast: no per-call
   casts, about 1.2x faster on an AMX CPU. Rotary buffers stay fp32, the hidden states are cast
   to fp32 before the head, which stays the model's own fp32 head. (Measured on 600 movie
   sentences and 3 prompts: the label margin moved by at most 0.25 nats against fp32, median
   0.04; ``predict`` re-scores every closer call in fp32.)

5. **Token-sized batches on a CPU.** Rows share no work on a CPU, and a batch larger than its
   caches is slower per token: a batch holds at most ``batch_tokens`` tokens there (rows x (its
   longest row + the answer tree's tokens); at most ``batch_size`` rows, at least one). On 2
   AVX2 cores (``bench/scoring_batch_bench.py``), against batches of 32: nearest 4-shot (~220
   tokens) 1.14x faster with SmolLM2-135M, 1.31x with Gemma-3-270M; zero-shot 1.11x, 0.98x;
   77 CLINC intents (~250 tree tokens a row) 1.07x; scores within 7e-5.

Examples are sorted by length so that batches need little padding; scores come back in input
order. Padding in the middle of a row (between prefix, suffix and answer) is masked out and the
position ids skip it, so a padded row scores exactly like the same row alone.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from tunewise.cost.token_rate import CPU_BATCH_TOKENS, rows_within
from tunewise.models.compat import cache_kwarg, causal_lm, sliding_window
from tunewise.prompting.answer_tree import AnswerTree
from tunewise.prompting.bf16_copy import bf16_body

#: positions whose full-vocabulary logits exist at once when scoring answer tokens (fp32:
#: 1,024 x 49,152 x 4 bytes = 200 MB for SmolLM2)
HEAD_POSITIONS = 1024
#: "repeat" mode: rows (example x answer) per pass over the repeated cache
REPEAT_ROWS = 256


@dataclass
class ScoreOptions:
    """How label scoring runs."""

    #: rows (examples) per forward pass, at most
    batch_size: int = 16
    #: on a CPU, the most tokens (rows x (longest row after the shared prefix + answer tree))
    #: per forward pass; None: ``batch_size`` rows whatever their length
    batch_tokens: int | None = CPU_BATCH_TOKENS
    #: encode the prefix shared by every prompt once and reuse its KV cache
    prefix_cache: bool = True
    #: run a bfloat16 copy of the model body (``bf16_body``; faster on CPUs with BF16 support);
    #: the LM head and log-probabilities stay in fp32
    bf16: bool = False
    #: "tree" (answers appended with a tree attention mask, one pass), "repeat" (second pass
    #: over the cache repeated per label) or "auto" (tree where the attention supports it)
    mode: str = "auto"


@dataclass
class LabelScores:
    """Per-example scores: ``total[j]`` = sum of log-probs of label j's answer tokens;
    ``per_token[j]`` = ``total[j] / n_tokens[j]`` (length-normalised)."""

    total: list[float]
    per_token: list[float]


def _parts(model):
    """(body, lm_head) of a causal LM, also through a PeftModel wrapper."""
    causal = causal_lm(model)
    body = causal.get_decoder()
    head = causal.get_output_embeddings()
    if body is None or head is None:  # pragma: no cover - exotic architectures
        raise TypeError(f"{type(causal).__name__}: cannot find the decoder body / LM head")
    return body, head


def _new_cache(layers: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None):
    from transformers import DynamicCache
    return DynamicCache(ddp_cache_data=layers) if layers else DynamicCache()


def _cache_layers(cache) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(layer.keys, layer.values) for layer in cache.layers]


def common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix shared by all ``seqs``."""
    if not seqs:
        return 0
    first = seqs[0]
    n = min(len(s) for s in seqs)
    for s in seqs[1:]:
        k = 0
        while k < n and s[k] == first[k]:
            k += 1
        n = k
        if n == 0:
            break
    return n


class LabelScorer:
    """Scores a fixed set of answers (token id lists) after many prompts.

    >>> scorer = LabelScorer(lm.model, answers=[encode_answer(tok, "negative"), ...], pad_id=0)
    >>> scores = scorer.score(prompts)   # list[LabelScores], one per prompt
    """

    def __init__(self, model, answers: Sequence[Sequence[int]], *, pad_id: int,
                 options: ScoreOptions | None = None):
        if not answers or any(len(a) == 0 for a in answers):
            raise ValueError("every answer needs at least one token")
        self.model = model
        self.answers = [list(a) for a in answers]
        self.pad_id = int(pad_id)
        self.options = options or ScoreOptions()
        self.body, self.head = _parts(model)
        self._run_body = self.body
        self._cache_kw = cache_kwarg(self.body)
        impl = getattr(getattr(self.body, "config", None), "_attn_implementation", None)
        mode = self.options.mode
        if mode == "auto":
            mode = "tree" if impl in ("sdpa", "eager") else "repeat"
        if mode not in ("tree", "repeat"):
            raise ValueError(f"unknown scoring mode {mode!r}")
        self.mode = mode
        self._tree = AnswerTree.build(self.answers)
        self._float_mask = impl == "eager"  # eager adds the mask; sdpa takes booleans
        try:
            self.device = next(model.parameters()).device
        except StopIteration:  # pragma: no cover
            self.device = torch.device("cpu")

    # -- helpers -----------------------------------------------------------------------------
    @property
    def _bf16(self) -> bool:
        return bool(self.options.bf16) and self.device.type == "cpu"

    def _body(self, ids, mask, pos, cache):
        out = self._run_body(input_ids=ids, attention_mask=mask, position_ids=pos,
                             use_cache=True, **{self._cache_kw: cache})
        return out.last_hidden_state

    def _logprobs(self, hidden: torch.Tensor) -> torch.Tensor:
        # the head runs in fp32 with bf16 bodies too: it sees a few positions per row (cheap),
        # and bf16 logits (8 significant bits on values ~20) would blur close label scores
        return torch.log_softmax(self._head_fp32(hidden), dim=-1)

    def _head_fp32(self, hidden: torch.Tensor) -> torch.Tensor:
        """The vocabulary head in fp32 (a model loaded in bf16 on a GPU: its head weight is cast
        for this product only; on the CPU the weight is fp32 already and nothing is copied)."""
        w, b = self.head.weight, self.head.bias
        return torch.nn.functional.linear(hidden.float(), w.float(),
                                          None if b is None else b.float())

    def _prefix(self, prefix: Sequence[int]):
        """KV tensors of the shared prefix (batch 1), or None."""
        if not prefix:
            return None
        ids = torch.tensor([list(prefix)], device=self.device)
        mask = torch.ones_like(ids)
        pos = torch.arange(len(prefix), device=self.device)[None]
        cache = _new_cache()
        self._body(ids, mask, pos, cache)
        return _cache_layers(cache)

    # -- scoring -----------------------------------------------------------------------------
    def score(self, prompts: Sequence[Sequence[int]],
              on_batch: Callable[[int], None] | None = None, *,
              only: Sequence[Sequence[int]] | None = None) -> list[LabelScores]:
        """Score every answer after every prompt; ``on_batch(n)`` is called after each batch.
        ``only[i]``: score just these answers (indices) after ``prompts[i]``, the others come
        back NaN (prompts with the same subset share batches; every one shares the prefix)."""
        self._run_body = bf16_body(self.body) if self._bf16 else self.body
        with torch.inference_mode():
            return self._score(prompts, on_batch, only)

    def _score(self, prompts, on_batch, only=None) -> list[LabelScores]:
        if not prompts:
            return []
        if any(len(p) == 0 for p in prompts):
            raise ValueError("empty prompt")
        opts = self.options
        # keep at least one token per prompt outside the prefix: its position scores token 1
        n_prefix = min(common_prefix_len(prompts), min(len(p) for p in prompts) - 1) \
            if opts.prefix_cache else 0
        results: list[LabelScores | None] = [None] * len(prompts)
        prefix_kv = self._prefix(prompts[0][:n_prefix])
        groups: dict[tuple | None, list[int]] = {}
        for i in range(len(prompts)):
            groups.setdefault(None if only is None else tuple(sorted(set(only[i]))), []).append(i)
        bs = max(1, int(opts.batch_size))
        window = sliding_window(getattr(self.body, "config", None))
        longest_answer = max(len(a) for a in self.answers)
        for subset, members in groups.items():
            scorer = self if subset is None else self._restricted(subset)
            fn = scorer._score_batch_tree if self.mode == "tree" else scorer._score_batch
            order = sorted(members, key=lambda i: len(prompts[i]))
            nodes = scorer._tree.n_nodes if self.mode == "tree" else 0
            for idx in self._batches(order, prompts, n_prefix, bs, nodes):
                rows = [list(prompts[i][n_prefix:]) for i in idx]
                if window and len(prompts[idx[-1]]) + longest_answer > window:
                    # past a sliding window only unpadded rows without the tree mask are exact
                    scored = [s for r in rows for s in scorer._score_batch([r], n_prefix, prefix_kv)]
                else:
                    scored = fn(rows, n_prefix, prefix_kv)
                for i, s in zip(idx, scored):
                    results[i] = s if subset is None else self._widen(s, subset)
                if on_batch:
                    on_batch(len(idx))
        return results  # type: ignore[return-value]

    def _batches(self, order, prompts, n_prefix: int, bs: int, nodes: int = 0):
        """``order`` (by length) in batches of at most ``bs`` rows and, on a CPU, ``batch_tokens``
        tokens (rows x (longest row after the prefix + ``nodes``, the answer tree's tokens))."""
        budget = self.options.batch_tokens
        if budget is None or self.device.type != "cpu":
            for start in range(0, len(order), bs):
                yield order[start:start + bs]
            return
        batch: list[int] = []
        for i in order:   # the longest row so far is the newest: it sets the width
            if batch and len(batch) + 1 > rows_within(budget, len(prompts[i]) - n_prefix + nodes,
                                                      bs):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _restricted(self, subset: Sequence[int]) -> "LabelScorer":
        """This scorer (same body, options, bf16 copy) for the answers ``subset`` only."""
        if not subset:
            raise ValueError("an empty answer subset")
        sub = copy.copy(self)
        sub.answers = [self.answers[j] for j in subset]
        sub._tree = AnswerTree.build(sub.answers)
        return sub

    def _widen(self, s: LabelScores, subset: Sequence[int]) -> LabelScores:
        total, norm = [math.nan] * len(self.answers), [math.nan] * len(self.answers)
        for k, j in enumerate(subset):
            total[j], norm[j] = s.total[k], s.per_token[k]
        return LabelScores(total=total, per_token=norm)

    def _batch_inputs(self, rows, n_prefix, prefix_kv):
        dev, B = self.device, len(rows)
        lens = torch.tensor([len(r) for r in rows], device=dev)
        width = int(lens.max())
        ids = torch.full((B, width), self.pad_id, dtype=torch.long, device=dev)
        for b, r in enumerate(rows):
            ids[b, :len(r)] = torch.tensor(r, device=dev)
        cache = _new_cache([(k.expand(B, -1, -1, -1), v.expand(B, -1, -1, -1))
                            for k, v in prefix_kv]) if prefix_kv else _new_cache()
        return lens, width, ids, cache

    def _results(self, total: torch.Tensor) -> list[LabelScores]:
        n_tok = torch.tensor([len(a) for a in self.answers], dtype=torch.float,
                             device=total.device)
        norm = total / n_tok
        return [LabelScores(total=total[b].tolist(), per_token=norm[b].tolist())
                for b in range(total.shape[0])]

    def _score_batch_tree(self, rows: list[list[int]], n_prefix: int,
                          prefix_kv) -> list[LabelScores]:
        """One pass: the suffix + the answer tree's nodes (``answer_tree``), with a tree mask."""
        dev, B, tree = self.device, len(rows), self._tree
        lens, width, ids, cache = self._batch_inputs(rows, n_prefix, prefix_kv)
        N = tree.n_nodes
        Q = width + N
        if N:
            ids = torch.cat([ids, torch.tensor(tree.tokens, device=dev)[None].expand(B, -1)], 1)
        depth = torch.tensor(tree.depth, dtype=torch.long, device=dev)
        pos = torch.cat([(n_prefix + torch.arange(width, device=dev))[None].expand(B, -1),
                         n_prefix + lens[:, None] + depth[None]], 1)
        # mask (B, 1, Q, n_prefix + Q): True = may attend
        q_idx = torch.arange(width, device=dev)
        real = q_idx[None] < lens[:, None]                                   # (B, width)
        suf_suf = (q_idx[None, :, None] >= q_idx[None, None, :]) & real[:, None, :]
        node_suf = real[:, None, :].expand(B, N, width)
        top = torch.cat([suf_suf, torch.zeros(B, width, N, dtype=torch.bool, device=dev)], 2)
        bottom = torch.cat([node_suf, tree.sees.to(dev)[None].expand(B, -1, -1)], 2)
        mask = torch.cat([top, bottom], 1)
        if n_prefix:
            mask = torch.cat([torch.ones(B, Q, n_prefix, dtype=torch.bool, device=dev), mask], 2)
        mask = mask[:, None]
        if self._float_mask:
            mask = torch.zeros(mask.shape, device=dev).masked_fill(
                ~mask, torch.finfo(torch.float32).min)

        hidden = self._body(ids, mask, pos, cache)                           # (B, Q, H)
        last = hidden[torch.arange(B, device=dev), lens - 1]
        first_ids = torch.tensor(tree.first, device=dev)
        total = self._logprobs(last)[:, first_ids].clone()                   # (B, L)
        if N:
            pair_lp = self._pair_logprobs(hidden[:, width:])                 # (B, P)
            step_pair = torch.tensor(tree.step_pair, dtype=torch.long, device=dev)
            total.index_add_(1, torch.tensor(tree.step_answer, dtype=torch.long, device=dev),
                             pair_lp[:, step_pair])
        return self._results(total)

    def _pair_logprobs(self, nodes: torch.Tensor) -> torch.Tensor:
        """(B, P) log-probs of the tree's scored pairs from the nodes' hidden states (B, N, H).
        The head's full-vocabulary logits exist for ``HEAD_POSITIONS`` positions at a time
        (32 rows x 220 nodes at once would be 1.4 GB of fp32 logits)."""
        tree, dev = self._tree, nodes.device
        node = torch.tensor(tree.pair_node, dtype=torch.long, device=dev)
        token = torch.tensor(tree.pair_token, dtype=torch.long, device=dev)
        step = max(1, HEAD_POSITIONS // nodes.shape[1])
        out = []
        for b in range(0, nodes.shape[0], step):
            logits = self._head_fp32(nodes[b:b + step])                       # (b, N, V)
            lse = torch.logsumexp(logits, dim=-1)                            # (b, N)
            out.append(logits[:, node, token] - lse[:, node])
        return torch.cat(out, 0)

    def _score_batch(self, rows: list[list[int]], n_prefix: int, prefix_kv) -> list[LabelScores]:
        """Two passes: the suffix, then every label's answer tokens on the repeated cache."""
        dev, B, L = self.device, len(rows), len(self.answers)
        lens, width, ids, cache = self._batch_inputs(rows, n_prefix, prefix_kv)
        suffix_mask = (torch.arange(width, device=dev)[None] < lens[:, None]).long()
        mask = torch.cat([torch.ones(B, n_prefix, dtype=torch.long, device=dev), suffix_mask], 1)
        pos = (n_prefix + torch.arange(width, device=dev))[None].expand(B, -1)

        hidden = self._body(ids, mask, pos, cache)
        last = hidden[torch.arange(B, device=dev), lens - 1]            # (B, H)
        first_lp = self._logprobs(last)                                  # (B, V)
        first_ids = torch.tensor([a[0] for a in self.answers], device=dev)
        total = first_lp[:, first_ids].clone()                           # (B, L)

        if any(len(a) > 1 for a in self.answers):
            # the cache is repeated once per label for a group of labels at a time: all 77
            # labels of 32 rows at once would be 2,464 copies of the prompt's cache (~40 GB)
            layers = _cache_layers(cache)
            group = max(1, REPEAT_ROWS // B)
            for j0 in range(0, L, group):
                js = list(range(j0, min(L, j0 + group)))
                total[:, js] += self._answers_on_cache(layers, mask, lens, n_prefix, js)
        return self._results(total)

    def _answers_on_cache(self, layers, mask, lens, n_prefix: int, js: list[int]):
        """(B, len(js)): the log-probs of answers ``js`` after their first token, each fed on
        its own copy of the batch's cache (rows ordered (example b, answer j) -> b * G + j)."""
        dev, B, G = self.device, len(lens), len(js)
        feed = [self.answers[j][:-1] for j in js]
        f_width = max(1, max(len(f) for f in feed))
        f_ids = torch.full((G, f_width), self.pad_id, dtype=torch.long, device=dev)
        f_tgt = torch.zeros((G, f_width), dtype=torch.long, device=dev)
        f_msk = torch.zeros((G, f_width), dtype=torch.long, device=dev)
        for g, j in enumerate(js):
            a = self.answers[j]
            if len(a) > 1:
                f_ids[g, :len(a) - 1] = torch.tensor(a[:-1], device=dev)
                f_tgt[g, :len(a) - 1] = torch.tensor(a[1:], device=dev)
                f_msk[g, :len(a) - 1] = 1
        cache = _new_cache([(k.repeat_interleave(G, 0), v.repeat_interleave(G, 0))
                            for k, v in layers])
        c_msk = torch.cat([mask.repeat_interleave(G, 0), f_msk.repeat(B, 1)], 1)
        c_pos = (n_prefix + lens).repeat_interleave(G)[:, None] + \
            torch.arange(f_width, device=dev)[None]
        h2 = self._body(f_ids.repeat(B, 1), c_msk, c_pos, cache)        # (B*G, f_width, H)
        sel = f_msk.repeat(B, 1).bool()
        hs, tgt = h2[sel], f_tgt.repeat(B, 1)[sel]
        tok_lp = torch.cat([self._logprobs(hs[i:i + HEAD_POSITIONS]).gather(
            1, tgt[i:i + HEAD_POSITIONS, None])[:, 0]
            for i in range(0, hs.shape[0], HEAD_POSITIONS)]) if hs.shape[0] else hs.new_zeros(0)
        contrib = torch.zeros(B * G, device=dev)
        row_of = torch.arange(B * G, device=dev)[:, None].expand(-1, f_width)[sel]
        contrib.index_add_(0, row_of, tok_lp.float())
        return contrib.view(B, G)


def score_answers(model, prompts: Sequence[Sequence[int]], answers: Sequence[Sequence[int]], *,
                  pad_id: int, options: ScoreOptions | None = None,
                  on_batch: Callable[[int], None] | None = None) -> list[LabelScores]:
    """Functional form of :class:`LabelScorer`."""
    return LabelScorer(model, answers, pad_id=pad_id, options=options).score(prompts, on_batch)
