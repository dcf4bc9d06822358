"""Config holes of issue #8 (item 10): inf / NaN in numeric fields, wrong value types in compare's
nested data.clean_options, a config path that is a folder: all ConfigErrors (exit 2) naming the
field, never exit 3."""
from __future__ import annotations

import pytest

from tunewise.errors import ConfigError


@pytest.mark.parametrize("key,val", [("epochs", float("inf")), ("epochs", float("nan")),
                                     ("batch_size", float("-inf")), ("lr", float("nan")),
                                     ("lr", float("inf")), ("lora_r", float("inf"))])
def test_train_settings_reject_inf_and_nan(key, val):
    from tunewise.training.config import load_config
    with pytest.raises(ConfigError) as e:
        load_config(None, {key: val})
    field = "lora.r" if key == "lora_r" else key
    assert any(p.startswith(field) for p in e.value.problems), e.value.problems


def test_train_yaml_inf_is_a_config_error(tmp_path, cli):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("epochs: .inf\nmax_length: .nan\n")
    r = cli("train", "--train", str(tmp_path / "none.jsonl"), "--config", str(cfg))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "epochs" in r.stderr and "max_length" in r.stderr and "internal error" not in r.stderr


@pytest.mark.parametrize("options,field", [
    ({"near_dup_threshold": "high"}, "near_dup_threshold"),
    ({"near_dup_threshold": float("nan")}, "near_dup_threshold"),
    ({"max_tokens": float("inf")}, "max_tokens"),
    ({"max_tokens": 12.5}, "max_tokens"),
    ({"min_confidence": [0.5]}, "min_confidence"),
    ({"conflicts": 3}, "conflicts"),
    ({"conflicts": "sometimes"}, "conflicts"),
    ({"mojibake": None}, "mojibake"),
])
def test_compare_clean_options_types(tmp_path, options, field):
    from tunewise.comparison.config import load_config
    data = tmp_path / "d.csv"
    data.write_text("text,label\na,b\n")
    with pytest.raises(ConfigError) as e:
        load_config({"data": {"path": str(data), "clean_options": options}})
    assert any(p.startswith("data.clean_options") and field in p for p in e.value.problems), \
        e.value.problems


def test_compare_clean_options_valid_values_pass(tmp_path):
    from tunewise.comparison.config import load_config
    data = tmp_path / "d.csv"
    data.write_text("text,label\na,b\n")
    cfg = load_config({"data": {"path": str(data), "clean_options": {
        "near_dup_threshold": 0.8, "max_tokens": 256, "conflicts": "majority"}}})
    assert cfg.data.clean_options["max_tokens"] == 256


def test_compare_config_path_is_a_folder(tmp_path, cli):
    r = cli("compare", str(tmp_path))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "a folder, not a config file" in r.stderr and str(tmp_path) in r.stderr


def test_train_config_path_is_a_folder(tmp_path, cli):
    r = cli("train", "--train", str(tmp_path / "x.jsonl"), "--config", str(tmp_path))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert str(tmp_path) in r.stderr
