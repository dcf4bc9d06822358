"""Where and how one training run computes: the device policy (``tunewise.models.device``)
applied to the recipe.

``TrainHardware`` holds the run's device (in a multi-GPU run each process its own GPU,
``cuda:LOCAL_RANK``), its precision, its speed plan, the loss scaler (fp16 only) and the
micro-batch split. The recipe asks it and never asks ``torch.cuda`` itself.

``batch_size: auto``: the effective batch (``AUTO_BATCH_SIZE``) is first tried as one micro-batch;
after an out-of-memory error the micro-batch is halved (gradient accumulation doubled, so the
optimizer still sees the same batch) and the step is run again, down to one example. Every
halving is recorded in run.json. With a fixed batch size an out-of-memory error ends the run with a
message naming the knobs, never a traceback.
"""
from __future__ import annotations

from tunewise.errors import TrainingError
from tunewise.knobs import knob
from tunewise.models import device as dev
from tunewise.models.device import device_name
from tunewise.training.peak_memory import PeakMemory, larger


class TrainHardware:
    """The device, precision, speed plan, loss scaler and micro-batch split of one run."""

    def __init__(self, cfg, dist):
        self.cfg, self.dist = cfg, dist
        self.device = process_device(cfg.device, dist)
        self.precision = dev.training_precision(self.device, cfg.precision)
        self.grad_accum = cfg.grad_accum
        self.halvings: list[dict] = []
        self.scaler = dev.grad_scaler(self.device, self.precision)
        self.plan: dev.SpeedPlan | None = None
        #: the memory the run adds from here on (before the model loads)
        self.memory = PeakMemory(self.device)

    @property
    def bf16(self) -> bool:
        return self.precision == "bf16"

    def load_model(self):
        """The base model on this run's device, in the dtype the policy picks."""
        from tunewise.models.load import load_model
        cfg = self.cfg
        dtype = dev.load_dtype(self.device, self.precision, trained_weights=cfg.method == "full")
        return load_model(cfg.model, device=self.device, dtype=dtype, quantize=cfg.quantize)

    def speed_plan(self, n_params: int) -> dev.SpeedPlan:
        cfg = self.cfg
        self.plan = dev.speed_plan(self.device, self.precision, method=cfg.method,
                                   n_params=n_params, gap_dropout=cfg.gap_dropout,
                                   frozen_bf16=cfg.frozen_bf16, eager_attention=cfg.eager_attention,
                                   gradient_checkpointing=cfg.gradient_checkpointing)
        return self.plan

    def autocast(self, enabled: bool = True):
        checkpointing = bool(self.plan and self.plan.gradient_checkpointing)
        return dev.autocast(self.device, self.precision if enabled else "fp32",
                            cache=not checkpointing)

    def to_device(self, tensors: dict) -> dict:
        """A collated batch on the run's device (its non-tensor entries as they are)."""
        return {k: v.to(self.device, non_blocking=True) if hasattr(v, "to") else v
                for k, v in tensors.items()}

    def backward(self, loss) -> None:
        self.scaler.scale(loss).backward()

    def optimizer_step(self, optimizer, params, max_grad_norm: float) -> None:
        """Unscale (fp16), clip, step, update the scale."""
        import torch
        if max_grad_norm > 0:
            self.scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
        self.scaler.step(optimizer)
        self.scaler.update()

    def micro_batch(self) -> int:
        return max(1, -(-self.cfg.effective_batch_size // (self.grad_accum * self.dist.world_size)))

    def after_out_of_memory(self, exc: BaseException, optimizer, step: int) -> None:
        """Free what the failed step held; halve the micro-batch (``batch_size: auto``) or raise
        a TrainingError naming the knobs."""
        optimizer.zero_grad(set_to_none=True)
        dev.free_cached_memory(self.device)
        micro = self.micro_batch()
        if not self.cfg.auto_batch or micro <= 1 or self.dist.enabled:
            raise out_of_memory_error(exc, self.device, micro, self.cfg) from None
        self.grad_accum *= 2
        self.halvings.append({"step": step + 1, "micro_batch": self.micro_batch(),
                              "after": f"out of memory at micro-batch {micro}"})

    def peak_memory_mb(self, st) -> float | None:
        """The run's peak added memory so far (``peak_memory``), kept in the state ``st`` so
        that a resumed run reports the larger of its processes' peaks."""
        st.peak_memory_mb = larger(st.peak_memory_mb, self.memory.mb())
        return st.peak_memory_mb

    def to_dict(self) -> dict:
        """What run.json records: the device, precision, speed plan and batch split."""
        return {"device": str(self.device), "device_name": device_name(self.device),
                "precision": self.precision, "loss_scaling": self.scaler.is_enabled(),
                "quantize": self.cfg.quantize,
                "speed": self.plan.to_dict() if self.plan else {},
                "batch": {"effective": self.cfg.effective_batch_size,
                          "auto": self.cfg.auto_batch, "micro": self.micro_batch(),
                          "grad_accum": self.grad_accum, "halvings": list(self.halvings)}}

    def describe(self) -> str:
        """One log line: device, precision, and which speed tricks are on."""
        scaling = " with loss scaling" if self.scaler.is_enabled() else ""
        return (f"device {self.device} ({device_name(self.device)}), {self.precision}{scaling}"
                + (f", base weights {self.cfg.quantize}" if self.cfg.quantize != "none" else "")
                + (f"; speed tricks {self.plan.describe()}" if self.plan else ""))


def process_device(spec: str, dist):
    """The device of this process: the policy's choice; with several processes on CUDA, GPU
    ``LOCAL_RANK`` of this machine (one process per GPU)."""
    import torch
    device = dev.resolve_device(spec)
    if device.type == "cuda" and dist.enabled:
        n = dev.cuda_count()
        if dist.local_rank >= n:
            raise TrainingError(f"process {dist.local_rank} of this machine has no GPU of its own "
                                f"({n} CUDA GPU(s))",
                                fix=f"start at most {n} processes per machine (--processes {n} or "
                                    f"torchrun --nproc-per-node {n})")
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    return device


def out_of_memory_error(exc: BaseException, device, micro: int, cfg) -> TrainingError:
    """An out-of-memory error in words, with the knobs that lower memory."""
    half = max(1, cfg.effective_batch_size // 2)
    knobs = [f"a smaller batch ({knob('batch_size', half)}, or {knob('batch_size', 'auto')} to "
             "find the largest that fits)",
             f"{knob('grad_accum', 2)} (same batch, half the memory per step)"]
    if cfg.gradient_checkpointing != "true":
        knobs.append(knob("gradient_checkpointing", "true"))
    if cfg.quantize == "none" and device.type == "cuda" and cfg.method == "lora":
        knobs.append(f"{knob('quantize', '4bit')} (QLoRA)")
    knobs.append(f"a shorter {knob('max_length')} (now {cfg.max_length or 'auto'})")
    first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    return TrainingError(f"out of memory on {device} with micro-batches of {micro} example(s): "
                         f"{first}", fix="try " + "; ".join(knobs))
