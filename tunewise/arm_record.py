"""One arm of a compare, typed: which arm it is (``ArmRole``) and what it measured (``ArmRecord``).

results.json stores each arm as a plain dict (``tunewise.comparison.schema.ResultsArm``, a public
contract), and compare caches the same dict, with its predictions, in OUT/arms/<name>.json. Code
that needs to know *what* an arm is reads that dict once, with ``ArmRecord.from_dict``, and asks
the record (``rec.is_finetune``, ``rec.is_prompting``, ``rec.label``...), instead of comparing
``arm["kind"]`` with a string. ``ArmRole`` is the one vocabulary for "which arm": its values are
results.json's ``kind`` strings; the arm registry's name for a fine-tuned arm (``"finetuned"``,
``evaluate(arm="finetuned")``) is read as ``ArmRole.FINETUNE`` too.

Each record names the ``model`` it ran: a remote arm its own model, a local arm the compare's
model (``from_dict(..., model=results["model"])``), so records of several base models can sit
side by side.

A leaf module (layer 0): comparison/, report/ and anything below them may import it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping, Sequence

from tunewise.errors import InputError


class ArmRole(Enum):
    """Which arm a record is. The values are results.json's ``kind`` strings (unchanged on disk)."""

    MAJORITY = "majority"        #: the majority-class baseline
    CLASSICAL = "classical"      #: TF-IDF + logistic regression
    #: logistic regression on a frozen base model's features (one training size, one seed)
    PROBE = "probe"
    PROMPT = "prompt"            #: the local model, zero- or k-shot
    REMOTE = "remote"            #: a model behind an OpenAI-compatible server, zero- or k-shot
    FINETUNE = "finetune"        #: the local model fine-tuned (one training size, one seed)

    @classmethod
    def parse(cls, kind: Any, *, where: str = "arm") -> "ArmRole":
        """The role named ``kind`` (a results.json ``kind``, an arm registry kind, or a role);
        an ``InputError`` naming ``where`` and the known kinds otherwise."""
        role = cls.lookup(kind)
        if role is None:
            from tunewise.registry import did_you_mean
            raise InputError(f"{where}: unknown arm kind {kind!r}",
                             fix=f"set its kind to a known one ({did_you_mean(str(kind), KINDS)})")
        return role

    @classmethod
    def lookup(cls, kind: Any) -> "ArmRole | None":
        """The role named ``kind``, or None (a row whose kind the reader need not understand,
        such as a cost row of a newer file: drawn plainly rather than refused)."""
        return kind if isinstance(kind, ArmRole) else (
            _BY_NAME.get(kind) if isinstance(kind, str) else None)

    @property
    def kind(self) -> str:
        """The string results.json stores."""
        return self.value

    @property
    def is_prompting(self) -> bool:
        """A model answering from a prompt: the local model or a remote one."""
        return self in (ArmRole.PROMPT, ArmRole.REMOTE)

    @property
    def is_language_model(self) -> bool:
        """Answers come from a language model (prompted, remote or fine-tuned)."""
        return self in (ArmRole.PROMPT, ArmRole.REMOTE, ArmRole.FINETUNE)

    @property
    def uses_base_model(self) -> bool:
        """Runs the compare's base model (prompted, fine-tuned, or its features probed): one
        such arm per base model, timed on the device the model is loaded on."""
        return self in (ArmRole.PROMPT, ArmRole.FINETUNE, ArmRole.PROBE)

    @property
    def is_curve(self) -> bool:
        """One arm per training size and seed, aggregated into a learning curve."""
        return self in (ArmRole.FINETUNE, ArmRole.PROBE)

    @property
    def is_cheap_classifier(self) -> bool:
        """A non-generative classifier trained on the labels (TF-IDF or the embedding probe):
        the cheap alternative the recommendation weighs against prompting and fine-tuning."""
        return self in (ArmRole.CLASSICAL, ArmRole.PROBE)

    @property
    def runs_locally(self) -> bool:
        """Computed on this machine (priced at its $/hour), not on a remote server."""
        return self is not ArmRole.REMOTE

    @property
    def order(self) -> int:
        """The report's order: baselines, classical, prompting (local, remote), fine-tuned."""
        return _ORDER[self]

    @property
    def label(self) -> str:
        """The role in words, for tables and legends."""
        return _LABELS[self]


#: results.json's arm kinds, in the report's order
KINDS: tuple[str, ...] = tuple(r.value for r in ArmRole)
#: other names of a role: the arm registry's (``tunewise.evaluation.arms.ARM_KINDS``)
ALIASES: dict[str, ArmRole] = {"finetuned": ArmRole.FINETUNE}
_BY_NAME: dict[str, ArmRole] = {**{r.value: r for r in ArmRole}, **ALIASES}
_ORDER = {r: i for i, r in enumerate(ArmRole)}
_LABELS = {ArmRole.MAJORITY: "majority baseline", ArmRole.CLASSICAL: "classical",
           ArmRole.PROBE: "embedding probe",
           ArmRole.PROMPT: "prompt", ArmRole.REMOTE: "remote prompt",
           ArmRole.FINETUNE: "fine-tuned"}


@dataclass(frozen=True, eq=False)
class ArmRecord:
    """A results.json arm (or compare's raw arm record) read once: the fields consumers ask
    about, typed, and the dict itself (``raw``) for everything else. Build it with
    ``from_dict``; it never writes back (results.json keeps its on-disk shape)."""

    name: str
    role: ArmRole
    #: the model the arm ran: a remote arm's own, else the compare's (None: not known)
    model: str | None = None
    shots: int | None = None                 #: prompting arms: k (0 = zero-shot)
    train_size: int | None = None            #: examples learned from (fine-tuned, probe, classical)
    seed: int | None = None                  #: fine-tuned and probe runs (and shot sampling)
    #: where timing was measured: "cpu (CPU)", "cuda:0 (NVIDIA L4)", "remote"; old files: "cpu"
    hardware: str | None = None
    preds: Sequence | None = field(default=None, repr=False)   #: raw records: one per test example
    metrics: Mapping[str, Any] = field(default_factory=dict, repr=False)
    timing: Mapping[str, Any] = field(default_factory=dict, repr=False)
    tokens: Mapping[str, Any] = field(default_factory=dict, repr=False)
    usage: Mapping[str, Any] = field(default_factory=dict, repr=False)   #: remote: measured
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)     #: the dict read

    @classmethod
    def from_dict(cls, d: Any, *, model: str | None = None, where: str = "arm") -> "ArmRecord":
        """Read one arm dict of any tunewise version (no ``remote`` kind, ``"hardware": "cpu"``,
        no per-arm ``model`` in older files). ``model``: the compare's model, for arms that do
        not name their own; ``where``: how an error names the arm (``"results.json arms[3]"``).
        A dict without a ``name`` or with an unknown ``kind`` is an ``InputError``."""
        if isinstance(d, ArmRecord):
            return d
        if not isinstance(d, Mapping):
            raise InputError(f"{where}: an arm must be a JSON object, got {type(d).__name__}",
                             fix="keep results.json as tunewise compare wrote it")
        name = d.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{where}: the arm has no name",
                             fix="every arm needs a unique \"name\" (as tunewise compare writes)")
        role = ArmRole.parse(d.get("kind"), where=f"{where} ({name})")
        timing = _mapping(d.get("timing"))
        hardware = timing.get("hardware")
        return cls(name=name, role=role, model=d.get("model") or model,
                   shots=_int(d.get("shots")), train_size=_int(d.get("train_size")),
                   seed=_int(d.get("seed")),
                   hardware=str(hardware) if hardware else ("remote" if role is ArmRole.REMOTE
                                                            else None),
                   preds=d.get("preds"), metrics=_mapping(d.get("metrics")), timing=timing,
                   tokens=_mapping(d.get("tokens")), usage=_mapping(d.get("usage")), raw=d)

    # -- which arm ------------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """results.json's ``kind`` string (for writing, never for comparing)."""
        return self.role.value

    @property
    def remote(self) -> bool:
        return self.role is ArmRole.REMOTE

    @property
    def is_majority(self) -> bool:
        return self.role is ArmRole.MAJORITY

    @property
    def is_classical(self) -> bool:
        return self.role is ArmRole.CLASSICAL

    @property
    def is_finetune(self) -> bool:
        return self.role is ArmRole.FINETUNE

    @property
    def is_probe(self) -> bool:
        """The embedding probe: logistic regression on the base model's frozen features."""
        return self.role is ArmRole.PROBE

    @property
    def is_prompting(self) -> bool:
        """Local or remote prompting."""
        return self.role.is_prompting

    @property
    def is_local_prompt(self) -> bool:
        return self.role is ArmRole.PROMPT

    @property
    def is_kshot(self) -> bool:
        """A prompting arm shown examples (k > 0)."""
        return self.role.is_prompting and bool(self.shots)

    @property
    def label(self) -> str:
        """Which arm, in words ("fine-tuned", "remote prompt"...), for tables and legends."""
        return self.role.label

    # -- what it measured -----------------------------------------------------------------------
    def value(self, metric: str) -> float | None:
        """The point estimate of ``metric`` (scored records), or None."""
        return (self.metrics.get(metric) or {}).get("value")

    def ci(self, metric: str) -> list | None:
        return (self.metrics.get(metric) or {}).get("ci")

    @property
    def examples_per_second(self) -> float | None:
        return self.timing.get("examples_per_second")

    @property
    def usd_per_request(self) -> float | None:
        """Remote arms: the measured cost per request (None: no price, or a local arm)."""
        return self.usage.get("usd_per_request")

    @property
    def reused(self) -> bool:
        return bool(self.raw.get("reused"))

    def get(self, key: str, default: Any = None) -> Any:
        """Any other key of the dict read (``epochs``, ``run_dir``, ``label_logprobs``...)."""
        return self.raw.get(key, default)


def records(arms: Iterable[Any], *, model: str | None = None,
            where: str = "arms") -> list[ArmRecord]:
    """``ArmRecord``s of ``arms`` (dicts are read, records kept as they are)."""
    return [ArmRecord.from_dict(a, model=model, where=f"{where}[{i}]")
            for i, a in enumerate(arms)]


def _mapping(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None
