"""Seasonal shares of the annual injury count from past cumulative releases (the quarterly-change study's seasonal
view).

For each month m, the share ``count by m / annual total`` of every past year that published both, with its mean,
its between-year SD pooled across months, and the within-year φ that SD implies; :func:`share_at` gives the share
by any month, interpolated linearly between months with history (anchors 0 at month 0 and 1 at month 12, plus one
between-year SD) where a month has too little, or refused when ``allow_interpolation`` is False.

The year-to-date projection study no longer uses this: it estimates the whole seasonal curve in one model of all
releases (:mod:`analysis.stats.ytd_model`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.core import validate
from analysis.core.results import Result


# ---------------------------------------------------------------- checks
def _month(name: str, value) -> int:
    """A calendar month number 1..12."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or not 1 <= value <= 12:
        raise ValueError(f"{name} must be an integer month in 1..12, got {value!r}")
    return int(value)



def _count_value(name: str, value) -> float:
    """A non-negative, finite, integer-valued count (an int or an integer-valued float)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value < 0 or not float(value).is_integer():
        raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")
    return float(value)



# ---------------------------------------------------------------- history (plain data in)
@dataclass(frozen=True)
class History:
    """Cumulative counts {year: {month: count}} (month 12 = annual total), derived cells, published YTD % changes."""

    counts: Mapping[int, Mapping[int, float]]
    derived: frozenset = frozenset()
    pct_changes: Mapping[int, Mapping[int, float]] = field(default_factory=dict)

    def count(self, year: int, month: int) -> float | None:
        return self.counts.get(year, {}).get(month)

    def is_derived(self, year: int, month: int) -> bool:
        return (year, month) in self.derived

    def without(self, years: Iterable[int]) -> History:
        """The same history with the given years removed entirely."""
        drop = set(years)
        return History({y: dict(m) for y, m in self.counts.items() if y not in drop},
                       frozenset(c for c in self.derived if c[0] not in drop),
                       {y: dict(m) for y, m in self.pct_changes.items() if y not in drop})

    def annual(self) -> dict[int, float]:
        return {y: m[12] for y, m in sorted(self.counts.items()) if 12 in m}


def make_history(counts: Mapping, derived: Iterable = (), pct_changes: Mapping | None = None) -> History:
    """Validate plain dicts into a History: counts non-negative, months 1..12, percents > -100."""
    clean: dict[int, dict[int, float]] = {}
    for y, months in counts.items():
        validate.positive_int("year", y)
        clean[int(y)] = {_month(f"counts[{y}] month", m): _count_value(f"counts[{y}][{m}]", v)
                         for m, v in months.items()}
    pcts: dict[int, dict[int, float]] = {}
    for y, months in (pct_changes or {}).items():
        pcts[int(y)] = {_month(f"pct_changes[{y}] month", m): validate.pct_change(f"pct_changes[{y}][{m}]", v)
                        for m, v in months.items()}
    der = frozenset((int(y), int(m)) for y, m in derived)
    return History(clean, der, pcts)


# ---------------------------------------------------------------- 1. seasonal shares
@dataclass(frozen=True)
class MonthShares(Result):
    """Shares of the annual total reached by one month, one per past year with both figures."""

    month: int
    years: tuple[int, ...]
    shares: tuple[float, ...]
    n_years: int
    mean: float
    sd: float
    few: bool
    used: bool
    derived_years: tuple[int, ...]

    @property
    def verdict(self) -> str:
        flag = " (few years: n <= 2)" if self.few else ""
        use = "" if self.used else "; too few years to use directly"
        return f"month {self.month}: mean share {self.mean:.3f} from {self.n_years} year(s){flag}{use}"


@dataclass(frozen=True)
class ShareCurve(Result):
    """Cumulative share of the annual total by month, pooled between-year SD, and the implied within-year φ."""

    months: tuple[MonthShares, ...]
    pooled_sd: float
    pooled_df: int
    implied_phi: float
    min_years: int
    method: str = "mean of past shares per month; SD pooled across months with 2+ years"
    assumptions: str = "the seasonal pattern is stable across years; derived counts are used and flagged"

    def get(self, month: int) -> MonthShares | None:
        return next((s for s in self.months if s.month == month), None)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"month": s.month, "n_years": s.n_years, "mean_share": s.mean, "sd": s.sd,
                              "few": s.few, "used": s.used, "years": ", ".join(map(str, s.years)),
                              "derived_years": ", ".join(map(str, s.derived_years))} for s in self.months])

    def points(self) -> pd.DataFrame:
        """One row per (year, month) share, for plotting."""
        rows = [{"year": y, "month": s.month, "share": v, "derived": y in s.derived_years}
                for s in self.months for y, v in zip(s.years, s.shares, strict=True)]
        return pd.DataFrame(rows, columns=["year", "month", "share", "derived"])

    @property
    def verdict(self) -> str:
        used = [s.month for s in self.months if s.used]
        thin = [s.month for s in self.months if not s.used]
        return (f"Shares with history at months {used or 'none'}; too thin (< {self.min_years} years) at "
                f"{thin or 'none'}. Between-year SD of a share {self.pooled_sd:.4f} on {self.pooled_df} df "
                f"(implies a within-year φ of about {self.implied_phi:.2f}).")


def seasonal_shares(history: History, min_years: int = 2) -> ShareCurve:
    """Per month 1..11: past shares count(m)/annual, their mean, SD, n and flags; pooled SD across months."""
    validate.positive_int("min_years", min_years)
    rows, ss, df, binom = [], 0.0, 0, []
    for m in range(1, 12):
        ys = [y for y, c in sorted(history.counts.items()) if m in c and 12 in c and c[12] > 0]
        if not ys:
            continue
        sh = np.array([history.counts[y][m] / history.counts[y][12] for y in ys])
        n = len(ys)
        sd = float(sh.std(ddof=1)) if n > 1 else math.nan
        if n > 1:
            ss += float(((sh - sh.mean()) ** 2).sum())
            df += n - 1
            binom += [s * (1 - s) / history.counts[y][12] for s, y in zip(sh, ys, strict=True)]
        der = tuple(y for y in ys if history.is_derived(y, m) or history.is_derived(y, 12))
        rows.append(MonthShares(m, tuple(ys), tuple(float(v) for v in sh), n, float(sh.mean()), sd,
                                n <= 2, n >= min_years, der))
    pooled = math.sqrt(ss / df) if df else math.nan
    implied = pooled ** 2 / float(np.mean(binom)) if df and np.mean(binom) > 0 else math.nan
    return ShareCurve(tuple(rows), pooled, df, implied, min_years)


@dataclass(frozen=True)
class ShareAt(Result):
    """The share reached by one month, with its standard error, t degrees of freedom and where it came from."""

    month: int
    mean: float
    se: float
    df: int
    n_years: int
    source: str  # 'exact' (month 12), 'observed', 'interpolated' or 'assumed'
    note: str

    @property
    def verdict(self) -> str:
        return f"share by month {self.month}: {self.mean:.3f} (SE {self.se:.3f}, {self.source}; {self.note})"


def _anchor(curve: ShareCurve, m: int) -> tuple[float, float]:
    """(mean, se) of a month with history, or of the anchors 0 and 12."""
    if m == 0:
        return 0.0, 0.0
    if m == 12:
        return 1.0, 0.0
    s = curve.get(m)
    return s.mean, curve.pooled_sd / math.sqrt(s.n_years)


def share_at(curve: ShareCurve, month: int, allow_interpolation: bool = True) -> ShareAt:
    """Share by ``month``: observed mean if it has history, else linear interpolation (if allowed) or an error."""
    m = _month("months", month)
    if m == 12:
        return ShareAt(12, 1.0, 0.0, 0, 0, "exact", "the full year")
    if not curve.pooled_df:
        raise ValueError("history must contain at least one month with 2+ years of shares to estimate their SD")
    s = curve.get(m)
    if s is not None and s.used:
        der = f"; derived figures in {', '.join(map(str, s.derived_years))}" if s.derived_years else ""
        few = " — few years" if s.few else ""
        return ShareAt(m, s.mean, curve.pooled_sd / math.sqrt(s.n_years), curve.pooled_df, s.n_years,
                       "observed", f"{s.n_years} past year(s){few}{der}")
    n_own = 0 if s is None else s.n_years
    if not allow_interpolation:
        raise ValueError(
            f"months={m} has no usable history ({n_own} past year(s), fewer than min_years={curve.min_years}); "
            "pass allow_interpolation=True to interpolate the share curve (an explicit modelling assumption)")
    have = [x.month for x in curve.months if x.used]
    lo = max([0] + [x for x in have if x < m])
    hi = min([12] + [x for x in have if x > m])
    w = (m - lo) / (hi - lo)
    (a, sa), (b, sb) = _anchor(curve, lo), _anchor(curve, hi)
    se = math.sqrt(((1 - w) * sa) ** 2 + (w * sb) ** 2 + curve.pooled_sd ** 2)
    own = f"; own history ({n_own} year(s), mean {s.mean:.3f}) too thin and not used" if s else "; no own history"
    return ShareAt(m, (1 - w) * a + w * b, se, curve.pooled_df, 0, "interpolated",
                   f"linear between month {lo} and month {hi}, plus one between-year SD{own}")
