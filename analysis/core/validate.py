"""Argument and parameter checks shared by the statistics and the notebooks.

Each raises ``ValueError`` naming the argument (or notebook parameter) and the bad value. No silent coercion.
"""

from __future__ import annotations

import math
import numbers


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def count(name: str, value) -> int:
    """A non-negative integer count."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")
    return int(value)


#: The largest count of people a parameter may hold. Kazakhstan registers about 1,500 injured workers a year and
#: has about 9 million employed; no count of injured or killed workers (or of any population subgroup the project
#: compares) comes near 10 million, so a larger value is a typo, a unit error or an overflow.
MAX_PEOPLE = 10_000_000


def people(name: str, value) -> int:
    """A count of people: a non-negative integer no larger than :data:`MAX_PEOPLE`."""
    v = count(name, value)
    if v > MAX_PEOPLE:
        raise ValueError(f"{name} must be at most {MAX_PEOPLE:,} people (larger is a typo or a unit error), "
                         f"got {value!r}")
    return v


def seed(name: str, value) -> int:
    """A random seed: a non-negative integer below 2**32."""
    if not _is_int(value) or not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an integer seed from 0 to 2**32 - 1, got {value!r}")
    return int(value)


def positive_int(name: str, value) -> int:
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def positive(name: str, value) -> float:
    """A finite number > 0 (exposures, ratios, dispersions)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def finite(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def alpha(name: str, value) -> float:
    """A significance level strictly between 0 and 1."""
    v = finite(name, value)
    if not 0 < v < 1:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
    return v


def pct_change(name: str, value) -> float:
    """A percent change: finite and greater than -100."""
    v = finite(name, value)
    if v <= -100:
        raise ValueError(f"{name} must be greater than -100 (a count cannot fall by 100% or more), got {value!r}")
    return v


def share_pct(name: str, value) -> float:
    v = finite(name, value)
    if not 0 <= v <= 100:
        raise ValueError(f"{name} must be a percentage in [0, 100], got {value!r}")
    return v


def one_of(name: str, value, allowed) -> object:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(map(str, allowed))}, got {value!r}")
    return value


def path_like(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty path string, got {value!r}")
    return value
