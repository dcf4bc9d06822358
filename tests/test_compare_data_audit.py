"""compare audits the train and test splits it uses (`tunewise data audit`): user-supplied
splits that share inputs get a warning in results.json and the report, and the report has a
short "Data" section from the same audit."""
from __future__ import annotations

import json
import random

from tunewise.report.compare_report import compare
from tunewise.data.formats.writers import write_chat_jsonl
from tunewise.data.records import Example


def _reviews(mr_reviews, start, n):
    return [Example.from_text(t, "pos" if lab == "1" else "neg", label="pos" if lab == "1" else "neg")
            for lab, t in mr_reviews[start:start + n]]


def test_user_splits_with_leakage_warn_in_the_report(mr_reviews, tmp_path):
    train, test = _reviews(mr_reviews, 0, 80), _reviews(mr_reviews, 200, 30)
    rng = random.Random(0)
    for ex in test[:6]:                          # 6 test inputs copied into train, one word changed
        words = ex.input.split()
        words[rng.randrange(len(words))] = "truly"
        train.append(Example.from_text(" ".join(words), ex.label, label=ex.label))
    write_chat_jsonl(tmp_path / "train.jsonl", train)
    write_chat_jsonl(tmp_path / "test.jsonl", test)
    cfg = {"data": {"train": str(tmp_path / "train.jsonl"), "test": str(tmp_path / "test.jsonl")},
           "task": {"kind": "classification"}, "model": "tiny-random",
           "arms": {"classical": True, "zero_shot": False, "k_shot": False, "fine_tune": False},
           "max_eval": 30, "n_resamples": 100, "cost": {"price": None}}
    said = []
    res = compare(cfg, out=tmp_path / "out", progress=False, say=said.append)
    audit = res["data"]["audit"]
    assert audit["user_splits"] is True
    leak = next(f for f in audit["findings"] if f["name"] == "leakage_test")
    assert leak["severity"] == "error" and "6 of 30 test inputs" in leak["summary"]
    assert any("6 of 30 test inputs" in w for w in res["warnings"])
    assert any(m.startswith("warning: data: 6 of 30") for m in said)
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["data"]["audit"]["findings"] == audit["findings"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Data" in md and "Warning: data: 6 of 30 test inputs" in md
    assert "6 of 30 test inputs" in (tmp_path / "out" / "report.html").read_text()
