"""The Arm protocol: anything that answers a Task's examples.

An arm kind is one module in this package that defines a class with ``kind`` (its registry
name) and ``predict(task, examples) -> ArmResult``, registered with ``@register``::

    from tunewise.evaluation.arms import ArmResult, register, timed_predictions
    from tunewise.tasks import Prediction

    @register
    class EchoArm:
        '''Answers every example with its own gold answer (a toy; README "Writing an arm").'''
        kind = "echo"

        def __init__(self, name: str = "echo"):
            self.name = name

        def predict(self, task, examples, *, progress=True):
            def run(batch):
                return [Prediction(gold=task.gold(ex), pred=task.gold(ex)) for ex in batch]
            preds, timing = timed_predictions(run, examples)
            return ArmResult(name=self.name, kind=self.kind, predictions=preds, timing=timing)

An arm that needs configuring from ``tunewise eval`` options also defines the classmethod
``from_options(options, *, train, shots_from)`` (``options``: an ``EvalOptions``; ``train`` /
``shots_from``: the examples read from those options); ``evaluate(data, arm="echo")`` then
finds it in the registry. Arms that load a model and know their own task (a fine-tuned run)
may define ``own_task()``.

``tunewise eval`` runs one arm; ``tunewise compare`` runs many on the same test examples. Every
arm's timing is measured the same way (``timed_predictions``: an untimed warm-up on the first
example when the arm has one, then the prediction loop alone) and its predictions are written by
one writer (``tunewise.evaluation.predictions``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Protocol, Sequence, runtime_checkable



@dataclass
class ArmResult:
    """What one arm produced on a list of examples."""

    #: display name ("zero-shot", "4-shot", "fine-tuned @64", "gpt-4.1-mini 0-shot"...)
    name: str
    #: registry kind of the arm ("majority", "classical", "prompt", "finetuned", "remote"...)
    kind: str
    #: one ``tasks.base.Prediction`` per example, in input order
    predictions: list
    #: examples_per_second, seconds (prediction loop only), load_seconds (loading + warm-up);
    #: an arm that trains also reports train_seconds
    timing: dict = field(default_factory=dict)
    #: token usage: tokens_in, tokens_out (totals); remote arms add requests, cost_usd...
    usage: dict = field(default_factory=dict)
    #: model display name (None for arms without one)
    model: str | None = None
    #: the settings the arm ran with (JSON-able), recorded in results
    settings: dict = field(default_factory=dict)
    #: things a reader should know (unparseable answers, retries...)
    notes: list[str] = field(default_factory=list)
    #: anything else an arm kind records (JSON-able): run_dir, epochs, majority_label...
    extra: dict = field(default_factory=dict)


@runtime_checkable
class Arm(Protocol):
    """An arm: ``predict(task, examples)`` answers every example through ``task``."""

    kind: ClassVar[str]
    name: str

    def predict(self, task, examples: Sequence, *, progress: bool = True) -> ArmResult: ...


#: arm kind -> class; filled by ``@register`` in each arm module
ARM_KINDS: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make ``cls`` available under ``cls.kind``."""
    kind = getattr(cls, "kind", None)
    if not kind or not isinstance(kind, str):
        raise TypeError(f"{cls.__name__}: an arm class needs a string `kind`")
    if kind in ARM_KINDS and ARM_KINDS[kind] is not cls:
        raise TypeError(f"arm kind {kind!r} registered twice ({ARM_KINDS[kind].__name__}, "
                        f"{cls.__name__})")
    ARM_KINDS[kind] = cls
    return cls


def timed_predictions(run: Callable[[list], list], examples: Sequence, *,
                      warm_up: Callable[[list], Any] | None = None) -> tuple[list, dict]:
    """The one timing rule: ``warm_up(examples[:1])`` untimed (first-call allocation, kernel
    choice), then ``run(examples)`` timed. Returns (predictions, timing)."""
    examples = list(examples)
    load_seconds = 0.0
    if warm_up is not None and examples:
        t = time.perf_counter()
        warm_up(examples[:1])
        load_seconds = time.perf_counter() - t
    t0 = time.perf_counter()
    preds = run(examples)
    seconds = time.perf_counter() - t0
    return preds, {"examples_per_second": len(preds) / seconds if seconds > 0 else None,
                   "seconds": seconds, "load_seconds": load_seconds}
