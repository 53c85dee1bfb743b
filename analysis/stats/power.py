"""Power of the two-period comparison and the minimum detectable change.

Exact (φ = 1): x0 ~ Poisson(μ0), x1 ~ Poisson(R·e·μ0). Given n = x1 + x0, x1 ~ Binomial(n, π1) with
π1 = R·e/(1 + R·e), and the exact conditional test rejects on two tails {x1 <= a_n} ∪ {x1 >= b_n} of the null
Binomial(n, e/(1 + e)) (the binomtest two-sided rule). Power = Σ_n Poisson(n; μ0 + μ1)·P(reject | n), summed
exactly over n within 1e-12 tail mass. No approximation beyond that truncation.

Over-dispersed (φ ≠ 1): normal approximation to the quasi-Poisson score test of compare.py,
z = (x1 - e·x0)/sqrt(φ·e·n), with E[x1 - e·x0] = μ1 - e·μ0, Var = φ·(μ1 + e²·μ0) and n replaced by its mean
μ0 + μ1. Checked in the tests against a seeded simulation with negative-binomial counts of variance φ·μ.

Estimated φ (``df`` given): the test compares z with Student's t_df quantile, and the statistic is a noncentral t:
with D = x1 - e·x0 ~ N(δ, s1²), s0² = φ·e·(μ0 + μ1) and df·φ̂/φ ~ χ²_df independent of D,
T = D / (s0·sqrt(φ̂/φ)) = (s1/s0)·t'_df(λ = δ/s1), so power = P(|t'_df(λ)| > t_crit·s0/s1) (scipy ``nct``). As df -> ∞
this is the normal formula above.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from analysis.core import validate
from analysis.core.fmt import fmt_number, fmt_percent
from analysis.core.results import Result

EXACT_POWER = "exact power of the exact conditional binomial test (sum over n)"
T_POWER = "noncentral-t approximation to the quasi-Poisson score test with φ estimated (variance φ·μ, t reference)"
_TAIL = 1e-12
# Above this expected baseline count the exact power (a sum over every total n, each with its own rejection region)
# costs seconds to minutes, while the normal approximation is within 0.7 percentage points of it from 2,000
# on (``tests/test_power.py``): there the normal approximation is used and named.
EXACT_MAX_BASELINE = 2000.0
NORMAL_POWER = "normal approximation to the quasi-Poisson score test (variance φ·μ)"


def minlike_pvalues(n: int, p0: float) -> np.ndarray:
    """Two-sided exact binomial p-values for x = 0..n.

    Each p-value sums the probabilities of the outcomes no likelier than x (relative tolerance 1e-7), the rule
    of
    scipy's ``binomtest`` and R's ``binom.test``.

    Parameters
    ----------
    n : int
        Number of trials (non-negative integer).
    p0 : float
        Success probability under the null, in (0, 1).

    Returns
    -------
    numpy.ndarray
        The n + 1 two-sided p-values, indexed by x.
    """
    n = validate.count("n", n)
    k = np.arange(n + 1)
    # the binomial pmf from log-gamma (what scipy's binom.pmf computes, without its per-call dispatch cost)
    pmf = np.exp(special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
                 + special.xlogy(k, p0) + special.xlog1py(n - k, -p0))
    srt = np.sort(pmf)
    cum = np.cumsum(srt)
    k = np.searchsorted(srt, pmf * (1 + 1e-7), side="right")
    return np.minimum(1.0, cum[k - 1])


@functools.lru_cache(maxsize=1 << 16)
def _rejection_bounds(n: int, p0: float, alpha: float) -> tuple[int, int]:
    """(a_n, b_n): the test rejects for x1 <= a_n or x1 >= b_n (a_n = -1 / b_n = n + 1 when a tail is empty)."""
    rej = np.flatnonzero(minlike_pvalues(n, p0) <= alpha)
    mode = n * p0
    low, high = rej[rej < mode], rej[rej > mode]
    return (int(low.max()) if low.size else -1), (int(high.min()) if high.size else n + 1)


def _exact_power_fn(mu0: float, e: float, alpha: float):
    """Return R -> exact power at baseline mean mu0, caching rejection bounds per n (no state beyond the call);
    above :data:`EXACT_MAX_BASELINE` the normal approximation (φ = 1) instead."""
    if mu0 > EXACT_MAX_BASELINE:
        return lambda ratio: normal_power(ratio, mu0, e, alpha)
    p0 = e / (1 + e)
    cache: dict[int, tuple[int, int]] = {}

    def power(ratio: float) -> float:
        mu1 = ratio * e * mu0
        mu = mu0 + mu1
        lo = int(stats.poisson.ppf(_TAIL, mu))
        hi = int(stats.poisson.isf(_TAIL, mu)) + 1
        ns = np.arange(max(lo, 1), hi + 1)
        for n in ns:
            if n not in cache:
                cache[n] = _rejection_bounds(int(n), p0, alpha)
        a = np.array([cache[n][0] for n in ns])
        b = np.array([cache[n][1] for n in ns])
        pi1 = mu1 / mu
        cond = stats.binom.cdf(a, ns, pi1) + stats.binom.sf(b - 1, ns, pi1)
        return float(np.sum(stats.poisson.pmf(ns, mu) * cond))

    return power


def _exact_method(mu0: float) -> str:
    return EXACT_POWER if mu0 <= EXACT_MAX_BASELINE else (
        f"{NORMAL_POWER}, φ = 1 (baseline above {EXACT_MAX_BASELINE:,.0f}: normal within 0.7 points of exact power there)")


def normal_power(ratio, baseline, exposure_ratio=1.0, alpha=0.05, phi=1.0, df=None) -> float:
    """Approximate power of the two-sided quasi-Poisson score test (see module docstring).

    Normal approximation with E[x1 - e·x0] = μ1 - e·μ0 and Var = φ·(μ1 + e²·μ0); with ``df`` the statistic is
    treated as a scaled noncentral t (φ estimated).

    Parameters
    ----------
    ratio : float
        True rate ratio R (positive).
    baseline : float
        Expected count μ0 in the baseline (earlier) period (positive).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive).
    alpha : float, default 0.05
        Two-sided level of the test, in (0, 1).
    phi : float, default 1.0
        Dispersion φ (variance φ·μ, positive).
    df : int or None, default None
        Residual degrees of freedom φ is estimated from (t reference, noncentral-t power); None for a known φ.

    Returns
    -------
    float
        Probability that the test rejects at level ``alpha``.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    r = validate.positive("ratio", ratio)
    mu0 = validate.positive("baseline", baseline)
    e = validate.positive("exposure_ratio", exposure_ratio)
    a = validate.alpha("alpha", alpha)
    f = validate.positive("phi", phi)
    mu1 = r * e * mu0
    delta = mu1 - e * mu0
    s0 = math.sqrt(f * e * (mu0 + mu1))
    s1 = math.sqrt(f * (mu1 + e * e * mu0))
    if df is not None:
        k = validate.positive_int("df", df)
        c = stats.t.isf(a / 2, k) * s0 / s1
        lam = delta / s1
        return float(stats.nct.sf(c, k, lam) + stats.nct.cdf(-c, k, lam))
    zc = stats.norm.isf(a / 2)
    return float(stats.norm.cdf((-zc * s0 - delta) / s1) + stats.norm.sf((zc * s0 - delta) / s1))


@dataclass(frozen=True)
class PowerResult(Result):
    """Power to detect a true rate ratio given the expected baseline count."""

    ratio: float
    baseline: float
    exposure_ratio: float
    alpha: float
    phi: float
    expected_x1: float
    expected_x0: float
    estimate: float
    power_normal: float
    method: str
    assumptions: str

    @property
    def verdict(self) -> str:
        return (
            f"{self.method}: a true change of {fmt_percent(100 * (self.ratio - 1))} (ratio {self.ratio:g}) from "
            f"~{fmt_number(self.expected_x0, 4)} expected events (φ = {fmt_number(self.phi)}, two-sided α = "
            f"{self.alpha:g}) "
            f"is detected with probability {self.estimate:.3f} (normal approximation {self.power_normal:.3f}). "
            + (
                "Adequate (>= 0.8); more dispersion would lower it."
                if self.estimate >= 0.8
                else "Under 0.8: a non-significant result says little; a longer window or larger true change is needed."
            )
        )


def power_ratio(ratio, baseline, exposure_ratio=1.0, alpha=0.05, phi=1.0) -> PowerResult:
    """Power of the two-period comparison for a true rate ratio at an expected baseline count.

    Exact for φ = 1 (sum over the total n of the conditional rejection probabilities of the exact test; the
    normal
    approximation above a baseline of 2,000), normal approximation to the quasi-Poisson score test for φ ≠ 1.

    Parameters
    ----------
    ratio : float
        True rate ratio R (positive).
    baseline : float
        Expected count μ0 in the baseline (earlier) period (positive).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive).
    alpha : float, default 0.05
        Two-sided level of the test, in (0, 1).
    phi : float, default 1.0
        Dispersion φ (variance φ·μ, positive).

    Returns
    -------
    PowerResult
        Power as ``estimate`` with the normal approximation ``power_normal``, the expected counts
        ``expected_x0`` and ``expected_x1`` and the ``method`` used.
    """
    r = validate.positive("ratio", ratio)
    mu0 = validate.positive("baseline", baseline)
    e = validate.positive("exposure_ratio", exposure_ratio)
    a = validate.alpha("alpha", alpha)
    f = validate.positive("phi", phi)
    pn = normal_power(r, mu0, e, a, f)
    if f == 1:
        pw, method = _exact_power_fn(mu0, e, a)(r), _exact_method(mu0)
        assume = "Poisson counts in both periods; expected baseline count known"
    else:
        pw, method = pn, NORMAL_POWER
        assume = "counts with variance φ·μ; normal approximation with n at its expectation"
    return PowerResult(
        ratio=r,
        baseline=mu0,
        exposure_ratio=e,
        alpha=a,
        phi=f,
        expected_x1=r * e * mu0,
        expected_x0=mu0,
        estimate=pw,
        power_normal=pn,
        method=method,
        assumptions=assume,
    )


def power_curve(ratios, baseline, exposure_ratio=1.0, alpha=0.05) -> list[float]:
    """Exact power (φ = 1) at several true ratios, sharing one cache of rejection bounds.

    For plots: one :func:`power_ratio` call per point would rebuild the bounds every time.

    Parameters
    ----------
    ratios : iterable of float
        True rate ratios (positive, non-empty).
    baseline : float
        Expected count μ0 in the baseline (earlier) period (positive).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive).
    alpha : float, default 0.05
        Two-sided level of the test, in (0, 1).

    Returns
    -------
    list of float
        Power at each ratio, in order.
    """
    mu0 = validate.positive("baseline", baseline)
    e = validate.positive("exposure_ratio", exposure_ratio)
    a = validate.alpha("alpha", alpha)
    rs = [validate.positive("ratios", r) for r in ratios]
    if not rs:
        raise ValueError("ratios must not be empty, got []")
    fn = _exact_power_fn(mu0, e, a)
    return [fn(r) for r in rs]


@dataclass(frozen=True)
class DetectableChange(Result):
    """The smallest true change detectable with the target power (None if no change in range reaches it)."""

    baseline: float
    exposure_ratio: float
    alpha: float
    power: float
    phi: float
    direction: str
    estimate: float | None
    pct_change: float | None
    method: str
    df: int | None = None
    assumptions: str = (
        "exact power is saw-toothed in the ratio (discreteness); the root found is where it crosses the "
        "target, accurate to about ±0.5 percentage points of change"
    )

    @property
    def verdict(self) -> str:
        ref = "" if self.df is None else f" estimated on {self.df} df"
        head = (
            f"{self.method}, ~{fmt_number(self.baseline, 4)} expected events in the baseline period, φ = "
            f"{fmt_number(self.phi)}{ref}, two-sided α = {self.alpha:g}: "
        )
        if self.estimate is None:
            return head + f"no {self.direction} within the searched range reaches power {self.power:g}."
        return head + (
            f"{self.power:.0%} power needs a true {self.direction} to a ratio of {self.estimate:.3f} "
            f"({fmt_percent(self.pct_change)}) or beyond; smaller true changes would often go undetected. "
            "A longer window (more events) or less over-dispersion would shrink this."
        )


def minimum_detectable_ratio(
    baseline, exposure_ratio=1.0, power=0.8, alpha=0.05, phi=1.0, direction="decrease", df=None
) -> DetectableChange:
    """Rate ratio detectable with the target power given the expected baseline count.

    E.g. what drop a quarter of ~350 injuries could reveal. Exact for φ = 1 (and ``df`` None), normal
    approximation otherwise; with ``df`` (φ estimated on df residual degrees of freedom, t reference) the
    noncentral-t approximation. The ratio is where the power first crosses the target on a grid from 1
    outwards,
    refined by root finding.

    Parameters
    ----------
    baseline : float
        Expected count μ0 in the baseline (earlier) period (positive).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive).
    power : float, default 0.8
        Target power, in (0, 1).
    alpha : float, default 0.05
        Two-sided level of the test, in (0, 1).
    phi : float, default 1.0
        Dispersion φ (variance φ·μ, positive).
    direction : {"decrease", "increase"}, default "decrease"
        Whether to search ratios below 1 (down to 0.001) or above 1 (up to 1001).
    df : int or None, default None
        Residual degrees of freedom φ is estimated from; None for a known φ.

    Returns
    -------
    DetectableChange
        The detectable ratio as ``estimate`` and its ``pct_change`` (both None if no ratio in range reaches
        the target power), with the ``method`` used.
    """
    mu0 = validate.positive("baseline", baseline)
    e = validate.positive("exposure_ratio", exposure_ratio)
    target = validate.alpha("power", power)
    a = validate.alpha("alpha", alpha)
    f = validate.positive("phi", phi)
    validate.one_of("direction", direction, ("decrease", "increase"))
    if df is not None:
        df = validate.positive_int("df", df)
    if f == 1 and df is None:
        pw, method = _exact_power_fn(mu0, e, a), _exact_method(mu0)
    else:

        def pw(r):
            return normal_power(r, mu0, e, a, f, df)

        method = NORMAL_POWER if df is None else T_POWER
    if direction == "decrease":
        grid = np.linspace(1.0, 1e-3, 61)[1:]
    else:
        grid = 1 + np.geomspace(1e-3, 1e3, 60)
    prev, ratio = 1.0, None
    for r in grid:
        if pw(float(r)) >= target:
            lo, hi = sorted((float(r), prev))
            ratio = float(optimize.brentq(lambda x: pw(x) - target, lo, hi, xtol=1e-6))
            break
        prev = float(r)
    return DetectableChange(
        baseline=mu0,
        exposure_ratio=e,
        alpha=a,
        power=target,
        phi=f,
        direction=direction,
        estimate=ratio,
        pct_change=None if ratio is None else 100 * (ratio - 1),
        method=method,
        df=df,
    )
