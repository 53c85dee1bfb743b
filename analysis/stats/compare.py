"""Two-period comparison of Poisson counts: x1 (now) against x0 (before), exposure ratio e = T1/T0.

Exact conditional inference: given n = x1 + x0, x1 ~ Binomial(n, e·R/(1 + e·R)) where R is the rate ratio.
The p-value is the two-sided binomial test of p0 = e/(1 + e) (R's poisson.test / binom.test rule), the
interval is Clopper-Pearson on x1/n mapped to the ratio by p/(1 - p)/e.

Over-dispersion (variance φ·μ, quasi-Poisson) is handled with the score test on the ratio,
z = (x1 - e·x0) / sqrt(φ·e·(x1 + x0)), i.e. the Poisson score statistic divided by sqrt(φ). This is
identical to running the Poisson score test on the counts scaled by 1/φ, and at φ = 1 it is exactly
statsmodels' ``test_poisson_2indep(..., method="score")``. Its p-value is non-decreasing in φ.

When φ is *estimated* from k residual degrees of freedom (e.g. Pearson χ²/df of a trend fitted to k + 2 annual
counts), the reference distribution of z is Student's t_k rather than the normal (z² ~ F(1, k)), as for any
quasi-likelihood test with an estimated scale (McCullagh & Nelder 1989, §9.2; R's ``anova(..., test = "F")``) and
as ``trend.fit_trend`` does for the quasi-Poisson slope. ``df=None`` keeps the normal reference (φ known).

Mid-p values. statsmodels' ``cond-midp`` subtracts half the probability of the observed count from the two-sided
"minimum likelihood" exact p-value. Lancaster's mid-p (Lancaster 1961) doubles the smaller one-sided mid-p:
2·min(P(X < x) + P(X = x)/2, P(X > x) + P(X = x)/2), capped at 1. The two agree only when no other outcome enters the
minimum-likelihood tail with probability equal to the observed one; for a symmetric null (equal exposures) they
differ by P(X = x)/2. :func:`lancaster_midp` gives Lancaster's.

References
----------
Lancaster, H. O. (1961). Significance tests in discrete distributions. JASA 56, 223-234.
McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import test_poisson_2indep

from analysis.core import validate
from analysis.core.fmt import fmt_number, fmt_p, fmt_percent, fmt_pvalue
from analysis.core.results import Result

EXACT = "exact conditional binomial"
QUASI_SCORE = "quasi-Poisson score test (variance φ·μ)"
_ASSUME = "independent Poisson counts in each period; rates constant within each period"
_ASSUME_QP = "counts with variance φ·μ (quasi-Poisson); normal approximation to the score statistic"
DEFAULT_PHIS = (1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0)


@functools.lru_cache(maxsize=8192)  # pure; a threshold search and the audit ask for the same counts many times
def _sm_pvalue(x1: int, x0: int, e: float, method: str) -> float:
    """statsmodels' conditional p-value (its unused ratio x1/x0 would warn when x0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(test_poisson_2indep(x1, e, x0, 1.0, method=method).pvalue)


def _args(x1, x0, exposure_ratio, alpha):
    return (
        validate.count("x1", x1),
        validate.count("x0", x0),
        validate.positive("exposure_ratio", exposure_ratio),
        validate.alpha("alpha", alpha),
    )


def _ratio(x1: int, x0: int, e: float) -> float:
    if x0 == 0:
        return math.inf if x1 > 0 else math.nan
    return x1 / x0 / e


def _pct(r: float) -> float:
    return 100 * (r - 1) if math.isfinite(r) else r


def _pc(x: float) -> str:
    """A signed percent; an infinite bound reads '+∞%'."""
    if x is not None and math.isinf(x):
        return "+∞%" if x > 0 else "−∞%"
    return fmt_percent(x)


def _pct_text(ci) -> str:
    return f"{_pc(_pct(ci[0]))} to {_pc(_pct(ci[1]))}"


def exact_ratio_ci(x1, x0, exposure_ratio=1.0, alpha=0.05) -> tuple[float, float]:
    """Exact conditional 1-alpha interval for the rate ratio.

    Clopper-Pearson interval for x1 | n = x1 + x0, mapped to the ratio by p/(1-p)/e.

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive); 1 for equal exposures.
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).

    Returns
    -------
    tuple of (float, float)
        Lower and upper limits for the rate ratio; (0, inf) when x1 + x0 = 0, upper limit inf when x0 = 0.

    References
    ----------
    Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the case
        of the binomial. Biometrika 26, 404-413.
    """
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    n = x1 + x0
    if n == 0:
        return 0.0, math.inf
    plo, phi = proportion_confint(x1, n, alpha=a, method="beta")
    plo = 0.0 if x1 == 0 else float(plo)
    phi = 1.0 if x0 == 0 else float(phi)
    hi = math.inf if phi >= 1 else phi / (1 - phi) / e
    return plo / (1 - plo) / e, hi


def exact_pvalue(x1, x0, exposure_ratio=1.0) -> float:
    """Two-sided exact conditional p-value for equal rates.

    Binomial test of x1 | n = x1 + x0 at p0 = e/(1+e) (R poisson.test / binom.test rule, via statsmodels'
    ``test_poisson_2indep(..., method="exact-cond")``).

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive); 1 for equal exposures.

    Returns
    -------
    float
        Two-sided p-value in [0, 1]; 1.0 when both counts are 0.
    """
    x1, x0, e, _ = _args(x1, x0, exposure_ratio, 0.05)
    if x1 + x0 == 0:
        return 1.0
    return _sm_pvalue(x1, x0, e, "exact-cond")


def _sf(x: float, df: int | None) -> float:
    """Upper tail of the reference distribution: normal (φ known) or Student t on ``df`` (φ estimated)."""
    return float(stats.norm.sf(x) if df is None else stats.t.sf(x, validate.positive_int("df", df)))


def _isf(q: float, df: int | None) -> float:
    """Upper quantile of the reference distribution (normal, or Student t on ``df``)."""
    return float(stats.norm.isf(q) if df is None else stats.t.isf(q, validate.positive_int("df", df)))


def reference_name(df: int | None) -> str:
    """'normal' or 't(8)': how the reference distribution is named in tables and verdicts.

    Parameters
    ----------
    df : int or None
        Degrees of freedom of a Student t reference; None for the normal.

    Returns
    -------
    str
        ``"normal"`` or ``"t(df)"``.
    """
    return "normal" if df is None else f"t({int(df)})"


ptext = fmt_p  # a p-value in a sentence: the one policy of analysis.core.fmt


def lancaster_midp(x1, x0, exposure_ratio=1.0) -> float:
    """Lancaster's two-sided mid-p of the exact conditional test.

    2·min(P(X<x)+P(X=x)/2, P(X>x)+P(X=x)/2), capped at 1, with X ~ Binomial(x1 + x0, e/(1 + e)).

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive); 1 for equal exposures.

    Returns
    -------
    float
        Two-sided mid-p value in [0, 1]; 1.0 when both counts are 0.

    References
    ----------
    Lancaster, H. O. (1961). Significance tests in discrete distributions. JASA 56, 223-234.
    """
    x1, x0, e, _ = _args(x1, x0, exposure_ratio, 0.05)
    n = x1 + x0
    if n == 0:
        return 1.0
    p0 = e / (1 + e)
    half = 0.5 * stats.binom.pmf(x1, n, p0)
    lower = stats.binom.cdf(x1 - 1, n, p0) + half if x1 > 0 else half
    upper = stats.binom.sf(x1, n, p0) + half
    return float(min(1.0, 2 * min(lower, upper)))


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values.

    As ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``, without its garbage-collection pass
    on every call: max over j <= i of min(1, (m - j + 1)·p_(j)).

    Parameters
    ----------
    pvalues : sequence of float
        Unadjusted p-values, each in [0, 1].

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, in the input order.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Statist. 6, 65-70.
    """
    p = np.asarray([validate.finite(f"pvalues[{i}]", v) for i, v in enumerate(pvalues)], float)
    if ((p < 0) | (p > 1)).any():
        raise ValueError(f"pvalues must lie in [0, 1], got {p.tolist()}")
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def score_z(x1, x0, exposure_ratio=1.0, phi=1.0) -> float:
    """Score statistic for equal rates with variance φ·μ: (x1 - e·x0)/sqrt(φ·e·(x1 + x0)).

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive); 1 for equal exposures.
    phi : float, default 1.0
        Dispersion φ (variance φ·μ, positive); 1 is Poisson.

    Returns
    -------
    float
        The (quasi-Poisson) score statistic; 0 when x1 + x0 = 0.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    x1, x0, e, _ = _args(x1, x0, exposure_ratio, 0.05)
    f = validate.positive("phi", phi)
    n = x1 + x0
    return 0.0 if n == 0 else (x1 - e * x0) / math.sqrt(f * e * n)


def score_pvalue(x1, x0, exposure_ratio=1.0, phi=1.0, df=None) -> float:
    """Two-sided p-value of the quasi-Poisson score test; φ = 1 is the Poisson score test.

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive); 1 for equal exposures.
    phi : float, default 1.0
        Dispersion φ (variance φ·μ, positive); 1 is Poisson.
    df : int or None, default None
        Residual degrees of freedom φ was estimated from (Student t_df reference); None for a known φ
        (normal reference).

    Returns
    -------
    float
        Two-sided p-value 2·P(Z > abs(z)) of :func:`score_z` against the normal or t_df reference.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    return 2 * _sf(abs(score_z(x1, x0, exposure_ratio, phi)), df)


def score_ratio_ci(x1, x0, exposure_ratio=1.0, phi=1.0, alpha=0.05, df=None) -> tuple[float, float]:
    """Rate-ratio interval inverting the quasi-Poisson score test.

    Closed form (roots of a quadratic in the ratio); φ = 1 is the Poisson score interval.

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive); 1 for equal exposures.
    phi : float, default 1.0
        Dispersion φ (variance φ·μ, positive); 1 is Poisson.
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).
    df : int or None, default None
        Residual degrees of freedom φ was estimated from (Student t_df reference); None for a known φ
        (normal reference).

    Returns
    -------
    tuple of (float, float)
        Lower and upper limits for the rate ratio; (0, inf) when x1 + x0 = 0, upper limit inf when x0 = 0.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    f = validate.positive("phi", phi)
    n = x1 + x0
    if n == 0:
        return 0.0, math.inf
    c = _isf(a / 2, df) ** 2 * f
    # Solve (x1 - x0·u)^2 = c·n·u for u = e·R.
    if x0 == 0:
        return x1 * x1 / (c * n) / e, math.inf
    b = 2 * x1 * x0 + c * n
    root = math.sqrt(c * n * (4 * x1 * x0 + c * n))
    lo = (b - root) / (2 * x0 * x0)
    if x1 == 0:
        lo = 0.0
    return max(lo, 0.0) / e, (b + root) / (2 * x0 * x0) / e


def _x1_thresholds(x0: int, e: float, a: float) -> tuple[int | None, int | None]:
    """Largest x1 below e·x0 and smallest above it whose exact conditional p is <= alpha (bisection)."""

    def sig(k):
        return exact_pvalue(k, x0, e) <= a

    mid = e * x0
    lower = None
    top = math.floor(mid)
    if sig(0):
        lo, hi = 0, top  # sig(lo) True; find largest significant k <= top
        if sig(hi):
            lower = hi
        else:
            while hi - lo > 1:
                m = (lo + hi) // 2
                lo, hi = (m, hi) if sig(m) else (lo, m)
            lower = lo
    start = math.ceil(mid)
    hi = max(start, 1)
    for _ in range(64):
        if sig(hi):
            break
        hi *= 2
    else:
        return lower, None
    lo = start - 1
    while hi - lo > 1:
        m = (lo + hi) // 2
        lo, hi = (lo, m) if sig(m) else (m, hi)
    return lower, hi


@dataclass(frozen=True)
class RateComparison(Result):
    """Exact conditional comparison of two Poisson counts with mid-p and score p-values."""

    x1: int
    x0: int
    exposure_ratio: float
    alpha: float
    estimate: float
    ci: tuple[float, float]
    p_value: float
    p_midp: float
    p_score: float
    ci_score: tuple[float, float]
    pct_change: float
    pct_ci: tuple[float, float]
    phi_flip: float | None
    x1_thresholds: tuple[int | None, int | None]
    method: str = EXACT
    assumptions: str = _ASSUME

    @property
    def significant(self) -> bool:
        return self.p_value <= self.alpha

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.alpha), 6)
        s = (
            f"{self.method.capitalize()} test (as R poisson.test) of {self.x1} vs {self.x0}"
            + ("" if self.exposure_ratio == 1 else f" (exposure ratio {fmt_number(self.exposure_ratio, 4)})")
            + f": rate ratio {fmt_number(self.estimate)} ({level:g}% CI {fmt_number(self.ci[0])} to "
            f"{fmt_number(self.ci[1])}), change {_pc(self.pct_change)} ({_pct_text(self.ci)}), "
            f"{ptext(self.p_value)} (mid-p {fmt_pvalue(lancaster_midp(self.x1, self.x0, self.exposure_ratio))} "
            f"by Lancaster's definition, {fmt_pvalue(self.p_midp)} as statsmodels' cond-midp; score "
            f"{fmt_pvalue(self.p_score)}): "
        )
        lo_k, hi_k = self.x1_thresholds
        if self.significant:
            s += f"significant at {self.alpha:g}. It would stop being significant "
            if self.phi_flip is not None:
                s += (f"if the counts were over-dispersed with φ ≥ {fmt_number(self.phi_flip)} (quasi-Poisson score "
                      "test, φ known), or ")
            below = self.x1 < self.exposure_ratio * self.x0
            k = lo_k if below else hi_k
            if k is not None:
                s += f"if x1 were {'above' if below else 'below'} {k} with x0 fixed."
            else:
                s += "with different counts."
        else:
            s += f"not significant at {self.alpha:g}; the interval includes no change. "
            parts = []
            if lo_k is not None:
                parts.append(f"x1 ≤ {lo_k}")
            if hi_k is not None:
                parts.append(f"x1 ≥ {hi_k}")
            s += (
                f"With x0 fixed it would take {' or '.join(parts)} to reach significance."
                if parts
                else "No value of x1 would be significant with this x0."
            )
        return s


def compare_counts(x1, x0, exposure_ratio=1.0, alpha=0.05) -> RateComparison:
    """Compare a current count x1 with a previous count x0 (exposure ratio T1/T0).

    Rate ratio, exact conditional CI and p (R poisson.test), mid-p and score p, and what would flip the
    conclusion (the dispersion φ and the x1 thresholds).

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive); 1 for equal exposures.
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).

    Returns
    -------
    RateComparison
        Rate ratio ``estimate`` with exact ``ci``, ``p_value`` (exact conditional), ``p_midp`` (statsmodels'
        cond-midp), ``p_score`` and ``ci_score`` (Poisson score), percent change and its interval,
        ``phi_flip`` (see :func:`dispersion_to_flip`) and ``x1_thresholds``
        (x1 values that would reach significance).

    References
    ----------
    Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the case
        of the binomial. Biometrika 26, 404-413.
    Lancaster, H. O. (1961). Significance tests in discrete distributions. JASA 56, 223-234.
    """
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    n = x1 + x0
    if n == 0:
        p = pm = ps = 1.0
    else:
        p = exact_pvalue(x1, x0, e)
        pm = _sm_pvalue(x1, x0, e, "cond-midp")
        ps = score_pvalue(x1, x0, e)
    ci = exact_ratio_ci(x1, x0, e, a)
    r = _ratio(x1, x0, e)
    return RateComparison(
        x1=x1,
        x0=x0,
        exposure_ratio=e,
        alpha=a,
        estimate=r,
        ci=ci,
        p_value=p,
        p_midp=pm,
        p_score=ps,
        ci_score=score_ratio_ci(x1, x0, e, 1.0, a),
        pct_change=_pct(r),
        pct_ci=(_pct(ci[0]), _pct(ci[1])),
        phi_flip=dispersion_to_flip(x1, x0, e, a).phi_flip,
        x1_thresholds=_x1_thresholds(x0, e, a),
    )


@dataclass(frozen=True)
class OverdispersedComparison(Result):
    """Quasi-Poisson (variance φ·μ) score comparison of two counts."""

    x1: int
    x0: int
    exposure_ratio: float
    phi: float
    alpha: float
    estimate: float
    ci: tuple[float, float]
    z: float
    p_value: float
    method: str = QUASI_SCORE
    assumptions: str = _ASSUME_QP

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.alpha), 6)
        sig = self.p_value <= self.alpha
        return (
            f"{self.method} with φ = {fmt_number(self.phi)}: rate ratio {fmt_number(self.estimate)} ({level:g}% CI "
            f"{fmt_number(self.ci[0])} to {fmt_number(self.ci[1])}; {_pct_text(self.ci)}), z = {self.z:.3f}, "
            f"{ptext(self.p_value)}: {'significant' if sig else 'not significant'} at {self.alpha:g}. "
            + (
                f"A dispersion above φ = {fmt_number((self.z / stats.norm.isf(self.alpha / 2)) ** 2 * self.phi)} "
                "would make it non-significant."
                if sig
                else "Larger φ only raises p; a smaller φ or larger counts would be needed for significance."
            )
        )


def compare_overdispersed(x1, x0, phi=1.0, exposure_ratio=1.0, alpha=0.05) -> OverdispersedComparison:
    """Score test and score CI for the rate ratio with variance inflated by φ (quasi-Poisson).

    φ = 1 is the Poisson score test.

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    phi : float, default 1.0
        Dispersion φ (variance φ·μ, positive); 1 is Poisson.
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive).
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).

    Returns
    -------
    OverdispersedComparison
        Rate ratio ``estimate``, score interval ``ci``, score statistic ``z`` and its p-value
        (normal reference).

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    f = validate.positive("phi", phi)
    return OverdispersedComparison(
        x1=x1,
        x0=x0,
        exposure_ratio=e,
        phi=f,
        alpha=a,
        estimate=_ratio(x1, x0, e),
        ci=score_ratio_ci(x1, x0, e, f, a),
        z=score_z(x1, x0, e, f),
        p_value=score_pvalue(x1, x0, e, f),
    )


@dataclass(frozen=True)
class QuasiPoissonComparison(Result):
    """Quasi-Poisson score comparison of two counts with the reference distribution that matches how φ was obtained:
    Student t on ``df`` residual degrees of freedom when φ was estimated, normal when it is known (``df`` None).
    The normal plug-in (the same φ treated as known) is reported beside it."""

    x1: int
    x0: int
    exposure_ratio: float
    phi: float
    df: int | None
    alpha: float
    estimate: float
    z: float
    ci: tuple[float, float]
    p_value: float
    ci_normal: tuple[float, float]
    p_value_normal: float
    phi_flip: float | None
    phi_flip_normal: float | None
    phi_source: str = ""
    method: str = QUASI_SCORE
    assumptions: str = _ASSUME_QP

    @property
    def reference(self) -> str:
        return reference_name(self.df)

    @property
    def significant(self) -> bool:
        return self.p_value <= self.alpha

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.alpha), 6)
        src = f" ({self.phi_source})" if self.phi_source else ""
        s = (f"{self.method} with φ = {fmt_number(self.phi)}{src}, {self.reference} reference: rate ratio "
             f"{fmt_number(self.estimate)} ({level:g}% CI {fmt_number(self.ci[0])} to {fmt_number(self.ci[1])}), "
             f"{ptext(self.p_value)}: {'significant' if self.significant else 'not significant'} at {self.alpha:g}")
        if self.df is not None:
            s += (f" (normal plug-in, as if φ were known: {ptext(self.p_value_normal)}, CI "
                  f"{fmt_number(self.ci_normal[0])} to {fmt_number(self.ci_normal[1])})")
        s += ". "
        if self.phi_flip is None:
            s += "Not significant even at φ = 1 with this reference, so no dispersion can make it significant."
        else:
            s += f"Significance holds only while φ < {fmt_number(self.phi_flip)}"
            s += ("." if self.df is None else
                  f" with φ estimated on {self.df} df (< {fmt_number(self.phi_flip_normal)} if φ were known).")
        return s


def compare_quasi(x1, x0, phi=1.0, exposure_ratio=1.0, alpha=0.05, df=None, phi_source="") -> QuasiPoissonComparison:
    """Quasi-Poisson score test and interval for the rate ratio, with a t reference when φ was estimated.

    Parameters
    ----------
    x1, x0 : int
        Current and earlier counts.
    phi : float
        Dispersion φ (variance / mean), > 0.
    exposure_ratio : float
        T1/T0.
    alpha : float
        Significance level (interval level 1 - alpha).
    df : int, optional
        Residual degrees of freedom φ was estimated from (Student t_df reference; z² ~ F(1, df)). None treats φ as
        known (normal reference).
    phi_source : str
        Where φ comes from, named in the verdict.

    Returns
    -------
    QuasiPoissonComparison
        p-value and interval under the chosen reference and under the normal plug-in; the φ at which significance
        is lost under each.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., §9.2 (estimated dispersion, F tests).
    """
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    f = validate.positive("phi", phi)
    if df is not None:
        df = validate.positive_int("df", df)
    return QuasiPoissonComparison(
        x1=x1, x0=x0, exposure_ratio=e, phi=f, df=df, alpha=a, estimate=_ratio(x1, x0, e),
        z=score_z(x1, x0, e, f), ci=score_ratio_ci(x1, x0, e, f, a, df), p_value=score_pvalue(x1, x0, e, f, df),
        ci_normal=score_ratio_ci(x1, x0, e, f, a), p_value_normal=score_pvalue(x1, x0, e, f),
        phi_flip=dispersion_to_flip(x1, x0, e, a, df).phi_flip, phi_flip_normal=dispersion_to_flip(x1, x0, e, a).phi_flip,
        phi_source=phi_source)


@dataclass(frozen=True)
class DispersionFlip(Result):
    """The dispersion φ at which the quasi-Poisson score p-value reaches alpha (None: not significant at φ=1)."""

    x1: int
    x0: int
    exposure_ratio: float
    alpha: float
    p_at_phi1: float
    phi_flip: float | None
    method: str = QUASI_SCORE
    df: int | None = None

    @property
    def verdict(self) -> str:
        head = (f"{self.method}, {self.x1} vs {self.x0}, {reference_name(self.df)} reference: at φ = 1 "
                f"{ptext(self.p_at_phi1)}; ")
        if self.phi_flip is None:
            return head + (
                f"not significant at {self.alpha:g} even without over-dispersion, so no φ ≥ 1 can make it "
                "significant."
            )
        return head + (
            f"significance at {self.alpha:g} survives only while φ < {fmt_number(self.phi_flip, 4)}; an estimated "
            "dispersion at or above that overturns it."
        )


def dispersion_to_flip(x1, x0, exposure_ratio=1.0, alpha=0.05, df=None) -> DispersionFlip:
    """Find the φ at which the quasi-Poisson score p-value crosses alpha (brentq).

    With an estimated φ (``df`` given) the flip point is (z₁ / t_df,1-α/2)² instead of (z₁ / z_1-α/2)², z₁
    the score statistic at φ = 1.

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive); 1 for equal exposures.
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).
    df : int or None, default None
        Residual degrees of freedom φ was estimated from (Student t_df reference); None for a known φ
        (normal reference).

    Returns
    -------
    DispersionFlip
        ``p_at_phi1`` (score p-value at φ = 1) and ``phi_flip``, the crossing dispersion
        (None if p(φ=1) >= alpha).

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    if df is not None:
        df = validate.positive_int("df", df)
    p1 = score_pvalue(x1, x0, e, 1.0, df)
    flip = None
    if p1 < a:

        def f(ph):
            return score_pvalue(x1, x0, e, ph, df) - a

        hi = 2.0
        while f(hi) < 0:
            hi *= 2
        flip = float(optimize.brentq(f, 1.0, hi, xtol=1e-12, rtol=1e-12))
    return DispersionFlip(x1=x1, x0=x0, exposure_ratio=e, alpha=a, p_at_phi1=p1, phi_flip=flip, df=df)


@dataclass(frozen=True)
class DispersionTable(Result):
    """Quasi-Poisson score p-values of one comparison across a range of dispersions φ."""

    x1: int
    x0: int
    exposure_ratio: float
    alpha: float
    phis: tuple[float, ...]
    p_values: tuple[float, ...]
    p_exact: float
    phi_flip: float | None
    method: str = QUASI_SCORE
    df: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame: phi, p_value, significant.

        Returns
        -------
        pandas.DataFrame
            One row per dispersion in ``phis``: ``phi``, the score ``p_value`` at that φ, and ``significant``
            (``p_value <= alpha``).
        """
        p = np.asarray(self.p_values)
        return pd.DataFrame({"phi": self.phis, "p_value": p, "significant": p <= self.alpha})

    @property
    def verdict(self) -> str:
        rows = ", ".join(f"φ = {fmt_number(f)}: {fmt_pvalue(p)}" for f, p in zip(self.phis, self.p_values, strict=True))
        tail = (
            "not significant at any φ ≥ 1"
            if self.phi_flip is None
            else f"significant at {self.alpha:g} only for φ < {fmt_number(self.phi_flip)}"
        )
        return (
            f"{self.method} p-values ({reference_name(self.df)} reference) for {self.x1} vs {self.x0} ({rows}; exact "
            f"conditional at φ = 1: {fmt_pvalue(self.p_exact)}): {tail}."
        )


def dispersion_table(x1, x0, exposure_ratio=1.0, phis=DEFAULT_PHIS, alpha=0.05, df=None) -> DispersionTable:
    """p-values of the comparison across dispersions φ.

    Shows how much over-dispersion the conclusion tolerates.

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive); 1 for equal exposures.
    phis : sequence of float, default DEFAULT_PHIS
        Dispersions to evaluate (each positive, non-empty); default (1, 1.25, 1.5, 2, 3, 4, 6, 10).
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).
    df : int or None, default None
        Residual degrees of freedom φ was estimated from (Student t_df reference); None for a known φ
        (normal reference).

    Returns
    -------
    DispersionTable
        Score ``p_values`` at each of ``phis``, the exact conditional ``p_exact`` and ``phi_flip``
        (see :func:`dispersion_to_flip`); ``to_frame()`` gives the table.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    phis = tuple(validate.positive(f"phis[{i}]", f) for i, f in enumerate(phis))
    if not phis:
        raise ValueError(f"phis must be a non-empty sequence of dispersions, got {phis!r}")
    if df is not None:
        df = validate.positive_int("df", df)
    return DispersionTable(
        x1=x1,
        x0=x0,
        exposure_ratio=e,
        alpha=a,
        phis=phis,
        p_values=tuple(score_pvalue(x1, x0, e, f, df) for f in phis),
        p_exact=exact_pvalue(x1, x0, e),
        phi_flip=dispersion_to_flip(x1, x0, e, a, df).phi_flip,
        df=df,
    )


@dataclass(frozen=True)
class PercentChange(Result):
    """Percent change 100·(R - 1) in the rate with its interval and p-value."""

    x1: int
    x0: int
    exposure_ratio: float
    alpha: float
    phi: float | None
    estimate: float
    ci: tuple[float, float]
    p_value: float
    method: str = EXACT
    assumptions: str = _ASSUME

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.alpha), 6)
        sig = self.p_value <= self.alpha
        what = f"{self.method} (φ = {fmt_number(self.phi)})" if self.phi is not None else f"{self.method} test"
        return (
            f"{what}: change {_pc(self.estimate)} ({level:g}% CI {_pc(self.ci[0])} to "
            f"{_pc(self.ci[1])}), {ptext(self.p_value)}: "
            + (
                f"significant at {self.alpha:g}; the interval excludes 0% but more dispersion would widen it."
                if sig
                else f"not significant at {self.alpha:g}; a 0% change is compatible with the counts."
            )
        )


def percent_change(x1, x0, exposure_ratio=1.0, alpha=0.05, phi=None) -> PercentChange:
    """Percent change 100·(R - 1) of the rate from x0 to x1.

    Exact conditional CI and p, or the quasi-Poisson score CI and p if ``phi`` is given.

    Parameters
    ----------
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    exposure_ratio : float, default 1.0
        Exposure ratio e = T1/T0 of the two periods (positive); 1 for equal exposures.
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).
    phi : float or None, default None
        Dispersion φ (positive) for the quasi-Poisson score test; None for the exact conditional test.

    Returns
    -------
    PercentChange
        Percent change ``estimate``, its interval ``ci`` (percent), ``p_value`` and the ``method`` used.

    References
    ----------
    Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the case
        of the binomial. Biometrika 26, 404-413.
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    if phi is None:
        ci, p, method = exact_ratio_ci(x1, x0, e, a), exact_pvalue(x1, x0, e), EXACT
        assumptions = _ASSUME
    else:
        phi = validate.positive("phi", phi)
        ci, p, method = score_ratio_ci(x1, x0, e, phi, a), score_pvalue(x1, x0, e, phi), QUASI_SCORE
        assumptions = _ASSUME_QP
    return PercentChange(
        x1=x1,
        x0=x0,
        exposure_ratio=e,
        alpha=a,
        phi=phi,
        estimate=_pct(_ratio(x1, x0, e)),
        ci=(_pct(ci[0]), _pct(ci[1])),
        p_value=p,
        method=method,
        assumptions=assumptions,
    )
