"""Personal data: e-mail addresses, phone numbers, card numbers (Luhn), IBANs (checksum), IP
addresses and API-key-like strings in every text of every row (system prompt and answers too),
with counts per kind and the rows (``tunewise.data.pii``; always on).

Names and street addresses need a language model: with ``presidio=True`` Microsoft Presidio's
analyzer (the optional extra ``pip install 'tunewise[presidio]'`` plus a spaCy English model)
reads a sample of the rows; without it the report says they were not checked.
"""
from __future__ import annotations

from collections import Counter

from tunewise.audit.inputs import Split
from tunewise.audit.report import Evidence, Finding
from tunewise.data import pii

SHOWN = 20
#: rows Presidio reads at most (it runs a spaCy pipeline per row: about 5 ms each)
PRESIDIO_ROWS = 5000
PRESIDIO_KINDS = {"PERSON": "NAME", "LOCATION": "ADDRESS"}


def scan(split: Split) -> tuple[Counter, dict[int, list[pii.PiiSpan]]]:
    """(count per kind, {row: its findings})."""
    counts: Counter = Counter()
    rows: dict[int, list[pii.PiiSpan]] = {}
    for i, text in enumerate(split.full):
        spans = pii.find_pii(text)
        if spans:
            rows[i] = spans
            counts.update(sp.kind for sp in spans)
    return counts, rows


def _evidence(split: Split, rows: dict[int, list]) -> list[Evidence]:
    out = []
    for i, spans in list(rows.items())[:SHOWN]:
        out.append(Evidence(split.wheres[i], _masked_excerpt(split.full[i], spans),
                            {"kinds": sorted({s.kind for s in spans}),
                             "values": [f"{s.kind}: {pii.mask(s.text)}" for s in spans[:5]]}))
    return out


def _masked_excerpt(text: str, spans, chars: int = 160) -> str:
    red, _ = pii.redact(text, [s for s in spans if isinstance(s, pii.PiiSpan)])
    red = " ".join(red.split())
    return red if len(red) <= chars else red[:chars - 1] + "…"


def check_personal_data(split: Split) -> Finding:
    counts, rows = scan(split)
    n = len(split)
    if not rows:
        return Finding("personal_data", f"personal_data_{split.role}", "ok",
                       f"no e-mail address, phone number, card number, IBAN, IP address or "
                       f"API key found in {split.role}", metrics={"rows": 0, "counts": {}})
    kinds = ", ".join(f"{pii.KIND_HELP[k]} {c:,}" for k, c in counts.most_common())
    secrets = counts.get("API_KEY", 0) + counts.get("CARD", 0) + counts.get("IBAN", 0)
    sev = "error" if secrets else "warning"
    summary = (f"{len(rows):,} of {n:,} {split.role} rows hold personal data or secrets: {kinds}")
    fix = (f"`tunewise data clean {split.name} -o OUT --redact` replaces each with a typed "
           "placeholder (<EMAIL>, <PHONE>, <CARD>, <IBAN>, <IP>, <API_KEY>) and logs the rows"
           + ("; revoke any real API key found" if counts.get("API_KEY") else ""))
    return Finding("personal_data", f"personal_data_{split.role}", sev, summary, fix,
                   {"rows": len(rows), "counts": dict(counts.most_common())},
                   _evidence(split, rows), evidence_total=len(rows))


def presidio_engine():
    """Presidio's AnalyzerEngine, or raise ImportError / OSError with the reason."""
    from presidio_analyzer import AnalyzerEngine     # optional extra: tunewise[presidio]
    return AnalyzerEngine()


def check_names(split: Split, engine=None) -> Finding:
    """Names and street addresses found by Presidio in (a sample of) the rows."""
    engine = engine or presidio_engine()
    counts: Counter = Counter()
    rows: dict[int, list] = {}
    for i, text in enumerate(split.full[:PRESIDIO_ROWS]):
        found = engine.analyze(text=text, language="en",
                               entities=list(PRESIDIO_KINDS), score_threshold=0.6)
        if found:
            rows[i] = found
            counts.update(PRESIDIO_KINDS.get(r.entity_type, r.entity_type) for r in found)
    read = min(len(split), PRESIDIO_ROWS)
    evidence = [Evidence(split.wheres[i], "",
                         {"kinds": sorted({PRESIDIO_KINDS.get(r.entity_type, r.entity_type)
                                           for r in found}),
                          "values": [pii.mask(split.full[i][r.start:r.end]) for r in found[:5]]})
                for i, found in list(rows.items())[:SHOWN]]
    sev = "warning" if rows else "ok"
    summary = (f"Presidio found names or places in {len(rows):,} of the {read:,} {split.role} "
               "rows it read" + (f": {dict(counts)}" if counts else ""))
    return Finding("personal_data", f"names_{split.role}", sev, summary,
                   "" if not rows else "replace names with placeholders, or drop the rows",
                   {"rows": len(rows), "read": read, "counts": dict(counts)}, evidence,
                   evidence_total=len(rows))
