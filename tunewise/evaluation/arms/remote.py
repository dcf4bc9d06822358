"""The remote arm: a model behind an OpenAI-compatible API, prompted with the Task's own prompts.

::

    from tunewise.cost.remote_prices import remote_price
    arm = RemoteArm("openai:gpt-4.1-mini", price=remote_price("gpt-4.1-mini"), max_cost_usd=2)
    arm = RemoteArm("a", base_url="http://127.0.0.1:8000/v1", k=4, shots_pool=train)
    result = arm.predict(task, test_examples)      # ArmResult; usage has tokens, requests, cost

Prompts are ``task.prompt_messages(example, shots)``, the messages local arms render with their
chat template, sent as chat completions at temperature 0. Shots: ``shots`` (one list for every
example, or one list per example) or ``k`` drawn from ``shots_pool`` by ``shot_selection``
exactly as ``tunewise eval`` draws them (``prompting.shots.shots_for``).

Classification (``scoring``): "logprobs" scores the labels from the first answer token's
``top_logprobs`` (``tunewise.remote.labels``), the generated text deciding when no label is among
them; "generate" maps the generated text to a label with ``task.parse``; "auto" (default) asks
for logprobs and, when the model gives none (reasoning models refuse them), asks for the label as
a JSON-schema enum ("structured"), then reads generated text if the server refuses that too; "choice" sends the labels as
a choice list (``structured_outputs: {"choice": labels}``: vLLM, and ``tunewise serve``, which
scores them exactly as eval's label scoring does) and reads the label from the answer, each
label's probability from its ``top_logprobs``; "structured" asks for the label as a JSON-schema
enum (``response_format`` json_schema, strict: OpenAI's structured outputs, and ``tunewise
serve``), so no answer is unparseable. Answers naming no label
count as wrong and are counted in the notes. NER and generation: generated text through
``task.parse``.

Before any request the cache folder is checked (a bad ``cache_dir`` costs no paid call) and the
cost of the uncached ones is estimated (prompt tokens counted offline, answers at ``max_tokens``):
a run over ``max_cost_usd`` is refused (``CostLimitError``). When the usage the server reports
costs more than ``max_cost_usd`` after all, ``usage["cost_warning"]`` says so.
``price``: a ``RemotePrice``; ``from_options`` (what ``evaluate`` uses) looks a hosted model's up in
the dated price table (``tunewise.cost.remote_prices.remote_price``). Without a price the cost is
unknown (None) and nothing is refused.
"""
from __future__ import annotations

from typing import Sequence

from tunewise.evaluation.arms.base import ArmResult, register, timed_predictions
from tunewise.remote.cache import ResponseCache
from tunewise.remote.client import ClientOptions, RemoteClient, Stats
from tunewise.remote import refusals
from tunewise.remote.errors import RemoteNoLogprobsError, RemoteRequestError
from tunewise.remote.refusals import apply
from tunewise.remote.labels import (best_label, choice_scores, first_token_alternatives,
                                    label_schema, label_scores, structured_label)
from tunewise.remote.pricing import RemotePrice, check_cost, over_limit_note
from tunewise.remote.response_shape import message_text
from tunewise.remote.spec import parse_model_spec
from tunewise.tasks.base import Prediction

SCORINGS = ("auto", "logprobs", "generate", "choice", "structured")
#: alternatives asked per answer token (OpenAI's maximum)
TOP_LOGPROBS = 20
#: a run estimated above this many US dollars is refused unless ``max_cost_usd`` is raised
DEFAULT_MAX_COST_USD = 5.0


@register
class RemoteArm:
    """A model on an OpenAI-compatible server (``openai:NAME`` or ``NAME`` + ``base_url``)."""

    kind = "remote"

    def __init__(self, model: str, *, base_url: str | None = None,
                 api_key_env: str | None = None, name: str | None = None,
                 shots=(), k: int = 0, shots_pool: Sequence = (), shot_selection: str = "random",
                 seed: int = 0, scoring: str = "auto", max_tokens: int | None = None,
                 token_param: str = "max_tokens",
                 price: RemotePrice | None = None,
                 max_cost_usd: float | None = DEFAULT_MAX_COST_USD,
                 cache_dir=None, options: ClientOptions | None = None):
        from tunewise.errors import UsageError
        if scoring not in SCORINGS:
            raise UsageError(f"unknown scoring {scoring!r}",
                             fix=f"use one of {', '.join(SCORINGS)}")
        self.spec = parse_model_spec(model, base_url=base_url, api_key_env=api_key_env)
        self.k = int(k) if k else (len(shots) if shots and not _per_example(shots) else 0)
        self.name = name or f"{self.spec.display} {self.k}-shot"
        self.shots, self.shots_pool = shots, list(shots_pool)
        self.shot_selection, self.seed = shot_selection, seed
        self.scoring, self.max_tokens, self.price = scoring, max_tokens, price
        self.max_cost_usd = max_cost_usd
        # "max_completion_tokens" for models that refuse max_tokens (OpenAI's reasoning models)
        self.token_param = token_param
        self.client = RemoteClient(self.spec, cache=ResponseCache(cache_dir), options=options)
        #: the server answered without logprobs though asked (auto then asks structured)
        self._silent_no_logprobs = False

    @classmethod
    def from_options(cls, options, *, train=(), shots_from=()) -> "RemoteArm":
        """The arm ``evaluate`` / ``tunewise eval`` run for a remote ``options.model``
        (``EvalOptions``): its shots, seed, budget, scoring, price, cost limit and client."""
        from tunewise.errors import UsageError
        p, r = options.prompt, options.remote
        scoring = r.scoring or {"score": "logprobs", "generate": "generate"}.get(p.method, "auto")
        spec = parse_model_spec(options.model, base_url=r.base_url, api_key_env=r.api_key_env)
        price = r.price
        if spec.provider and price is None:
            # a hosted model: its price from the dated table (a local server is not billed)
            from tunewise.cost.remote_prices import remote_price
            price = remote_price(spec.model)
        if spec.provider and price is None and r.max_cost_usd is not None:
            # a hosted model bills every call: a limit that cannot be checked is no limit
            raise UsageError(
                f"no price is known for {spec.display}, so the cost limit (max_cost_usd "
                f"${r.max_cost_usd:g}) cannot be checked",
                fix="add the model to a price YAML named by $TUNEWISE_PRICES (or pass "
                    "price=RemotePrice(...) in Python); or run without a "
                    "limit: --max-cost none (max_cost_usd=None)")
        client = ClientOptions(concurrency=r.concurrency, timeout_s=r.timeout_s,
                               max_retries=r.max_retries)
        return cls(options.model, base_url=r.base_url, api_key_env=r.api_key_env,
                   k=p.shots, shots_pool=shots_from or (), seed=options.seed,
                   shot_selection=p.shot_selection, scoring=scoring,
                   max_tokens=p.max_new_tokens, price=price,
                   max_cost_usd=r.max_cost_usd, cache_dir=r.cache_dir,
                   options=client)

    def __repr__(self) -> str:
        return f"RemoteArm({self.spec.display!r}, base_url={self.spec.redacted_url!r})"

    # -- prompts and requests ---------------------------------------------------------------
    def _shot_lists(self, examples: list) -> list:
        if self.k and self.shots_pool and not self.shots:
            from tunewise.prompting.shots import shots_for
            shots = shots_for(examples, self.shots_pool, self.k, method=self.shot_selection,
                              seed=self.seed)
        else:
            shots = self.shots
        if not shots:
            return [[] for _ in examples]
        if _per_example(shots):
            return [list(s) for s in shots]
        return [list(shots) for _ in examples]

    def _budget(self, task) -> int:
        if self.max_tokens:
            return int(self.max_tokens)
        if task.can_score_labels:
            # about 3 characters a token for label words, plus room for a space or a period
            return max(8, max(len(lab) for lab in task.labels) // 3 + 6)
        return int(getattr(task, "max_new_tokens", 0) or task.default_answer_tokens)

    def requests(self, task, examples: Sequence, *, logprobs: bool) -> list[dict]:
        """The chat-completion bodies (without ``model``) the arm sends for ``examples``."""
        from tunewise.prompting.predict import stop_strings
        examples = list(examples)
        stops = stop_strings(task)[:4]
        quirks = self._quirks()
        out = []
        for ex, shots in zip(examples, self._shot_lists(examples)):
            req = {"messages": task.prompt_messages(ex, shots), "temperature": 0,
                   self.token_param: self._budget(task)}
            if stops:
                req["stop"] = stops
            if logprobs:
                req["logprobs"], req["top_logprobs"] = True, TOP_LOGPROBS
            if self._choice(task):
                req["structured_outputs"] = {"choice": list(task.labels)}
                req["logprobs"] = True
                req["top_logprobs"] = min(TOP_LOGPROBS, len(task.labels))
            if self._asks_structured(task):
                req["response_format"] = label_schema(task.labels)
            out.append(apply(req, quirks))       # without what this model refused before
        return out

    def _quirks(self):
        return refusals.quirks(self.spec.redacted_url, self.spec.model)

    def estimate_cost(self, task, examples: Sequence) -> float | None:
        """US dollars the uncached requests would cost at most (None without a price);
        raises ``CostLimitError`` over ``max_cost_usd``."""
        return self._check(self.requests(task, examples, logprobs=self._wants_logprobs(task)))

    def _choice(self, task) -> bool:
        return task.can_score_labels and self.scoring == "choice"

    def _wants_logprobs(self, task) -> bool:
        return (task.can_score_labels and self.scoring in ("auto", "logprobs")
                and "logprobs" not in self._quirks().dropped)

    def _asks_structured(self, task) -> bool:
        """The label asked as a JSON-schema enum: scoring "structured", or "auto" once the model
        gives no logprobs; never after the server refused ``response_format``."""
        if not task.can_score_labels or "response_format" in self._quirks().dropped:
            return False
        return self.scoring == "structured" or (self.scoring == "auto" and (
            self._silent_no_logprobs or not self._wants_logprobs(task)))

    # -- predict ----------------------------------------------------------------------------
    def predict(self, task, examples: Sequence, *, progress: bool = True) -> ArmResult:
        from tunewise.progress import bar
        examples = list(examples)
        notes: list[str] = []
        state: dict = {"estimate": None, "logprobs": self._wants_logprobs(task)}
        self.client.stats = Stats()          # usage is per predict call

        def run(batch):
            with bar(f"asking {self.spec.display}", len(batch), disable=not progress) as adv:
                responses = self._responses(task, batch, state, notes, adv)
            preds = [self._prediction(task, ex, resp, state["logprobs"])
                     for ex, resp in zip(batch, responses)]
            for i in state["cached"]:
                preds[i].extra["cached"] = True
            return preds

        preds, timing = timed_predictions(run, examples)
        usage = self._usage(preds, state["estimate"])
        if task.can_score_labels:
            bad = sum(p.pred is None for p in preds)
            usage["unparseable"] = bad
            by_text = sum(p.extra.get("method") == "generate" for p in preds)
            if state["logprobs"] and by_text:
                notes.append(f"{by_text} of {len(preds)} answers were read from the generated "
                             "text (no label clearly ahead among the top logprobs)")
            if bad:
                notes.append(f"{bad} of {len(preds)} answers named no label (counted wrong)")
        over = over_limit_note(usage.get("cost_usd_this_run"), self.max_cost_usd,
                               usage.get("estimated_cost_usd"))
        if over:
            usage["cost_warning"] = over
        if usage.get("responses_without_usage"):
            notes.append(f"{usage['responses_without_usage']} response(s) carried no token "
                         "usage: token totals are partial and the cost is not computed")
        notes += refusal_notes(self._quirks(), self.spec.display, task.can_score_labels,
                               structured=any(p.extra.get("method") == "structured"
                                              for p in preds))
        if usage.get("reasoning_tokens"):
            notes.append(f"{usage['reasoning_tokens']:,} hidden reasoning tokens, billed as output "
                         "tokens: counted in the output tokens and the cost")
        cut = sum(p.extra.get("finish") == "length" and not (p.raw or "").strip()
                  and bool(p.extra.get("reasoning_tokens")) for p in preds)
        if cut:
            notes.append(f"{cut} answer(s) used the whole token budget reasoning and said "
                         "nothing: raise max_tokens for this model")
        stats = self.client.stats
        if stats.retries:
            causes = ", ".join(f"{k} x{v}" for k, v in stats.events.items())
            notes.append(f"{stats.retries} retried request(s): {causes}")
        return ArmResult(name=self.name, kind=self.kind, predictions=preds, timing=timing,
                         usage=usage, model=self.spec.display, settings=self.settings(task),
                         notes=notes)

    def _responses(self, task, examples, state, notes, advance) -> list[dict]:
        """The responses, in order; ``state["cached"]`` holds the indices taken from the cache."""
        cached: set[int] = set()
        state["cached"] = cached
        self.client.cache.check()            # a bad cache folder fails before any paid call
        reqs = self.requests(task, examples, logprobs=state["logprobs"])
        state["estimate"] = self._check(reqs)

        def done(offset):
            def on_done(i, resp, hit):
                if hit:
                    cached.add(i + offset)
                advance(1)
            return on_done

        first: list = []
        if reqs:
            # one request first: what this model refuses (learnt once per model), and whether
            # the server gives logprobs at all
            first, reqs = self._first(task, examples, reqs, state, done(0))
        if state["logprobs"] and first:
            if first[0] is None or first_token_alternatives(first[0]["choices"][0]) is None:
                if self.scoring == "logprobs":
                    raise RemoteNoLogprobsError(
                        f"{self.spec.redacted_url} sent no logprobs for {self.spec.model!r}: "
                        "label scoring needs them", fix="use scoring='generate' (or 'auto', which "
                                                  "falls back to generation)")
                self._silent_no_logprobs = True
                notes.append(f"{self.spec.display} gives no logprobs: labels were asked as a "
                             "JSON-schema enum" if self._asks_structured(task) else
                             f"{self.spec.display} gives no logprobs: labels were mapped from "
                             "generated answers")
                state["logprobs"], first = False, []
                cached.clear()
                reqs = self.requests(task, examples, logprobs=False)
                state["estimate"] = self._check(reqs)
        rest = self.client.chat_many(reqs[len(first):], on_done=done(len(first)))
        return [*first, *rest]

    def _first(self, task, examples, reqs, state, on_done) -> tuple[list, list]:
        """([the first response] or [None] when logprobs were refused, the requests): a 400
        naming a parameter this model refuses (``remote.refusals``) is learnt and the
        requests are built again without it."""
        for _ in range(len(refusals.DROPPABLE) + len(refusals.RENAMED) + 1):
            try:
                return self.client.chat_many(reqs[:1], on_done=on_done), reqs
            except (RemoteRequestError, RemoteNoLogprobsError) as e:
                name = refusals.learn(self.spec.redacted_url, self.spec.model, e, reqs[0])
                if name is None:
                    if isinstance(e, RemoteNoLogprobsError) and state["logprobs"]:
                        return [None], reqs          # refused without naming it: as before
                    raise
                if name in ("logprobs", "top_logprobs") and self.scoring == "logprobs":
                    return [None], reqs              # label scoring was required: refused
                state["logprobs"] = state["logprobs"] and self._wants_logprobs(task)
                reqs = self.requests(task, examples, logprobs=state["logprobs"])
                state["estimate"] = self._check(reqs)
        raise RemoteRequestError(f"{self.spec.redacted_url} kept refusing parameters of "
                                 f"{self.spec.model!r}")

    def _check(self, reqs) -> float | None:
        todo = [r for r in reqs if self.client.cached(r) is None]
        return check_cost(todo, self.price, self.spec.display, self.max_cost_usd)

    def _prediction(self, task, ex, resp: dict, logprobs: bool) -> Prediction:
        # the response's shape was checked before it was cached (``remote.response_shape``)
        choice = resp["choices"][0]
        text = message_text(choice)
        usage = resp.get("usage") or {}
        extra = {"finish": choice.get("finish_reason")}
        if not usage:
            extra["usage_missing"] = True
        reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
        if reasoning:
            extra["reasoning_tokens"] = int(reasoning)
        if self._choice(task):
            # the server chose among the labels; each label's probability: its top_logprobs
            pred = text if text in task.labels else task.parse(text, ex)
            extra.update(method="choice", scores=choice_scores(choice, task.labels))
        elif self._asks_structured(task):
            pred = structured_label(text, task.labels)
            # a server that ignored the schema answered in words: read them
            extra["method"] = "structured" if pred is not None else "generate"
            if pred is None:
                pred = task.parse(text, ex)
        elif logprobs and task.can_score_labels:
            scores = label_scores(first_token_alternatives(choice) or [], task.labels)
            pred = best_label(scores)
            extra.update(method="logprobs" if pred is not None else "generate", scores=scores)
            if pred is None:
                pred = task.parse(text, ex)
        else:
            extra["method"] = "generate"
            pred = task.parse(text, ex)
        return Prediction(gold=task.gold(ex), pred=pred, raw=text,
                          tokens_in=int(usage.get("prompt_tokens") or 0),
                          tokens_out=int(usage.get("completion_tokens") or 0), extra=extra)

    def _usage(self, preds, estimate) -> dict:
        stats = self.client.stats
        tin = sum(p.tokens_in for p in preds)
        tout = sum(p.tokens_out for p in preds)
        usage = {"tokens_in": tin, "tokens_out": tout, **stats.to_dict(),
                 "estimated_cost_usd": estimate, "cost_usd": None, "cost_usd_this_run": None,
                 "price": self.price.to_dict() if self.price else None}
        reasoning = sum(int(p.extra.get("reasoning_tokens") or 0) for p in preds)
        if reasoning:
            # OpenAI bills them as output and counts them in completion_tokens (so in tout)
            usage["reasoning_tokens"] = reasoning
        missing = sum(bool(p.extra.get("usage_missing")) for p in preds)
        if missing:
            # token counts unknown for some answers: a cost from the rest would be too low
            usage["responses_without_usage"] = missing
        if self.price is not None and not missing:
            usage["cost_usd"] = self.price.cost(tin, tout)
            # what this run paid: the tokens of responses not taken from the cache
            fresh = [p for p in preds if not p.extra.get("cached")]
            usage["cost_usd_this_run"] = self.price.cost(sum(p.tokens_in for p in fresh),
                                                         sum(p.tokens_out for p in fresh))
        return usage

    def settings(self, task) -> dict:
        return {**self.spec.to_dict(), "shots": self.k, "shot_selection": self.shot_selection,
                "seed": self.seed, "scoring": self.scoring, "max_tokens": self._budget(task),
                "temperature": 0, "max_cost_usd": self.max_cost_usd,
                "timeout_s": self.client.options.timeout_s,
                "concurrency": self.client.options.concurrency,
                "max_retries": self.client.options.max_retries,
                "refused": self._quirks().to_dict()}


def _per_example(shots) -> bool:
    return bool(shots) and isinstance(shots[0], (list, tuple))


def refusal_notes(q, display: str, classification: bool, structured: bool = False) -> list[str]:
    """One note per parameter this model refused (``remote.refusals``)."""
    out = []
    for name in sorted(q.dropped - {"top_logprobs"}):
        if name == "logprobs":
            out.append(f"{display} refuses logprobs: " + (
                "labels were asked as a JSON-schema enum (structured outputs)" if structured
                else "labels were read from the generated answers (generate scoring)"
                if classification else "sent without them"))
        elif name == "temperature":
            out.append(f"{display} refuses temperature 0: sent without it (the model's "
                       "default; its answers may differ between runs)")
        else:
            out.append(f"{display} refuses {name}: sent without it")
    for old, new in sorted(q.renamed.items()):
        out.append(f"{display} refuses {old}: the budget was sent as {new}")
    return out
