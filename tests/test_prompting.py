"""Label scoring, batched generation and shot selection on the tiny random model."""
from __future__ import annotations

import pytest
import torch

from tunewise.data.records import Example
from tunewise.errors import UsageError
from tunewise.prompting.generate import GenerateOptions, generate
from tunewise.prompting.answer_tree import AnswerTree
from tunewise.prompting.scoring import LabelScorer, ScoreOptions, common_prefix_len
from tunewise.prompting.shots import nearest_shots, select_shots, shots_for
from tunewise.tasks.render import encode_answer, encode_prompt

SYSTEM = {"role": "system", "content": "Classify the sentiment: negative or positive."}
TEXTS = ["I loved this movie, it was great", "terrible",
         "An utterly boring, long and pointless film that nobody should watch, ever.", "ok"]
LABELS = ["negative", "positive", "mixed feelings"]  # answers of different token lengths


def _prompts(tok, texts=TEXTS, shots=()):
    msgs = [SYSTEM]
    for q, a in shots:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return [encode_prompt(tok, msgs + [{"role": "user", "content": t}]) for t in texts]


def _reference(model, prompt, answer):
    """Sum of answer-token log-probs from one plain full-sequence forward pass."""
    ids = torch.tensor([prompt + answer])
    with torch.no_grad():
        lp = model(ids).logits[0].float().log_softmax(-1)
    return sum(lp[len(prompt) - 1 + t, answer[t]].item() for t in range(len(answer)))


@pytest.fixture(scope="module")
def answers(tokenizer):
    a = [encode_answer(tokenizer, lab) for lab in LABELS]
    assert len({len(x) for x in a}) > 1  # the test needs labels of different lengths
    return a


def _score(tiny, answers, prompts, **opts):
    return LabelScorer(tiny.model, answers, pad_id=tiny.tokenizer.pad_token_id,
                       options=ScoreOptions(**opts)).score(prompts)


@pytest.mark.parametrize("mode", ["tree", "repeat"])
@pytest.mark.parametrize("prefix_cache", [True, False])
def test_scores_equal_a_plain_forward_pass(tiny, answers, mode, prefix_cache):
    prompts = _prompts(tiny.tokenizer, shots=[("great fun", "positive")])
    got = _score(tiny, answers, prompts, batch_size=3, mode=mode, prefix_cache=prefix_cache)
    for p, s in zip(prompts, got):
        ref = [_reference(tiny.model, p, a) for a in answers]
        assert s.total == pytest.approx(ref, abs=1e-4)
        assert s.per_token == pytest.approx([r / len(a) for r, a in zip(ref, answers)], abs=1e-4)


def test_eager_attention_takes_the_tree_mask_too(tiny, answers):
    prompts = _prompts(tiny.tokenizer)
    scorer = LabelScorer(tiny.model, answers, pad_id=tiny.tokenizer.pad_token_id)
    assert scorer.mode == "tree"
    sdpa = scorer.score(prompts)
    cfg = tiny.model.config
    old = cfg._attn_implementation
    try:
        tiny.model.set_attn_implementation("eager")
        eager = LabelScorer(tiny.model, answers, pad_id=tiny.tokenizer.pad_token_id)
        assert eager._float_mask
        got = eager.score(prompts)
    finally:
        tiny.model.set_attn_implementation(old)
    for a, b in zip(sdpa, got):
        assert a.total == pytest.approx(b.total, abs=1e-4)


def test_prefix_cache_gives_the_same_scores_as_no_cache(tiny, answers):
    shots = [("great fun", "positive"), ("dull", "negative")]
    prompts = _prompts(tiny.tokenizer, shots=shots)
    assert common_prefix_len(prompts) > 20  # system prompt + shots are shared
    cached = _score(tiny, answers, prompts, prefix_cache=True, batch_size=3)
    plain = _score(tiny, answers, prompts, prefix_cache=False, batch_size=3)
    for c, p in zip(cached, plain):
        assert c.total == pytest.approx(p.total, abs=1e-4)


def test_batch_padding_gives_the_same_scores_as_batch_size_1(tiny, answers):
    prompts = _prompts(tiny.tokenizer)  # different lengths -> padded batches
    one = _score(tiny, answers, prompts, batch_size=1)
    many = _score(tiny, answers, prompts, batch_size=4, batch_tokens=None)
    for a, b in zip(one, many):
        assert a.total == pytest.approx(b.total, abs=1e-4)


@pytest.mark.parametrize("mode", ["tree", "repeat"])
def test_cpu_batches_hold_at_most_batch_tokens_and_score_the_same(tiny, answers, mode):
    """On a CPU a batch holds at most ``batch_tokens`` tokens (rows x (its longest row after the
    shared prefix + the answer tree's tokens, which the tree mode appends to every row); at
    least one row): more, smaller batches, the same scores."""
    texts = [("word " * n).strip() for n in (1, 2, 3, 5, 8, 13, 21, 34)]
    prompts = _prompts(tiny.tokenizer, texts=texts)
    n_prefix = common_prefix_len(prompts)
    nodes = AnswerTree.build(answers).n_nodes if mode == "tree" else 0
    assert mode == "repeat" or nodes > 0    # labels of several tokens: the tree has nodes
    widths = sorted(len(p) - n_prefix + nodes for p in prompts)
    budget = 2 * widths[3]                  # two short rows fit, the longer ones go alone
    sizes = []
    scorer = LabelScorer(tiny.model, answers, pad_id=tiny.tokenizer.pad_token_id,
                         options=ScoreOptions(batch_size=8, batch_tokens=budget, mode=mode))
    small = scorer.score(prompts, on_batch=sizes.append)
    assert sum(sizes) == len(prompts) and len(sizes) > 1 and max(sizes) >= 2
    start = 0
    for n in sizes:                         # rows are taken shortest first
        assert n == 1 or n * widths[start + n - 1] <= budget
        start += n
    whole = []
    full = LabelScorer(tiny.model, answers, pad_id=tiny.tokenizer.pad_token_id,
                       options=ScoreOptions(batch_size=8, batch_tokens=None, mode=mode))
    ref = full.score(prompts, on_batch=whole.append)
    assert whole == [len(prompts)]
    for a, b in zip(small, ref):
        assert a.total == pytest.approx(b.total, abs=1e-4)


def test_scores_come_back_in_input_order(tiny, answers):
    prompts = _prompts(tiny.tokenizer)
    fwd = _score(tiny, answers, prompts, batch_size=2)
    rev = _score(tiny, answers, prompts[::-1], batch_size=2)
    for a, b in zip(fwd, rev[::-1]):
        assert a.total == pytest.approx(b.total, abs=1e-4)


def test_bf16_scores_stay_close(tiny, answers):
    prompts = _prompts(tiny.tokenizer)
    fp32 = _score(tiny, answers, prompts)
    bf16 = _score(tiny, answers, prompts, bf16=True)
    for a, b in zip(fp32, bf16):
        assert b.total == pytest.approx(a.total, abs=0.5)


def test_bf16_body_is_a_cached_copy_remade_when_weights_change(tiny):
    """The bf16 body is a copy (the model stays fp32), reused while the weights are unchanged,
    and remade after an in-place update (an optimizer step) so scores follow the new weights."""
    from tunewise.prompting.scoring import _parts, bf16_body
    body, _head = _parts(tiny.model)
    twin = bf16_body(body)
    assert twin is not body and bf16_body(body) is twin
    assert {p.dtype for p in twin.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in body.parameters()} == {torch.float32}
    assert [b.dtype for b in twin.buffers()] == [b.dtype for b in body.buffers()]
    w = next(body.parameters())
    before = next(twin.parameters()).float().clone()
    with torch.no_grad():
        w.add_(1.0)
    try:
        again = bf16_body(body)
        assert again is not twin
        assert torch.allclose(next(again.parameters()).float(), before + 1.0, atol=0.1)
    finally:
        with torch.no_grad():
            w.sub_(1.0)


def test_common_prefix_len():
    assert common_prefix_len([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_len([[5, 1], [6, 1]]) == 0
    assert common_prefix_len([]) == 0


# -- generation ------------------------------------------------------------------------------

def test_batched_generation_equals_one_at_a_time(tiny):
    prompts = _prompts(tiny.tokenizer)
    opts = GenerateOptions(batch_size=4, max_new_tokens=6)
    batched = generate(tiny.model, tiny.tokenizer, prompts, options=opts)
    single = [generate(tiny.model, tiny.tokenizer, [p],
                       options=GenerateOptions(batch_size=1, max_new_tokens=6))[0]
              for p in prompts]
    assert [g.text for g in batched] == [g.text for g in single]
    for g, p in zip(batched, prompts):
        assert g.tokens_in == len(p)
        assert 1 <= g.tokens_out <= 6


def test_generation_respects_max_new_tokens_and_reports_length(tiny):
    gens = generate(tiny.model, tiny.tokenizer, _prompts(tiny.tokenizer)[:2],
                    options=GenerateOptions(max_new_tokens=3))
    for g in gens:
        assert g.tokens_out <= 3
        assert g.finish in ("length", "eos")


def test_stop_string_trims_the_text(tiny):
    # the tiny model's greedy output for these prompts is known to contain newlines; find a
    # stop string from its own output so the test does not depend on the random weights
    prompts = _prompts(tiny.tokenizer)[:2]
    free = generate(tiny.model, tiny.tokenizer, prompts,
                    options=GenerateOptions(max_new_tokens=12))
    text = free[0].text
    if len(text) < 3:
        pytest.skip("the tiny model produced too little text to pick a stop string from")
    stop = text[1:3]
    cut = generate(tiny.model, tiny.tokenizer, prompts,
                   options=GenerateOptions(max_new_tokens=12, stop=[stop]))
    assert stop not in cut[0].text
    assert text.startswith(cut[0].text)
    assert cut[0].finish == "stop"
    assert cut[0].tokens_out <= free[0].tokens_out


# -- shots -------------------------------------------------------------------------------------

def _pool():
    rows = [("a wonderful, moving film", "positive"), ("great acting and a great plot", "positive"),
            ("I enjoyed every minute", "positive"), ("a delight", "positive"),
            ("boring and far too long", "negative"), ("the worst film of the year", "negative"),
            ("awful script, awful acting", "negative"), ("neutral take", "neutral")]
    return [Example.from_text(t, lab, label=lab) for t, lab in rows]


def test_random_shots_are_seeded_and_exclude_evaluated_inputs():
    pool = _pool()
    evaluated = [Example.from_text("a delight", "positive", label="positive")]
    a = select_shots(pool, 4, method="random", seed=1, exclude=evaluated)
    b = select_shots(pool, 4, method="random", seed=1, exclude=evaluated)
    assert [e.input for e in a] == [e.input for e in b]
    assert len(a) == 4 and len({e.input for e in a}) == 4
    assert "a delight" not in {e.input for e in a}
    seeds = {tuple(e.input for e in select_shots(pool, 4, seed=s)) for s in range(6)}
    assert len(seeds) > 1  # the seed matters


def test_balanced_shots_cover_the_classes_evenly():
    pool = _pool()
    shots = select_shots(pool, 6, method="balanced", seed=0)
    counts = {lab: sum(e.label == lab for e in shots) for lab in ("positive", "negative", "neutral")}
    # neutral has one example only, the others share the rest evenly
    assert counts == {"positive": 3, "negative": 2, "neutral": 1} or \
        counts == {"positive": 2, "negative": 3, "neutral": 1}
    two = select_shots(pool, 2, method="balanced", seed=3)
    assert len({e.label for e in two}) == 2


def test_nearest_shots_are_the_most_similar_and_never_the_input_itself():
    pool = _pool()
    # identical to a pool entry: that entry must not be picked
    query = Example.from_text("the worst film of the year", "negative", label="negative")
    other = Example.from_text("awful script", "negative", label="negative")
    near = nearest_shots(pool, [query, other], 2)
    assert all(e.input != query.input for e in near[0])
    assert near[1][-1].input == "awful script, awful acting"  # most similar last
    assert len(near[0]) == len(near[1]) == 2
    per = shots_for([query, other], pool, 2, method="nearest")
    assert [[e.input for e in s] for s in per] == [[e.input for e in s] for s in near]


def test_bad_shot_requests_are_clear_errors():
    pool = _pool()
    with pytest.raises(UsageError, match="only 8"):
        select_shots(pool, 9)
    with pytest.raises(UsageError, match="did you mean 'nearest'"):
        select_shots(pool, 2, method="nearset")
    with pytest.raises(UsageError, match=">= 0"):
        select_shots(pool, -1)
    assert select_shots(pool, 0) == []
