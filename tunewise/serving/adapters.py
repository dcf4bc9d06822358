"""The models one server answers for: a base model and the LoRA adapters of training runs.

Every adapter is checked before the server starts, and a bad one is an error naming its run:
the run finished, it is a LoRA run, it was trained on the same base model, every target module
exists in the base model and the adapter's weights load onto it (rank and shapes), and the
tokenizer has a chat template that closes an assistant turn with the token generation stops at.

A request's ``model`` picks what answers it: the base model's name, an adapter's NAME, its run id
(or a unique prefix of it, 6 characters at least), or ``BASE:ADAPTER``.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from tunewise.errors import ModelError, UsageError


@dataclass
class AdapterSpec:
    """One ``--adapter NAME=RUN`` as given: RUN is a run directory or a run-registry id."""

    name: str
    run: str


@dataclass
class ServedModel:
    """One entry of ``/v1/models``."""

    #: the id clients send as ``model``
    id: str
    #: adapter name inside the PeftModel; None for the base model
    adapter: str | None
    #: the run's Task (prompts, stop strings, answer budget as in eval); None for the base model
    task: Any = None
    run_dir: str | None = None
    run_id: str | None = None
    #: vLLM-style lineage: ``root`` is where the weights come from, ``parent`` the base model
    root: str = ""
    parent: str | None = None
    created: int = 0
    aliases: list[str] = field(default_factory=list)


@dataclass
class ServedModels:
    """The loaded model (with every adapter attached) and the names that reach it."""

    model: Any
    tokenizer: Any
    base: ServedModel
    adapters: list[ServedModel]
    context_length: int

    @property
    def entries(self) -> list[ServedModel]:
        return [self.base, *self.adapters]

    @functools.cached_property
    def max_token_chars(self) -> int:
        """The longest token of the vocabulary in characters (byte-level BPE: one character per
        byte): no token covers more text than this."""
        return max((len(t) for t in self.tokenizer.get_vocab()), default=1) or 1

    def resolve(self, name: str) -> ServedModel | None:
        """The entry ``name`` refers to, or None."""
        name = (name or "").strip()
        if not name:
            return None
        if ":" in name:
            base, _, rest = name.partition(":")
            if base not in (self.base.id, *self.base.aliases) or not rest:
                return None
            name = rest
        for e in self.entries:
            if name == e.id or name in e.aliases:
                return e
        if len(name) >= 6:  # a unique prefix of a run id
            hits = [a for a in self.adapters if a.run_id and a.run_id.startswith(name)]
            if len(hits) == 1:
                return hits[0]
        return None


def parse_adapter_specs(values: Sequence[str]) -> list[AdapterSpec]:
    """``NAME=RUN`` or ``RUN`` (named after the run folder) → AdapterSpec; names must be unique."""
    specs, problems = [], []
    for v in values:
        name, sep, run = v.partition("=")
        if not sep:
            run, name = v, Path(v.rstrip("/\\")).name
        name, run = name.strip(), run.strip()
        if not name or not run:
            problems.append(f"--adapter {v!r}: expected NAME=RUN_DIR or NAME=RUN_ID")
        elif ":" in name or "/" in name:
            problems.append(f"--adapter {v!r}: the name may not contain ':' or '/'")
        else:
            specs.append(AdapterSpec(name, run))
    seen: set[str] = set()
    for s in specs:
        if s.name in seen:
            problems.append(f"--adapter: the name {s.name!r} is given twice")
        seen.add(s.name)
    if problems:
        raise UsageError("; ".join(problems), fix="e.g. --adapter sentiment=runs/sentiment")
    return specs


def _check_targets(spec: AdapterSpec, run_dir: Path, model) -> None:
    """Every target module of the adapter exists in the base model."""
    from tunewise.runs import ADAPTER
    cfg = json.loads((run_dir / ADAPTER / "adapter_config.json").read_text(encoding="utf-8"))
    targets = cfg.get("target_modules") or []
    if isinstance(targets, str):  # a regex: PEFT reports a mismatch when loading
        return
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    missing = sorted(set(targets) - names)
    if missing:
        raise ModelError(f"adapter {spec.name!r} (run {run_dir}): target module(s) "
                         f"{', '.join(missing)} do not exist in the base model",
                         fix="train the adapter on this base model (its modules: "
                             f"{', '.join(sorted(n for n in names if n.endswith('proj'))[:12])})")


def _check_template(tokenizer, base: str) -> None:
    """The chat template must close an assistant turn with a token generation stops at."""
    from tunewise.serving.decode import stop_token_ids
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(f"the tokenizer of {base!r} has no chat template",
                         fix="use a chat (instruct) model or add a chat_template to its folder")
    stops = stop_token_ids(tokenizer)
    if not stops:
        raise ModelError(f"the tokenizer of {base!r} has no end-of-turn or EOS token",
                         fix="use a model whose tokenizer defines eos_token")
    msgs = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]
    ids = tokenizer(tokenizer.apply_chat_template(msgs, tokenize=False),
                    add_special_tokens=False)["input_ids"]
    if not any(t in stops for t in ids):
        raise ModelError(f"the chat template of {base!r} does not end an assistant turn with "
                         f"the end-of-turn/EOS token (ids {stops}): generation would not stop",
                         fix="fix the model's chat_template or eos_token")


def load_served(model: str | None = None, adapters: Mapping[str, str] | Sequence[str] = (),
                *, dtype: str = "float32", device: str = "auto") -> ServedModels:
    """Load the base model once onto ``device`` (the device policy), attach every adapter
    (validated; PEFT puts each beside the base weights), return the name table.

    ``adapters``: {NAME: RUN} or ["NAME=RUN" | "RUN", ...]; RUN is a run directory or a run id.
    Without ``model`` the base model is the one the first adapter was trained on.
    """
    import time

    from tunewise.models.load import load_model
    from tunewise.tasks.base import Task  # noqa: F401 (the task type served adapters carry)
    from tunewise.runs import ADAPTER, check_run, resolve_run, task_from_run
    specs = (parse_adapter_specs(adapters) if not isinstance(adapters, Mapping)
             else parse_adapter_specs([f"{k}={v}" for k, v in adapters.items()]))
    runs = []
    base_name = model
    for spec in specs:
        run_dir, rid = resolve_run(spec.run)
        info = check_run(run_dir, f"adapter {spec.name!r} (run {run_dir})", lora=True,
                         base_model=base_name)
        base_name = base_name or str(info.get("model"))
        runs.append((spec, run_dir, rid, info))
    lm = load_model(base_name, dtype=dtype, device=device)
    _check_template(lm.tokenizer, lm.name)
    now = int(time.time())
    base = ServedModel(id=lm.name, adapter=None, root=lm.path, created=now,
                       aliases=[a for a in {base_name, lm.path} if a and a != lm.name])
    served: list[ServedModel] = []
    peft_model = lm.model
    from tunewise.models.device import model_device
    where = str(model_device(lm.model))       # each adapter beside the base weights
    for k, (spec, run_dir, rid, info) in enumerate(runs):
        if spec.name == lm.name:
            raise UsageError(f"--adapter {spec.name}: the name is the base model's",
                             fix="choose another adapter name")
        _check_targets(spec, run_dir, lm.model if k == 0 else peft_model.get_base_model())
        path = str(run_dir / ADAPTER)
        try:
            if k == 0:
                from peft import PeftModel
                peft_model = PeftModel.from_pretrained(lm.model, path, adapter_name=spec.name,
                                                       torch_device=where)
            else:
                peft_model.load_adapter(path, adapter_name=spec.name, torch_device=where)
        except Exception as e:  # PEFT raises several types for shape / config mismatches
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
            raise ModelError(f"adapter {spec.name!r} (run {run_dir}) does not load onto "
                             f"{lm.name!r}: {first}",
                             fix="check the run's rank and target modules against this base "
                                 "model; train it again on this base model") from None
        task = task_from_run(info)
        aliases = [a for a in (rid, str(run_dir), str(run_dir.resolve())) if a]
        served.append(ServedModel(id=spec.name, adapter=spec.name, task=task,
                                  run_dir=str(run_dir), run_id=rid, root=path, parent=lm.name,
                                  created=now, aliases=aliases))
    peft_model.eval()
    return ServedModels(model=peft_model, tokenizer=lm.tokenizer, base=base, adapters=served,
                        context_length=lm.context_length)
