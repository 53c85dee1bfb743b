"""Two-period comparison of Poisson counts: x1 (now) against x0 (before), exposure ratio e = T1/T0.

Exact conditional inference: given n = x1 + x0, x1 ~ Binomial(n, e·R/(1 + e·R)) where R is the rate ratio.
The p-value is the two-sided binomial test of p0 = e/(1 + e) (R's poisson.test / binom.test rule), the
interval is Clopper-Pearson on x1/n mapped to the ratio by p/(1 - p)/e.

Over-dispersion (variance φ·μ, quasi-Poisson) is handled with the score test on the ratio,
z = (x1 - e·x0) / sqrt(φ·e·(x1 + x0)), i.e. the Poisson score statistic divided by sqrt(φ). This is
identical to running the Poisson score test on the counts scaled by 1/φ, and at φ = 1 it is exactly
statsmodels' ``test_poisson_2indep(..., method="score")``. Its p-value is non-decreasing in φ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.rates import test_poisson_2indep

from analysis.core import validate
from analysis.core.results import Result
from analysis.stats.rates import fmt_num, fmt_p, fmt_pct

EXACT = "exact conditional binomial"
QUASI_SCORE = "quasi-Poisson score test (variance φ·μ)"
_ASSUME = "independent Poisson counts in each period; rates constant within each period"
_ASSUME_QP = "counts with variance φ·μ (quasi-Poisson); normal approximation to the score statistic"
DEFAULT_PHIS = (1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0)


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


def _pct_text(ci) -> str:
    return f"{fmt_pct(_pct(ci[0]))} to {fmt_pct(_pct(ci[1]))}"


def exact_ratio_ci(x1, x0, exposure_ratio=1.0, alpha=0.05) -> tuple[float, float]:
    """Exact conditional 1-alpha interval for the rate ratio: Clopper-Pearson on x1 | n, mapped p/(1-p)/e."""
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
    """Two-sided exact conditional p-value for equal rates (binomial test of x1 | n at p0 = e/(1+e))."""
    x1, x0, e, _ = _args(x1, x0, exposure_ratio, 0.05)
    if x1 + x0 == 0:
        return 1.0
    return _sm_pvalue(x1, x0, e, "exact-cond")


def score_z(x1, x0, exposure_ratio=1.0, phi=1.0) -> float:
    """Score statistic for equal rates with variance φ·μ: (x1 - e·x0)/sqrt(φ·e·(x1 + x0)); 0 when n = 0."""
    x1, x0, e, _ = _args(x1, x0, exposure_ratio, 0.05)
    f = validate.positive("phi", phi)
    n = x1 + x0
    return 0.0 if n == 0 else (x1 - e * x0) / math.sqrt(f * e * n)


def score_pvalue(x1, x0, exposure_ratio=1.0, phi=1.0) -> float:
    """Two-sided p-value of the quasi-Poisson score test; φ = 1 is the Poisson score test."""
    return float(2 * stats.norm.sf(abs(score_z(x1, x0, exposure_ratio, phi))))


def score_ratio_ci(x1, x0, exposure_ratio=1.0, phi=1.0, alpha=0.05) -> tuple[float, float]:
    """Rate-ratio interval inverting the quasi-Poisson score test (closed form; φ = 1 is the Poisson score CI)."""
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    f = validate.positive("phi", phi)
    n = x1 + x0
    if n == 0:
        return 0.0, math.inf
    c = stats.norm.isf(a / 2) ** 2 * f
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
            + ("" if self.exposure_ratio == 1 else f" (exposure ratio {self.exposure_ratio:.4g})")
            + f": rate ratio {fmt_num(self.estimate)} ({level:g}% CI {fmt_num(self.ci[0])} to "
            f"{fmt_num(self.ci[1])}), change {fmt_pct(self.pct_change)} ({_pct_text(self.ci)}), "
            f"{fmt_p(self.p_value)} (mid-p {fmt_num(self.p_midp, 3)}, score {fmt_num(self.p_score, 3)}): "
        )
        lo_k, hi_k = self.x1_thresholds
        if self.significant:
            s += f"significant at {self.alpha:g}. It would stop being significant "
            if self.phi_flip is not None:
                s += f"if the counts were over-dispersed with φ ≥ {self.phi_flip:.3g} (quasi-Poisson score test), or "
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
    """Compare a current count x1 with a previous count x0 (exposure ratio T1/T0): rate ratio, exact conditional
    CI and p (R poisson.test), mid-p and score p, and what would flip the conclusion."""
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
            f"{self.method} with φ = {self.phi:g}: rate ratio {fmt_num(self.estimate)} ({level:g}% CI "
            f"{fmt_num(self.ci[0])} to {fmt_num(self.ci[1])}; {_pct_text(self.ci)}), z = {self.z:.3f}, "
            f"{fmt_p(self.p_value)}: {'significant' if sig else 'not significant'} at {self.alpha:g}. "
            + (
                f"A dispersion above φ = {(self.z / stats.norm.isf(self.alpha / 2)) ** 2 * self.phi:.3g} "
                "would make it non-significant."
                if sig
                else "Larger φ only raises p; a smaller φ or larger counts would be needed for significance."
            )
        )


def compare_overdispersed(x1, x0, phi=1.0, exposure_ratio=1.0, alpha=0.05) -> OverdispersedComparison:
    """Score test and score CI for the rate ratio with variance inflated by φ (quasi-Poisson); φ = 1 is Poisson."""
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
class DispersionFlip(Result):
    """The dispersion φ at which the quasi-Poisson score p-value reaches alpha (None: not significant at φ=1)."""

    x1: int
    x0: int
    exposure_ratio: float
    alpha: float
    p_at_phi1: float
    phi_flip: float | None
    method: str = QUASI_SCORE

    @property
    def verdict(self) -> str:
        head = f"{self.method}, {self.x1} vs {self.x0}: at φ = 1 {fmt_p(self.p_at_phi1)}; "
        if self.phi_flip is None:
            return head + (
                f"not significant at {self.alpha:g} even without over-dispersion, so no φ ≥ 1 can make it "
                "significant."
            )
        return head + (
            f"significance at {self.alpha:g} survives only while φ < {self.phi_flip:.4g}; an estimated "
            "dispersion at or above that overturns it."
        )


def dispersion_to_flip(x1, x0, exposure_ratio=1.0, alpha=0.05) -> DispersionFlip:
    """Find the φ at which the quasi-Poisson score p-value crosses alpha (brentq); None if p(φ=1) >= alpha."""
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    p1 = score_pvalue(x1, x0, e, 1.0)
    flip = None
    if p1 < a:

        def f(ph):
            return score_pvalue(x1, x0, e, ph) - a

        hi = 2.0
        while f(hi) < 0:
            hi *= 2
        flip = float(optimize.brentq(f, 1.0, hi, xtol=1e-12, rtol=1e-12))
    return DispersionFlip(x1=x1, x0=x0, exposure_ratio=e, alpha=a, p_at_phi1=p1, phi_flip=flip)


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

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame: phi, p_value, significant."""
        p = np.asarray(self.p_values)
        return pd.DataFrame({"phi": self.phis, "p_value": p, "significant": p <= self.alpha})

    @property
    def verdict(self) -> str:
        rows = ", ".join(f"φ={f:g}: {fmt_num(p, 3)}" for f, p in zip(self.phis, self.p_values, strict=True))
        tail = (
            "not significant at any φ ≥ 1"
            if self.phi_flip is None
            else f"significant at {self.alpha:g} only for φ < {self.phi_flip:.3g}"
        )
        return (
            f"{self.method} p-values for {self.x1} vs {self.x0} ({rows}; exact conditional at φ=1: "
            f"{fmt_num(self.p_exact, 3)}): {tail}."
        )


def dispersion_table(x1, x0, exposure_ratio=1.0, phis=DEFAULT_PHIS, alpha=0.05) -> DispersionTable:
    """p-values of the comparison across dispersions φ, to show how much over-dispersion the conclusion tolerates."""
    x1, x0, e, a = _args(x1, x0, exposure_ratio, alpha)
    phis = tuple(validate.positive(f"phis[{i}]", f) for i, f in enumerate(phis))
    if not phis:
        raise ValueError(f"phis must be a non-empty sequence of dispersions, got {phis!r}")
    return DispersionTable(
        x1=x1,
        x0=x0,
        exposure_ratio=e,
        alpha=a,
        phis=phis,
        p_values=tuple(score_pvalue(x1, x0, e, f) for f in phis),
        p_exact=exact_pvalue(x1, x0, e),
        phi_flip=dispersion_to_flip(x1, x0, e, a).phi_flip,
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
        what = f"{self.method} (φ = {self.phi:g})" if self.phi is not None else f"{self.method} test"
        return (
            f"{what}: change {fmt_pct(self.estimate)} ({level:g}% CI {fmt_pct(self.ci[0])} to "
            f"{fmt_pct(self.ci[1])}), {fmt_p(self.p_value)}: "
            + (
                f"significant at {self.alpha:g}; the interval excludes 0% but more dispersion would widen it."
                if sig
                else f"not significant at {self.alpha:g}; a 0% change is compatible with the counts."
            )
        )


def percent_change(x1, x0, exposure_ratio=1.0, alpha=0.05, phi=None) -> PercentChange:
    """Percent change of the rate from x0 to x1 with exact conditional CI and p (or quasi-Poisson score if φ given)."""
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
