"""An interrupted compare resumes: finished arms are reused, the result is the same as an
uninterrupted run, and a config change recomputes only the arms it affects."""
from __future__ import annotations

import random

import pytest

from tunewise.comparison import compare
from tunewise.data.formats.writers import write_chat_jsonl
from tunewise.data.records import Example

WORDS = {"pos": ["great", "love", "fine", "nice", "good"], "neg": ["bad", "awful", "hate", "poor"]}


class Stop(Exception):
    pass


def _examples(n, seed):
    r = random.Random(seed)
    out = []
    for i in range(n):
        lab = r.choice(["pos", "neg"])
        text = " ".join(r.choice(WORDS[lab]) for _ in range(4)) + f" #{seed}-{i}"
        out.append(Example.from_text(text, lab, label=lab))
    return out


def write_splits(d, n_val: int = 12):
    """Train (60), validation (``n_val``) and test (24) files of seeded examples in ``d``."""
    for name, n, seed in (("train", 60, 1), ("val", n_val, 2), ("test", 24, 3)):
        write_chat_jsonl(d / f"{name}.jsonl", _examples(n, seed))
    return d


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    return write_splits(tmp_path_factory.mktemp("splits"))


def _config(d):
    return {"data": {"train": str(d / "train.jsonl"), "val": str(d / "val.jsonl"),
                     "test": str(d / "test.jsonl")},
            "task": {"kind": "classification"}, "model": "tiny-random",
            "arms": {"classical": True, "zero_shot": True, "k_shot": [{"k": 1}],
                     "fine_tune": {"sizes": [8], "seeds": 2, "epochs": 1, "max_val": 4,
                                   "config": {"batch_size": 4}}},
            "max_eval": 24, "n_resamples": 200, "cost": {"price": None}}


def _scores(results):
    m = results["metric"]
    return {a["name"]: a["metrics"][m]["value"] for a in results["arms"]}


def test_interrupted_compare_resumes_and_matches(splits, tmp_path):
    cfg = _config(splits)
    # the uninterrupted reference
    ref = compare(cfg, out=tmp_path / "ref", progress=False, say=lambda m: None)

    out = tmp_path / "run"
    done = []

    def stop_after_zero_shot(name, reused):
        done.append((name, reused))
        if name == "zero-shot":
            raise Stop

    with pytest.raises(Stop):
        compare(cfg, out=out, progress=False, say=lambda m: None, on_arm_done=stop_after_zero_shot)
    assert [n for n, _ in done] == ["majority", "classical", "zero-shot"]
    finished = {p.stem: p.stat().st_mtime_ns for p in (out / "arms").glob("*.json")}
    assert set(finished) == {"majority", "classical", "zero-shot"}
    assert not (out / "results.json").exists()

    calls = []
    res = compare(cfg, out=out, progress=False, say=lambda m: None,
                  on_arm_done=lambda n, r: calls.append((n, r)))
    assert calls == [("majority", True), ("classical", True), ("zero-shot", True),
                     ("1-shot", False), ("probe-n8-s0", False), ("probe-n8-s1", False),
                     ("finetune-n8-s0", False), ("finetune-n8-s1", False)]
    # the finished arms' files were not rewritten
    for name, mtime in finished.items():
        assert (out / "arms" / f"{name}.json").stat().st_mtime_ns == mtime
    assert _scores(res) == pytest.approx(_scores(ref))
    assert res["recommendation"]["action"] == ref["recommendation"]["action"]
    assert (out / "results.json").exists() and (out / "report.html").exists()


def test_config_change_recomputes_only_affected_arms(splits, tmp_path):
    cfg = _config(splits)
    out = tmp_path / "out"
    compare(cfg, out=out, progress=False, say=lambda m: None)

    calls = []
    cfg["arms"]["k_shot"] = [{"k": 2}]                 # a new prompting arm
    cfg["arms"]["fine_tune"]["seeds"] = {8: 2, 16: 1}
    cfg["arms"]["fine_tune"]["sizes"] = [8, 16]        # one more training size
    res = compare(cfg, out=out, progress=False, say=lambda m: None,
                  on_arm_done=lambda n, r: calls.append((n, r)))
    assert dict(calls) == {"majority": True, "classical": True, "zero-shot": True,
                           "2-shot": False, "finetune-n8-s0": True, "finetune-n8-s1": True,
                           "finetune-n16-s0": False, "probe-n8-s0": True, "probe-n8-s1": True,
                           "probe-n16-s0": False}
    assert [p["train_size"] for p in res["learning_curve"]] == [8, 16]

    calls.clear()
    cfg["max_eval"] = 20                                # another test sample: everything changes
    compare(cfg, out=out, progress=False, say=lambda m: None,
            on_arm_done=lambda n, r: calls.append((n, r)))
    assert not any(reused for _, reused in calls)
