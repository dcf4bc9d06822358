"""Classification: a closed label set; the answer is the label, verbatim."""
from __future__ import annotations

from typing import Any, Sequence

from tunewise.data.records import Example
from tunewise.errors import ConfigError
from tunewise.tasks.base import PromptTemplate, Task

#: the labels are named in the instruction and the input ends with a cue the answer completes;
#: on 200 movie-review sentences the embedded model answered with a label 55% of the time
#: (9% without the cue) and label scoring separated the classes better (bench/prompting_bench.py)
SENTIMENT_PRESET = PromptTemplate(
    system="Classify the sentiment of the text. Answer with exactly one word: {labels}.",
    user="Text: {input}\nSentiment:",
)


#: the default instruction without its label list: the fine-tuning prompt with many labels
#: (``ClassificationTask.for_fine_tuning``)
UNLISTED_TEMPLATE = PromptTemplate(system="Classify the text.", user="{input}")


class ClassificationTask(Task):
    kind = "classification"
    headline_metric = "macro_f1"

    def __init__(self, labels: Sequence[str], template: PromptTemplate | None = None,
                 *, headline_metric: str | None = None):
        labels = [str(x) for x in labels]
        if len(labels) < 2:
            raise ConfigError(f"a classification task needs at least 2 labels, got {labels}")
        if len(set(labels)) != len(labels):
            raise ConfigError(f"duplicate labels in {labels}")
        self.labels = labels
        if headline_metric:
            self.headline_metric = headline_metric
        super().__init__(template)

    def default_template(self) -> PromptTemplate:
        return PromptTemplate(
            system="Classify the text. Answer with exactly one of: {labels}.", user="{input}")

    def template_fields(self) -> dict[str, str]:
        return {"labels": ", ".join(self.labels)}

    def target(self, ex: Example) -> str:
        return self.gold(ex)

    def gold(self, ex: Example) -> str:
        return ex.label if ex.label is not None else (ex.answer or "").strip()

    def parse(self, text: str, ex: Example | None = None) -> str | None:
        """First label the text starts with (case-insensitive), else the first label mentioned;
        None when no label can be found."""
        t = (text or "").strip().lower()
        by_len = sorted(self.labels, key=len, reverse=True)
        for lab in by_len:
            if t.startswith(lab.lower()):
                return lab
        hits = [(t.find(lab.lower()), lab) for lab in by_len if lab.lower() in t]
        return min(hits)[1] if hits else None

    def metrics(self, golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
        from tunewise.tasks.metrics import classification_metrics
        return classification_metrics(golds, preds, self.labels)

    stratified_by = "label"
    has_labels = True

    @classmethod
    def stratum(cls, ex: Example) -> str:
        return str(ex.label if ex.label is not None else (ex.answer or "").strip())

    @classmethod
    def label_keys(cls, ex: Example) -> list[str]:
        return [cls.stratum(ex)]

    def to_config(self) -> dict:
        return {**super().to_config(), "labels": self.labels,
                "headline_metric": self.headline_metric}

    def for_fine_tuning(self, label_list_max: int | None) -> "ClassificationTask":
        """With more than ``label_list_max`` labels (None: never) and the default prompt, the same
        task whose instruction does not list the labels (``UNLISTED_TEMPLATE``).

        Why: a zero- or k-shot prompt must name the labels (the model knows no other way), but a
        fine-tuned model learns them from its training examples, and the model is still asked to
        choose among exactly these labels (label scoring). A long list costs its tokens at every
        training step and every request the fine-tune serves: 77 intents are ~330 of a ~345-token
        prompt, 20x the text being classified. A template of your own (or a preset) is used as
        written: it may say more than the list, and it is your prompt.
        """
        if label_list_max is None or len(self.labels) <= label_list_max \
                or self.template != self.default_template():
            return self
        return ClassificationTask(self.labels, UNLISTED_TEMPLATE,
                                  headline_metric=self.headline_metric)

    # -- Task members for prompting / evaluation / comparison --------------------------------
    can_score_labels = True
    supports_classical = True
    headline_by_balance = True

    def fixed_answer_budget(self, tokenizer) -> int:
        """The longest label in tokens + 8."""
        return max(len(tokenizer(lab, add_special_tokens=False)["input_ids"])
                   for lab in self.labels) + 8

    def class_names(self) -> list[str]:
        return list(self.labels)

    def majority_answer(self, train_golds: Sequence[Any]) -> dict:
        from tunewise.tasks.metrics import majority_label
        lab = majority_label(list(train_golds), self.labels)
        return {"prediction": lab, "note": f"always answers {lab!r}", "majority_label": lab}

    def report(self, golds: Sequence[Any], preds: Sequence[Any]) -> dict:
        from tunewise.tasks.metrics import classification_report
        return classification_report(golds, preds, self.labels)

    def confusion(self, golds: Sequence[Any], preds: Sequence[Any]) -> dict:
        from tunewise.tasks.metrics import confusion_columns, confusion_matrix
        m = confusion_matrix(golds, preds, self.labels)
        return {"labels": list(self.labels), "columns": confusion_columns(self.labels, m),
                "matrix": m}

    def class_counts(self, golds: Sequence[Any]) -> dict:
        from collections import Counter
        return dict(Counter(str(g) for g in golds))

    def is_correct(self, gold: Any, pred: Any) -> bool:
        return gold == pred

    def unparsed_note(self, n_unparsed: int) -> str | None:
        if not n_unparsed:
            return None
        return f"{n_unparsed} generated answer(s) matched no label and count as wrong"
