"""`tunewise eval`: run one arm on a split, or compare two predictions files.

A thin layer over ``tunewise.evaluation.evaluate`` and
``tunewise.evaluation.compare_predictions.compare_files``. The flags of the ``EvalOptions``
fields are generated from them (``cli/eval_flags.py``); the ones written here are not one field
each (--data, --labels, --calibrate, --bf16/--fp32, --format..., --compare, --json).
"""
from __future__ import annotations

import click

from tunewise.cli.options import device_option

from tunewise.errors import UsageError
from tunewise.cli.eval_flags import field_options, option_fields
from tunewise.cli.eval_remote import render_usage, with_price
from tunewise.evaluation.options import EvalOptions, PromptOptions, RemoteOptions


@click.command("eval")
@device_option
@click.option("--data", "data", default=None, metavar="FILE",
              help="the split to evaluate (chat JSONL, prompt/completion, alpaca, CSV/TSV, CoNLL)")
@field_options(EvalOptions)
@click.option("--labels", default=None, metavar="a,b",
              help="classification labels / NER types, comma-separated (default: from the data)")
@field_options(PromptOptions)
@click.option("--calibrate", type=click.Choice(["content-free", "prior"]), is_flag=False,
              flag_value="content-free", default=None,
              help="divide the prompt's label bias out of the label scores: content-free "
                   "(bare --calibrate; Zhao et al. 2021) or prior (estimated on the training "
                   "examples, aimed at their label frequencies)")
@click.option("--bf16/--fp32", default=None,
              help="precision; default: label scoring in bf16 where the CPU has bf16 math, "
                   "close calls re-scored in fp32; generation in fp32")
@click.option("--format", "fmt", default=None, metavar="F",
              help="input format (default: detect)")
@click.option("--text-column", default=None, metavar="C", help="CSV: the text column")
@click.option("--label-column", default=None, metavar="C", help="CSV: the label column")
@click.option("--compare", nargs=2, default=None, metavar="A.jsonl B.jsonl",
              help="paired test of two predictions files instead of an evaluation")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object on stdout")
@field_options(RemoteOptions)
def eval_cmd(data, labels, calibrate, bf16, fmt, text_column, label_column, compare, as_json,
             **fields):
    """Evaluate one arm on a split: metrics with 95% bootstrap CIs, per-class report,
    confusion matrix and timing.

    \b
    tunewise eval --data test.csv                         zero-shot, embedded model
    tunewise eval --data test.csv --shots 4 --shots-from train.csv --shot-selection balanced
    tunewise eval --data test.csv --arm classical --train train.csv
    tunewise eval --data test.csv --adapter runs/sentiment --out ft.jsonl
    tunewise eval --compare ft.jsonl zero.jsonl           McNemar / paired bootstrap
    tunewise eval --data test.csv --model openai:gpt-4.1-mini --shots 4 --train train.csv
    tunewise eval --data test.csv --model qwen --base-url http://127.0.0.1:8000/v1
    """
    if compare:
        if data:
            raise UsageError("--compare takes two predictions files and no --data")
        from tunewise.evaluation.compare_predictions import compare_files
        res = compare_files(compare[0], compare[1], seed=fields["seed"])
        if as_json:
            from tunewise.cli.output import emit_json
            emit_json(res)
        else:
            render_compare(res)
        return 0
    if not data:
        raise UsageError("missing --data FILE", fix="tunewise eval --data test.csv "
                         "(or --compare A.jsonl B.jsonl)")
    from tunewise.evaluation.evaluator import evaluate
    read_options = {k: v for k, v in (("format", fmt), ("text_column", text_column),
                                      ("label_column", label_column)) if v}
    label_list = [x.strip() for x in labels.split(",") if x.strip()] if labels else None
    options = EvalOptions(**option_fields(fields), labels=label_list, bf16=bf16,
                          calibrate=calibrate, read_options=read_options, progress=True)
    warnings: list[str] = []
    if options.is_remote():
        options, warnings = with_price(options)
    res = evaluate(data, options)
    if as_json:
        from tunewise.cli.output import emit_json
        d = res.to_dict()
        if res.arm == "remote":
            d["retirement_warnings"] = warnings
        emit_json(d)
    else:
        render(res)
        if res.arm == "remote":
            render_usage(res.usage, warnings)
    return 0


def _ci(m) -> str:
    ci = m.get("ci") if isinstance(m, dict) else None
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""


def render(res) -> None:
    from tunewise.cli.output import safe as escape
    from rich.table import Table

    from tunewise.cli.output import console
    d = res.to_dict()
    s = d["settings"]
    what = d["arm"] + (f" · {d['model']}" if d["model"] else "")
    if s.get("shots"):
        what += f" · {s['shots']}-shot ({s['shot_selection']})"
    elif d["arm"] != "classical":
        what += " · zero-shot"
    if d["arm"] != "classical":
        what += f" · {s['method']}" + (f" (calibrated: {s['calibrate']})"
                                       if s.get("calibrate") else "")
    console.print(f"[bold]{escape(what)}[/] on {d['n']:,} {res.task.kind} examples"
                  + (f" from {escape(s['data'])}" if s.get("data") else ""))
    t = Table(title="metrics (95% bootstrap CI)", title_justify="left")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_column("95% CI", justify="right")
    for name, m in d["metrics"].items():
        star = " *" if name == d["headline_metric"] else ""
        t.add_row(escape(name) + star, f"{m['value']:.3f}", _ci(m))
    console.print(t)
    if d["report"]:
        title = res.task.report_title
        r = Table(title=title, title_justify="left")
        for col in ("", "precision", "recall", "f1", "support"):
            r.add_column(col, justify="left" if not col else "right")
        for lab, row in d["report"].items():
            r.add_row(escape(str(lab)), f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                      f"{row['f1']:.3f}", f"{row['support']:,}")
        console.print(r)
    if d["confusion"]:
        c = d["confusion"]
        ct = Table(title="confusion matrix (rows: gold, columns: predicted)", title_justify="left")
        ct.add_column("gold \\ pred")
        for col in c["columns"]:
            ct.add_column(escape(str(col)), justify="right")
        for lab, row in zip(c["labels"], c["matrix"]):
            ct.add_row(escape(str(lab)), *[f"{v:,}" for v in row])
        console.print(ct)
    tm = d["timing"]
    eps = tm.get("examples_per_second")
    console.print(f"timing: {eps:,.1f} examples/s over {tm['seconds']:.1f}s "
                  f"(model load + warm-up {tm['load_seconds']:.1f}s, not counted); tokens in "
                  f"{tm['tokens_in']:,}, out {tm['tokens_out']:,}" if eps else
                  f"timing: {tm['seconds']:.2f}s")
    for n in d["notes"]:
        console.print(f"[yellow]note:[/] {escape(n)}")
    if d["out"]:
        console.print(f"predictions written to {escape(d['out'])}")


def render_compare(res: dict) -> None:
    from tunewise.cli.output import safe as escape
    from rich.table import Table

    from tunewise.cli.output import console
    a = res.get("a_arm") or ""
    b = res.get("b_arm") or ""
    console.print(f"[bold]A[/] = {escape(res['a'])} {escape(a)}")
    console.print(f"[bold]B[/] = {escape(res['b'])} {escape(b)}")
    console.print(f"{res['n']:,} paired {res['task']} examples")
    t = Table(title="A - B (95% paired bootstrap CI)", title_justify="left")
    for col in ("metric", "A", "B", "A - B", "95% CI", "p-value", "test"):
        t.add_column(col, justify="left" if col in ("metric", "test") else "right")
    for name, m in res["metrics"].items():
        star = " *" if name == res.get("headline_metric") else ""
        t.add_row(name + star, f"{m['a']:.3f}", f"{m['b']:.3f}", f"{m['diff']:+.3f}",
                  f"[{m['ci'][0]:+.3f}, {m['ci'][1]:+.3f}]", f"{m['p_value']:.4f}",
                  escape(m["test"]))
    console.print(t)
    head = res["metrics"].get(res.get("headline_metric"))
    if head:
        verdict = ("no significant difference" if head["p_value"] >= 0.05 else
                   ("A is better" if head["diff"] > 0 else "B is better"))
        console.print(f"{res['headline_metric']}: {verdict} (p = {head['p_value']:.4f})")


def register(app: click.Group) -> None:
    app.add_command(eval_cmd)
