"""The data-scaled training budget (``epochs: auto``) and model selection by data size."""
from __future__ import annotations

import json

import pytest

from tunewise.errors import ConfigError
from tunewise.tasks import ClassificationTask
from tunewise.training import train
from tunewise.training.config import TrainConfig, load_config

from test_train_recipe import FAST, make_examples


def test_auto_budget_gives_small_sets_more_passes_capped_and_large_sets_fewer():
    cfg = TrainConfig()        # epochs auto: 64 x sqrt(n) examples seen, 2 to 16 epochs
    assert cfg.epochs == 0
    got = {n: cfg.epochs_for(n) for n in (1, 8, 16, 20, 64, 230, 256, 300, 922, 1024, 50_000)}
    assert got == {1: 16, 8: 16, 16: 16, 20: 14, 64: 8, 230: 4, 256: 4, 300: 4, 922: 2,
                   1024: 2, 50_000: 2}
    # monotone: more data never gets more passes, but never fewer examples seen
    ns = sorted(got)
    assert all(got[a] >= got[b] for a, b in zip(ns, ns[1:]))
    assert all(a * got[a] <= b * got[b] for a, b in zip(ns[2:], ns[3:])), got
    # the examples seen grow as budget_scale x sqrt(n), within half an epoch, unless clamped
    for n in (40, 64, 100, 256, 511, 900):
        assert abs(n * cfg.epochs_for(n) - 64 * n ** 0.5) <= n / 2
    assert TrainConfig(budget_scale=128).epochs_for(256) == 8
    # min_examples_seen brings back the linear rule: at least that many examples seen
    small = TrainConfig(min_examples_seen=100, max_epochs=4, min_epochs=1)
    assert [small.epochs_for(n) for n in (10, 30, 50, 100, 101)] == [4, 4, 2, 1, 1]
    # the floor: never fewer than min_epochs passes, and the cap wins when they conflict
    assert TrainConfig(min_epochs=3).epochs_for(10_000) == 3
    assert TrainConfig(min_epochs=5, max_epochs=4).epochs_for(10_000) == 4


def test_explicit_epochs_override_the_budget_and_auto_parses():
    assert TrainConfig(epochs=3).epochs_for(16) == 3
    assert TrainConfig(epochs=3).epochs_for(10_000) == 3
    assert load_config(None, {"epochs": "auto"}).epochs == 0
    assert load_config(None, {"epochs": "AUTO", "max_epochs": 5}).epochs_for(2) == 5
    assert "auto budget" in TrainConfig().budget_text(64)
    with pytest.raises(ConfigError) as e:
        load_config(None, {"epochs": -1, "max_epochs": 0, "min_examples_seen": -1,
                           "min_epochs": 0, "budget_scale": 0})
    text = str(e.value.problems)
    assert "epochs" in text and "max_epochs" in text and "min_examples_seen" in text
    assert "budget_scale" in text
    assert "min_epochs" in text
    with pytest.raises(ConfigError):
        load_config(None, {"epochs": "lots"})


def test_small_data_trains_on_everything_without_validation(tmp_path):
    """Below min_val_carve: nothing carved, the fixed budget runs in full (no early stopping),
    the last epoch is kept, and the log and run.json say so."""
    task = ClassificationTask(["negative", "positive"])
    said: list[str] = []
    exs = make_examples(12)
    res = train(exs, out=tmp_path / "small", task=task, min_examples_seen=30, max_epochs=16,
                patience=1, lr=5e-3, say=said.append, progress=False, **FAST)
    info = json.loads((tmp_path / "small" / "run.json").read_text())
    assert info["n_train"] == 12 and info["n_val"] == 0 and not info["val_carved"]
    assert info["n_labelled"] == 12
    assert info["epochs"] == 3 and info["epochs_run"] == 3       # ceil(30 / 12), not stopped
    assert res.best_epoch == 3 and not res.stopped_early
    assert info["model_selection"].startswith("no validation")
    assert "min_val_carve 512" in info["model_selection"]
    assert any(m.startswith("model selection: no validation") for m in said)
    assert any("3 epoch(s) by the auto budget" in m for m in said)
    assert (tmp_path / "small" / "data" / "val.jsonl").read_text() == ""
    assert (tmp_path / "small" / "adapter" / "adapter_model.safetensors").exists()


def test_from_the_threshold_on_validation_is_carved_and_the_best_epoch_kept(tmp_path):
    task = ClassificationTask(["negative", "positive"])
    said: list[str] = []
    exs = make_examples(20)
    train(exs, out=tmp_path / "big", task=task, min_val_carve=20, val_fraction=0.2,
          min_examples_seen=16, say=said.append, progress=False, **FAST)
    info = json.loads((tmp_path / "big" / "run.json").read_text())
    assert info["val_carved"] and info["n_val"] == 4 and info["n_train"] == 16
    assert info["n_labelled"] == 20 and info["epochs"] == 2     # ceil(16 / 16), min_epochs 2
    assert info["model_selection"].startswith("best epoch on validation (4 examples carved")
    assert any(m.startswith("model selection: best epoch on validation") for m in said)


@pytest.mark.parametrize("kind", ["ner", "generation"])
def test_ner_and_generation_use_the_same_budget_and_selection(tmp_path, kind):
    from tunewise.data.records import Entity, Example
    from tunewise.tasks import make_task
    exs = []
    for i in range(10):
        if kind == "ner":
            toks = ["Ann", "visits", "Paris", f"t{i}"]
            exs.append(Example.from_text(" ".join(toks), tokens=toks,
                                         entities=[Entity("PER", 0, 1, "Ann"),
                                                   Entity("LOC", 2, 3, "Paris")]))
        else:
            exs.append(Example.from_text(f"say {i} twice", f"{i} {i}"))
    task = make_task(kind, exs)
    train(exs, out=tmp_path / kind, task=task, min_examples_seen=20, say=lambda m: None,
          progress=False, **FAST)
    info = json.loads((tmp_path / kind / "run.json").read_text())
    assert info["epochs"] == 2 and info["epochs_run"] == 2 and info["n_val"] == 0
    assert info["model_selection"].startswith("no validation")
