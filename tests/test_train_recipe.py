"""The training recipe on tiny-random: LoRA/full, shared-prefix loss, early stopping, merge."""
from __future__ import annotations

import json
import random

import pytest
import torch
from safetensors.torch import load_file

from tunewise.data.records import Example
from tunewise.tasks import ClassificationTask
from tunewise.training import load_run, merge_run, train
from tunewise.training.batching import collate, encode_examples
from tunewise.training.config import LoraConfig, TrainConfig
from tunewise.training.recipe import AnswerLoss, prepare_model

FAST = dict(model="tiny-random", batch_size=4, checkpoint_every=0, seed=0, precision="fp32",
            eval_batch_size=16)


def make_examples(n=32, seed=0):
    rng = random.Random(seed)
    good, bad = ["great", "lovely", "superb", "fine"], ["awful", "dull", "poor", "bad"]
    out = []
    for i in range(n):
        lab = "positive" if i % 2 else "negative"
        w = rng.choice(good if lab == "positive" else bad)
        out.append(Example.from_text(f"a {w} film, take {i}", lab, label=lab,
                                     meta={"source": "syn.jsonl", "line": i + 1}))
    return out


def quiet(_msg):
    pass


@pytest.fixture
def task():
    return ClassificationTask(["negative", "positive"])


def _lora_with_random_b():
    """tiny-random with deterministic LoRA adapters (no dropout) whose B is not zero, so the
    adapters change the loss and get gradients: (loaded model, PEFT model)."""
    from tunewise.models import load_model
    lm = load_model("tiny-random")
    model = prepare_model(lm.model, TrainConfig(model="tiny-random", lora=LoraConfig(dropout=0.0)))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
    return lm, model


def test_shared_prefix_loss_and_grads_equal_per_example(tiny, task):
    """Running the shared prompt prefix once per batch changes nothing but the cost."""
    lm, model = _lora_with_random_b()
    enc = encode_examples(task, lm.tokenizer, make_examples(5), max_length=128)
    loss_fn = AnswerLoss(model)
    results = []
    for share in (False, True):
        b = collate(enc, lm.tokenizer.pad_token_id, share_prefix=share)
        model.zero_grad()
        loss, n = loss_fn(**b)
        loss.backward()
        results.append((loss.item(), int(n), b.get("prefix_len", 0),
                        {k: p.grad.clone() for k, p in model.named_parameters() if p.requires_grad}))
    (l0, n0, p0, g0), (l1, n1, p1, g1) = results
    assert p0 == 0 and p1 > 10          # the system prompt really was shared
    # the per-example loss, computed one example at a time, matches too
    single = sum(loss_fn(**collate([e], lm.tokenizer.pad_token_id))[0].item() for e in enc)
    assert n0 == n1 == sum(e.n_trained for e in enc)
    assert l1 == pytest.approx(l0, rel=1e-5) and single == pytest.approx(l0, rel=1e-5)
    for k in g0:
        assert torch.allclose(g0[k], g1[k], atol=1e-5, rtol=1e-4), k


def test_lora_changes_adapter_not_base_weights(tmp_path, task):
    from tunewise.models import load_model
    fresh = load_model("tiny-random").model.state_dict()
    res = train(make_examples(), out=tmp_path / "run", task=task, epochs=1, lr=5e-3, say=quiet,
                progress=False, **FAST)
    assert res.params["trainable"] < res.params["total"] / 10
    model = res.lm.model
    changed_lora = 0
    for name, p in model.named_parameters():
        if "lora_" in name:
            assert p.requires_grad
            changed_lora += int("lora_B" in name and p.abs().sum() > 0)  # B starts at zero
        else:
            assert not p.requires_grad
            base_name = name.replace("base_model.model.", "").replace(".base_layer", "")
            assert torch.equal(p.detach(), fresh[base_name]), f"base weight {name} changed"
    assert changed_lora >= 2
    saved = load_file(str(tmp_path / "run" / "adapter" / "adapter_model.safetensors"))
    assert saved and all("lora_" in k for k in saved)
    # the saved adapter, loaded back, gives the same outputs as the in-memory model
    lm2, task2 = load_run(tmp_path / "run")
    assert task2.to_config() == task.to_config()
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        model.eval()
        assert torch.allclose(model(ids).logits, lm2.model(ids).logits, atol=1e-5)


def test_full_fine_tuning_saves_a_model(tmp_path, task):
    from tunewise.models import load_model
    fresh = load_model("tiny-random").model.state_dict()
    res = train(make_examples(16), out=tmp_path / "full", task=task, epochs=1, method="full",
                lr=1e-3, say=quiet, progress=False, **FAST)
    assert res.params["trainable"] == res.params["total"]
    run = tmp_path / "full"
    assert (run / "model" / "model.safetensors").exists() and not (run / "adapter").exists()
    lm, _ = load_run(run)
    new = lm.model.state_dict()
    assert any(not torch.equal(new[k], fresh[k]) for k in fresh if k in new)
    assert json.loads((run / "run.json").read_text())["method"] == "full"


def test_early_stopping_keeps_the_best_epoch(tmp_path, task, monkeypatch):
    """Validation accuracy goes 0.5, 0.9, 0.6, 0.4: patience 2 stops after epoch 4 and the
    weights of epoch 2 are the ones saved."""
    from tunewise.tasks.base import Prediction
    from tunewise.training import checkpoint, recipe
    scores = iter([0.5, 0.9, 0.6, 0.4, 0.3])
    snapshots = []

    def fake_predict(task_, lm, examples, *, batch_size, bf16):
        snapshots.append(checkpoint.trainable_state(lm.model))
        acc = next(scores)
        n_right = round(acc * len(examples))
        return [Prediction(gold=task_.gold(ex), pred=task_.gold(ex) if i < n_right else None)
                for i, ex in enumerate(examples)]
    monkeypatch.setattr(recipe, "predict_examples", fake_predict)
    exs = make_examples(20)
    res = train(exs[:10], val=exs[10:], out=tmp_path / "es", task=task, epochs=5, patience=2,
                lr=5e-3, say=quiet, progress=False, **FAST)
    assert len(snapshots) == 4 and res.stopped_early
    assert res.best_epoch == 2 and res.metrics["accuracy"] == pytest.approx(0.9)
    saved = load_file(str(tmp_path / "es" / "adapter" / "adapter_model.safetensors"))
    best, last = snapshots[1], snapshots[3]

    def same(snap):
        return all(torch.allclose(saved[_peft_key(k)], v) for k, v in snap.items())
    assert same(best) and not same(last)
    info = json.loads((tmp_path / "es" / "run.json").read_text())
    assert info["best_epoch"] == 2 and info["epochs_run"] == 4 and info["status"] == "done"
    evals = [json.loads(r) for r in (tmp_path / "es" / "metrics.jsonl").read_text().splitlines()
             if '"eval"' in r]
    assert [r["accuracy"] for r in evals] == pytest.approx([0.5, 0.9, 0.6, 0.4])


def _peft_key(name: str) -> str:
    # PEFT saves "base_model.model.X.lora_A.weight" for parameter "base_model.model.X.lora_A.default.weight"
    return name.replace(".default", "")


def test_merge_writes_a_plain_model_with_the_same_outputs(tmp_path, task):
    res = train(make_examples(12), out=tmp_path / "m", task=task, epochs=1, lr=5e-3, say=quiet,
                progress=False, **FAST)
    merged = merge_run(res.run_dir)
    assert (merged / "model.safetensors").exists() and (merged / "tokenizer.json").exists()
    from tunewise.models import load_model
    plain = load_model(str(merged))
    lm, _ = load_run(res.run_dir)
    ids = torch.tensor([[1, 5, 9, 20]])
    with torch.no_grad():
        assert torch.allclose(plain.model(ids).logits, lm.model(ids).logits, atol=1e-4)


def test_carved_validation_is_stratified_and_recorded(tmp_path, task):
    exs = make_examples(40)
    res = train(exs, out=tmp_path / "c", task=task, epochs=1, val_fraction=0.2, say=quiet,
                min_val_carve=40, progress=False, **FAST)
    info = json.loads((tmp_path / "c" / "run.json").read_text())
    assert info["val_carved"] and info["n_val"] == 8 and info["n_train"] == 32
    val = [json.loads(l) for l in (tmp_path / "c" / "data" / "val.jsonl").read_text().splitlines()]
    assert sorted(v["label"] for v in val) == ["negative"] * 4 + ["positive"] * 4
    train_rows = (tmp_path / "c" / "data" / "train.jsonl").read_text()
    assert all(json.dumps(v["messages"][0]["content"]) not in train_rows for v in val)
    assert res.history[0]["epoch"] == 1


def test_eager_attention_gives_the_loss_and_gradients_of_sdpa(task):
    """Training on CPU switches to eager attention for speed: same loss and gradients."""
    lm, model = _lora_with_random_b()
    b = collate(encode_examples(task, lm.tokenizer, make_examples(6), max_length=128),
                lm.tokenizer.pad_token_id, share_prefix=True)
    out = {}
    for impl in ("sdpa", "eager"):
        model.get_base_model().set_attn_implementation(impl)
        model.zero_grad()
        loss, _n = AnswerLoss(model)(**b)
        loss.backward()
        out[impl] = (loss.item(), [p.grad.clone() for p in model.parameters() if p.requires_grad])
    assert out["eager"][0] == pytest.approx(out["sdpa"][0], rel=1e-4)
    for g1, g2 in zip(out["sdpa"][1], out["eager"][1]):
        assert torch.allclose(g1, g2, atol=1e-4, rtol=1e-3)


def test_training_steps_use_eager_attention_and_restore_it(tmp_path, task, monkeypatch):
    seen, said = [], []
    forward = AnswerLoss.forward

    def spy(self, *a, **k):
        seen.append(self.model.get_base_model().config._attn_implementation)
        return forward(self, *a, **k)
    monkeypatch.setattr(AnswerLoss, "forward", spy)
    res = train(make_examples(16), task=task, out=tmp_path / "run", epochs=1, say=said.append,
                progress=False, **FAST)
    assert seen and set(seen) == {"eager"}
    assert res.lm.model.get_base_model().config._attn_implementation == "sdpa"
    assert any("speed tricks on:" in m and "eager attention" in m.split("off:")[0] for m in said)


def test_bf16_lora_steps_hold_frozen_weights_in_bf16_and_give_them_back_exactly(tmp_path, task,
                                                                                monkeypatch):
    """In bf16 LoRA training the frozen weights are bf16 during the steps only; evaluation and
    the trained model see the original fp32 weights, bit for bit."""
    from tunewise.models import load_model
    before = {n: p.detach().clone() for n, p in load_model("tiny-random").model.named_parameters()}
    seen = []
    forward = AnswerLoss.forward

    def spy(self, *a, **k):
        if torch.is_grad_enabled():     # a training step (not use_prefix_row's no-grad check)
            seen.append({p.dtype for p in self.model.parameters() if not p.requires_grad})
        return forward(self, *a, **k)
    monkeypatch.setattr(AnswerLoss, "forward", spy)
    res = train(make_examples(16), task=task, out=tmp_path / "run", epochs=2, say=quiet,
                progress=False, **{**FAST, "precision": "bf16"})
    assert seen and all(s == {torch.bfloat16} for s in seen)
    base = res.lm.model.get_base_model()
    for n, p in base.named_parameters():
        if "lora_" in n:
            assert p.dtype == torch.float32
            continue
        key = n.replace(".base_layer", "")
        assert p.dtype == torch.float32 and torch.equal(p, before[key]), n


def _loss_and_grads(model, loss_fn, batch):
    model.zero_grad()
    loss, _n = loss_fn(**batch)
    loss.backward()
    return loss.item(), {k: p.grad.clone() for k, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("impl", ["eager", "sdpa"])
def test_prefix_as_a_batch_row_gives_the_loss_and_gradients_of_unshared_rows(task, impl):
    """The shared prefix run as row 0 of the same pass: the loss and gradients of the rows run
    whole, with rows of different lengths (padding) and any attention the model was set to."""
    lm, model = _lora_with_random_b()
    model.get_base_model().set_attn_implementation(impl)
    ex = make_examples(6)
    ex[2] = Example.from_text("a much longer review of the film " * 4, "positive",
                              label="positive", meta={"source": "syn.jsonl", "line": 99})
    enc = encode_examples(task, lm.tokenizer, ex, max_length=256)
    pad = lm.tokenizer.pad_token_id
    loss_fn = AnswerLoss(model)
    whole = _loss_and_grads(model, loss_fn, collate(enc, pad))
    shared = collate(enc, pad, share_prefix=True)
    assert shared["prefix_len"] > 10
    assert loss_fn.use_prefix_row(shared) is True
    one_pass = _loss_and_grads(model, loss_fn, shared)
    assert one_pass[0] == pytest.approx(whole[0], rel=1e-5)
    for k, g in whole[1].items():
        assert torch.allclose(one_pass[1][k], g, atol=1e-5, rtol=1e-4), k
    # the model's own attention setting is back after the pass
    assert model.get_base_model().config._attn_implementation == impl


def test_prefix_row_is_not_used_when_it_would_change_the_loss(task, monkeypatch):
    """use_prefix_row checks on a batch and keeps the two-pass form if the one pass differs
    (a model whose attention it does not fit) or fails."""
    from tunewise.training import prefix_row
    lm, model = _lora_with_random_b()
    batch = collate(encode_examples(task, lm.tokenizer, make_examples(4), max_length=128),
                    lm.tokenizer.pad_token_id, share_prefix=True)
    loss_fn = AnswerLoss(model)
    real = prefix_row.body_hidden
    monkeypatch.setattr(prefix_row, "body_hidden", lambda *a: real(*a).roll(1, dims=1))
    assert loss_fn.use_prefix_row(batch) is False and loss_fn.prefix_row is False

    def broken(*a):
        raise TypeError("unexpected keyword argument 'prefix_row'")
    monkeypatch.setattr(prefix_row, "body_hidden", broken)
    assert loss_fn.use_prefix_row(batch) is False
    loss_fn(**batch)        # the two-pass form still runs
    assert model.training   # the check's eval mode was undone


def test_training_runs_the_shared_prefix_as_a_batch_row_and_says_so(tmp_path, task, monkeypatch):
    from tunewise.training import prefix_row
    calls, said = [], []
    real = prefix_row.body_hidden
    monkeypatch.setattr(prefix_row, "body_hidden", lambda *a: calls.append(1) or real(*a))
    train(make_examples(16), task=task, out=tmp_path / "run", epochs=1, say=said.append,
          progress=False, **FAST)
    assert len(calls) > 4          # the check's pass plus every training step
    assert any("shared prefix as a batch row" in m for m in said)


def test_prefix_row_stays_off_for_sliding_window_or_softcapped_attention():
    from types import SimpleNamespace
    from tunewise.training.prefix_row import fits
    assert fits(SimpleNamespace(sliding_window=None))
    assert not fits(SimpleNamespace(sliding_window=512))
    assert not fits(SimpleNamespace(use_sliding_window=True, sliding_window=4096))
    assert fits(SimpleNamespace(use_sliding_window=False, sliding_window=4096))   # Qwen2's
    assert not fits(SimpleNamespace(attn_logit_softcapping=50.0))
