"""Number formatting shared by the Markdown/HTML report and `tunewise cost` (one place, so the
same number reads the same everywhere)."""
from __future__ import annotations

import math
from typing import Sequence


def metric(v: float | None, digits: int = 3) -> str:
    """0.8431 -> "0.843"; None -> "n/a"."""
    return "n/a" if v is None or _nan(v) else f"{v:.{digits}f}"


def metric_ci(v: float | None, ci: Sequence[float] | None, digits: int = 3) -> str:
    """0.843 and [0.80, 0.88] -> "0.843 [0.800, 0.880]"."""
    if ci is None or len(ci) != 2 or any(x is None or _nan(x) for x in ci):
        return metric(v, digits)
    return f"{metric(v, digits)} [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def points(diff: float | None, digits: int = 1, sign: bool = True) -> str:
    """A metric difference in percentage points: 0.062 -> "+6.2 points"."""
    if diff is None or _nan(diff):
        return "n/a"
    return f"{100 * diff:{'+' if sign else ''}.{digits}f} points"


def usd(x: float | None) -> str:
    """Dollars: cents from $1 up, else three significant digits (never fewer than two decimals),
    so small per-request amounts stay comparable: 1234.5 -> "$1,234.50", 0.3 -> "$0.30",
    0.0376 -> "$0.0376", 0.000123 -> "$0.000123"."""
    if x is None or _nan(x):
        return "n/a"
    if x == 0:
        return "$0.00"
    neg = "-" if x < 0 else ""
    a = abs(x)
    if a >= 1:
        return f"{neg}${a:,.2f}"
    if a < 1e-9:
        return f"{neg}${a:.2e}"
    digits = max(2, -math.floor(math.log10(a)) + 2)      # three significant digits
    text = f"{a:.{digits}f}"
    whole, frac = text.split(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{neg}${whole}.{frac}"


def requests(n: float | None) -> str:
    """A request count, rounded up (you need the whole request to pay back): 2499.2 -> "2,500"."""
    if n is None or _nan(n):
        return "never"
    if math.isinf(n):
        return "never"
    return f"{math.ceil(n - 1e-9):,}"


def count(n: float | None) -> str:
    if n is None or _nan(n):
        return "n/a"
    return f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"


def _nan(v) -> bool:
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return True
