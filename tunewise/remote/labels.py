"""Classification from a chat completion's ``logprobs``: label scores from the first answer token.

OpenAI-compatible servers return, for each generated token, the ``top_logprobs`` alternatives
(at most 20). A label's score is the log of the summed probability of the alternatives its text
starts with (case-insensitive, surrounding spaces ignored: ``positive``, `` Positive``, ``pos``
all count for "positive"). A label none of whose first tokens is among the alternatives has no
score. The decision needs a clear winner: when no label has a score, or the best two tie (labels
sharing their first token), the generated text decides instead. ``choice_scores`` reads the
answer of a choice-list request, where each alternative is a whole label; ``label_schema`` /
``structured_label`` ask for and read a label as a JSON-schema enum (structured outputs).
"""
from __future__ import annotations

import json
import math
from typing import Sequence


def first_token_alternatives(choice: dict) -> list[tuple[str, float]] | None:
    """[(token, logprob)] of the first answer token of a response choice; None when the server
    sent no logprobs."""
    lp = choice.get("logprobs") if isinstance(choice, dict) else None
    content = lp.get("content") if isinstance(lp, dict) else None
    if not content:
        return None
    # the response's shape was checked (``remote.response_shape``): dicts, str tokens, floats
    first = content[0]
    alts = [(t.get("token") or "", float(t["logprob"]))
            for t in (first.get("top_logprobs") or []) if t.get("logprob") is not None]
    if not alts and first.get("logprob") is not None:
        alts = [(first.get("token") or "", float(first["logprob"]))]
    return alts


def label_scores(alternatives: Sequence[tuple[str, float]],
                 labels: Sequence[str]) -> dict[str, float | None]:
    """{label: log of the summed probability of the alternatives it starts with, or None}."""
    out: dict[str, float | None] = {}
    for lab in labels:
        low = lab.lower().strip()
        hits = [lp for tok, lp in alternatives
                if tok.strip() and low.startswith(tok.strip().lower())]
        if hits:
            m = max(hits)
            out[lab] = m + math.log(sum(math.exp(h - m) for h in hits))
        else:
            out[lab] = None
    return out


def best_label(scores: dict[str, float | None]) -> str | None:
    """The label with the clearly best score; None without scores or on a tie at the top."""
    scored = sorted(((v, k) for k, v in scores.items() if v is not None), reverse=True)
    if not scored:
        return None
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None
    return scored[0][1]


def choice_scores(choice: dict, labels: Sequence[str]) -> dict[str, float | None]:
    """{label: logprob} from a choice-list answer's ``top_logprobs`` (a server that scored whole
    choices, such as ``tunewise serve``, lists each choice as one "token"); None for a label it
    did not list."""
    by_token = dict(first_token_alternatives(choice) or [])
    return {lab: by_token.get(lab) for lab in labels}


#: the property a structured answer carries the label in
LABEL_PROPERTY = "label"


def label_schema(labels: Sequence[str]) -> dict:
    """The ``response_format`` asking for one of ``labels``: a strict JSON schema of an object
    with one string-enum property (OpenAI's structured outputs; ``tunewise serve`` scores it)."""
    return {"type": "json_schema", "json_schema": {
        "name": "label", "strict": True,
        "schema": {"type": "object", "additionalProperties": False,
                   "required": [LABEL_PROPERTY],
                   "properties": {LABEL_PROPERTY: {"type": "string", "enum": list(labels)}}}}}


def structured_label(text: str, labels: Sequence[str]) -> str | None:
    """The label of a structured answer (``{"label": "positive"}``), or None when the text is not
    such an object naming one of ``labels``."""
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    value = obj.get(LABEL_PROPERTY) if isinstance(obj, dict) else None
    return value if isinstance(value, str) and value in labels else None
