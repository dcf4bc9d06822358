"""Where a compare's trials run: ``executor: local`` (this process, one after another) or
``executor: ray`` (each fine-tuning trial a Ray task; ``tunewise.comparison.ray_runner``).

A compare is many independent trials (models x sizes x seeds x rates). With ``executor: ray``
each uncached fine-tuning run (the curve's and the learning-rate search's) is sent to Ray with
its own CPU/GPU request; Ray schedules them (on this machine, or on a cluster's nodes) and this
process gathers the results into OUT exactly as a local run does. The settings here are plain
data (checked by ``config_validate``); nothing imports Ray until a compare runs with it.
"""
from __future__ import annotations

from dataclasses import dataclass

#: the executors ``executor`` accepts
EXECUTORS = ("local", "ray")


@dataclass
class RayConfig:
    """With executor: ray: which Ray cluster runs the fine-tuning trials, and what each asks for.
    On a cluster, OUT must be a folder every node sees at the same path (shared storage)."""

    #: the Ray cluster to join: null = the RAY_ADDRESS environment variable when set, else the
    #: cluster `ray start` began on this machine, else a new local Ray instance (stopped at the
    #: end); "auto" (a running cluster, or fail); "ray://HOST:10001" (a remote cluster's client)
    address: str | None = None
    #: CPUs each trial asks Ray for (also its torch threads)
    cpus_per_trial: int = 1
    #: GPUs each trial asks Ray for: 0 = CPU only, 1 = one GPU each, 0.5 = two trials share one
    gpus_per_trial: float = 0


def executor_problems(cfg) -> list[str]:
    """The problems with ``executor`` and ``ray`` of a built CompareConfig ``cfg``."""
    from tunewise.typed_config import did_you_mean
    p: list[str] = []
    if cfg.executor not in EXECUTORS:
        p.append(f"executor: unknown executor {cfg.executor!r} "
                 f"({did_you_mean(str(cfg.executor), EXECUTORS)})")
    r = cfg.ray
    if r.cpus_per_trial < 1:
        p.append(f"ray.cpus_per_trial: expected a whole number of CPUs >= 1, got "
                 f"{r.cpus_per_trial!r}")
    if r.gpus_per_trial < 0 or (r.gpus_per_trial > 1 and r.gpus_per_trial != int(r.gpus_per_trial)):
        p.append(f"ray.gpus_per_trial: expected 0, a fraction of one GPU (e.g. 0.5) or a whole "
                 f"number of GPUs, got {r.gpus_per_trial!r}")
    if r.address is not None and not str(r.address).strip():
        p.append("ray.address: expected a Ray address (e.g. auto or ray://HOST:10001) or null")
    return p
