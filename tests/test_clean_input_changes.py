"""`data clean` notices an input that changes while it runs (size, modification time, sha256)
and then writes nothing: a previous output and log survive, the error says what changed."""
from __future__ import annotations

import json
import os

import pytest

import tunewise.data as data_pkg
from tunewise.quality.commands import clean
from tunewise.errors import DataError


def _write(path, n=40, word="film"):
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"messages": [{"role": "user", "content": f"a {word} {i}"},
                                              {"role": "assistant", "content": "x"}]}) + "\n")


@pytest.mark.parametrize("change", ["same_rows_other_text", "more_rows", "touched"])
def test_input_changed_during_clean_writes_nothing(tmp_path, monkeypatch, change):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    log = tmp_path / "out.log.jsonl"
    _write(src)
    out.write_text("previous\n")
    log.write_text("previous log\n")
    real = data_pkg.iter_examples
    calls = []

    def changing(path, **kw):
        calls.append(1)
        if len(calls) == 3:                 # the second full pass: the file changes under us
            if change == "same_rows_other_text":
                _write(src, word="book")    # same row count, same size, other bytes
            elif change == "more_rows":
                _write(src, n=41)
            else:
                st = os.stat(src)
                os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        return real(path, **kw)
    monkeypatch.setattr(data_pkg, "iter_examples", changing)
    with pytest.raises(DataError) as e:
        clean(src, out, progress=False)
    assert "changed while it was being cleaned" in e.value.message
    assert "nothing was written" in e.value.message
    if change == "touched":
        assert "modification time" in e.value.message and "sha256" not in e.value.message
    assert out.read_text() == "previous\n" and log.read_text() == "previous log\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_stable_input_is_cleaned(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src)
    res = clean(src, out, progress=False)
    assert res.kept + res.removed_rows == res.input_rows == 40
