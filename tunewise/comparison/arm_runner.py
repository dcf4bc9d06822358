"""Compare's one arm runner: runs planned arms in order, reuses a cached result, stops starting
arms past the deadline, records an arm that fails with a typed error and goes on, and keeps
each finished arm (its predictions and its cached raw record) as soon as it ends.
``executor: ray`` runs the fine-tuning trials through ``ray_runner.RayArmRunner``, a subclass
that keeps their results the same way."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from tunewise.arm_record import ArmRole
from tunewise.comparison import findings, remote_arms
from tunewise.comparison.cache import ArmCache, examples_fingerprint
from tunewise.comparison.config import KNOBS
from tunewise.comparison.outputs import predictions_path
from tunewise.comparison.plan import PlannedArm
from tunewise.errors import OutputError, TunewiseError
from tunewise.knobs import knob_style

#: ArmResult.timing keys a results.json arm keeps
RECORD_TIMING = ("examples_per_second", "seconds", "train_seconds", "train_examples_per_second",
                 "peak_memory_mb")


class _OutOfTime(Exception):
    pass


class _ArmFailed(Exception):
    def __init__(self, record: dict):
        super().__init__(record["reason"])
        self.record = record


def failure_record(p: PlannedArm, e: TunewiseError) -> dict:
    """results.json's record of an arm that could not run: a typed error inside it (a training
    example too long for a fixed max_length, an unreachable server, a model that cannot load)
    ends that arm only; the comparison covers the others, and this says why and what to do."""
    return {"name": p.name, "kind": p.role.kind, "status": "failed",
            "error": type(e).__name__, "reason": e.message, "fix": e.fix,
            "exit_code": e.exit_code}


def failures_warning(failed: list[dict]) -> str:
    return (f"{len(failed)} arm(s) could not run and are left out of the comparison: "
            + "; ".join(f"{f['name']} ({f['reason'].splitlines()[0][:160]})" for f in failed)
            + " (results.json failed_arms: the reasons and fixes)")


@dataclass
class ArmRunner:
    """Runs planned arms in order: a cached result is reused; past the deadline no new arm
    starts; each result is cached, its predictions written, and reported as a raw record."""

    task: Any
    test: list
    metric: str
    cache: ArmCache
    out: Path
    say: Callable[[str], None]
    deadline: float | None = None
    on_arm_done: Callable[[str, bool], None] | None = None
    progress: bool = True
    skipped: list = field(default_factory=list)
    #: arms that could not run: ``failure_record``s (results.json ``failed_arms``)
    failed: list = field(default_factory=list)

    def inputs(self, p: PlannedArm) -> dict:
        """The cache key inputs of ``p``: its own inputs, the test sample and the task."""
        return {"test": examples_fingerprint(self.test), "task": self.task.to_config(),
                **p.inputs}

    def is_cached(self, p: PlannedArm) -> bool:
        return self.cache.get(p.name, self.inputs(p)) is not None

    def run_all(self, planned: list[PlannedArm]) -> list[dict]:
        raws = [self.run_one(f"[{i}/{len(planned)}] {p.name}", p)
                for i, p in enumerate(planned, 1)]
        return [r for r in raws if r is not None]

    def run_one(self, label: str, p: PlannedArm) -> dict | None:
        """``p``'s raw record (reused or run), or None: skipped past the deadline, or failed."""
        if self.skipped:
            self.skipped.append(p.name)
            return None
        try:
            rec = self.run(label, p, self.inputs(p))
        except _OutOfTime:
            self.skipped.append(p.name)
            return None
        except _ArmFailed as f:
            self.fail(label, f.record)
            return None
        if p.model:          # several base models: each arm names its own
            rec["model"] = p.model
        return rec

    def fail(self, label: str, record: dict) -> None:
        self.failed.append(record)
        self.say(f"{label}: failed: {record['reason']}"
                 + (f" (fix: {record['fix']})" if record.get("fix") else "")
                 + "; the other arms go on")

    def run(self, label: str, p: PlannedArm, inputs: dict) -> dict:
        cached = self.cache.get(p.name, inputs)
        if cached is not None:
            self.say(f"{label}: reused the finished result")
            self._done(p.name, True)
            return {**cached, "reused": True}
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise _OutOfTime
        self.say(f"{label}: running")
        t0 = time.perf_counter()
        try:
            with knob_style(KNOBS):        # fix texts name compare's settings
                result = p.arm.predict(self.task, self.test, progress=self.progress)
        except OutputError:                # nothing else could be written either
            raise
        except TunewiseError as e:         # this arm cannot run; the others still can
            raise _ArmFailed(failure_record(p, e)) from e
        rec = raw_record(result, self.task)
        rec["seconds"] = time.perf_counter() - t0
        return self.keep(label, p, inputs, result, rec)

    def keep(self, label: str, p: PlannedArm, inputs: dict, result, rec: dict) -> dict:
        """Write the predictions of ``p``'s ``ArmResult`` and cache its raw record ``rec``."""
        from tunewise.evaluation.predictions import write_predictions
        write_predictions(predictions_path(self.out, p.name), self.task, self.test,
                          result.predictions, header={"arm": p.name, "model": result.model,
                                                      "settings": result.settings})
        self.cache.put(p.name, inputs, rec)
        value = findings.metric_function(self.task, self.metric)(
            [self.task.gold(ex) for ex in self.test], rec["preds"])
        self.say(f"{label}: {self.metric} {value:.3f} ({rec['seconds']:.0f} s)")
        self._done(p.name, False)
        return {**rec, "reused": False}

    def _done(self, name: str, reused: bool) -> None:
        if self.on_arm_done:
            self.on_arm_done(name, reused)


def raw_record(result, task) -> dict:
    """The raw record of an ``ArmResult`` (what the cache stores, and what is read once as an
    ``ArmRecord`` to be scored): name, kind (results.json's, ``ArmRole``), JSON predictions, the
    arm's extra fields, timing (with the device it was measured on) and mean tokens."""
    role = ArmRole.parse(result.kind, where=f"arm {result.name}")
    rec = {"name": result.name, "kind": role.kind,
           "preds": [task.to_json(p.pred) for p in result.predictions], **result.extra}
    from tunewise.evaluation.confidence import label_logprobs
    probs = label_logprobs(task, result.predictions)
    if probs is not None:        # the cascade's confidence (comparison.cascade); not in results
        rec["label_logprobs"] = probs
    if result.timing:
        rec["timing"] = {**{k: result.timing[k] for k in RECORD_TIMING if k in result.timing},
                         "hardware": _hardware(role)}
    if "tokens_in" in result.usage:
        n = max(len(result.predictions), 1)
        rec["tokens"] = {"prompt": result.usage["tokens_in"] / n,
                         "output": result.usage["tokens_out"] / n}
        if "train_total" in result.usage:
            rec["tokens"]["train_total"] = result.usage["train_total"]
    if role is ArmRole.REMOTE:          # an arm that asked a server: its measured usage
        rec.update(shots=result.settings.get("shots", 0), model=result.model,
                   base_url=result.settings.get("base_url"),
                   usage=remote_arms.usage_record(result))
        if rec["shots"]:
            rec["selection"] = result.settings.get("shot_selection")
    return rec


def _hardware(role: ArmRole) -> str:
    """Where an arm's timing was measured: a remote model on its servers; the local language
    model (prompted, fine-tuned, or its features probed) on the device compare loads it on
    (``auto``); the baselines on the CPU."""
    from tunewise.models.device import device_label, resolve_device
    if role is ArmRole.REMOTE:
        return "remote"
    return device_label(None if role.uses_base_model else resolve_device("cpu"))
