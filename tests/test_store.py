"""Run registry: migrations (ordered, idempotent, upgrade an old db), record/list/get, CLI."""
from __future__ import annotations

import json
import sqlite3

import pytest

from tunewise.errors import InputError, UsageError
from tunewise.store import get_run, list_runs, record_run
from tunewise.store import migrations as mig


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def _isolate(monkeypatch, tmp_path):
    """A fresh registry at tmp_path/home/runs.db, whatever the environment says."""
    monkeypatch.setenv("TUNEWISE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TUNEWISE_RUNS_DB", raising=False)


def _run_dir(tmp_path, name, **over):
    d = tmp_path / name
    d.mkdir()
    data = {"model": "tiny-random", "method": "lora",
            "task": {"kind": "classification", "labels": ["neg", "pos"],
                     "headline_metric": "macro_f1"},
            "config": {"epochs": 3, "lr": 1e-4}, "seed": 7, "best_epoch": 2,
            "metrics": {"macro_f1": 0.81, "accuracy": 0.9}, "created": "2025-03-01T10:00:00Z",
            "status": "done", "n_train": 64}
    data.update(over)
    (d / "run.json").write_text(json.dumps(data))
    return d


def test_migrations_applied_in_order_and_idempotent(tmp_path):
    db = sqlite3.connect(tmp_path / "r.db")
    names = [f.__name__ for f in mig.MIGRATIONS]
    assert names == sorted(names), "migration names must sort in the order they are listed"
    assert mig.migrate(db) == names
    assert mig.applied(db) == names
    assert mig.migrate(db) == []          # second run applies nothing
    assert mig.applied(db) == names
    cols = _columns(db, "runs")
    assert {"id", "run_dir", "model", "headline_metric", "headline_value", "status",
            "n_train"} <= set(cols)


def test_new_migration_upgrades_old_database(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    assert mig.migrate(db, mig.MIGRATIONS[:1]) == ["m001_create_runs"]
    assert "headline_value" not in _columns(db, "runs")
    db.execute("INSERT INTO runs (id, run_dir, recorded) VALUES ('abc', '/x', 'now')")
    db.commit()
    db.close()

    order = []

    def m999_add_notes(conn):
        order.append("m999")
        conn.execute("ALTER TABLE runs ADD COLUMN notes TEXT")

    db = sqlite3.connect(path)
    applied = mig.migrate(db, [*mig.MIGRATIONS, m999_add_notes])
    assert applied == [f.__name__ for f in mig.MIGRATIONS[1:]] + ["m999_add_notes"]
    assert order == ["m999"]
    cols = _columns(db, "runs")
    assert "headline_value" in cols and "notes" in cols
    # the old row survived the upgrade
    assert db.execute("SELECT id FROM runs").fetchall() == [("abc",)]
    assert mig.migrate(db, [*mig.MIGRATIONS, m999_add_notes]) == []


def test_failed_migration_is_not_recorded(tmp_path):
    db = sqlite3.connect(tmp_path / "f.db")

    def m500_broken(conn):
        conn.execute("CREATE TABLE half (x INTEGER)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        mig.migrate(db, [*mig.MIGRATIONS, m500_broken])
    assert "m500_broken" not in mig.applied(db)
    assert mig.applied(db) == [f.__name__ for f in mig.MIGRATIONS]


def test_record_list_get(tmp_path, monkeypatch):
    _isolate(monkeypatch, tmp_path)
    a = record_run(_run_dir(tmp_path, "a"))
    b = record_run(_run_dir(tmp_path, "b", seed=1, created="2025-04-01T10:00:00Z",
                            metrics={"val": {"macro_f1": 0.5}}))
    assert (tmp_path / "home" / "runs.db").is_file()
    assert a.id != b.id and len(a.id) == 12
    assert (a.model, a.method, a.task_kind, a.seed, a.best_epoch) == (
        "tiny-random", "lora", "classification", 7, 2)
    assert a.headline_metric == "macro_f1" and a.headline_value == pytest.approx(0.81)
    assert b.headline_value == pytest.approx(0.5)
    assert a.config == {"epochs": 3, "lr": 1e-4}
    assert (a.status, a.n_train) == ("done", 64)
    assert [r.id for r in list_runs()] == [b.id, a.id]      # newest first
    assert get_run(a.id[:5]).run_dir == a.run_dir
    # re-recording the same directory updates the row, keeps the id
    (tmp_path / "a" / "run.json").write_text(json.dumps(
        {"model": "tiny-random", "best_epoch": 3, "created": "2025-03-01T10:00:00Z"}))
    a2 = record_run(tmp_path / "a")
    assert a2.id == a.id and a2.best_epoch == 3
    assert len(list_runs()) == 2


def test_runs_db_override(tmp_path, monkeypatch):
    _isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("TUNEWISE_RUNS_DB", str(tmp_path / "elsewhere" / "r.db"))
    rec = record_run(_run_dir(tmp_path, "a"))
    assert (tmp_path / "elsewhere" / "r.db").is_file()
    assert not (tmp_path / "home" / "runs.db").exists()
    assert [r.id for r in list_runs()] == [rec.id]


def test_get_run_errors(tmp_path, monkeypatch):
    _isolate(monkeypatch, tmp_path)
    with pytest.raises(UsageError, match="no run with id"):
        get_run("ffff")
    with pytest.raises(InputError, match="run.json"):
        record_run(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "run.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        record_run(bad)


def test_ambiguous_prefix(tmp_path, monkeypatch):
    _isolate(monkeypatch, tmp_path)
    ids = [record_run(_run_dir(tmp_path, f"r{i}", id=f"ab{i}")).id for i in range(2)]
    assert ids == ["ab0", "ab1"]
    with pytest.raises(UsageError, match="matches 2 runs"):
        get_run("ab")
    assert get_run("ab1").id == "ab1"


def test_cli_runs(tmp_path, cli):
    env = {"TUNEWISE_HOME": str(tmp_path / "home"), "TUNEWISE_RUNS_DB": str(tmp_path / "r.db")}
    d = _run_dir(tmp_path, "run")
    r = cli("runs", "add", str(d), "--json", env=env)
    assert r.returncode == 0, r.stderr
    rid = json.loads(r.stdout)["id"]
    r = cli("runs", "list", "--json", env=env)
    assert r.returncode == 0, r.stderr
    runs = json.loads(r.stdout)["runs"]
    assert [x["id"] for x in runs] == [rid]
    r = cli("runs", "show", rid[:6], env=env)
    assert r.returncode == 0 and rid in r.stdout and "macro_f1" in r.stdout
    r = cli("runs", "list", env={**env, "COLUMNS": "250"})
    assert r.returncode == 0 and rid in r.stdout and "done" in r.stdout
    import shutil
    shutil.rmtree(d)
    r = cli("runs", "list", env={**env, "COLUMNS": "250"})
    assert "folder missing" in r.stdout
    r = cli("runs", "show", "nope", env=env)
    assert r.returncode == 2 and "no run with id" in r.stderr and "Traceback" not in r.stderr
