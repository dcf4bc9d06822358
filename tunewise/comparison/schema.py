"""The ``results.json`` schema: what ``tunewise compare`` writes and the report renders.

One JSON object (a plain dict in Python). ``tunewise compare`` builds it; ``render_report(results,
out_dir)`` turns it into ``report.md`` and ``report.html``; ``write_results(results, out_dir)``
writes ``results.json``. The types below document every key; ``total=False`` marks optional keys.
``example_results()`` builds a complete, internally consistent synthetic dict (used by the report
tests and as a reference for producers); ``validate_results()`` names every missing/ill-typed key.
Code that needs to know which arm an entry of ``arms`` is reads it as an ``ArmRecord``
(``tunewise.arm_record``: ``ArmRole`` is the one vocabulary of arm kinds) and asks it.

Conventions
-----------
* Metric values are fractions in [0, 1] (0.853, not 85.3). A "point" is 0.01 (a percentage point).
* Every metric is ``{"value": float, "ci": [low, high]}`` (95 % bootstrap CI on the test split;
  ``ci`` may be ``null`` when it could not be computed).
* ``metric`` (top level) is the headline metric every comparison uses: ``macro_f1`` for
  classification (always when labels are imbalanced), ``f1`` for NER, ``rouge_l`` for generation.
* Arm names are unique strings: ``"majority"``, ``"classical"``, ``"zero-shot"``, ``"4-shot"``
  (``f"{k}-shot"``), remote arms (``"gpt-4.1-mini 0-shot"`` or their configured name), and
  fine-tuned runs ``f"finetune-n{train_size}-s{seed}"``, embedding-probe runs
  ``f"probe-n{train_size}-s{seed}"`` (with several models: ``"<model> "`` before each).
* Money is US dollars (``usd``); token counts are per request means unless named ``*_total``.
* Unknown extra keys are allowed anywhere (the report ignores what it does not know).
"""
from __future__ import annotations

from typing import Any, Literal, TypedDict

from tunewise.arm_record import KINDS, ArmRole

#: bump when a key changes meaning or is removed (adding keys does not bump it)
SCHEMA_VERSION = 1


class MetricValue(TypedDict):
    value: float                      #: point estimate on the test split, in [0, 1]
    ci: list[float] | None            #: [low, high] 95 % bootstrap interval, or None


class ClassScores(TypedDict, total=False):
    precision: float
    recall: float
    f1: float
    support: int                      #: gold examples of this class (or entity type) in test


class Confusion(TypedDict):
    labels: list[str]                 #: row/column order; rows = gold, columns = predicted
    matrix: list[list[int]]           #: counts; a prediction outside ``labels`` is not counted
    #: (optional) predictions that parsed to no label, per gold row: list[int]


class ArmTiming(TypedDict, total=False):
    examples_per_second: float        #: measured inference throughput on the test split
    train_seconds: float              #: wall seconds of training steps (fine-tuned/classical)
    train_examples_per_second: float  #: training steps only
    #: fine-tuned arms: the memory the training run added at its peak, MB (CUDA: allocated by
    #: torch; CPU on Linux: resident growth of the process; None: not measured there)
    peak_memory_mb: float
    hardware: str                     #: where it was measured: "cpu (CPU)", "cuda:0 (NVIDIA L4)",
    #: or "remote" (the remote model's own servers)


class ArmTokens(TypedDict, total=False):
    prompt: float                     #: mean prompt (input) tokens per request, measured
    output: float                     #: mean generated/output tokens per request, measured
    train_total: int                  #: tokens in the training file (fine-tuned arms)


class ResultsArm(TypedDict, total=False):
    """One entry of results.json's ``arms`` (read it as ``tunewise.arm_record.ArmRecord``; the
    evaluation layer's ``Arm`` is the protocol of the arms that produce these)."""

    name: str                         #: unique, see module docstring (required)
    #: (required) ``ArmRole``'s value: which arm this is
    kind: Literal["majority", "classical", "probe", "prompt", "remote", "finetune"]
    shots: int                        #: prompting and remote arms: k (0 = zero-shot)
    train_size: int                   #: examples the arm learned from (finetune, probe, classical)
    seed: int                         #: finetune and probe runs (and shot sampling)
    metrics: dict[str, MetricValue]   #: must include results["metric"] (required)
    per_class: dict[str, ClassScores] #: classification: per label; NER: per entity type
    confusion: Confusion              #: classification only
    n_test: int                       #: examples scored
    timing: ArmTiming
    tokens: ArmTokens
    run_dir: str                      #: finetune: the training run directory
    predictions: str                  #: path of the predictions JSONL, relative to results.json
    reused: bool                      #: True when a resumed compare reused this finished arm
    model: str                        #: remote: the model as named in the config; with several
    #: base models (``models``), a prompting or fine-tuned arm's base model too
    base_url: str                     #: remote: the server's URL
    usage: RemoteUsage                #: remote: measured usage and cost on the test sample


class RemoteUsage(TypedDict, total=False):
    """A remote arm's measured usage on the test sample (totals)."""

    prompt_tokens_total: int          #: prompt tokens the server counted
    output_tokens_total: int          #: completion tokens the server counted
    reasoning_tokens_total: int       #: of which hidden reasoning (billed as output)
    n: int                            #: answers (test examples)
    requests: int                     #: responses received from the server in the run
    cache_hits: int                   #: responses taken from the response cache
    attempts: int                     #: HTTP attempts, retries included
    retries: int
    retry_causes: dict[str, int]      #: what triggered the retries ("HTTP 429": 2, ...)
    estimated_cost_usd: float | None  #: estimated before the run (uncached calls only)
    cost_usd: float | None            #: measured: tokens x price (None: no price / no usage)
    cost_usd_this_run: float | None   #: what the run paid (responses not from the cache)
    usd_per_request: float | None     #: cost_usd / n
    price: dict | None                #: the price-table entry used (source, date)
    notes: list[str]


class CurvePoint(TypedDict, total=False):
    train_size: int                   #: (required)
    mean: float                       #: mean headline metric over seeds (required)
    ci: list[float] | None            #: band drawn around the curve: the bootstrap CI when one
    #: seed; with several seeds the mean of the seeds' CI bounds (required, may be None)
    values: list[float]               #: one value per seed, same order as ``seeds``
    seeds: list[int]
    arms: list[str]                   #: names of the finetune (or probe) arms aggregated here
    #: ``probe_curve`` only: the lowest seed's serving cost, its measured forward pass per text
    usd_per_1k_requests: float | None
    seconds_per_request: float | None


class Crossover(TypedDict, total=False):
    found: bool                       #: (required)
    train_size: int | None            #: smallest size where fine-tuning beats ``versus`` (required)
    versus: str                       #: the best prompting arm's name (required)
    metric: str
    diff: float                       #: fine-tuned minus prompt, in metric units (0.12 = 12 points)
    ci: list[float] | None            #: paired-bootstrap CI of ``diff``
    p_value: float
    note: str                         #: one sentence, e.g. "not reached up to 1024 examples"


class PromptWorth(TypedDict, total=False):
    versus: str                       #: the prompting arm measured against (required)
    examples: float | None            #: training examples at which the fine-tune curve reaches the
    #: prompt arm's score (linear interpolation in log(train_size)); None when never or from the
    #: first size on (see ``note``)  (required)
    note: str


class Pricing(TypedDict, total=False):
    name: str                         #: price-table entry: hosted model or local hardware key
    source: str                       #: where the price came from (URL or document)
    date: str                         #: ISO date the price was read
    training_per_1m: float            #: hosted: $ per 1M training tokens
    base_input_per_1m: float
    base_output_per_1m: float
    ft_input_per_1m: float
    ft_output_per_1m: float
    usd_per_hour: float               #: local: $ per hour of the hardware
    measured_on: str                  #: local: the device the throughput was measured on


class TrainingCost(TypedDict, total=False):
    usd: float                        #: (required)
    tokens: int                       #: hosted: billed tokens per epoch
    epochs: int
    seconds: float                    #: local: measured training seconds
    note: str                         #: how it was computed, in words


class ArmCost(TypedDict, total=False):
    arm: str                          #: arm name, or a scenario label such as "4-shot" (required)
    kind: Literal["prompt", "remote", "finetune", "classical", "probe"]   #: (required)
    prompt_tokens: float              #: per request
    output_tokens: float              #: per request
    usd_per_request: float | None     #: (required; None: a remote model without a price)
    usd_per_1k_requests: float | None #: (required) = 1000 * usd_per_request
    measured: bool                    #: remote: priced from the measured token usage
    examples_per_second: float        #: local: measured throughput used for the price


class BreakEven(TypedDict, total=False):
    versus: str                       #: prompting arm compared against (required)
    finetuned: str                    #: fine-tuned arm name (required)
    requests: float | None            #: training usd / (prompt usd/request - ft usd/request);
    #: None when ``never`` (required)
    never: bool                       #: True when the fine-tuned call is not cheaper (required)
    saving_per_request: float         #: prompt usd/request - ft usd/request (may be <= 0)
    text: str                         #: "pays back after 2,500 requests" / "never: ..."


class CostSection(TypedDict, total=False):
    #: (required) "local": compute on your hardware; "hosted": a projection at a hosted model's
    #: prices; "remote": the remote arms' measured cost against the local fine-tune
    mode: Literal["hosted", "local", "remote"]
    model: str                        #: hosted model name or local model run on ``pricing.name``
    pricing: Pricing                  #: (required)
    training: TrainingCost            #: (required)
    arms: list[ArmCost]               #: (required) prompting arm(s) first, fine-tuned last
    break_even: BreakEven             #: (required)


class DataSummary(TypedDict, total=False):
    train: int                        #: examples in the full training split
    val: int
    test: int
    source: str                       #: the input path(s), in words
    label_counts: dict[str, int]      #: test-split label distribution (classification)
    imbalanced: bool                  #: majority share > 60 % (or as compare decides)
    majority_share: float


class TaskSummary(TypedDict, total=False):
    kind: Literal["classification", "ner", "generation"]   #: (required)
    labels: list[str]                 #: classification labels / NER entity types
    config: dict                      #: Task.to_config()


class Recommendation(TypedDict, total=False):
    #: (required) "cascade": the best cascade beats the best single arm (``cascade.best``);
    #: "classical": a cheap non-generative classifier, TF-IDF or the embedding probe (the
    #: headline names which; results' "classical|..." tests are that arm's)
    action: Literal["fine-tune", "prompt", "classical", "majority", "undecided", "cascade"]
    headline: str                     #: the recommendation in plain words (required), e.g.
    #: "fine-tune: from ~64 examples it beats 4-shot by 12 ± 4 points and pays back after 2,500
    #: requests"
    reasons: list[str]                #: the evidence, one sentence each, with numbers (required)
    caveats: list[str]                #: e.g. "one seed per size: the curve is noisy"


class CascadePoint(TypedDict, total=False):
    threshold: float                  #: escalate when the calibrated confidence < threshold
    share_escalated: float            #: fraction of test examples sent to the expensive arm
    value: float                      #: the headline metric of the cascade's answers
    ci: list[float]                   #: bootstrap CI of ``value``
    usd_per_1k_requests: float | None #: cheap arm on every request + expensive on the escalated
    seconds_per_request: float | None #: the same mix of each arm's seconds per request


class CascadePair(TypedDict, total=False):
    cheap: str                        #: arm name (classical or a fine-tuned size)
    expensive: str                    #: arm name (remote or k-shot)
    temperature: dict                 #: {"all": T, "halves": [T fitted on half 0, on half 1]}
    threshold: float                  #: chosen on every test example (the rule to deploy)
    crossfit: dict                    #: CascadePoint of the cross-fitted rule, + "thresholds"
    #: (chosen on each half) and "in_sample_value" (what choosing on the same examples reports)
    cheap_alone: dict                 #: {"value", "ci", "usd_per_1k_requests", ...}
    expensive_alone: dict
    tests: dict                       #: {"vs_cheap", "vs_expensive"}: paired bootstrap of the
    #: cross-fitted cascade minus each arm
    curve: list[CascadePoint]         #: every 5% of examples escalated


class CascadeSection(TypedDict, total=False):
    defined: bool                     #: False: no confidence defined (NER, generation)
    note: str                         #: one sentence: why none, or the best cascade
    metric: str
    rule: str
    calibration: str
    pairs: list[CascadePair]
    best: dict | None                 #: the best pair's cross-fitted result, ``vs_best_single``
    #: (paired test against the best single arm) and ``beats_best_single``
    frontier: list[dict]              #: arms and curve points no other point beats on value and
    #: cost, cheapest first
    arms: list[dict]                  #: every arm's {"name", "kind", "value",
    #: "usd_per_1k_requests", "seconds_per_request"}
    skipped: list[str]                #: pairs or arms left out, and why


class FailedArm(TypedDict, total=False):
    """An arm that could not run: a typed error inside it ended that arm only (the others ran).
    It is not in ``arms``, and a rerun of the same compare tries it again."""

    name: str                         #: the arm's name, as it would be in ``arms``
    kind: str                         #: an ``ArmRole`` value (``tunewise.arm_record.KINDS``)
    status: Literal["failed"]
    error: str                        #: the error's type, e.g. "TrainingError", "RemoteError"
    reason: str                       #: the error message
    fix: str | None                   #: what to change, in compare's settings
    exit_code: int                    #: the exit status the error has on its own (1 or 2)


class Results(TypedDict, total=False):
    schema_version: int               #: SCHEMA_VERSION (required)
    tunewise_version: str
    created: str                      #: ISO-8601 UTC timestamp
    title: str                        #: shown at the top of the report; default from task/data
    config: dict                      #: the compare config as resolved (paths, arms, sizes, seeds)
    model: str                        #: the local model compared (required); with several, the
    #: one the recommendation names (whose curve, crossover and cost sections these are)
    #: several base models (config ``models``): one row per model, in config order: "model",
    #: "kind" (built-in models: instruction-tuned / base (pretrained...)), "base", "parameters",
    #: "weights_mb", "best_arm", "best" (in words), "metric", "value", "ci", "best_prompt",
    #: "crossover" ({found, train_size, versus}), "train_seconds", "train_usd" (the curve's
    #: training at the compute's $/hour; None when unpriced), "train_peak_memory_mb" (the
    #: largest peak of its training runs; None: not measured), "usd_per_1k_requests",
    #: "seconds_per_request", "device", "learning_curve" (its CurvePoints), "probe" (its
    #: embedding probe's best size: train_size, value, ci, usd_per_1k_requests,
    #: seconds_per_request; None without one), "probe_curve", "action",
    #: "recommendation" (its own headline), "vs_lead" (paired test of its best arm minus the
    #: best-scoring model's; None for that one), "chosen"
    models: list[dict]
    task: TaskSummary                 #: (required)
    metric: str                       #: headline metric for every comparison (required)
    data: DataSummary                 #: (required)
    arms: list[ResultsArm]            #: every arm, every size, every seed (required)
    learning_curve: list[CurvePoint]  #: fine-tuned arms aggregated per size, ascending (required)
    #: the embedding-probe arms aggregated per size, ascending ([] when none ran)
    probe_curve: list[CurvePoint]
    crossover: Crossover              #: (required)
    prompt_worth: PromptWorth
    cost: CostSection                 #: the main cost comparison (required)
    extra_costs: list[CostSection]    #: further sections: the remote arms' measured cost
    #: (mode "remote", first) and the hosted price projection
    break_even: BreakEven             #: = cost["break_even"], repeated at top level (required)
    cascade: CascadeSection           #: the cheap -> expensive cascades (classification)
    recommendation: Recommendation    #: (required)
    warnings: list[str]               #: shown in the report, e.g. "labels imbalanced: ..."
    failed_arms: list[FailedArm]      #: arms that could not run (the report lists them)
    timing: dict                      #: {"total_seconds": float, ...}
    files: dict[str, str]             #: other files compare wrote, relative to results.json


REQUIRED: dict[str, type | tuple] = {
    "schema_version": int, "model": str, "task": dict, "metric": str, "data": dict,
    "arms": list, "learning_curve": list, "crossover": dict, "cost": dict, "break_even": dict,
    "recommendation": dict,
}


def validate_results(results: Any) -> list[str]:
    """Every problem with a results dict, as sentences naming the key (empty list = valid)."""
    if not isinstance(results, dict):
        return [f"results must be a JSON object, got {type(results).__name__}"]
    out: list[str] = []
    for key, typ in REQUIRED.items():
        if key not in results:
            out.append(f"missing key {key!r}")
        elif not isinstance(results[key], typ):
            out.append(f"{key!r} must be {typ.__name__}, got {type(results[key]).__name__}")
    if out:
        return out
    metric = results["metric"]
    names = set()
    for i, arm in enumerate(results["arms"]):
        where = f"arms[{i}]"
        if not isinstance(arm, dict):
            out.append(f"{where} must be an object")
            continue
        for k in ("name", "kind", "metrics"):
            if k not in arm:
                out.append(f"{where} missing key {k!r}")
        name = arm.get("name")
        if name in names:
            out.append(f"{where}: duplicate arm name {name!r}")
        names.add(name)
        if ArmRole.lookup(arm.get("kind")) is None:
            out.append(f"{where}.kind must be {'|'.join(KINDS)}, got {arm.get('kind')!r}")
        m = arm.get("metrics", {})
        if isinstance(m, dict) and metric not in m:
            out.append(f"{where} ({name}) has no value for the headline metric {metric!r}")
        elif isinstance(m, dict) and not _is_metric_value(m[metric]):
            out.append(f"{where}.metrics.{metric} must be {{'value': float, 'ci': [lo, hi]|null}}")
    for i, pt in enumerate(results["learning_curve"]):
        for k in ("train_size", "mean"):
            if k not in pt:
                out.append(f"learning_curve[{i}] missing key {k!r}")
    for k in ("found", "train_size", "versus"):
        if k not in results["crossover"]:
            out.append(f"crossover missing key {k!r}")
    cost = results["cost"]
    for k in ("mode", "pricing", "training", "arms", "break_even"):
        if k not in cost:
            out.append(f"cost missing key {k!r}")
    for i, ac in enumerate(cost.get("arms", []) or []):
        for k in ("arm", "kind", "usd_per_request", "usd_per_1k_requests"):
            if k not in ac:
                out.append(f"cost.arms[{i}] missing key {k!r}")
    if "usd" not in cost.get("training", {}):
        out.append("cost.training missing key 'usd'")
    for k in ("versus", "finetuned", "requests", "never"):
        if k not in results["break_even"]:
            out.append(f"break_even missing key {k!r}")
    for k in ("action", "headline", "reasons"):
        if k not in results["recommendation"]:
            out.append(f"recommendation missing key {k!r}")
    return out


def _is_metric_value(v: Any) -> bool:
    return (isinstance(v, dict) and isinstance(v.get("value"), (int, float))
            and (v.get("ci") is None or (isinstance(v["ci"], (list, tuple)) and len(v["ci"]) == 2)))
