"""Lay the report's blocks out as Markdown; figures are written beside it as plots/<key>.svg."""
from __future__ import annotations

import html
import re

from tunewise.report.content import Block, Bullets, Code, Figure, Heading, Paragraph, Table


def _text(s) -> str:
    """Text from the results (labels, arm names, paths) as Markdown that renders literally: HTML
    escaped (a label ``<script>`` stays text), backticks escaped (no code span or fence opens)."""
    return html.escape(str(s), quote=False).replace("`", "\\`")


def _cell(s: str) -> str:
    return _text(s).replace("|", "\\|").replace("\n", " ")


def _fence(text: str) -> str:
    """A backtick fence longer than any backtick run in ``text`` (CommonMark), so the text
    cannot close it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def to_markdown(blocks: list[Block], *, plots_dir: str = "plots") -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {_text(b.text)}")
        elif isinstance(b, Paragraph):
            t = _text(b.text)
            out.append(f"**{t}**" if b.css == "headline"
                       else f"> {t}" if b.css == "warning" else t)
        elif isinstance(b, Bullets):
            lines = [f"{_text(b.title)}:", ""] if b.title else []
            lines += [f"- {_text(item)}" for item in b.items]
            out.append("\n".join(lines))
        elif isinstance(b, Table):
            align = [("---:" if (b.numeric[i] if i < len(b.numeric) else False) else "---")
                     for i in range(len(b.headers))]
            lines = ["| " + " | ".join(_cell(h) for h in b.headers) + " |",
                     "| " + " | ".join(align) + " |"]
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in b.rows]
            if b.caption:
                lines.append(f"\n{_text(b.caption)}")
            out.append("\n".join(lines))
        elif isinstance(b, Figure):
            caption = _text(b.caption).replace("[", "\\[").replace("]", "\\]")
            out.append(f"![{caption}]({plots_dir}/{b.key}.svg)")
        elif isinstance(b, Code):
            fence = _fence(b.text)
            out.append(f"{fence}{b.lang}\n{b.text}\n{fence}")
    return "\n\n".join(out) + "\n"
