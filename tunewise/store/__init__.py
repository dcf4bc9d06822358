"""SQLite run registry (``$TUNEWISE_HOME/runs.db``) with append-only named migrations.

::

    from tunewise import store
    rec = store.record_run("runs/sentiment-lora")   # reads RUN_DIR/run.json
    for r in store.list_runs(): print(r.id, r.model, r.headline_value)
    store.get_run("3fa9")                            # id or unique id prefix
"""
from tunewise.store.registry import RunRecord, connect, db_path, get_run, list_runs, record_run

__all__ = ["RunRecord", "connect", "db_path", "get_run", "list_runs", "record_run"]
