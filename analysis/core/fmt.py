"""One formatting policy for every number a reader sees: p-values, counts, percents, intervals.

Every verdict sentence, table and figure label formats numbers through these functions, so a p-value never reads
``0`` or ``5.25938e-06`` in one place and ``< 0.001`` in another.
"""

from __future__ import annotations

import math


def fmt_p(p: float | None) -> str:
    """Format a p-value for a verdict sentence ("p = 0.0223", "p < 1e-16")."""
    if p is None or not math.isfinite(p):
        return "p not defined"
    if p < 1e-16:
        return "p < 1e-16"
    if p < 1e-4:
        return f"p = {p:.1e}"
    return f"p = {p:.4f}" if p < 0.1 else f"p = {p:.3f}"


def fmt_num(x: float | None, digits: int = 4) -> str:
    """Format a number for verdicts with ``digits`` significant figures; inf and None spelled out."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "undefined"
    if math.isinf(x):
        return "infinity" if x > 0 else "-infinity"
    return f"{x:.{digits}g}"


def fmt_pct(x: float | None) -> str:
    """Format a percent change with sign and one decimal ("-16.8%"); inf and None spelled out."""
    if x is None or not math.isfinite(x):
        return fmt_num(x) + ("%" if x is not None and math.isinf(x) else "")
    return f"{x:+.1f}%"
