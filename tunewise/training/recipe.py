"""The fine-tuning recipe (LoRA or full), top to bottom:

1. **setup**: encode the data through the Task's prompts (fails fast, before any model is loaded,
   on an answer that would not fit), seed, load the model, add LoRA adapters (PEFT) or unfreeze
   everything, build optimizer + scheduler, restore a checkpoint when resuming;
2. **train**: our own loop over length-grouped batches; the loss is taken on answer tokens only,
   and the vocabulary head (a fifth of the model's FLOPs for SmolLM2) is applied only at those
   positions; the device, precision and speed tricks of the device policy (hardware.py);
3. **evaluate** every epoch on the validation split with the Task's metric (via
   ``tunewise.prompting.predict.predict``, the code ``tunewise eval`` uses) plus validation loss;
4. **early stopping** on the task's headline metric; the best epoch's weights are kept;
5. **save** the adapter (or model), run.json, metrics.jsonl and the predictions of every epoch.

Checkpoints (every ``checkpoint_every`` optimizer steps and at each epoch end) make the run
resumable after a crash; see checkpoint.py. Data-parallel runs are described in distributed.py.

The steps are the methods of ``Trainer`` (setup_data, setup_model, restore, train_epoch,
train_step, evaluate_epoch, end_epoch, save_checkpoint, finish), called by ``Trainer.run`` in that
order. Loss: loss.py; model / optimizer pieces: model_setup.py; a checkpoint's state: state.py.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

from tunewise.data.records import Example
from tunewise.errors import TrainingError
from tunewise.knobs import knob
from tunewise.training import checkpoint as ckpt
from tunewise import runs as rd
from tunewise.training import distributed
from tunewise.training.batching import (collate, encode_within, length_grouped_batches,
                                        split_batch, token_counts)
from tunewise.training.config import TrainConfig
from tunewise.training.hardware import TrainHardware
from tunewise.training.loss import AnswerLoss, model_parts  # noqa: F401  (public here too)
from tunewise.training.model_setup import (  # noqa: F401
    attention_for_training, count_params, frozen_weights, make_optimizer, make_scheduler,
    prepare_model, restore_attention)
from tunewise.training.state import TrainResult, TrainState
from tunewise.training.validation import predict_examples, validation_loss  # noqa: F401


# -- the recipe ---------------------------------------------------------------------------------
def run(train_examples: Sequence[Example], val_examples: Sequence[Example], task,
        cfg: TrainConfig, out: Path, *, run_info: dict, resume: bool = False,
        say: Callable[[str], None] = print, progress: bool = True) -> TrainResult:
    """Train, evaluate each epoch, keep the best epoch, save into ``out``. See module docstring."""
    trainer = Trainer(task, cfg, out, run_info=run_info, say=say, progress=progress)
    return trainer.run(train_examples, val_examples, resume=resume)


class Trainer:
    """The recipe as named steps. ``run`` reads top to bottom: setup (data, model), restore a
    checkpoint, then per epoch: train steps, evaluate the epoch, keep the best / stop early,
    save a checkpoint; finally save the kept weights. Rank 0 alone evaluates and writes."""

    def __init__(self, task, cfg: TrainConfig, out: Path, *, run_info: dict,
                 say: Callable[[str], None] = print, progress: bool = True):
        cfg.validate()
        self.dist = distributed.init(cfg.device)
        cfg.validate(world_size=self.dist.world_size)
        self.hw = TrainHardware(cfg, self.dist)
        self.main = self.dist.is_main
        self.task, self.cfg, self.out = task, cfg, Path(out)
        self.run_info = run_info
        self.say = say if self.main else (lambda _msg: None)
        self.progress = progress
        self.st = TrainState()

    def run(self, train_examples: Sequence[Example], val_examples: Sequence[Example], *,
            resume: bool = False) -> TrainResult:
        self.setup_data(train_examples, val_examples)   # 1. setup: a too-long example fails
        self.setup_model()                              #    before the model loads
        if resume:
            self.restore()
        self.announce()
        self.train()                                    # 2.-4. train, evaluate, early stopping
        return self.finish()                            # 5. keep the best epoch and save

    # -- 1. setup ---------------------------------------------------------------------------
    def setup_data(self, train_examples, val_examples) -> None:
        """Encode both splits through the Task's prompts (too long: see ``encode_within``)."""
        from tunewise.models.load import load_tokenizer, model_context_length as ctx_len
        cfg = self.cfg
        self.tokenizer = load_tokenizer(cfg.model)
        fit = dict(max_length=cfg.max_length, say=self.say, context=lambda: ctx_len(cfg.model))
        self.train_enc, _ = encode_within(self.task, self.tokenizer, train_examples, **fit)
        val_enc, val_examples = encode_within(self.task, self.tokenizer, val_examples,
                                              what="validation", **fit)
        if cfg.max_eval_examples and len(val_examples) > cfg.max_eval_examples:
            val_examples = list(val_examples)[:cfg.max_eval_examples]
            val_enc = val_enc[:cfg.max_eval_examples]
        self.val_examples, self.val_enc = val_examples, val_enc
        self.has_val = len(val_enc) > 0
        self.pad_id = self.tokenizer.pad_token_id
        self.counts = token_counts(self.train_enc)
        self.batches_per_epoch = math.ceil(len(self.train_enc) / cfg.effective_batch_size)
        self.epochs = cfg.epochs_for(len(self.train_enc))

    def setup_model(self) -> None:
        """Seed; load the model; LoRA adapters or every weight trainable; optimizer, schedule."""
        from transformers import set_seed
        from tunewise.models.load import LoadedModel, load_model
        cfg, hw = self.cfg, self.hw
        set_seed(cfg.seed)
        self.lm = hw.load_model()
        plan = hw.speed_plan(count_params(self.lm.model)["total"])
        self.model = prepare_model(self.lm.model, cfg, plan)
        self.model.train()
        self.attn_restore = attention_for_training(
            self.model, max((len(e) for e in self.train_enc), default=0), plan.eager_attention)
        hw.plan = plan = dataclasses.replace(plan, eager_attention=bool(self.attn_restore))
        self.eval_lm = LoadedModel(model=self.model, tokenizer=self.lm.tokenizer,
                                   name=self.lm.name, path=self.lm.path)
        self.loss_fn = AnswerLoss(self.model)
        # the prefix row needs eager training (rows of <= 1024 tokens); it keeps row 0's keys
        # across the pass, which checkpointing's recomputation does not reproduce
        if cfg.share_prefix and self.attn_restore and not plan.gradient_checkpointing:
            self.loss_fn.use_prefix_row(hw.to_device(collate(
                self.train_enc[:max(cfg.effective_batch_size, 2)], self.pad_id,
                share_prefix=True)))
        self.ddp_loss = distributed.wrap(self.loss_fn, self.dist)
        self.params = count_params(self.model)
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.frozen = frozen_weights(self.model, cfg, plan.frozen_bf16)
        self.optimizer = make_optimizer(self.trainable, cfg)
        self.scheduler = make_scheduler(self.optimizer, cfg, self.epochs * self.batches_per_epoch)

    def restore(self) -> None:
        """Continue from the latest checkpoint: weights, optimizer, schedule, position, RNG."""
        found = ckpt.latest_checkpoint(self.out)
        if found is None:
            self.say("no checkpoint found: starting from the beginning")
            return
        try:
            c = ckpt.load_checkpoint(found)
            for part, value in (("optimizer.pt", c.optimizer), ("scheduler.pt", c.scheduler)):
                if value is None:
                    raise TrainingError(f"{found / part} is missing")
            ckpt.load_trainable_state(self.model, c.weights)
            self.optimizer.load_state_dict(c.optimizer)
            self.scheduler.load_state_dict(c.scheduler)
            self.st = TrainState.from_dict(c.state)
            if c.rng:
                ranks = c.rng["ranks"]
                ckpt.set_rng_state(ranks[min(self.dist.rank, len(ranks) - 1)])
        except Exception as e:  # noqa: BLE001 - any damage: which checkpoint, what to do
            from tunewise.training.resume_check import resume_error
            why = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
            earlier = ckpt.list_checkpoints(self.out)[:-1]
            raise resume_error(self.out, f"checkpoint {found.name} is damaged ({why})", fix=(
                f"delete {found} to resume from the earlier {earlier[-1].name}"
                if earlier else f"delete {found} to restart this run from the beginning")
                + ", or start a new run (another -o folder)") from None
        st = self.st
        self.say(f"resuming from {found.name}: epoch {st.epoch + 1}, batch {st.batch}, "
                 f"step {st.step}")

    def announce(self) -> None:
        """Say what will be trained how, and write run.json (status "running")."""
        cfg, params, counts, say = self.cfg, self.params, self.counts, self.say
        n = len(self.train_enc)
        pct = 100.0 * params["trainable"] / max(params["total"], 1)
        say(f"model {self.lm.name} ({cfg.method}): {params['trainable']:,} trainable parameters "
            f"of {params['total']:,} ({pct:.2f}%)")
        say(f"training: {counts.examples} examples, {counts.total:,} tokens per epoch, of which "
            f"{counts.trained:,} answer tokens are trained "
            f"({100.0 * counts.trained / max(counts.total, 1):.1f}%); "
            f"validation: {len(self.val_enc)} examples")
        selection = self.run_info.get("model_selection") or (
            "best epoch on validation" if self.has_val else "no validation: the last epoch is kept")
        say(f"model selection: {selection}")
        say(f"budget: {cfg.budget_text(n)}")
        say(f"{self.epochs} epoch(s) x {self.batches_per_epoch} steps of "
            f"{cfg.effective_batch_size} examples"
            f"{f' over {self.dist.world_size} processes' if self.dist.enabled else ''}; "
            f"{cfg.optimizer} lr {cfg.lr:g} ({cfg.scheduler})"
            f"{'; shared prefix as a batch row' if self.loss_fn.prefix_row else ''}; evaluation "
            f"in {self.hw.precision if cfg.eval_bf16 else 'fp32'}")
        say(self.hw.describe())
        self.info = {**self.run_info, "status": "running", "config": cfg.to_dict(),
                     "seed": cfg.seed, "epochs": self.epochs, "budget": cfg.budget_text(n),
                     "model_selection": selection, "params": params,
                     "tokens": counts.to_dict(), "world_size": self.dist.world_size,
                     "hardware": self.hw.to_dict()}
        if self.main:
            rd.write_run(self.out, self.info)

    # -- 2.-4. the epochs -------------------------------------------------------------------
    def train(self) -> None:
        """Epochs until the budget is spent or early stopping says enough."""
        from tunewise.progress import bar
        st = self.st
        total = self.epochs * self.batches_per_epoch
        with bar("training", total, disable=not (self.progress and self.main)) as advance:
            advance(st.step, info="")
            while st.epoch < self.epochs and not st.stop:
                self.train_epoch(advance)
                self.end_epoch(self.evaluate_epoch())

    def train_epoch(self, advance) -> None:
        """The remaining steps of the epoch in progress (length-grouped, seeded batches)."""
        st, cfg = self.st, self.cfg
        batches = length_grouped_batches([len(e) for e in self.train_enc], cfg.effective_batch_size,
                                         seed=cfg.seed, epoch=st.epoch,
                                         group_factor=cfg.group_factor)
        self.model.train()
        self.frozen.to_bf16()
        try:
            self._steps(batches, advance)
        finally:
            self.frozen.to_fp32()

    def _steps(self, batches, advance) -> None:
        st, cfg = self.st, self.cfg
        while st.batch < len(batches):
            batch = batches[st.batch]
            t0 = time.perf_counter()
            loss_sum, real_tokens, n_global = self.train_step(batch)
            st.train_seconds += time.perf_counter() - t0
            st.train_examples += len(batch)
            st.train_tokens += real_tokens
            st.step += 1
            st.batch += 1
            loss_value = loss_sum / max(n_global, 1)
            st.win_loss += loss_sum
            st.win_tokens += n_global
            tps = st.train_tokens / max(st.train_seconds, 1e-9)
            advance(1, info=f"loss {loss_value:.3f} {tps:,.0f} tok/s")
            if st.step % cfg.log_every == 0 or st.batch == len(batches):
                self.log_train_row(tps)
            if not math.isfinite(loss_value):
                raise TrainingError(f"the training loss became {loss_value} at step "
                                    f"{st.step}", fix=f"lower the learning rate ({knob('lr')}) "
                                    f"or use {knob('precision', 'fp32')}")
            if cfg.checkpoint_every and st.step % cfg.checkpoint_every == 0 \
                    and st.batch < len(batches):
                self.save_checkpoint(ckpt.step_dir(self.out, st.step))

    def train_step(self, batch: list[int]) -> tuple[float, int, int]:
        """One optimizer step on ``batch`` (split over accumulation steps and processes; the loss
        is normalised by the answer tokens of the whole batch). Returns (answer-token loss sum,
        real tokens, answer tokens), summed over processes. Out of memory: ``TrainHardware``
        halves the micro-batch and the step runs again (``batch_size: auto``), or it raises."""
        while True:
            try:
                return self._micro_steps(batch)
            except Exception as e:  # noqa: BLE001 - only out-of-memory errors are handled
                from tunewise.models.device import is_out_of_memory
                if not is_out_of_memory(e):
                    raise
                self.hw.after_out_of_memory(e, self.optimizer, self.st.step)

    def _micro_steps(self, batch: list[int]) -> tuple[float, int, int]:
        cfg, dist, enc, hw = self.cfg, self.dist, self.train_enc, self.hw
        n_global = sum(enc[i].n_trained for i in batch)
        pieces = split_batch(batch, hw.grad_accum * dist.world_size)
        step_loss = torch.zeros(())
        real_tokens = 0
        for a in range(hw.grad_accum):
            mine = pieces[a * dist.world_size + dist.rank]
            # a process with no examples left still joins the all-reduce (loss x 0)
            tensors = hw.to_device(collate([enc[i] for i in (mine or batch[:1])], self.pad_id,
                                           share_prefix=cfg.share_prefix))
            sync = (a == hw.grad_accum - 1) or not dist.enabled
            with (contextlib.nullcontext() if sync else self.ddp_loss.no_sync()):
                with hw.autocast():
                    loss_sum, _n = self.ddp_loss(**tensors)
                weight = (1.0 if mine else 0.0) * dist.world_size / n_global
                hw.backward(loss_sum * weight)
            step_loss += loss_sum.detach().float() * (1.0 if mine else 0.0)
            real_tokens += int(tensors["attention_mask"].sum()) if mine else 0
        hw.optimizer_step(self.optimizer, self.trainable, cfg.max_grad_norm)
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        loss, tokens = distributed.all_reduce_sum(dist, [float(step_loss), float(real_tokens)])
        return float(loss), int(tokens), n_global

    def log_train_row(self, tps: float) -> None:
        """A metrics.jsonl row: mean loss per answer token over the steps since the last row."""
        st = self.st
        st.rows.append({"kind": "train", "epoch": st.epoch + 1, "step": st.step,
                        "loss": round(st.win_loss / max(st.win_tokens, 1), 6),
                        "lr": self.scheduler.get_last_lr()[0],
                        "examples_per_second": st.train_examples / st.train_seconds,
                        "tokens_per_second": tps})
        st.win_loss, st.win_tokens = 0.0, 0

    def evaluate_epoch(self) -> dict:
        """Rank 0 scores the validation split (loss + the Task's metrics, predictions written);
        every rank gets its decision {improved, value, row}."""
        st, cfg, task, epoch = self.st, self.cfg, self.task, self.st.epoch + 1
        decision = None
        if self.main and not self.has_val:
            # no validation (small data): every epoch "improves"; the last one is kept
            row = {"kind": "eval", "epoch": epoch, "step": st.step, "best": True}
            self.say(f"epoch {epoch} done (no validation: the last epoch is kept)")
            decision = {"improved": True, "value": float(epoch), "row": row}
        elif self.main:
            t0 = time.perf_counter()
            self.model.eval()
            eval_bf16 = self.hw.bf16 and cfg.eval_bf16
            vloss = validation_loss(self.loss_fn, self.val_enc, self.pad_id, cfg.eval_batch_size,
                                    self.hw, cfg.eval_bf16)
            preds = predict_examples(task, self.eval_lm, self.val_examples,
                                     batch_size=cfg.eval_batch_size, bf16=eval_bf16)
            metrics = task.metrics([p.gold for p in preds], [p.pred for p in preds])
            self.model.train()
            st.eval_seconds += time.perf_counter() - t0
            rd.write_predictions(self.out / "eval" / f"epoch-{epoch}.jsonl", self.val_examples,
                                 preds)
            value = float(metrics.get(task.headline_metric, float("nan")))
            improved = math.isfinite(value) and value > st.best_metric
            row = {"kind": "eval", "epoch": epoch, "step": st.step,
                   "val_loss": round(vloss, 6), **metrics, "best": improved}
            self.say(f"epoch {epoch}: val_loss {vloss:.4f}  " + "  ".join(
                f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, (int, float)))
                + ("  (best so far)" if improved else ""))
            decision = {"improved": improved, "value": value, "row": row}
        return distributed.broadcast(self.dist, decision)

    def end_epoch(self, decision: dict) -> None:
        """Record the epoch, keep its weights when best, stop early after ``patience`` epochs
        without improvement, checkpoint."""
        st, epoch = self.st, self.st.epoch + 1
        st.history.append(decision["row"])
        st.rows.append(decision["row"])
        if decision["improved"]:
            st.best_epoch, st.best_metric, st.since_best = epoch, decision["value"], 0
            if self.main and self.has_val:
                ckpt.save_checkpoint(ckpt.best_dir(self.out),
                                     weights=ckpt.trainable_state(self.model),
                                     state={"epoch": epoch, "metrics": decision["row"]})
        else:
            st.since_best += 1
        st.epoch += 1
        st.batch = 0
        if self.cfg.patience and st.since_best >= self.cfg.patience and st.epoch < self.epochs:
            st.stop, st.stopped_early = True, True
            self.say(f"early stopping: no {self.task.headline_metric} improvement for "
                     f"{st.since_best} epoch(s); keeping epoch {st.best_epoch}")
        self.save_checkpoint(ckpt.step_dir(self.out, st.step))
        distributed.barrier(self.dist)

    def save_checkpoint(self, folder: Path, with_optimizer: bool = True) -> None:
        """Checkpoint (rank 0 writes; every rank's RNG state is gathered into it)."""
        rngs = distributed.gather_to_main(self.dist, ckpt.rng_state())
        self.hw.peak_memory_mb(self.st)                 # a resumed run keeps the earlier peak
        if self.main:
            ckpt.save_checkpoint(folder, weights=ckpt.trainable_state(self.model),
                                 state=self.st.to_dict(),
                                 optimizer=self.optimizer if with_optimizer else None,
                                 scheduler=self.scheduler if with_optimizer else None,
                                 rng={"ranks": rngs})
            ckpt.prune_checkpoints(self.out, self.cfg.keep_checkpoints)
            rd.write_metrics(self.out, self.st.rows)

    # -- 5. keep the best epoch and save -------------------------------------------------------
    def finish(self) -> TrainResult:
        """Load the best epoch's weights (when validated), save the model, complete run.json."""
        st, cfg, out, task = self.st, self.cfg, self.out, self.task
        best = ckpt.load_checkpoint(ckpt.best_dir(out)) if st.best_epoch and self.has_val \
            else None
        if best is not None:
            ckpt.load_trainable_state(self.model, best.weights)
        restore_attention(self.model, self.attn_restore)
        timing = {"train_seconds": round(st.train_seconds, 3),
                  "train_examples": st.train_examples, "peak_memory_mb": self.hw.peak_memory_mb(st),
                  "train_examples_per_second": st.train_examples / max(st.train_seconds, 1e-9),
                  "train_tokens_per_second": st.train_tokens / max(st.train_seconds, 1e-9),
                  "eval_seconds": round(st.eval_seconds, 3)}
        best_row = next((r for r in st.history if r["epoch"] == st.best_epoch), {})
        metrics = {k: v for k, v in best_row.items() if k not in ("kind", "epoch", "step", "best")}
        result = TrainResult(run_dir=out, best_epoch=st.best_epoch, metrics=metrics,
                             history=st.history, timing=timing, params=self.params,
                             tokens=self.counts.to_dict(), stopped_early=st.stopped_early,
                             headline_metric=task.headline_metric, lm=self.eval_lm)
        if self.main:
            self.model.eval()
            rd.save_final(out, self.model, self.lm.tokenizer, cfg.method)
            rd.write_metrics(out, st.rows)
            lora = cfg.method == "lora"
            self.info.update(status="done", best_epoch=st.best_epoch, metrics=metrics,
                             hardware=self.hw.to_dict(),
                             headline_metric=task.headline_metric, history=st.history,
                             timing=timing, stopped_early=st.stopped_early, epochs_run=st.epoch,
                             epochs=self.epochs, artifacts={"adapter" if lora else "model":
                                                            rd.ADAPTER if lora else rd.FULL_MODEL})
            rd.write_run(out, self.info)
        distributed.barrier(self.dist)
        return result
