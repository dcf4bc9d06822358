"""With CUDA pretended present (tests/fake_cuda.py), eval and compare load every model onto the
GPU the policy picked, and compare's fine-tuning trains there; `--device cpu` keeps them on the CPU.
(Training alone: tests/test_device_policy.py; serving: tests/test_serve_device.py.)"""
from __future__ import annotations

import json

from tests.fake_cuda import fake_cuda
from tests.test_train_recipe import make_examples


def test_eval_loads_the_model_onto_the_gpu(monkeypatch):
    import tunewise
    fake = fake_cuda(monkeypatch)
    res = tunewise.evaluate(make_examples(12), model="tiny-random", progress=False,
                            n_resamples=100)
    assert fake.modules_moved() == ["cuda:0"]
    assert 0 <= float(res.metrics["accuracy"]) <= 1


def test_use_device_cpu_overrides_auto_on_a_gpu_machine(monkeypatch):
    import tunewise
    from tunewise.models.device import use_device
    fake = fake_cuda(monkeypatch)
    with use_device("cpu"):
        tunewise.evaluate(make_examples(12), model="tiny-random", progress=False,
                          n_resamples=100)
    assert fake.modules_moved() == []


def test_compare_places_prompting_and_fine_tuning_on_the_gpu(tmp_path, monkeypatch):
    import tunewise
    from tunewise.data.formats.writers import write_chat_jsonl
    fake = fake_cuda(monkeypatch, name="NVIDIA L4")
    write_chat_jsonl(tmp_path / "data.jsonl", make_examples(60))
    (tmp_path / "c.yaml").write_text(
        "data: {path: data.jsonl}\nmodel: {name: tiny-random}\n"
        "arms: {k_shot: [], fine_tune: {sizes: [8], seeds: 1, epochs: 1}}\n"
        "n_resamples: 100\ncost: {price: null}\n")
    tunewise.compare(str(tmp_path / "c.yaml"), out=tmp_path / "out", say=lambda m: None,
                     progress=False)
    assert fake.modules_moved() and set(fake.modules_moved()) == {"cuda:0"}
    runs = list((tmp_path / "out").rglob("run.json"))
    assert runs, "the fine-tuning arm left no run folder"
    for run in runs:
        assert json.loads(run.read_text())["hardware"]["device"] == "cuda:0"
    # the cost is priced on the GPU it was measured on, and says so
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    pricing = results["cost"]["pricing"]
    assert pricing["name"] == "l4" and pricing["measured_on"] == "cuda:0 (NVIDIA L4)"
    assert "measured on cuda:0 (NVIDIA L4)" in (tmp_path / "out" / "report.md").read_text()


def test_compute_entry_follows_the_device(monkeypatch):
    import pytest
    import torch
    from tunewise.cost.compute_entry import compute_for_device, resolve_compute
    from tunewise.errors import UsageError
    assert compute_for_device(torch.device("cpu")) == "cpu-2core"
    assert compute_for_device(torch.device("mps")) == "apple-laptop"
    for gpu, entry in (("NVIDIA H100 80GB HBM3", "h100-80gb"), ("Tesla T4", "t4"),
                       ("NVIDIA A10G", "a10g"), ("NVIDIA A100-SXM4-40GB", "a100-40gb")):
        monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, g=gpu, **k: g)
        assert compute_for_device(torch.device("cuda", 0)) == entry
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a, **k: "Radeon Mystery")
    with pytest.raises(UsageError, match="no price entry"):
        resolve_compute("auto", torch.device("cuda", 0))
    assert resolve_compute("h100", torch.device("cuda", 0)) == "h100"
