"""Named-entity recognition as text generation.

Output format the model learns and is asked for (``ner_target_text``, shared with the CoNLL
reader): one entity per line, ``type: text``, in order of appearance; ``none`` when the text has
no entities::

    person: Barack Obama
    location: Paris

The parser is lenient with what small models actually write (bullets, numbering, ``Type - text``,
``text (type)``, JSON lists/objects, quotes, case differences, comma-joined lists) and maps every
entity text back to a token span of ``ex.tokens``. Unknown types and texts that do not occur in the
tokens are dropped (the optional ``dropped`` list says why); a text mentioned twice maps to its
first and then its second occurrence (a span is claimed once).

Scoring is entity-level exact span match (type, start, end), micro-averaged, exactly as
``seqeval`` scores IOB2 tag sequences in its default mode (``spans_from_tags`` reproduces
seqeval's chunking, including its treatment of ill-formed sequences).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Iterable, Sequence

from tunewise.data.formats.conll import ner_target_text  # the one target format
from tunewise.data.records import Entity, Example
from tunewise.errors import ConfigError
from tunewise.tasks.base import PromptTemplate, Task
from tunewise.tasks.ner_parse import parse_entities, spans_from_tags, tags_from_spans
from tunewise.tasks.ner_scoring import NERMetric, example_f1, ner_metrics, ner_report

__all__ = ["NERMetric", "NERTask", "example_f1", "ner_metrics", "ner_report", "parse_entities",
           "spans_from_tags", "tags_from_spans", "types_from_examples"]


# -- the task ----------------------------------------------------------------------------------

class NERTask(Task):
    kind = "ner"
    headline_metric = "f1"

    def __init__(self, types: Sequence[str], template: PromptTemplate | None = None):
        types = [str(t) for t in types]
        problems = []
        if not types:
            problems.append("an NER task needs at least one entity type")
        dup = sorted(t for t, c in Counter(types).items() if c > 1)
        if dup:
            problems.append(f"duplicate entity types: {dup}")
        if problems:
            raise ConfigError(problems)
        self.types = types
        super().__init__(template)

    def default_template(self) -> PromptTemplate:
        return PromptTemplate(
            system=("Extract the named entities from the text. Entity types: {types}.\n"
                    "Write one entity per line as `type: text`, copying the text exactly as it "
                    "appears, in order of appearance. If there are no entities, write `none`."),
            user="{input}")

    def template_fields(self) -> dict[str, str]:
        return {"types": ", ".join(self.types)}

    @staticmethod
    def tokens(ex: Example) -> list[str]:
        """The tokens spans refer to: ``ex.tokens``, else the input split on whitespace."""
        return list(ex.tokens) if ex.tokens is not None else (ex.input or "").split()

    def gold(self, ex: Example) -> list[Entity]:
        if ex.entities is not None:
            return sorted(ex.entities, key=lambda e: (e.start, e.end))
        return self.parse(ex.answer or "", ex)

    def target(self, ex: Example) -> str:
        if ex.entities is not None:
            return ner_target_text(ex.entities)
        return ner_target_text(self.gold(ex))

    def parse(self, text: str, ex: Example, *, dropped: list | None = None) -> list[Entity]:
        return parse_entities(text, self.tokens(ex), self.types, dropped=dropped)

    def metrics(self, golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
        return ner_metrics(golds, preds)

    def report(self, golds: Sequence[Any], preds: Sequence[Any]) -> dict:
        """Per-type report (see ``ner_report``)."""
        return ner_report(golds, preds, self.types)

    def metric_functions(self) -> dict:
        return {name: NERMetric(name) for name in ("f1", "precision", "recall")}

    def example_scores(self, golds: Sequence[Any], preds: Sequence[Any]) -> list[float]:
        return [example_f1(g, p) for g, p in zip(golds, preds)]

    stratified_by = "entity types present"
    has_labels = True

    @classmethod
    def stratum(cls, ex: Example) -> str:
        types = sorted({e.type for e in (ex.entities or [])})
        return "|".join(types) if types else "none"

    @classmethod
    def label_keys(cls, ex: Example) -> list[str]:
        return sorted({e.type for e in (ex.entities or [])}) or ["none"]

    @classmethod
    def gold_key(cls, ex: Example) -> str:
        if ex.entities is not None:
            return "|".join(f"{e.type}:{e.start}:{e.end}"
                            for e in sorted(ex.entities, key=lambda e: e.key()))
        return super().gold_key(ex)

    def to_config(self) -> dict:
        return {**super().to_config(), "types": self.types}

    # -- Task members for prompting / evaluation / comparison --------------------------------
    #: entity lists end at a blank line
    stop_sequences = ("\n\n",)
    #: an entity copied from the input is shorter; a model reciting the input is not
    echo_stop_ngram = 10
    #: WNUT-17 training answers: at most 48 tokens, 99% at most 25
    default_answer_tokens = 64
    headline_reason = "entity-level exact-span F1 (NER)"
    report_title = "per entity type"

    def class_names(self) -> list[str]:
        return list(self.types)

    def majority_answer(self, train_golds: Sequence[Any]) -> dict:
        return {"prediction": [], "note": "never claims an entity"}

    def to_json(self, value: Any) -> Any:
        if isinstance(value, Entity):
            return value.to_dict()
        if isinstance(value, (list, tuple)):
            return [self.to_json(v) for v in value]
        return value

    def from_json(self, value: Any) -> Any:
        if isinstance(value, list):
            return [Entity.from_dict(e) if isinstance(e, dict) and "type" in e else e
                    for e in value]
        return value


def types_from_examples(examples: Iterable[Example]) -> list[str]:
    """Entity types seen in the data, sorted (stable across runs)."""
    seen = defaultdict(int)
    for ex in examples:
        for e in ex.entities or ():
            seen[e.type] += 1
    return sorted(seen)
