"""Labels from the user's data reach the report as plain text: no mathtext in the plots (a label
with "$" used to crash after every arm had run), HTML and code fences escaped in report.md."""
from __future__ import annotations

import json

from tunewise.report import example_results, render_report

ODD = {"negative": "$x_1$ <b>neg</b>", "neutral": "```neu", "positive": "a$b^c"}


def odd_results() -> dict:
    s = json.dumps(example_results())
    for old, new in ODD.items():
        s = s.replace(json.dumps(old), json.dumps(new))
    r = json.loads(s)
    assert r["task"]["labels"] == list(ODD.values())
    return r


def test_labels_with_dollars_and_html_render(tmp_path):
    paths = render_report(odd_results(), tmp_path)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    # HTML escaped, never raw
    assert "<b>neg</b>" not in md and "&lt;b&gt;neg&lt;/b&gt;" in md
    # a label cannot open a code fence: its backticks are escaped
    assert "```neu" not in md and "\\`\\`\\`neu" in md
    svgs = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "plots").glob("*.svg"))
    assert svgs, paths
    # the labels are drawn literally (svg.fonttype none keeps text as text)
    assert "a$b^c" in svgs and "$x_1$" in svgs
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<b>neg</b>" not in html.split("<svg")[0]


def test_code_block_fence_is_longer_than_any_backtick_run(tmp_path):
    from tunewise.report.content import Code
    from tunewise.report.markdown import to_markdown
    md = to_markdown([Code('{"data": "a ```` b"}', "json")])
    assert md.startswith("`````json\n") and md.rstrip().endswith("`````")
