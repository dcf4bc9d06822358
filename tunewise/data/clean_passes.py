"""The per-row work of ``tunewise data clean``: repair, per-row removals, exact duplicates and
conflicts, near-duplicates (pass 1 and the resolution between the passes), and the log entry of a
changed or removed row. ``tunewise.data.cleaning`` runs them; the task (``DataTask``) decides what
an example's answer and gold label are.
"""
from __future__ import annotations

from array import array
from typing import Any, Iterable

import numpy as np

from tunewise.data import dedup, pii, textfix
from tunewise.data.records import Entity, Example, Message
from tunewise.data.rowstream import Row
from tunewise.data.task_view import DataTask

KEEP = 0
#: status codes -> reasons, in the order they are decided
REASONS = ["kept", "invalid", "empty", "low_confidence", "mojibake_unrepairable", "overlong",
           "conflicting_labels", "exact_duplicate", "near_duplicate", "label_issue"]
CODE = {r: i for i, r in enumerate(REASONS)}
NON_TEXT_DROPPED = "non_text_parts_dropped"
PII_REDACTED = "personal_data_redacted"
CHANGE_BITS = {textfix.UNICODE_REPAIRED: 1, textfix.MOJIBAKE_STRIPPED: 2, textfix.WHITESPACE: 4,
               NON_TEXT_DROPPED: 8, PII_REDACTED: 16}
_LOG_TEXT_CHARS = 300


def confidence(ex: Example) -> float | None:
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


def repair_example(ex: Example, mojibake: str, redact: bool = False
                   ) -> tuple[Example, list[str], bool]:
    """(repaired copy, change reasons, still looks bad); ``redact``: personal data replaced by
    typed placeholders too (``tunewise.data.pii``)."""
    fixed, reasons, bad = _repair(ex, mojibake)
    if redact:
        fixed, counts = pii.redact_example(fixed)
        if counts:
            reasons = [*reasons, PII_REDACTED]
    return fixed, reasons, bad


def _repair(ex: Example, mojibake: str) -> tuple[Example, list[str], bool]:
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


class Rows:
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


def first_pass(rows_in: Iterable[Row], opts, task: DataTask,
                index: dedup.NearDuplicateIndex | None, count_tokens, limit, advance) -> Rows:
    rows = Rows()
    # rows with the same exact key have the same near-duplicate text: one signature per key
    sig_of_key: dict[int, int] = {}
    for i, row in enumerate(rows_in):
        status, bits, ntok, key, gold, sig = CODE["invalid"], 0, -1, 0, 0, -1
        if row.example is not None:
            fixed, reasons, bad = repair_example(row.example, opts.mojibake,
                                                 opts.redact)
            for r in reasons:
                bits |= CHANGE_BITS[r]
            status = KEEP
            answer = task.answer_text(fixed)
            if not fixed.input.strip() or not (answer or "").strip():
                status = CODE["empty"]
            elif opts.min_confidence is not None and (c := confidence(fixed)) is not None \
                    and c < opts.min_confidence:
                status = CODE["low_confidence"]
            elif bad:
                status = CODE["mojibake_unrepairable"]
            elif count_tokens is not None:
                ntok = count_tokens(fixed)
                if ntok > limit:
                    status = CODE["overlong"]
            if status == KEEP:
                exact, near = dedup.compare_texts(fixed, task.answer_in_identity)
                key = dedup.key_hash(exact)
                gold = dedup.key_hash(task.gold_key(fixed))
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


def resolve_exact(rows: Rows, check_labels: bool, conflicts: str) -> dict[int, list[int]]:
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


def resolve_near(rows: Rows, index: dedup.NearDuplicateIndex) -> None:
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


def log_entry(i: int, row: Row, fixed: Example | None, rows: Rows, reasons: list[str],
              golds: dict[int, str], groups: dict[int, list[int]], task: DataTask,
              limit: int | None) -> dict[str, Any]:
    status = rows.status[i]
    entry: dict[str, Any] = {"line": rows.line[i], "index": i}
    if fixed is None:
        entry.update(action="removed", reason="invalid", error=row.error)
        return entry
    ex = row.example
    gold = task.gold_key(fixed) if task.has_labels else None
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
            entry["confidence"] = confidence(fixed)
        if reasons:
            entry["changes"] = reasons
    else:
        entry.update(action="changed", reason=reasons[0], reasons=reasons)
        # the log must not copy the personal data it removed: "before" is then left out
        entry["before"] = None if PII_REDACTED in reasons else _short(ex.input)
    if PII_REDACTED in reasons:
        entry["redacted"] = pii.redact_example(ex)[1]
    if ex.meta.get("dropped_parts"):
        entry["dropped_parts"] = ex.meta["dropped_parts"]
    entry["text"] = _short(fixed.input)
    if gold is not None:
        entry["label"] = gold
    return entry
