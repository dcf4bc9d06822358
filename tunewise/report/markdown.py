"""Lay the report's blocks out as Markdown; figures are written beside it as plots/<key>.svg."""
from __future__ import annotations

from tunewise.report.content import Block, Bullets, Code, Figure, Heading, Paragraph, Table


def _cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], *, plots_dir: str = "plots") -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {b.text}")
        elif isinstance(b, Paragraph):
            out.append(f"**{b.text}**" if b.css == "headline"
                       else f"> {b.text}" if b.css == "warning" else b.text)
        elif isinstance(b, Bullets):
            lines = [f"{b.title}:", ""] if b.title else []
            lines += [f"- {item}" for item in b.items]
            out.append("\n".join(lines))
        elif isinstance(b, Table):
            align = [("---:" if (b.numeric[i] if i < len(b.numeric) else False) else "---")
                     for i in range(len(b.headers))]
            lines = ["| " + " | ".join(_cell(h) for h in b.headers) + " |",
                     "| " + " | ".join(align) + " |"]
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in b.rows]
            if b.caption:
                lines.append(f"\n{b.caption}")
            out.append("\n".join(lines))
        elif isinstance(b, Figure):
            out.append(f"![{b.caption}]({plots_dir}/{b.key}.svg)")
        elif isinstance(b, Code):
            out.append(f"```{b.lang}\n{b.text}\n```")
    return "\n\n".join(out) + "\n"
