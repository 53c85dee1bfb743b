"""Rounding-aware consistency checks of published figures.

A percent p published with d decimals stands for every true value in the half-interval
[p - h, p + h], h = 0.5·10^-d. The arithmetic here is exact (fractions): the stated percent is first
snapped to its d-decimal grid (it may differ from that grid by at most 1e-9·10^-d, the float tolerance,
otherwise ValueError), so only genuine boundary ties are ambiguous. Ties are included by default because
publishers round half up, half away from zero or half to even; ``include_ties=False`` drops them.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

from analysis.core import validate
from analysis.core.results import Result
from analysis.stats.compare import _ratio, exact_pvalue, exact_ratio_ci, score_pvalue
from analysis.stats.rates import fmt_num

ROUNDING = "rounding-aware back-calculation (exact fractions)"
_TIES = "boundary ties (exactly half a unit away) count as consistent"
_NO_TIES = "boundary ties (exactly half a unit away) do not count"


def _decimals(decimals) -> int:
    if not isinstance(decimals, numbers.Integral) or isinstance(decimals, bool) or decimals < 0:
        raise ValueError(f"decimals must be a non-negative integer, got {decimals!r}")
    return int(decimals)


def _on_grid(name: str, value: float, d: int) -> Fraction:
    """Snap a stated value to its d-decimal grid exactly, refusing values with more decimals than d."""
    scaled = value * 10**d
    k = round(scaled)
    if abs(scaled - k) > 1e-9 * max(1.0, abs(scaled)):
        raise ValueError(f"{name} has more than {d} decimals (decimals={d}), got {value!r}")
    return Fraction(k, 10**d)


def _within(x: Fraction, centre: Fraction, half: Fraction, ties: bool) -> bool:
    gap = abs(x - centre)
    return gap < half or (ties and gap == half)


def _pct_exact(c: int, b: int) -> Fraction:
    return 100 * (Fraction(c, b) - 1)


def _round_half_up(x: float, d: int) -> float:
    return math.floor(x * 10**d + 0.5) / 10**d


@dataclass(frozen=True)
class Baselines(Result):
    """Every integer baseline b whose percent change to ``current`` rounds to the stated percent."""

    current: int
    percent: float
    decimals: int
    include_ties: bool
    interval: tuple[float, float]
    baselines: tuple[int, ...] | range  # consecutive integers (a range beyond 100,000 of them: no memory cost)
    ties: tuple[int, ...]
    method: str = ROUNDING
    assumptions: str = _TIES

    def to_dict(self) -> dict:
        """The result as plain JSON types (see :meth:`analysis.core.results.Result.to_dict`).

        Returns
        -------
        dict
            As the base class's, except that more than 1,000 ``baselines`` are given as
            ``{"first", "last", "count"}`` rather than listed.
        """
        d = super().to_dict()
        b = self.baselines
        d["baselines"] = list(b) if len(b) <= 1000 else {"first": b[0], "last": b[-1], "count": len(b)}
        return d

    @property
    def verdict(self) -> str:
        lo, hi = self.interval
        head = (
            f"Back-calculation: {self.current} at {self.percent:+.{self.decimals}f}% (rounded to "
            f"{self.decimals} decimals) means a previous value in [{lo:.6g}, {hi:.6g}]"
        )
        if not self.baselines:
            return head + "; no integer lies there, so the published percent cannot come from integer counts."
        b = self.baselines
        s = head + (f": exactly {b[0]}." if len(b) == 1 else f": {len(b)} integers, {b[0]} to {b[-1]}.")
        if self.ties:
            s += f" {', '.join(map(str, self.ties))} sit exactly on a rounding boundary ({self.assumptions})."
        return s + " Another rounding rule (e.g. truncation) or more decimals would change this set."


def baselines_for_percent(current, percent, decimals=1, include_ties=True) -> Baselines:
    """All integer baselines b with round(100·(current/b - 1), decimals) == percent.

    Turns a published percent back into the counts it may have come from. Interval arithmetic on exact
    fractions:
    the consistent baselines are the integers of [current/(1 + (p + h)/100), current/(1 + (p - h)/100)],
    h = 0.5·10^-decimals.

    Parameters
    ----------
    current : int
        Current count (non-negative integer).
    percent : float
        Published percent change from the baseline to ``current`` (> -100), on its ``decimals`` grid.
    decimals : int, default 1
        Number of decimals the percent was published with (non-negative integer).
    include_ties : bool, default True
        Whether values exactly on a rounding boundary (half a unit away) count as consistent.

    Returns
    -------
    Baselines
        The real ``interval`` of baselines and the consistent integer ``baselines`` (a range when there are
        more than 100,000), with the boundary ``ties``.
    """
    c = validate.count("current", current)
    p_f = validate.pct_change("percent", percent)
    d = _decimals(decimals)
    p = _on_grid("percent", p_f, d)
    h = Fraction(1, 2 * 10**d)
    lo_ratio, hi_ratio = 1 + (p - h) / 100, 1 + (p + h) / 100  # lo_ratio > 0 since p >= -100 + 10^-d
    b_lo, b_hi = Fraction(c) / hi_ratio, Fraction(c) / lo_ratio
    # 100·(c/b − 1) is decreasing in b, so the consistent baselines are exactly the integers of [b_lo, b_hi]; the
    # ends count only when they are integers (a tie) and ties are allowed. Interval arithmetic, no search: the cost
    # does not grow with the count.
    first, last = max(1, math.ceil(b_lo)), math.floor(b_hi)
    ties = tuple(b for b in dict.fromkeys((first, last)) if first <= b <= last and b in (b_lo, b_hi))
    if not include_ties:
        first += first == b_lo
        last -= last == b_hi
    found = range(first, last + 1) if first <= last else range(0)
    found = tuple(found) if len(found) <= 100_000 else found
    return Baselines(
        current=c,
        percent=p_f,
        decimals=d,
        include_ties=bool(include_ties),
        interval=(float(b_lo), float(b_hi)),
        baselines=found,
        ties=ties if include_ties else (),
        assumptions=_TIES if include_ties else _NO_TIES,
    )


@dataclass(frozen=True)
class BaselineComparison(Result):
    """The exact comparison repeated over every baseline consistent with a rounded percent."""

    current: int
    percent: float
    decimals: int
    exposure_ratio: float
    alpha: float
    baselines: tuple[int, ...]
    p_values: tuple[float, ...]
    p_range: tuple[float, float] | None
    estimate_range: tuple[float, float] | None
    ci: tuple[float, float] | None
    phi: float | None
    p_values_overdispersed: tuple[float, ...] | None
    tested: tuple[int, ...] = ()
    method: str = "exact conditional binomial over rounding-consistent baselines"
    assumptions: str = _TIES

    @property
    def verdict(self) -> str:
        if not self.baselines:
            return (
                f"No integer baseline reproduces {self.percent:+g}% from {self.current}; "
                "the figures are inconsistent and no test was run."
            )
        lo, hi = self.p_range
        n_sig = sum(p <= self.alpha for p in self.p_values)
        k = len(self.baselines)
        if n_sig == len(self.p_values):
            state = f"significant at {self.alpha:g} for every one"
        elif n_sig == 0:
            state = f"not significant at {self.alpha:g} for any"
        else:
            state = f"significant for {n_sig} of them only, so the rounding alone decides"
        sample = "" if len(self.tested) == k else f" (tested at {len(self.tested)} of them, evenly spaced, ends included)"
        s = (
            f"Exact conditional test of {self.current} against {'the' if k == 1 else f'each of the {k}'} baseline{'' if k == 1 else 's'}{sample} "
            f"{self.baselines[0]}–{self.baselines[-1]} consistent with {self.percent:+g}%: "
            f"p from {fmt_num(lo, 3)} to {fmt_num(hi, 3)}, rate ratio {fmt_num(self.estimate_range[0])} to "
            f"{fmt_num(self.estimate_range[1])} (CIs span {fmt_num(self.ci[0])} to {fmt_num(self.ci[1])}); "
            f"{state}."
        )
        if self.p_values_overdispersed is not None:
            s += (
                f" With over-dispersion φ = {self.phi:g} (quasi-Poisson score) p ranges "
                f"{fmt_num(min(self.p_values_overdispersed), 3)} to {fmt_num(max(self.p_values_overdispersed), 3)}."
            )
        return s


MAX_TESTED = 1000  # baselines tested at most; more (counts in the millions at 0 decimals) are sampled evenly


def _spread(values, n: int) -> tuple[int, ...]:
    """All of ``values`` when there are at most ``n``, else ``n`` of them evenly spaced with both ends."""
    values = tuple(values)
    if len(values) <= n:
        return values
    idx = sorted({round(i * (len(values) - 1) / (n - 1)) for i in range(n)})
    return tuple(values[i] for i in idx)


def compare_over_baselines(
    current, percent, decimals=1, exposure_ratio=1.0, alpha=0.05, phi=None, include_ties=True
) -> BaselineComparison:
    """Run the exact comparison against every baseline the rounded percent allows.

    Reports the range of exact conditional p-values and rate ratios over the baselines of
    :func:`baselines_for_percent` (at most MAX_TESTED = 1000 of them, spread evenly when there are more), and
    optionally the quasi-Poisson score p-values.

    Parameters
    ----------
    current : int
        Current count (non-negative integer).
    percent : float
        Published percent change (> -100), on its ``decimals`` grid.
    decimals : int, default 1
        Number of decimals the percent was published with (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio T1/T0 of the two periods (positive).
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).
    phi : float or None, default None
        Dispersion φ (positive) for additional quasi-Poisson score p-values; None for none.
    include_ties : bool, default True
        Whether values exactly on a rounding boundary (half a unit away) count as consistent.

    Returns
    -------
    BaselineComparison
        The consistent ``baselines``, the ``tested`` ones with their exact ``p_values``, ``p_range``,
        ``estimate_range`` and the hull ``ci`` of their intervals, and ``p_values_overdispersed`` when ``phi``
        is given.

    References
    ----------
    Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the case
        of the binomial. Biometrika 26, 404-413.
    """
    bs = baselines_for_percent(current, percent, decimals, include_ties)
    e = validate.positive("exposure_ratio", exposure_ratio)
    a = validate.alpha("alpha", alpha)
    f = None if phi is None else validate.positive("phi", phi)
    c = bs.current
    tested = _spread(bs.baselines, MAX_TESTED)
    p = tuple(exact_pvalue(c, b, e) for b in tested)
    est = [_ratio(c, b, e) for b in tested]
    cis = [exact_ratio_ci(c, b, e, a) for b in tested]
    pod = None if f is None else tuple(score_pvalue(c, b, e, f) for b in tested)
    return BaselineComparison(
        current=bs.current,
        percent=bs.percent,
        decimals=bs.decimals,
        exposure_ratio=e,
        alpha=a,
        baselines=bs.baselines,
        tested=tested,
        p_values=p,
        p_range=(min(p), max(p)) if p else None,
        estimate_range=(min(est), max(est)) if est else None,
        ci=(min(lo for lo, _ in cis), max(hi for _, hi in cis)) if cis else None,
        phi=f,
        p_values_overdispersed=pod,
        assumptions=bs.assumptions,
    )


@dataclass(frozen=True)
class PercentCheck(Result):
    """Is (current, previous, stated percent with d decimals) consistent, and by how much is it off?"""

    current: int
    previous: int
    percent: float
    decimals: int
    include_ties: bool
    consistent: bool
    implied_percent: float
    percent_discrepancy: float
    implied_previous: float
    previous_discrepancy: float
    previous_candidates: tuple[int, ...]
    current_candidates: tuple[int, ...]
    method: str = ROUNDING
    assumptions: str = _TIES

    @property
    def verdict(self) -> str:
        d = self.decimals
        s = (
            f"{self.current} vs {self.previous} is {self.implied_percent:+.{d + 2}f}% "
            f"(rounds to {_round_half_up(self.implied_percent, d):+.{d}f}%); stated {self.percent:+.{d}f}%: "
        )
        if self.consistent:
            return s + "consistent with rounding to the stated decimals."
        s += (
            f"INCONSISTENT, off by {abs(self.percent_discrepancy):.{d + 1}f} percentage points. "
            f"The stated percent implies a previous count of {self.implied_previous:.1f} "
            f"({self.previous_discrepancy:+.1f} from the stated {self.previous}; "
        )
        s += (
            f"integers consistent: {', '.join(map(str, self.previous_candidates))}"
            if self.previous_candidates
            else "no integer reproduces it"
        )
        s += f"); with the previous count {self.previous}, " + (
            f"a current count of {', '.join(map(str, self.current_candidates))} would fit"
            if self.current_candidates
            else "no integer current count fits"
        )
        return s + ". A typo in either count or another base for the percent would explain it."


def check_percent(current, previous, percent, decimals=1, include_ties=True) -> PercentCheck:
    """Check a published triple (current, previous, percent to d decimals) and size any discrepancy.

    Both ways: the percent implied by the counts against the stated one, and the previous count implied by the
    stated percent against the stated one; lists the previous and current counts that would fit.

    Parameters
    ----------
    current : int
        Published current count (non-negative integer).
    previous : int
        Published previous count (positive integer).
    percent : float
        Published percent change (> -100), on its ``decimals`` grid.
    decimals : int, default 1
        Number of decimals the percent was published with (non-negative integer).
    include_ties : bool, default True
        Whether values exactly on a rounding boundary (half a unit away) count as consistent.

    Returns
    -------
    PercentCheck
        Whether the triple is ``consistent``, ``implied_percent`` and ``percent_discrepancy``,
        ``implied_previous`` and ``previous_discrepancy``, and the ``previous_candidates`` and
        ``current_candidates`` that would fit.
    """
    c = validate.count("current", current)
    b = validate.positive_int("previous", previous)
    p_f = validate.pct_change("percent", percent)
    d = _decimals(decimals)
    p = _on_grid("percent", p_f, d)
    h = Fraction(1, 2 * 10**d)
    implied = _pct_exact(c, b)
    implied_prev = Fraction(c) / (1 + p / 100)
    prev = baselines_for_percent(c, p_f, d, include_ties)
    cur_lo, cur_hi = b * (1 + (p - h) / 100), b * (1 + (p + h) / 100)
    cur = tuple(
        k
        for k in range(max(0, math.floor(cur_lo)), math.ceil(cur_hi) + 1)
        if _within(_pct_exact(k, b), p, h, include_ties)
    )
    return PercentCheck(
        current=c,
        previous=b,
        percent=p_f,
        decimals=d,
        include_ties=bool(include_ties),
        consistent=_within(implied, p, h, include_ties),
        implied_percent=float(implied),
        percent_discrepancy=float(p - implied),
        implied_previous=float(implied_prev),
        previous_discrepancy=float(b - implied_prev),
        previous_candidates=prev.baselines,
        current_candidates=cur,
        assumptions=_TIES if include_ties else _NO_TIES,
    )


@dataclass(frozen=True)
class RateCheck(Result):
    """Is (count, rate per ``per`` rounded to d decimals, workers) consistent? With the implied ranges."""

    count: int
    rate: float
    workers: float
    per: float
    decimals: int
    include_ties: bool
    consistent: bool
    implied_rate: float
    rate_discrepancy: float
    workers_range: tuple[float, float]
    count_range: tuple[int, int] | None
    method: str = ROUNDING
    assumptions: str = _TIES

    @property
    def verdict(self) -> str:
        d = self.decimals
        lo, hi = self.workers_range
        s = (
            f"{self.count} events among {self.workers:,.0f} workers is {self.implied_rate:.{d + 3}f} per "
            f"{self.per:,g}; stated {self.rate:.{d}f}: "
        )
        s += (
            "consistent with rounding. "
            if self.consistent
            else f"INCONSISTENT, off by {abs(self.rate_discrepancy):.{d + 2}f}. "
        )
        s += f"The stated rounded rate implies between {lo:,.0f} and " + (
            "unboundedly many" if math.isinf(hi) else f"{hi:,.0f}"
        )
        s += f" workers for {self.count} events"
        if self.count_range:
            s += f", or {self.count_range[0]}–{self.count_range[1]} events for {self.workers:,.0f} workers"
        else:
            s += f"; no integer count fits {self.workers:,.0f} workers"
        return s + ". A different denominator (e.g. average vs list headcount) would move both ranges."


def check_rate(count, rate, workers, per=1000, decimals=2, include_ties=True) -> RateCheck:
    """Check (count, rate per ``per`` rounded to d decimals, workers) for consistency.

    Gives the implied rate, the discrepancy, and the ranges of workers and counts the rounded rate allows
    (e.g. 293 at 0.04 per 1,000 -> 6.5–8.4 million workers).

    Parameters
    ----------
    count : int
        Published number of events (non-negative integer).
    rate : float
        Published rate per ``per`` workers (>= 0), on its ``decimals`` grid.
    workers : float
        Published number of workers (positive).
    per : float, default 1000
        Units of the rate (positive), e.g. 1000 for a rate per 1,000 workers.
    decimals : int, default 2
        Number of decimals the rate was published with (non-negative integer).
    include_ties : bool, default True
        Whether values exactly on a rounding boundary (half a unit away) count as consistent.

    Returns
    -------
    RateCheck
        Whether the figures are ``consistent``, ``implied_rate`` and ``rate_discrepancy``, the
        ``workers_range`` that reproduces the rate from the count, and the ``count_range`` of integer counts
        for the stated workers (None if no integer fits).
    """
    x = validate.count("count", count)
    r_f = validate.finite("rate", rate)
    if r_f < 0:
        raise ValueError(f"rate must be >= 0, got {rate!r}")
    w_f = validate.positive("workers", workers)
    k_f = validate.positive("per", per)
    d = _decimals(decimals)
    r = _on_grid("rate", r_f, d)
    h = Fraction(1, 2 * 10**d)
    w, k = Fraction(w_f), Fraction(k_f)
    implied = Fraction(x) * k / w
    r_lo, r_hi = max(r - h, Fraction(0)), r + h
    w_lo = float(x * k / r_hi)
    w_hi = math.inf if r_lo == 0 else float(x * k / r_lo)
    c_lo, c_hi = w * r_lo / k, w * r_hi / k
    n_lo, n_hi = max(0, math.ceil(c_lo)), math.floor(c_hi)  # consistent counts form one run of integers
    if not include_ties:
        n_lo += n_lo == c_lo and r - h > 0
        n_hi -= n_hi == c_hi
    counts = (n_lo, n_hi) if n_lo <= n_hi else None
    return RateCheck(
        count=x,
        rate=r_f,
        workers=w_f,
        per=k_f,
        decimals=d,
        include_ties=bool(include_ties),
        consistent=_within(implied, r, h, include_ties),
        implied_rate=float(implied),
        rate_discrepancy=float(r - implied),
        workers_range=(w_lo, w_hi),
        count_range=counts,
        assumptions=_TIES if include_ties else _NO_TIES,
    )


@dataclass(frozen=True)
class RoundedChange(Result):
    """Percent changes compatible with two values that were each rounded to ``decimals`` decimals."""

    new: float
    old: float
    decimals: int
    estimate: float
    ci: tuple[float, float]
    method: str = "interval arithmetic on rounding intervals"

    @property
    def verdict(self) -> str:
        return (f"{self.old:g} -> {self.new:g} (each rounded to {self.decimals} decimals) is a change of "
                f"{self.estimate:+.1f}%; the rounding allows {self.ci[0]:+.1f}% to {self.ci[1]:+.1f}%.")

    def allows(self, percent: float) -> bool:
        """Whether a stated percent change is possible given the rounding of both values.

        Parameters
        ----------
        percent : float
            A stated percent change (e.g. -16.8 for a fall of 16.8%).

        Returns
        -------
        bool
            True when ``percent`` lies in ``ci``, the range the rounding allows (with a tolerance of 1e-9
            percentage points).
        """
        return self.ci[0] - 1e-9 <= percent <= self.ci[1] + 1e-9


def rounded_change_range(new, old, decimals=2) -> RoundedChange:
    """Range of percent changes two rounded values allow.

    E.g. rates 0.23 -> 0.20 at 2 decimals: -17% to -9%, from the extreme ratios of the two rounding intervals.

    Parameters
    ----------
    new : float
        The later rounded value (positive).
    old : float
        The earlier rounded value (positive, more than half a rounding unit).
    decimals : int, default 2
        Number of decimals both values were rounded to (non-negative integer).

    Returns
    -------
    RoundedChange
        The percent change of the rounded values (``estimate``) and the range ``ci`` of percent changes the
        true values allow; ``allows(percent)`` tests a stated change against it.
    """
    d = _decimals(decimals)
    validate.positive("new", new)
    validate.positive("old", old)
    half = 0.5 * 10 ** -d
    lo_new, hi_new = max(new - half, 0.0), new + half
    lo_old, hi_old = old - half, old + half
    if lo_old <= 0:
        raise ValueError(f"old must exceed half a rounding unit ({half:g}), got {old!r}")
    est = 100 * (new / old - 1)
    return RoundedChange(new=float(new), old=float(old), decimals=d, estimate=est,
                         ci=(100 * (lo_new / hi_old - 1), 100 * (hi_new / lo_old - 1)))
