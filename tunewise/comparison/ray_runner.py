"""``executor: ray``: compare's fine-tuning trials as Ray tasks (``pip install 'tunewise[ray]'``).

A compare is many independent trials; Ray (not a scheduler of ours) places them on the CPUs and
GPUs of this machine or of a cluster, each task asking for ``ray.cpus_per_trial`` CPUs and
``ray.gpus_per_trial`` GPUs. What is sent: every UNCACHED fine-tuning arm of the plan (and the
learning-rate search's trial runs), as the arm object itself: plain data (its training examples,
task, training settings and run folder), with this process's callbacks replaced by a printer on
the worker. A worker trains the run folder under OUT (resuming it from its checkpoint when an
earlier compare was interrupted), prompts the test examples with it, and returns the
``ArmResult`` and its raw record. This process keeps each one as it arrives, exactly as a local
run does (predictions, then the cached record in OUT/arms: an interrupted distributed compare
resumes like a local one), runs the other arms itself meanwhile (they share its loaded base
model), and returns the records in plan order, so results.json is built as by ``local``.

On a cluster, OUT must be a folder every node sees at the same absolute path (shared storage),
and each node needs tunewise and the base model (its cache or hub access) installed.
"""
from __future__ import annotations

import copy
import dataclasses
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from tunewise.comparison.arm_runner import ArmRunner, raw_record
from tunewise.comparison.config import KNOBS
from tunewise.comparison.executor_config import RayConfig
from tunewise.errors import OutputError, TunewiseError, UsageError
from tunewise.knobs import knob_style


def is_trial(p) -> bool:
    """Whether a planned arm is sent to Ray: the arms that train (the fine-tuning runs). The
    others run here: they are fast, or share this process's loaded base model."""
    return getattr(p.arm, "training", None) is not None


def require_ray():
    """The ``ray`` module, or a UsageError naming the extra that installs it."""
    try:
        import ray
    except ImportError as e:
        raise UsageError(f"executor: ray needs the Ray package, which is not installed ({e})",
                         fix="pip install 'tunewise[ray]', or set executor: local") from e
    return ray


def join_ray(settings: RayConfig, say) -> tuple[Any, bool]:
    """(ray, started): Ray as it is when this process already did ``ray.init`` (a test, a
    notebook; started False), else after ``ray.init(address=ray.address)`` (null: RAY_ADDRESS,
    else the cluster ``ray start`` began here, else a new local instance)."""
    ray = require_ray()
    if ray.is_initialized():
        return ray, False
    where = settings.address or os.environ.get("RAY_ADDRESS") or "this machine"
    say(f"ray: joining the Ray cluster at {where}" if where != "this machine" else
        "ray: joining the Ray cluster `ray start` began here, else starting a local instance")
    try:
        ray.init(address=settings.address, logging_level="WARNING")
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise UsageError(f"executor: ray could not join the Ray cluster at {where}: {e}",
                         fix="start it (ray start --head), set ray.address or RAY_ADDRESS to "
                             "its address, or set executor: local") from e
    return ray, True


def _worker_say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)   # Ray shows a worker's stderr on the driver


def worker_arm(arm):
    """A copy of a fine-tuning arm fit to send: this process's callbacks replaced by a printer
    on the worker (no progress bars), its run folder an absolute path (a worker's current
    folder is not this one's)."""
    sent = copy.copy(arm)
    sent.training = dataclasses.replace(arm.training, say=_worker_say, progress=False)
    sent.run = Path(arm.run).resolve()
    return sent


def run_trial(arm, task, examples: Sequence, wall_deadline: float | None, threads: int) -> dict:
    """The Ray task: train and predict one arm on a worker. Returns plain data: ``status``
    ``done`` (with ``result`` and ``record``), ``failed`` (a typed error: ``failure``),
    ``output-error`` (a file could not be written) or ``late`` (started past the deadline)."""
    if wall_deadline is not None and time.time() > wall_deadline:
        return {"status": "late"}
    import torch
    torch.set_num_threads(max(1, int(threads)))     # the trial's CPU request
    t0 = time.perf_counter()
    try:
        with knob_style(KNOBS):                    # fix texts name compare's settings
            result = arm.predict(task, examples, progress=False)
    except OutputError as e:
        return {"status": "output-error", "message": e.message, "fix": e.fix}
    except TunewiseError as e:
        return {"status": "failed", "failure": {"error": type(e).__name__, "reason": e.message,
                                                "fix": e.fix, "exit_code": e.exit_code}}
    rec = raw_record(result, task)                 # timing measured on the worker's device
    rec["seconds"] = time.perf_counter() - t0
    return {"status": "done", "result": result, "record": rec}


_REMOTE_TRIAL = None


@dataclass
class RayArmRunner(ArmRunner):
    """``ArmRunner`` with the uncached fine-tuning trials sent to Ray (all at once: Ray queues
    what does not fit), the other arms run here meanwhile; each trial kept as it finishes."""

    settings: RayConfig = dataclasses.field(default_factory=RayConfig)
    #: (ray, started) once joined (``join_ray``): the lr search and the arms share one session
    session: Any = dataclasses.field(default=None, repr=False)

    def _ray(self):
        if self.session is None:
            self.session = join_ray(self.settings, self.say)
        return self.session[0]

    def close(self) -> None:
        """Shut down the Ray instance this runner started (one it joined is left running)."""
        if self.session is not None and self.session[1]:
            self.session[0].shutdown()
        self.session = None

    def predict_trials(self, arms: list, task, examples: list) -> list:
        """The ``ArmResult``s of fine-tuning ``arms`` (the lr search's trials) on ``examples``,
        trained on Ray at once, in order; a typed error in one is raised here."""
        ray, r = self._ray(), self.settings
        self.say(f"lr search: {len(arms)} trial runs sent to Ray ({r.cpus_per_trial} CPU, "
                 f"{r.gpus_per_trial:g} GPU each)")
        task_ref, ex_ref = ray.put(task), ray.put(examples)
        refs = [self._send(ray, a, a.name, task_ref, ex_ref, None) for a in arms]
        try:
            outs = ray.get(refs)
        except BaseException:        # interrupted: the finished trial runs are reused later
            for ref in refs:
                ray.cancel(ref, force=True)
            raise
        for out in outs:
            if out["status"] != "done":
                f = out.get("failure") or {"reason": out.get("message"), "fix": out.get("fix"),
                                           "exit_code": 2}
                err = (UsageError if f["exit_code"] == 2 else TunewiseError)(f["reason"],
                                                                            fix=f["fix"])
                raise err
        return [out["result"] for out in outs]

    def run_all(self, planned: list) -> list[dict]:
        try:
            return self._run_all(planned)
        finally:
            self.close()

    def _run_all(self, planned: list) -> list[dict]:
        labels = [f"[{i}/{len(planned)}] {p.name}" for i, p in enumerate(planned, 1)]
        sent = {i for i, p in enumerate(planned) if is_trial(p) and not self.is_cached(p)}
        if not sent:
            return super().run_all(planned)
        got: dict[int, dict] = {}
        ray = self._ray()
        pending = self._submit(ray, planned, labels, sent)
        try:
            for i, p in enumerate(planned):
                if i not in sent:
                    got[i] = self.run_one(labels[i], p)
                    self._collect(ray, pending, planned, labels, got, wait=False)
            while pending:
                self._collect(ray, pending, planned, labels, got, wait=True)
        finally:                     # interrupted: the finished trials are already kept
            for ref in pending:
                ray.cancel(ref, force=True)
        order = {p.name: i for i, p in enumerate(planned)}
        self.skipped.sort(key=order.__getitem__)
        self.failed.sort(key=lambda f: order[f["name"]])
        return [got[i] for i in sorted(got) if got[i] is not None]

    def _send(self, ray, arm, name: str, task, examples, wall):
        r = self.settings
        global _REMOTE_TRIAL
        _REMOTE_TRIAL = _REMOTE_TRIAL or ray.remote(run_trial)   # exported to Ray once
        return _REMOTE_TRIAL.options(
            num_cpus=r.cpus_per_trial, num_gpus=r.gpus_per_trial, name=f"tunewise {name}"
        ).remote(worker_arm(arm), task, examples, wall, r.cpus_per_trial)

    def _submit(self, ray, planned, labels, sent) -> dict:
        r = self.settings
        task, test = ray.put(self.task), ray.put(self.test)
        wall = (None if self.deadline is None
                else time.time() + self.deadline - time.perf_counter())
        pending = {}
        for i in sorted(sent):
            self.say(f"{labels[i]}: sent to Ray ({r.cpus_per_trial} CPU, "
                     f"{r.gpus_per_trial:g} GPU)")
            pending[self._send(ray, planned[i].arm, planned[i].name, task, test, wall)] = i
        return pending

    def _collect(self, ray, pending: dict, planned, labels, got: dict, *, wait: bool) -> None:
        """Keep the trials that have finished (``wait``: at least one, blocking)."""
        if not pending:
            return
        done, _ = ray.wait(list(pending), num_returns=1 if wait else len(pending),
                           timeout=None if wait else 0)
        for ref in done:
            i = pending.pop(ref)
            p, out = planned[i], _get(ray, ref)
            if out["status"] == "late":
                self.skipped.append(p.name)
            elif out["status"] == "failed":
                self.fail(labels[i], {"name": p.name, "kind": p.role.kind, "status": "failed",
                                      **out["failure"]})
            elif out["status"] == "output-error":
                raise OutputError(out["message"], fix=out["fix"])
            else:
                rec = out["record"]
                rec["run_dir"] = str(p.arm.run)       # as a local run records it
                got[i] = self.keep(labels[i], p, self.inputs(p), out["result"], rec)
                if p.model:
                    got[i]["model"] = p.model


def _get(ray, ref) -> dict:
    """A trial's outcome; a trial Ray could not finish (its worker or node died: out of memory,
    a lost node) is a failed arm like a typed error, so the other arms go on. An exception in
    tunewise itself is raised here as it would be locally."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError:
        raise
    except ray.exceptions.RayError as e:
        return {"status": "failed", "failure": {
            "error": type(e).__name__, "reason": "Ray could not finish the trial: "
                                               + (str(e).strip().splitlines() or [""])[0][:300],
            "fix": "rerun the same command (the trial resumes from its checkpoint); if a worker "
                   "ran out of memory, run fewer trials per node (raise ray.cpus_per_trial)",
            "exit_code": 1}}
