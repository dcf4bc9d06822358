"""What keeps evaluation fast without changing its answers: the generation budget derived from
the data, the echo stop, and bf16 scoring with fp32 re-scoring of close calls (tiny model)."""
from __future__ import annotations

import importlib

import pytest
import torch

from tunewise.data.records import Entity, Example
from tunewise.evaluation import evaluate, predict
from tunewise.prompting.predict import (BF16_RECHECK_MARGIN,
                                         echo_ngram, generation_budget)
from tunewise.prompting import generate as generate_mod
from tunewise.prompting import scoring as scoring_mod
from tunewise.prompting.generate import GenerateOptions, echo_start, generate
from tunewise.tasks import ClassificationTask, GenerationTask, NERTask, make_task
from tunewise.tasks.render import encode_prompt


def _ner(text, ents):
    toks = text.split()
    entities = [Entity(t, s, e, " ".join(toks[s:e])) for t, s, e in ents]
    return Example.from_text(text, None, tokens=toks, entities=entities)


SHORT = [_ner("John lives in Paris", [("PER", 0, 1), ("LOC", 3, 4)]), _ner("nothing here", [])]
LONG = _ner("Ann Bo Cy Di Ed Flo met in Rome , Oslo and Lima",
            [("PER", i, i + 1) for i in range(6)] + [("LOC", 8, 9), ("LOC", 10, 11),
                                                      ("LOC", 12, 13)])


predict_mod = importlib.import_module("tunewise.prompting.predict")


def _n_tokens(tok, text):
    return len(tok(text, add_special_tokens=False)["input_ids"])


# -- the generation budget -------------------------------------------------------------------

def test_budget_is_the_longest_answer_in_the_data_plus_a_margin(tokenizer):
    task = NERTask(["PER", "LOC"])
    longest = max(_n_tokens(tokenizer, task.target(ex)) for ex in SHORT) + 1   # + end of turn
    assert generation_budget(task, tokenizer, SHORT) == longest + 8            # min margin
    big = _n_tokens(tokenizer, task.target(LONG)) + 1
    assert big > longest + 8
    assert generation_budget(task, tokenizer, [*SHORT, LONG]) == big + max(8, int(big / 4 + .5))


def test_budget_without_answers_is_the_task_default(tokenizer):
    ner = NERTask(["PER"])
    assert generation_budget(ner, tokenizer) == NERTask.default_answer_tokens
    unanswered = [Example.from_text("John is here")]         # no entities, no answer
    assert generation_budget(ner, tokenizer, unanswered) == NERTask.default_answer_tokens
    gen = GenerationTask()
    assert generation_budget(gen, tokenizer) == GenerationTask.default_answer_tokens
    ref = Example.from_text("Say a long thing", "word " * 60)
    n = _n_tokens(tokenizer, gen.target(ref)) + 1
    assert n > 40 and generation_budget(gen, tokenizer, [ref]) == n + int(n / 4 + .5)
    cls = ClassificationTask(["negative", "positive"])
    assert generation_budget(cls, tokenizer, [ref]) == 1 + 8   # one-token labels + 8


def _recording_generate(monkeypatch):
    seen = []
    real = generate_mod.generate

    def spy(model, tokenizer, prompts, *, options=None, on_batch=None):
        seen.append(options)
        return real(model, tokenizer, prompts, options=options, on_batch=on_batch)
    monkeypatch.setattr(generate_mod, "generate", spy)
    return seen


def test_predict_and_evaluate_bound_generation_by_the_training_answers(tiny, monkeypatch):
    seen = _recording_generate(monkeypatch)
    task = NERTask(["PER", "LOC"])
    preds = predict(task, tiny, SHORT, budget_from=[LONG], progress=False)
    want = generation_budget(task, tiny.tokenizer, [LONG])
    assert seen[-1].max_new_tokens == want and seen[-1].echo_ngram == echo_ngram(task) > 0
    assert all(p.tokens_out <= want for p in preds)
    predict(task, tiny, SHORT, shots=SHORT, progress=False)             # shots are answers too
    assert seen[-1].max_new_tokens == generation_budget(task, tiny.tokenizer, SHORT)
    predict(task, tiny, SHORT, max_new_tokens=5, budget_from=[LONG], progress=False)
    assert seen[-1].max_new_tokens == 5                                  # explicit wins
    r = evaluate(SHORT, task=task, train=[*SHORT, LONG], n_resamples=10, progress=False)
    assert seen[-1].max_new_tokens == generation_budget(task, tiny.tokenizer, [*SHORT, LONG])
    assert r.n == 2


def test_only_ner_stops_on_echo_by_default():
    assert echo_ngram(NERTask(["PER"])) > 0
    assert echo_ngram(GenerationTask()) == 0          # free text may quote its input
    assert echo_ngram(ClassificationTask(["a", "b"])) == 0


# -- the echo stop ---------------------------------------------------------------------------

def test_echo_start_finds_where_the_copy_began():
    prompt = [1, 2, 3, 4, 5, 6, 7, 8]
    assert echo_start([9, 9, 3, 4, 5, 6], prompt, 3) == 2       # extended back to the 3
    assert echo_start([9, 9, 5, 6, 1], prompt, 3) is None       # tail is not in the prompt
    assert echo_start([4, 5], prompt, 3) is None                # shorter than n
    assert echo_start([2, 3, 4], prompt, 0) is None


def test_a_row_that_echoes_its_prompt_stops_and_the_echo_is_trimmed(tiny):
    tok = tiny.tokenizer
    base = encode_prompt(tok, [{"role": "user", "content": "John lives in Paris"}])
    with torch.inference_mode():
        seq = tiny.model.generate(input_ids=torch.tensor([base]), max_new_tokens=12,
                                  do_sample=False, pad_token_id=tok.pad_token_id)
    ids = seq[0, len(base):].tolist()
    # the tiny random model answers with one token repeated; a prompt holding a run of that
    # token is then one its output starts to echo
    if len(ids) != 12 or len(set(ids)) != 1:
        pytest.skip("the tiny model's free output is not a repeated token")
    echoing = base[:3] + ids + base[3:]
    opts = GenerateOptions(max_new_tokens=24, echo_ngram=6, batch_size=2)
    out = generate(tiny.model, tok, [echoing, base], options=opts)
    if out[1].finish != "length":
        pytest.skip("the tiny model stopped by itself")
    assert out[0].finish == "echo" and out[0].tokens_out == 0
    assert out[0].text == ""                       # everything it wrote was copied
    assert out[1].tokens_out == 24                 # per row: the other one runs on
    plain = generate(tiny.model, tok, [echoing], options=GenerateOptions(max_new_tokens=24))[0]
    assert plain.finish == "length" and plain.tokens_out == 24     # off: runs to the limit


# -- bf16 scoring, close calls in fp32 -------------------------------------------------------

TEXTS = ["I loved this movie", "terrible", "boring and far too long", "ok", "great fun",
         "not good", "a masterpiece", "meh"]


def _cls_examples():
    return [Example.from_text(t, "positive", label="positive") for t in TEXTS]


def test_bf16_margins_are_rechecked_in_fp32(tiny, monkeypatch):
    """bf16 is simulated as fp32 plus a perturbation smaller than the re-check margin: every
    prediction must still equal fp32's, and exactly the close calls are re-scored."""
    task = ClassificationTask(["negative", "positive"])
    exs = _cls_examples()
    fp32 = predict(task, tiny, exs, bf16=False, progress=False)
    real_score = scoring_mod.LabelScorer.score
    noise = 0.9 * BF16_RECHECK_MARGIN

    def perturbed(self, prompts, on_batch=None, **kw):
        out = real_score(self, prompts, on_batch, **kw)
        if self.options.bf16:                     # push every margin towards the wrong label
            for s in out:
                j = max(range(len(s.total)), key=lambda k: s.total[k])
                s.total = [v - noise if k == j else v for k, v in enumerate(s.total)]
        return out
    monkeypatch.setattr(scoring_mod.LabelScorer, "score", perturbed)
    got = predict(task, tiny, exs, bf16=True, progress=False)
    assert [p.pred for p in got] == [p.pred for p in fp32]
    for f, g in zip(fp32, got):
        t = sorted(f.extra["scores"].values(), reverse=True)
        close = t[0] - t[1] - noise < BF16_RECHECK_MARGIN
        assert g.extra["precision"] == ("fp32" if close else "bf16")
        if close:
            assert g.extra["scores"] == pytest.approx(f.extra["scores"], abs=1e-5)


def test_default_precision_follows_the_cpu(tiny, monkeypatch):
    task = ClassificationTask(["negative", "positive"])
    for has_bf16 in (True, False):
        monkeypatch.setattr("tunewise.models.device.cpu_supports_bf16", lambda: has_bf16)
        assert predict_mod.resolve_bf16(None, tiny) is has_bf16
        r = evaluate(_cls_examples(), task=task, n_resamples=10, progress=False)
        assert r.settings["bf16"] is has_bf16
        assert {p.extra["precision"] for p in r.predictions} <= (
            {"bf16", "fp32"} if has_bf16 else {"fp32"})
    assert predict_mod.resolve_bf16(False, tiny) is False


def test_default_precision_predicts_like_fp32(tiny):
    task = make_task(preset="sentiment")
    exs = _cls_examples()
    fp32 = [p.pred for p in predict(task, tiny, exs, bf16=False, progress=False)]
    assert [p.pred for p in predict(task, tiny, exs, progress=False)] == fp32
    assert torch.get_default_dtype() == torch.float32   # nothing leaked out of autocast


# -- the sentiment preset ----------------------------------------------------------------------

def test_sentiment_preset_names_the_labels():
    task = make_task(preset="sentiment", examples=[
        Example.from_text("fine", "good", label="good"),
        Example.from_text("awful", "bad", label="bad")])
    prompt = " ".join(m["content"] for m in task.prompt_messages(Example.from_text("so-so")))
    assert "bad" in prompt and "good" in prompt and "so-so" in prompt
    assert "negative" not in prompt
