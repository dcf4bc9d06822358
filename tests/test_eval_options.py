"""``EvalOptions`` in parts (common / ``prompt`` / ``remote``) with flat keywords still accepted,
and ``tunewise eval``'s flags generated from every field (a new field is a new flag)."""
from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from tunewise import typed_config as tc
from tunewise.cli import eval_flags
from tunewise.evaluation.options import (PARTS, EvalOptions, PromptOptions, RemoteOptions,
                                         eval_options)
from tunewise.errors import UsageError


def _names(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_every_option_field_gets_a_generated_flag_but_the_documented_exclusions():
    all_fields = _names(EvalOptions) | _names(PromptOptions) | _names(RemoteOptions)
    generated = {x.field for x in eval_flags.all_flags()}
    assert generated == all_fields - set(eval_flags.NOT_FLAGS)
    assert set(eval_flags.NOT_FLAGS) <= all_fields      # the exclusion list names real fields
    from tunewise.cli.eval import eval_cmd
    params = {p.name: p for p in eval_cmd.params}
    docs = {}
    for cls in (EvalOptions, *PARTS.values()):
        docs.update(tc.field_docs(cls))
    for flag in eval_flags.all_flags():
        p = params[flag.field]
        assert flag.flag in p.opts and p.help == docs[flag.field].replace("``", ""), flag.field
    # the flags users type today keep their names (three differ from their field's)
    names = {n for p in eval_cmd.params for n in p.opts + p.secondary_opts}
    for name in ("--model", "--adapter", "--arm", "--train", "--shots", "--shots-from",
                 "--shot-selection", "--task", "--labels", "--method", "--limit", "--batch-size",
                 "--max-new-tokens", "--calibrate", "--bf16", "--fp32", "--seed", "--out",
                 "--base-url", "--api-key-env", "--max-cost", "--scoring", "--concurrency",
                 "--timeout", "--retries", "--cache-dir", "--n-resamples"):
        assert name in names, name


def test_closed_sets_are_choices_from_the_library():
    from tunewise.evaluation.arms import ARM_KINDS
    from tunewise.prompting.shots import SELECTIONS
    flags = {x.field: x.kwargs for x in eval_flags.all_flags()}
    assert list(flags["shot_selection"]["type"].choices) == list(SELECTIONS)
    assert list(flags["method"]["type"].choices) == ["auto", "score", "generate"]
    assert set(flags["arm"]["type"].choices) == set(ARM_KINDS) - {"finetuned"}
    assert flags["limit"]["type"] is int and flags["timeout_s"]["type"] is float


@dataclasses.dataclass
class _Grown(PromptOptions):
    #: a setting added later
    top_k: int | None = None


def test_a_new_field_is_a_new_flag_with_its_comment_as_help():
    flag = {x.field: x for x in eval_flags.field_flags(_Grown)}["top_k"]
    assert flag.flag == "--top-k" and flag.kwargs["type"] is int
    assert flag.kwargs["help"] == "a setting added later" and flag.kwargs["default"] is None


def test_flat_keywords_land_in_their_part_and_read_back_flat():
    o = EvalOptions(model="m", shots=4, shots_from="train.csv", max_cost_usd=None, seed=3)
    assert o.prompt == PromptOptions(shots=4, shots_from="train.csv")
    assert o.remote.max_cost_usd is None and o.seed == 3
    assert (o.shots, o.shots_from, o.max_cost_usd) == (4, "train.csv", None)
    nested = EvalOptions(model="m", prompt=PromptOptions(shots=4, shots_from="train.csv"),
                         remote=RemoteOptions(max_cost_usd=None), seed=3)
    assert nested == o
    # a flat field over a part given whole; replace and eval_options route the same way
    assert EvalOptions(prompt=PromptOptions(shots=2), shots=5).prompt.shots == 5
    priced = dataclasses.replace(o, price="p")
    assert priced.remote.price == "p" and o.remote.price is None
    assert eval_options(o, method="generate").prompt.method == "generate"
    # part and common field names never collide, so a flat name has one meaning
    parts = [_names(cls) for cls in PARTS.values()]
    assert not (parts[0] & parts[1]) and not ((parts[0] | parts[1]) & _names(EvalOptions))


def test_a_flat_assignment_does_not_change_a_copy_sharing_the_part():
    a = EvalOptions(shots=1)
    b = dataclasses.replace(a)
    b.shots = 3
    assert (a.shots, b.shots, b.prompt.shots) == (1, 3, 3)


def test_unknown_options_are_refused_with_a_hint():
    with pytest.raises(TypeError, match="shots"):
        EvalOptions(shot=2)
    with pytest.raises(UsageError) as e:
        eval_options(None, sohts=2)
    assert "shots" in str(e.value.fix)
    with pytest.raises(AttributeError):
        EvalOptions().shot
    with pytest.raises(UsageError, match="n-resamples"):
        EvalOptions(n_resamples=0).check()


class _Seen(Exception):
    pass


def test_eval_flags_build_the_nested_options(monkeypatch):
    """The command hands evaluate() the options its flags spell, in their parts."""
    seen = {}

    def fake(data, options):
        seen["options"] = options
        raise _Seen()

    monkeypatch.setattr("tunewise.evaluation.evaluator.evaluate", fake)
    from tunewise.cli.eval import eval_cmd
    r = CliRunner().invoke(eval_cmd, [
        "--data", "t.csv", "--model", "qwen", "--base-url", "http://127.0.0.1:1/v1",
        "--shots", "3", "--shots-from", "s.csv", "--shot-selection", "nearest",
        "--max-cost", "none", "--timeout", "5", "--retries", "2", "--n-resamples", "50",
        "--labels", "a, b", "--text-column", "review"])
    assert isinstance(r.exception, _Seen), r.output
    o = seen["options"]
    assert o.prompt == PromptOptions(shots=3, shots_from="s.csv", shot_selection="nearest",
                                     calibrate=None)
    assert (o.remote.base_url, o.remote.max_cost_usd, o.remote.timeout_s,
            o.remote.max_retries) == ("http://127.0.0.1:1/v1", None, 5.0, 2)
    assert o.labels == ["a", "b"] and o.read_options == {"text_column": "review"}
    assert o.n_resamples == 50 and o.remote.concurrency == 8 and o.batch_size == 32
    bad = CliRunner().invoke(eval_cmd, ["--data", "t.csv", "--method", "guess"])
    assert bad.exit_code == 2 and "guess" in bad.output and isinstance(bad.exception,
                                                                       SystemExit)


def test_max_cost_text_is_read_by_the_converter():
    flag = {x.field: x for x in eval_flags.all_flags()}["max_cost_usd"]
    assert flag.flag == "--max-cost" and flag.kwargs["default"] == "5"
    assert eval_flags.option_fields({"max_cost_usd": "2.5", "seed": 1}) == \
        {"max_cost_usd": 2.5, "seed": 1}
    with pytest.raises(UsageError, match="finite"):
        eval_flags.option_fields({"max_cost_usd": "inf"})
    assert flag.kwargs["type"] is str      # the text, so "none" can say "no limit"
