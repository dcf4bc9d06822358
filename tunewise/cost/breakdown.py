"""The results of a cost comparison: per-arm usage and price, training cost, break-even.

``CostEstimate.to_dict()`` is the ``cost`` section of results.json
(``tunewise.comparison.schema.CostSection``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tunewise import formatting as fmt

#: arm kinds whose total includes the one-off training cost
TRAINED_KINDS = frozenset({"finetune"})



@dataclass(frozen=True)
class ArmUsage:
    """What one arm uses per request, measured (compare) or counted from data (cost)."""

    name: str                                #: arm name, e.g. "4-shot", "fine-tuned"
    kind: str                                #: "prompt" | "finetune" | "classical"
    prompt_tokens: float = 0.0               #: mean prompt tokens per request
    output_tokens: float = 0.0               #: mean output tokens per request
    examples_per_second: float | None = None #: measured inference throughput (local pricing)


@dataclass
class ArmCost:
    """One arm's price per request."""

    arm: str
    kind: str
    usd_per_request: float
    prompt_tokens: float | None = None
    output_tokens: float | None = None
    examples_per_second: float | None = None

    @property
    def usd_per_1k_requests(self) -> float:
        return 1000 * self.usd_per_request

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"arm": self.arm, "kind": self.kind,
                             "usd_per_request": self.usd_per_request,
                             "usd_per_1k_requests": self.usd_per_1k_requests}
        for k in ("prompt_tokens", "output_tokens", "examples_per_second"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d


@dataclass
class TrainingCost:
    """What fine-tuning costs once."""

    usd: float
    tokens: int | None = None        #: hosted: billed tokens per epoch
    epochs: int | None = None
    seconds: float | None = None     #: local: training seconds (measured or from throughput)
    note: str = ""                   #: the computation in words

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None and v != ""}


@dataclass
class BreakEven:
    """After how many requests the fine-tuned arm has paid back its training cost."""

    versus: str
    finetuned: str
    requests: float | None           #: None = never
    saving_per_request: float        #: prompted $/request - fine-tuned $/request

    @property
    def never(self) -> bool:
        return self.requests is None

    @property
    def text(self) -> str:
        if self.never:
            return f"never: the fine-tuned call is not cheaper than the {self.versus} call"
        return f"pays back after {fmt.requests(self.requests)} requests"

    def to_dict(self) -> dict:
        return {"versus": self.versus, "finetuned": self.finetuned, "requests": self.requests,
                "never": self.never, "saving_per_request": self.saving_per_request,
                "text": self.text}


@dataclass
class CostEstimate:
    """The cost comparison of the prompted and fine-tuned arms (results.json ``cost``)."""

    mode: str                        #: "hosted" | "local"
    model: str                       #: hosted model, or the local model priced on ``pricing``
    pricing: dict                    #: the price entry used (schema ``Pricing``)
    training: TrainingCost
    arms: list[ArmCost]              #: prompted arm(s) first, fine-tuned last
    break_even: BreakEven
    requests: int = 10_000           #: volume the ``totals`` are computed at
    notes: list[str] = field(default_factory=list)   #: assumptions worth reading

    def totals(self, requests: int | None = None) -> dict[str, float]:
        """Dollars per arm after ``requests`` calls (fine-tuned arms include training)."""
        n = self.requests if requests is None else requests
        return {a.arm: (self.training.usd if a.kind in TRAINED_KINDS else 0.0)
                + n * a.usd_per_request for a in self.arms}

    def to_dict(self) -> dict:
        return {"mode": self.mode, "model": self.model, "pricing": self.pricing,
                "training": self.training.to_dict(), "arms": [a.to_dict() for a in self.arms],
                "break_even": self.break_even.to_dict(), "requests": self.requests,
                "totals": self.totals(), "notes": list(self.notes)}
