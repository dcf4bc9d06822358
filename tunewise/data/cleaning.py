"""``tunewise data clean``: repair text, drop duplicates, conflicts, empty/overlong/low-confidence rows.

Every input row ends up either in OUT (kept, possibly changed) or in the log as removed; every
changed or removed row has one log line with its source line and reason, so
``kept + removed == input rows`` (checked before anything is written). The input file is only read.

Two streaming passes over the input: pass 1 repairs each row, decides the per-row removals and
keeps a few numbers per row (hashes, a MinHash signature); then duplicates, conflicts and
near-duplicates are resolved on those numbers; pass 2 reads the input again and writes OUT and
the log. Memory holds the per-row numbers and signatures, never the examples.

Removal reasons (first that applies):

- ``invalid``: the reader rejected the row (its error is in the log)
- ``empty``: no user text or no assistant answer (after repair)
- ``low_confidence``: ``meta["confidence"]`` below ``min_confidence``
- ``mojibake_unrepairable``: still looks like mojibake after repair
- ``overlong``: more tokens than ``max_tokens`` (or the model's context)
- ``conflicting_labels``: the same input with different labels (``conflicts="drop"`` removes
  every row of the group; ``"majority"`` keeps the majority label, drops the rest, and drops all
  on a tie)
- ``exact_duplicate``: same input (and label) as an earlier kept row: ``kept_line`` names it
- ``near_duplicate``: input similar to an earlier kept row (MinHash, >= ``near_dup_threshold``)
- ``label_issue`` (only with ``drop_label_issues``): confident learning says the label is
  probably wrong (``tunewise.data.label_issues``); decided on the input before the other removals,
  applied to rows nothing else removed; the log names the suggested label and its confidence

Change reasons: see ``tunewise.data.textfix`` (unicode_repaired, mojibake_stripped,
whitespace_normalized).
"""
from __future__ import annotations

import itertools
import json
import os
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from tunewise.data import dedup, textfix
from tunewise.data.records import Entity, Example, Message
from tunewise.data.rowstream import ExampleSource, Row, stream_rows
from tunewise.errors import DataError, UsageError

KEEP = 0
#: status codes -> reasons, in the order they are decided
REASONS = ["kept", "invalid", "empty", "low_confidence", "mojibake_unrepairable", "overlong",
           "conflicting_labels", "exact_duplicate", "near_duplicate", "label_issue"]
CODE = {r: i for i, r in enumerate(REASONS)}
NON_TEXT_DROPPED = "non_text_parts_dropped"
CHANGE_BITS = {textfix.UNICODE_REPAIRED: 1, textfix.MOJIBAKE_STRIPPED: 2, textfix.WHITESPACE: 4,
               NON_TEXT_DROPPED: 8}
_LOG_TEXT_CHARS = 300


@dataclass
class CleanOptions:
    """What ``clean`` removes and how."""

    #: estimated Jaccard similarity (word 3-grams) at or above which inputs are near-duplicates;
    #: None or > 1 turns near-duplicate detection off
    near_dup_threshold: float | None = 0.9
    #: same input with different labels: "drop" every row of the group, or keep the "majority"
    conflicts: str = "drop"
    #: drop rows whose meta confidence is below this (None: no filter)
    min_confidence: float | None = None
    #: drop rows with more tokens than this (None: the model's context when a model is given)
    max_tokens: int | None = None
    #: tokenizer / context for the overlong check (a model name; None with max_tokens: default)
    model: str | None = None
    #: "strip" (ftfy, then remove what still looks like mojibake; drop rows still bad),
    #: "drop" (ftfy; drop rows still bad), "keep" (ftfy only)
    mojibake: str = "strip"
    #: MinHash permutations per row (memory: 4 bytes each per row)
    num_perm: int = 64
    #: drop the examples ``find_label_issues`` flags (classification; runs the language model)
    drop_label_issues: bool = False

    def validate(self) -> None:
        problems = []
        if self.conflicts not in ("drop", "majority"):
            problems.append(f"conflicts must be 'drop' or 'majority', got {self.conflicts!r}")
        if self.mojibake not in ("strip", "drop", "keep"):
            problems.append(f"mojibake must be 'strip', 'drop' or 'keep', got {self.mojibake!r}")
        t = self.near_dup_threshold
        if t is not None and not 0 < t:
            problems.append(f"near-dup threshold must be in (0, 1] (above 1: off), got {t}")
        if self.min_confidence is not None and not 0 <= self.min_confidence <= 1:
            problems.append(f"min confidence must be in [0, 1], got {self.min_confidence}")
        if self.max_tokens is not None and self.max_tokens < 1:
            problems.append(f"max tokens must be a positive integer, got {self.max_tokens}")
        if problems:
            raise UsageError("; ".join(problems))


@dataclass
class CleanResult:
    """What cleaning did. ``removed``/``changed`` count rows per reason."""

    input_rows: int
    kept: int
    removed: dict[str, int]
    #: kept rows that were changed, per reason (a row may have several reasons)
    changed: dict[str, int]
    #: kept rows with at least one change (= "changed" lines in the log)
    changed_rows: int
    #: every input row's repairs, kept or not, per reason
    repairs: dict[str, int]
    out: str
    log: str
    task: str
    options: dict[str, Any] = field(default_factory=dict)
    #: the reader's warnings (e.g. the file was not UTF-8), rendered
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def removed_rows(self) -> int:
        return sum(self.removed.values())

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["removed_rows"] = self.removed_rows
        return d

    def summary_rows(self) -> list[tuple[str, str, int]]:
        """(action, reason, rows) for the summary table."""
        rows = [("removed", r, n) for r, n in self.removed.items() if n]
        rows += [("changed", r, n) for r, n in self.changed.items() if n]
        return rows


def _confidence(ex: Example) -> float | None:
    conf = ex.meta.get("confidence")
    if conf is None and isinstance(ex.meta.get("extras"), dict):
        conf = ex.meta["extras"].get("confidence")
    if conf is None or conf == "":
        return None
    try:
        return float(conf)
    except (TypeError, ValueError):
        return None


def _repair_tokens_example(ex: Example) -> tuple[Example, list[str], bool]:
    """Token-aligned examples (NER): repair word by word, so spans over ``tokens`` stay valid;
    no stripping and no whitespace changes (they would shift the tokens)."""
    tokens = [textfix.repair_words(t) for t in ex.tokens]
    msgs = []
    changed = tokens != ex.tokens
    for m in ex.messages:
        if isinstance(m.content, str):
            text = textfix.repair_words(m.content)
            if text != m.content:
                changed = True
                m = Message(m.role, text, m.name, m.weight, m.tool_calls, m.tool_call_id)
        msgs.append(m)
    bad = any(textfix.still_bad(t) for t in tokens)
    if not changed:
        return ex, [], bad
    ents = None if ex.entities is None else [
        Entity(e.type, e.start, e.end, " ".join(tokens[e.start:e.end])) for e in ex.entities]
    return (Example(messages=msgs, label=ex.label, entities=ents, tokens=tokens,
                    reference=ex.reference, meta=ex.meta), [textfix.UNICODE_REPAIRED], bad)


def _repair_example(ex: Example, mojibake: str) -> tuple[Example, list[str], bool]:
    """(repaired copy, change reasons, still looks bad)."""
    if ex.tokens is not None:
        ex2, reasons, bad = _repair_tokens_example(ex)
        return ex2, reasons, bad and mojibake != "keep"
    reasons: list[str] = []
    bad = False
    msgs = []
    strip = "strip" if mojibake == "strip" else "keep"
    for m in ex.messages:
        if isinstance(m.content, str):
            text, why = textfix.repair(m.content, mojibake=strip)
            for r in why:
                if r not in reasons:
                    reasons.append(r)
            if mojibake != "keep" and textfix.still_bad(text):
                bad = True
            if why:
                m = Message(m.role, text, m.name, m.weight, m.tool_calls, m.tool_call_id)
        msgs.append(m)
    if ex.meta.get("dropped_parts"):        # image/audio parts the reader left out
        reasons.append(NON_TEXT_DROPPED)
    if not reasons:
        return ex, reasons, bad
    reference = ex.reference
    if isinstance(reference, str):
        reference, _ = textfix.repair(reference, mojibake=strip)
    return (Example(messages=msgs, label=ex.label, entities=ex.entities, tokens=ex.tokens,
                    reference=reference, meta=ex.meta), reasons, bad)


def _token_counter(options: CleanOptions) -> tuple[Callable[[Example], int] | None, int | None]:
    """(count tokens of one example, limit), or (None, None) when no length check is asked.

    The count is exact (chat-formatted, the model's own tokenizer) only when a cheap upper bound
    from the byte length exceeds the limit; below the bound a row cannot be overlong, and the
    function returns 0 for it.
    """
    if options.max_tokens is None and options.model is None:
        return None, None
    from tunewise.data.tokens import token_counter
    counter = token_counter(options.model)
    limit = int(options.max_tokens if options.max_tokens is not None else counter.context_length)

    def count(ex: Example) -> int:
        n_bytes = sum(len((m.content or "").encode("utf-8")) + len(m.role) + len(m.name or "")
                      for m in ex.messages)
        if counter.length_bound(n_bytes, len(ex.messages)) <= limit:
            return 0
        return counter.count_examples([ex])[0]
    return count, limit


class _Rows:
    """Compact per-row numbers kept between the passes (array.array, not Python objects)."""

    def __init__(self):
        self.status = array("B")
        self.changes = array("B")
        self.key = array("Q")
        self.gold = array("Q")
        self.sig = array("q")       # position in the near-dup index, -1 when not indexed
        self.twin = array("q")      # row index of the kept twin, -1 when none
        self.ntok = array("q")      # token count, -1 when not counted
        self.line = array("q")      # source line (1-based)

    def __len__(self) -> int:
        return len(self.status)


def _first_pass(rows_in: Iterable[Row], opts: CleanOptions, kind: str,
                index: dedup.NearDuplicateIndex | None, count_tokens, limit, advance) -> _Rows:
    rows = _Rows()
    # rows with the same exact key have the same near-duplicate text: one signature per key
    sig_of_key: dict[int, int] = {}
    for i, row in enumerate(rows_in):
        status, bits, ntok, key, gold, sig = CODE["invalid"], 0, -1, 0, 0, -1
        if row.example is not None:
            fixed, reasons, bad = _repair_example(row.example, opts.mojibake)
            for r in reasons:
                bits |= CHANGE_BITS[r]
            status = KEEP
            answer = fixed.reference if kind == "generation" and fixed.reference else fixed.answer
            if not fixed.input.strip() or not (answer or "").strip():
                status = CODE["empty"]
            elif opts.min_confidence is not None and (c := _confidence(fixed)) is not None \
                    and c < opts.min_confidence:
                status = CODE["low_confidence"]
            elif bad:
                status = CODE["mojibake_unrepairable"]
            elif count_tokens is not None:
                ntok = count_tokens(fixed)
                if ntok > limit:
                    status = CODE["overlong"]
            if status == KEEP:
                exact, near = dedup.compare_texts(fixed, kind)
                key = dedup.key_hash(exact)
                gold = dedup.key_hash(dedup.gold_signature(fixed, kind))
                if index is not None:
                    sig = sig_of_key.get(key, -1)
                    if sig < 0:
                        sig = sig_of_key[key] = index.add(near)
        rows.status.append(status)
        rows.changes.append(bits)
        rows.key.append(key)
        rows.gold.append(gold)
        rows.sig.append(sig)
        rows.twin.append(-1)
        rows.ntok.append(ntok)
        rows.line.append(row.line if row.line is not None else i + 1)
        advance(1)
    return rows


def _resolve_exact(rows: _Rows, kind: str, conflicts: str) -> dict[int, list[int]]:
    """Mark exact duplicates and conflicts; returns {row: other rows of its conflict group}."""
    status = np.frombuffer(rows.status, dtype=np.uint8).copy() if len(rows) else np.zeros(0, "u1")
    cand = np.flatnonzero(status == KEEP)
    keys = np.frombuffer(rows.key, dtype=np.uint64)[cand] if len(cand) else np.zeros(0, "u8")
    golds = np.frombuffer(rows.gold, dtype=np.uint64)
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]]) if len(sk) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(sk)]
    groups_of: dict[int, list[int]] = {}
    check_labels = kind in ("classification", "ner")
    for s, e in zip(starts, ends):
        if e - s < 2:
            continue
        members = [int(cand[i]) for i in order[s:e]]           # ascending row order
        by_gold: dict[int, list[int]] = {}
        for r in members:
            by_gold.setdefault(int(golds[r]), []).append(r)
        keepers: list[list[int]] = list(by_gold.values())
        if check_labels and len(by_gold) > 1:
            counts = sorted((len(v) for v in by_gold.values()), reverse=True)
            majority = None
            if conflicts == "majority" and counts[0] > counts[1]:
                majority = max(by_gold.values(), key=len)
            for r in members:
                groups_of[r] = members
            for same in by_gold.values():
                if same is majority:
                    continue
                for r in same:
                    rows.status[r] = CODE["conflicting_labels"]
                    if majority is not None:
                        rows.twin[r] = majority[0]
            keepers = [majority] if majority is not None else []
        for same in keepers:
            for r in same[1:]:
                rows.status[r] = CODE["exact_duplicate"]
                rows.twin[r] = same[0]
    return groups_of


def _resolve_near(rows: _Rows, index: dedup.NearDuplicateIndex) -> None:
    if index.n < 2:
        return
    sig_of_row = np.frombuffer(rows.sig, dtype=np.int64)
    status = np.frombuffer(rows.status, dtype=np.uint8)
    # after the exact stage at most one row per signature is still kept: that row stands for it
    row_of_sig = np.full(index.n, -1, dtype=np.int64)
    live = (sig_of_row >= 0) & (status == KEEP)
    row_of_sig[sig_of_row[live]] = np.flatnonzero(live)
    eligible = row_of_sig >= 0
    for sig, twin_sig in index.greedy_twins(eligible).items():
        r = int(row_of_sig[sig])
        rows.status[r] = CODE["near_duplicate"]
        rows.twin[r] = int(row_of_sig[twin_sig])
    # an exact duplicate whose twin has just been removed as a near-duplicate names the row that
    # is really kept (the twin's own twin), so every kept_line in the log is a kept row
    twin = np.frombuffer(rows.twin, dtype=np.int64)       # a writable view of rows.twin
    status = np.frombuffer(rows.status, dtype=np.uint8)
    for _ in range(64):
        idx = np.flatnonzero(twin >= 0)
        t = twin[idx]
        stale = (status[t] != KEEP) & (twin[t] >= 0)
        if not stale.any():
            break
        twin[idx[stale]] = twin[t[stale]]


def _short(text: str | None) -> str | None:
    if text is None or len(text) <= _LOG_TEXT_CHARS:
        return text
    return text[:_LOG_TEXT_CHARS] + "…"


def _log_entry(i: int, row: Row, fixed: Example | None, rows: _Rows, reasons: list[str],
               golds: dict[int, str], groups: dict[int, list[int]], kind: str,
               limit: int | None) -> dict[str, Any]:
    status = rows.status[i]
    entry: dict[str, Any] = {"line": rows.line[i], "index": i}
    if fixed is None:
        entry.update(action="removed", reason="invalid", error=row.error)
        return entry
    ex = row.example
    gold = dedup.gold_signature(fixed, kind) if kind != "generation" else None
    if status != KEEP:
        reason = REASONS[status]
        entry.update(action="removed", reason=reason)
        twin = rows.twin[i]
        if twin >= 0:
            entry["kept_line"] = rows.line[twin]
            entry["kept_index"] = twin
            if gold is not None and twin in golds and golds[twin] != gold:
                entry["kept_label"] = golds[twin]
        if reason == "conflicting_labels":
            entry["group_lines"] = [rows.line[r] for r in groups.get(i, [])][:20]
        elif reason == "overlong":
            entry["tokens"] = rows.ntok[i]
            entry["max_tokens"] = limit
        elif reason == "low_confidence":
            entry["confidence"] = _confidence(fixed)
        if reasons:
            entry["changes"] = reasons
    else:
        entry.update(action="changed", reason=reasons[0], reasons=reasons)
        entry["before"] = _short(ex.input)
    if ex.meta.get("dropped_parts"):
        entry["dropped_parts"] = ex.meta["dropped_parts"]
    entry["text"] = _short(fixed.input)
    if gold is not None:
        entry["label"] = gold
    return entry


def input_fingerprint(path: str | os.PathLike) -> tuple[int, int, str]:
    """(size, modification time in ns, sha256) of a file: how ``clean`` notices an input that
    changed while it ran."""
    from tunewise.data.splitting import sha256_file
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, sha256_file(path)


def default_log_path(out: Path, log: "str | os.PathLike | None" = None) -> Path:
    """The log path: ``log`` when given, else ``<out stem>.log.jsonl`` beside ``out``."""
    return Path(log) if log is not None else out.with_name(out.stem + ".log.jsonl")


def clean_examples(examples: ExampleSource, out: str | os.PathLike, *,
                   log: str | os.PathLike | None = None, task: str | None = None,
                   options: CleanOptions | None = None, source: str = "<input>",
                   progress: bool = True,
                   input_path: str | os.PathLike | None = None) -> CleanResult:
    """Clean what ``examples(problem_log)`` yields (called three times: a peek to infer the task
    kind, then one call per pass). Rows the reader rejects are removed as ``invalid``.
    ``input_path``: the file behind ``examples``; when it changes during the run (size,
    modification time or sha256) nothing is written and DataError is raised."""
    from tunewise.data import write_chat_jsonl
    from tunewise.fileio import atomic_write
    from tunewise.progress import bar

    opts = options or CleanOptions()
    opts.validate()
    started = time.perf_counter()
    from tunewise.outputs_guard import check_outputs, same_file
    out = Path(out)
    log_path = default_log_path(out, log)
    if same_file(log_path, out):
        raise UsageError(f"the log {log_path} and the output are the same file",
                         fix="give --log a different path")
    check_outputs({}, {"output": out, "log": log_path})

    head = [r.example for r in itertools.islice(stream_rows(examples, source), 2000)
            if r.example is not None]
    kind = task or (dedup.infer_kind(head) if head else "generation")
    if kind not in ("classification", "ner", "generation"):
        raise UsageError(f"unknown task {kind!r}", fix="use classification, ner or generation")
    if opts.min_confidence is not None and head and \
            not any(_confidence(e) is not None for e in head):
        raise UsageError(f"--min-confidence given but {source} has no confidence values",
                         fix="drop --min-confidence, or give data with a confidence column")
    del head
    use_near = opts.near_dup_threshold is not None and opts.near_dup_threshold <= 1
    index = (dedup.NearDuplicateIndex(dedup.NearDupConfig(threshold=opts.near_dup_threshold,
                                                          num_perm=opts.num_perm))
             if use_near else None)
    count_tokens, limit = _token_counter(opts)

    reader_logs: list = []
    with bar("clean: reading", None, disable=not progress) as advance:
        rows = _first_pass(stream_rows(examples, source, reader_logs), opts, kind, index,
                           count_tokens, limit, advance)
    issues = (_label_issues(examples, source, opts.model, progress) if opts.drop_label_issues
              else {})
    for i in range(len(rows)):
        if rows.status[i] == KEEP and rows.line[i] in issues:
            rows.status[i] = CODE["label_issue"]
    groups = _resolve_exact(rows, kind, opts.conflicts)
    if index is not None:
        _resolve_near(rows, index)
        index = None                                    # free the signatures before pass 2
    n = len(rows)
    twins_wanted = {t for t in rows.twin if t >= 0}

    removed: Counter = Counter()
    changed: Counter = Counter()
    repairs: Counter = Counter()
    counts = {"kept": 0, "changed_rows": 0, "seen": 0}
    golds: dict[int, str] = {}

    def kept_examples(logf, advance) -> Iterator[Example]:
        i = -1
        for i, row in enumerate(stream_rows(examples, source)):
            if i >= n:
                raise DataError(f"{source} changed while it was being cleaned (more rows "
                                "on the second read); nothing was written",
                                fix="run clean again once the file no longer changes")
            status = rows.status[i]
            fixed, reasons = None, []
            if row.example is not None and rows.changes[i] == 0:
                fixed = row.example             # pass 1 found nothing to repair
            elif row.example is not None:
                fixed, reasons, _ = _repair_example(row.example, opts.mojibake)
                for r in reasons:
                    repairs[r] += 1
            elif status != CODE["invalid"]:
                raise DataError(f"{source} changed while it was being cleaned (row {i + 1} "
                                "differs on the second read); nothing was written",
                                fix="run clean again once the file no longer changes")
            if fixed is not None and i in twins_wanted and kind != "generation":
                golds[i] = dedup.gold_signature(fixed, kind)
            if status != KEEP:
                removed[REASONS[status]] += 1
            else:
                counts["kept"] += 1
                for r in reasons:
                    changed[r] += 1
                if reasons:
                    counts["changed_rows"] += 1
            if status != KEEP or reasons:
                entry = _log_entry(i, row, fixed, rows, reasons, golds, groups, kind, limit)
                if status == CODE["label_issue"]:
                    entry.update(issues[rows.line[i]])
                logf.write(json.dumps(entry, ensure_ascii=False))
                logf.write("\n")
            advance(1)
            if status == KEEP:
                yield fixed
        counts["seen"] = i + 1
        # checked here, after the last row and before OUT and the log are renamed into place:
        # an error now leaves both untouched (a previous OUT survives)
        if counts["seen"] != n:
            raise DataError(f"{source} changed while it was being cleaned ({n} rows on the "
                            f"first read, {counts['seen']} on the second); nothing was written",
                            fix="run clean again once the file no longer changes")
        if input_path is not None:
            now = input_fingerprint(input_path)
            if now != before:
                what = [name for name, a, b in zip(("size", "modification time", "sha256"),
                                                   before, now) if a != b]
                raise DataError(f"{source} changed while it was being cleaned ({', '.join(what)} "
                                "differ from the start); nothing was written",
                                fix="run clean again once the file no longer changes (e.g. on "
                                    "a copy)")
        # the promise of this command: every input row is either kept or logged as removed
        if counts["kept"] + sum(removed.values()) != n:
            raise DataError(f"{source}: kept {counts['kept']} + removed "
                            f"{sum(removed.values())} rows != {n} input rows; nothing was written",
                            fix="run clean again on a file that does not change while it runs; "
                                "if it still happens, please report it as a bug")

    before = input_fingerprint(input_path) if input_path is not None else None
    with bar("clean: writing", n, disable=not progress) as advance:
        with atomic_write(log_path) as logf:
            write_chat_jsonl(out, kept_examples(logf, advance))
    warnings = [p.render() for lg in reader_logs for p in lg.problems if not p.is_error]
    return CleanResult(
        input_rows=n, kept=counts["kept"],
        removed={r: removed[r] for r in REASONS[1:] if removed[r]},
        changed={r: changed[r] for r in CHANGE_BITS if changed[r]},
        changed_rows=counts["changed_rows"],
        repairs={r: repairs[r] for r in CHANGE_BITS if repairs[r]},
        out=str(out), log=str(log_path), task=kind,
        options={k: v for k, v in opts.__dict__.items()},
        warnings=warnings[:50],
        seconds=round(time.perf_counter() - started, 3))


def _label_issues(examples, source: str, model: str | None, progress: bool) -> dict[int, dict]:
    """{source line: {"suggested", "confidence"}} of the rows confident learning flags (features
    from ``model``, default the embedded one)."""
    from tunewise.data.label_issues import find_label_issues
    valid = [r.example for r in stream_rows(examples, source) if r.example is not None]
    res = find_label_issues(valid, model=model, progress=progress)
    return {s.line: {"suggested": s.suggested, "confidence": round(s.confidence, 4)}
            for s in res.suspects if s.line is not None}


def clean(path: str | os.PathLike, out: str | os.PathLike, *, log: str | os.PathLike | None = None,
          format: str | None = None, task: str | None = None,
          near_dup_threshold: float | None = 0.9, conflicts: str = "drop",
          min_confidence: float | None = None, max_tokens: int | None = None,
          model: str | None = None, mojibake: str = "strip", text_column: str | None = None,
          label_column: str | None = None, encoding: str | None = None,
          drop_label_issues: bool = False, progress: bool = True) -> CleanResult:
    """Clean the dataset at ``path`` into the chat JSONL ``out``; log every change/removal.

    ``log`` defaults to ``<out stem>.log.jsonl`` beside ``out``. See the module docstring for
    the reasons. Raises UsageError when ``out`` or ``log`` would overwrite the input.
    """
    from tunewise.data import iter_examples
    from tunewise.outputs_guard import check_outputs
    # the log defaults to OUT.log.jsonl: that derived path must not be the input either
    check_outputs({"input": path}, {"output": out, "log": default_log_path(Path(out), log)},
                  fix="write the output (-o) and the log (--log) to paths other than the input")
    opts = CleanOptions(near_dup_threshold=near_dup_threshold, conflicts=conflicts,
                        min_confidence=min_confidence, max_tokens=max_tokens, model=model,
                        mojibake=mojibake, drop_label_issues=drop_label_issues)

    def examples(problem_log) -> Iterator[Example]:
        return iter_examples(path, format=format, task=task, text_column=text_column,
                             label_column=label_column, encoding=encoding, log=problem_log)
    return clean_examples(examples, out, log=log, task=task, options=opts, source=str(path),
                          progress=progress, input_path=path if Path(path).is_file() else None)
