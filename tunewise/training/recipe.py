"""The fine-tuning recipe (LoRA or full), top to bottom:

1. **setup**: encode the data through the Task's prompts (fails fast, before any model is loaded,
   on an answer that would not fit), seed, load the model, add LoRA adapters (PEFT) or unfreeze
   everything, build optimizer + scheduler, restore a checkpoint when resuming;
2. **train**: our own loop over length-grouped batches; the loss is taken on answer tokens only,
   and the vocabulary head (a fifth of the model's FLOPs for SmolLM2) is applied only at those
   positions; bf16 autocast where the CPU has bf16 math;
3. **evaluate** every epoch on the validation split with the Task's metric (via
   ``tunewise.prompting.predict.predict``, the code ``tunewise eval`` uses) plus validation loss;
4. **early stopping** on the task's headline metric; the best epoch's weights are kept;
5. **save** the adapter (or model), run.json, metrics.jsonl and the predictions of every epoch.

Checkpoints (every ``checkpoint_every`` optimizer steps and at each epoch end) make the run
resumable after a crash; see checkpoint.py. Data-parallel runs are described in distributed.py.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from tunewise.data.records import Example
from tunewise.errors import ConfigError, TrainingError
from tunewise.training import checkpoint as ckpt
from tunewise.training import distributed, run_dir as rd
from tunewise.training.batching import (IGNORE, collate, encode_examples, length_grouped_batches,
                                        split_batch, token_counts)
from tunewise.training.config import TrainConfig


@dataclass
class TrainResult:
    """What a training run produced (also in RUN_DIR/run.json)."""

    run_dir: Path
    #: 1-based epoch whose weights were kept
    best_epoch: int
    #: validation metrics of the best epoch (task metrics + ``val_loss``)
    metrics: dict
    #: per-epoch validation rows
    history: list[dict]
    #: train_seconds (training steps only), train_examples_per_second, train_tokens_per_second
    #: (real, non-padding tokens), eval_seconds
    timing: dict
    #: trainable / total parameter counts
    params: dict
    #: token counts of one pass over the training set (tokens, trained_tokens)
    tokens: dict
    stopped_early: bool = False
    headline_metric: str = ""
    #: the trained model (best epoch's weights) and tokenizer, ready to use in this process
    lm: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"run_dir": str(self.run_dir), "best_epoch": self.best_epoch,
                "headline_metric": self.headline_metric, "metrics": self.metrics,
                "history": self.history, "timing": self.timing, "params": self.params,
                "tokens": self.tokens, "stopped_early": self.stopped_early}


# ---------------------------------------------------------------------------------------------
# the loss: answer tokens only, vocabulary head only where needed
# ---------------------------------------------------------------------------------------------
def model_parts(model):
    """(decoder body, LM head) of a causal LM, also through a PeftModel wrapper."""
    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    body, head = causal.get_decoder(), causal.get_output_embeddings()
    if body is None or head is None:
        raise TrainingError(f"{type(causal).__name__}: cannot find the decoder body and LM head",
                            fix="use a decoder-only causal language model")
    return body, head


class AnswerLoss(torch.nn.Module):
    """Sum of cross-entropy over answer tokens and their count.

    The body runs on every position (the answer attends to the prompt), but the 49k-word
    vocabulary head runs only where the next token is an answer token (labels != -100).

    ``prefix_len`` > 0 (see ``batching.shared_prefix_len``): the first ``prefix_len`` tokens are
    the same in every row and carry no loss (system prompt, chat framing). They run through the
    body once (batch 1); their keys/values are expanded over the batch (a view, no copy) and the
    rest of each row attends to them through the KV cache. Gradients flow back through the
    expansion into the single prefix pass, so loss and gradients equal the unshared computation
    (up to float rounding) for a fraction of the work.

    Wrapping this module (not the bare model) in DDP keeps gradient all-reduce in the forward path.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, labels, prefix_len: int = 0):
        body, head = model_parts(self.model)
        if prefix_len:
            hidden = self._shared_prefix_body(body, input_ids, attention_mask, prefix_len)
            labels = labels[:, prefix_len:]
        else:
            hidden = body(input_ids=input_ids, attention_mask=attention_mask,
                          use_cache=False).last_hidden_state
        targets = labels[:, 1:]
        keep = targets != IGNORE
        logits = head(hidden[:, :-1][keep]).float()
        return F.cross_entropy(logits, targets[keep], reduction="sum"), keep.sum()

    @staticmethod
    def _shared_prefix_body(body, input_ids, attention_mask, p: int):
        from transformers import DynamicCache
        cache_kw = _cache_kwarg(body)
        B, L = input_ids.shape
        pre = DynamicCache()
        body(input_ids=input_ids[:1, :p], attention_mask=attention_mask[:1, :p],
             use_cache=True, **{cache_kw: pre})
        layers = [(layer.keys.expand(B, -1, -1, -1), layer.values.expand(B, -1, -1, -1))
                  for layer in pre.layers]
        cache = DynamicCache(ddp_cache_data=layers)
        pos = torch.arange(p, L, device=input_ids.device)[None].expand(B, -1)
        return body(input_ids=input_ids[:, p:], attention_mask=attention_mask,
                    position_ids=pos, use_cache=True, **{cache_kw: cache}).last_hidden_state


def _cache_kwarg(body) -> str:
    """transformers 5 calls the cache argument ``cache``; 4.x ``past_key_values``."""
    import inspect
    return "cache" if "cache" in inspect.signature(body.forward).parameters else "past_key_values"


# ---------------------------------------------------------------------------------------------
# setup pieces
# ---------------------------------------------------------------------------------------------
def prepare_model(model, cfg: TrainConfig):
    """LoRA adapters (PEFT) on ``cfg.lora.targets``, or every weight trainable (full)."""
    if cfg.method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    from peft import LoraConfig as PeftLoraConfig, get_peft_model
    targets = cfg.lora.targets
    target_modules = "all-linear" if targets == ["all-linear"] else list(targets)
    pcfg = PeftLoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                          target_modules=target_modules, bias="none", task_type="CAUSAL_LM")
    try:
        return get_peft_model(model, pcfg)  # (its v5 deprecation noise: see models/load.py)
    except ValueError as e:
        names = sorted({n.rsplit(".", 1)[-1] for n, m in model.named_modules()
                        if isinstance(m, torch.nn.Linear)})
        raise ConfigError([f"lora.targets: {', '.join(targets)} not found in {cfg.model} "
                           f"({str(e).splitlines()[0][:120]}); linear layers there: "
                           f"{', '.join(names)} (or all-linear)"]) from None


def count_params(model) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"trainable": trainable, "total": total}


def make_optimizer(params, cfg: TrainConfig):
    params = list(params)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    from transformers.optimization import Adafactor
    return Adafactor(params, lr=cfg.lr, weight_decay=cfg.weight_decay, scale_parameter=False,
                     relative_step=False, warmup_init=False)


def make_scheduler(optimizer, cfg: TrainConfig, total_steps: int):
    from transformers import (get_constant_schedule_with_warmup,
                              get_cosine_schedule_with_warmup, get_linear_schedule_with_warmup)
    warmup = cfg.warmup_steps or int(round(cfg.warmup_ratio * total_steps))
    if cfg.scheduler == "constant":
        return get_constant_schedule_with_warmup(optimizer, warmup)
    fn = get_cosine_schedule_with_warmup if cfg.scheduler == "cosine" \
        else get_linear_schedule_with_warmup
    return fn(optimizer, warmup, total_steps)


def autocast(enabled: bool):
    if not enabled:
        return contextlib.nullcontext()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.autocast(device, dtype=torch.bfloat16)


# ---------------------------------------------------------------------------------------------
# evaluation
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def validation_loss(loss_fn: AnswerLoss, encoded, pad_id: int, batch_size: int,
                    bf16: bool) -> float:
    """Mean cross-entropy per answer token over the validation set."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    total, count = 0.0, 0
    for s in range(0, len(order), batch_size):
        batch = collate([encoded[i] for i in order[s:s + batch_size]], pad_id)
        with autocast(bf16):
            loss_sum, n = loss_fn(**batch)
        total, count = total + float(loss_sum), count + int(n)
    return total / max(count, 1)


def predict_examples(task, lm, examples: Sequence[Example], *, batch_size: int, bf16: bool):
    """The Task's predictions through the same code as ``tunewise eval``."""
    from tunewise.prompting.predict import predict
    return predict(task, lm, list(examples), batch_size=batch_size, bf16=bf16, progress=False)


# ---------------------------------------------------------------------------------------------
# the recipe
# ---------------------------------------------------------------------------------------------
@dataclass
class _State:
    """Where training stands; saved in every checkpoint (state.json)."""

    epoch: int = 0          # 0-based epoch in progress
    batch: int = 0          # next batch of that epoch (data-order position)
    step: int = 0           # optimizer steps done
    best_epoch: int = 0     # 1-based; 0 = none yet
    best_metric: float = -math.inf
    since_best: int = 0
    stop: bool = False
    stopped_early: bool = False
    history: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    train_seconds: float = 0.0
    train_examples: int = 0
    train_tokens: int = 0   # real (non-padding) tokens through the model in training steps
    eval_seconds: float = 0.0
    win_loss: float = 0.0   # answer-token loss sum since the last logged row
    win_tokens: int = 0     # answer tokens since the last logged row

    def to_dict(self) -> dict:
        import dataclasses
        d = dataclasses.asdict(self)
        d["best_metric"] = None if self.best_metric == -math.inf else self.best_metric
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "_State":
        import dataclasses
        names = {f.name for f in dataclasses.fields(cls)}
        s = cls(**{k: v for k, v in d.items() if k in names})
        if s.best_metric is None:
            s.best_metric = -math.inf
        return s


def run(train_examples: Sequence[Example], val_examples: Sequence[Example], task,
        cfg: TrainConfig, out: Path, *, run_info: dict, resume: bool = False,
        say: Callable[[str], None] = print, progress: bool = True) -> TrainResult:
    """Train, evaluate each epoch, keep the best epoch, save into ``out``. See module docstring."""
    dist = distributed.init()
    cfg.validate(world_size=dist.world_size)
    main = dist.is_main
    say = say if main else (lambda _msg: None)
    out = Path(out)

    # ---- 1. setup: data first (a too-long example fails before the model loads) -------------
    from transformers import set_seed
    from tunewise.models.load import LoadedModel, load_model, load_tokenizer
    tokenizer = load_tokenizer(cfg.model)
    train_enc = encode_examples(task, tokenizer, train_examples, max_length=cfg.max_length)
    val_enc = encode_examples(task, tokenizer, val_examples, max_length=cfg.max_length,
                              what="validation")
    if cfg.max_eval_examples and len(val_examples) > cfg.max_eval_examples:
        val_examples = list(val_examples)[:cfg.max_eval_examples]
        val_enc = val_enc[:cfg.max_eval_examples]
    pad_id = tokenizer.pad_token_id
    counts = token_counts(train_enc)

    set_seed(cfg.seed)
    lm = load_model(cfg.model)
    model = prepare_model(lm.model, cfg)
    model.train()
    eval_lm = LoadedModel(model=model, tokenizer=lm.tokenizer, name=lm.name, path=lm.path)
    loss_fn = AnswerLoss(model)
    ddp_loss = distributed.wrap(loss_fn, dist)
    params = count_params(model)
    bf16 = cfg.use_bf16()

    batches_per_epoch = math.ceil(len(train_enc) / cfg.batch_size)
    epochs = cfg.epochs_for(len(train_enc))
    has_val = len(val_enc) > 0
    total_steps = epochs * batches_per_epoch
    optimizer = make_optimizer((p for p in model.parameters() if p.requires_grad), cfg)
    scheduler = make_scheduler(optimizer, cfg, total_steps)

    st = _State()
    if resume:
        found = ckpt.latest_checkpoint(out)
        if found is not None:
            try:
                c = ckpt.load_checkpoint(found)
                for part, value in (("optimizer.pt", c.optimizer), ("scheduler.pt", c.scheduler)):
                    if value is None:
                        raise TrainingError(f"{found / part} is missing")
                ckpt.load_trainable_state(model, c.weights)
                optimizer.load_state_dict(c.optimizer)
                scheduler.load_state_dict(c.scheduler)
                st = _State.from_dict(c.state)
                if c.rng:
                    ckpt.set_rng_state(c.rng["ranks"][min(dist.rank, len(c.rng["ranks"]) - 1)])
            except Exception as e:  # noqa: BLE001 - any damage: which checkpoint, what to do
                from tunewise.training.resume_check import resume_error
                why = getattr(e, "message", None) or f"{type(e).__name__}: {e}"
                earlier = ckpt.list_checkpoints(out)[:-1]
                raise resume_error(out, f"checkpoint {found.name} is damaged ({why})", fix=(
                    f"delete {found} to resume from the earlier {earlier[-1].name}"
                    if earlier else f"delete {found} to restart this run from the beginning")
                    + ", or start a new run (another -o folder)") from None
            say(f"resuming from {found.name}: epoch {st.epoch + 1}, batch {st.batch}, "
                f"step {st.step}")
        else:
            say("no checkpoint found: starting from the beginning")

    pct = 100.0 * params["trainable"] / max(params["total"], 1)
    say(f"model {lm.name} ({cfg.method}): {params['trainable']:,} trainable parameters of "
        f"{params['total']:,} ({pct:.2f}%)")
    say(f"training: {counts.examples} examples, {counts.total:,} tokens per epoch, of which "
        f"{counts.trained:,} answer tokens are trained ({100.0 * counts.trained / max(counts.total, 1):.1f}%); "
        f"validation: {len(val_enc)} examples")
    selection = run_info.get("model_selection") or (
        "best epoch on validation" if has_val else "no validation: the last epoch is kept")
    say(f"model selection: {selection}")
    say(f"budget: {cfg.budget_text(len(train_enc))}")
    say(f"{epochs} epoch(s) x {batches_per_epoch} steps of {cfg.batch_size} examples"
        f"{f' over {dist.world_size} processes' if dist.enabled else ''}; "
        f"{cfg.optimizer} lr {cfg.lr:g} ({cfg.scheduler}); training in "
        f"{'bf16 autocast' if bf16 else 'fp32'}, evaluation in "
        f"{'bf16' if bf16 and cfg.eval_bf16 else 'fp32'}")

    info = {**run_info, "status": "running", "config": cfg.to_dict(), "seed": cfg.seed,
            "epochs": epochs, "budget": cfg.budget_text(len(train_enc)),
            "model_selection": selection,
            "params": params, "tokens": counts.to_dict(), "world_size": dist.world_size}
    if main:
        rd.write_run(out, info)

    def save_state(folder: Path, with_optimizer: bool = True) -> None:
        """Checkpoint (rank 0 writes; every rank's RNG state is gathered into it)."""
        rngs = [ckpt.rng_state()]
        if dist.enabled:
            import torch.distributed as tdist
            gathered = [None] * dist.world_size if main else None
            tdist.gather_object(rngs[0], gathered, dst=0)
            rngs = gathered
        if main:
            ckpt.save_checkpoint(folder, weights=ckpt.trainable_state(model),
                                 state=st.to_dict(),
                                 optimizer=optimizer if with_optimizer else None,
                                 scheduler=scheduler if with_optimizer else None,
                                 rng={"ranks": rngs})
            ckpt.prune_checkpoints(out, cfg.keep_checkpoints)
            rd.write_metrics(out, st.rows)

    # ---- 2. train ---------------------------------------------------------------------------
    from tunewise.progress import bar
    parts = cfg.grad_accum * dist.world_size
    trainable = [p for p in model.parameters() if p.requires_grad]
    with bar("training", total_steps, disable=not (progress and main)) as advance:
        advance(st.step, info="")
        while st.epoch < epochs and not st.stop:
            batches = length_grouped_batches([len(e) for e in train_enc], cfg.batch_size,
                                             seed=cfg.seed, epoch=st.epoch,
                                             group_factor=cfg.group_factor)
            model.train()
            while st.batch < len(batches):
                batch = batches[st.batch]
                t0 = time.perf_counter()
                n_global = sum(train_enc[i].n_trained for i in batch)
                pieces = split_batch(batch, parts)
                step_loss = torch.zeros(())
                real_tokens = 0
                for a in range(cfg.grad_accum):
                    mine = pieces[a * dist.world_size + dist.rank]
                    # a process with no examples left still joins the all-reduce (loss x 0)
                    items = [train_enc[i] for i in (mine or batch[:1])]
                    tensors = collate(items, pad_id, share_prefix=cfg.share_prefix)
                    sync = (a == cfg.grad_accum - 1) or not dist.enabled
                    with (contextlib.nullcontext() if sync else ddp_loss.no_sync()):
                        with autocast(bf16):
                            loss_sum, _n = ddp_loss(**tensors)
                        weight = (1.0 if mine else 0.0) * dist.world_size / n_global
                        (loss_sum * weight).backward()
                    step_loss += loss_sum.detach().float() * (1.0 if mine else 0.0)
                    real_tokens += int(tensors["attention_mask"].sum()) if mine else 0
                if cfg.max_grad_norm > 0:
                    torch.nn.utils.clip_grad_norm_(trainable, cfg.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                if dist.enabled:
                    import torch.distributed as tdist
                    stats = torch.tensor([float(step_loss), float(real_tokens)])
                    tdist.all_reduce(stats)
                    step_loss, real_tokens = stats[0], int(stats[1])
                dt = time.perf_counter() - t0
                st.train_seconds += dt
                st.train_examples += len(batch)
                st.train_tokens += real_tokens
                st.step += 1
                st.batch += 1
                loss_value = float(step_loss) / max(n_global, 1)
                st.win_loss += float(step_loss)
                st.win_tokens += n_global
                tps = st.train_tokens / max(st.train_seconds, 1e-9)
                advance(1, info=f"loss {loss_value:.3f} {tps:,.0f} tok/s")
                if st.step % cfg.log_every == 0 or st.batch == len(batches):
                    # mean loss per answer token over the steps since the last row
                    st.rows.append({"kind": "train", "epoch": st.epoch + 1, "step": st.step,
                                    "loss": round(st.win_loss / max(st.win_tokens, 1), 6),
                                    "lr": scheduler.get_last_lr()[0],
                                    "examples_per_second": st.train_examples / st.train_seconds,
                                    "tokens_per_second": tps})
                    st.win_loss, st.win_tokens = 0.0, 0
                if not math.isfinite(loss_value):
                    raise TrainingError(
                        f"the training loss became {loss_value} at step {st.step}",
                        fix="lower the learning rate (--lr) or use --precision fp32")
                if cfg.checkpoint_every and st.step % cfg.checkpoint_every == 0 \
                        and st.batch < len(batches):
                    save_state(ckpt.step_dir(out, st.step))

            # ---- 3. evaluate the epoch (rank 0), 4. early stopping -----------------------
            epoch = st.epoch + 1
            decision = None
            if main and not has_val:
                # no validation (small data): every epoch "improves"; the last one is kept
                row = {"kind": "eval", "epoch": epoch, "step": st.step, "best": True}
                say(f"epoch {epoch} done (no validation: the last epoch is kept)")
                decision = {"improved": True, "value": float(epoch), "row": row}
            elif main:
                t0 = time.perf_counter()
                model.eval()
                eval_bf16 = bf16 and cfg.eval_bf16
                vloss = validation_loss(loss_fn, val_enc, pad_id, cfg.eval_batch_size, eval_bf16)
                preds = predict_examples(task, eval_lm, val_examples,
                                         batch_size=cfg.eval_batch_size, bf16=eval_bf16)
                metrics = task.metrics([p.gold for p in preds], [p.pred for p in preds])
                model.train()
                st.eval_seconds += time.perf_counter() - t0
                rd.write_predictions(out / "eval" / f"epoch-{epoch}.jsonl", val_examples, preds)
                value = float(metrics.get(task.headline_metric, float("nan")))
                improved = math.isfinite(value) and value > st.best_metric
                row = {"kind": "eval", "epoch": epoch, "step": st.step,
                       "val_loss": round(vloss, 6), **metrics, "best": improved}
                say(f"epoch {epoch}: val_loss {vloss:.4f}  " + "  ".join(
                    f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, (int, float)))
                    + ("  (best so far)" if improved else ""))
                decision = {"improved": improved, "value": value, "row": row}
            decision = distributed.broadcast(dist, decision)
            st.history.append(decision["row"])
            st.rows.append(decision["row"])
            if decision["improved"]:
                st.best_epoch, st.best_metric, st.since_best = epoch, decision["value"], 0
                if main and has_val:
                    ckpt.save_checkpoint(ckpt.best_dir(out), weights=ckpt.trainable_state(model),
                                         state={"epoch": epoch, "metrics": decision["row"]})
            else:
                st.since_best += 1
            st.epoch += 1
            st.batch = 0
            if cfg.patience and st.since_best >= cfg.patience and st.epoch < epochs:
                st.stop, st.stopped_early = True, True
                say(f"early stopping: no {task.headline_metric} improvement for "
                    f"{st.since_best} epoch(s); keeping epoch {st.best_epoch}")
            save_state(ckpt.step_dir(out, st.step))
            distributed.barrier(dist)

    # ---- 5. keep the best epoch and save ---------------------------------------------------
    best = ckpt.load_checkpoint(ckpt.best_dir(out)) if st.best_epoch and has_val else None
    if best is not None:
        ckpt.load_trainable_state(model, best.weights)
    timing = {"train_seconds": round(st.train_seconds, 3),
              "train_examples": st.train_examples,
              "train_examples_per_second": st.train_examples / max(st.train_seconds, 1e-9),
              "train_tokens_per_second": st.train_tokens / max(st.train_seconds, 1e-9),
              "eval_seconds": round(st.eval_seconds, 3)}
    best_row = next((r for r in st.history if r["epoch"] == st.best_epoch), {})
    metrics = {k: v for k, v in best_row.items() if k not in ("kind", "epoch", "step", "best")}
    result = TrainResult(run_dir=out, best_epoch=st.best_epoch, metrics=metrics,
                         history=st.history, timing=timing, params=params,
                         tokens=counts.to_dict(), stopped_early=st.stopped_early,
                         headline_metric=task.headline_metric, lm=eval_lm)
    if main:
        model.eval()
        rd.save_final(out, model, lm.tokenizer, cfg.method)
        rd.write_metrics(out, st.rows)
        info.update(status="done", best_epoch=st.best_epoch, metrics=metrics,
                    headline_metric=task.headline_metric, history=st.history, timing=timing,
                    stopped_early=st.stopped_early, epochs_run=st.epoch, epochs=epochs,
                    artifacts={"adapter" if cfg.method == "lora" else "model":
                               rd.ADAPTER if cfg.method == "lora" else rd.FULL_MODEL})
        rd.write_run(out, info)
    distributed.barrier(dist)
    return result
