"""The report: files written, numbers in the Markdown match the results, HTML is self-contained."""
from __future__ import annotations

import copy
import json
import math
import re
from html.parser import HTMLParser

import pytest

from tunewise.errors import ConfigError, InputError
from tunewise.report import (example_results, load_results, render_report, validate_results,
                             write_results)
from tunewise import formatting as fmt

PLOTS = {"learning_curve", "cost", "per_class_f1", "confusion"}


class _Collector(HTMLParser):
    """Every tag with its attributes, and which figure each <path> sits in."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.figure: str | None = None
        self.paths: dict[str, int] = {}
        self.svgs: dict[str, int] = {}
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "figure":
            self.figure = (a.get("id") or "").removeprefix("plot-")
        elif tag in ("path", "svg") and self.figure:
            d = self.paths if tag == "path" else self.svgs
            d[self.figure] = d.get(self.figure, 0) + 1
        self._in_style = tag == "style"

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "figure":
            self.figure = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def _section(md: str, heading: str) -> str:
    """The Markdown from ``heading`` to the next heading of the same or a higher level."""
    start = md.index(heading)
    level = heading.split(" ")[0]
    rest = md[start + len(heading):]
    m = re.search(rf"^#{{1,{len(level)}}} ", rest, flags=re.M)
    return rest[:m.start()] if m else rest


def _table_row(md: str, first_cell: str) -> str:
    rows = [line for line in md.splitlines() if line.startswith(f"| {first_cell} |")]
    assert rows, f"no table row for {first_cell!r}"
    return rows[0]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    results = example_results()
    snapshot = copy.deepcopy(results)
    paths = render_report(results, out)
    assert results == snapshot, "render_report must not modify the results"
    return results, out, paths


def test_files_written(rendered):
    results, out, paths = rendered
    assert paths["markdown"] == out / "report.md" and paths["markdown"].is_file()
    assert paths["html"] == out / "report.html" and paths["html"].is_file()
    stems = {p.stem for p in paths["plots"]}
    assert PLOTS <= stems
    for p in paths["plots"]:
        text = p.read_text()
        assert text.startswith("<?xml") and "<svg" in text and "<path" in text
    assert not list(out.glob(".*.tmp")), "temporary files left behind"


def test_markdown_numbers_match_results(rendered):
    results, out, _ = rendered
    md = (out / "report.md").read_text()
    metric = results["metric"]
    # the recommendation is the headline, first thing after the title
    first = [line for line in md.splitlines() if line.strip()][:2]
    assert first[1] == f"**{results['recommendation']['headline']}**"
    for reason in results["recommendation"]["reasons"]:
        assert f"- {reason}" in md
    # every arm's headline metric with its CI, in that arm's row
    for arm in results["arms"]:
        m = arm["metrics"][metric]
        assert fmt.metric_ci(m["value"], m["ci"]) in _table_row(md, arm["name"])
    # the learning curve table: mean per size
    for pt in results["learning_curve"]:
        assert fmt.metric_ci(pt["mean"], pt["ci"]) in _table_row(md, fmt.count(pt["train_size"]))
    # break-even by hand: $0.50 / ($0.0003 - $0.0001) per request = 2,500 requests
    assert "after 2,500 requests" in md
    assert math.ceil(results["break_even"]["requests"]) == 2500
    # crossover and prompt worth
    assert "beats 4-shot from 64 training examples by +6.0 points" in md
    assert "worth about 39 training examples" in md
    # cost table rows: $ per 1,000 requests
    for ac in results["cost"]["arms"]:
        row = _table_row(_section(md, "## Cost and break-even"), ac["arm"])
        assert row.endswith(f"| {fmt.usd(ac['usd_per_request'])} | "
                            f"{fmt.usd(ac['usd_per_1k_requests'])} |")
    # per-class F1 and the confusion matrix of the best fine-tuned run (largest size)
    best_ft = max((a for a in results["arms"] if a.get("train_size") == 1000
                   and a["kind"] == "finetune"), key=lambda a: a["metrics"][metric]["value"])
    assert f"F1 {best_ft['name']}" in md
    gold0 = best_ft["confusion"]["labels"][0]
    lines = md.splitlines()
    header = lines.index(f"| {best_ft['name']} | "
                         + " | ".join(f"pred {lab}" for lab in best_ft["confusion"]["labels"])
                         + " |")
    assert lines[header + 2].startswith(f"| gold {gold0} |")
    assert lines[header + 2].endswith(
        " | ".join(str(c) for c in best_ft["confusion"]["matrix"][0]) + " |")
    for stem in PLOTS:
        assert f"](plots/{stem}.svg)" in md


def test_html_is_self_contained(rendered):
    results, out, _ = rendered
    html = (out / "report.html").read_text()
    p = _Collector()
    p.feed(html)
    url_attrs = {"src", "href", "xlink:href", "data", "poster", "action", "srcset", "background"}
    for tag, attrs in p.tags:
        assert tag not in ("script", "link", "iframe", "img", "object", "embed"), tag
        for k, v in attrs.items():
            if k in url_attrs and v:
                assert not re.match(r"^\s*(https?:)?//", v), f"<{tag} {k}={v!r}> fetches"
                assert not v.startswith("file:"), v
    css = "".join(p.styles)
    assert "url(" not in css and "@import" not in css
    assert "url(http" not in html and "@import" not in html
    # every plot is inline SVG with drawn paths
    for stem in PLOTS:
        assert p.svgs.get(stem) == 1, f"plot {stem} missing"
        assert p.paths.get(stem, 0) >= 5, f"plot {stem} has no drawn paths"
    assert results["recommendation"]["headline"] in html.replace("&#x27;", "'")


def test_never_and_prompt_recommendation(tmp_path):
    results = example_results(finetune_wins=False)
    render_report(results, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "Break-even against 4-shot: never" in md
    assert "Crossover: not found against 4-shot." in md
    assert results["crossover"]["note"] in md
    assert "> Warning: fine-tuned runs used one epoch only" in md
    assert md.splitlines()[2].startswith("**Prompt:")


def test_ner_report_has_per_type_scores_and_no_confusion(tmp_path):
    paths = render_report(example_results(kind="ner"), tmp_path)
    stems = {p.stem for p in paths["plots"]}
    assert "per_class_f1" in stems and "confusion" not in stems
    md = (tmp_path / "report.md").read_text()
    assert "## Confusion matrices" not in md and "| PER |" in md


def test_prompt_only_results(tmp_path):
    r = example_results()
    r["arms"] = [a for a in r["arms"] if a["kind"] != "finetune"]
    r["learning_curve"] = []
    r["crossover"] = {"found": False, "train_size": None, "versus": "4-shot",
                      "note": "no fine-tuning arm was run"}
    paths = render_report(r, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "No fine-tuned runs in these results." in md
    assert "learning_curve" in {p.stem for p in paths["plots"]}   # the bands are still drawn


def test_write_and_load_results(tmp_path):
    r = example_results()
    path = write_results(r, tmp_path)
    assert path == tmp_path / "results.json"
    assert json.loads(path.read_text()) == r
    assert load_results(tmp_path) == r
    with pytest.raises(InputError, match="no such file"):
        load_results(tmp_path / "nope")


def test_invalid_results_name_every_problem(tmp_path):
    r = example_results()
    del r["metric"]
    del r["recommendation"]
    problems = validate_results(r)
    assert "missing key 'metric'" in problems and "missing key 'recommendation'" in problems
    with pytest.raises(ConfigError) as e:
        render_report(r, tmp_path)
    assert "metric" in e.value.message and "recommendation" in e.value.message
    assert not (tmp_path / "report.html").exists()
    r = example_results()
    r["arms"][0]["metrics"] = {"accuracy": {"value": 0.5, "ci": None}}
    r["arms"][1]["name"] = r["arms"][2]["name"]
    problems = validate_results(r)
    assert any("no value for the headline metric 'macro_f1'" in p for p in problems)
    assert any("duplicate arm name" in p for p in problems)


def test_example_results_are_consistent():
    """The synthetic builder must itself be right, or the tests above prove nothing."""
    r = example_results()
    assert validate_results(r) == []
    c = r["cost"]
    p, f = c["arms"]
    assert c["break_even"]["requests"] == pytest.approx(
        c["training"]["usd"] / (p["usd_per_request"] - f["usd_per_request"]))
    for pt in r["learning_curve"]:
        assert pt["mean"] == pytest.approx(sum(pt["values"]) / len(pt["values"]))
    for a in r["arms"]:
        if "confusion" in a:
            m = a["confusion"]["matrix"]
            assert sum(map(sum, m)) == a["n_test"]
            for i, lab in enumerate(a["confusion"]["labels"]):
                assert a["per_class"][lab]["support"] == sum(m[i])


def test_format_helpers():
    assert fmt.requests(2499.2) == "2,500" and fmt.requests(None) == "never"
    assert fmt.usd(0.3) == "$0.30" and fmt.usd(0.000123456) == "$0.000123"
    assert fmt.usd(1234.5) == "$1,234.50" and fmt.usd(-0.5) == "-$0.50"
    assert fmt.usd(0.0376) == "$0.0376" and fmt.usd(0.01734) == "$0.0173"
    assert fmt.usd(0.0002) == "$0.0002" and fmt.usd(0.999) == "$0.999"
    assert fmt.points(0.062) == "+6.2 points" and fmt.points(-0.01) == "-1.0 points"
    assert fmt.metric_ci(0.8431, [0.8, 0.88]) == "0.843 [0.800, 0.880]"
    assert fmt.metric_ci(0.5, None) == "0.500"


def test_empty_cost_section_says_why(tmp_path):
    r = example_results()
    reason = "no fine-tuning arm ran: nothing to break even"
    be = {"versus": None, "finetuned": None, "requests": None, "never": True, "text": reason}
    r["cost"] = {"mode": "local", "model": "m", "pricing": {"name": "n/a"},
                 "training": {"usd": 0.0, "note": reason}, "arms": [], "break_even": be}
    r["break_even"] = be
    r["extra_costs"] = []
    paths = render_report(r, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert reason in _section(md, "## Cost and break-even")
    assert "Break-even against None" not in md
    assert "cost" not in {p.stem for p in paths["plots"]}


def test_cost_notes_are_shown(tmp_path):
    r = example_results()
    r["cost"]["notes"] = ["throughput measured on a busy machine"]
    render_report(r, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "- throughput measured on a busy machine" in _section(md, "## Cost and break-even")
