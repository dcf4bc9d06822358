"""Answer-only loss masks, the truncated-answer error, length-grouped batches, config validation."""
from __future__ import annotations

import pytest

from tunewise.data.records import Example, Message
from tunewise.errors import ConfigError, TrainingError
from tunewise.tasks import ClassificationTask
from tunewise.tasks.render import encode_answer, encode_prompt
from tunewise.training.batching import (IGNORE, collate, encode_example, encode_examples,
                                        length_grouped_batches, render_mask, split_batch)
from tunewise.training.config import TrainConfig, load_config


@pytest.fixture
def task():
    return ClassificationTask(["negative", "positive"])


def _ex(text, label, line=1, system=None):
    return Example.from_text(text, label, system=system, label=label,
                             meta={"source": "reviews.jsonl", "line": line})


def test_only_answer_tokens_are_trained(task, tokenizer):
    ex = _ex("a dull, lifeless film", "negative", system="You rate films.")
    enc = encode_example(task, tokenizer, ex)
    prompt = encode_prompt(tokenizer, task.prompt_messages(ex))
    answer = encode_answer(tokenizer, "negative")
    assert enc.input_ids == prompt + answer
    # every prompt token (system, user, assistant header) is ignored ...
    assert enc.labels[:len(prompt)] == [IGNORE] * len(prompt)
    # ... and exactly the answer + end-of-turn tokens are trained, with their own ids
    assert enc.labels[len(prompt):] == answer
    trained_text = tokenizer.decode([t for t in enc.labels if t != IGNORE])
    assert trained_text.startswith("negative") and trained_text.endswith("<|im_end|>")
    ignored_text = tokenizer.decode(prompt)
    assert "You rate films." in ignored_text and "a dull, lifeless film" in ignored_text


def test_multi_turn_trains_only_the_final_answer(task, tokenizer):
    ex = Example(messages=[Message("user", "hello"), Message("assistant", "positive"),
                           Message("user", "awful acting"), Message("assistant", "negative")],
                 label="negative", meta={"source": "chat.jsonl", "line": 4})
    enc = encode_example(task, tokenizer, ex)
    trained = [t for t in enc.labels if t != IGNORE]
    assert trained == encode_answer(tokenizer, "negative")
    # the earlier assistant turn is context (ignored), not a target
    assert enc.n_trained == len(encode_answer(tokenizer, "negative"))


def test_padding_is_ignored_and_masked(task, tokenizer):
    encs = [encode_example(task, tokenizer, _ex("short", "positive")),
            encode_example(task, tokenizer, _ex("a much longer review " * 5, "negative"))]
    b = collate(encs, tokenizer.pad_token_id)
    short = len(encs[0])
    assert b["input_ids"].shape == b["labels"].shape == b["attention_mask"].shape
    assert (b["labels"][0, short:] == IGNORE).all()
    assert (b["attention_mask"][0, short:] == 0).all()
    assert int(b["attention_mask"][1].sum()) == len(encs[1])
    assert int((b["labels"] != IGNORE).sum()) == encs[0].n_trained + encs[1].n_trained


def test_truncated_answer_is_an_error_naming_file_and_line(task, tokenizer):
    exs = [_ex("fine", "positive", line=1), _ex("long review " * 80, "negative", line=7)]
    with pytest.raises(TrainingError) as e:
        encode_examples(task, tokenizer, exs, max_length=64)
    msg = str(e.value)
    assert "reviews.jsonl:7" in msg and "reviews.jsonl:1" not in msg
    assert "max_length" in msg and e.value.fix and "--max-length" in e.value.fix


def test_missing_answer_is_an_error(task, tokenizer):
    ex = Example(messages=[Message("user", "no answer here")], meta={"source": "x.jsonl", "line": 3})
    with pytest.raises(TrainingError, match="x.jsonl:3"):
        encode_example(task, tokenizer, ex)


def test_length_grouped_batches_cover_every_example_once_and_group_lengths():
    lengths = [(i * 37) % 101 + 1 for i in range(100)]
    batches = length_grouped_batches(lengths, 8, seed=3, epoch=0, group_factor=4)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(100))
    assert batches == length_grouped_batches(lengths, 8, seed=3, epoch=0, group_factor=4)
    assert batches != length_grouped_batches(lengths, 8, seed=3, epoch=1, group_factor=4)
    # grouping: padding waste is far below that of random batches
    import random
    def waste(bs):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in bs)
    rnd = list(range(100))
    random.Random(0).shuffle(rnd)
    assert waste(batches) < 0.5 * waste([rnd[j:j + 8] for j in range(0, 100, 8)])


def test_small_sets_get_different_batches_every_epoch():
    """A mega-batch holding the whole set would cut it by length into the same batches every
    epoch (16 examples, batch 8: the 8 longest and the 8 shortest, 16 times): the mega-batches
    shrink so that there are at least 4, down to plain random batches."""
    from tunewise.training.batching import MIN_MEGA_BATCHES

    def groups(n, epoch, factor=32):
        lengths = [(i * 37) % 101 + 1 for i in range(n)]
        bs = length_grouped_batches(lengths, 8, seed=0, epoch=epoch, group_factor=factor)
        return {frozenset(b) for b in bs}
    for n in (16, 64, 256):
        seen = {frozenset(groups(n, e)) for e in range(6)}
        assert len(seen) == 6, n                 # every epoch its own batches
    # big sets keep the full factor: 4 mega-batches of 8 * 32 at 1,024 examples, each sorted
    lengths = [(i * 37) % 101 + 1 for i in range(1024)]
    batches = length_grouped_batches(lengths, 8, seed=0, epoch=0, group_factor=32)
    spans = sorted(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    assert MIN_MEGA_BATCHES == 4 and spans[len(spans) // 2] <= 4


def test_split_batch_parts():
    assert split_batch([1, 2, 3, 4, 5], 2) == [[1, 2, 3], [4, 5]]
    assert split_batch([1], 3) == [[1], [], []]


def test_render_mask_marks_trained_tokens(task, tokenizer):
    enc = encode_example(task, tokenizer, _ex("nice", "positive", line=2))
    text = render_mask(tokenizer, enc)
    assert "reviews.jsonl:2" in text and "[[positive]]" in text and "[[<|im_end|>]]" in text
    assert "[[nice]]" not in text


def test_config_reports_every_problem_at_once(tmp_path):
    f = tmp_path / "cfg.yaml"
    f.write_text("epochs: -1\noptimiser: adamw\nlora:\n  r: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(f, {"lr": "fast", "optimizer": "adamm"})
    msg = str(e.value)
    for part in ("optimiser", "did you mean 'optimizer'", "lr: expected float", "adamm",
                 "epochs: must be >= 1", "lora.r: must be >= 1"):
        assert part in msg


def test_config_yaml_and_overrides(tmp_path):
    f = tmp_path / "cfg.yaml"
    f.write_text("epochs: 5\nlr: 2.0e-4\nlora:\n  r: 4\n  targets: [q_proj, k_proj]\n",
                 encoding="utf-8")
    cfg = load_config(f, {"lr": 5e-4, "lora_targets": "q_proj,v_proj,o_proj"})
    assert cfg.epochs == 5 and cfg.lr == 5e-4 and cfg.lora.r == 4
    assert cfg.lora.targets == ["q_proj", "v_proj", "o_proj"]
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_batch_must_split_over_processes():
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=2, grad_accum=2).validate(world_size=2)
