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

import json
import re
from collections import Counter, defaultdict
from typing import Any, Iterable, Sequence

import numpy as np

from tunewise.data.formats.conll import ner_target_text  # the one target format
from tunewise.data.records import Entity, Example
from tunewise.errors import ConfigError
from tunewise.tasks.base import PromptTemplate, Task

_NONE_WORDS = {"none", "no entities", "no entity", "n/a", "na", "nothing", "[]", "{}", "-",
               "none.", "no entities.", "no named entities", "no named entities."}
_BULLET = re.compile(r"^\s*(?:[-*\u2022\u00b7+>]+|\(?\d{1,3}[.)]|[a-z][.)](?=\s))\s*", re.I)
_QUOTES = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb"
_TRAIL_PUNCT = ".,;:!?)]}\"'`\u201d\u2019"


# -- tags <-> spans (seqeval-compatible) ---------------------------------------------------------

def spans_from_tags(tags: Sequence[str], tokens: Sequence[str] | None = None) -> list[Entity]:
    """Entities from B-/I-/E-/S-/O tags, chunked exactly like ``seqeval.metrics.get_entities``
    (default mode): an ``I-X`` after ``O`` or after another type starts a new entity."""
    out: list[Entity] = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, chunk in enumerate(list(tags) + ["O"]):
        chunk = chunk or "O"
        tag = chunk[0]
        type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            text = " ".join(tokens[begin:i]) if tokens is not None else ""
            out.append(Entity(prev_type, begin, i, text))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return out


def _end_of_chunk(prev_tag, tag, prev_type, type_) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _start_of_chunk(prev_tag, tag, prev_type, type_) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag != "O" and tag != "." and prev_type != type_


def tags_from_spans(entities: Iterable[Entity], n_tokens: int) -> list[str]:
    """IOB2 tags for non-overlapping entities (a later overlapping entity is skipped)."""
    tags = ["O"] * n_tokens
    for e in sorted(entities, key=lambda e: (e.start, e.end)):
        if e.start < 0 or e.end > n_tokens or e.start >= e.end:
            continue
        if any(t != "O" for t in tags[e.start:e.end]):
            continue
        tags[e.start] = f"B-{e.type}"
        for j in range(e.start + 1, e.end):
            tags[j] = f"I-{e.type}"
    return tags


# -- parsing -----------------------------------------------------------------------------------

def _norm_type(s: str) -> str:
    return re.sub(r"[\s_\-]+", "", s.strip().strip(_QUOTES + "*[]()").lower())


class _TypeMatcher:
    def __init__(self, types: Sequence[str]):
        self.map: dict[str, str] = {}
        for t in types:
            k = _norm_type(t)
            self.map.setdefault(k, t)
            self.map.setdefault(k + "s", t)          # "persons"
            if k.endswith("s"):
                self.map.setdefault(k[:-1], t)

    def __call__(self, s: str) -> str | None:
        return self.map.get(_norm_type(s)) if s else None


class _SpanFinder:
    """Maps entity texts to token spans; whitespace-insensitive, exact case first."""

    def __init__(self, tokens: Sequence[str]):
        self.tokens = list(tokens)
        self.cat = "".join(self.tokens)
        self.starts: dict[int, int] = {}
        self.ends: dict[int, int] = {}
        pos = 0
        for i, t in enumerate(self.tokens):
            if t:
                self.starts.setdefault(pos, i)
            pos += len(t)
            if t:
                self.ends[pos] = i + 1
        self.used: set[tuple[int, int]] = set()
        self.cursor = 0

    def _occurrences(self, needle: str, *, fold: bool) -> list[tuple[int, int]]:
        hay, ndl = (self.cat.lower(), needle.lower()) if fold else (self.cat, needle)
        if len(hay) != len(self.cat) or not ndl:
            return []
        found, i = [], hay.find(ndl)
        while i >= 0:
            s, e = self.starts.get(i), self.ends.get(i + len(ndl))
            if s is not None and e is not None:
                found.append((s, e))
            i = hay.find(ndl, i + 1)
        return found

    def _pick(self, occ: list[tuple[int, int]]) -> tuple[int, int] | None:
        """Prefer an occurrence overlapping no claimed span and not before the last match (the
        answer lists entities in order of appearance), then any non-overlapping one, then any
        unclaimed one."""
        free = [sp for sp in occ if sp not in self.used]
        clear = [sp for sp in free
                 if not any(sp[0] < u[1] and u[0] < sp[1] for u in self.used)]
        for tier in ([sp for sp in clear if sp[0] >= self.cursor], clear, free):
            if tier:
                return tier[0]
        return None

    def _token_matches(self, words: list[str], *, fold: bool) -> list[tuple[int, int]]:
        """Spans whose tokens equal ``words`` one for one."""
        n = len(words)
        toks = [t.lower() for t in self.tokens] if fold else self.tokens
        words = [w.lower() for w in words] if fold else words
        return [(i, i + n) for i in range(len(toks) - n + 1) if toks[i:i + n] == words]

    def find(self, text: str) -> tuple[int, int] | None:
        """Span of the best not-yet-claimed occurrence of ``text``; None when it does not occur
        or every occurrence is claimed.

        Tries, in order: the text token for token, then without surrounding quotes, markdown
        and trailing punctuation; then the same ignoring whitespace ("New York," matches the
        tokens ``New York ,`` only when nothing stricter does). Exact case before ignoring case.
        """
        t = text.strip()
        candidates = list(dict.fromkeys(c for c in (
            t, t.strip(_QUOTES).rstrip(_TRAIL_PUNCT).strip(),
            t.strip("*_ ").strip(_QUOTES).rstrip(_TRAIL_PUNCT).strip("*_ ")) if c))
        searches = [(lambda c, f: self._token_matches(c.split(), fold=f)),
                    (lambda c, f: self._occurrences(re.sub(r"\s+", "", c), fold=f))]
        for search in searches:
            for cand in candidates:
                for fold in (False, True):
                    occ = search(cand, fold)
                    span = self._pick(occ)
                    if span is not None:
                        self.used.add(span)
                        self.cursor = span[0]
                        return span
        return None                    # absent, or a repeated mention beyond its occurrences


def _json_items(text: str) -> list[tuple[str, str]] | None:
    """(type, text) pairs from a JSON answer, or None when the text is not JSON."""
    t = text.strip()
    if t.startswith("```"):
        t = re.sub(r"^```[a-zA-Z]*\s*|\s*```$", "", t).strip()
    if not t or t[0] not in "[{":
        return None
    try:
        data = json.loads(t)
    except (ValueError, RecursionError):
        return None
    pairs: list[tuple[str, str]] = []

    def item(x):
        if isinstance(x, dict):
            ty = next((x[k] for k in ("type", "label", "entity_type", "category", "tag")
                       if k in x), None)
            tx = next((x[k] for k in ("text", "entity", "span", "value", "word", "name")
                       if k in x), None)
            if isinstance(ty, str) and isinstance(tx, str):
                pairs.append((ty, tx))
            elif ty is None and tx is None:          # {"person": ["a", "b"], ...}
                for k, v in x.items():
                    for vv in (v if isinstance(v, list) else [v]):
                        if isinstance(vv, str):
                            pairs.append((k, vv))
        elif isinstance(x, (list, tuple)) and len(x) == 2 and all(isinstance(v, str) for v in x):
            pairs.append((x[0], x[1]))
    if isinstance(data, dict) and "entities" in data and isinstance(data["entities"], list):
        data = data["entities"]
    for x in (data if isinstance(data, list) else [data]):
        item(x)
    return pairs


def _line_pair(line: str, types: _TypeMatcher) -> tuple[str, str] | None:
    """(raw type, raw text) for one answer line in any of the tolerated shapes."""
    m = re.match(r"^\s*\[([^\]]+)\]\s*(.+)$", line)                      # [type] text
    if m and types(m.group(1)):
        return m.group(1), m.group(2)
    m = re.match(r"^(.+?)\s*\(([^()]+)\)\s*$", line)                     # text (type)
    if m and types(m.group(2)):
        return m.group(2), m.group(1)
    for sep in (":", "\t", " - ", " \u2013 ", " \u2014 ", "=", "->", "=>"):
        if sep in line:
            left, right = line.split(sep, 1)
            if types(left):
                return left, right
            if types(right):                                             # text: type
                return right, left
    return None


def parse_entities(text: str, tokens: Sequence[str], types: Sequence[str], *,
                   dropped: list | None = None) -> list[Entity]:
    """Entities (token spans over ``tokens``) from a model answer; see the module docstring.

    ``dropped``, when given, receives ``(item, reason)`` for every item that was not used.
    """
    drop = dropped.append if dropped is not None else (lambda _x: None)
    matcher = _TypeMatcher(types)
    finder = _SpanFinder(tokens)
    text = (text or "").strip()
    pairs = _json_items(text)
    if pairs is None:
        pairs = []
        for raw in re.split(r"[\r\n]+", text):
            line = _BULLET.sub("", raw).strip()
            if not line or line.lower().rstrip(".") in _NONE_WORDS | {"none"}:
                continue
            pieces = [line]
            if ";" in line:
                parts = [p.strip() for p in line.split(";") if p.strip()]
                if all(_line_pair(p, matcher) for p in parts):
                    pieces = parts
            for piece in pieces:
                pair = _line_pair(piece, matcher)
                if pair is None:
                    left = piece.split(":", 1)[0]
                    unknown = ":" in piece and 0 < len(left.split()) <= 3
                    drop((piece, "unknown entity type" if unknown else "no known entity type"))
                else:
                    pairs.append(pair)
    out: dict[tuple, Entity] = {}
    for raw_type, raw_text in pairs:
        ty = matcher(raw_type)
        if ty is None:
            drop((f"{raw_type}: {raw_text}", "unknown entity type"))
            continue
        raw_text = raw_text.strip()          # quotes are stripped by the finder if needed
        if not raw_text.strip(_QUOTES) or raw_text.strip(_QUOTES).lower() in _NONE_WORDS:
            continue
        span = finder.find(raw_text)
        pieces = [raw_text]
        if span is None and "," in raw_text:                             # "person: A, B"
            pieces = [p.strip() for p in raw_text.split(",") if p.strip()]
            spans = [finder.find(p) for p in pieces]
        else:
            spans = [span]
        for piece, sp in zip(pieces, spans):
            if sp is None:
                drop((f"{ty}: {piece}", "text not found in the input tokens"))
                continue
            e = Entity(ty, sp[0], sp[1], " ".join(finder.tokens[sp[0]:sp[1]]))
            out.setdefault(e.key(), e)
    return sorted(out.values(), key=lambda e: (e.start, e.end, e.type))


# -- scoring -----------------------------------------------------------------------------------

def _key(e: Any) -> tuple[str, int, int]:
    if isinstance(e, Entity):
        return e.key()
    if isinstance(e, dict):
        return (str(e["type"]), int(e["start"]), int(e["end"]))
    t, s, en = e[0], e[1], e[2]
    return (str(t), int(s), int(en))


def _keys(ents: Any) -> set[tuple[str, int, int]]:
    return {_key(e) for e in (ents or ())}


def _prf(tp: float, n_pred: float, n_gold: float) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * tp / (n_pred + n_gold) if (n_pred + n_gold) else 0.0
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def ner_metrics(golds: Sequence[Any], preds: Sequence[Any]) -> dict[str, float]:
    """Micro entity-level exact-span ``precision``, ``recall``, ``f1`` over all examples.

    ``golds``/``preds`` are per-example lists of entities (``Entity``, dicts with type/start/end,
    or ``(type, start, end)`` tuples; ``None`` = no entities). Like seqeval, 0.0 when undefined.
    """
    tp = n_pred = n_gold = 0
    for g, p in zip(golds, preds):
        gk, pk = _keys(g), _keys(p)
        tp += len(gk & pk)
        n_pred += len(pk)
        n_gold += len(gk)
    return _prf(tp, n_pred, n_gold)


def ner_report(golds: Sequence[Any], preds: Sequence[Any],
               types: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
    """Per-type ``{type: {precision, recall, f1, support}}`` (support = gold entity count).

    Types are ``types`` (in that order) plus any other type seen in golds or predictions.
    """
    tp: Counter = Counter()
    npred: Counter = Counter()
    ngold: Counter = Counter()
    for g, p in zip(golds, preds):
        gk, pk = _keys(g), _keys(p)
        for k in gk & pk:
            tp[k[0]] += 1
        for k in pk:
            npred[k[0]] += 1
        for k in gk:
            ngold[k[0]] += 1
    order = list(types or [])
    order += sorted((set(npred) | set(ngold)) - set(order))
    return {t: {**_prf(tp[t], npred[t], ngold[t]), "support": int(ngold[t])} for t in order}


class NERMetric:
    """One of precision/recall/f1 as a bootstrappable metric; stats = [tp, n_pred, n_gold]."""

    def __init__(self, name: str = "f1"):
        if name not in ("precision", "recall", "f1"):
            raise ValueError(name)
        self.name = name

    def __call__(self, golds, preds) -> float:
        return ner_metrics(golds, preds)[self.name]

    def stats(self, golds, preds) -> np.ndarray:
        rows = []
        for g, p in zip(golds, preds):
            gk, pk = _keys(g), _keys(p)
            rows.append([len(gk & pk), len(pk), len(gk)])
        return np.asarray(rows, dtype=float).reshape(-1, 3)

    def value(self, sums: np.ndarray) -> np.ndarray:
        s = np.asarray(sums, dtype=float)
        tp, npred, ngold = s[..., 0], s[..., 1], s[..., 2]
        num, den = {"precision": (tp, npred), "recall": (tp, ngold),
                    "f1": (2 * tp, npred + ngold)}[self.name]
        return np.divide(num, den, out=np.zeros_like(den), where=den > 0)


def example_f1(gold: Any, pred: Any) -> float:
    """Per-example entity F1 (1.0 when both are empty: nothing to find, nothing claimed)."""
    gk, pk = _keys(gold), _keys(pred)
    if not gk and not pk:
        return 1.0
    return 2 * len(gk & pk) / (len(gk) + len(pk))


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
