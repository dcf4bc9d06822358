"""The report's short "Data" section: what ``tunewise data audit`` found in the splits compare
used (results.json ``data.audit``): each finding above "ok" with its fix, the checks that
passed, and those that could not run."""
from __future__ import annotations

from tunewise.report.blocks import Block, Bullets, Heading, Paragraph


def data_audit_blocks(results: dict) -> list[Block]:
    audit = (results.get("data") or {}).get("audit")
    if not isinstance(audit, dict) or not audit:
        return []
    out: list[Block] = [Heading("Data")]
    if audit.get("error"):
        return out + [Paragraph(f"The data audit could not run: {audit['error']}", "note")]
    items = []
    for f in audit.get("findings") or []:
        fix = f" Fix: {f['fix']}" if f.get("fix") else ""
        items.append(f"{f.get('severity', '?')}: {f.get('summary', '')}.{fix}")
    if items:
        out.append(Bullets(items, "Findings of `tunewise data audit` on the train and test splits"))
    else:
        out.append(Paragraph("`tunewise data audit` found nothing to report in the train and test "
                             "splits."))
    if audit.get("ok"):
        out.append(Paragraph("Checked and fine: " + ", ".join(audit["ok"]) + ".", "note"))
    if audit.get("not_checked"):
        out.append(Paragraph("Not checked: " + "; ".join(audit["not_checked"]) + ".", "note"))
    return out
