"""How complete is injury registration? The non-fatal to fatal ratio, its trend, and what a drift would do.

Deaths are the best-registered outcome: a system that misses non-fatal injuries records few of them per death.
With ``f`` deaths among ``n`` registered injured (deaths included), the fatal share is ``s = f / n`` and the
non-fatal to fatal ratio is ``R = (n - f) / f = (1 - s) / s``.

- **Interval.** Given ``n``, ``f`` is binomial: the exact (Clopper–Pearson) interval of ``s`` maps to an exact
  interval of ``R`` through the decreasing map ``s -> (1 - s) / s``. It is the exact conditional interval of a ratio
  of two Poisson means, so the ratio is computed by :func:`analysis.stats.compare.exact_ratio_ci` (one home).
- **Trend.** A logistic GLM of the fatal share on the year, ``logit(s_t) = a + b (t - t̄)``, fitted by statsmodels
  as a binomial GLM (dispersion 1) and as a quasi-binomial GLM (dispersion φ = Pearson χ²/df, Student t on the
  residual df, as R's ``quasibinomial``). Since ``log R = -logit(s)``, the ratio changes by ``exp(-b) - 1`` a year.
- **Drift.** If deaths are completely registered and the true mix of non-fatal and fatal injuries is constant, a
  change in ``R`` is a change in the completeness of non-fatal registration. A drift ``d`` (fraction) in that
  completeness over a claim's span, with nothing else changing, moves the registered count (deaths included) by
  ``(1 - s0) d``, where ``s0`` is the fatal share at the start: :func:`drift_change`. :func:`drift_sensitivity`
  sets a claimed change against the drift a trend allows.

References
----------
Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the case of the
binomial. Biometrika 26, 404–413.
McCullagh, P., & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., ch. 4 (binomial data, over-dispersion).
Eurostat, Accidents at work statistics (the non-fatal to fatal contrast as an under-reporting signal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats.contingency import odds_ratio
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.stats.proportion import proportion_confint

from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_interval, fmt_number, fmt_percent, fmt_pvalue
from analysis.core.results import Result
from analysis.stats.compare import exact_ratio_ci

CLOPPER_PEARSON = "exact binomial (Clopper–Pearson) interval of the fatal share, mapped to the ratio"
MODELS = {
    "binomial": "binomial logistic GLM of the fatal share on the year (dispersion 1)",
    "quasi-binomial": "quasi-binomial logistic GLM of the fatal share on the year (dispersion φ = Pearson χ²/df, "
                      "t on the residual df)",
}
DRIFT_ASSUMPTIONS = ("deaths are completely registered; the true mix of non-fatal and fatal injuries is constant, "
                     "so a change in the non-fatal to fatal ratio is a change in the completeness of non-fatal "
                     "registration")


def _level(alpha: float) -> float:
    return round(100 * (1 - alpha), 6)


def _counts(fatal, total, name_fatal: str = "fatal", name_total: str = "total") -> tuple[int, int]:
    f = validate.count(name_fatal, fatal)
    n = validate.count(name_total, total)
    if f > n:
        raise ValueError(f"{name_fatal} must not exceed {name_total} ({n}): the deaths are part of the registered "
                         f"injured, got {f}")
    if n == 0:
        raise ValueError(f"{name_total} must be positive (no injuries registered, no share), got 0")
    return f, n


# --------------------------------------------------------------------------------------------- one period
@dataclass(frozen=True)
class FatalShare(Result):
    """Deaths among the registered injured of one period: fatal share and non-fatal to fatal ratio, exact CIs."""

    fatal: int
    total: int
    alpha: float
    estimate: float  # fatal share
    ci: tuple[float, float]
    ratio: float  # non-fatal per death
    ratio_ci: tuple[float, float]
    method: str = CLOPPER_PEARSON
    assumptions: str = "the deaths are a binomial draw from the registered injured (fixed total)"

    @property
    def nonfatal(self) -> int:
        return self.total - self.fatal

    @property
    def verdict(self) -> str:
        return (f"{fmt_count(self.fatal)} deaths among {fmt_count(self.total)} registered injured: fatal share "
                f"{fmt_percent(100 * self.estimate, signed=False)} "
                f"({fmt_interval(100 * self.ci[0], 100 * self.ci[1], '%', _level(self.alpha)).replace('+', '')}), "
                f"{fmt_number(self.ratio)} non-fatal injuries per death "
                f"({fmt_interval(*self.ratio_ci, level=_level(self.alpha))}; {self.method}).")


def fatal_share(fatal, total, alpha=0.05) -> FatalShare:
    """Fatal share ``fatal / total`` and the non-fatal to fatal ratio, with exact (Clopper–Pearson) intervals.

    Parameters
    ----------
    fatal : int
        Deaths registered in the period.
    total : int
        People registered injured in the period, deaths included (Ministry "injured", BNS "victims").
    alpha : float
        1 - confidence level.

    Returns
    -------
    FatalShare
        ``estimate``/``ci`` for the share, ``ratio``/``ratio_ci`` for ``(total - fatal) / fatal``.

    References
    ----------
    Clopper & Pearson (1934); the ratio interval is :func:`analysis.stats.compare.exact_ratio_ci`.
    """
    f, n = _counts(fatal, total)
    a = validate.alpha("alpha", alpha)
    lo, hi = proportion_confint(f, n, alpha=a, method="beta")
    lo = 0.0 if f == 0 else float(lo)
    hi = 1.0 if f == n else float(hi)
    ratio = math.inf if f == 0 else (n - f) / f
    return FatalShare(fatal=f, total=n, alpha=a, estimate=f / n, ci=(lo, hi), ratio=ratio,
                      ratio_ci=exact_ratio_ci(n - f, f, 1.0, a))


# --------------------------------------------------------------------------------------------- two periods
@dataclass(frozen=True)
class RatioChange(Result):
    """Change of the non-fatal to fatal ratio between two periods (an odds ratio of a 2×2 table)."""

    fatal0: int
    total0: int
    fatal1: int
    total1: int
    alpha: float
    estimate: float  # percent change of the ratio, sample value (R1 / R0 - 1)
    ci: tuple[float, float]  # percent, exact conditional
    conditional_mle: float  # percent, the conditional maximum-likelihood odds ratio
    p_value: float
    method: str = ("ratio of the two non-fatal to fatal ratios (sample odds ratio); exact conditional (Fisher/"
                   "Cornfield) interval and p-value, scipy.stats.contingency.odds_ratio")

    @property
    def verdict(self) -> str:
        return (f"The non-fatal to fatal ratio changed {fmt_percent(self.estimate)} "
                f"({fmt_interval(*self.ci, '%', _level(self.alpha))}, exact conditional), p = "
                f"{fmt_pvalue(self.p_value)}.")


def ratio_change(fatal0, total0, fatal1, total1, alpha=0.05) -> RatioChange:
    """Percent change of the non-fatal to fatal ratio from period 0 to period 1, with an exact interval.

    Parameters
    ----------
    fatal0, total0, fatal1, total1 : int
        Deaths and registered injured (deaths included) in each period.
    alpha : float
        1 - confidence level.

    Returns
    -------
    RatioChange

    References
    ----------
    Fisher's exact test and Cornfield's conditional interval for the odds ratio, as R's ``fisher.test``.
    """
    f0, n0 = _counts(fatal0, total0, "fatal0", "total0")
    f1, n1 = _counts(fatal1, total1, "fatal1", "total1")
    a = validate.alpha("alpha", alpha)
    table = np.array([[n1 - f1, f1], [n0 - f0, f0]])
    res = odds_ratio(table, kind="conditional")
    lo, hi = res.confidence_interval(confidence_level=1 - a)
    sample = ((n1 - f1) / f1) / ((n0 - f0) / f0) if f1 and f0 and n0 > f0 else math.nan
    p = float(stats.fisher_exact(table).pvalue)
    return RatioChange(fatal0=f0, total0=n0, fatal1=f1, total1=n1, alpha=a, estimate=100 * (sample - 1),
                       ci=(100 * (float(lo) - 1), 100 * (float(hi) - 1)),
                       conditional_mle=100 * (float(res.statistic) - 1), p_value=p)


# --------------------------------------------------------------------------------------------- trend
@dataclass(frozen=True)
class ShareTrend(Result):
    """Logistic trend of the fatal share over years; the ratio's annual percent change with its interval."""

    years: tuple[int, ...]
    fatal: tuple[int, ...]
    total: tuple[int, ...]
    alpha: float
    centre: float  # the year the intercept refers to (mean of the years)
    intercept: float
    beta: float  # logit slope per year (fatal share)
    se_binomial: float
    se_quasi: float
    dispersion: float  # Pearson χ²/df
    df_resid: int
    model: str  # the model the headline uses: quasi-binomial when φ > 1, else binomial
    se: float
    estimate: float  # annual percent change of the non-fatal to fatal ratio, 100 (exp(-beta) - 1)
    ci: tuple[float, float]
    p_value: float
    ci_binomial: tuple[float, float]
    p_value_binomial: float
    ci_quasi: tuple[float, float]
    p_value_quasi: float
    fitted: tuple[float, ...]  # fitted fatal shares
    method: str
    assumptions: str = ("logit of the fatal share linear in the year; years independent; the binomial variance "
                        "times φ (quasi-binomial)")

    @property
    def crit(self) -> float:
        q = 1 - self.alpha / 2
        return float(stats.t.ppf(q, self.df_resid) if self.model == "quasi-binomial" else stats.norm.ppf(q))

    def predict(self, years) -> pd.DataFrame:
        """Fitted fatal share and non-fatal to fatal ratio at ``years``, with the (1 - alpha) interval of the mean.

        The interval is a Wald interval on the logit scale, from the fit's covariance (times φ for the
        quasi-binomial model) with a t reference on ``df_resid`` df for the quasi-binomial model and a normal one
        for the binomial, transformed to the share and the ratio.

        Parameters
        ----------
        years : array_like of float
            Years to predict at (any, not only the fitted ones).

        Returns
        -------
        pandas.DataFrame
            One row per year: ``year``, the fitted fatal ``share`` with ``share_low``/``share_high``, and the
            non-fatal to fatal ``ratio`` (exp(-logit)) with ``ratio_low``/``ratio_high``.
        """
        t = np.asarray(years, dtype=float) - self.centre
        eta = self.intercept + self.beta * t
        cov = self._cov()
        se = np.sqrt(cov[0, 0] + 2 * t * cov[0, 1] + t * t * cov[1, 1])
        lo, hi = eta - self.crit * se, eta + self.crit * se
        share = 1 / (1 + np.exp(-eta))
        share_lo, share_hi = 1 / (1 + np.exp(-lo)), 1 / (1 + np.exp(-hi))
        return pd.DataFrame({"year": np.asarray(years), "share": share, "share_low": share_lo,
                             "share_high": share_hi, "ratio": np.exp(-eta), "ratio_low": np.exp(-hi),
                             "ratio_high": np.exp(-lo)})

    def _cov(self) -> np.ndarray:
        scale = self.dispersion if self.model == "quasi-binomial" else 1.0
        return _binomial_fit(self.fatal, self.total, self.years, self.centre).cov_params() * scale

    @property
    def verdict(self) -> str:
        sig = self.p_value <= self.alpha
        y0, y1 = self.years[0], self.years[-1]
        model = MODELS[self.model][0].upper() + MODELS[self.model][1:]
        return (f"{model}, {y0}–{y1} ({len(self.years)} years): the non-fatal to fatal ratio changes "
                f"{fmt_percent(self.estimate)} a year ({fmt_interval(*self.ci, '%', _level(self.alpha))}), p = "
                f"{fmt_pvalue(self.p_value)}: {'a' if sig else 'no'} statistically clear trend at "
                f"{self.alpha:g}. Dispersion φ = {fmt_number(self.dispersion)} (Pearson χ²/df on "
                f"{self.df_resid} df); binomial fit: {fmt_percent(self.ci_binomial[0])} to "
                f"{fmt_percent(self.ci_binomial[1])}, p = {fmt_pvalue(self.p_value_binomial)}.")


def _binomial_fit(fatal, total, years, centre, scale=None):
    f = np.asarray(fatal, dtype=float)
    n = np.asarray(total, dtype=float)
    X = np.column_stack([np.ones(len(f)), np.asarray(years, dtype=float) - centre])
    model = GLM(np.column_stack([f, n - f]), X, family=families.Binomial())
    return model.fit() if scale is None else model.fit(scale=scale)


def share_trend(fatal, total, years, alpha=0.05) -> ShareTrend:
    """Trend of the fatal share (and so of the non-fatal to fatal ratio) over years: binomial and quasi-binomial.

    Parameters
    ----------
    fatal, total : sequence of int
        Deaths and registered injured (deaths included) per year.
    years : sequence of int
        The years (at least three, distinct).
    alpha : float
        1 - confidence level.

    Returns
    -------
    ShareTrend
        ``estimate``/``ci``/``p_value`` of the annual percent change of the ratio under the model used: the
        quasi-binomial fit when its dispersion exceeds 1, else the binomial fit (under-dispersion is not used to
        narrow an interval). Both fits are kept (``ci_binomial``, ``ci_quasi``).

    References
    ----------
    McCullagh & Nelder (1989), section 4.5 (over-dispersion). φ is the binomial fit's ``pearson_chi2 / df_resid``,
    as statsmodels' ``GLM(f / n, X, family=Binomial(), var_weights=n).fit(scale="X2")`` (with a two-column endog
    statsmodels 0.15 reports that scale divided by n, so it is not used).
    """
    a = validate.alpha("alpha", alpha)
    f = [validate.count(f"fatal[{i}]", v) for i, v in enumerate(fatal)]
    n = [validate.count(f"total[{i}]", v) for i, v in enumerate(total)]
    y = [int(validate.finite(f"years[{i}]", v)) for i, v in enumerate(years)]
    if not len(f) == len(n) == len(y):
        raise ValueError(f"fatal, total and years must have the same length, got {len(f)}, {len(n)}, {len(y)}")
    if len(set(y)) != len(y):
        raise ValueError(f"years must be distinct, got {y}")
    if len(y) < 3:
        raise ValueError(f"years must hold at least three years for a trend with a dispersion, got {len(y)}")
    for i, (fi, ni) in enumerate(zip(f, n)):
        _counts(fi, ni, f"fatal[{i}]", f"total[{i}]")
    order = np.argsort(y)
    f, n, y = ([v[i] for i in order] for v in (f, n, y))
    centre = float(np.mean(y))
    res = _binomial_fit(f, n, y, centre)
    df = int(round(res.df_resid))
    phi = float(res.pearson_chi2 / df)
    beta, se_b = float(res.params[1]), float(res.bse[1])
    se_q = se_b * math.sqrt(phi)

    def summary(se, df=None):  # df None: normal; else Student t (distribution functions, not frozen: faster)
        crit = float(stats.norm.ppf(1 - a / 2) if df is None else stats.t.ppf(1 - a / 2, df))
        tail = (stats.norm.sf(abs(beta / se)) if df is None else stats.t.sf(abs(beta / se), df)) if se > 0 else None
        p = float(2 * tail) if tail is not None else (0.0 if beta else 1.0)
        # the ratio moves as exp(-beta): its lower limit comes from the upper limit of beta
        return (100 * math.expm1(-(beta + crit * se)), 100 * math.expm1(-(beta - crit * se))), p

    ci_b, p_b = summary(se_b)
    ci_q, p_q = summary(se_q, df)
    model = "quasi-binomial" if phi > 1 else "binomial"
    ci, p, se = (ci_q, p_q, se_q) if model == "quasi-binomial" else (ci_b, p_b, se_b)
    return ShareTrend(years=tuple(y), fatal=tuple(f), total=tuple(n), alpha=a, centre=centre,
                      intercept=float(res.params[0]), beta=beta, se_binomial=se_b, se_quasi=se_q, dispersion=phi,
                      df_resid=df, model=model, se=se, estimate=100 * math.expm1(-beta), ci=ci, p_value=p,
                      ci_binomial=ci_b, p_value_binomial=p_b, ci_quasi=ci_q, p_value_quasi=p_q,
                      fitted=tuple(float(v) for v in res.fittedvalues), method=MODELS[model])


# --------------------------------------------------------------------------------------------- drift
def drift_change(drift_pct_per_year, span_years, base_fatal_share) -> float:
    """Percent change of the registered count (deaths included) produced by a completeness drift alone.

    ``100 (1 - s0) ((1 + d/100)^k - 1)`` for an annual drift ``d`` percent over ``k`` years from fatal share
    ``s0``
    (only non-fatal registration drifts; deaths are taken as completely registered).

    Parameters
    ----------
    drift_pct_per_year : float
        Annual drift d of non-fatal registration completeness, in percent (> -100).
    span_years : float
        Number of years k the drift acts over (positive).
    base_fatal_share : float
        Share s0 of deaths in the registered count at the start, in [0, 1].

    Returns
    -------
    float
        Percent change of the registered count over the span.
    """
    d = validate.finite("drift_pct_per_year", drift_pct_per_year)
    k = validate.positive("span_years", span_years)
    s0 = validate.finite("base_fatal_share", base_fatal_share)
    if not 0 <= s0 <= 1 or d <= -100:
        raise ValueError(f"base_fatal_share must be in [0, 1] and drift_pct_per_year > -100, got {s0!r}, {d!r}")
    return 100 * (1 - s0) * ((1 + d / 100) ** k - 1)


def break_even_drift(claimed_change_pct, span_years, base_fatal_share) -> float | None:
    """The annual completeness drift (percent) that alone produces ``claimed_change_pct`` over ``span_years``.

    Inverse of :func:`drift_change`: ``100 ((1 + c/100/(1 - s0))^(1/k) - 1)``.

    Parameters
    ----------
    claimed_change_pct : float
        The claimed percent change of the registered count.
    span_years : float
        Number of years k the change covers (positive).
    base_fatal_share : float
        Share s0 of deaths in the registered count at the start, in [0, 1).

    Returns
    -------
    float or None
        Annual drift in percent; None when no drift of non-fatal registration can produce the change (it needs
        more than the non-fatal part).
    """
    c = validate.pct_change("claimed_change_pct", claimed_change_pct)
    k = validate.positive("span_years", span_years)
    s0 = validate.finite("base_fatal_share", base_fatal_share)
    if not 0 <= s0 < 1:
        raise ValueError(f"base_fatal_share must be in [0, 1), got {s0!r}")
    base = 1 + c / 100 / (1 - s0)
    return None if base <= 0 else 100 * (base ** (1 / k) - 1)


@dataclass(frozen=True)
class DriftScenario:
    """One drift: its annual rate, the drift over the span, the change it alone produces, the share explained."""

    name: str
    drift_pct_per_year: float
    drift_pct_over_span: float
    produced_change_pct: float
    share_explained_pct: float  # produced / claimed; negative: the drift would hide a change, not create it


@dataclass(frozen=True)
class DriftSensitivity(Result):
    """How much of a claimed change a drift in registration completeness could explain."""

    claim: str
    claimed_change_pct: float
    span_years: float
    base_fatal_share: float
    alpha: float
    scenarios: tuple[DriftScenario, ...]
    bound: DriftScenario  # the trend's interval limit on the side that mimics the claimed change
    break_even_pct_per_year: float | None
    explained_by_bound: bool  # the drift the trend allows explains all of the claimed change
    method: str = "completeness-drift sensitivity: change produced = (1 - s0)((1 + d)^k - 1)"
    assumptions: str = DRIFT_ASSUMPTIONS

    @property
    def verdict(self) -> str:
        b = self.bound
        be = ("no drift of non-fatal registration alone could produce it" if self.break_even_pct_per_year is None
              else f"a drift of {fmt_percent(self.break_even_pct_per_year)} a year alone would produce all of it")
        span = "one year" if self.span_years == 1 else f"{self.span_years:g} years"
        return (f"{self.claim} ({fmt_percent(self.claimed_change_pct)} over {span}): {be}. The trend's {_level(self.alpha):g}% limit, {fmt_percent(b.drift_pct_per_year)} "
                f"a year, would alone change the registered count by {fmt_percent(b.produced_change_pct)}, "
                f"{fmt_percent(b.share_explained_pct, 0, signed=False)} of the claim: "
                + ("this drift alone could explain all of it." if self.explained_by_bound else
                   "not enough on its own to explain it."))


def _scenario(name: str, d: float, claimed: float, k: float, s0: float) -> DriftScenario:
    produced = drift_change(d, k, s0)
    return DriftScenario(name=name, drift_pct_per_year=d, drift_pct_over_span=100 * ((1 + d / 100) ** k - 1),
                         produced_change_pct=produced, share_explained_pct=100 * produced / claimed)


def drift_sensitivity(claim: str, claimed_change_pct, span_years, base_fatal_share, trend_estimate, trend_ci,
                      alpha=0.05, extra=(), trend_label: str = "trend") -> DriftSensitivity:
    """Set a claimed change against the completeness drift an estimated ratio trend allows.

    Parameters
    ----------
    claim : str
        The claim in words (used in the verdict).
    claimed_change_pct : float
        The published percent change of the registered count (e.g. -16.8); not 0.
    span_years : float
        Years between the two periods compared (1 for a same-quarter comparison, 4 for 2020 -> 2024).
    base_fatal_share : float
        Fatal share of the registered injured at the start of the span.
    trend_estimate, trend_ci : float, (float, float)
        Annual percent change of the non-fatal to fatal ratio and its interval (:class:`ShareTrend`).
    alpha : float
        The interval's 1 - confidence level (for the wording).
    extra : iterable of (name, drift_pct_per_year)
        Further drifts to show (e.g. the change observed between the claim's own years).
    trend_label : str
        How the scenarios name the trend (e.g. "trend 2016–2024").

    Returns
    -------
    DriftSensitivity
        One scenario per drift; ``bound`` is the interval limit on the side of the claimed change (the lower
        limit for a decline) and ``explained_by_bound`` says whether it alone produces all of the claim.
    """
    c = validate.pct_change("claimed_change_pct", claimed_change_pct)
    if c == 0:
        raise ValueError("claimed_change_pct must not be 0: there is no change to explain")
    k = validate.positive("span_years", span_years)
    s0 = validate.finite("base_fatal_share", base_fatal_share)
    a = validate.alpha("alpha", alpha)
    lo, hi = (validate.finite("trend_ci[0]", trend_ci[0]), validate.finite("trend_ci[1]", trend_ci[1]))
    point = validate.finite("trend_estimate", trend_estimate)
    level = f"{_level(a):g}%"
    towards, away = (lo, hi) if c < 0 else (hi, lo)
    side = ("lower", "upper") if c < 0 else ("upper", "lower")
    bound = _scenario(f"{trend_label}, {side[0]} {level} limit", towards, c, k, s0)
    scenarios = (_scenario(f"{trend_label}, estimate", point, c, k, s0), bound,
                 _scenario(f"{trend_label}, {side[1]} {level} limit", away, c, k, s0),
                 *(_scenario(name, validate.finite(name, d), c, k, s0) for name, d in extra))
    explained = bound.share_explained_pct >= 100
    return DriftSensitivity(claim=claim, claimed_change_pct=c, span_years=k, base_fatal_share=s0, alpha=a,
                            scenarios=scenarios, bound=bound, break_even_pct_per_year=break_even_drift(c, k, s0),
                            explained_by_bound=explained)
