"""The dated price table: API token prices, compute $/hour, local models.

The shipped table (``prices.yaml`` beside this file) is a snapshot of public list prices; users
refresh or override it with their own YAML (same layout, only the fields they change)::

    prices = load_prices("my-prices.yaml")        # user entries merged over the shipped ones
    entry = get_price("gpt-4o-mini")              # alias -> gpt-4o-mini-2024-07-18
    entry.training                                 # $ per 1M training tokens
    get_price("h100").usd_per_hour                 # compute entry

``TUNEWISE_PRICES=path.yaml`` in the environment is merged the same way when no path is given.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunewise.errors import ConfigError, InputError, UnknownNameError

SHIPPED = Path(__file__).with_name("prices.yaml")

#: the three sections of the table and how the entries of each are priced (``PriceEntry.pricing``)
SECTIONS = {"models": "api", "compute": "compute", "local_models": "local"}
TOKEN_FIELDS = ("training", "ft_input", "ft_output", "base_input", "base_output")
_ALLOWED = {
    "models": {*TOKEN_FIELDS, "encoding", "context", "source", "date", "note",
               "retires", "training_ends", "retirement_source", "successor", "reasoning"},
    "compute": {"usd_per_hour", "source", "date", "note"},
    "local_models": {"compute", "source", "date", "note"},
}
_REQUIRED = {
    # only the base model's prices: a model OpenAI does not fine-tune has no training / ft_* prices
    "models": {"base_input", "base_output", "source", "date"},
    "compute": {"usd_per_hour", "source", "date"},
    "local_models": {"compute", "source", "date"},
}


@dataclass(frozen=True)
class PriceEntry:
    """One row of the price table. Token prices are US dollars per 1,000,000 tokens."""

    name: str
    #: how the entry is priced: "api" (per-token prices), "compute" ($/hour of a machine) or
    #: "local" (a local model); set by the table section the entry is in (SECTIONS)
    pricing: str
    #: where the numbers were copied from, and when (YYYY-MM)
    source: str
    date: str
    #: $ per 1M training tokens (tokens per example x epochs)
    training: float | None = None
    #: $ per 1M input / output tokens when calling the fine-tuned model
    ft_input: float | None = None
    ft_output: float | None = None
    #: $ per 1M input / output tokens when calling the base model
    base_input: float | None = None
    base_output: float | None = None
    #: tokenizer family for counting tokens offline ("o200k_base", "cl100k_base")
    encoding: str | None = None
    #: most tokens one training example may have (API models)
    context: int | None = None
    #: $ per hour of one machine (compute entries)
    usd_per_hour: float | None = None
    #: the compute entry a local model's cost is measured against (local entries)
    compute: str | None = None
    note: str | None = None
    #: API models: the day (YYYY-MM-DD) the model and its fine-tunes stop answering, the last
    #: day new fine-tuning jobs are accepted, and where those dates come from
    retires: str | None = None
    training_ends: str | None = None
    retirement_source: str | None = None
    #: API models: the model the provider names as the replacement (refusals and warnings say it)
    successor: str | None = None
    #: API models: a reasoning model (refuses temperature / logprobs, bills hidden reasoning
    #: tokens as output); informational, the remote arm learns refusals from the server itself
    reasoning: bool | None = None

    @property
    def fine_tunable(self) -> bool:
        """True when the table prices fine-tuning this model (training and ft_* prices)."""
        return None not in (self.training, self.ft_input, self.ft_output)

    @property
    def kind(self) -> str:
        """Old name of ``pricing`` (kept so code written against it keeps working)."""
        return self.pricing

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON; how it is priced stays under the key "kind" (the output format)."""
        d = {k: v for k, v in self.__dict__.items() if v is not None}
        return {"name": d.pop("name"), "kind": d.pop("pricing"), **d}


@dataclass
class PriceTable:
    """Every entry by full name, plus short aliases; ``get`` answers "did you mean"."""

    entries: dict[str, PriceEntry]
    aliases: dict[str, str] = field(default_factory=dict)
    snapshot: str | None = None
    #: the files merged to build this table, shipped first
    sources: list[str] = field(default_factory=list)

    def get(self, name: str) -> PriceEntry:
        key = self.aliases.get(name, name)
        if key in self.entries:
            return self.entries[key]
        from tunewise.registry import did_you_mean
        raise UnknownNameError(f"unknown price entry {name!r}",
                               fix=did_you_mean(name, [*self.entries, *self.aliases]))

    def names(self, pricing: str | None = None) -> list[str]:
        """Entry names, only those priced as ``pricing`` ("api", "compute", "local") when given."""
        return [n for n, e in self.entries.items() if pricing is None or e.pricing == pricing]

    def __contains__(self, name: str) -> bool:
        return self.aliases.get(name, name) in self.entries


def _read_yaml(path: Path) -> dict:
    import yaml
    if not path.is_file():
        raise InputError(f"price file {path} does not exist or is not a file",
                         fix="pass the path of a YAML file laid out like tunewise/cost/prices.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError([f"not valid YAML: {e}"], source=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(["the top level must be a mapping with sections "
                           "'models', 'compute', 'local_models', 'aliases'"], source=str(path))
    return data


def _merge(base: dict, override: dict, source: str) -> dict:
    problems = []
    out = copy.deepcopy(base)
    for key, val in override.items():
        if key in SECTIONS:
            if not isinstance(val, dict):
                problems.append(f"{key}: must be a mapping of entry name -> fields")
                continue
            sec = out.setdefault(key, {})
            for name, fields in val.items():
                if not isinstance(fields, dict):
                    problems.append(f"{key}.{name}: must be a mapping of fields")
                    continue
                sec[str(name)] = {**sec.get(str(name), {}), **fields}
        elif key == "aliases":
            if not isinstance(val, dict):
                problems.append("aliases: must be a mapping of short name -> entry name")
                continue
            out.setdefault("aliases", {}).update({str(k): str(v) for k, v in val.items()})
        elif key == "snapshot":
            out["snapshot"] = str(val)
        else:
            problems.append(f"{key}: unknown section (expected one of "
                            f"{', '.join([*SECTIONS, 'aliases', 'snapshot'])})")
    if problems:
        raise ConfigError(problems, source=source)
    return out


def _validate(data: dict, source: str) -> PriceTable:
    problems: list[str] = []
    entries: dict[str, PriceEntry] = {}
    for section, pricing in SECTIONS.items():
        for name, fields in (data.get(section) or {}).items():
            where = f"{section}.{name}"
            unknown = set(fields) - _ALLOWED[section]
            if unknown:
                problems.append(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                                f"(allowed: {', '.join(sorted(_ALLOWED[section]))})")
            missing = _REQUIRED[section] - set(fields)
            if missing:
                problems.append(f"{where}: missing field(s) {', '.join(sorted(missing))}")
            for f in (*TOKEN_FIELDS, "usd_per_hour"):
                if f in fields:
                    v = fields[f]
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                        problems.append(f"{where}.{f}: must be a number >= 0, got {v!r}")
            if "reasoning" in fields and not isinstance(fields["reasoning"], bool):
                problems.append(f"{where}.reasoning: must be true or false")
            if "context" in fields and (not isinstance(fields["context"], int)
                                        or fields["context"] <= 0):
                problems.append(f"{where}.context: must be a positive integer")
            if name in entries:
                problems.append(f"{where}: the name is also used in another section")
            entries[name] = PriceEntry(
                name=name, pricing=pricing, source=str(fields.get("source", "")),
                date=str(fields.get("date", "")),
                **{k: fields[k] for k in fields if k in _ALLOWED[section] - {"source", "date"}})
    for name, entry in entries.items():
        if entry.pricing == "local" and entry.compute and entry.compute not in entries:
            problems.append(f"local_models.{name}.compute: no compute entry {entry.compute!r}")
    aliases = dict(data.get("aliases") or {})
    for short, full in aliases.items():
        if full not in entries:
            problems.append(f"aliases.{short}: points at {full!r}, which is not an entry")
    if problems:
        raise ConfigError(problems, source=source)
    return PriceTable(entries=entries, aliases=aliases, snapshot=data.get("snapshot"))


_CACHE: dict[tuple, PriceTable] = {}


def load_prices(path: str | os.PathLike | None = None) -> PriceTable:
    """The shipped table with ``path`` (or ``$TUNEWISE_PRICES``) merged over it, field by field.

    A user file may change single fields of an entry, add entries and aliases; the merged table
    is validated as a whole and every problem is reported at once (ConfigError).
    """
    user = path if path is not None else os.environ.get("TUNEWISE_PRICES") or None
    key = (str(Path(user).resolve()) if user else None,
           Path(user).stat().st_mtime_ns if user and Path(user).is_file() else None)
    if key in _CACHE:
        return _CACHE[key]
    data = _read_yaml(SHIPPED)
    sources = [str(SHIPPED)]
    if user:
        upath = Path(user)
        data = _merge(data, _read_yaml(upath), str(upath))
        sources.append(str(upath))
    table = _validate(data, " + ".join(sources))
    table.sources = sources
    _CACHE[key] = table
    return table


def get_price(name: str, prices: PriceTable | str | os.PathLike | None = None) -> PriceEntry:
    """The entry called ``name`` (full name or alias); unknown names answer "did you mean"."""
    table = prices if isinstance(prices, PriceTable) else load_prices(prices)
    return table.get(name)
