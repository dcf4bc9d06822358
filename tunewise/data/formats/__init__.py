"""Dataset formats: a registry by name, detection from the extension and the content.

=================== ================================================================ ==========
name                what                                                             extensions
=================== ================================================================ ==========
chat                OpenAI chat JSONL: {"messages": [{"role", "content"}, ...]}      .jsonl
prompt_completion   {"prompt": ..., "completion": ...} JSONL                         .jsonl
alpaca              {"instruction", "input", "output"} as a JSON array or JSONL       .json
csv                 CSV/TSV with a text column and a label column                    .csv .tsv
conll               `token TAG` lines (IOB2), blank line between sentences           .conll
folder              a folder of class folders of .txt files (label = folder name)    (a folder)
=================== ================================================================ ==========

``.gz`` is read transparently. ``--format`` overrides detection (aliases: jsonl/openai -> chat,
tsv -> csv, iob/iob2 -> conll).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import orjson

from tunewise.data.formats import (alpaca, class_folders, conll, csv_label, openai_chat,
                                   prompt_completion)
from tunewise.data.formats.jsonrecords import BAD, iter_json_document, iter_jsonl
from tunewise.data.formats.options import ReadOptions
from tunewise.data.formats.textio import InputFile, detect_encoding
from tunewise.data.records import Example
from tunewise.errors import UsageError
from tunewise.registry import Registry

__all__ = ["FORMATS", "Format", "ReadOptions", "detect_format", "resolve_format", "iter_format",
           "json_container"]


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    extensions: tuple[str, ...]
    #: (file, options, problem log) -> examples
    reader: Callable[[InputFile, ReadOptions, object], Iterator[Example]]


def _single(to_example):
    """A one-record-one-example converter as a record -> examples function."""
    def convert(obj, line, opts, log) -> Iterator[Example]:
        ex = to_example(obj, line, opts, log)
        if ex is not None:
            yield ex
    return convert


def _json_reader(to_examples):
    """A reader of JSON / JSONL records, each turned into examples by ``to_examples``."""
    def read(info: InputFile, opts: ReadOptions, log) -> Iterator[Example]:
        if json_container(info) == "jsonl":
            records = iter_jsonl(info, log)
        else:
            records = iter_json_document(info, detect_encoding(info, log, opts.encoding), log)
        for line, obj in records:
            if obj is not BAD:
                yield from to_examples(obj, line, opts, log)
    return read


FORMATS: Registry[Format] = Registry("format")
for _f in (
    Format("chat", "OpenAI chat JSONL ({\"messages\": [...]})", (".jsonl", ".ndjson"),
           _json_reader(_single(openai_chat.to_example))),
    Format("prompt_completion", "prompt/completion JSONL", (".jsonl",),
           _json_reader(_single(prompt_completion.to_example))),
    Format("alpaca", "Alpaca instruction/input/output (JSON array or JSONL)", (".json",),
           _json_reader(alpaca.to_examples)),
    Format("csv", "CSV/TSV with text and label columns", (".csv", ".tsv", ".tab"),
           csv_label.iter_examples),
    Format("conll", "CoNLL/IOB2 token TAG lines for NER", (".conll", ".iob", ".iob2", ".bio"),
           conll.iter_examples),
    Format("folder", "a folder of class folders of .txt files (label = folder name)", (),
           class_folders.iter_examples),
):
    FORMATS.register(_f.name, _f)

ALIASES = {"jsonl": "chat", "openai": "chat", "messages": "chat", "tsv": "csv",
           "iob": "conll", "iob2": "conll", "prompt-completion": "prompt_completion",
           "completion": "prompt_completion", "folders": "folder", "class_folders": "folder"}


def resolve_format(name: str) -> Format:
    """A format by name or alias; unknown names answer "did you mean"."""
    key = name.strip().lower()
    return FORMATS.get(ALIASES.get(key, key))


def json_container(info: InputFile) -> str:
    """"jsonl" (one record per line) or "document" (a JSON array / one object)."""
    text = info.head.lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if text[:1] == b"[":
        return "document"
    first = text.split(b"\n", 1)[0]
    if info.suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    try:
        orjson.loads(first)
        return "jsonl"
    except orjson.JSONDecodeError:
        return "document" if first.strip() in (b"{", b"") else "jsonl"


def _json_kind(info: InputFile) -> str:
    """The record format of a JSON file, from its first records."""
    head = info.head.removeprefix(b"\xef\xbb\xbf")
    objs: list = []
    if json_container(info) == "jsonl":
        lines = head.split(b"\n")
        if len(head) == len(info.head) and len(lines) > 1 and info.size > len(info.head):
            lines = lines[:-1]   # last line may be cut off
        for ln in lines[:50]:
            try:
                objs.append(orjson.loads(ln))
            except orjson.JSONDecodeError:
                continue
    else:
        import json
        s = head.decode("utf-8", "replace").lstrip()
        try:
            doc = json.loads(s)
            objs = doc[:50] if isinstance(doc, list) else [doc]
        except json.JSONDecodeError:
            try:   # the array is longer than the head: decode the first element only
                obj, _ = json.JSONDecoder().raw_decode(s, s.index("{"))
                objs = [obj]
            except (ValueError, json.JSONDecodeError):
                objs = []
    for o in objs:
        k = openai_chat.record_kind(o)
        if k:
            return k
    return "alpaca" if info.suffix == ".json" and json_container(info) == "document" else "chat"


def detect_format(info: InputFile) -> str:
    """Format name from the extension, then the content; UsageError if it cannot be told."""
    sfx = info.suffix
    if sfx in (".csv", ".tsv", ".tab"):
        return "csv"
    if sfx in (".conll", ".iob", ".iob2", ".bio"):
        return "conll"
    text = info.head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if sfx in (".jsonl", ".ndjson", ".json") or text[:1] in ("{", "["):
        return _json_kind(info)
    lines = text.split("\n")[:200]
    if len(info.head) >= 64 * 1024 and len(lines) > 1:
        lines = lines[:-1]
    if conll.looks_like_conll(lines):
        return "conll"
    if len(csv_label.sniff_delimiter(lines).strip() or "x") and _consistent_columns(lines):
        return "csv"
    raise UsageError(f"{info.path}: cannot tell the file format from its name or content",
                     fix="pass --format with one of: " + ", ".join(FORMATS.names()))


def _consistent_columns(lines: list[str]) -> bool:
    import csv
    d = csv_label.sniff_delimiter(lines)
    rows = [r for r in csv.reader([ln for ln in lines if ln.strip()][:50], delimiter=d)]
    return bool(rows) and len(rows[0]) >= 2 and sum(len(r) == len(rows[0]) for r in rows) >= 0.8 * len(rows)


def iter_format(info: InputFile, fmt: str, opts: ReadOptions, log) -> Iterator[Example]:
    """Examples of ``info`` read as format ``fmt`` (problems go to ``log``)."""
    return resolve_format(fmt).reader(info, opts, log)
