"""Free-text generation scored against a reference answer.

Metrics (all in 0..1, higher is better):

- ``exact_match``: SQuAD-normalised strings equal (lower case, punctuation and English articles
  removed, whitespace collapsed)
- ``token_f1``: SQuAD token-overlap F1 on the same normalisation, averaged over examples
- ``rouge_l``: ROUGE-L F-measure (Google's ``rouge-score``), averaged over examples; the headline.
  Tokens are lower-cased runs of letters/digits, identical to rouge-score's default tokenizer on
  ASCII text but keeping non-Latin letters (the default drops them, scoring e.g. Greek as empty).
- ``chrf``: corpus-level chrF (``sacrebleu``, default settings), divided by 100.

Two empty answers score 1 on the per-example metrics (nothing to say, nothing said).
"""
from __future__ import annotations

import re
import string
from collections import Counter
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from tunewise.data.records import Example
from tunewise.tasks.base import PromptTemplate, Task

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize_answer(s: str | None) -> str:
    """SQuAD v1.1 normalisation: lower case, no punctuation, no articles, single spaces."""
    s = (s or "").lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def exact_match(gold: str | None, pred: str | None) -> float:
    return float(normalize_answer(gold) == normalize_answer(pred))


def token_f1(gold: str | None, pred: str | None) -> float:
    """SQuAD token F1 (1.0 when both normalise to nothing, 0.0 when only one does)."""
    g = normalize_answer(gold).split()
    p = normalize_answer(pred).split()
    if not g or not p:
        return float(g == p)
    common = Counter(g) & Counter(p)
    same = sum(common.values())
    if same == 0:
        return 0.0
    prec, rec = same / len(p), same / len(g)
    return 2 * prec * rec / (prec + rec)


class _UnicodeTokenizer:
    """rouge-score tokenizer interface: lower-cased runs of letters and digits."""

    _word = re.compile(r"[^\W_]+", re.UNICODE)

    def tokenize(self, text: str) -> list[str]:
        return self._word.findall((text or "").lower())


@lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=_UnicodeTokenizer())


def rouge_l(gold: str | None, pred: str | None) -> float:
    """ROUGE-L F-measure of ``pred`` against ``gold`` (1.0 when both have no tokens)."""
    tok = _UnicodeTokenizer()
    if not tok.tokenize(gold or "") and not tok.tokenize(pred or ""):
        return 1.0
    return float(_rouge_scorer().score(gold or "", pred or "")["rougeL"].fmeasure)


class ChrF:
    """Corpus chrF / 100 (sacrebleu); bootstrappable from per-example character n-gram counts."""

    def __init__(self):
        from sacrebleu.metrics import CHRF
        self._chrf = CHRF()

    def __call__(self, golds, preds) -> float:
        if not golds:
            return 0.0
        hyps = [p or "" for p in preds]
        refs = [g or "" for g in golds]
        return float(self._chrf.corpus_score(hyps, [refs]).score) / 100.0

    def stats(self, golds, preds) -> np.ndarray:
        hyps = [p or "" for p in preds]
        refs = [g or "" for g in golds]
        # the same per-segment statistics sacrebleu's own significance tests resample
        return np.asarray(self._chrf._extract_corpus_statistics(hyps, [refs]), dtype=float)

    def value(self, sums: np.ndarray) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        flat = s.reshape(-1, s.shape[-1])
        vals = np.array([self._chrf._compute_f_score(list(row)) for row in flat]) / 100.0
        return vals.reshape(s.shape[:-1])


def generation_metrics(golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
    """``exact_match``, ``token_f1``, ``rouge_l`` (means over examples) and corpus ``chrf``."""
    golds = [g or "" for g in golds]
    preds = [p or "" for p in preds]
    n = len(golds)
    if n == 0:
        return {"exact_match": 0.0, "token_f1": 0.0, "rouge_l": 0.0, "chrf": 0.0}
    return {
        "exact_match": sum(exact_match(g, p) for g, p in zip(golds, preds)) / n,
        "token_f1": sum(token_f1(g, p) for g, p in zip(golds, preds)) / n,
        "rouge_l": sum(rouge_l(g, p) for g, p in zip(golds, preds)) / n,
        "chrf": ChrF()(golds, preds),
    }


class GenerationTask(Task):
    kind = "generation"
    headline_metric = "rouge_l"

    answer_in_identity = True

    @classmethod
    def answer_text(cls, ex: Example) -> str | None:
        return ex.reference if ex.reference else ex.answer

    def __init__(self, template: PromptTemplate | None = None):
        super().__init__(template)

    def default_template(self) -> PromptTemplate:
        return PromptTemplate(system="", user="{input}")

    def gold(self, ex: Example) -> str:
        """The reference answer (``ex.reference``, else the final assistant message)."""
        if ex.reference is not None:
            return ex.reference
        return (ex.answer or "").strip()

    def target(self, ex: Example) -> str:
        return self.gold(ex)

    def parse(self, text: str, ex: Example | None = None) -> str:
        return (text or "").strip()

    def metrics(self, golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
        return generation_metrics(golds, preds)

    def metric_functions(self) -> dict:
        from tunewise.tasks.metric_types import MeanScore
        return {"exact_match": MeanScore(exact_match), "token_f1": MeanScore(token_f1),
                "rouge_l": MeanScore(rouge_l), "chrf": ChrF()}

    def example_scores(self, golds: Sequence[Any], preds: Sequence[Any]) -> list[float]:
        """Per-example ROUGE-L (the headline), for paired tests."""
        return [rouge_l(g, p) for g, p in zip(golds, preds)]

    # -- Task members for prompting / evaluation / comparison --------------------------------
    default_answer_tokens = 256
    headline_reason = "ROUGE-L against the reference (generation)"
