"""CoNLL / IOB2 (``token TAG`` or ``token<TAB>TAG`` per line, blank line between sentences) -> Example.

Each sentence becomes ``tokens`` + typed ``entities`` (spans over the tokens) and the chat
messages user = " ".join(tokens), assistant = ``ner_target_text(entities)`` ("type: text" per
line, or "none"), the same target text ``NERTask`` trains and parses.

Blank lines are tested after removing whitespace and U+FEFF (real files have separator lines that
are a lone tab, and stray byte-order marks). With more than two columns (CoNLL-2003: token POS
chunk NER) the tag is the last column. An ``I-X`` that does not continue an ``X`` entity is an
IOB2 error; it is reported and read as the start of a new entity (the conlleval convention).
"""
from __future__ import annotations

from typing import Iterable, Iterator

from tunewise.data.formats.textio import InputFile, detect_encoding, iter_text_lines
from tunewise.data.records import Entity, Example

NAME = "conll"
NONE_TEXT = "none"


def ner_target_text(entities: Iterable[Entity]) -> str:
    """The NER answer text: one "type: text" line per entity in order, or "none"."""
    lines = [f"{e.type}: {e.text}" for e in sorted(entities, key=lambda e: (e.start, e.end))]
    return "\n".join(lines) if lines else NONE_TEXT


def tags_to_entities(tokens: list[str], tags: list[str]) -> tuple[list[Entity], list[int]]:
    """IOB2 tags -> entities; also the indices of I- tags that did not continue an entity."""
    ents: list[Entity] = []
    bad: list[int] = []
    start, etype = None, None

    def close(end):
        if start is not None:
            ents.append(Entity(etype, start, end, " ".join(tokens[start:end])))
    for i, tag in enumerate(tags):
        if tag == "O":
            close(i)
            start, etype = None, None
            continue
        prefix, typ = tag[:1], tag[2:]
        if prefix == "I" and start is not None and typ == etype:
            continue
        if prefix == "I":
            bad.append(i)
        close(i)
        start, etype = i, typ
    close(len(tags))
    return ents, bad


def looks_like_conll(lines: list[str]) -> bool:
    """True when most non-blank lines are `token TAG` with an IOB tag last."""
    data = [ln.strip() for ln in lines if ln.replace("\ufeff", "").strip()]
    if len(data) < 2:
        return False
    ok = 0
    for ln in data:
        parts = ln.split("\t") if "\t" in ln else ln.split()
        tag = parts[-1].strip() if len(parts) >= 2 else ""
        if tag == "O" or (len(tag) > 2 and tag[0] in "BIES" and tag[1] == "-"):
            ok += 1
    return ok >= 0.8 * len(data)


def _valid_tag(tag: str) -> bool:
    return tag == "O" or (len(tag) > 2 and tag[1] == "-" and tag[0] in "BI")


def iter_examples(info: InputFile, opts, log) -> Iterator[Example]:
    enc = detect_encoding(info, log, opts.encoding)
    tokens: list[str] = []
    tags: list[str] = []
    tag_lines: list[int] = []
    first_line = None
    bad = False
    width = None
    n_sent = 0

    def flush():
        nonlocal tokens, tags, tag_lines, first_line, bad, n_sent
        ex = None
        if tokens and not bad:
            ents, iob_bad = tags_to_entities(tokens, tags)
            for i in iob_bad:
                typ = tags[i][2:]
                prev = tags[i - 1] if i else "(sentence start)"
                log.error("iob_error", f"{tags[i]} follows {prev}: an I- tag must continue a "
                          f"B-{typ} or I-{typ} entity", f"tag the entity's first token B-{typ} "
                          "(IOB2); it was read as the start of a new entity", line=tag_lines[i],
                          field=tags[i])
            n_sent += 1
            meta = {"source": opts.source, "line": first_line, "id": str(first_line)}
            ex = Example.from_text(" ".join(tokens), ner_target_text(ents), entities=ents,
                                   tokens=list(tokens), meta=meta)
        tokens, tags, tag_lines, first_line, bad = [], [], [], None, False
        return ex

    for n, raw in enumerate(iter_text_lines(info, enc), 1):
        line = raw.rstrip("\r\n")
        if not line.replace("\ufeff", "").strip():
            ex = flush()
            if ex is not None:
                yield ex
            continue
        if line.startswith("-DOCSTART-"):
            continue
        if "\x00" in line:
            log.error("nul_bytes", "the line contains NUL bytes (\\x00)", "remove them", line=n)
            bad = True
            first_line = first_line or n
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        parts = [p.strip() for p in parts]
        if first_line is None:
            first_line = n
        if len(parts) < 2 or not parts[0].replace("\ufeff", ""):
            log.error("conll_columns", f"expected `token TAG`, got {len(parts)} column(s): {line[:40]!r}",
                      "give every token its tag (O outside entities), separated by a tab or space; "
                      "separate sentences by one blank line", line=n)
            bad = True
            continue
        if width is None:
            width = len(parts)
        elif len(parts) != width:
            log.error("conll_columns", f"{len(parts)} columns where the file's first token line "
                      f"has {width}", "use the same columns on every line (token ... TAG)", line=n)
            bad = True
            continue
        tok, tag = parts[0], parts[-1]
        if "\ufeff" in tok:
            log.tally("stray_bom", n, message="{count} token(s) contained a stray U+FEFF (removed)",
                      fix="remove the invisible U+FEFF characters")
            tok = tok.replace("\ufeff", "")
        if not _valid_tag(tag):
            log.error("invalid_tag", f"tag {tag!r} is not IOB2", "use O, B-type or I-type",
                      line=n, field=tag)
            bad = True
            continue
        tokens.append(tok)
        tags.append(tag)
        tag_lines.append(n)
    ex = flush()
    if ex is not None:
        yield ex
