"""Answers restricted to a list of choices, scored the way ``tunewise eval`` scores labels.

A chat request may ask for one of a closed set of answers in the forms OpenAI-compatible clients
send:

- vLLM's choice list: ``"structured_outputs": {"choice": ["negative", "positive"]}`` (or the older
  ``"guided_choice": [...]``); the answer is the choice's text;
- ``"response_format": {"type": "json_schema", "json_schema": {"schema": S}}`` where S is one
  string with an ``enum`` (the answer is that string as JSON, ``"positive"``) or an object with
  exactly one such property (``{"label": "positive"}``: what the openai SDK's ``parse`` sends for a
  pydantic model with one ``Literal`` field).

The server then does not generate: it scores every choice after the prompt by log-likelihood
(``prompting.scoring.LabelScorer``: the answer's tokens plus the end-of-turn token, the prompt of
the run's Task for an adapter, exactly what eval's label scoring does) and answers the best,
whatever the temperature. With ``logprobs``, the answer's one logprob entry is the chosen choice's
probability among the choices, and ``top_logprobs`` lists the most probable choices with theirs
(each ``token`` written as the answer would be). A batch of choice requests with the same
choices costs one forward pass of its rows (plus one of the prefix they share). With ``--bf16``
the close calls (a margin under ``BF16_RECHECK_MARGIN`` nats) are scored again in fp32, as eval
does. Any other JSON schema, or a ``structured_outputs`` form other than ``choice``, is a 400
naming the parameter.
"""
from __future__ import annotations

import collections
import contextlib
import json
import math
from dataclasses import dataclass
from typing import Any, Sequence

from tunewise.serving.errors import APIError

#: choices one request may list (every choice's tokens join every row of the scoring pass)
MAX_CHOICES = 256
#: scorers kept (one per distinct list of choices and model)
SCORER_CACHE = 16


@dataclass(frozen=True)
class ChoiceSpec:
    """What a request asked for: its choices and how the answer is written."""

    choices: tuple[str, ...]
    #: "text" (the choice itself), "json" (a JSON string) or "object" (``{prop: choice}``)
    form: str = "text"
    prop: str | None = None

    def render(self, choice: str) -> str:
        if self.form == "json":
            return json.dumps(choice, ensure_ascii=False)
        if self.form == "object":
            return json.dumps({self.prop: choice}, ensure_ascii=False)
        return choice


def _bad(param: str, why: str) -> APIError:
    return APIError(400, f"{param}: {why}", param=param, code="invalid_value")


def _choices(values: Any, param: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        raise _bad(param, "must be a non-empty list of strings")
    if len(values) > MAX_CHOICES:
        raise _bad(param, f"{len(values)} choices: at most {MAX_CHOICES}")
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise _bad(param, "every choice must be a non-empty string")
    if len(set(values)) != len(values):
        dup = next(v for v in values if values.count(v) > 1)
        raise _bad(param, f"the choice {dup!r} is listed twice")
    return tuple(values)


#: schema keywords that say nothing about which values are allowed
_NOTES = {"title", "description", "$schema", "examples", "default"}


def _enum(schema: Any, where: str) -> tuple[str, ...] | None:
    """The choices of a string-enum schema, or None when ``schema`` is not one."""
    if not isinstance(schema, dict) or "enum" not in schema:
        return None
    if schema.get("type", "string") != "string" or set(schema) - _NOTES - {"enum", "type"}:
        return None
    return _choices(schema["enum"], where)


def _schema_choices(rf: Any) -> ChoiceSpec:
    param = "response_format"
    extra = dict(getattr(rf, "model_extra", None) or {})
    js = extra.get("json_schema")
    if not isinstance(js, dict) or not isinstance(js.get("schema"), dict):
        raise _bad(param, "type json_schema needs json_schema.schema (an object)")
    schema = js["schema"]
    why = ("tunewise serve answers a JSON schema that is one string with an enum, or an object "
           "with exactly one such property (general JSON schemas are not supported)")
    found = _enum(schema, f"{param}.json_schema.schema.enum")
    if found is not None:
        return ChoiceSpec(found, "json")
    props = schema.get("properties")
    if schema.get("type") == "object" and isinstance(props, dict) and len(props) == 1 and \
            schema.get("additionalProperties", False) is False and \
            not set(schema) - _NOTES - {"type", "properties", "required",
                                         "additionalProperties"}:
        (name, sub), = props.items()
        found = _enum(sub, f"{param}.json_schema.schema.properties.{name}.enum")
        if found is not None:
            return ChoiceSpec(found, "object", name)
    raise _bad(param, why)


def choice_spec(req) -> ChoiceSpec | None:
    """The choices a chat request asks for (None: a normal generation); 400 on a form tunewise
    serve does not answer, naming the parameter."""
    specs = []
    so = getattr(req, "structured_outputs", None)
    if so is not None:
        if not isinstance(so, dict) or set(so) != {"choice"}:
            keys = ", ".join(sorted(so)) if isinstance(so, dict) else type(so).__name__
            raise _bad("structured_outputs", f"only the 'choice' form is supported (got "
                                             f"{keys})")
        specs.append(ChoiceSpec(_choices(so["choice"], "structured_outputs.choice")))
    gc = getattr(req, "guided_choice", None)
    if gc is not None:
        specs.append(ChoiceSpec(_choices(gc, "guided_choice")))
    rf = getattr(req, "response_format", None)
    if rf is not None and rf.type == "json_schema":
        specs.append(_schema_choices(rf))
    elif rf is not None and rf.type != "text":
        raise APIError(400, f"response_format={rf.type!r} is not supported: plain text, or a "
                            "json_schema that is a string enum (one answer among choices)",
                       param="response_format", code="unsupported_value")
    if len(specs) > 1:
        raise _bad("structured_outputs", "ask for the choices once (structured_outputs, "
                                         "guided_choice or response_format)")
    return specs[0] if specs else None


# -- scoring -------------------------------------------------------------------------------------

class ChoiceScorer:
    """Scores the choice jobs of a batch (the engine's worker thread calls ``run``)."""

    def __init__(self, model, tokenizer, *, bf16: bool = False, abort=None):
        self.model, self.tokenizer, self.bf16, self.abort = model, tokenizer, bf16, abort
        self._scorers: collections.OrderedDict = collections.OrderedDict()

    def answers(self, spec: ChoiceSpec) -> list[list[int]]:
        """Each choice's answer tokens as eval scores them (text + end-of-turn)."""
        from tunewise.tasks.render import encode_answer
        return [encode_answer(self.tokenizer, c) for c in spec.choices]

    def _scorer(self, answers: Sequence[Sequence[int]], rows: int):
        from tunewise.prompting.scoring import LabelScorer, ScoreOptions
        key = (tuple(tuple(a) for a in answers), rows)
        hit = self._scorers.get(key)
        if hit is None:
            pad = self.tokenizer.pad_token_id
            pad = pad if pad is not None else self.tokenizer.eos_token_id
            hit = LabelScorer(self.model, answers, pad_id=pad,
                              options=ScoreOptions(batch_size=max(1, rows), prefix_cache=True,
                                                   bf16=False, batch_tokens=None))
            self._scorers[key] = hit
            while len(self._scorers) > SCORER_CACHE:
                self._scorers.popitem(last=False)
        self._scorers.move_to_end(key)
        return hit

    def _amp(self):
        import torch
        dev = next(self.model.parameters()).device
        if self.bf16 and dev.type == "cpu":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def run(self, jobs: Sequence) -> None:
        """Answer every job (those with the same choices in one scoring pass)."""
        groups: dict = collections.defaultdict(list)
        for j in jobs:
            if j.cancelled.is_set():
                j.finish = "cancelled"
            else:
                groups[tuple(tuple(a) for a in j.choice_ids)].append(j)
        for answers, group in groups.items():
            if self.abort is not None and self.abort.is_set():
                for j in group:
                    j.fail("the server is shutting down", "shutting_down")
                continue
            self._score(group, [list(a) for a in answers])

    def _score(self, group: list, answers: list[list[int]]) -> None:
        from tunewise.prompting.predict import BF16_RECHECK_MARGIN
        prompts = [j.prompt for j in group]
        with self._amp():
            scores = self._scorer(answers, len(group)).score(prompts)
        if self.bf16:      # close calls decided in fp32, as eval decides them
            close = [i for i, s in enumerate(scores) if _margin(s.total) < BF16_RECHECK_MARGIN]
            if close:
                again = self._scorer(answers, len(close)).score([prompts[i] for i in close])
                for i, s in zip(close, again):
                    scores[i] = s
        for j, s in zip(group, scores):
            _answer(j, s.total, answers)


def _margin(total: Sequence[float]) -> float:
    top = sorted(total, reverse=True)
    return top[0] - top[1] if len(top) > 1 else float("inf")


def _answer(job, total: Sequence[float], answers: list[list[int]]) -> None:
    """Fill ``job`` with the best choice: text, tokens, logprobs; stream it as one delta."""
    from tunewise.serving.decode import TokenLogprob
    spec = job.choices
    best = max(range(len(total)), key=lambda k: total[k])     # the first of equal bests
    m = max(total)
    lse = m + math.log(sum(math.exp(v - m) for v in total))
    norm = [v - lse for v in total]
    job.tokens = list(answers[best])
    job.text = spec.render(spec.choices[best])
    job.choice_index = best
    if job.params.logprobs:
        order = sorted(range(len(norm)), key=lambda k: -norm[k])[:job.params.top_logprobs]
        job.logprobs = [TokenLogprob(-1, job.text, norm[best],
                                     [(k, spec.render(spec.choices[k]), norm[k]) for k in order])]
    job.finish = "stop"
    if job.on_delta is not None:
        job._sent, job._lp_sent = len(job.text), len(job.logprobs)
        job.on_delta(job.text, list(job.logprobs), True)
