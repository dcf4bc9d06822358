"""Data-parallel training on torch.distributed (gloo on CPU, nccl on GPUs).

Two ways in, the same code path:

- ``torchrun --nproc-per-node 2 -m tunewise train ...`` (or ``accelerate launch -m tunewise ...``):
  the launcher sets RANK / WORLD_SIZE / MASTER_ADDR and ``init()`` joins the process group.
- ``tunewise train --processes 2 ...``: ``launch()`` re-runs the same command under
  ``python -m torch.distributed.run`` (torchrun) with ``--processes`` removed.

Each optimizer step's batch is split over the processes (and accumulation steps); the model is
wrapped in DistributedDataParallel so gradients are all-reduced; the loss is normalised by the
number of answer tokens in the whole global batch, so N processes compute the same update as one.
Rank 0 alone evaluates and writes files; the others wait at a barrier and receive its decisions.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any, Sequence


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def env_world_size() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def init(device: str = "auto") -> DistInfo:
    """Join the process group when launched by torchrun/accelerate; a no-op otherwise. The
    backend follows the device policy: NCCL when the run's ``device`` is a CUDA GPU (one
    process per GPU), gloo on the CPU."""
    world = env_world_size()
    if world <= 1:
        return DistInfo()
    import torch.distributed as dist
    if not dist.is_initialized():
        from tunewise.models.device import resolve_device
        backend = "nccl" if resolve_device(device).type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    return DistInfo(rank=dist.get_rank(), world_size=dist.get_world_size(),
                    local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def shutdown(info: DistInfo) -> None:
    if info.enabled:
        import torch.distributed as dist
        if dist.is_initialized():
            dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        import torch.distributed as dist
        dist.barrier()


def broadcast(info: DistInfo, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (any picklable value)."""
    if not info.enabled:
        return obj
    import torch.distributed as dist
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap(module, info: DistInfo):
    """DistributedDataParallel around ``module`` when running on several processes."""
    if not info.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel
    from tunewise.models.device import model_device
    device = model_device(module)
    ids = [device.index] if device.type == "cuda" else None    # one GPU per process
    return DistributedDataParallel(module, device_ids=ids)


def launch(argv: Sequence[str], processes: int) -> int:
    """Re-run ``python -m tunewise ARGV`` on ``processes`` local processes under torchrun.

    ``argv`` is the command line after ``tunewise`` with ``--processes`` already removed.
    Returns torchrun's exit code.
    """
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={processes}", "-m", "tunewise", *argv]
    env = dict(os.environ)
    # each process gets an equal share of the cores (torch would otherwise oversubscribe them)
    cores = os.cpu_count() or 1
    env.setdefault("OMP_NUM_THREADS", str(max(1, cores // processes)))
    return subprocess.call(cmd, env=env)


def strip_processes(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--processes N`` / ``--processes=N``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--processes":
            skip = True
            continue
        if a.startswith("--processes="):
            continue
        out.append(a)
    return out


def gather_to_main(info: DistInfo, obj: Any) -> list:
    """Every rank's ``obj`` as a list on rank 0 (``[obj]`` when not distributed; None on the
    other ranks)."""
    if not info.enabled:
        return [obj]
    import torch.distributed as dist
    gathered = [None] * info.world_size if info.is_main else None
    dist.gather_object(obj, gathered, dst=0)
    return gathered


def all_reduce_sum(info: DistInfo, values: Sequence[float]) -> list[float]:
    """The sum over ranks of each of ``values`` (the values themselves when not distributed)."""
    if not info.enabled:
        return list(values)
    import torch
    import torch.distributed as dist
    t = torch.tensor([float(v) for v in values])
    dist.all_reduce(t)
    return t.tolist()
