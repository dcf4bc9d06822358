"""OpenAI chat `content` given as a list of parts: text parts joined with a newline (OpenAI does
not document a separator), image/audio parts a warning with file:line and a `data clean` log line."""
from __future__ import annotations

import json

from tunewise.data import read
from tunewise.data.formats.openai_chat import TEXT_PART_SEPARATOR


def _write(path, n=3, audio=False):
    other = ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}} if audio
             else {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}})
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"messages": [
                {"role": "user", "content": [{"type": "text", "text": f"Describe {i}"}, other,
                                             {"type": "text", "text": "please"}]},
                {"role": "assistant", "content": f"answer {i}"}]}) + "\n")
    return path


def test_text_parts_are_joined_with_a_newline(tmp_path):
    exs = read(_write(tmp_path / "p.jsonl"))
    assert TEXT_PART_SEPARATOR == "\n"
    assert exs[0].messages[0].content == "Describe 0\nplease"


def test_image_and_audio_parts_are_warnings_with_file_and_line(tmp_path, cli):
    for audio in (False, True):
        p = _write(tmp_path / f"p{audio}.jsonl", audio=audio)
        r = cli("data", "check", str(p), "--json")
        rep = json.loads(r.stdout)
        found = [x for x in rep["problems"] if x["category"] == "non_text_content"]
        assert found and found[0]["line"] == 1 and found[0]["severity"] == "warning", found
        assert ("input_audio" if audio else "image_url") in found[0]["message"]


def test_clean_logs_each_row_whose_parts_were_dropped(tmp_path, cli):
    p = _write(tmp_path / "p.jsonl")
    r = cli("data", "clean", str(p), "-o", str(tmp_path / "c.jsonl"), "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["changed"] == {"non_text_parts_dropped": 3}
    log = [json.loads(x) for x in (tmp_path / "c.log.jsonl").read_text().splitlines()]
    assert [e["line"] for e in log] == [1, 2, 3]
    assert all(e["reason"] == "non_text_parts_dropped" and e["dropped_parts"] == ["image_url"]
               for e in log)
    out = [json.loads(x) for x in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert out[0]["messages"][0]["content"] == "Describe 0\nplease"
