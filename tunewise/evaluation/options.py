"""What ``evaluate`` can be told besides the data: ``EvalOptions``, in three parts.

- ``EvalOptions`` itself: the common options of every arm (model, adapter, arm, training data,
  task, labels, seed, limit, output, batch size, bootstrap resamples, reading options);
- ``EvalOptions.prompt``, a ``PromptOptions``: how a model is prompted (shots and their
  selection, scoring method, generation budget, precision, calibration), read by the prompt,
  fine-tuned and remote arms;
- ``EvalOptions.remote``, a ``RemoteOptions``: how a model behind an OpenAI-compatible API is
  asked (server, key variable, cost limit, scoring, concurrency, timeout, retries, cache, price),
  read by the remote arm.

::

    EvalOptions(arm="classical", train="train.csv")
    EvalOptions(prompt=PromptOptions(shots=4, shots_from="train.csv"))
    EvalOptions(shots=4, shots_from="train.csv")      # the same: a part's field given flat
    opts.prompt.shots, opts.remote.max_cost_usd
    opts.shots                                         # the same as opts.prompt.shots

A field of a part may be given flat (``EvalOptions(shots=4)``, ``evaluate(data, shots=4)``,
``dataclasses.replace(opts, price=p)``): it is set on its part, over a part given as
``prompt=``/``remote=``. Read or assigned flat (``opts.shots``, ``opts.shots = 2``), it is the
part's field (an assignment replaces the part, never changes one another options object shares).
Field names are unique across the parts, so a flat name is never ambiguous. Options are keyword
only. ``tunewise eval``'s flags are generated from these fields, their ``#:`` comments the help
(``tunewise.cli.eval_flags``): a new field is a new flag.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, Sequence

from tunewise.errors import UsageError
from tunewise.tasks.base import Task


@dataclass
class PromptOptions:
    """How a model is prompted: the prompt, fine-tuned and remote arms read these."""

    #: examples shown before each input (k-shot)
    shots: int = 0
    #: where shots come from
    # a file or a list of Example; default: ``train``
    shots_from: Any = None
    #: random, class-balanced, or nearest neighbours by TF-IDF similarity
    shot_selection: str = "random"
    #: classification: score each label's log-likelihood, or generate and parse
    # "auto": score when the task has labels
    method: str = "auto"
    #: generation budget (default: from the task)
    # None: from the longest answer in ``train`` / the shots (see ``prompting.predict``)
    max_new_tokens: int | None = None
    #: None = bf16 label scoring where the CPU has bf16 math, close calls re-scored in fp32
    bf16: bool | None = None
    #: calibration of label scores: False, "content-free" (or True), "prior" (see ``predict``)
    calibrate: bool | str = False


@dataclass
class RemoteOptions:
    """A model behind an OpenAI-compatible API (``openai:NAME``, or any NAME with
    ``base_url``): how the remote arm asks it."""

    #: an OpenAI-compatible server (vLLM, llama.cpp, Ollama, tunewise serve):
    #: http://HOST:PORT/v1; --model is then the served name
    base_url: str | None = None
    #: environment variable holding the API key [default: OPENAI_API_KEY for openai: models and
    #: api.openai.com only; another --base-url server gets no key unless this names one; keys
    #: are read only from the environment]
    api_key_env: str | None = None
    #: refuse a run whose uncached requests are estimated above USD ('none': no limit)
    # None: no limit
    max_cost_usd: float | None = 5.0
    #: remote classification: labels from logprobs, from the generated text, logprobs when the
    #: server has them (auto), the labels sent as a choice list (choice: vLLM, tunewise serve)
    #: or asked as a JSON-schema enum (structured: OpenAI structured outputs, tunewise serve)
    #: [default: from --method]
    scoring: str | None = None
    #: remote requests in flight at most
    concurrency: int = 8
    #: seconds one remote request may take (a wall-clock deadline per attempt)
    timeout_s: float = 60.0
    #: retries per remote request (429 / 5xx / timeouts, exponential backoff honouring
    #: Retry-After)
    max_retries: int = 6
    #: remote response cache [default: $TUNEWISE_HOME/remote-cache]
    cache_dir: str | os.PathLike | None = None
    #: a ``tunewise.remote.RemotePrice`` (``tunewise.cost.remote_prices.remote_price(model)``;
    #: ``tunewise eval`` looks it up in the price table); None: cost unknown
    price: Any = None


#: the parts of an ``EvalOptions``: attribute name -> dataclass
PARTS = {"prompt": PromptOptions, "remote": RemoteOptions}
#: a part's field name -> the part holding it
_PART_OF = {f.name: part for part, cls in PARTS.items() for f in fields(cls)}


@dataclass(init=False)
class EvalOptions:
    """Everything ``evaluate`` can be told besides the data (``tunewise eval`` builds one):
    the common options here, the prompting ones in ``prompt``, the remote ones in ``remote``
    (a part's field may be given, read and assigned flat: see the module docstring)."""

    #: smollm2-135m-instruct (default, embedded), gemma-3-270m, tiny-random, a local folder or a
    #: hub id; a remote model: openai:NAME, or NAME with --base-url
    model: str | None = None
    #: a run directory from `tunewise train` (its base model and task are used)
    # or a PEFT adapter folder: the ``finetuned`` arm
    adapter: str | os.PathLike | None = None
    #: prompting (zero/k-shot; with --adapter the fine-tuned run), TF-IDF + logistic regression,
    #: majority baseline
    # any kind registered in ``tunewise.evaluation.arms``; "classical" needs ``train``
    arm: str = "prompt"
    #: training data: for --arm classical, and the default source of shots
    # a file or a list of Example; also the generation budget
    train: Any = None
    #: classification | ner | generation, or a preset (sentiment, topic); default: inferred
    #: from the data
    # or a Task; with ``adapter`` the run's task
    task: str | Task | None = None
    #: classification labels / NER types
    labels: Sequence[str] | None = None
    #: shot selection and bootstrap seed
    seed: int = 0
    #: evaluate the first N examples
    limit: int | None = None
    #: write the predictions here
    # a predictions JSONL path
    out: str | os.PathLike | None = None
    #: examples per forward pass, at most (label scoring and generation; on a CPU label scoring
    #: also stops a batch at 1,024 tokens)
    # 32: measured fastest for label scoring on 2 CPU cores
    batch_size: int = 32
    #: bootstrap resamples for the confidence intervals
    n_resamples: int = 1000
    #: keyword arguments for ``tunewise.data.read``
    read_options: dict | None = None
    #: progress bars
    progress: bool = True
    #: how a model is prompted
    prompt: PromptOptions = field(default_factory=PromptOptions)
    #: how a remote model is asked
    remote: RemoteOptions = field(default_factory=RemoteOptions)

    def __init__(self, **options):
        unknown = sorted(set(options) - set(option_names()))
        if unknown:
            from tunewise.registry import did_you_mean
            raise TypeError(f"EvalOptions: unknown option(s) {', '.join(unknown)}; "
                            f"{did_you_mean(unknown[0], option_names())}")
        for f in fields(self):
            value = options[f.name] if f.name in options else (
                f.default if f.default is not MISSING else f.default_factory())
            object.__setattr__(self, f.name, value)
        for part in PARTS:
            flat = {k: options[k] for k in options if _PART_OF.get(k) == part}
            if flat:
                object.__setattr__(self, part, replace(getattr(self, part), **flat))

    def __getattr__(self, name: str):
        # only called when normal lookup fails: a part's field read flat
        part = _PART_OF.get(name)
        if part is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(getattr(self, part), name)

    def __setattr__(self, name: str, value) -> None:
        part = _PART_OF.get(name)
        if part is None:
            object.__setattr__(self, name, value)
        else:   # copy on write: a part may be shared with a copy made by dataclasses.replace
            object.__setattr__(self, part, replace(getattr(self, part), **{name: value}))

    def is_remote(self) -> bool:
        """A model on an OpenAI-compatible server: a provider prefix or a ``base_url``."""
        from tunewise.remote.spec import split_provider
        if self.remote.base_url is not None:
            return True
        return isinstance(self.model, str) and split_provider(self.model)[0] is not None

    def arm_kind(self) -> str:
        """The registry kind: ``arm``, with "prompt" on an ``adapter`` meaning "finetuned" and
        on a remote model (``is_remote``) meaning "remote"."""
        if self.arm == "prompt" and self.is_remote():
            return "remote"
        return "finetuned" if self.arm == "prompt" and self.adapter is not None else self.arm

    def check(self) -> None:
        """The option problems found without reading any file."""
        from tunewise.evaluation.arms import arm_class
        arm_class(self.arm_kind())
        p = self.prompt
        if p.shots < 0:
            raise UsageError(f"--shots must be >= 0, got {p.shots}")
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"--limit must be >= 1, got {self.limit}")
        if self.n_resamples < 1:
            raise UsageError(f"--n-resamples must be >= 1, got {self.n_resamples}")
        if self.arm_kind() == "classical":
            if self.train is None:
                raise UsageError("the classical arm needs training data",
                                 fix="pass --train FILE")
            if self.adapter is not None or p.shots:
                raise UsageError("the classical arm takes no --adapter and no --shots")
        if p.shots and p.shots_from is None and self.train is None:
            raise UsageError(f"--shots {p.shots} needs examples to show",
                             fix="pass --shots-from FILE (or --train FILE)")
        from tunewise.prompting.shots import SELECTIONS
        if p.shot_selection not in SELECTIONS:
            raise UsageError(f"unknown shot selection {p.shot_selection!r}",
                             fix=f"use one of: {', '.join(SELECTIONS)}")
        self._check_remote()

    def _check_remote(self) -> None:
        r = self.remote
        if self.arm_kind() != "remote":
            given = [flag for flag, v in (("--api-key-env", r.api_key_env),
                                          ("--scoring", r.scoring),
                                          ("--cache-dir", r.cache_dir)) if v is not None]
            if given:
                raise UsageError(f"{', '.join(given)} apply to remote models only",
                                 fix="give --model openai:NAME, or --model NAME --base-url "
                                     "http://HOST:PORT/v1")
            return
        if self.adapter is not None:
            raise UsageError("--adapter runs a local fine-tune; a remote model takes none",
                             fix="serve the run (tunewise serve) and evaluate it with --model "
                                 "NAME --base-url URL, or drop --base-url")
        if self.prompt.calibrate:
            raise UsageError("--calibrate applies to local label scoring, not a remote model")
        if r.concurrency < 1:
            raise UsageError(f"--concurrency must be >= 1, got {r.concurrency}")
        if not r.timeout_s > 0 or r.timeout_s == float("inf"):   # NaN fails > 0 too
            raise UsageError(f"--timeout must be a finite number of seconds > 0, got "
                             f"{r.timeout_s}")
        if r.max_retries < 0:
            raise UsageError(f"--retries must be >= 0, got {r.max_retries}")
        if r.max_cost_usd is not None and not 0 <= r.max_cost_usd < float("inf"):
            raise UsageError(f"--max-cost must be a finite number of US dollars >= 0, got "
                             f"{r.max_cost_usd}", fix="or --max-cost none for no limit")


def option_names() -> list[str]:
    """Every keyword ``EvalOptions`` (and ``evaluate``) accepts: its own fields, the parts'
    names, and every part's fields given flat."""
    return [f.name for f in fields(EvalOptions)] + list(_PART_OF)


def eval_options(options: EvalOptions | None = None, **fields_) -> EvalOptions:
    """``options`` (default: all defaults) with ``fields_`` set (flat or nested, as
    ``EvalOptions`` takes them); an unknown field is a UsageError naming the known ones."""
    known = option_names()
    unknown = sorted(set(fields_) - set(known))
    if unknown:
        from tunewise.registry import did_you_mean
        raise UsageError(f"evaluate: unknown option(s) {', '.join(unknown)}",
                         fix=did_you_mean(unknown[0], sorted(known)))
    return dataclasses.replace(options or EvalOptions(), **fields_)
