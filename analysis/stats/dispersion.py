"""Over-dispersion of an annual count series, and how to carry it to a quarter.

Two views: the quasi-Poisson dispersion φ = Pearson χ²/df of a log-linear Poisson GLM in year (variance φ·μ),
and the negative-binomial α (variance μ + α·μ²), by maximum likelihood (statsmodels' NB2 GLM, α profiled) and by
moments (α solving Pearson χ²(α) = residual df, the NB analogue of φ; MASS ``theta.mm``). Both are measured around a
straight log-linear trend, so any curvature or break in the trend is counted as dispersion.
:func:`leave_one_out_dispersion` shows how much of φ a single year carries.

References
----------
Breslow, N. E. (1984). Extra-Poisson variation in log-linear models. Applied Statistics 33, 38-44.
Saha, K. and Paul, S. (2005). Bias-corrected maximum likelihood estimator of the negative binomial dispersion
parameter. Biometrics 61, 179-185 (the ML α is biased towards 0 in small samples).
Venables, W. N. and Ripley, B. D. (2002). Modern Applied Statistics with S, 4th ed. (``MASS::theta.mm``).
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

from analysis.core import validate
from analysis.core.fmt import fmt_number, fmt_pvalue
from analysis.core.memo import array_memo
from analysis.core.results import Result

QUASI = "quasi-Poisson Pearson χ²/df (log-linear Poisson GLM in year)"
NB = "negative binomial NB2 (α by profile maximum likelihood)"
NB_MOMENTS = "negative binomial NB2 (α by moments: Pearson χ²(α) = residual df)"
_ALPHA_MIN, _ALPHA_MAX = 1e-10, 100.0


def _missing(v) -> bool:
    if v is None or v is pd.NA:
        return True
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isnan(v)


def _as_count(name: str, v) -> int:
    if isinstance(v, numbers.Real) and not isinstance(v, (bool, numbers.Integral)):
        if not math.isfinite(v) or not float(v).is_integer():
            raise ValueError(f"{name} must be a non-negative integer count, got {v!r}")
        v = int(v)  # an integer-valued float, as pandas stores a count column with gaps
    return validate.count(name, v)


def clean_series(counts, years, exposure=None, min_points=3, exposure_name="exposure"):
    """Validate an annual series; drop years whose count is missing (NaN/None) and say so.

    The remaining years are sorted in time order.

    Parameters
    ----------
    counts : sequence
        Annual counts (non-negative integers, integer-valued floats accepted); NaN/None/pd.NA mark missing
        years.
    years : sequence of float
        The years of ``counts`` (same length, finite, unique).
    exposure : sequence of float or None, default None
        Exposure of each year (same length, positive where the count is kept); None for none.
    min_points : int, default 3
        Minimum number of non-missing counts required.
    exposure_name : str, default "exposure"
        Name of the exposure argument used in error messages.

    Returns
    -------
    years : numpy.ndarray
        Years with a count, ascending.
    counts : numpy.ndarray
        Their counts, as floats.
    exposure : numpy.ndarray or None
        Their exposures, or None when none was given.
    notes : tuple of str
        A note naming the dropped years, if any.
    """
    counts, years = list(counts), list(years)
    if not counts:
        raise ValueError(f"counts must be a non-empty sequence, got {counts!r}")
    if len(years) != len(counts):
        raise ValueError(
            f"years must have the same length as counts ({len(counts)}), got length {len(years)}"
        )
    expo = None
    if exposure is not None:
        expo = list(exposure)
        if len(expo) != len(counts):
            raise ValueError(
                f"{exposure_name} must have the same length as counts ({len(counts)}), got length {len(expo)}"
            )
    ys = [validate.finite(f"years[{i}]", y) for i, y in enumerate(years)]
    if len(set(ys)) != len(ys):
        dup = sorted({y for y in ys if ys.count(y) > 1})
        raise ValueError(f"years must be unique, got duplicates {dup!r}")
    keep, dropped = [], []
    for i, v in enumerate(counts):
        (dropped if _missing(v) else keep).append(i)
    y = np.array([ys[i] for i in keep], dtype=float)
    c = np.array([_as_count(f"counts[{i}]", counts[i]) for i in keep], dtype=float)
    t = None
    if expo is not None:
        t = np.array([validate.positive(f"{exposure_name}[{i}]", expo[i]) for i in keep], dtype=float)
    if len(keep) < min_points:
        raise ValueError(
            f"counts must have at least {min_points} non-missing values, got {len(keep)} (of {len(counts)})"
        )
    notes = ()
    if dropped:
        notes = (
            f"dropped {len(dropped)} year(s) with missing counts: {', '.join(f'{ys[i]:g}' for i in dropped)}",
        )
    order = np.argsort(y)
    return y[order], c[order], (None if t is None else t[order]), notes


def design(years: np.ndarray) -> np.ndarray:
    """Intercept and year centred on its mean (the centring changes only the intercept).

    Parameters
    ----------
    years : numpy.ndarray
        The years of the series.

    Returns
    -------
    numpy.ndarray
        Design matrix of shape (n, 2): a column of ones and years minus their mean.
    """
    return np.column_stack([np.ones_like(years), years - years.mean()])


def nb_glm(counts, X, alpha, offset=None):
    """Fit the NB2 GLM (variance μ + α·μ²) at a fixed α.

    statsmodels' warning about a fixed α is silenced; α is floored at a small positive value.

    Parameters
    ----------
    counts : array_like
        Annual counts (the response).
    X : array_like
        Design matrix, e.g. from :func:`design`.
    alpha : float
        The NB2 dispersion α (>= 0).
    offset : array_like or None, default None
        Log exposure offset; None for no offset.

    Returns
    -------
    statsmodels.genmod.generalized_linear_model.GLMResults
        The fitted GLM.

    References
    ----------
    Cameron, A. C. and Trivedi, P. K. (2013). Regression Analysis of Count Data, 2nd ed. Cambridge University
        Press (NB2 model).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fam = families.NegativeBinomial(alpha=max(alpha, _ALPHA_MIN))
        return GLM(counts, X, family=fam, offset=offset).fit()


@array_memo()  # pure, and asked for the same series many times by the claims audit
def fit_nb_alpha(counts, X, offset=None) -> tuple[float, bool]:
    """NB2 α by profile maximum likelihood over GLM fits, and whether it sits at the boundary 0 (= Poisson).

    Parameters
    ----------
    counts : array_like
        Annual counts (the response).
    X : array_like
        Design matrix, e.g. from :func:`design`.
    offset : array_like or None, default None
        Log exposure offset; None for no offset.

    Returns
    -------
    alpha : float
        The maximum-likelihood α; 0.0 at the boundary.
    at_boundary : bool
        True when the likelihood is maximal as α -> 0 (the Poisson fit).

    References
    ----------
    Cameron, A. C. and Trivedi, P. K. (2013). Regression Analysis of Count Data, 2nd ed. Cambridge University
        Press (NB2 model).
    """
    lo, hi = math.log(_ALPHA_MIN), math.log(_ALPHA_MAX)

    def nll(la):
        return -nb_glm(counts, X, math.exp(la), offset).llf

    res = optimize.minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-8})
    at_boundary = nll(lo) <= res.fun + 1e-9  # the likelihood is maximal as α -> 0: the Poisson fit
    return (0.0 if at_boundary else float(math.exp(res.x))), bool(at_boundary)


@array_memo()  # pure, and asked for the same series many times by the claims audit
def fit_nb_alpha_moments(counts, X, offset=None) -> tuple[float, bool]:
    """NB2 α by moments: the α at which the Pearson χ² of the NB2 GLM equals the residual df.

    μ is refitted at each α. The NB analogue of the quasi-Poisson φ = χ²/df (Breslow 1984; ``MASS::theta.mm``
    with μ refitted).

    Parameters
    ----------
    counts : array_like
        Annual counts (the response).
    X : array_like
        Design matrix, e.g. from :func:`design`.
    offset : array_like or None, default None
        Log exposure offset; None for no offset.

    Returns
    -------
    alpha : float
        The moment estimate of α; 0.0 at the boundary.
    at_boundary : bool
        True when the Poisson fit's χ²/df is already at or below 1 (no extra-Poisson variance), so α = 0.

    References
    ----------
    Breslow, N. E. (1984). Extra-Poisson variation in log-linear models. Applied Statistics 33, 38-44.
    """
    c = np.asarray(counts, float)
    df = len(c) - np.asarray(X).shape[1]
    if df < 1:
        raise ValueError(f"counts must have more values than the model has parameters, got {len(c)}")

    def excess(a: float) -> float:
        res = GLM(c, X, family=families.Poisson(), offset=offset).fit() if a == 0 else nb_glm(c, X, a, offset)
        mu = np.asarray(res.mu)
        return float(np.sum((c - mu) ** 2 / (mu + a * mu**2))) / df - 1

    if excess(0.0) <= 0:
        return 0.0, True
    hi = 1e-6
    while excess(hi) > 0:
        hi *= 10
        if hi > _ALPHA_MAX:
            raise ValueError("counts are too over-dispersed for an NB2 α below 100 (moments)")
    return float(optimize.brentq(excess, _ALPHA_MIN, hi, xtol=1e-14, rtol=1e-12)), False


@dataclass(frozen=True)
class DispersionEstimate(Result):
    """Quasi-Poisson φ (Pearson χ²/df) with a χ² interval and test of φ = 1, plus the NB α view."""

    years: tuple[float, ...]
    n_years: int
    df_resid: int
    alpha: float
    estimate: float
    ci: tuple[float, float]
    p_value: float
    phi_deviance: float
    mean_count: float
    nb_alpha: float
    nb_at_boundary: bool
    nb_phi_at_mean: float
    notes: tuple[str, ...]
    method: str = QUASI
    assumptions: str = (
        "log-linear trend in year (misfit counts as dispersion); years independent; "
        "interval from Pearson χ²/φ ~ χ²(df), approximate for small counts"
    )

    @property
    def verdict(self) -> str:
        level = round(100 * (1 - self.alpha), 6)
        evident = self.p_value <= self.alpha
        p = fmt_pvalue(self.p_value)
        return (
            f"{self.method}: φ = {fmt_number(self.estimate)} ({level:g}% CI {fmt_number(self.ci[0])} to "
            f"{fmt_number(self.ci[1])}) on {self.df_resid} df; test of φ = 1: p {'' if p.startswith('<') else '= '}{p}, "
            f"so over-dispersion is {'' if evident else 'not '}statistically evident. {NB[0].upper() + NB[1:]}: α = "
            f"{fmt_number(self.nb_alpha)}, i.e. φ ≈ {fmt_number(self.nb_phi_at_mean)} at the mean count "
            f"{fmt_number(self.mean_count, 4)}. Poisson p-values should be read with φ in that range; a break or "
            "curve in the trend would inflate φ, a better trend model would shrink it."
        )


def estimate_dispersion(counts, years, exposure=None, alpha=0.05) -> DispersionEstimate:
    """Estimate over-dispersion of an annual series around a log-linear trend.

    Quasi-Poisson φ (Pearson χ²/df of the Poisson trend fit) with a χ² interval and test of φ = 1, and the NB2
    α by
    profile likelihood, so that Poisson-based tests of single changes can be inflated honestly.

    Parameters
    ----------
    counts : sequence
        Annual counts (missing years are dropped, see :func:`clean_series`).
    years : sequence of float
        The years of ``counts``.
    exposure : sequence of float or None, default None
        Exposure of each year (log offset); None for none.
    alpha : float, default 0.05
        Two-sided error rate of the interval for φ, in (0, 1).

    Returns
    -------
    DispersionEstimate
        φ as ``estimate`` with ``ci`` and ``p_value`` (χ² test of φ = 1), ``phi_deviance``, ``df_resid``,
        ``nb_alpha`` (and whether it is at the boundary), ``nb_phi_at_mean`` = 1 + α·mean and ``notes``.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    Cameron, A. C. and Trivedi, P. K. (2013). Regression Analysis of Count Data, 2nd ed. Cambridge University
        Press (NB2 model).
    """
    a = validate.alpha("alpha", alpha)
    y, c, t, notes = clean_series(counts, years, exposure)
    X = design(y)
    off = None if t is None else np.log(t)
    res = GLM(c, X, family=families.Poisson(), offset=off).fit()
    df = int(round(res.df_resid))
    x2 = float(res.pearson_chi2)
    phi = x2 / df
    alpha_nb, boundary = fit_nb_alpha(c, X, off)
    if boundary:
        notes = notes + ("NB α at its boundary 0: no extra-Poisson variance of the NB2 form",)
    mu = np.asarray(res.mu)
    return DispersionEstimate(
        years=tuple(float(v) for v in y),
        n_years=len(y),
        df_resid=df,
        alpha=a,
        estimate=phi,
        ci=(x2 / stats.chi2.ppf(1 - a / 2, df), x2 / stats.chi2.ppf(a / 2, df)),
        p_value=float(stats.chi2.sf(x2, df)),
        phi_deviance=float(res.deviance) / df,
        mean_count=float(c.mean()),
        nb_alpha=alpha_nb,
        nb_at_boundary=boundary,
        nb_phi_at_mean=1 + alpha_nb * float(mu.mean()),
        notes=notes,
    )


@dataclass(frozen=True)
class QuarterlyDispersion(Result):
    """Quarterly φ implied by an annual dispersion under the quasi-Poisson and the NB assumption."""

    phi_annual: float
    annual_mean: float
    quarterly_mean: float
    nb_alpha: float
    alpha_source: str
    phi_quasi_poisson: float
    phi_negbin: float
    method: str = "carry annual dispersion to a quarter"
    assumptions: str = (
        "quasi-Poisson: extra variance proportional to the mean (or independent quarter-level shocks), so φ is "
        "the same for any period length; NB: variance μ + α·μ² with the same α at both scales (a rate shock "
        "shared by the whole year), so φ_q = 1 + α·μ_q is smaller than the annual φ"
    )

    @property
    def verdict(self) -> str:
        return (
            f"Annual φ = {fmt_number(self.phi_annual)} carried to a period with mean "
            f"{fmt_number(self.quarterly_mean, 4)}: φ_q = {fmt_number(self.phi_quasi_poisson)} if the extra variance is "
            f"proportional to the mean (quasi-Poisson), φ_q = {fmt_number(self.phi_negbin)} under NB with α = "
            f"{fmt_number(self.nb_alpha)} ({self.alpha_source}). Report results across "
            f"[{fmt_number(min(self.phi_negbin, self.phi_quasi_poisson))}, "
            f"{fmt_number(max(self.phi_negbin, self.phi_quasi_poisson))}]; which end applies depends on whether "
            "the shocks are year-wide or quarter-specific."
        )


def quarterly_phi(phi_annual, annual_mean, quarterly_mean=None, nb_alpha=None) -> QuarterlyDispersion:
    """Quarterly dispersion from an annual one under both variance models (φ·μ and μ + α·μ²), for sensitivity.

    Quasi-Poisson keeps φ at any period length; NB2 gives φ_q = 1 + α·μ_q.

    Parameters
    ----------
    phi_annual : float
        Annual dispersion φ (positive).
    annual_mean : float
        Mean annual count (positive).
    quarterly_mean : float or None, default None
        Mean count of the shorter period (positive); None for ``annual_mean``/4.
    nb_alpha : float or None, default None
        NB2 α; None matches it to the annual φ at the annual mean: α = (φ - 1)/μ_annual, floored at 0.

    Returns
    -------
    QuarterlyDispersion
        ``phi_quasi_poisson`` and ``phi_negbin`` for the shorter period, with the ``nb_alpha`` used and its
        ``alpha_source``.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    Cameron, A. C. and Trivedi, P. K. (2013). Regression Analysis of Count Data, 2nd ed. Cambridge University
        Press (NB2 model).
    """
    f = validate.positive("phi_annual", phi_annual)
    m = validate.positive("annual_mean", annual_mean)
    q = m / 4 if quarterly_mean is None else validate.positive("quarterly_mean", quarterly_mean)
    if nb_alpha is None:
        a = max(0.0, (f - 1) / m)
        src = "matched to the annual φ at the annual mean" + (" (φ < 1: floored at 0)" if f < 1 else "")
    else:
        a = validate.finite("nb_alpha", nb_alpha)
        if a < 0:
            raise ValueError(f"nb_alpha must be >= 0, got {nb_alpha!r}")
        src = "given"
    return QuarterlyDispersion(
        phi_annual=f,
        annual_mean=m,
        quarterly_mean=q,
        nb_alpha=a,
        alpha_source=src,
        phi_quasi_poisson=f,
        phi_negbin=1 + a * q,
    )


@dataclass(frozen=True)
class NegBinDispersion(Result):
    """NB2 α of an annual series by maximum likelihood and by moments, and the φ each implies at a given mean."""

    n_years: int
    df_resid: int
    alpha_ml: float
    alpha_moments: float
    ml_at_boundary: bool
    moments_at_boundary: bool
    mean_count: float
    headline: str = "moments"
    method: str = f"{NB}; {NB_MOMENTS}"
    assumptions: str = ("variance μ + α·μ² around a log-linear trend in year; years independent; with about ten "
                        "years the ML α is biased towards 0 (Saha & Paul 2005), so the moment α is the headline: it "
                        "uses the same Pearson principle as the quasi-Poisson φ")

    @property
    def estimate(self) -> float:
        """The headline α (moments)."""
        return self.alpha_moments if self.headline == "moments" else self.alpha_ml

    def phi_at(self, mean: float, which: str = "moments") -> float:
        """φ = 1 + α·mean: the variance / mean ratio the NB model implies for a count with this mean.

        Parameters
        ----------
        mean : float
            Expected count (positive), e.g. a quarter's mean rather than the annual one.
        which : {"moments", "ml"}, default "moments"
            Which α to use: the moment estimate (the headline) or the maximum-likelihood one.

        Returns
        -------
        float
            The implied dispersion φ (at least 1).

        Raises
        ------
        ValueError
            If ``which`` is not one of the two or ``mean`` is not positive.
        """
        validate.one_of("which", which, ("moments", "ml"))
        m = validate.positive("mean", mean)
        return 1 + (self.alpha_moments if which == "moments" else self.alpha_ml) * m

    @property
    def verdict(self) -> str:
        return (f"NB2 α by moments {fmt_number(self.alpha_moments)} (φ ≈ {fmt_number(self.phi_at(self.mean_count))} at "
                f"the mean count {fmt_number(self.mean_count, 4)}), by maximum likelihood {fmt_number(self.alpha_ml)} "
                f"(φ ≈ {fmt_number(self.phi_at(self.mean_count, 'ml'))}), on {self.df_resid} residual df. The moment "
                "α is the headline: it matches the quasi-Poisson φ's Pearson principle, and the ML α is biased "
                "towards 0 with so few years.")


def negbin_dispersion(counts, years, exposure=None) -> NegBinDispersion:
    """NB2 α around a log-linear trend by maximum likelihood and by moments (Pearson χ²(α) = residual df).

    Parameters
    ----------
    counts, years : sequences
        The annual series (missing counts dropped, as :func:`clean_series`).
    exposure : sequence, optional
        Exposures (log offset).

    Returns
    -------
    NegBinDispersion

    References
    ----------
    Breslow (1984); Saha & Paul (2005); Venables & Ripley (2002), ``MASS::theta.mm``.
    """
    y, c, t, _ = clean_series(counts, years, exposure)
    X = design(y)
    off = None if t is None else np.log(t)
    a_ml, b_ml = fit_nb_alpha(c, X, off)
    a_mm, b_mm = fit_nb_alpha_moments(c, X, off)
    return NegBinDispersion(n_years=len(y), df_resid=len(y) - 2, alpha_ml=a_ml, alpha_moments=a_mm,
                            ml_at_boundary=b_ml, moments_at_boundary=b_mm, mean_count=float(c.mean()))


@dataclass(frozen=True)
class LeaveOneOutDispersion(Result):
    """Quasi-Poisson φ recomputed with each year left out in turn: how much of φ one year carries."""

    years: tuple[int, ...]
    estimate: float
    df_resid: int
    phi_without: tuple[float, ...]
    method: str = f"leave-one-year-out {QUASI}"

    @property
    def range(self) -> tuple[float, float]:
        return float(min(self.phi_without)), float(max(self.phi_without))

    @property
    def most_influential(self) -> int:
        """The year whose removal moves φ the most."""
        i = int(np.argmax(np.abs(np.asarray(self.phi_without) - self.estimate)))
        return self.years[i]

    def without(self, year: int) -> float:
        """φ with one year left out.

        Parameters
        ----------
        year : int
            One of ``years``.

        Returns
        -------
        float
            The quasi-Poisson φ of the series without ``year`` (on ``df_resid`` - 1 df).

        Raises
        ------
        ValueError
            Naming ``year``, if it is not one of ``years``.
        """
        validate.one_of("year", int(year), self.years)
        return self.phi_without[self.years.index(int(year))]

    def to_frame(self) -> pd.DataFrame:
        """One row per left-out year: year, phi (on df_resid - 1 df), change from all years.

        Returns
        -------
        pandas.DataFrame
            Columns ``year``, ``phi`` (φ without that year), ``df`` (its residual df, ``df_resid`` - 1) and
            ``change`` (``phi`` minus the φ of all years).
        """
        return pd.DataFrame({"year": self.years, "phi": self.phi_without, "df": self.df_resid - 1,
                             "change": np.asarray(self.phi_without) - self.estimate})

    @property
    def verdict(self) -> str:
        lo, hi = self.range
        y = self.most_influential
        return (f"{self.method}: φ = {fmt_number(self.estimate)} with all {len(self.years)} years; leaving one year "
                f"out gives {fmt_number(lo)} to {fmt_number(hi)}; {y} carries the most (φ = "
                f"{fmt_number(self.without(y))} without it).")


def leave_one_out_dispersion(counts, years, exposure=None) -> LeaveOneOutDispersion:
    """Quasi-Poisson φ with each year of the series left out in turn (Cook's-distance-style influence).

    Parameters
    ----------
    counts, years : sequences
        The annual series; at least 4 non-missing years (3 remain when one is left out).
    exposure : sequence, optional
        Exposures (log offset).

    Returns
    -------
    LeaveOneOutDispersion
    """
    y, c, t, _ = clean_series(counts, years, exposure, min_points=4)
    off = None if t is None else np.log(t)
    full = _pearson_phi(c, design(y), off)
    phis = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        phis.append(_pearson_phi(c[keep], design(y[keep]), None if off is None else off[keep]))
    return LeaveOneOutDispersion(years=tuple(int(v) for v in y), estimate=full, df_resid=len(y) - 2,
                                 phi_without=tuple(phis))


def _pearson_phi(c, X, offset=None) -> float:
    """Pearson χ²/df of the Poisson GLM (the quasi-Poisson φ of :func:`estimate_dispersion`, without the NB fit)."""
    res = GLM(c, X, family=families.Poisson(), offset=offset).fit()
    return float(res.pearson_chi2) / float(res.df_resid)
