"""The Task: how an input becomes a prompt, how output becomes an answer, how answers are scored.

Prompting, training and evaluation all go through the same Task, so every arm is compared on
exactly the same prompts and metrics.

Prompt rule (``prompt_messages``): the task's system instruction, then the k shots as earlier
user/assistant turns, then the example's own conversation up to its final assistant answer. If the
example already carries its own system message (a chat JSONL the user wrote), that one is kept and
the task's instruction is not added.
"""
from __future__ import annotations

import string
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

from tunewise.data.records import Example


class _PlainFields(string.Formatter):
    """``str.format`` that allows plain field names only: ``{input.__class__}`` or
    ``{labels[0]}`` in a user's template is refused, so a template reaches no attribute."""

    def get_field(self, field_name, args, kwargs):
        if "." in field_name or "[" in field_name:
            raise ValueError(f"{{{field_name}}}: a template field is a plain name; attribute "
                             "and index access are not allowed")
        return super().get_field(field_name, args, kwargs)


_FORMATTER = _PlainFields()


def render_template(text: str, **fields: str) -> str:
    """``text`` with its ``{field}`` placeholders filled from ``fields`` (plain names only;
    ``{{`` and ``}}`` are literal braces, as in ``str.format``)."""
    return _FORMATTER.vformat(text, (), fields)


@dataclass
class PromptTemplate:
    """Configurable prompt. ``{input}`` is the example text; tasks add their own fields
    (``{labels}`` for classification, ``{types}`` for NER)."""

    system: str = ""
    user: str = "{input}"

    def to_dict(self) -> dict:
        return {"system": self.system, "user": self.user}


class Task(ABC):
    #: "classification" | "ner" | "generation"
    kind: str = ""
    #: the metric used for early stopping, crossovers and recommendations
    headline_metric: str = ""
    #: metrics where higher is better (all of ours)

    def __init__(self, template: PromptTemplate | None = None):
        self.template = template or self.default_template()

    # -- prompts -----------------------------------------------------------------------------
    @abstractmethod
    def default_template(self) -> PromptTemplate: ...

    def template_fields(self) -> dict[str, str]:
        """Extra fields for the template (``{labels}``, ``{types}``...)."""
        return {}

    def render_user(self, ex: Example) -> str:
        return render_template(self.template.user, input=ex.input, **self.template_fields())

    def system_prompt(self) -> str:
        return render_template(self.template.system, **self.template_fields())

    def prompt_messages(self, ex: Example, shots: Sequence[Example] = ()) -> list[dict]:
        """Chat messages up to (not including) the answer, as dicts for ``apply_chat_template``."""
        own_system = ex.system
        msgs: list[dict] = []
        if own_system:
            msgs.append({"role": "system", "content": own_system})
        elif self.system_prompt():
            msgs.append({"role": "system", "content": self.system_prompt()})
        for s in shots:
            msgs.append({"role": "user", "content": self.render_user(s)})
            msgs.append({"role": "assistant", "content": self.target(s)})
        msgs.extend(self._conversation_before_answer(ex))
        return msgs

    def _conversation_before_answer(self, ex: Example) -> list[dict]:
        """The example's turns (minus system) before its final assistant message; the last user
        turn is rendered through the template."""
        turns = [m for m in ex.messages if m.role != "system"]
        if turns and turns[-1].role == "assistant":
            turns = turns[:-1]
        out = []
        last_user = max((i for i, m in enumerate(turns) if m.role == "user"), default=None)
        for i, m in enumerate(turns):
            content = self.render_user(ex) if i == last_user else (m.content or "")
            out.append({"role": m.role, "content": content})
        return out

    # -- answers -----------------------------------------------------------------------------
    @abstractmethod
    def target(self, ex: Example) -> str:
        """The answer text the model should produce for ``ex`` (what training learns)."""

    @abstractmethod
    def gold(self, ex: Example) -> Any:
        """The structured gold answer (label / entity list / reference string)."""

    @abstractmethod
    def parse(self, text: str, ex: Example) -> Any:
        """Turn raw model output into a structured answer comparable with ``gold``."""

    # -- scores ------------------------------------------------------------------------------
    @abstractmethod
    def metrics(self, golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
        """Corpus-level metrics; must include ``headline_metric``."""

    def example_scores(self, golds: Sequence[Any], preds: Sequence[Any]) -> list[float]:
        """Per-example scores for paired tests (default: exact agreement)."""
        return [float(g == p) for g, p in zip(golds, preds)]

    # -- data: what splitting, de-duplication, cleaning and profiling need ----------------------
    # Class-level: they depend on the kind only, so ``tunewise.data`` can use a Task class before
    # any label set is known (``tasks.factory.data_task``).

    #: what ``stratum`` balances on, named in split manifests; None = nothing (one stratum)
    stratified_by: str | None = None
    #: examples carry a gold label that copies of one input can disagree on (conflict checks,
    #: label distributions, the label named in cleaning logs)
    has_labels: bool = False
    #: the answer belongs to an example's identity when de-duplicating (one prompt, many answers)
    answer_in_identity: bool = False

    @classmethod
    def stratum(cls, ex: Example) -> str:
        """The key splits and samplers stratify on (one stratum for everything by default)."""
        return "all"

    @classmethod
    def label_keys(cls, ex: Example) -> list[str]:
        """What a label distribution counts for ``ex`` (none by default)."""
        return []

    @classmethod
    def gold_key(cls, ex: Example) -> str:
        """The gold answer as a string precise enough to tell conflicting labels apart."""
        if ex.label is not None:
            return str(ex.label)
        if ex.reference is not None:
            return ex.reference
        return (ex.answer or "").strip()

    @classmethod
    def answer_text(cls, ex: Example) -> str | None:
        """The answer text an example must have to be usable (cleaning drops empty ones)."""
        return ex.answer

    # -- (de)serialisation --------------------------------------------------------------------
    def to_config(self) -> dict:
        return {"kind": self.kind, "template": self.template.to_dict()}

    def for_fine_tuning(self, label_list_max: int | None) -> "Task":
        """The task a fine-tuned model is trained, and then prompted, with (``tunewise compare``'s
        fine-tuning arms): this one, unless a kind leaves out of its fine-tuning prompt what the
        model learns from the examples anyway (classification: the label list)."""
        return self

    # -- what prompting, evaluation and comparison ask of a task (no ``kind ==`` there) ------
    #: label scoring (log-likelihood of each answer of a closed set) applies
    can_score_labels: bool = False
    #: the TF-IDF + logistic-regression arm applies
    supports_classical: bool = False
    #: generation stops at these strings besides end-of-turn / EOS
    stop_sequences: tuple[str, ...] = ()
    #: stop a generated row once its last n tokens repeat its prompt (0: never)
    echo_stop_ngram: int = 0
    #: generation budget (tokens) when no answered example gives one
    default_answer_tokens: int = 128
    #: the headline metric is chosen by label balance (else it is ``headline_metric``)
    headline_by_balance: bool = False
    #: why ``headline_metric`` is the headline (when not chosen by balance)
    headline_reason: str = ""
    #: title of the per-class / per-type report
    report_title: str = "per class"

    def default_method(self) -> str:
        """How ``predict`` answers with ``method="auto"``: "score" or "generate"."""
        return "score" if self.can_score_labels else "generate"

    def fixed_answer_budget(self, tokenizer) -> int | None:
        """A generation budget that does not depend on answered examples (classification: from
        the labels), or None (then the longest answer seen decides, else
        ``default_answer_tokens``)."""
        return None

    def class_names(self) -> list[str]:
        """Labels (classification) / entity types (NER); [] when the task has none."""
        return []

    def majority_answer(self, train_golds: Sequence[Any]) -> dict | None:
        """The majority baseline: {"prediction", "note", ...extra record fields}, or None when
        the task has no majority answer (generation)."""
        return None

    def report(self, golds: Sequence[Any], preds: Sequence[Any]) -> dict:
        """Per-class (per-type) scores; {} when the task has none."""
        return {}

    def confusion(self, golds: Sequence[Any], preds: Sequence[Any]) -> dict | None:
        """{"labels", "columns", "matrix"} (rows gold, columns predicted), or None."""
        return None

    def class_counts(self, golds: Sequence[Any]) -> dict:
        """{class: count} of gold answers ({} when answers are not classes)."""
        return {}

    def is_correct(self, gold: Any, pred: Any) -> bool | None:
        """Whether ``pred`` is right (None when correctness is graded, not yes/no)."""
        return None

    def unparsed_note(self, n_unparsed: int) -> str | None:
        """What to tell a reader about ``n_unparsed`` answers that parsed to None."""
        return None

    def to_json(self, value: Any) -> Any:
        """A gold / prediction as JSON (NER: {type, start, end, text} dicts)."""
        return value

    def from_json(self, value: Any) -> Any:
        """Inverse of ``to_json``."""
        return value


@dataclass
class Prediction:
    """One arm's answer for one example (what predictions JSONL stores)."""

    gold: Any
    pred: Any
    raw: str = ""
    latency_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    extra: dict = field(default_factory=dict)
