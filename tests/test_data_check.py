"""`tunewise data check`: the malformed-input corpus through the CLI, and check() itself."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tunewise.data import check

BAD = Path(__file__).parent / "bad_inputs"

# file, extra CLI args, exit code, a category it must report, the line it must name (None: file-level)
CASES = [
    ("invalid_json.jsonl", [], 1, "invalid_json", 3),
    ("trailing_comma.jsonl", [], 1, "invalid_json", 3),
    ("single_quotes.jsonl", [], 1, "invalid_json", 3),
    ("nan_value.jsonl", [], 1, "invalid_json", 3),
    ("pretty_printed.jsonl", [], 1, "invalid_json", 1),
    ("bom_then_bad_json.jsonl", [], 1, "invalid_json", 4),
    ("bad_line.jsonl.gz", [], 1, "invalid_json", 6),
    ("not_an_object.jsonl", [], 1, "not_an_object", 3),
    ("missing_messages.jsonl", [], 1, "missing_messages_list", 3),
    ("messages_not_list.jsonl", [], 1, "missing_messages_list", 3),
    ("message_missing_role.jsonl", [], 1, "message_missing_key", 3),
    ("message_missing_content.jsonl", [], 1, "message_missing_key", 3),
    ("message_unrecognized_key.jsonl", [], 1, "message_unrecognized_key", 3),
    ("unrecognized_role.jsonl", [], 1, "unrecognized_role", 3),
    ("no_assistant.jsonl", [], 1, "missing_assistant_message", 3),
    ("null_content.jsonl", [], 1, "missing_content", 3),
    ("weight_numeric.jsonl", [], 1, "invalid_weight", 4),
    ("weight_on_user.jsonl", [], 1, "invalid_weight", 3),
    ("tool_bad.jsonl", [], 1, "missing_tool_call_id", 3),
    ("tool_bad.jsonl", [], 1, "invalid_tool_calls", 4),
    ("empty_assistant.jsonl", [], 1, "empty_assistant_content", 3),
    ("special_tokens.jsonl", [], 1, "special_token", 4),
    ("duplicate_keys.jsonl", [], 1, "duplicate_key", 3),
    ("mixed_formats.jsonl", [], 1, "mixed_formats", 5),
    ("nul_bytes.jsonl", [], 1, "nul_bytes", 3),
    ("invalid_utf8.jsonl", [], 1, "encoding", 4),
    ("too_few.jsonl", [], 1, "too_few_examples", None),
    ("too_long.jsonl", ["--model", "tiny-random"], 1, "too_long", 3),
    ("prompt_completion_bad.jsonl", [], 1, "invalid_content", 3),
    ("alpaca_missing_output.json", [], 1, "missing_key", 7),
    ("field_count.csv", [], 1, "csv_field_count", 4),
    ("labels_outside.csv", ["--labels", "neg,pos"], 1, "unknown_label", 5),
    ("no_label_column.csv", [], 1, "missing_label_column", 1),
    ("cp1252_empty_text.csv", [], 1, "encoding", 2),
    ("cp1252_empty_text.csv", [], 1, "missing_content", 14),
    ("nul_row.csv", [], 1, "nul_bytes", 6),
    ("iob_error.conll", [], 1, "iob_error", 7),
    ("wrong_columns.conll", [], 1, "conll_columns", 7),
    ("invalid_tag.conll", [], 1, "invalid_tag", 7),
    ("empty.jsonl", [], 2, "empty_file", None),
    ("whitespace_only.jsonl", [], 2, "empty_file", None),
    ("binary.jsonl", [], 2, "binary_file", None),
    ("spreadsheet.csv", [], 2, "binary_file", None),
    ("truncated.jsonl.gz", [], 2, "corrupt_gzip", None),
    ("a_folder.jsonl", [], 2, "is_directory", None),
]


def _digest(p: Path) -> str:
    if p.is_dir():
        return "dir:" + ",".join(sorted(f"{x.name}:{_digest(x)}" for x in p.iterdir()))
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_corpus_is_large_enough():
    files = {c[0] for c in CASES}
    assert len(files) >= 25
    assert files <= {p.name for p in BAD.iterdir()}


@pytest.mark.parametrize("name,args,code,category,line", CASES,
                         ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_bad_input_via_cli(cli, name, args, code, category, line):
    path = BAD / name
    before = _digest(path)
    human = cli("data", "check", str(path), *args)
    as_json = cli("data", "check", str(path), *args, "--json")
    assert _digest(path) == before                       # the input is never modified
    for res in (human, as_json):
        assert res.returncode == code, res.stdout + res.stderr
        assert "Traceback" not in res.stdout + res.stderr
        assert "internal error" not in res.stderr
    report = json.loads(as_json.stdout)                  # exactly one JSON object on stdout
    assert report["exit_code"] == code
    hits = [p for p in report["problems"] if p["category"] == category]
    assert hits, report["problems"]
    assert all(p["file"] == str(path) and p["fix"] for p in hits)
    out = human.stdout
    assert category in out and str(path) in out
    if line is not None:
        assert line in [p["line"] for p in hits]
        assert f"{path}:{line}" in out                   # file:line named in the human output
    if category == "invalid_json":
        hit = next(p for p in hits if p["line"] == line)
        assert hit["column"] and re.search(rf"{re.escape(str(path))}:{line}:{hit['column']}", out)


def test_missing_file_and_bad_option_exit_2(cli, tmp_path):
    res = cli("data", "check", str(tmp_path / "nope.jsonl"))
    assert res.returncode == 2 and "no such file" in res.stdout and "Traceback" not in res.stderr
    res = cli("data", "check", str(BAD / "too_few.jsonl"), "--format", "chatml")
    assert res.returncode == 2 and "did you mean" in res.stderr
    res = cli("data", "check", str(BAD / "too_few.jsonl"), "--task", "ranking")
    assert res.returncode == 2


# -- check() in process ---------------------------------------------------------------------------
def _chat(user, answer, system=None, **extra):
    msgs = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return json.dumps({"messages": msgs, **extra}, ensure_ascii=False)


def _mixed_file(tmp_path) -> Path:
    lines = [_chat(f"text {i}: fine", "pos" if i % 2 else "neg", system="Label." if i % 3 else None)
             for i in range(150)]
    lines[10] = '{"messages": [{"role": "user", "content": "a", "content": "b"}, {"role": "assistant", "content": "pos"}]}'
    lines[20] = _chat("spaces before colon", "pos").replace('"role":', '"role" :', 1)
    lines[30] = _chat("x <|im_start|> y", "pos")
    lines[40] = _chat("escaped \u003c|endoftext|>", "neg").replace("<", "\\u003c")
    lines[50] = _chat("label outside", "maybe")
    lines[60] = '{"messages": [{"role": "user", "content": "u", "weight": 1}, {"role": "assistant", "content": "pos", "weight": 1.0}]}'
    lines[70] = _chat("café ☕ note: colons: here", "pos", name_ok=1)
    lines[80] = json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "pos", "name": "bot"}]})
    lines[90] = _chat("gold", "pos", label="pos", reference="pos")
    lines[100] = "   "
    lines[110] = json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "pos"}],
                             "meta": {"a": {"a": 1}}})
    f = tmp_path / "mixed.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f


def _key(rep):
    return sorted((p.severity, p.category, p.line, p.field or "") for p in rep.problems), rep.counts, \
        rep.n_examples, rep.n_records


def test_fast_path_finds_exactly_what_full_diagnosis_finds(tmp_path, monkeypatch):
    f = _mixed_file(tmp_path)
    fast = check(f, labels="neg,pos", count_tokens=False)
    found = {(p.category, p.line) for p in fast.problems}
    assert {("duplicate_key", 11), ("special_token", 31), ("special_token", 41),
            ("unknown_label", 51), ("invalid_weight", 61), ("unrecognized_top_level_key", 71),
            ("blank_lines", 101)} <= found
    assert not any(p.line in (21, 81, 91, 111) for p in fast.problems if p.category != "missing_system_message")
    from tunewise.data import chat_scan

    class Never:
        def decode(self, raw):
            raise ValueError("forced slow path")
    monkeypatch.setattr(chat_scan, "_DECODER", Never())
    slow = check(f, labels="neg,pos", count_tokens=False)
    assert _key(fast) == _key(slow)


def test_workers_give_the_same_report(tmp_path):
    f = _mixed_file(tmp_path)
    one = check(f, labels="neg,pos", count_tokens=False, workers=1)
    two = check(f, labels="neg,pos", count_tokens=False, workers=2)
    assert two.workers == 2
    assert _key(one) == _key(two)


def test_clean_file_passes_and_counts_warnings(tmp_path):
    f = tmp_path / "ok.jsonl"
    f.write_text("\n".join(_chat(f"t{i}", "pos", system="S" if i else None) for i in range(120)) + "\n")
    rep = check(f, model="tiny-random")
    assert rep.exit_code == 0 and rep.n_examples == 120 and rep.n_errors == 0
    assert rep.counts["warning"] == {"missing_system_message": 1}
    assert rep.context_length == 2048 and rep.n_over_context == 0


def test_too_long_uses_the_models_own_count(tmp_path, tokenizer):
    text = " ".join(f"w{i}" for i in range(1200))
    lines = [_chat(text, "pos")] + [_chat(f"t{i}", "pos") for i in range(11)]
    f = tmp_path / "long.jsonl"
    f.write_text("\n".join(lines) + "\n")
    rep = check(f, model="tiny-random")
    hit = [p for p in rep.problems if p.category == "too_long"]
    exact = len(tokenizer(tokenizer.apply_chat_template(json.loads(lines[0])["messages"], tokenize=False),
                          add_special_tokens=False)["input_ids"])
    assert exact > 2048
    assert len(hit) == 1 and hit[0].line == 1 and hit[0].extra["tokens"] == exact
    assert check(f, model="smollm2-135m-instruct").n_over_context == 0   # 8,192 context


def test_many_problems_are_counted_exactly_but_kept_bounded(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join('{"messages": [{"role": "usr", "content": "x"}]}' for _ in range(500)) + "\n")
    rep = check(f, count_tokens=False)
    assert rep.counts["error"]["unrecognized_role"] == 500
    assert sum(p.category == "unrecognized_role" for p in rep.problems) == 100


def test_check_on_other_formats(tmp_path):
    data = Path(__file__).parent / "data"
    rep = check(data / "read_ner.conll", task="ner", count_tokens=False)
    assert rep.format == "conll" and rep.n_examples == 2
    assert {p.category for p in rep.problems if p.is_error} == {"too_few_examples"}
    rep = check(data / "read_labels.csv", labels=["pos"], count_tokens=False)
    assert ("unknown_label", 3) in {(p.category, p.line) for p in rep.problems}


def test_check_real_wnut_dev_reports_its_iob_error(real_data):
    rep = check(real_data / "wnut17" / "emerging.dev.conll", count_tokens=False)
    assert rep.exit_code == 1 and rep.n_examples == 241
    assert rep.counts["error"] == {"iob_error": 1}
