"""What a local model's call costs in seconds, from its token counts.

A local request costs machine time. Measuring each arm's examples/s once, while other work may be
running, lets noise decide which arm is cheaper (a zero-shot arm once measured at 7.1 examples/s
and a 4-shot arm at 15.3 made the fine-tuned model, with a prompt 3x shorter than 4-shot's, look
*more* expensive). Instead the machine's speed is measured once per model and precision, robustly,
and every arm is priced from its own token counts at that one rate::

    seconds per request = overhead + prompt tokens / prefill rate + output tokens / decode rate

``measure_token_rate`` times the model on synthetic batches: prefill at several prompt
lengths, computing the next-token logits of the last position only, as serving's generation
does (``logits_to_keep=1``: the output layer over every position cost 22% of the prefill time of
SmolLM2-135M at 128 tokens, and most of it with Gemma's 262k-word vocabulary; a least-squares
line through the per-row times gives the overhead and the per-token cost), and cached one-token
decode steps in batches of the arms' batch size. On a CPU each prefill point runs as many rows
fit in ``prefill_tokens`` tokens (``CPU_BATCH_TOKENS``; at most the batch size: 32 rows of 32
tokens, 8 of 128, 3 of 320), the batches label scoring runs there (``prompting.scoring``): a
CPU is compute-bound and a batch larger than its caches is slower per token, so whole batches
of 32 long rows priced prompt tokens ~20% dearer than the arms pay, and took 5x longer to
measure (``bench/token_rate_bench.py``). A GPU prefills whole batches (there rows share the
work). Each point is timed in ``passes`` interleaved passes and the
median kept, so one slow pass (another process on the machine) does not move the price. More
passes are run, up to ``max_passes``, until ``passes`` of them agree within ``spread`` of the
median at every point: a quiet machine is measured in ``passes``, a busy one gets the longer
median it needs. Label scoring reports the chosen label's tokens as output tokens; they are
priced at the decode rate.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Sequence

from tunewise.errors import UsageError
from tunewise.models.compat import cache_kwarg, causal_lm

#: on a CPU, the most tokens (rows x longest row) of a batch: label scoring's batches there
#: (``prompting.scoring``, point 5) and the prefill points of ``measure_token_rate``
CPU_BATCH_TOKENS = 1024


def rows_within(budget: int, width: int, most: int) -> int:
    """Rows of ``width`` tokens a batch of at most ``budget`` tokens holds: at least one, at
    most ``most``. Label scoring's CPU batches and the time per token's prefill points."""
    return min(most, max(1, budget // max(1, width)))


@dataclass(frozen=True)
class TokenRate:
    """The speed of one model at one precision on this machine."""

    model: str
    precision: str                   #: "bf16" or "fp32"
    overhead_seconds: float          #: per request (one row of a batch), independent of length
    prompt_seconds_per_token: float  #: prefill, per prompt token (one row of a batch)
    output_seconds_per_token: float  #: one cached decode step, per row of a batch
    batch_size: int
    passes: int
    #: the measured points: {"prefill": [[tokens, median seconds per row], ...],
    #: "decode_spread": [min, max] seconds per token per row over the passes}
    points: dict = field(default_factory=dict)

    def seconds_per_request(self, prompt_tokens: float, output_tokens: float) -> float:
        """Machine seconds one request with these (mean) token counts takes."""
        if prompt_tokens < 0 or output_tokens < 0:
            raise UsageError("token counts must be >= 0")
        return (self.overhead_seconds + prompt_tokens * self.prompt_seconds_per_token
                + output_tokens * self.output_seconds_per_token)

    def examples_per_second(self, prompt_tokens: float, output_tokens: float) -> float:
        """The throughput this rate implies for requests of this size."""
        return 1.0 / self.seconds_per_request(prompt_tokens, output_tokens)

    @property
    def text(self) -> str:
        return (f"{self.model} ({self.precision}): {1 / self.prompt_seconds_per_token:,.0f} "
                f"prompt tokens/s, {1 / self.output_seconds_per_token:,.0f} output tokens/s per "
                f"row (decode in batches of {self.batch_size}), "
                f"+{self.overhead_seconds * 1000:.1f} ms per request; median of {self.passes} "
                "timed passes")

    def to_dict(self) -> dict:
        return {**asdict(self), "text": self.text}


def fit_line(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (intercept, slope) through (x, y) points; the intercept is clamped to >= 0
    (no request costs less than nothing) and the slope refitted through the origin then."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    if len(points) < 2 or len(set(xs)) < 2:
        raise UsageError("fitting a line needs at least two distinct lengths")
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    intercept = my - slope * mx
    if intercept < 0:
        intercept, slope = 0.0, sum(x * y for x, y in zip(xs, ys)) / sum(x * x for x in xs)
    return intercept, max(slope, 1e-12)


def settled(series: Sequence[Sequence[float]], k: int, spread: float) -> bool:
    """True when, in every series of timings, ``k`` of them agree: lie within ``spread`` of the
    series' median of each other (one outlier among 4 timings leaves 3 that agree)."""
    for v in series:
        if len(v) < k:
            return False
        s, tol = sorted(v), spread * statistics.median(v)
        if not any(s[i + k - 1] - s[i] <= tol for i in range(len(s) - k + 1)):
            return False
    return True


def measure_token_rate(lm, *, bf16: bool = False, batch_size: int = 16,
                       lengths: Sequence[int] = (32, 128, 320), decode_steps: int = 8,
                       passes: int = 3, max_passes: int | None = None,
                       spread: float = 0.10,
                       prefill_tokens: int | None = CPU_BATCH_TOKENS) -> TokenRate:
    """Time ``lm`` (a LoadedModel) on synthetic token batches: timed passes until ``passes`` of
    them agree within ``spread`` (at every point), at most ``max_passes`` (default: ``passes``,
    a fixed count); the median of all passes is kept. ``prefill_tokens``: on a CPU, the rows of
    a prefill point are as many as fit in this many tokens (None: the whole batch). See the
    module docstring."""
    import contextlib

    import torch
    max_passes = passes if max_passes is None else max_passes
    if (passes < 1 or batch_size < 1 or decode_steps < 1 or max_passes < passes or spread < 0
            or (prefill_tokens is not None and prefill_tokens < 1)):
        raise UsageError("passes, batch_size, decode_steps and prefill_tokens must be >= 1, "
                         "max_passes >= passes and spread >= 0")
    model = lm.model
    device = next(model.parameters()).device
    vocab = int(getattr(model.config, "vocab_size", 0) or len(lm.tokenizer))
    limit = max(8, lm.context_length - decode_steps - 1)
    lengths = sorted({min(int(n), limit) for n in lengths})
    gen = torch.Generator().manual_seed(0)
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if bf16
                else contextlib.nullcontext())

    def ids(n: int, rows: int = batch_size):
        return torch.randint(100, max(vocab, 101), (rows, n), generator=gen).to(device)

    def prefill_rows(n: int) -> int:
        if prefill_tokens is None or device.type != "cpu":
            return batch_size
        return rows_within(int(prefill_tokens), n, batch_size)

    def prefill(n: int) -> float:
        rows = prefill_rows(n)
        x = ids(n, rows)
        t = time.perf_counter()
        model(input_ids=x, use_cache=False, logits_to_keep=1)
        return (time.perf_counter() - t) / rows

    cache_kw = cache_kwarg(causal_lm(model))

    def decode() -> float:
        out = model(input_ids=ids(lengths[0]), use_cache=True, logits_to_keep=1)
        past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
        t = time.perf_counter()
        for _ in range(decode_steps):
            out = model(input_ids=nxt, use_cache=True, logits_to_keep=1, **{cache_kw: past})
            past, nxt = out.past_key_values, out.logits[:, -1:].argmax(-1)
        return (time.perf_counter() - t) / batch_size / decode_steps

    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast:
            prefill(lengths[0])                      # warm-up: allocation, kernel choice
            pre = {n: [] for n in lengths}
            dec = []
            while len(dec) < passes or (len(dec) < max_passes and
                                        not settled([*pre.values(), dec], passes, spread)):
                for n in lengths:                    # interleaved, so a slow spell hits all
                    pre[n].append(prefill(n))
                dec.append(decode())
    finally:
        model.train(was_training)
    points = [(n, statistics.median(v)) for n, v in pre.items()]
    overhead, per_token = fit_line(points)
    return TokenRate(model=lm.name, precision="bf16" if bf16 else "fp32",
                     overhead_seconds=overhead, prompt_seconds_per_token=per_token,
                     output_seconds_per_token=statistics.median(dec), batch_size=batch_size,
                     passes=len(dec),
                     points={"prefill": [[n, s] for n, s in points],
                             "prefill_rows": [prefill_rows(n) for n, _s in points],
                             "decode_spread": [min(dec), max(dec)]})
