"""User strings that look like rich markup ([/x], [bold], [red]x) are printed as written:
no crash of the error handler, no restyled output, `tunewise runs list` keeps working."""
from __future__ import annotations

import json

import pytest

from tunewise.cli.output import safe


@pytest.mark.parametrize("s", ["[/x]", "[bold]", "[red]x", "a [/] b", "run[1]"])
def test_safe_prints_literally(s):
    from rich.console import Console
    c = Console(record=True, width=200)
    c.print(f"[bold]label:[/] {safe(s)}")
    assert c.export_text().strip() == f"label: {s}"


@pytest.mark.parametrize("name", ["[/x]", "[bold]", "[red]x"])
def test_error_message_with_markup_in_a_path(tmp_path, cli, name):
    missing = tmp_path / name / "data.jsonl"
    r = cli("data", "split", str(missing), "-o", str(tmp_path / "out"))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert str(missing) in " ".join(r.stderr.split())


def _chat(path, labels):
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(30):
            lab = labels[i % len(labels)]
            fh.write(json.dumps({"messages": [{"role": "user", "content": f"item {i} {lab}"},
                                              {"role": "assistant", "content": lab}]}) + "\n")
    return path


def test_label_with_markup_in_split_table(tmp_path, cli):
    src = _chat(tmp_path / "[bold]d.jsonl", ["[red]x", "[/x]"])
    r = cli("data", "split", str(src), "-o", str(tmp_path / "[/x]out"))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "[red]x" in r.stdout and "[/x]" in r.stdout
    assert "[/x]out" in " ".join(r.stdout.split())


def test_run_id_with_brackets_in_runs_list_and_show(tmp_path, cli):
    run = tmp_path / "[bold]run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({
        "id": "[/x]r1", "model": "[red]m", "method": "lora", "status": "done",
        "created": "2026-01-01T00:00:00", "task": {"kind": "classification"}}))
    env = {"TUNEWISE_RUNS_DB": str(tmp_path / "runs.db"), "COLUMNS": "400"}
    add = cli("runs", "add", str(run), env=env)
    assert add.returncode == 0, add.stderr
    assert "[/x]r1" in add.stdout
    ls = cli("runs", "list", env=env)
    assert ls.returncode == 0, ls.stderr
    assert "Traceback" not in ls.stderr
    assert "[/x]r1" in ls.stdout and "[red]m" in ls.stdout and "[bold]run" in ls.stdout
    show = cli("runs", "show", "[/x]r1", env=env)
    assert show.returncode == 0, show.stderr
    assert "[red]m" in show.stdout


def test_duplicate_run_id_names_both_folders_not_the_registry(tmp_path, cli):
    env = {"TUNEWISE_RUNS_DB": str(tmp_path / "runs.db")}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(json.dumps({"id": "same", "status": "done"}))
    assert cli("runs", "add", str(tmp_path / "a"), env=env).returncode == 0
    r = cli("runs", "add", str(tmp_path / "b"), env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    err = " ".join(r.stderr.split())
    assert "already registered" in err and str(tmp_path / "a") in err
    assert "aside" not in err and "unreadable" not in err
    assert "fix:" in err
