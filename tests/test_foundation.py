"""The foundation: records round-trip, atomic writes, model names, prompt/answer tokenization."""
import json

import pytest

from tunewise.data.records import Entity, Example, Message
from tunewise.errors import ModelError
from tunewise.fileio import atomic_write, write_jsonl
from tunewise.tasks import ClassificationTask
from tunewise.tasks.render import encode_answer, encode_prompt, end_of_turn_id


def test_example_round_trip():
    ex = Example(messages=[Message("user", "hi"), Message("assistant", "hello", weight=1)],
                 entities=[Entity("person", 0, 1, "hi")], tokens=["hi"], meta={"line": 3})
    back = Example.from_chat_dict(ex.to_chat_dict(with_gold=True, with_meta=True))
    assert back == ex
    assert ex.input == "hi" and ex.answer == "hello" and ex.where() == "<input>:3"
    assert "entities" not in ex.to_chat_dict()  # OpenAI upload gets messages only


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.jsonl"
    write_jsonl(target, [{"a": 1}])
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_unknown_model_name_is_a_clear_error():
    from tunewise.models import load_model
    with pytest.raises(ModelError) as e:
        load_model("no-such-model")
    assert "smollm2-135m-instruct" in e.value.fix


def test_prompt_plus_answer_tokenization(tokenizer):
    task = ClassificationTask(["negative", "positive"])
    ex = Example.from_text("great film", "positive", label="positive")
    msgs = task.prompt_messages(ex)
    assert msgs[0]["role"] == "system" and "negative, positive" in msgs[0]["content"]
    assert msgs[-1] == {"role": "user", "content": "great film"}
    p = encode_prompt(tokenizer, msgs)
    a = encode_answer(tokenizer, task.target(ex))
    assert a[-1] == end_of_turn_id(tokenizer) == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert tokenizer.decode(p).endswith("<|im_start|>assistant\n")
    assert tokenizer.decode(a[:-1]) == "positive"


def test_own_system_prompt_is_kept():
    task = ClassificationTask(["no", "yes"])
    ex = Example(messages=[Message("system", "Mine."), Message("user", "q"),
                           Message("assistant", "yes")], label="yes")
    msgs = task.prompt_messages(ex, shots=[Example.from_text("q2", "no", label="no")])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[0]["content"] == "Mine." and msgs[2]["content"] == "no"


def test_atomic_write_uses_normal_file_permissions(tmp_path):
    import os
    umask = os.umask(0o022)
    try:
        write_jsonl(tmp_path / "x.jsonl", [{"a": 1}])
    finally:
        os.umask(umask)
    assert (tmp_path / "x.jsonl").stat().st_mode & 0o777 == 0o644


def test_public_functions_stay_callable_after_submodule_imports():
    import importlib

    import tunewise
    from tunewise import data
    for mod in ("tunewise.data.reading", "tunewise.data.cleaning", "tunewise.data.splitting",
                "tunewise.data.profiling", "tunewise.cost.projection", "tunewise.comparison.runner"):
        importlib.import_module(mod)
    assert all(callable(f) for f in (data.read, data.clean, data.split, data.stats,
                                     tunewise.cost.estimate, tunewise.compare))
