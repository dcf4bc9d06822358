"""`tunewise eval` end to end (subprocess) on the tiny random model."""
from __future__ import annotations

import json

import pytest

ROWS = [("I loved it", "positive"), ("great movie", "positive"), ("wonderful acting", "positive"),
        ("a masterpiece", "positive"), ("terrible film", "negative"), ("I hated it", "negative"),
        ("boring and long", "negative"), ("awful script", "negative")]


@pytest.fixture
def files(tmp_path):
    train = tmp_path / "train.csv"
    test = tmp_path / "test.csv"
    train.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in ROWS))
    test.write_text("text,label\nreally great,positive\nwhat a bore,negative\n"
                    "loved the music,positive\nhated the ending,negative\n")
    return train, test


def test_json_output_and_predictions_file(cli, files, tmp_path):
    train, test = files
    out = tmp_path / "pred.jsonl"
    r = cli("eval", "--data", str(test), "--model", "tiny-random", "--shots", "2",
            "--shots-from", str(train), "--shot-selection", "balanced", "--out", str(out),
            "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)  # exactly one JSON object on stdout
    acc = d["metrics"]["accuracy"]
    assert 0 <= acc["value"] <= 1 and len(acc["ci"]) == 2
    assert "macro_f1" in d["metrics"]
    assert d["timing"]["examples_per_second"] > 0
    assert d["n"] == 4 and d["settings"]["shots"] == 2
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows[0]["_tunewise"] == "predictions" and len(rows) == 5
    assert {"input", "gold", "prediction", "raw", "latency_s", "tokens_in", "tokens_out"} <= set(rows[1])


def test_human_output_and_compare(cli, files, tmp_path):
    train, test = files
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    r = cli("eval", "--data", str(test), "--arm", "classical", "--train", str(train),
            "--out", str(a))
    assert r.returncode == 0, r.stderr
    for text in ("accuracy", "95% CI", "per class", "confusion matrix", "examples/s"):
        assert text in r.stdout
    r = cli("eval", "--data", str(test), "--model", "tiny-random", "--method", "generate",
            "--max-new-tokens", "3", "--out", str(b))
    assert r.returncode == 0, r.stderr
    r = cli("eval", "--compare", str(a), str(b), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["n"] == 4 and d["metrics"]["accuracy"]["test"].startswith("McNemar")
    assert {"diff", "ci", "p_value"} <= set(d["metrics"]["macro_f1"])
    r = cli("eval", "--compare", str(a), str(b))
    assert r.returncode == 0 and "p-value" in r.stdout


def test_bad_inputs_give_clear_errors(cli, files, tmp_path):
    train, test = files
    r = cli("eval", "--data", str(tmp_path / "missing.csv"), "--model", "tiny-random")
    assert r.returncode == 2 and "missing.csv" in r.stderr and "Traceback" not in r.stderr
    r = cli("eval", "--data", str(test), "--arm", "classical")
    assert r.returncode == 2 and "--train" in r.stderr
    r = cli("eval")
    assert r.returncode == 2 and "--data" in r.stderr
    other = tmp_path / "other.jsonl"
    other.write_text('{"gold": "positive", "prediction": "positive", "input": "x"}\n')
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"gold": "negative", "prediction": "positive", "input": "y"}\n')
    r = cli("eval", "--compare", str(other), str(mine))
    assert r.returncode == 2 and "different examples" in r.stderr
    assert "Traceback" not in r.stderr
