"""Messages that say what is really wrong (issue #8 item 11): a symlink loop or a broken link is
not "no such file"; a bare-CR file reads as lines; UTF-16 / UTF-32 JSON Lines with a BOM read
like the same content as CSV does."""
from __future__ import annotations

import json

import pytest

from tunewise.data import read

ROWS = [(f"text {i} café", "pos" if i % 2 else "neg") for i in range(25)]


def test_symlink_loop(tmp_path, cli):
    (tmp_path / "a.jsonl").symlink_to(tmp_path / "b.jsonl")
    (tmp_path / "b.jsonl").symlink_to(tmp_path / "a.jsonl")
    r = cli("data", "check", str(tmp_path / "a.jsonl"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    out = r.stdout + r.stderr
    assert "loop of symbolic links" in out and "no such file" not in out


def test_broken_symlink(tmp_path, cli):
    (tmp_path / "d.jsonl").symlink_to(tmp_path / "gone.jsonl")
    r = cli("data", "check", str(tmp_path / "d.jsonl"))
    assert r.returncode == 2
    out = r.stdout + r.stderr
    assert "gone.jsonl, which does not exist" in " ".join(out.split())


def test_bare_cr_csv_reads_as_lines(tmp_path):
    p = tmp_path / "mac.csv"
    p.write_bytes(("text,label\r" + "".join(f"{t},{lab}\r" for t, lab in ROWS[:12]))
                  .encode("utf-8"))
    exs = read(p)
    assert len(exs) == 12
    assert [(e.input, e.label) for e in exs] == ROWS[:12]


def test_bare_cr_jsonl_reads_as_lines(tmp_path):
    p = tmp_path / "mac.jsonl"
    p.write_bytes("\r".join(json.dumps({"messages": [{"role": "user", "content": t},
                                                     {"role": "assistant", "content": lab}]})
                            for t, lab in ROWS).encode("utf-8") + b"\r")
    assert [(e.input, e.answer) for e in read(p)] == ROWS


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-be-bom", "utf-8-sig"])
def test_jsonl_with_bom_reads_like_csv(tmp_path, encoding):
    lines = "".join(json.dumps({"messages": [{"role": "user", "content": t},
                                             {"role": "assistant", "content": lab}]},
                               ensure_ascii=False) + "\n" for t, lab in ROWS)
    csv = "text,label\n" + "".join(f"{t},{lab}\n" for t, lab in ROWS)

    def enc(s):
        if encoding == "utf-16-be-bom":
            return b"\xfe\xff" + s.encode("utf-16-be")
        return s.encode(encoding)
    (tmp_path / "d.jsonl").write_bytes(enc(lines))
    (tmp_path / "d.csv").write_bytes(enc(csv))
    from_jsonl = [(e.input, e.answer) for e in read(tmp_path / "d.jsonl")]
    from_csv = [(e.input, e.answer) for e in read(tmp_path / "d.csv")]
    assert from_jsonl == from_csv == ROWS


def test_utf16_jsonl_check_has_no_nul_byte_errors(tmp_path, cli):
    lines = "".join(json.dumps({"messages": [{"role": "user", "content": t},
                                             {"role": "assistant", "content": lab}]}) + "\n"
                    for t, lab in ROWS)
    p = tmp_path / "d.jsonl"
    p.write_bytes(lines.encode("utf-16"))
    r = cli("data", "check", str(p), "--json")
    rep = json.loads(r.stdout)
    assert rep["n_examples"] == 25, rep
    assert not [x for x in rep["problems"] if x["severity"] == "error"], rep["problems"]
