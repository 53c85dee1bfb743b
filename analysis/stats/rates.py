"""Exact Poisson (Garwood) intervals for one count and for a rate count/exposure.

The Garwood interval inverts two one-sided Poisson tests through chi-square quantiles:
lower = chi2.ppf(alpha/2, 2x)/2 (0 when x = 0), upper = chi2.ppf(1 - alpha/2, 2x + 2)/2.
It is conservative: coverage is at least 1 - alpha for every true mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.core import validate
from analysis.core.fmt import (  # fmt_num, fmt_p, fmt_pct: re-exported for older callers (being retired)
    fmt_count,
    fmt_num,  # noqa: F401
    fmt_number,
    fmt_p,  # noqa: F401
    fmt_pct,  # noqa: F401
    fmt_pvalue,
)
from analysis.core.results import Result

GARWOOD = "Poisson exact (Garwood)"
_POISSON_ASSUMPTIONS = (
    "events independent with a constant rate over the period (Poisson); "
    "over-dispersion (variance > mean) would widen the interval"
)


def garwood_interval(count, alpha=0.05) -> tuple[float, float]:
    """Exact (Garwood) two-sided 1-alpha interval for a Poisson mean, from chi-square quantiles.

    Lower limit chi2.ppf(alpha/2, 2x)/2 (0 when x = 0), upper limit chi2.ppf(1 - alpha/2, 2x + 2)/2;
    coverage is at least 1 - alpha for every true mean.

    Parameters
    ----------
    count : int
        Observed Poisson count x (non-negative integer).
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1); the interval has nominal level 1 - alpha.

    Returns
    -------
    tuple of (float, float)
        Lower and upper limits for the Poisson mean behind ``count``.

    References
    ----------
    Garwood, F. (1936). Fiducial limits for the Poisson distribution. Biometrika 28, 437-442.
    """
    x = validate.count("count", count)
    a = validate.alpha("alpha", alpha)
    lo = 0.0 if x == 0 else float(stats.chi2.ppf(a / 2, 2 * x) / 2)
    hi = float(stats.chi2.ppf(1 - a / 2, 2 * x + 2) / 2)
    return lo, hi


def poisson_exact_pvalue(count, expected) -> float:
    """Two-sided exact Poisson p-value for ``count`` given mean ``expected``.

    Sums the probabilities of all outcomes no likelier than the observed one (R poisson.test's rule, relative
    tolerance 1e-7).

    Parameters
    ----------
    count : int
        Observed count (non-negative integer).
    expected : float
        Poisson mean under the null hypothesis (positive).

    Returns
    -------
    float
        Two-sided p-value in [0, 1]; 1.0 when ``count`` equals ``expected``.
    """
    x = validate.count("count", count)
    m = validate.positive("expected", expected)
    if x == m:
        return 1.0
    rel = 1 + 1e-7
    d = stats.poisson.pmf(x, m)
    if x < m:
        n = math.ceil(2 * m - x)
        while stats.poisson.pmf(n, m) > d:
            n *= 2
        i = np.arange(math.ceil(m), n + 1)
        y = int(np.sum(stats.poisson.pmf(i, m) <= d * rel))
        p = stats.poisson.cdf(x, m) + stats.poisson.sf(n - y, m)
    else:
        i = np.arange(0, math.floor(m) + 1)
        y = int(np.sum(stats.poisson.pmf(i, m) <= d * rel))
        p = stats.poisson.cdf(y - 1, m) + stats.poisson.sf(x - 1, m)
    return float(min(1.0, p))


@dataclass(frozen=True)
class CountInterval(Result):
    """Garwood interval for the expected count behind one observed count."""

    count: int
    estimate: float
    ci: tuple[float, float]
    alpha: float
    method: str = GARWOOD
    assumptions: str = _POISSON_ASSUMPTIONS

    @property
    def verdict(self) -> str:
        lo, hi = self.ci
        level = round(100 * (1 - self.alpha), 6)
        s = (
            f"{self.method} {level:g}% interval for the expected count behind {fmt_count(self.count)} observed: "
            f"{fmt_number(lo, 4)} to {fmt_number(hi, 4)}. "
        )
        if self.count:
            half = 100 * (hi - lo) / 2 / self.count
            s += (
                "Another period with the same underlying rate could plausibly show any count in this range, "
                f"so changes smaller than about ±{half:.0f}% are within Poisson noise"
            )
        else:
            s += f"Zero events is compatible with an expected count up to {fmt_number(hi, 4)}"
        return s + "; over-dispersion (variance > mean) would widen the interval."


@dataclass(frozen=True)
class RateInterval(Result):
    """Garwood interval for a rate count/exposure × per, with an optional exact test of a null rate."""

    count: int
    exposure: float
    per: float
    estimate: float
    ci: tuple[float, float]
    alpha: float
    null_rate: float | None
    p_value: float | None
    method: str = GARWOOD
    assumptions: str = _POISSON_ASSUMPTIONS

    @property
    def verdict(self) -> str:
        lo, hi = self.ci
        level = round(100 * (1 - self.alpha), 6)
        unit = "" if self.per == 1 else f" per {self.per:,g}"
        s = (
            f"{self.method} {level:g}% interval for the rate{unit}: {fmt_number(self.estimate, 4)} "
            f"({fmt_number(lo, 4)} to {fmt_number(hi, 4)}), from {fmt_count(self.count)} events over exposure "
            f"{fmt_number(self.exposure, 4)}."
        )
        if self.null_rate is not None:
            inside = lo <= self.null_rate <= hi
            s += (
                f" Exact two-sided Poisson test of rate {fmt_number(self.null_rate)}{unit}: p "
                f"{'' if fmt_pvalue(self.p_value).startswith('<') else '= '}{fmt_pvalue(self.p_value)}; "
                + (
                    "that rate is inside the interval, so the data do not contradict it."
                    if inside
                    else "that rate is outside the interval."
                )
            )
        s += " An error in the exposure (denominator) shifts the whole interval proportionally."
        return s


def count_ci(count, alpha=0.05) -> CountInterval:
    """Garwood exact interval for the Poisson mean behind one published count (e.g. 293 injuries).

    Parameters
    ----------
    count : int
        Observed count (non-negative integer).
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).

    Returns
    -------
    CountInterval
        The count, the estimate (the count itself), the Garwood interval ``ci``, ``alpha`` and a verdict.

    See Also
    --------
    garwood_interval : the interval itself.

    References
    ----------
    Garwood, F. (1936). Fiducial limits for the Poisson distribution. Biometrika 28, 437-442.
    """
    x = validate.count("count", count)
    a = validate.alpha("alpha", alpha)
    return CountInterval(count=x, estimate=float(x), ci=garwood_interval(x, a), alpha=a)


def rate_ci(count, exposure, per=1.0, alpha=0.05, null_rate=None) -> RateInterval:
    """Garwood exact interval for a rate count/exposure×per (e.g. per 1,000 workers).

    Optionally tests ``null_rate`` (same units) with R poisson.test's two-sided exact p-value
    (:func:`poisson_exact_pvalue` at mean null_rate·exposure/per).

    Parameters
    ----------
    count : int
        Number of events (non-negative integer).
    exposure : float
        Exposure (denominator) the events accrued over, e.g. workers or person-years (positive).
    per : float, default 1.0
        Multiplier for the rate's units, e.g. 1000 for a rate per 1,000 (positive).
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).
    null_rate : float or None, default None
        Rate to test, in the same units as the estimate (positive); None for no test.

    Returns
    -------
    RateInterval
        The rate estimate count/exposure×per, its Garwood interval ``ci`` (the count interval scaled by
        per/exposure), and ``p_value`` of the test of ``null_rate`` (None without one).

    References
    ----------
    Garwood, F. (1936). Fiducial limits for the Poisson distribution. Biometrika 28, 437-442.
    """
    x = validate.count("count", count)
    t = validate.positive("exposure", exposure)
    k = validate.positive("per", per)
    a = validate.alpha("alpha", alpha)
    lo, hi = garwood_interval(x, a)
    p = None
    if null_rate is not None:
        r0 = validate.positive("null_rate", null_rate)
        p = poisson_exact_pvalue(x, r0 * t / k)
        null_rate = r0
    return RateInterval(
        count=x,
        exposure=t,
        per=k,
        estimate=x / t * k,
        ci=(lo / t * k, hi / t * k),
        alpha=a,
        null_rate=null_rate,
        p_value=p,
    )
