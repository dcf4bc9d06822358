"""The device policy (issue #19), tested on a CPU-only machine: which device and precision each
combination picks, errors for devices this machine lacks, `tunewise doctor`, training placed on a
(pretend) GPU, fp16 with loss scaling, gradient checkpointing, `batch_size: auto` under injected
out-of-memory errors. See tests/fake_cuda.py for what the pretend GPU can and cannot show."""
from __future__ import annotations

import json

import pytest
import torch

from tests.fake_cuda import fake_cuda
from tests.test_train_recipe import FAST, make_examples
from tunewise.models import device as dev


# -- which device, which precision, which tricks --------------------------------------------------
@pytest.mark.parametrize("cuda,bf16,mps,spec,want_device,want_precision", [
    (False, False, False, "auto", "cpu", None),
    (True, True, False, "auto", "cuda:0", "bf16"),
    (True, False, False, "auto", "cuda:0", "fp16"),
    (True, True, True, "auto", "cuda:0", "bf16"),      # CUDA before MPS
    (False, False, True, "auto", "mps", None),
    (True, True, False, "cpu", "cpu", None),           # an explicit CPU on a GPU machine
    (True, True, False, "cuda", "cuda:0", "bf16"),
    (True, True, False, "CUDA:0", "cuda:0", "bf16"),
])
def test_device_and_precision_choice(monkeypatch, cuda, bf16, mps, spec, want_device,
                                     want_precision):
    monkeypatch.setattr(dev, "cuda_count", lambda: 1 if cuda else 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(dev, "mps_available", lambda: mps)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(dev, "cpu_supports_bf16", lambda: False)
    d = dev.resolve_device(spec)
    assert (str(d) if d.type != "cuda" else f"cuda:{d.index}") == want_device
    if d.type == "mps":
        return                                  # bf16 on MPS is asked of the real backend
    precision = dev.training_precision(d)
    assert precision == (want_precision or "fp32")
    assert dev.grad_scaler(d, precision).is_enabled() == (precision == "fp16" and cuda)
    plan = dev.speed_plan(d, precision, method="lora")
    assert plan.gap_dropout == plan.eager_attention == (d.type == "cpu")
    assert not plan.frozen_bf16 and not plan.gradient_checkpointing


def test_cpu_tricks_stay_on_by_default_and_each_switch_turns_one_off():
    cpu = torch.device("cpu")
    plan = dev.speed_plan(cpu, "bf16", method="lora")
    assert plan.to_dict() == {"gap_dropout": True, "frozen_bf16": True, "eager_attention": True,
                              "gradient_checkpointing": False}
    assert dev.speed_plan(cpu, "bf16", method="lora", gap_dropout=False).gap_dropout is False
    assert dev.speed_plan(cpu, "bf16", method="lora", frozen_bf16="false").frozen_bf16 is False
    assert dev.speed_plan(cpu, "fp32", method="lora").frozen_bf16 is False   # nothing to twin
    assert "on: geometric-gap dropout" in plan.describe()
    gpu = torch.device("cuda", 0)
    assert dev.speed_plan(gpu, "bf16", method="lora", n_params=7_000_000_000).gradient_checkpointing
    assert not dev.speed_plan(gpu, "bf16", method="lora", n_params=500_000_000,
                              ).gradient_checkpointing


@pytest.mark.parametrize("spec,needle", [("cuda", "no CUDA GPU"), ("cuda:1", "no CUDA GPU"),
                                         ("mps", "MPS"), ("tpu", "unknown device")])
def test_a_device_this_machine_lacks_is_an_error(monkeypatch, spec, needle):
    monkeypatch.setattr(dev, "cuda_count", lambda: 0)
    monkeypatch.setattr(dev, "mps_available", lambda: False)
    with pytest.raises(dev.DeviceError, match=needle) as e:
        dev.resolve_device(spec)
    assert e.value.exit_code == 2 and e.value.fix


def test_cuda_index_past_the_last_gpu(monkeypatch):
    monkeypatch.setattr(dev, "cuda_count", lambda: 2)
    with pytest.raises(dev.DeviceError, match="cuda:0 .. cuda:1"):
        dev.resolve_device("cuda:2")


def test_fp16_on_the_cpu_is_refused():
    with pytest.raises(dev.DeviceError, match="no fp16 math"):
        dev.training_precision(torch.device("cpu"), "fp16")


def test_out_of_memory_is_recognised_for_every_backend():
    assert dev.is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate"))
    assert dev.is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 1 GB)"))
    assert dev.is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory"))
    assert not dev.is_out_of_memory(RuntimeError("shape mismatch"))


# -- the CLI -------------------------------------------------------------------------------------
def _train_file(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": ex.input}, {"role": "assistant", "content": ex.answer}]})
        + "\n" for ex in make_examples(24)))
    return path


@pytest.mark.parametrize("flags,needle", [
    (["--device", "cuda"], "no CUDA GPU"),
    (["--device", "cuda:3"], "no CUDA GPU"),
    (["--device", "tpu"], "device: 'tpu'"),
    (["--quantize", "4bit"], "needs a CUDA GPU"),
    (["--quantize", "4bit", "--method", "full"], "QLoRA"),
])
def test_train_on_a_device_this_machine_lacks_exits_2(tmp_path, cli, flags, needle):
    r = cli("train", "--train", str(_train_file(tmp_path)), "--model", "tiny-random",
            "-o", str(tmp_path / "run"), *flags)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in r.stderr and "fix:" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run" / "adapter").exists()


def test_doctor_json_reports_the_policy(cli):
    r = cli("doctor", "--json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["auto"]["device"] == str(dev.resolve_device("auto"))
    assert rep["devices"][0]["device"] == "cpu" and rep["devices"][0]["memory_gib"] > 0
    assert rep["auto"]["precision"] in ("bf16", "fp32")
    assert "bytes per parameter" in rep["rule"]
    assert set(rep["extras"]) >= {"gpu (QLoRA)", "ray (trials on a cluster)"}
    assert r.stdout.count("\n") > 10 and "auto" in rep


def test_doctor_with_a_gpu_picks_it_and_sizes_models_by_the_rule(monkeypatch):
    from tunewise.models.doctor import GIB, LORA_GPU_BYTES, QLORA_BYTES, RESERVE_GIB, doctor
    fake_cuda(monkeypatch, bf16=False, memory_gib=24)
    rep = doctor()
    gpu = rep["devices"][1]
    assert rep["auto"]["device"] == "cuda:0" and rep["auto"]["precision"] == "fp16"
    assert rep["auto"]["loss_scaling"] is True
    assert gpu["lora_max_params"] == int((24 - RESERVE_GIB) * GIB / LORA_GPU_BYTES)
    assert gpu["qlora_max_params"] == int((24 - RESERVE_GIB) * GIB / QLORA_BYTES)
    assert 7e9 < gpu["lora_max_params"] < 12e9        # a 7B LoRA fits a 24 GB card
    assert not any(rep["auto"]["speed_tricks"].values())


# -- training on a (pretend) GPU -----------------------------------------------------------------
@pytest.mark.parametrize("bf16", [True, False])
def test_training_places_model_and_every_batch_on_the_gpu(tmp_path, monkeypatch, bf16):
    from tunewise.training import train
    fake = fake_cuda(monkeypatch, bf16=bf16)
    scaled = []
    real_scale = torch.amp.GradScaler.scale
    monkeypatch.setattr(torch.amp.GradScaler, "scale",
                        lambda self, x: (scaled.append(self.is_enabled()), real_scale(self, x))[1])
    said = []
    train(make_examples(24), out=tmp_path / "run", epochs=1, progress=False, say=said.append,
          **{**FAST, "precision": "auto", "batch_size": 8})
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    hw = info["hardware"]
    assert hw["device"] == "cuda:0" and hw["device_name"] == "Fake GPU"
    assert hw["precision"] == ("bf16" if bf16 else "fp16")
    assert hw["loss_scaling"] is (not bf16)
    assert scaled and all(s == (not bf16) for s in scaled)   # fp16: every loss went through it
    assert not any(hw["speed"].values())                     # the CPU tricks are off on a GPU
    assert fake.modules_moved() and set(fake.modules_moved()) == {"cuda:0"}
    # 3 steps of 8, each batch's input ids, attention mask and labels sent to the GPU
    assert fake.tensors_moved() >= 3 * 3
    assert all(d == "cuda:0" for _kind, d in fake.moves)
    assert any("device cuda:0 (Fake GPU)" in m for m in said)
    # the peak memory comes from the CUDA allocator's counters, reset when the run began:
    # 612 MiB at the peak - 100 MiB allocated at the start
    assert fake.resets >= 1 and info["timing"]["peak_memory_mb"] == 512.0


def test_gradient_checkpointing_gives_the_same_loss_and_gradients(tiny, task):
    from tests.test_train_recipe import _lora_with_random_b
    from tunewise.training.batching import collate, encode_examples
    from tunewise.training.loss import AnswerLoss
    from tunewise.training.model_setup import gradient_checkpointing
    lm, model = _lora_with_random_b()
    batch = collate(encode_examples(task, lm.tokenizer, make_examples(6), max_length=128),
                    lm.tokenizer.pad_token_id)
    model.train()

    def loss_and_grads():
        model.zero_grad()
        loss, n = AnswerLoss(model)(**batch)
        (loss / n).backward()
        return float(loss.detach()), {k: p.grad.clone() for k, p in model.named_parameters()
                             if p.requires_grad}

    plain_loss, plain = loss_and_grads()
    gradient_checkpointing(model)
    assert model.get_base_model().is_gradient_checkpointing
    ckpt_loss, ckpt = loss_and_grads()
    assert ckpt_loss == pytest.approx(plain_loss, rel=1e-6)
    for k in plain:
        assert torch.allclose(plain[k], ckpt[k], atol=1e-6), k


@pytest.fixture
def task():
    from tunewise.tasks import ClassificationTask
    return ClassificationTask(["negative", "positive"])


def _oom_above(monkeypatch, rows: int):
    """AnswerLoss fails with an out-of-memory error on micro-batches of more than ``rows``."""
    from tunewise.training.loss import AnswerLoss
    real = AnswerLoss.forward
    calls = []

    def forward(self, input_ids, *a, **k):
        calls.append(input_ids.shape[0])
        if self.training and input_ids.shape[0] > rows:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, input_ids, *a, **k)
    monkeypatch.setattr(AnswerLoss, "forward", forward)
    return calls


def test_auto_batch_halves_after_out_of_memory_and_records_it(tmp_path, monkeypatch):
    from tunewise.training import train
    _oom_above(monkeypatch, 2)
    res = train(make_examples(24), out=tmp_path / "run", epochs=1, progress=False, say=lambda m: None,
                **{**FAST, "batch_size": "auto", "share_prefix": False})
    batch = json.loads((tmp_path / "run" / "run.json").read_text())["hardware"]["batch"]
    assert batch["auto"] and batch["effective"] == 8
    assert batch["micro"] == 2 and batch["grad_accum"] == 4     # 8 -> 4 -> 2, still 8 a step
    assert [h["micro_batch"] for h in batch["halvings"]] == [4, 2]
    assert res.timing["train_examples"] == 24                    # every example trained once


def test_out_of_memory_with_a_fixed_batch_names_the_knobs(tmp_path, monkeypatch):
    from tunewise.errors import TrainingError
    from tunewise.training import train
    _oom_above(monkeypatch, 2)
    with pytest.raises(TrainingError) as e:
        train(make_examples(24), out=tmp_path / "run", epochs=1, progress=False,
              say=lambda m: None, **{**FAST, "batch_size": 8, "share_prefix": False})
    text = e.value.message + " " + e.value.fix
    for knob in ("--batch-size auto", "--grad-accum", "--gradient-checkpointing true",
                 "--max-length"):
        assert knob in text
    assert "out of memory" in e.value.message


def test_training_with_checkpointing_and_the_cpu_tricks_matches_training_without(tmp_path):
    """The whole recipe (eager attention, shared prefix, geometric dropout at rate 0) with
    gradient checkpointing: it runs, says so, and its losses equal the run without."""
    from tunewise.training import train

    def losses(name, **extra):
        said = []
        train(make_examples(24), out=tmp_path / name, epochs=2, progress=False, say=said.append,
              **{**FAST, "lora_dropout": 0.0, "log_every": 1, **extra})
        rows = [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").open()]
        return [r["loss"] for r in rows if r["kind"] == "train"], said

    # with every default trick (the prefix row steps aside for checkpointing: it crashed the
    # recomputation), then without the shared prefix, for an exact comparison
    ckpt_default, said = losses("ckpt-default", gradient_checkpointing="true")
    assert any("gradient checkpointing" in m.split("off:")[0] for m in said if "speed tricks" in m)
    info = json.loads((tmp_path / "ckpt-default" / "run.json").read_text())
    assert info["hardware"]["speed"]["gradient_checkpointing"] is True
    plain, _ = losses("plain", share_prefix=False)
    ckpt, _ = losses("ckpt", share_prefix=False, gradient_checkpointing="true")
    assert len(ckpt) == len(plain) == len(ckpt_default) > 4
    assert ckpt == pytest.approx(plain, rel=1e-4)
    assert ckpt_default == pytest.approx(plain, rel=2e-2)
