"""Label scoring over many labels (issue #23): the answers' shared token prefixes are fed once
(``prompting.answer_tree``), the scores equal a plain forward pass per label, and a bf16 close
call is re-scored in fp32 for its contenders only. Labels: CLINC150 intents
(tests/fixtures/clinc77), which share prefixes such as ``change_`` and ``credit_limit``."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from tunewise.data.records import Example
from tunewise.prompting import scoring as scoring_mod
from tunewise.prompting.answer_tree import AnswerTree
from tunewise.prompting.predict import BF16_RECHECK_MARGIN, predict
from tunewise.prompting.scoring import LabelScorer, ScoreOptions
from tunewise.tasks.classification import ClassificationTask
from tunewise.tasks.render import encode_answer, encode_prompt

CLINC = Path(__file__).parent / "fixtures" / "clinc77" / "clinc77_small.csv"


def _rows():
    with CLINC.open(encoding="utf-8", newline="") as f:
        return [(r["text"], r["label"]) for r in csv.DictReader(f)]


LABELS = sorted({lab for _, lab in _rows()})[:30]
TEXTS = [t for t, lab in _rows() if lab in LABELS][:4]


@pytest.fixture(scope="module")
def answers(tokenizer):
    return [encode_answer(tokenizer, lab) for lab in LABELS]


def _prompts(tok):
    system = {"role": "system", "content": "Classify the text. Answer with exactly one of: "
              + ", ".join(LABELS) + "."}
    return [encode_prompt(tok, [system, {"role": "user", "content": t}]) for t in TEXTS]


def _reference(model, prompt, answer):
    """Sum of the answer tokens' log-probs from one plain full-sequence forward pass."""
    with torch.no_grad():
        lp = model(torch.tensor([prompt + answer])).logits[0].float().log_softmax(-1)
    return sum(lp[len(prompt) - 1 + t, answer[t]].item() for t in range(len(answer)))


def test_the_tree_feeds_each_shared_prefix_once(answers):
    tree = AnswerTree.build(answers)
    fed = sum(len(a) - 1 for a in answers)
    assert tree.n_nodes < fed                  # the intents share prefixes ("change", "_" ...)
    assert len(tree.step_answer) == fed        # every answer token after the first is scored
    # a node sees itself and its ancestors only: the tokens of its own answer up to it
    path = {}
    for k in range(tree.n_nodes):
        seen = sorted(torch.nonzero(tree.sees[k]).flatten().tolist(), key=tree.depth.__getitem__)
        path[tuple(tree.tokens[m] for m in seen)] = k
    assert len(path) == tree.n_nodes           # one node per distinct prefix
    for a in answers:
        assert [tree.depth[path[tuple(a[:t + 1])]] for t in range(len(a) - 1)] == \
            list(range(len(a) - 1))


@pytest.mark.parametrize("mode", ["tree", "repeat"])
def test_many_label_scores_equal_a_plain_forward_pass(tiny, answers, mode):
    prompts = _prompts(tiny.tokenizer)
    got = LabelScorer(tiny.model, answers, pad_id=tiny.tokenizer.pad_token_id,
                      options=ScoreOptions(batch_size=3, mode=mode)).score(prompts)
    for p, s in zip(prompts, got):
        ref = [_reference(tiny.model, p, a) for a in answers]
        assert s.total == pytest.approx(ref, abs=1e-4)


def test_repeat_mode_repeats_the_cache_for_a_few_labels_at_a_time(tiny, answers, monkeypatch):
    """The fallback for attention without a custom mask: every label on its own copy of the
    batch's cache, a bounded number of rows per pass (all 77 labels x 32 rows at once needed
    ~40 GB), with the same scores."""
    monkeypatch.setattr(scoring_mod, "REPEAT_ROWS", 7)
    prompts = _prompts(tiny.tokenizer)
    scorer = LabelScorer(tiny.model, answers, pad_id=tiny.tokenizer.pad_token_id,
                         options=ScoreOptions(batch_size=3, mode="repeat"))
    rows = []
    hook = scorer.body.register_forward_pre_hook(
        lambda m, args, kw: rows.append(kw["input_ids"].shape[0]), with_kwargs=True)
    try:
        got = scorer.score(prompts)
    finally:
        hook.remove()
    assert max(rows) <= 7 and len(rows) > 10
    for p, s in zip(prompts, got):
        assert s.total == pytest.approx([_reference(tiny.model, p, a) for a in answers], abs=1e-4)


def test_shared_label_prefixes_are_fed_once_per_prompt(tiny, answers):
    """The tokens through the model body: the prompts' own parts plus each distinct answer
    prefix once per prompt, not every answer's tokens (the scoring before issue #23)."""
    prompts = _prompts(tiny.tokenizer)
    scorer = LabelScorer(tiny.model, answers, pad_id=tiny.tokenizer.pad_token_id,
                         options=ScoreOptions(batch_size=len(prompts), mode="tree"))
    widths = []
    hook = scorer.body.register_forward_pre_hook(
        lambda m, args, kw: widths.append(kw["input_ids"].shape[1]), with_kwargs=True)
    try:
        scorer.score(prompts)
    finally:
        hook.remove()
    shared_prefix, suffix_pass = widths            # the shared prefix, then one batch
    longest_suffix = max(len(p) for p in prompts) - shared_prefix
    every_answer_token = sum(len(a) - 1 for a in answers)
    assert suffix_pass < longest_suffix + every_answer_token


def test_only_scores_the_named_answers(tiny, answers):
    prompts = _prompts(tiny.tokenizer)
    scorer = LabelScorer(tiny.model, answers, pad_id=tiny.tokenizer.pad_token_id)
    full = scorer.score(prompts)
    subsets = [[0, 5, 7], [3], [0, 5, 7], list(range(len(answers)))]
    part = scorer.score(prompts, only=subsets)
    for f, p, sub in zip(full, part, subsets):
        for j in range(len(answers)):
            if j in sub:
                assert p.total[j] == pytest.approx(f.total[j], abs=1e-4)
                assert p.per_token[j] == pytest.approx(f.per_token[j], abs=1e-4)
            else:
                assert math.isnan(p.total[j])


def test_close_calls_are_rescored_for_their_contenders_only(tiny, monkeypatch):
    """bf16 simulated as fp32 minus a perturbation below the re-check margin on the best
    label: the predictions stay fp32's, and the fp32 pass scores the contenders only."""
    task = ClassificationTask(LABELS)
    exs = [Example.from_text(t, LABELS[0], label=LABELS[0]) for t in TEXTS]
    fp32 = predict(task, tiny, exs, bf16=False, progress=False)
    real_score = scoring_mod.LabelScorer.score
    noise = 0.9 * BF16_RECHECK_MARGIN
    asked = []

    def perturbed(self, prompts, on_batch=None, **kw):
        out = real_score(self, prompts, on_batch, **kw)
        if self.options.bf16:
            for s in out:
                j = max(range(len(s.total)), key=lambda k: s.total[k])
                s.total = [v - noise if k == j else v for k, v in enumerate(s.total)]
        else:
            asked.append(kw.get("only"))
        return out
    monkeypatch.setattr(scoring_mod.LabelScorer, "score", perturbed)
    monkeypatch.setattr(scoring_mod, "bf16_body", lambda body: body)   # "bf16" = fp32 + noise
    got = predict(task, tiny, exs, bf16=True, progress=False)
    assert [p.pred for p in got] == [p.pred for p in fp32]
    close = [g for g in got if g.extra["precision"] == "fp32"]
    assert close and asked and all(only is not None for only in asked)
    for g in close:
        assert 2 <= len(g.extra["fp32_labels"]) < len(LABELS)
        assert g.pred in g.extra["fp32_labels"]


def test_the_recheck_margin_grows_with_the_answers_tokens():
    """bf16's error on a label's score grows with the tokens scored: two one-word labels (2
    tokens with the end of turn) keep the 0.35-nat margin, multi-token intents get more (a flat
    0.35 let 2-3 of 100 CLINC predictions differ from fp32: bench/many_labels_bench.py)."""
    from tunewise.prompting.predict import _contenders
    key = [-1.0, -1.5, -4.0]
    assert _contenders(key, [2, 2, 2]) == [0]                    # 0.5 > 0.35: a clear call
    assert _contenders([-1.0, -1.3, -4.0], [2, 2, 2]) == [0, 1]   # 0.3 < 0.35
    assert _contenders(key, [6, 6, 2]) == [0, 1]                 # 0.5 < 0.35 * 12 / 4
    assert _contenders([-4.0, -1.0, -1.5], [2, 2, 2]) == [1]      # the best need not come first
