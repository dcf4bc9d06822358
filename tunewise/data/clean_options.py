"""Type checks for ``clean`` options given as a mapping (compare's ``data.clean_options``):
wrong types, NaN / infinite numbers and out-of-range values, every problem at once."""
from __future__ import annotations

from typing import Any

from tunewise.errors import UsageError

#: the type each ``clean`` option takes (None is allowed for every one but conflicts/mojibake)
OPTION_TYPES: dict[str, tuple] = {
    "near_dup_threshold": (float, True), "conflicts": (str, False),
    "min_confidence": (float, True), "max_tokens": (int, True), "model": (str, True),
    "mojibake": (str, False), "task": (str, True)}


def option_problems(options: dict, where: str = "clean_options") -> list[str]:
    """Every problem with ``clean`` options given as a mapping (e.g. compare's
    ``data.clean_options``): wrong types, NaN / infinite integers, values out of range."""
    import math
    problems: list[str] = []
    good: dict[str, Any] = {}
    for key, val in options.items():
        if key not in OPTION_TYPES:
            continue                        # unknown keys are the caller's to name
        typ, nullable = OPTION_TYPES[key]
        if val is None:
            if not nullable:
                problems.append(f"{where}.{key}: must be given (got null)")
            continue
        number = isinstance(val, (int, float)) and not isinstance(val, bool)
        if typ is int and not (number and math.isfinite(val) and float(val).is_integer()):
            problems.append(f"{where}.{key}: expected an integer, got {val!r}")
        elif typ is float and not (number and not math.isnan(val)):
            problems.append(f"{where}.{key}: expected a number, got {val!r}")
        elif typ is str and not isinstance(val, str):
            problems.append(f"{where}.{key}: expected a string, got {val!r}")
        else:
            good[key] = int(val) if typ is int else val
    if not problems:
        from tunewise.data.cleaning import CleanOptions
        try:
            CleanOptions(**{k: v for k, v in good.items() if k != "task"}).validate()
        except UsageError as e:
            problems.append(f"{where}: {e.message}")
    return problems
