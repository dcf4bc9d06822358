"""JSON Lines and JSON documents -> (line, object) pairs, with precise syntax problems.

Parsing is fast (orjson); only a line that fails, or that may hold a duplicate key, is parsed again
with the standard library to name the column and the duplicated key.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

import orjson

from tunewise.data.formats.textio import InputFile, iter_byte_lines, iter_text_lines

BAD = object()   # returned for a line that could not be parsed (a problem was logged)


def count_keys(o: Any) -> int:
    """Number of object keys anywhere in a parsed JSON value (duplicates counted once)."""
    t = type(o)
    if t is dict:
        n = len(o)
        for v in o.values():
            tv = type(v)
            if tv is dict or tv is list:
                n += count_keys(v)
        return n
    if t is list:
        n = 0
        for v in o:
            tv = type(v)
            if tv is dict or tv is list:
                n += count_keys(v)
        return n
    return 0


def may_have_duplicate_keys(raw: bytes, obj: Any) -> bool:
    """False when ``raw`` provably has no duplicate key; True means "check precisely".

    Every key in the text is a string immediately followed by ``":`` unless whitespace sits before
    the colon; ``":`` inside a string value is an escaped quote and only adds to the count. So with
    no ``" :`` in the text, count(``":``) >= keys in the text >= keys after parsing, with equality
    throughout only when no key was dropped as a duplicate.
    """
    if b'" :' in raw or b'"\t:' in raw or b'"\r:' in raw:
        return True
    return raw.count(b'":') != count_keys(obj)


def duplicate_keys(text: str) -> list[str]:
    """Keys that occur twice in one object of ``text`` (as 'outer.inner' paths where possible)."""
    dups: list[str] = []

    def hook(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen and k not in dups:
                dups.append(k)
            seen.add(k)
        return dict(pairs)
    json.loads(text, object_pairs_hook=hook)
    return dups


def diagnose_line(raw: bytes, line: int, log) -> Any:
    """Parse a line orjson rejected (or that may hold duplicate keys); log what is wrong.

    Returns the parsed object, or BAD.
    """
    nul = raw.find(b"\x00")
    if nul >= 0:
        log.error("nul_bytes", f"NUL byte (\\x00) at column {nul + 1}", "remove the NUL bytes; "
                  "the file may be corrupt or saved as UTF-16", line=line, column=nul + 1)
        return BAD
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        col = raw[:e.start].decode("utf-8", "replace")
        log.error("encoding", f"not valid UTF-8 at column {len(col) + 1} (byte 0x{raw[e.start]:02x})",
                  "JSON Lines must be UTF-8: re-save the file as UTF-8", line=line,
                  column=len(col) + 1)
        return BAD
    text = text.lstrip("\ufeff").rstrip("\r\n")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        hint = _json_hint(text, e)
        log.error("invalid_json", f"invalid JSON: {e.msg} (column {e.colno})", hint, line=line,
                  column=e.colno)
        return BAD
    except RecursionError:
        log.error("invalid_json", "JSON nested too deeply", "flatten the record", line=line)
        return BAD
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        import re
        m = re.search(r"(?<![\w\"])(NaN|-?Infinity|-?\d{20,})(?![\w\"])", text)
        what = f"{m.group()!r}" if m else "NaN, Infinity or an integer out of range"
        log.error("invalid_json", f"non-standard JSON: {what} is not a JSON value"
                  + (f" (column {m.start() + 1})" if m else ""),
                  "write standard JSON: null for a missing number, a string for huge integers",
                  line=line, column=m.start() + 1 if m else None)
        return BAD
    dups = duplicate_keys(text)
    for k in dups:
        log.warning("duplicate_key", f"key {k!r} appears twice in one object; the last value wins",
                    "remove one of the two", line=line, field=k)
    return obj


def _json_hint(text: str, e: json.JSONDecodeError) -> str:
    s = text.strip()
    if not s:
        return "remove the blank line"
    if s.startswith("[") or s.endswith(","):
        return ("JSON Lines holds one complete object per line, without commas between lines "
                "and without surrounding [ ]")
    if "'" in s and '"' not in s:
        return "use double quotes for JSON strings and keys (single quotes are Python, not JSON)"
    if e.msg.startswith("Expecting property name") or "delimiter" in e.msg:
        return "check for a missing comma, a trailing comma or an unquoted key near that column"
    if e.msg.startswith("Unterminated string") or e.msg.startswith("Invalid control"):
        return "escape newlines and tabs inside strings as \\n and \\t; one record per line"
    if e.msg.startswith("Extra data"):
        return "put exactly one JSON object on each line"
    return "fix the JSON syntax at that column (a JSON validator shows the exact spot)"


def iter_jsonl(info: InputFile, log) -> Iterator[tuple[int, Any]]:
    """(line, object) for every non-blank line; bad lines are logged and yielded as BAD."""
    loads = orjson.loads
    for i, raw in enumerate(iter_byte_lines(info), 1):
        if not raw.strip():
            log.tally("blank_lines", i, message="{count} blank line(s) skipped",
                      fix="remove blank lines: some uploaders (OpenAI's) reject them")
            continue
        try:
            obj = loads(raw)
        except orjson.JSONDecodeError:
            yield i, diagnose_line(raw, i, log)
            continue
        if may_have_duplicate_keys(raw, obj):
            obj = diagnose_line(raw, i, log)
        yield i, obj


def iter_json_document(info: InputFile, encoding: str, log) -> Iterator[tuple[int, Any]]:
    """A JSON array of records (or one object): (line of each element, element)."""
    text = "".join(iter_text_lines(info, encoding))
    dups: list[str] = []

    def hook(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen:
                dups.append(k)
            seen.add(k)
        return dict(pairs)
    dec = json.JSONDecoder(object_pairs_hook=hook)
    ws = " \t\r\n\ufeff"
    i = len(text) - len(text.lstrip(ws))
    if i >= len(text) or text[i] != "[":
        try:
            obj, _ = dec.raw_decode(text, i)
        except json.JSONDecodeError as e:
            log.error("invalid_json", f"invalid JSON: {e.msg} (column {e.colno})",
                      "fix the JSON syntax at that spot", line=e.lineno, column=e.colno)
            return
        for k in dups:
            log.warning("duplicate_key", f"key {k!r} appears twice in one object",
                        "remove one of the two", line=text.count("\n", 0, i) + 1, field=k)
        yield text.count("\n", 0, i) + 1, obj
        return
    pos = i + 1
    line = text.count("\n", 0, pos) + 1
    last = pos
    while True:
        while pos < len(text) and text[pos] in ws:
            pos += 1
        if pos < len(text) and text[pos] == "]":
            return
        line += text.count("\n", last, pos)
        last = pos
        try:
            dups.clear()
            obj, end = dec.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            log.error("invalid_json", f"invalid JSON: {e.msg} (column {e.colno})",
                      "fix the JSON syntax at that spot; the rest of the array was not read",
                      line=e.lineno, column=e.colno)
            return
        for k in dups:
            log.warning("duplicate_key", f"key {k!r} appears twice in one object",
                        "remove one of the two", line=line, field=k)
        yield line, obj
        pos = end
        while pos < len(text) and text[pos] in ws:
            pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        if pos < len(text) and text[pos] == "]":
            return
        ln = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        log.error("invalid_json", "invalid JSON: expected ',' or ']' after an array element"
                  + (" (the file ends early)" if pos >= len(text) else ""),
                  "fix the JSON syntax at that spot; the rest of the array was not read",
                  line=ln, column=col)
        return
