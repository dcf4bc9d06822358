"""Building a CompareConfig from a raw dict and checking every field (all problems at once).

Used by ``tunewise.comparison.config.load_config``; split from it so that the typed config (the
dataclasses and their defaults) reads on its own.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

from tunewise.comparison.config import (
    DEMO_NAMES, FT_METHODS, PREDICT_METHODS, SELECTIONS, TASK_KINDS, ArmsConfig, CompareConfig,
    CostConfig, DataConfig, FineTuneConfig, KShotConfig, ModelConfig, TaskConfig)
from tunewise.registry import did_you_mean


# -- building + validation ---------------------------------------------------------------------

def _section(raw: Any, cls, where: str, problems: list[str]) -> dict:
    """The known keys of a mapping section; unknown keys and non-mappings are problems."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping (key: value), got {raw!r}")
        return {}
    names = [f.name for f in dataclasses.fields(cls) if f.name != "base_dir"]
    out = {}
    for k, v in raw.items():
        if k not in names:
            problems.append(f"{where}.{k}: unknown field ({did_you_mean(str(k), names)})"
                            if where else f"{k}: unknown field ({did_you_mean(str(k), names)})")
        else:
            out[k] = v
    return out


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check(cond: bool, problems: list[str], msg: str) -> None:
    if not cond:
        problems.append(msg)


def _opt_str(d: dict, key: str, where: str, problems: list[str]) -> None:
    if key in d and d[key] is not None and not isinstance(d[key], str):
        problems.append(f"{where}.{key}: expected a string, got {d[key]!r}")


def _build(raw: dict, problems: list[str]) -> CompareConfig:
    top = _section(raw, CompareConfig, "", problems)
    data = _build_data(top.get("data"), problems)
    task = _build_task(top.get("task"), problems)
    model = _build_model(top.get("model"), problems)
    arms = _build_arms(top.get("arms"), problems)
    cost = _build_cost(top.get("cost"), problems)
    cfg = CompareConfig(data=data, task=task, model=model, arms=arms, cost=cost)
    if "max_eval" in top:
        v = top["max_eval"]
        _check(v is None or (_is_int(v) and v >= 2), problems,
               f"max_eval: expected an integer >= 2 or null (all test examples), got {v!r}")
        cfg.max_eval = v
    if "seed" in top:
        _check(_is_int(top["seed"]), problems, f"seed: expected an integer, got {top['seed']!r}")
        cfg.seed = top["seed"]
    if "alpha" in top:
        v = top["alpha"]
        _check(isinstance(v, (int, float)) and 0 < v < 1, problems,
               f"alpha: expected a significance level between 0 and 1 (e.g. 0.05), got {v!r}")
        cfg.alpha = float(v) if isinstance(v, (int, float)) else v
    if "n_resamples" in top:
        v = top["n_resamples"]
        _check(_is_int(v) and v >= 100, problems,
               f"n_resamples: expected an integer >= 100 (e.g. 1000), got {v!r}")
        cfg.n_resamples = v
    if "max_minutes" in top:
        v = top["max_minutes"]
        _check(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0),
               problems, f"max_minutes: expected a positive number or null, got {v!r}")
        cfg.max_minutes = v
    return cfg


def _build_data(raw, problems) -> DataConfig:
    d = _section(raw, DataConfig, "data", problems)
    for k in ("path", "demo", "train", "val", "test", "format", "text_column", "label_column",
              "encoding"):
        _opt_str(d, k, "data", problems)
    cfg = DataConfig(**{k: v for k, v in d.items() if k != "clean_options"})
    if isinstance(d.get("clean_options"), dict):
        cfg.clean_options = d["clean_options"]
    sources = [n for n in ("path", "demo", "train") if d.get(n)]
    if raw is None or not (d.get("path") or d.get("demo") or d.get("train") or d.get("test")):
        problems.append("data: no data given (fix: set data.path to a dataset file, data.demo to "
                        f"one of {', '.join(DEMO_NAMES)}, or data.train + data.test to pre-made "
                        "splits)")
    elif len(sources) > 1:
        problems.append(f"data: give only one of data.path, data.demo, data.train (got "
                        f"{', '.join(sources)})")
    elif d.get("train") and not d.get("test"):
        problems.append("data.test: pre-made splits need a test file (fix: add data.test, or give "
                        "one file as data.path and let compare split it)")
    elif d.get("test") and not d.get("train"):
        problems.append("data.train: pre-made splits need a training file (fix: add data.train)")
    if d.get("val") and not d.get("train"):
        problems.append("data.val: only used with pre-made splits (data.train + data.test)")
    if isinstance(d.get("demo"), str) and d["demo"] not in DEMO_NAMES:
        problems.append(f"data.demo: unknown demo dataset {d['demo']!r} "
                        f"({did_you_mean(d['demo'], DEMO_NAMES)})")
    if "clean_options" in d:
        co = d["clean_options"]
        if co is None:
            d["clean_options"] = {}
        elif not isinstance(co, dict):
            problems.append(f"data.clean_options: expected a mapping such as {{min_confidence: "
                            f"0.6}}, got {co!r}")
        else:
            import inspect
            from tunewise.quality.commands import clean as _clean
            allowed = [k for k in inspect.signature(_clean).parameters
                       if k not in ("path", "out", "log", "format", "text_column", "label_column",
                                    "encoding", "progress")]
            for k in co:
                if k not in allowed:
                    problems.append(f"data.clean_options.{k}: not an option of tunewise data "
                                    f"clean ({did_you_mean(str(k), allowed)})")
            from tunewise.data.clean_options import option_problems
            problems += option_problems(co, "data.clean_options")
    if "clean" in d:
        _check(isinstance(d["clean"], bool), problems,
               f"data.clean: expected true or false, got {d['clean']!r}")
    if d.get("max_examples") is not None:
        v = d["max_examples"]
        _check(_is_int(v) and v >= 10, problems,
               f"data.max_examples: expected an integer >= 10 or null (all), got {v!r}")
    for k in ("val_fraction", "test_fraction"):
        if k in d:
            v = d[k]
            _check(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 0.9,
                   problems, f"data.{k}: expected a fraction between 0 and 0.9 (e.g. 0.1), got {v!r}")
    return cfg


def _build_task(raw, problems) -> TaskConfig:
    d = _section(raw, TaskConfig, "task", problems)
    _opt_str(d, "preset", "task", problems)
    if d.get("kind") is not None and d["kind"] not in TASK_KINDS:
        problems.append(f"task.kind: unknown task kind {d['kind']!r} "
                        f"({did_you_mean(str(d['kind']), TASK_KINDS)}; or leave it out to infer it)")
    labels = d.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(x, (str, int)) and
                                                   not isinstance(x, bool) for x in labels):
            problems.append(f"task.labels: expected a list of labels, e.g. [negative, neutral, "
                            f"positive], got {labels!r}")
        else:
            d["labels"] = [str(x) for x in labels]
            if len(set(d["labels"])) != len(d["labels"]):
                problems.append(f"task.labels: duplicate labels in {d['labels']}")
    tpl = d.get("template")
    if tpl is not None:
        if not isinstance(tpl, dict) or set(tpl) - {"system", "user"} or not all(
                isinstance(v, str) for v in tpl.values()):
            problems.append("task.template: expected {system: '...', user: '...{input}...'} "
                            f"(strings), got {tpl!r}")
        elif "user" in tpl and "{input}" not in tpl["user"]:
            problems.append("task.template.user: must contain {input} (where the example's text "
                            "goes)")
    return TaskConfig(**d)


def _build_model(raw, problems) -> ModelConfig:
    if isinstance(raw, str):  # `model: tiny-random` is short for {name: tiny-random}
        raw = {"name": raw}
    d = _section(raw, ModelConfig, "model", problems)
    if "name" in d:
        _check(isinstance(d["name"], str) and d["name"], problems,
               f"model.name: expected a model name or directory, got {d['name']!r}")
    if "batch_size" in d:
        _check(_is_int(d["batch_size"]) and d["batch_size"] >= 1, problems,
               f"model.batch_size: expected a positive integer, got {d['batch_size']!r}")
    if "method" in d and d["method"] not in PREDICT_METHODS:
        problems.append(f"model.method: {d['method']!r} is not one of "
                        f"{', '.join(PREDICT_METHODS)}")
    if "precision" in d and d["precision"] not in ("auto", "bf16", "fp32"):
        problems.append(f"model.precision: {d['precision']!r} is not one of auto, bf16, fp32")
    return ModelConfig(**d)


def _build_arms(raw, problems) -> ArmsConfig:
    d = _section(raw, ArmsConfig, "arms", problems)
    cfg = ArmsConfig()
    for k in ("classical", "zero_shot"):
        if k in d:
            _check(isinstance(d[k], bool), problems,
                   f"arms.{k}: expected true or false, got {d[k]!r}")
            setattr(cfg, k, d[k])
    if "k_shot" in d:
        ks = d["k_shot"]
        if ks is None or ks is False:
            ks = []
        if isinstance(ks, (int, dict)) and not isinstance(ks, bool):
            ks = [ks]
        if not isinstance(ks, list):
            problems.append(f"arms.k_shot: expected a list such as [{{k: 4, selection: balanced}}]"
                            f", got {ks!r}")
            ks = []
        cfg.k_shot = []
        for i, item in enumerate(ks):
            where = f"arms.k_shot[{i}]"
            if _is_int(item):
                item = {"k": item}
            s = _section(item, KShotConfig, where, problems)
            if "k" in s:
                _check(_is_int(s["k"]) and s["k"] >= 1, problems,
                       f"{where}.k: expected a positive integer (zero-shot is arms.zero_shot), "
                       f"got {s['k']!r}")
            if "selection" in s and s["selection"] not in SELECTIONS:
                problems.append(f"{where}.selection: unknown selection {s['selection']!r} "
                                f"({did_you_mean(str(s['selection']), SELECTIONS)})")
            cfg.k_shot.append(KShotConfig(**s))
    if "fine_tune" in d:
        ft = d["fine_tune"]
        if ft is False or ft is None:
            cfg.fine_tune = FineTuneConfig(enabled=False)
        else:
            cfg.fine_tune = _build_fine_tune(ft, problems)
    return cfg


def _valid_size(v) -> bool:
    return v == "all" or (_is_int(v) and v >= 1)


def _check_per_size(spec, where: str, what: str, problems: list[str], minimum: int) -> None:
    if spec is None:
        return
    if _is_int(spec):
        _check(spec >= minimum, problems, f"{where}: expected an integer >= {minimum}, got {spec!r}")
        return
    if not isinstance(spec, dict):
        problems.append(f"{where}: expected an integer or a mapping {{size: {what}}}, got {spec!r}")
        return
    for k, v in spec.items():
        if not (_valid_size(k) or k == "default" or (isinstance(k, str) and k.isdigit())):
            problems.append(f"{where}: key {k!r} is not a training size (a positive integer, "
                            "'all' or 'default')")
        if not (_is_int(v) and v >= minimum):
            problems.append(f"{where}.{k}: expected an integer >= {minimum}, got {v!r}")


def _build_fine_tune(raw, problems) -> FineTuneConfig:
    d = _section(raw, FineTuneConfig, "arms.fine_tune", problems)
    where = "arms.fine_tune"
    if "enabled" in d:
        _check(isinstance(d["enabled"], bool), problems,
               f"{where}.enabled: expected true or false, got {d['enabled']!r}")
    if "method" in d and d["method"] not in FT_METHODS:
        problems.append(f"{where}.method: unknown method {d['method']!r} "
                        f"({did_you_mean(str(d['method']), FT_METHODS)})")
    if "config" in d and d["config"] is not None and not isinstance(d["config"], (dict, str)):
        problems.append(f"{where}.config: expected a mapping of training options or the path of a "
                        f"training YAML, got {d['config']!r}")
    if "sizes" in d:
        sizes = d["sizes"]
        if not isinstance(sizes, list) or not sizes:
            problems.append(f"{where}.sizes: expected a non-empty list such as [16, 64, 256, all], "
                            f"got {sizes!r}")
        else:
            bad = [s for s in sizes if not _valid_size(s)]
            if bad:
                problems.append(f"{where}.sizes: {', '.join(repr(b) for b in bad)} not a positive "
                                "integer or 'all'")
            elif len(set(map(str, sizes))) != len(sizes):
                problems.append(f"{where}.sizes: duplicate sizes in {sizes}")
            else:
                d["sizes"] = sorted(sizes, key=lambda s: float("inf") if s == "all" else s)
    _check_per_size(d.get("seeds"), f"{where}.seeds", "number of seeds", problems, 1)
    _check_per_size(d.get("epochs"), f"{where}.epochs", "epochs", problems, 1)
    if "max_val" in d:
        _check(_is_int(d["max_val"]) and d["max_val"] >= 1, problems,
               f"{where}.max_val: expected a positive integer, got {d['max_val']!r}")
    return FineTuneConfig(**d)


def _build_cost(raw, problems) -> CostConfig:
    d = _section(raw, CostConfig, "cost", problems)
    for k in ("price", "compute", "prices_file"):
        _opt_str(d, k, "cost", problems)
    return CostConfig(**d)


def _check_paths(cfg: CompareConfig, problems: list[str]) -> None:
    """Files named in ``data`` exist; the price entries exist (checked before any model loads)."""
    for k in ("path", "train", "val", "test"):
        v = getattr(cfg.data, k)
        p = cfg.resolve(v) if isinstance(v, str) else None
        if p is not None and not os.path.exists(p):
            problems.append(f"data.{k}: {p} does not exist (fix: check the path; relative paths "
                            "are read from the config file's folder)")
    if isinstance(cfg.cost.prices_file, str):
        p = cfg.resolve(cfg.cost.prices_file)
        if not os.path.exists(p):
            problems.append(f"cost.prices_file: {p} does not exist")
            return
    try:
        from tunewise.cost import prices
    except ImportError:  # the price table is not there yet: checked when the cost is computed
        return
    try:
        table = prices.load_prices(cfg.resolve(cfg.cost.prices_file)) \
            if cfg.cost.prices_file else prices.load_prices()
    except Exception as e:  # noqa: BLE001 - reported as a config problem
        problems.append(f"cost.prices_file: cannot be read ({getattr(e, 'message', e)})")
        return
    for key, pricing, what in (("price", "api", "hosted-model price"),
                               ("compute", "compute", "compute ($/hour)")):
        name = getattr(cfg.cost, key)
        if not name or not isinstance(name, str):
            continue
        names = table.names(pricing) + [a for a, full in table.aliases.items() if full in
                                        table.entries and table.entries[full].pricing == pricing]
        if name not in names:
            problems.append(f"cost.{key}: unknown {what} entry {name!r} "
                            f"({did_you_mean(name, names)})")
