"""Build a Task from a kind name, a preset, the data itself, or a saved config.

    make_task(None, examples)                 # kind inferred from the data, labels/types from it
    make_task("classification", labels=["neg", "pos"])
    make_task(preset="sentiment", examples=train)
    task_from_config(run["task"])             # inverse of Task.to_config()

Inference rule (``infer_task_kind``): any example with entities or tokens -> "ner"; any example
with a ``label`` -> "classification"; otherwise, when the final assistant answers take at most
``MAX_INFERRED_LABELS`` distinct short values that repeat -> "classification"; else
"generation".
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

from tunewise.data.problems import ERROR, Problem
from tunewise.data.records import Example
from tunewise.errors import ConfigError, DataError, UsageError
from tunewise.registry import Registry
from tunewise.tasks.base import PromptTemplate, Task, render_template
from tunewise.tasks.classification import SENTIMENT_PRESET, ClassificationTask
from tunewise.tasks.generation import GenerationTask
from tunewise.tasks.ner import NERTask, types_from_examples

KINDS = (ClassificationTask.kind, NERTask.kind, GenerationTask.kind)
#: at most this many distinct answers make unlabeled chat data a classification task
MAX_INFERRED_LABELS = 20
#: an answer longer than this (characters) is free text, not a label
MAX_LABEL_CHARS = 40

TOPIC_PRESET = PromptTemplate(
    system="Classify the topic of the text. Answer with exactly one of: {labels}.",
    user="{input}",
)


@dataclass
class Preset:
    """A named starting point: a task kind and its prompt (labels/types still come from data)."""

    #: task kind the preset builds
    kind: str
    #: prompt template; None = the task's default
    template: PromptTemplate | None = None
    #: labels (classification) or entity types (NER) when neither data nor caller give any
    default_labels: tuple[str, ...] = ()
    #: one line for `--help` listings
    description: str = ""


PRESETS: Registry[Preset] = Registry("task preset")
PRESETS.register("sentiment", Preset("classification", SENTIMENT_PRESET, ("negative", "positive"),
                                     "sentiment classification (labels from the data)"))
PRESETS.register("topic", Preset("classification", TOPIC_PRESET, (),
                                 "topic classification (labels from the data)"))
PRESETS.register("ner", Preset("ner", None, (), "named-entity recognition (types from the data)"))

#: the one list of task kinds: kind name -> Task class
TASK_KINDS: Registry[type[Task]] = Registry("task kind")
for _cls in (ClassificationTask, NERTask, GenerationTask):
    TASK_KINDS.register(_cls.kind, _cls)


def _natural_key(s: str):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", s) if t]


def sorted_labels(values) -> list[str]:
    """Distinct labels sorted naturally ("2" before "10"), so the order is stable across runs."""
    return sorted({str(v) for v in values}, key=_natural_key)


def _short(answer: str) -> bool:
    return 0 < len(answer) <= MAX_LABEL_CHARS and "\n" not in answer


def _answers(examples: Sequence[Example]) -> list[str]:
    return [(ex.reference if ex.reference is not None else ex.answer or "").strip()
            for ex in examples]


def inferred_kind_note(task: Task, examples: Sequence[Example]) -> str | None:
    """Why short answers were taken as generation when the kind was inferred: one distinct
    answer (one class) is no classification task, and it must not pass without a word."""
    if task.kind != GenerationTask.kind:
        return None
    answers = set(_answers(examples))
    if len(answers) != 1:
        return None
    return (f"every example has the same answer {next(iter(answers))[:40]!r}: with one class "
            "there is nothing to classify, so compare runs it as a generation task "
            f"({task.headline_metric}); for classification, use data with at least 2 labels")


def infer_task_kind(examples: Sequence[Example]) -> str:
    """"ner", "classification" or "generation" from what the examples carry (module docstring)."""
    examples = list(examples)
    if not examples:
        raise UsageError("cannot infer the task kind without examples",
                         fix="pass the task kind (classification, ner or generation)")
    if any(ex.entities is not None or ex.tokens is not None for ex in examples):
        return "ner"
    if any(ex.label is not None for ex in examples):
        return "classification"
    counts = Counter(_answers(examples))
    if (len(counts) >= 2 and len(counts) <= MAX_INFERRED_LABELS
            and all(_short(a) for a in counts) and len(examples) >= 2 * len(counts)):
        return "classification"
    return "generation"


def _template(template) -> PromptTemplate | None:
    if template is None or isinstance(template, PromptTemplate):
        return template
    if isinstance(template, dict):
        unknown = sorted(set(template) - {"system", "user"})
        if unknown:
            raise ConfigError([f"template: unknown field(s) {unknown}; use 'system' and 'user'"])
        return PromptTemplate(system=str(template.get("system", "") or ""),
                              user=str(template.get("user", "{input}") or "{input}"))
    raise ConfigError([f"template must be a mapping with 'system' and 'user', got "
                       f"{type(template).__name__}"])


def check_template(task: Task) -> None:
    """Render the template once so a bad placeholder fails now, naming the field."""
    fields = {"input": "x", **task.template_fields()}
    problems = []
    for part in ("system", "user"):
        text = getattr(task.template, part)
        try:
            render_template(text, **fields)
        except (KeyError, IndexError, ValueError, AttributeError) as e:
            problems.append(f"template.{part}: bad placeholder {e} in {text!r}; available: "
                            + ", ".join("{" + f + "}" for f in fields))
    if problems:
        raise ConfigError(problems)


def classification_label_problems(task: ClassificationTask,
                                  examples: Sequence[Example]) -> list[Problem]:
    """One error per example whose gold label is outside the task's labels."""
    allowed = set(task.labels)
    out = []
    for ex in examples:
        gold = task.gold(ex)
        if gold not in allowed:
            out.append(Problem(ERROR, "unknown_label",
                               f"label {gold!r} is not one of the task's labels {task.labels}",
                               fix="fix the label, or add it to the task's labels",
                               file=ex.source, line=ex.line, field="label"))
    return out


def validate_examples(task: Task, examples: Sequence[Example]) -> None:
    """Raise DataError listing every example the task cannot score (classification: labels
    outside the label set; NER: entity types outside the task's types)."""
    problems: list[Problem] = []
    if isinstance(task, ClassificationTask):
        problems = classification_label_problems(task, examples)
    elif isinstance(task, NERTask):
        allowed = set(task.types)
        for ex in examples:
            bad = sorted({e.type for e in ex.entities or () if e.type not in allowed})
            if bad:
                problems.append(Problem(ERROR, "unknown_entity_type",
                                        f"entity types {bad} are not in the task's types "
                                        f"{task.types}", fix="fix the data or add the types",
                                        file=ex.source, line=ex.line, field="entities"))
    if problems:
        where = ", ".join(p.where() for p in problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise DataError(f"{len(problems)} example(s) do not fit the {task.kind} task: "
                        f"{where}{more}", problems)


def make_task(kind: str | None = None, examples: Sequence[Example] = (), *,
              labels: Sequence[str] | None = None,
              template: PromptTemplate | dict | None = None,
              preset: str | None = None) -> Task:
    """A Task for ``examples``.

    - ``kind``: "classification" | "ner" | "generation"; None = the preset's kind, else inferred
      from ``examples`` (``infer_task_kind``).
    - ``labels``: classification labels / NER entity types; None = taken from ``examples``
      (sorted), else the preset's defaults.
    - ``template``: a PromptTemplate or ``{"system": ..., "user": ...}``; None = the preset's or
      the task's default.
    - ``preset``: a name in ``PRESETS`` ("sentiment", "topic", "ner").

    Raises UnknownNameError for an unknown kind/preset, ConfigError for an unusable label set or
    template, DataError when an example's label (or entity type) is outside the given labels.
    """
    examples = list(examples)
    pre = PRESETS.get(preset) if preset is not None else None
    if kind is not None:
        kind = TASK_KINDS.get(kind).kind
    if pre is not None and kind is not None and pre.kind != kind:
        raise ConfigError([f"preset {preset!r} is a {pre.kind} preset, but the task kind is "
                           f"{kind!r}"])
    kind = kind or (pre.kind if pre else None) or infer_task_kind(examples)
    tmpl = _template(template) or (pre.template if pre else None)
    given = [str(x) for x in labels] if labels is not None else None

    task: Task
    if kind == "classification":
        if given is None:
            golds = [ex.label if ex.label is not None else (ex.answer or "").strip()
                     for ex in examples]
            given = sorted_labels(g for g in golds if g != "") or \
                list(pre.default_labels if pre else ())
        if len(given) < 2:
            raise ConfigError([f"a classification task needs at least 2 labels; found "
                               f"{given or 'none'}"
                               + (" in the data" if examples and labels is None else "")])
        task = ClassificationTask(given, tmpl)
    elif kind == "ner":
        if given is None:
            given = types_from_examples(examples) or list(pre.default_labels if pre else ())
        if not given:
            raise ConfigError(["an NER task needs entity types: none found in the data; pass "
                               "labels=[...] (CLI: --labels)"])
        task = NERTask(given, tmpl)
    else:
        task = GenerationTask(tmpl)
    check_template(task)
    if examples and labels is not None:
        validate_examples(task, examples)
    return task


_FROM_CONFIG: dict[str, Callable[[dict, PromptTemplate | None], Task]] = {
    "classification": lambda c, t: ClassificationTask(
        c.get("labels") or [], t, headline_metric=c.get("headline_metric")),
    "ner": lambda c, t: NERTask(c.get("types") or [], t),
    "generation": lambda c, t: GenerationTask(t),
}


def task_from_config(config: dict) -> Task:
    """Rebuild a Task from ``Task.to_config()`` output (e.g. a run's ``run.json["task"]``)."""
    if not isinstance(config, dict) or "kind" not in config:
        raise ConfigError(["task config must be a mapping with a 'kind' field"])
    kind = TASK_KINDS.get(str(config["kind"])).kind
    if kind == "classification" and not config.get("labels"):
        raise ConfigError(["task.labels: a classification task config needs its labels"])
    if kind == "ner" and not config.get("types"):
        raise ConfigError(["task.types: an NER task config needs its entity types"])
    task = _FROM_CONFIG[kind](config, _template(config.get("template")))
    check_template(task)
    return task


def data_task(task: "str | Task | type[Task] | None", examples: Sequence[Example] = ()
              ) -> "Task | type[Task]":
    """What ``tunewise.data`` operations (split, clean, stats) need of a task: a Task, or the
    Task class for a kind name, or for the kind inferred from ``examples`` when ``task`` is None
    (generation when there are none). Raises UnknownNameError for an unknown kind."""
    if isinstance(task, Task) or (isinstance(task, type) and issubclass(task, Task)):
        return task
    if task is None:
        task = infer_task_kind(examples) if examples else GenerationTask.kind
    return TASK_KINDS.get(str(task))
