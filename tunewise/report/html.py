"""Lay the report's blocks out as one self-contained HTML page: inline CSS, plots as inline SVG,
no scripts, no external URLs (it opens offline and from an e-mail attachment)."""
from __future__ import annotations

from html import escape

from tunewise.report.content import Block, Bullets, Code, Figure, Heading, Paragraph, Table

CSS = """
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
       max-width: 1040px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; }
h1 { font-size: 1.7em; margin: 0 0 .6em; }
h2 { font-size: 1.3em; margin: 1.8em 0 .5em; padding-bottom: .2em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1em; margin: 1.4em 0 .4em; }
p.headline { font-size: 1.25em; font-weight: 600; padding: 14px 18px; border-left: 5px solid var(--accent);
             background: #f0f6fc; margin: 0 0 1em; }
p.warning { padding: 8px 12px; background: #fff8c5; border: 1px solid #e3c85b; border-radius: 4px; }
p.note { color: var(--muted); }
div.bullets > .title { font-weight: 600; margin-top: .6em; }
ul { margin: .3em 0 .8em; padding-left: 1.4em; }
table { border-collapse: collapse; margin: .6em 0 1em; font-size: .92em; }
th, td { border: 1px solid var(--line); padding: 4px 9px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: .8em 0 1.4em; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .88em; margin-top: .3em; }
pre { background: #f6f8fa; padding: 10px 12px; overflow-x: auto; font-size: .85em; border-radius: 4px; }
footer { margin-top: 3em; color: var(--muted); font-size: .85em; }
"""


def to_html(blocks: list[Block], *, title: str = "tunewise report") -> str:
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{escape(b.text)}</h{b.level}>")
        elif isinstance(b, Paragraph):
            cls = f' class="{escape(b.css)}"' if b.css else ""
            body.append(f"<p{cls}>{escape(b.text)}</p>")
        elif isinstance(b, Bullets):
            head = f'<div class="title">{escape(b.title)}</div>' if b.title else ""
            items = "".join(f"<li>{escape(i)}</li>" for i in b.items)
            body.append(f'<div class="bullets">{head}<ul>{items}</ul></div>')
        elif isinstance(b, Table):
            def cls(i):
                return ' class="num"' if i < len(b.numeric) and b.numeric[i] else ""
            head = "".join(f"<th>{escape(h)}</th>" for h in b.headers)
            rows = "".join("<tr>" + "".join(f"<td{cls(i)}>{escape(str(c))}</td>"
                                            for i, c in enumerate(row)) + "</tr>"
                           for row in b.rows)
            cap = f"<caption>{escape(b.caption)}</caption>" if b.caption else ""
            body.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(b, Figure):
            body.append(f'<figure class="plot" id="plot-{escape(b.key)}">{b.svg}'
                        f"<figcaption>{escape(b.caption)}</figcaption></figure>")
        elif isinstance(b, Code):
            body.append(f"<pre><code>{escape(b.text)}</code></pre>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body)
            + "\n<footer>Written by tunewise. Self-contained: no scripts, no external files."
              "</footer>\n</body>\n</html>\n")
