"""CSV/TSV with a text column and a label column -> Example (user: text, assistant: label).

- delimiter: ``.tsv``/``.tab`` -> tab, otherwise sniffed among , TAB ; | (the one giving the same
  number of fields > 1 on the first lines)
- columns: ``--text-column`` / ``--label-column``, or the first header matching a common name
  (text/sentence/tweet/review/content..., label/sentiment/class/category/target...)
- a ``confidence`` column goes to ``meta["confidence"]`` (a float); an ``id`` column to meta["id"]
- line numbers are those of the record's first line; quoted fields may span lines
"""
from __future__ import annotations

import csv
import sys
from typing import Iterator

from tunewise.data.formats.textio import InputFile, detect_encoding, iter_text_lines
from tunewise.data.records import Example
from tunewise.registry import did_you_mean

NAME = "csv"
TEXT_NAMES = ("text", "sentence", "tweet", "review", "content", "document", "input", "prompt",
              "question", "utterance", "comment", "body", "message", "sentence1", "review_text")
LABEL_NAMES = ("label", "sentiment", "class", "category", "target", "labels", "intent",
               "emotion", "topic", "output", "answer", "completion", "y", "gold")
CONFIDENCE_NAMES = ("confidence", "label_confidence", "agreement")
DELIMITERS = (",", "\t", ";", "|")
_LONG_SPAN = 20   # a record spanning more lines than this probably has an unbalanced quote

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def sniff_delimiter(lines: list[str], suffix: str = "") -> str:
    """Pick the delimiter that splits the first lines into the same number (> 1) of fields."""
    if suffix in (".tsv", ".tab"):
        return "\t"
    best, best_score = ",", (-1.0, 0)
    sample = [ln for ln in lines[:50] if ln.strip()]
    for d in DELIMITERS:
        try:
            rows = list(csv.reader(sample, delimiter=d))
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        n = len(rows[0])
        same = sum(1 for r in rows if len(r) == n) / len(rows)
        score = (same, n if n <= 50 else 0)
        if score > best_score:
            best, best_score = d, score
    return best


def _find(header: list[str], wanted: str | None, names: tuple, what: str, flag: str, log,
          required: bool) -> int | None:
    low = [h.strip().lower() for h in header]
    if wanted is not None:
        if wanted in header:
            return header.index(wanted)
        if wanted.strip().lower() in low:
            return low.index(wanted.strip().lower())
        log.error("missing_column", f"no column {wanted!r} (columns: {', '.join(header)})",
                  f"{flag} must name a column; {did_you_mean(wanted, header)}", line=1)
        return -1
    for n in names:
        if n in low:
            return low.index(n)
    return None


def iter_examples(info: InputFile, opts, log) -> Iterator[Example]:
    enc = detect_encoding(info, log, opts.encoding)
    nul_lines: set[int] = set()
    counter = {"n": 0}

    def lines() -> Iterator[str]:
        for ln in iter_text_lines(info, enc):
            counter["n"] += 1
            if "\x00" in ln:
                nul_lines.add(counter["n"])
                ln = ln.replace("\x00", "")
            yield ln

    it = lines()
    head: list[str] = []
    for ln in it:
        head.append(ln)
        if len(head) >= 50:
            break
    delim = sniff_delimiter(head, info.suffix)

    def all_lines():
        yield from head
        yield from it

    reader = csv.reader(all_lines(), delimiter=delim)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        log.error("invalid_csv", f"cannot parse the header: {e}", "fix the first line", line=1)
        return
    header = [h.lstrip("\ufeff").strip() for h in header]
    cols = _text_and_label_columns(header, head, delim, opts, log)
    if cols is None:
        return
    t_idx, l_idx = cols
    c_idx = next((header.index(h) for h in header if h.lower() in CONFIDENCE_NAMES), None)
    id_idx = next((i for i, h in enumerate(header) if h.lower() == "id"), None)
    width = len(header)
    prev_end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            line = prev_end + 1
            log.error("invalid_csv", f"cannot parse the row: {e}", "fix the quoting on that line",
                      line=line)
            prev_end = reader.line_num
            continue
        line, end = prev_end + 1, reader.line_num
        prev_end = end
        if nul_lines and any(ln in nul_lines for ln in range(line, end + 1)):
            log.error("nul_bytes", "the row contains NUL bytes (\\x00)",
                      "remove them; the file may be corrupt or saved as UTF-16", line=line)
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue   # blank line
        if end - line > _LONG_SPAN:
            log.warning("long_quoted_field", f"one record spans lines {line}-{end}: an unbalanced "
                        "quote?", "check the quotes on that line", line=line)
        if len(row) != width:
            log.error("csv_field_count", f"{len(row)} fields, but the header has {width}",
                      f"quote fields that contain the delimiter {delim!r} (or a newline)", line=line)
            continue
        ex = _row_example(row, line, header, (t_idx, l_idx, c_idx, id_idx), opts, log)
        if ex is not None:
            yield ex


def _text_and_label_columns(header: list[str], head: list[str], delim: str, opts,
                            log) -> tuple[int, int] | None:
    """(text column, label column) by name, flag or (two columns) by guess; None when one is
    missing (the error logged)."""
    t_idx = _find(header, opts.text_column, TEXT_NAMES, "text", "--text-column", log, True)
    l_idx = _find(header, opts.label_column, LABEL_NAMES, "label", "--label-column", log, True)
    if t_idx == -1 or l_idx == -1:
        return None
    if t_idx is None and l_idx is None and len(header) == 2:
        t_idx, l_idx = _guess_two_columns(head[1:], delim)
        log.warning("guessed_columns", f"no column named like text or label; using {header[t_idx]!r} "
                    f"as the text and {header[l_idx]!r} as the label",
                    "name them with --text-column and --label-column", line=1)
    if t_idx is None:
        log.error("missing_column", f"no text column found (columns: {', '.join(header)})",
                  f"name it with --text-column (looked for: {', '.join(TEXT_NAMES[:6])}, ...)",
                  line=1)
        return None
    if l_idx is None:
        others = [h for i, h in enumerate(header) if i != t_idx]
        log.error("missing_label_column", f"no label column found (columns: {', '.join(header)})",
                  f"name it with --label-column{f' (e.g. --label-column {others[0]})' if others else ''}",
                  line=1)
        return None
    return t_idx, l_idx


def _row_example(row: list[str], line: int, header: list[str], idx: tuple, opts,
                 log) -> Example | None:
    """The Example of one well-formed row, or None (empty text or label: the error logged).
    ``idx``: the text, label, confidence and id columns (the last two may be None)."""
    t_idx, l_idx, c_idx, id_idx = idx
    text = row[t_idx]
    label = row[l_idx].strip()
    if not text.strip():
        log.error("missing_content", f"the text ({header[t_idx]}) is empty",
                  "fill it in or drop the row", line=line, field=header[t_idx])
        return None
    if not label:
        log.error("missing_label", f"the label ({header[l_idx]}) is empty",
                  "fill it in or drop the row", line=line, field=header[l_idx])
        return None
    meta = {"source": opts.source, "line": line,
            "id": row[id_idx] if id_idx is not None and row[id_idx].strip() else str(line)}
    if c_idx is not None:
        raw = row[c_idx].strip()
        try:
            meta["confidence"] = float(raw)
        except ValueError:
            if raw:
                log.warning("invalid_confidence", f"confidence {raw!r} is not a number",
                            "write a number between 0 and 1", line=line, field=header[c_idx])
    if opts.task == "generation":
        return Example.from_text(text, label, reference=label, meta=meta)
    return Example.from_text(text, label, label=label, meta=meta)


def _guess_two_columns(lines: list[str], delim: str) -> tuple[int, int]:
    rows = [r for r in csv.reader(lines, delimiter=delim) if len(r) == 2]
    if not rows:
        return 0, 1
    a = sum(len(r[0]) for r in rows)
    b = sum(len(r[1]) for r in rows)
    return (0, 1) if a >= b else (1, 0)
