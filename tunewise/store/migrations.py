"""Schema of the run registry as named migrations, applied in order, each exactly once.

The list is append-only: never edit or reorder a migration that has shipped; add a new function
below the last one with ``@migration``. Each migration runs in its own transaction together with
the row that records its name in ``_tunewise_migrations``, so a crash never leaves a migration
half-applied or applied-but-unrecorded. (Style of simonw/llm ``migrations.py``.)
"""
from __future__ import annotations

import datetime as _dt
import sqlite3
from typing import Callable, Sequence

Migration = Callable[[sqlite3.Connection], None]

#: every migration, in the order it must be applied
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    """Decorator: append ``fn`` to ``MIGRATIONS`` (its ``__name__`` is its identity)."""
    MIGRATIONS.append(fn)
    return fn


def _ensure_table(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS _tunewise_migrations "
               "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")


def applied(db: sqlite3.Connection) -> list[str]:
    """Names of the migrations already applied to ``db``, in the order they were applied."""
    _ensure_table(db)
    return [r[0] for r in db.execute("SELECT name FROM _tunewise_migrations ORDER BY rowid")]


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration] | None = None) -> list[str]:
    """Apply every migration not yet recorded in ``db``; returns the names applied now.

    Idempotent: a second call applies nothing. ``migrations`` defaults to ``MIGRATIONS`` (tests
    pass a prefix to build an "old" database).
    """
    migrations = MIGRATIONS if migrations is None else migrations
    done = set(applied(db))
    db.commit()
    now_applied = []
    for fn in migrations:
        name = fn.__name__
        if name in done:
            continue
        with db:  # one transaction: the change and its record commit together
            fn(db)
            db.execute("INSERT INTO _tunewise_migrations (name, applied_at) VALUES (?, ?)",
                       (name, _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")))
        now_applied.append(name)
    return now_applied


# ---------------------------------------------------------------------------------------------
# The migrations. Append only.
# ---------------------------------------------------------------------------------------------

@migration
def m001_create_runs(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,          -- 12 hex characters, stable for a run directory
            run_dir TEXT NOT NULL UNIQUE, -- absolute path of the run directory
            model TEXT,
            method TEXT,                  -- lora | full | ...
            task_kind TEXT,               -- classification | ner | generation
            seed INTEGER,
            best_epoch INTEGER,
            created TEXT,                 -- when the run was made (from run.json)
            recorded TEXT NOT NULL,       -- when it entered the registry (UTC ISO-8601)
            task_json TEXT,               -- run.json "task" (Task.to_config())
            config_json TEXT,             -- run.json "config"
            metrics_json TEXT             -- run.json "metrics"
        )""")


@migration
def m002_headline_metric(db: sqlite3.Connection) -> None:
    # the task's headline metric and its best value, so `runs list` can sort and show them
    db.execute("ALTER TABLE runs ADD COLUMN headline_metric TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN headline_value REAL")
    db.execute("CREATE INDEX runs_created ON runs (created)")


@migration
def m003_status_and_size(db: sqlite3.Connection) -> None:
    # run.json "status" (running / done / failed...) and the number of training examples
    db.execute("ALTER TABLE runs ADD COLUMN status TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN n_train INTEGER")
