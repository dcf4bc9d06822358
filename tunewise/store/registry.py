"""The run registry: one SQLite file, ``$TUNEWISE_HOME/runs.db``, one row per training run.

``record_run(run_dir)`` reads ``RUN_DIR/run.json`` (written by ``tunewise train``) and inserts or
updates the run's row; ``list_runs()`` and ``get_run(id_or_prefix)`` read them back. The schema is
created and upgraded by ``tunewise.store.migrations`` whenever the database is opened.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from tunewise.errors import InputError, UsageError
from tunewise.store.migrations import migrate


@dataclass
class RunRecord:
    """One registered training run."""

    id: str                              #: 12 hex characters; any unique prefix finds it
    run_dir: str                         #: absolute path of the run directory
    model: str | None = None             #: base model name or path
    method: str | None = None            #: "lora" | "full"
    task_kind: str | None = None         #: "classification" | "ner" | "generation"
    seed: int | None = None
    best_epoch: int | None = None        #: the epoch whose weights were kept
    created: str | None = None           #: when the run was made (run.json "created")
    recorded: str = ""                   #: when it entered the registry
    headline_metric: str | None = None   #: the task's headline metric name
    headline_value: float | None = None  #: its value at the best epoch
    status: str | None = None            #: run.json "status": running, done, failed...
    n_train: int | None = None           #: training examples
    task: dict = field(default_factory=dict)     #: Task.to_config()
    config: dict = field(default_factory=dict)   #: the training config
    metrics: dict = field(default_factory=dict)  #: run.json "metrics"

    def to_dict(self) -> dict:
        return asdict(self)


def db_path() -> Path:
    """``$TUNEWISE_RUNS_DB`` if set (e.g. a throwaway registry for tests), else
    ``$TUNEWISE_HOME/runs.db`` (``TUNEWISE_HOME`` defaults to ``~/.cache/tunewise``)."""
    if os.environ.get("TUNEWISE_RUNS_DB"):
        return Path(os.environ["TUNEWISE_RUNS_DB"])
    from tunewise.models.cache import tunewise_home
    return tunewise_home() / "runs.db"


@contextlib.contextmanager
def connect(path: str | os.PathLike | None = None) -> Iterator[sqlite3.Connection]:
    """Open (creating and migrating as needed) the registry database."""
    path = Path(path) if path is not None else db_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30)
    except (OSError, sqlite3.Error) as e:
        raise InputError(f"cannot open the run registry {path}: {e}",
                         fix="set TUNEWISE_HOME to a writable folder") from None
    try:
        db.row_factory = sqlite3.Row
        migrate(db)
        yield db
    except sqlite3.DatabaseError as e:
        raise InputError(f"the run registry {path} is unreadable: {e}",
                         fix=f"move {path} aside; a fresh registry will be created") from None
    finally:
        db.close()


def _run_id(run_dir: Path, created: str | None) -> str:
    return hashlib.sha1(f"{run_dir}\0{created or ''}".encode()).hexdigest()[:12]


def _headline(task: dict, metrics: dict, name: str | None = None
              ) -> tuple[str | None, float | None]:
    name = name or (task.get("headline_metric") if isinstance(task, dict) else None)
    if not name:
        from tunewise.tasks.factory import TASK_KINDS
        kind = task.get("kind") if isinstance(task, dict) else None
        name = TASK_KINDS.get(kind).headline_metric if kind in TASK_KINDS else None
    if not name or not isinstance(metrics, dict):
        return name, None
    # metrics may be flat {"macro_f1": 0.8} or nested {"val": {...}} / {"macro_f1": {"value": }}
    for scope in (metrics, metrics.get("best") or {}, metrics.get("val") or {},
                  metrics.get("validation") or {}):
        if isinstance(scope, dict) and name in scope:
            v = scope[name]
            if isinstance(v, dict):
                v = v.get("value")
            if isinstance(v, (int, float)):
                return name, float(v)
    return name, None


def _read_run_json(run_dir: Path) -> dict:
    f = run_dir / "run.json"
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: not a run directory (no such folder)",
                         fix="pass the folder `tunewise train -o RUN_DIR` wrote")
    if not f.is_file():
        raise InputError(f"{f}: missing; {run_dir} is not a tunewise run directory",
                         fix="pass the folder `tunewise train -o RUN_DIR` wrote")
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{f}: not valid JSON ({e})",
                         fix="the run may have been interrupted while writing; rerun or resume it"
                         ) from None
    if not isinstance(data, dict):
        raise InputError(f"{f}: expected a JSON object, got {type(data).__name__}")
    return data


def record_run(run_dir: str | os.PathLike, *, db: str | os.PathLike | None = None) -> RunRecord:
    """Insert (or update, keyed by the directory) the run in ``run_dir``; returns its record."""
    run_dir = Path(run_dir).resolve()
    data = _read_run_json(run_dir)
    task = data.get("task") if isinstance(data.get("task"), dict) else {}
    metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    created = data.get("created")
    hname, hvalue = _headline(task, metrics, _str(data.get("headline_metric")))
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    with connect(db) as conn:
        row = conn.execute("SELECT id FROM runs WHERE run_dir = ?", (str(run_dir),)).fetchone()
        rid = row["id"] if row else str(data.get("id") or _run_id(run_dir, created))
        values = dict(
            id=rid, run_dir=str(run_dir), model=_str(data.get("model")),
            method=_str(data.get("method") or config.get("method")), task_kind=task.get("kind"),
            seed=_int(data.get("seed", config.get("seed"))), best_epoch=_int(data.get("best_epoch")),
            created=_str(created), recorded=now, task_json=json.dumps(task),
            config_json=json.dumps(config, default=str), metrics_json=json.dumps(metrics, default=str),
            headline_metric=hname, headline_value=hvalue, status=_str(data.get("status")),
            n_train=_int(data.get("n_train")))
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "id")
        other = conn.execute("SELECT run_dir FROM runs WHERE id = ? AND run_dir != ?",
                             (rid, str(run_dir))).fetchone()
        if other is not None:
            raise InputError(
                f"{run_dir / 'run.json'}: run id {rid!r} is already registered for another run "
                f"folder, {other['run_dir']}; the registry itself is fine",
                fix=f"give this run a unique \"id\" in {run_dir / 'run.json'} (or remove the "
                    "\"id\" key: an id is then derived from the folder)")
        with conn:
            conn.execute(f"INSERT INTO runs ({cols}) VALUES ({marks}) "
                         f"ON CONFLICT(run_dir) DO UPDATE SET {updates}", list(values.values()))
        return _get(conn, rid)


def list_runs(*, db: str | os.PathLike | None = None, limit: int | None = None) -> list[RunRecord]:
    """Every registered run, newest first."""
    with connect(db) as conn:
        sql = "SELECT * FROM runs ORDER BY COALESCE(created, recorded) DESC, rowid DESC"
        rows = conn.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        return [_record(r) for r in rows]


def get_run(id_or_prefix: str, *, db: str | os.PathLike | None = None) -> RunRecord:
    """The run whose id is, or starts with, ``id_or_prefix`` (or whose run_dir is that path)."""
    key = str(id_or_prefix).strip()
    if not key:
        raise UsageError("empty run id", fix="`tunewise runs list` shows the ids")
    with connect(db) as conn:
        rows = conn.execute("SELECT * FROM runs WHERE id LIKE ? ESCAPE '\\'",
                            (key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                             + "%",)).fetchall()
        if not rows and Path(key).exists():
            rows = conn.execute("SELECT * FROM runs WHERE run_dir = ?",
                                (str(Path(key).resolve()),)).fetchall()
        if not rows:
            raise UsageError(f"no run with id {key!r} in {db or db_path()}",
                             fix="`tunewise runs list` shows the ids; "
                                 "`tunewise runs add RUN_DIR` registers a run directory")
        if len(rows) > 1:
            ids = ", ".join(r["id"] for r in rows[:10])
            raise UsageError(f"run id prefix {key!r} matches {len(rows)} runs: {ids}",
                             fix="type more characters of the id")
        return _record(rows[0])


def _get(conn: sqlite3.Connection, rid: str) -> RunRecord:
    return _record(conn.execute("SELECT * FROM runs WHERE id = ?", (rid,)).fetchone())


def _record(r: sqlite3.Row) -> RunRecord:
    def js(s: Any) -> dict:
        try:
            v = json.loads(s) if s else {}
        except json.JSONDecodeError:
            v = {}
        return v if isinstance(v, dict) else {}
    return RunRecord(id=r["id"], run_dir=r["run_dir"], model=r["model"], method=r["method"],
                     task_kind=r["task_kind"], seed=r["seed"], best_epoch=r["best_epoch"],
                     created=r["created"], recorded=r["recorded"],
                     headline_metric=r["headline_metric"], headline_value=r["headline_value"],
                     status=r["status"], n_train=r["n_train"],
                     task=js(r["task_json"]), config=js(r["config_json"]),
                     metrics=js(r["metrics_json"]))


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def _int(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None
