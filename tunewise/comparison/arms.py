"""One function per arm. Each returns a raw arm record: the structured prediction for every test
example (JSON-able) plus measured timing and token counts; ``findings`` scores them.

All arms predict the SAME test examples through the SAME Task (prompts, parsing, metrics).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from tunewise.data.records import Entity, Example


def jsonable_pred(p: Any) -> Any:
    """A prediction as JSON (NER entities become {type, start, end, text} dicts)."""
    if isinstance(p, Entity):
        return p.to_dict()
    if isinstance(p, (list, tuple)):
        return [jsonable_pred(x) for x in p]
    return p


def _record(name: str, kind: str, preds, **extra) -> dict:
    return {"name": name, "kind": kind, "preds": [jsonable_pred(p) for p in preds], **extra}


def _write_predictions(path: Path | None, test: Sequence[Example], task, predictions) -> None:
    """Predictions JSONL: input, gold, prediction, raw output, latency, tokens in/out."""
    if path is None:
        return
    from tunewise.fileio import write_jsonl
    write_jsonl(path, ({"input": ex.input, "gold": jsonable_pred(task.gold(ex)),
                        "prediction": jsonable_pred(p.pred), "raw": p.raw,
                        "latency_s": p.latency_s, "tokens_in": p.tokens_in,
                        "tokens_out": p.tokens_out} for ex, p in zip(test, predictions)))


def warm_up(task, lm, test: Sequence[Example], *, method: str = "auto", bf16: bool = False) -> None:
    """Predict two examples untimed (first-call allocation and kernel selection)."""
    import importlib
    predict_mod = importlib.import_module("tunewise.prompting.predict")
    predict_mod.predict(task, lm, list(test)[:2], method=method, bf16=bf16, progress=False)


def majority_arm(task, train: Sequence[Example], test: Sequence[Example]) -> dict:
    """Always answer the most frequent training label (NER: never claim an entity)."""
    if task.kind == "classification":
        from tunewise.tasks.metrics import majority_label
        lab = majority_label([task.gold(ex) for ex in train], task.labels)
        return _record("majority", "majority", [lab] * len(test), train_size=len(train),
                       note=f"always answers {lab!r}", majority_label=lab)
    return _record("majority", "majority", [[] for _ in test], train_size=len(train),
                   note="never claims an entity")


def classical_arm(task, train: Sequence[Example], test: Sequence[Example], *, seed: int,
                  predictions_path: Path | None = None) -> dict:
    """TF-IDF + logistic regression on the whole training split."""
    from tunewise.evaluation.classical import classical_predictions
    t0 = time.perf_counter()
    preds = classical_predictions(task, list(train), list(test), seed=seed)
    total = time.perf_counter() - t0
    fit_s = preds[0].extra.get("fit_s", 0.0) if preds else 0.0
    infer_s = max(total - fit_s, 1e-9)
    _write_predictions(predictions_path, test, task, preds)
    return _record("classical", "classical", [p.pred for p in preds], train_size=len(train),
                   timing={"examples_per_second": len(test) / infer_s, "train_seconds": fit_s,
                           "hardware": "cpu"})


def prompt_arm(task, lm, test: Sequence[Example], *, name: str, shots=(), k: int = 0,
               selection: str | None = None, seed: int = 0, method: str = "auto",
               batch_size: int = 16, bf16: bool = False, progress: bool = True,
               predictions_path: Path | None = None) -> dict:
    """Zero-shot (no shots) or k-shot prompting of the base model."""
    import importlib
    predict_mod = importlib.import_module("tunewise.prompting.predict")
    t0 = time.perf_counter()
    preds = predict_mod.predict(task, lm, list(test), shots=shots, method=method,
                                batch_size=batch_size, bf16=bf16, progress=progress)
    elapsed = time.perf_counter() - t0
    _write_predictions(predictions_path, test, task, preds)
    n = max(len(preds), 1)
    rec = _record(name, "prompt", [p.pred for p in preds], shots=k, seed=seed,
                  timing={"examples_per_second": len(preds) / max(elapsed, 1e-9),
                          "seconds": elapsed, "hardware": "cpu"},
                  tokens={"prompt": sum(p.tokens_in for p in preds) / n,
                          "output": sum(p.tokens_out for p in preds) / n})
    if selection:
        rec["selection"] = selection
    return rec


def finetune_arm(task, train: Sequence[Example], val: Sequence[Example] | None,
                 test: Sequence[Example], *, name: str, model: str, method: str,
                 train_config: "TrainConfig | dict", seed: int, run_dir: Path, epochs: int | None,
                 batch_size: int = 16, bf16: bool = False, progress: bool = True,
                 predictions_path: Path | None = None, say=lambda m: None,
                 inputs_hash: str = "", max_val: int | None = None) -> dict:
    """Fine-tune ``model`` on ``train``, then predict ``test`` with the kept weights. An
    unfinished run directory is resumed from its checkpoint.

    ``val`` None (what compare passes): ``train`` is all the labelled data of this size, and
    ``tunewise.training.train`` chooses: below ``min_val_carve`` examples no validation (the
    fixed ``epochs: auto`` budget, last epoch kept), else a carved validation split (at most
    ``max_val`` of it scored per epoch) and the best epoch. The record says which
    (``model_selection``, ``epochs``, ``val_size``)."""
    import json
    import shutil
    from tunewise import training
    import importlib
    predict_mod = importlib.import_module("tunewise.prompting.predict")
    from tunewise.training.config import TrainConfig
    arm_settings = {"model": model, "method": method, "seed": seed}
    if epochs is not None:
        arm_settings["epochs"] = epochs
    if isinstance(train_config, TrainConfig):   # what compare passes (max_val applied already)
        overrides = train_config.merged(arm_settings)
    else:
        overrides = {**(train_config or {}), **arm_settings}
        if max_val:
            overrides.setdefault("max_eval_examples", max_val)
    run_dir = Path(run_dir)
    marker = run_dir / "compare-inputs.json"
    state = _run_state(run_dir)
    same = marker.is_file() and json.loads(marker.read_text()).get("hash") == inputs_hash
    if state == "broken" or (state != "absent" and not same):
        shutil.rmtree(run_dir)   # ours (OUT/runs/<arm>): other inputs, or died before a checkpoint
        state = "absent"
    if state == "done":
        say(f"{name}: reusing the finished training run in {run_dir}")
        info = training.read_run(run_dir)
    elif state == "unfinished":
        say(f"{name}: resuming the unfinished training run in {run_dir}")
        info = training.train(resume=str(run_dir), say=say, progress=progress).to_dict()
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        from tunewise.fileio import write_json
        write_json(marker, {"hash": inputs_hash})
        info = training.train(list(train), val=list(val) if val else None, task=task,
                              config=overrides,
                              out=str(run_dir), say=say, progress=progress).to_dict()
    lm, _ = training.load_run(run_dir)
    if hasattr(lm.model, "merge_and_unload"):   # serve as deployed: LoRA folded into the weights
        lm.model = lm.model.merge_and_unload()
    warm_up(task, lm, test, bf16=bf16)
    t0 = time.perf_counter()
    preds = predict_mod.predict(task, lm, list(test), batch_size=batch_size, bf16=bf16,
                                progress=progress)
    elapsed = time.perf_counter() - t0
    _write_predictions(predictions_path, test, task, preds)
    n = max(len(preds), 1)
    tim = info.get("timing", {}) or {}
    tokens = info.get("tokens", {}) or {}
    run = training.read_run(run_dir)
    planned = (overrides.epochs or None) if isinstance(overrides, TrainConfig) \
        else overrides.get("epochs")
    used_epochs = len(info.get("history") or []) or planned
    return _record(name, "finetune", [p.pred for p in preds], train_size=len(train), seed=seed,
                   run_dir=str(run_dir), epochs=used_epochs,
                   planned_epochs=run.get("epochs"), budget=run.get("budget"),
                   model_selection=run.get("model_selection"), val_size=run.get("n_val"),
                   best_epoch=info.get("best_epoch"), val_metrics=info.get("metrics"),
                   timing={"examples_per_second": len(preds) / max(elapsed, 1e-9),
                           "seconds": elapsed, "hardware": "cpu",
                           "train_seconds": tim.get("train_seconds"),
                           "train_examples_per_second": tim.get("train_examples_per_second")},
                   tokens={"prompt": sum(p.tokens_in for p in preds) / n,
                           "output": sum(p.tokens_out for p in preds) / n,
                           "train_total": tokens.get("tokens")})


def _run_state(run_dir: Path) -> str:
    """"absent", "done" (finished), "unfinished" (has a checkpoint to resume) or "broken"."""
    import json
    p = Path(run_dir)
    if not p.exists():
        return "absent"
    try:
        info = json.loads((p / "run.json").read_text())
    except (OSError, ValueError):
        info = {}
    if info.get("status") == "done":
        return "done"
    ck = p / "checkpoints"
    return "unfinished" if ck.is_dir() and any(ck.iterdir()) else "broken"
