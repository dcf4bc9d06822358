"""The prompt arm: zero-shot or k-shot prompting of a loaded model (``prompting.predict``)."""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from tunewise.errors import UsageError
from tunewise.evaluation.arms.base import ArmResult, register, timed_predictions


def model_warm_up(task, lm, *, method: str, bf16) -> Callable[[list], Any]:
    """The one warm-up of a model arm: a 2-token prediction of the first example, untimed (the
    first forward pass pages the weights in and picks kernels)."""
    from tunewise.prompting.predict import predict

    def warm(batch):
        return predict(task, lm, batch, method=method, max_new_tokens=2, bf16=bf16,
                       progress=False)
    return warm


@register
class PromptArm:
    """Prompting of ``model`` with ``shots`` examples from ``shots_from`` before each input.

    - ``model``: a model name (None: the embedded model; loaded on first use), a LoadedModel,
      or a zero-argument callable returning one (``tunewise compare`` shares its base model).
    - ``shots``: k; ``selection``: "random", "balanced" or "nearest" (seeded by ``seed``).
    - ``method``, ``batch_size``, ``max_new_tokens``, ``bf16``, ``calibrate``, ``budget_from``:
      as in ``tunewise.prompting.predict``; ``calibrate="prior"`` estimates the prompt's label
      bias on ``calibrate_from`` (default: ``shots_from``, else ``budget_from``: the training
      examples), with shots chosen as the evaluated inputs' are.
    """

    kind = "prompt"

    def __init__(self, model: Any = None, shots: int = 0, *, shots_from: Sequence = (),
                 selection: str = "random", seed: int = 0, method: str = "auto",
                 batch_size: int = 32, max_new_tokens: int | None = None,
                 bf16: bool | None = None, calibrate: bool | str = False,
                 calibrate_from: Sequence = (), budget_from: Sequence = (),
                 name: str | None = None, memo: bool = True):
        if shots < 0:
            raise UsageError(f"--shots must be >= 0, got {shots}")
        if shots and not shots_from:
            raise UsageError(f"--shots {shots} needs examples to show",
                             fix="pass --shots-from FILE (or --train FILE)")
        from tunewise.prompting.calibration import resolve_calibration
        from tunewise.prompting.shots import SELECTIONS
        if selection not in SELECTIONS:
            raise UsageError(f"unknown shot selection {selection!r}",
                             fix=f"use one of: {', '.join(SELECTIONS)}")
        self.model, self.shots, self.shots_from = model, shots, list(shots_from)
        self.selection, self.seed, self.method = selection, seed, method
        self.batch_size, self.max_new_tokens, self.bf16 = batch_size, max_new_tokens, bf16
        self.calibrate, self.budget_from, self.memo = calibrate, list(budget_from), memo
        self.calibration = resolve_calibration(calibrate)
        self.calibrate_from = list(calibrate_from) or self.shots_from or self.budget_from
        self.name = name or ("zero-shot" if not shots else f"{shots}-shot")
        self._lm = self._task = None
        self.load_seconds = 0.0

    @classmethod
    def from_options(cls, options, *, train, shots_from=()) -> "PromptArm":
        return cls(options.model, **_prompt_kwargs(options, train, shots_from))

    # -- the model ---------------------------------------------------------------------------
    def _load(self):
        """(LoadedModel, Task the model was trained for or None)."""
        if self.model is None or isinstance(self.model, str):
            from tunewise.models import load_model
            return load_model(self.model, memo=self.memo), None
        return (self.model() if callable(self.model) else self.model), None

    def loaded(self):
        """The LoadedModel (loaded on first use; the time counts as ``load_seconds``)."""
        if self._lm is None:
            t = time.perf_counter()
            self._lm, self._task = self._load()
            self.load_seconds += time.perf_counter() - t
        return self._lm

    # -- predicting --------------------------------------------------------------------------
    def predict(self, task, examples, *, progress: bool = True) -> ArmResult:
        from tunewise.prompting.predict import predict, resolve_method
        lm = self.loaded()
        examples = list(examples)
        method = resolve_method(task, self.method)
        shot_lists: Any = ()
        if self.shots:
            from tunewise.prompting.shots import shots_for
            from tunewise.tasks import validate_examples
            validate_examples(task, self.shots_from)
            shot_lists = shots_for(examples, self.shots_from, self.shots,
                                   method=self.selection, seed=self.seed)
        calibrate = self.calibration if method == "score" else "none"
        sample = self._calibration_sample(task, shot_lists, examples) \
            if calibrate == "prior" else None

        def run(batch):
            return predict(task, lm, batch, shots=shot_lists, method=method,
                           batch_size=self.batch_size, max_new_tokens=self.max_new_tokens,
                           bf16=self.bf16, calibrate=calibrate, calibration=sample,
                           budget_from=self.budget_from, progress=progress)
        preds, timing = timed_predictions(
            run, examples, warm_up=model_warm_up(task, lm, method=method, bf16=self.bf16))
        timing["load_seconds"] += self.load_seconds
        note = task.unparsed_note(sum(p.pred is None for p in preds))
        extra = {"shots": self.shots, "seed": self.seed}
        if self.shots:
            extra["selection"] = self.selection
        return ArmResult(
            name=self.name, kind=self.kind, predictions=preds, timing=timing, model=lm.name,
            usage={"tokens_in": sum(p.tokens_in for p in preds),
                   "tokens_out": sum(p.tokens_out for p in preds)},
            settings={"shots": self.shots,
                      "shot_selection": self.selection if self.shots else None,
                      "method": method, "seed": self.seed, "batch_size": self.batch_size,
                      "bf16": _bf16_used(self.bf16, lm, preds),
                      "fp32_rechecked": sum(p.extra.get("precision") == "fp32" for p in preds)
                      if self.bf16 is not False else 0,
                      "calibrate": calibrate if calibrate != "none" else False},
            notes=[note] if note else [], extra=extra)


    def _calibration_sample(self, task, shot_lists, examples):
        """The in-domain inputs (with their shots) that ``prior`` calibration scores."""
        from tunewise.prompting.calibration import calibration_sample
        from tunewise.tasks import validate_examples
        validate_examples(task, self.calibrate_from)
        shared = shot_lists if self.selection != "nearest" else ()
        return calibration_sample(self.calibrate_from, task.gold, shots=shared, k=self.shots,
                                  selection=self.selection, exclude=examples, seed=self.seed)


def _prompt_kwargs(options, train, shots_from) -> dict:
    """PromptArm keyword arguments from ``EvalOptions`` (shots come from ``shots_from``, else
    ``train``; generation budgets from both)."""
    p = options.prompt
    pool = list(shots_from) if p.shots_from is not None else list(train)
    return {"shots": p.shots, "shots_from": pool, "selection": p.shot_selection,
            "seed": options.seed, "method": p.method, "batch_size": options.batch_size,
            "max_new_tokens": p.max_new_tokens, "bf16": p.bf16, "calibrate": p.calibrate,
            "budget_from": [*train, *(pool if p.shots else [])]}


def _bf16_used(bf16, lm, preds) -> bool:
    """Whether the predictions ran under bf16 (``bf16=None`` resolved as ``predict`` does)."""
    from tunewise.prompting.predict import resolve_bf16
    scored = any(p.extra.get("method") == "score" for p in preds)
    return resolve_bf16(bf16, lm) if scored else bool(bf16)
