"""Regenerate the malformed-input corpus in this folder: ``python tests/bad_inputs/make_corpus.py``.

Every file holds enough valid records (12) that "too few examples" does not fire, plus the bad
record(s) it is named for; tests/test_data_check.py lists what each must produce.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

HERE = Path(__file__).parent


def chat(i: int, system: bool = True) -> str:
    msgs = ([{"role": "system", "content": "Label the sentiment."}] if system else []) + [
        {"role": "user", "content": f"review number {i} was fine"},
        {"role": "assistant", "content": "positive" if i % 2 else "negative"}]
    return json.dumps({"messages": msgs})


GOOD = [chat(i) for i in range(12)]


def jsonl(name: str, bad: list[str], at: int = 3, prefix: bytes = b"") -> None:
    """Write GOOD with the bad lines inserted so the first bad one is on line ``at``."""
    lines = GOOD[: at - 1] + bad + GOOD[at - 1:]
    (HERE / name).write_bytes(prefix + ("\n".join(lines) + "\n").encode("utf-8"))


def main() -> None:
    m = lambda *ms, **kw: json.dumps({"messages": list(ms), **kw})  # noqa: E731
    u = {"role": "user", "content": "hello"}
    a = {"role": "assistant", "content": "positive"}
    jsonl("invalid_json.jsonl", ['{"messages": [{"role": "user", "content": "hi"} {"role": "assistant", "content": "x"}]}'])
    jsonl("trailing_comma.jsonl", ['{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"},]}'])
    jsonl("single_quotes.jsonl", ["{'messages': [{'role': 'user', 'content': 'hi'}]}"])
    jsonl("nan_value.jsonl", ['{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x", "weight": NaN}]}'])
    jsonl("not_an_object.jsonl", ['["user", "hello", "assistant", "positive"]'])
    jsonl("missing_messages.jsonl", [json.dumps({"conversation": [u, a]})])
    jsonl("messages_not_list.jsonl", [json.dumps({"messages": "hello"})])
    jsonl("message_missing_role.jsonl", [m({"content": "hello"}, a)])
    jsonl("message_missing_content.jsonl", [m({"role": "user"}, a)])
    jsonl("message_unrecognized_key.jsonl", [m({**u, "text": "x"}, a)])
    jsonl("unrecognized_role.jsonl", [m({"role": "human", "content": "hello"}, a)])
    jsonl("no_assistant.jsonl", [m({"role": "system", "content": "s"}, u)])
    jsonl("null_content.jsonl", [m({"role": "user", "content": None}, a)])
    jsonl("weight_numeric.jsonl", [m(u, {**a, "weight": 0.5}), m(u, {**a, "weight": 2})])
    jsonl("weight_on_user.jsonl", [m({**u, "weight": 1}, a)])
    jsonl("tool_bad.jsonl", [m(u, {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                               {"role": "tool", "content": "42"}, a),
                             m(u, {"role": "assistant", "tool_calls": [{"id": "c2", "type": "function", "function": {"arguments": {"x": 1}}}]}, a)])
    jsonl("empty_assistant.jsonl", [m(u, {"role": "assistant", "content": "   "})])
    jsonl("special_tokens.jsonl", [m({"role": "user", "content": "great<|im_end|>"}, a),
                                   m(u, {"role": "assistant", "content": "positive<|endoftext|>"})])
    jsonl("duplicate_keys.jsonl", ['{"messages": [{"role": "user", "content": "a", "content": "b"}, {"role": "assistant", "content": "positive"}]}',
                                   m({"role": "user", "content": ""}, a)])
    jsonl("mixed_formats.jsonl", [json.dumps({"prompt": "hello", "completion": "positive"})], at=5)
    jsonl("nul_bytes.jsonl", [m(u, a).replace("hello", "hel\x00lo")])
    jsonl("invalid_utf8.jsonl", [])
    raw = (HERE / "invalid_utf8.jsonl").read_bytes().split(b"\n")
    raw.insert(3, json.dumps({"messages": [{"role": "user", "content": "caf\u00e9"}, a]},
                             ensure_ascii=False).encode("latin-1"))
    (HERE / "invalid_utf8.jsonl").write_bytes(b"\n".join(raw))
    jsonl("bom_then_bad_json.jsonl", ["{not json}"], at=4, prefix=b"\xef\xbb\xbf")
    (HERE / "pretty_printed.jsonl").write_text(json.dumps({"messages": [u, a]}, indent=2) + "\n"
                                               + json.dumps({"messages": [u, a]}, indent=2) + "\n")
    (HERE / "too_few.jsonl").write_text("\n".join(GOOD[:3]) + "\n")
    (HERE / "empty.jsonl").write_bytes(b"")
    (HERE / "whitespace_only.jsonl").write_bytes(b"\n  \n\t\n")
    (HERE / "binary.jsonl").write_bytes(bytes(range(256)) * 8)
    (HERE / "spreadsheet.csv").write_bytes(b"PK\x03\x04" + b"\x00" * 200 + b"[Content_Types].xml")
    folder = HERE / "a_folder.jsonl"
    folder.mkdir(exist_ok=True)
    (folder / "README").write_text("a directory given where a file is expected\n")
    # gzip: a bad line inside a compressed file, and a truncated archive
    body = "\n".join(GOOD[:5] + ['{"messages": [}'] + GOOD[5:]) + "\n"
    (HERE / "bad_line.jsonl.gz").write_bytes(gzip.compress(body.encode("utf-8"), mtime=0))
    (HERE / "truncated.jsonl.gz").write_bytes(gzip.compress(("\n".join(GOOD * 50) + "\n").encode(), mtime=0)[:300])
    # too long for tiny-random's 2,048-token context
    words = " ".join(f"w{i} lorem{i % 97} ipsum" for i in range(3000))
    jsonl("too_long.jsonl", [m({"role": "user", "content": words}, a)])
    # prompt/completion and alpaca
    pc = [json.dumps({"prompt": f"text {i}", "completion": "yes"}) for i in range(12)]
    pc.insert(2, json.dumps({"prompt": "text", "completion": 5}))
    pc.insert(3, json.dumps({"prompt": "", "completion": "no"}))
    (HERE / "prompt_completion_bad.jsonl").write_text("\n".join(pc) + "\n")
    al = [{"instruction": f"Say {i}", "input": "", "output": str(i)} for i in range(12)]
    al.insert(1, {"instruction": "No output here", "input": "x"})
    (HERE / "alpaca_missing_output.json").write_text(json.dumps(al, indent=1) + "\n")
    # CSV
    rows = [f"good text number {i},{'pos' if i % 2 else 'neg'}" for i in range(12)]
    (HERE / "field_count.csv").write_text("text,label\n" + "\n".join(rows[:2] + ["a,b,c,d"] + rows[2:]) + "\n")
    (HERE / "labels_outside.csv").write_text("text,label\n" + "\n".join(rows[:3] + ["odd one,neutral"] + rows[3:]) + "\n")
    (HERE / "no_label_column.csv").write_text("text,score\n" + "\n".join(r.replace("pos", "1").replace("neg", "0") for r in rows) + "\n")
    cp = ("sentiment,confidence,text\r\n" + "".join(f"positive,0.9,caf\u00e9 au lait number {i} \u2013 nice\r\n" for i in range(12))
          + "negative,0.5,\r\n")
    (HERE / "cp1252_empty_text.csv").write_bytes(cp.encode("cp1252"))
    (HERE / "nul_row.csv").write_bytes(("text,label\n" + "\n".join(rows[:4] + ["bad\x00row,pos"] + rows[4:]) + "\n").encode())
    # CoNLL
    sent = "The\tO\nAcme\tB-org\nCorp\tI-org\nsaid\tO\n"
    good = "\n".join([sent] * 12)
    (HERE / "iob_error.conll").write_text(sent + "\nThe\tO\nbig\tI-org\ncat\tO\n\n" + good)
    (HERE / "wrong_columns.conll").write_text(sent + "\nThe\tO\nAcme\tB-org\tNNP\nx\tO\n\nlonely\n\n" + good)
    (HERE / "invalid_tag.conll").write_text(sent + "\nThe\tO\nAcme\tORG\n\n" + good)


if __name__ == "__main__":
    main()
