"""One model of every cumulative (year-to-date) release, its projection of a year from an early count, the
shrinkage of early changes it implies, and a rolling-origin backtest.

Model
-----
Each release is a cumulative count ``C_y(m)`` of year ``y`` from January to month ``m`` (``m = 12``: the annual
total). Year ``y`` has a latent level ``Λ_y``, its expected annual count, and the cumulative count by month ``m``
has mean ``Λ_y·S(m)``, where ``S`` is a smooth cumulative seasonal curve.

* Seasonal curve. Monthly intensity ``w_k = days_k · exp(Σ_j a_j cos(2πj u_k) + b_j sin(2πj u_k))`` with
  ``u_k = (k − ½)/12`` and ``K`` harmonics (``K = 0``: uniform per calendar day), and ``S(m) = Σ_{k≤m} w_k /
  Σ_{k≤12} w_k``. So ``S(0) = 0``, ``S(12) = 1`` and ``S`` is strictly increasing for every parameter value.
* Within a year (given ``Λ_y``) the increments between consecutive published months are independent with mean
  ``Λ_y·(S(m2) − S(m1))`` and variance ``φ`` times that mean: the over-dispersed Poisson (ODP) of the
  claims-reserving literature (England & Verrall 2002), which covers clustered events (one accident, many
  injured) and year-specific seasonal wobble. ``φ`` is the Pearson χ²/df of the within-year splits (McCullagh &
  Nelder 1989, sec. 9.2), floored at 1 (Poisson), or fixed by the caller.
* Between years, ``Λ_y = μ_y·G_y`` with ``log μ_y`` polynomial (default linear) in the year and ``G_y`` gamma
  with mean 1 and variance ``τ²``: ``τ`` is the between-year coefficient of variation of the level and
  ``τ² = α`` the NB2 dispersion. On the ODP scale (counts divided by ``φ``) the year's last cumulative count is
  then negative binomial (NB2), with mean ``μ_y S(m)/φ`` and variance ``mean + τ²·mean²``, and the split of the
  year's count over its published months is multinomial (Poisson–gamma, the negative multinomial).

The quasi-log-likelihood, summed over years ``y`` with last published month ``J`` and count ``c_J``,

    ℓ = Σ_y log NB2(c_J/φ; μ_y S(m_J)/φ, τ²) + (1/φ) Σ_y Σ_j d_j log[(S(m_j) − S(m_{j−1})) / S(m_J)] + const,

minus the Cox–Reid term ``½ log det(X'WX)`` (``W = m/(1 + τ²m)``, ``m`` the NB means; see below), is
maximised over ``θ = (β, τ, a, b)`` for fixed ``φ`` (scipy BFGS with the analytic gradient), ``φ`` is updated
from the Pearson χ² of the splits, and the two steps alternate to convergence. At ``φ = 1`` and without the
Cox–Reid term (``between_method="ml"``) it is the exact log-likelihood of the Poisson–gamma model. The
covariance of ``θ`` is the inverse observed information (the numerical Jacobian of the analytic gradient,
statsmodels' ``approx_fprime``). ``τ`` enters only through ``τ²``, so the Wald approximation on ``τ`` stays
regular when the between-year variance is at its boundary 0.

Projection and shrinkage
------------------------
Gamma–Poisson conjugacy on the ODP scale gives the level of a new year ``Y`` from its count ``c`` by month ``m``
in closed form: ``Λ_Y | c ~ Gamma(shape 1/τ² + c/φ, rate 1/(τ² μ_Y) + S(m)/φ)``, whose mean is
``Z·c/S(m) + (1 − Z)·μ_Y`` with credibility weight ``Z = τ² μ_Y S(m) / (τ² μ_Y S(m) + φ)`` in ``[0, 1)``
(Bühlmann credibility; Verrall 2004 for the same construction as a Bornhuetter–Ferguson reserve). A relative
deviation ``δ`` of the year-to-date count from the model's expectation ``μ_Y S(m)`` carries to the cumulative
count at ``t`` as ``κ·δ`` with ``κ = S(m)/S(t) + (1 − S(m)/S(t))·Z`` — the shrinkage of an early change, in
``(0, 1)`` for ``m < t`` by construction.

The predictive distribution of ``C_Y(t)`` carries parameter uncertainty once: each draw takes ``θ`` from its
normal sampling distribution and ``φ`` from its scaled χ² (Pearson χ² / χ²_df), then ``Λ_Y`` from its gamma
posterior, then the remaining count from an NB1 (gamma–Poisson with mean ``Λ_Y (S(t) − S(m))`` and variance
``φ`` times the mean). A previous year's count at ``t`` that was not published is drawn the same way from the
model: bridged between its neighbouring published months (beta-binomial with the same variance factor ``φ``),
projected from its last month, or drawn from the trend.

Why this design
---------------
It is the Poisson–gamma design (independent increments given the year level, NB2 between years, conjugate
update) with three additions, each forced by a failure of the plain version:

* Within-year over-dispersion ``φ``. Published within-year splits are typically more variable than a
  multinomial (clustered events, a disaster month, a lockdown spring); with ``φ`` fixed at 1 such data make the
  projection intervals too narrow (in the calibration test, ignoring ``φ = 2.5`` gives 89% coverage for a
  nominal 95%). The ODP keeps the conjugacy, and ``φ`` from the splits is the standard quasi-likelihood estimate.
* Cox–Reid adjusted likelihood for ``τ``. With ten-odd years the ML estimate of a variance component is biased
  down and the intervals under-cover when ``τ`` is large (92% at ``τ = 0.1`` with 12 years); the adjustment of
  Cox & Reid (1987), standard for negative binomial dispersions (McCarthy, Chen & Smyth 2012), recovers most of it.
* The number of harmonics chosen by quasi-AIC (Burnham & Anderson 2002) among those the splits identify:
  splits at months 6–9 only identify two harmonics but extrapolate them wildly to month 3 or 4.

Parameter uncertainty is carried once, by drawing the parameters (normal approximation on ``τ``, whose square
is the NB2 dispersion, so a boundary estimate ``τ̂ = 0`` still yields draws of a positive variance; scaled
χ² for ``φ``) and then the year level and the remaining count given each draw; no variance is added on top.

Backtest
--------
Rolling origin (Tashman 2000): for every release (year ``Y``, month ``m < t``) whose year's count at ``t`` is
known, refit on the releases available strictly before it (each release carries its publication time; a count
derived from a later release becomes available only then), project, and score by coverage and by the interval
score of Gneiting & Raftery (2007) against two rivals. Coverage is summarised over independent years, not rows
(rows of one year share its level surprise): one Bernoulli per year, the year's earliest origin, with an exact
Clopper–Pearson interval.

References
----------
.. [1] England, P. D., & Verrall, R. J. (2002). Stochastic claims reserving in general insurance. British
   Actuarial Journal, 8(3), 443–518.
.. [2] Verrall, R. J. (2004). A Bayesian generalized linear model for the Bornhuetter–Ferguson method of claims
   reserving. North American Actuarial Journal, 8(3), 67–89.
.. [3] McCullagh, P., & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall, ch. 9.
.. [4] Lawless, J. F. (1987). Negative binomial and mixed Poisson regression. Canadian Journal of Statistics,
   15(3), 209–225.
.. [5] Bühlmann, H., & Gisler, A. (2005). A Course in Credibility Theory and its Applications. Springer.
.. [6] Gneiting, T., & Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and estimation. Journal
   of the American Statistical Association, 102(477), 359–378.
.. [7] Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in the case
   of the binomial. Biometrika, 26(4), 404–413.
.. [8] Cox, D. R., & Reid, N. (1987). Parameter orthogonality and approximate conditional inference. Journal of
   the Royal Statistical Society B, 49(1), 1–39.
.. [9] McCarthy, D. J., Chen, Y., & Smyth, G. K. (2012). Differential expression analysis of multifactor RNA-Seq
   experiments with respect to biological variation. Nucleic Acids Research, 40(10), 4288–4297.
.. [10] Burnham, K. P., & Anderson, D. R. (2002). Model Selection and Multimodel Inference, 2nd ed. Springer,
   sec. 2.5 (QAIC).
.. [11] Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an analysis and review. International
   Journal of Forecasting, 16(4), 437–450.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from statsmodels.tools.numdiff import approx_fprime

from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_number, fmt_p, fmt_percent
from analysis.core.results import Result

MODEL = ("over-dispersed Poisson model of all cumulative releases: gamma year levels around a log-linear trend "
         "(negative binomial between years), harmonic seasonal curve, conjugate projection")
ASSUMPTIONS = (
    "given its level, a year's counts in disjoint month spans are independent with variance φ times the mean "
    "(φ from the within-year splits, at least 1); year levels are gamma around a log-polynomial trend in the "
    "year; one seasonal curve for all years; published cumulative counts are final; parameter uncertainty from "
    "the normal approximation to the MLE (θ) and the scaled χ² of the Pearson statistic (φ)"
)
DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], float)
DEFAULT_DRAWS = 20_000
_EPS_TIME = 1e-9
_ALPHA_MIN = 1e-14  # between-year variance treated as 0 below this (posterior = trend level)


# ---------------------------------------------------------------- inputs
def _month(name: str, value, lo: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or not lo <= value <= 12:
        raise ValueError(f"{name} must be an integer month in {lo}..12, got {value!r}")
    return int(value)


def _int_like(name: str, value) -> int:
    """An integer, or an integer-valued float (as read from a CSV)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not float(value).is_integer():
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _int_count(name: str, value) -> int:
    """A non-negative integer count; integer-valued floats (e.g. from a CSV) are accepted."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value < 0 or not float(value).is_integer():
        raise ValueError(f"{name} must be a non-negative integer count, got {value!r}")
    return int(value)


def _seed(value) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise ValueError(f"seed must be a non-negative integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Release:
    """One published (or derived) cumulative count: ``count`` events in ``year`` from month 1 to ``last_month``.

    ``available`` is when the figure was first public, in decimal years (a release covering January–April 2021
    published at the end of April: ``2021 + 4/12``); for a published figure it defaults to ``year +
    last_month/12``. A figure derived from a later release (e.g. last year's count recovered from this year's
    percent change) must say when that later release appeared.
    """

    year: int
    last_month: int
    count: int
    derived: bool = False
    available: float | None = None
    formula: str | None = None
    first_month: int = 1

    @property
    def published_at(self) -> float | None:
        """Publication time (decimal years): ``available`` or, for a published figure, the end of its period."""
        if self.available is not None:
            return float(self.available)
        return None if self.derived else self.year + self.last_month / 12


def make_releases(year, last_month, count, *, derived=None, available=None, formula=None,
                  first_month=None) -> tuple[Release, ...]:
    """Validate parallel arrays into :class:`Release` records.

    Parameters
    ----------
    year, last_month, count : array_like
        Year, last month (1..12) and cumulative count from January of each figure.
    derived : array_like of bool, optional
        Whether each figure is derived (computed from a later release) rather than published. Default all False.
    available : array_like of float, optional
        Publication time in decimal years (NaN or None: the default ``year + last_month/12``; required for
        derived figures used in a backtest).
    formula : array_like of str, optional
        The arithmetic of derived figures, carried for display.
    first_month : array_like of int, optional
        First month of each count; only cumulative counts from January (1) are supported.

    Returns
    -------
    tuple of Release
        Sorted by year and month. Raises ``ValueError`` naming the argument and position of a bad value, a
        duplicate (year, month) or a cumulative count that falls within a year.
    """
    cols = {"year": list(year), "last_month": list(last_month), "count": list(count)}
    n = len(cols["year"])
    opt = {"derived": derived, "available": available, "formula": formula, "first_month": first_month}
    for name, v in opt.items():
        if v is not None:
            cols[name] = list(v)
    for name, v in cols.items():
        if len(v) != n:
            raise ValueError(f"{name} must have the same length as year ({n}), got {len(v)}")
    out = []
    for i in range(n):
        fm = cols.get("first_month", [1] * n)[i]
        if isinstance(fm, bool) or fm != 1:
            raise ValueError(f"first_month[{i}] must be 1 (cumulative counts from January only), got {fm!r}")
        av = cols.get("available", [None] * n)[i]
        if av is not None and not (isinstance(av, numbers.Real) and math.isnan(av)):
            av = validate.finite(f"available[{i}]", av)
        else:
            av = None
        der = cols.get("derived", [False] * n)[i]
        if not isinstance(der, (bool, np.bool_)):
            raise ValueError(f"derived[{i}] must be True or False, got {der!r}")
        f = cols.get("formula", [None] * n)[i]
        f = None if f is None or (not isinstance(f, str) and pd.isna(f)) else str(f)
        out.append(Release(validate.positive_int(f"year[{i}]", _int_like(f"year[{i}]", cols["year"][i])),
                           _month(f"last_month[{i}]", _int_like(f"last_month[{i}]", cols["last_month"][i])),
                           _int_count(f"count[{i}]", cols["count"][i]), bool(der), av, f))
    return check_releases(out)


def check_releases(releases: Iterable[Release]) -> tuple[Release, ...]:
    """Validate and sort cumulative year-to-date releases.

    ``ValueError`` for a non-Release, a duplicate (year, month) or a cumulative count that falls within a
    year.

    Parameters
    ----------
    releases : iterable of Release
        Published cumulative counts, each for a year and the last month it covers.

    Returns
    -------
    tuple of Release
        The releases sorted by (year, last month).
    """
    rel = list(releases)
    for i, r in enumerate(rel):
        if not isinstance(r, Release):
            raise ValueError(f"releases[{i}] must be a Release, got {type(r).__name__}")
    rel.sort(key=lambda r: (r.year, r.last_month))
    for a, b in zip(rel, rel[1:]):
        if a.year == b.year and a.last_month == b.last_month:
            raise ValueError(f"releases: two counts for year {a.year} month {a.last_month} ({a.count}, {b.count})")
        if a.year == b.year and b.count < a.count:
            raise ValueError(f"releases: year {a.year}'s cumulative count falls from {a.count} (month {a.last_month}) "
                             f"to {b.count} (month {b.last_month})")
    return tuple(rel)


@dataclass(frozen=True)
class PreviousCount:
    """A previous-year count to compare with; ``derived`` with its ``formula`` when not itself published."""

    count: float
    derived: bool = False
    formula: str | None = None


def derived_from_change(count, pct_change) -> PreviousCount:
    """The previous count implied by a published percent change: ``count / (1 + pct_change/100)``, rounded.

    Parameters
    ----------
    count : int
        This period's count.
    pct_change : float
        The published percent change against the same period a year earlier.

    Returns
    -------
    PreviousCount
        Rounded to an integer, flagged derived, with the arithmetic as its formula.
    """
    c = _int_count("count", count)
    p = validate.pct_change("pct_change", pct_change)
    raw = c / (1 + p / 100)
    sign = "+" if p >= 0 else "-"
    return PreviousCount(float(round(raw)), True, f"{c} / (1 {sign} {abs(p):g}/100) = {raw:.1f} -> {round(raw)}")


# ---------------------------------------------------------------- seasonal curve
def _basis(harmonics: int) -> np.ndarray:
    """12 × 2K matrix of cos/sin harmonics at mid-month."""
    u = (np.arange(12) + 0.5) / 12
    cols = []
    for j in range(1, harmonics + 1):
        cols += [np.cos(2 * np.pi * j * u), np.sin(2 * np.pi * j * u)]
    return np.array(cols).T.reshape(12, 2 * harmonics)


def cumulative_share(coef) -> np.ndarray:
    """Cumulative seasonal share ``S(0..12)`` for harmonic coefficients ``(a1, b1, a2, b2, ...)``.

    Parameters
    ----------
    coef : array_like, shape (2K,) or (n, 2K)
        Harmonic coefficients of the log monthly intensity (per calendar day); empty for a uniform curve.

    Returns
    -------
    ndarray, shape (13,) or (n, 13)
        ``S(0) = 0``, ``S(12) = 1``, strictly increasing.
    """
    g = np.asarray(coef, float)
    one = g.ndim == 1
    g = np.atleast_2d(g)
    if g.shape[1] % 2:
        raise ValueError(f"coef must have an even number of harmonic coefficients, got {g.shape[1]}")
    w = DAYS * np.exp(g @ _basis(g.shape[1] // 2).T)
    c = np.concatenate([np.zeros((len(g), 1)), np.cumsum(w, axis=1)], axis=1)
    s = c / c[:, -1:]
    return s[0] if one else s


# ---------------------------------------------------------------- likelihood
@dataclass(frozen=True)
class _Data:
    years: np.ndarray      # distinct years
    last_month: np.ndarray  # per year: last published month
    last_count: np.ndarray  # per year: count at that month
    inc_year: np.ndarray    # per increment: index of its year
    inc_a: np.ndarray       # per increment: previous month (0 for the first)
    inc_b: np.ndarray       # per increment: its month
    inc_d: np.ndarray       # per increment: count in (a, b]
    split_years: tuple[int, ...]  # years with two or more counts (they inform the seasonal curve)


def _layout(releases: Sequence[Release]) -> _Data:
    by: dict[int, list[Release]] = {}
    for r in releases:
        by.setdefault(r.year, []).append(r)
    years = np.array(sorted(by), float)
    lm, lc, iy, ia, ib, idd = [], [], [], [], [], []
    for i, y in enumerate(sorted(by)):
        rs = sorted(by[y], key=lambda r: r.last_month)
        lm.append(rs[-1].last_month)
        lc.append(rs[-1].count)
        a, prev = 0, 0
        for r in rs:
            iy.append(i)
            ia.append(a)
            ib.append(r.last_month)
            idd.append(r.count - prev)
            a, prev = r.last_month, r.count
    split = tuple(int(y) for y in sorted(by) if len(by[y]) > 1)
    return _Data(years, np.array(lm), np.array(lc, float), np.array(iy), np.array(ia), np.array(ib),
                 np.array(idd, float), split)


def _design(years, year_ref: float, degree: int) -> np.ndarray:
    t = np.asarray(years, float) - year_ref
    return np.column_stack([t ** k for k in range(degree + 1)])


def _nb_loglik(c, m, a: float, lgc1=None):
    """log NB2(c; mean m, variance m + a·m²) (c may be non-integer: the ODP scale), d/dlog m and d/da, for a
    scalar a ≥ 0.

    For large r = 1/a the difference from the Poisson log pmf, and its derivative, come from Stirling's series
    for log Γ and the asymptotic series for ψ, which stay accurate down to a = 0 (the Poisson).
    """
    dlogm = (c - m) / (1 + a * m)
    lgc1 = special.gammaln(c + 1) if lgc1 is None else lgc1
    if a >= 1e-4:
        r = 1 / a
        ll = (special.gammaln(c + r) - special.gammaln(r) - lgc1 + r * np.log(r / (r + m))
              + special.xlogy(c, m / (r + m)))
        dr = special.digamma(c + r) - special.digamma(r) - np.log1p(m / r) + (m - c) / (r + m)
        return ll, dlogm, -r * r * dr
    pois = special.xlogy(c, m) - m - lgc1
    if a <= 1e-9:
        # log NB = log Poisson + a·A1 + a²·A2 + O(a³c⁴), from log Γ(c + r) − log Γ(r) − c log r =
        # c(c − 1)/(2r) − c(c − 1)(2c − 1)/(12r²) + ... and the series of (c + r) log(1 + m/r)
        a1 = ((c - m) ** 2 - c) / 2
        a2 = -c * (c - 1) * (2 * c - 1) / 12 + c * m * m / 2 - m ** 3 / 3
        return pois + a * a1 + a * a * a2, dlogm, a1 + 2 * a * a2
    r = 1 / a
    diff = ((r + c - 0.5) * np.log1p(c / r) - c - (r + c) * np.log1p(m / r) + m
            + 1 / (12 * (r + c)) - 1 / (12 * r))
    psi_diff = np.log1p(c / r) - 1 / (2 * (r + c)) + 1 / (2 * r) - 1 / (12 * (r + c) ** 2) + 1 / (12 * r * r)
    dr = psi_diff - np.log1p(m / r) + (m - c) / (r + m)
    return pois + diff, dlogm, -r * r * dr


class _Model:
    """Quasi-log-likelihood of the releases and its gradient, for a fixed within-year dispersion φ."""

    def __init__(self, data: _Data, degree: int, harmonics: int, year_ref: float, cox_reid: bool = True):
        self.d, self.degree, self.k, self.cox_reid = data, degree, harmonics, cox_reid
        self.X = _design(data.years, year_ref, degree)
        self.H = _basis(harmonics)
        self.p = degree + 1
        self._phi, self._consts = None, None

    def consts(self, phi):
        """Scaled counts and constant terms for one φ (cached: the optimiser calls with the same φ)."""
        if phi != self._phi:
            c, dd = self.d.last_count / phi, self.d.inc_d / phi
            lgc1 = special.gammaln(c + 1)
            self._phi, self._consts = phi, (c, dd, lgc1, float(np.sum(lgc1) - np.sum(special.gammaln(dd + 1))))
        return self._consts

    def split(self, theta):
        p = self.p
        return theta[:p], theta[p], theta[p + 1:]

    def curve_parts(self, gamma):
        w = DAYS * np.exp(self.H @ gamma)
        wc = np.concatenate([[0.0], np.cumsum(w)])
        hc = np.vstack([np.zeros((1, 2 * self.k)), np.cumsum(w[:, None] * self.H, axis=0)])
        return wc, hc

    def loglik(self, theta, phi, grad=False):
        d = self.d
        beta, tau, gamma = self.split(theta)
        a = tau * tau
        wc, hc = self.curve_parts(gamma)
        mu = np.exp(self.X @ beta)
        s_last = wc[d.last_month] / wc[-1]
        m = mu * s_last / phi
        c, dd, lgc1, const = self.consts(phi)
        nb, dlogm, da = _nb_loglik(c, m, a, lgc1)
        span = wc[d.inc_b] - wc[d.inc_a]
        last_w = wc[d.last_month][d.inc_year]
        ll = float(np.sum(nb) + np.dot(dd, np.log(span / last_w)) + const)
        if self.cox_reid:
            # Cox–Reid: − ½ log det of the trend coefficients' information X'WX, W = m/(1 + a·m)
            w = m / (1 + a * m)
            info = self.X.T @ (w[:, None] * self.X)
            logdet = np.linalg.slogdet(info)[1]
            ll -= 0.5 * logdet
        if not grad:
            return ll
        if self.cox_reid:
            lev = w * np.einsum("ij,jk,ik->i", self.X, np.linalg.inv(info), self.X)  # leverages
            dlogm = dlogm - 0.5 * lev / (1 + a * m)
            da = da + 0.5 * lev * m / (1 + a * m)
        e_last = hc[d.last_month] / wc[d.last_month][:, None]       # E_(0, mJ](h), per year
        e_year = hc[-1] / wc[-1]                                      # E_(0, 12](h)
        e_span = (hc[d.inc_b] - hc[d.inc_a]) / span[:, None]          # E_(a, b](h), per increment
        g_beta = self.X.T @ dlogm
        g_tau = float(np.sum(da) * 2 * tau)
        g_gamma = (dlogm[:, None] * (e_last - e_year)).sum(0) + (dd[:, None] * (e_span - e_last[d.inc_year])).sum(0)
        return ll, np.concatenate([g_beta, [g_tau], g_gamma])

    def pearson(self, theta):
        """Pearson χ² of the within-year splits given each year's last count."""
        d = self.d
        wc, _ = self.curve_parts(self.split(theta)[2])
        e = d.last_count[d.inc_year] * (wc[d.inc_b] - wc[d.inc_a]) / wc[d.last_month][d.inc_year]
        ok = e > 0
        return float(np.sum((d.inc_d[ok] - e[ok]) ** 2 / e[ok]))


# ---------------------------------------------------------------- fit
def _start_hess_inv(model: _Model, theta, phi) -> np.ndarray:
    """Starting inverse Hessian for BFGS: the observed information at the start if positive definite, else its
    diagonal (the parameters differ in scale by orders of magnitude, so the identity is a poor start)."""
    h = approx_fprime(theta, lambda th: model.loglik(th, phi, grad=True)[1], centered=True)
    h = -(h + h.T) / 2
    try:
        if np.all(np.linalg.eigvalsh(h) > 0):
            return np.linalg.inv(h)
    except np.linalg.LinAlgError:
        pass
    return np.diag(1 / np.maximum(np.abs(np.diag(h)), 1e-8))


def _maximise(model: _Model, theta, phi, hinv) -> tuple[np.ndarray, np.ndarray, bool]:
    """BFGS on the negative quasi-log-likelihood with the analytic gradient (scipy)."""
    hinv = (hinv + hinv.T) / 2
    try:
        np.linalg.cholesky(hinv)
    except np.linalg.LinAlgError:
        hinv = np.diag(np.abs(np.diag(hinv)) + 1e-12)
    res = optimize.minimize(lambda th: tuple(-v for v in model.loglik(th, phi, grad=True)), theta, jac=True,
                            method="BFGS", options={"gtol": 1e-4, "maxiter": 2000, "hess_inv0": hinv})
    ok = bool(res.success or np.max(np.abs(res.jac)) < 1e-3)
    return res.x, res.hess_inv, ok


@dataclass(frozen=True)
class YtdModelFit(Result):
    """Maximum (quasi-)likelihood fit of the cumulative-release model; ``estimate`` is the between-year CV τ."""

    releases: tuple[Release, ...]
    years: tuple[int, ...]
    split_years: tuple[int, ...]
    n_releases: int
    trend_degree: int
    harmonics: int
    harmonics_used: int
    harmonics_qaic: tuple[tuple[int, float], ...]
    year_ref: float
    param_names: tuple[str, ...]
    params: tuple[float, ...]
    cov: tuple[tuple[float, ...], ...]
    bse: tuple[float, ...]
    estimate: float
    ci: tuple[float, float]
    trend_pct: float | None
    trend_pct_ci: tuple[float, float] | None
    phi: float
    phi_raw: float
    phi_chi2: float
    phi_df: int
    phi_fixed: bool
    phi_pvalue: float | None
    between_method: str
    llf: float
    converged: bool
    alpha: float
    notes: tuple[str, ...]
    method: str = MODEL
    assumptions: str = ASSUMPTIONS

    @property
    def at_boundary(self) -> bool:
        """True when the between-year variance is estimated at 0 (year levels no more scattered around the trend
        than the within-year noise explains)."""
        return self.estimate < 1e-6

    @property
    def nb_alpha(self) -> float:
        """NB2 dispersion of the year level (τ²)."""
        return self.estimate ** 2

    @property
    def p_value(self) -> float | None:
        """Test of no within-year over-dispersion (φ = 1), Pearson χ² on ``phi_df`` df."""
        return self.phi_pvalue

    def _theta(self) -> np.ndarray:
        return np.array(self.params)

    def _cov(self) -> np.ndarray:
        return np.array(self.cov)

    def level(self, year) -> float:
        """Trend level ``μ_year`` (expected annual count) at the MLE.

        Parameters
        ----------
        year : int or float
            Calendar year; the trend polynomial (centred at ``year_ref``) is evaluated there, also outside the
            fitted years.

        Returns
        -------
        float
            Expected count for the whole year on the trend (the year's own random level not included).
        """
        x = _design([year], self.year_ref, self.trend_degree)[0]
        return float(np.exp(x @ self._theta()[:self.trend_degree + 1]))

    def curve(self) -> np.ndarray:
        """``S(0..12)`` at the MLE.

        Returns
        -------
        ndarray, shape (13,)
            Cumulative seasonal share by the end of month m = 0..12: ``S(0) = 0``, ``S(12) = 1``, increasing.
        """
        return cumulative_share(self._theta()[self.trend_degree + 2:])

    def counts_of(self, year: int) -> dict[int, Release]:
        """The fitted releases of one year.

        Parameters
        ----------
        year : int
            Calendar year.

        Returns
        -------
        dict of int to Release
            Last month covered -> the release (published or derived); empty if the year has none.
        """
        return {r.last_month: r for r in self.releases if r.year == year}

    def share(self, month, *, alpha=None, n_draws=DEFAULT_DRAWS, seed=0) -> SeasonalShare:
        """The cumulative seasonal share ``S(month)`` with its interval and the years that inform it.

        Parameters
        ----------
        month : int
            Last month of the year-to-date window, 1..12.
        alpha : float, optional
            1 − level of the interval; default the fit's ``alpha``.
        n_draws : int, default 20000
            Draws from the normal sampling distribution of the MLE (positive integer).
        seed : int, default 0
            Seed for ``numpy.random.default_rng`` (non-negative integer).

        Returns
        -------
        SeasonalShare
            As :func:`seasonal_share`: the share at the MLE with a percentile interval over the draws ((1, 1)
            for month 12).

        Raises
        ------
        ValueError
            If ``month``, ``alpha``, ``n_draws`` or ``seed`` is out of range.
        """
        return seasonal_share(self, month, alpha=self.alpha if alpha is None else alpha, n_draws=n_draws, seed=seed)

    def shares(self, *, n_draws=DEFAULT_DRAWS, seed=0) -> pd.DataFrame:
        """``S(m)`` for m = 0..12 with interval, for plotting (one set of draws: each month's interval equals
        :func:`seasonal_share` with the same ``n_draws`` and ``seed``).

        Parameters
        ----------
        n_draws : int, default 20000
            Draws from the normal sampling distribution of the MLE (positive integer).
        seed : int, default 0
            Seed for ``numpy.random.default_rng`` (non-negative integer).

        Returns
        -------
        pandas.DataFrame
            Thirteen rows, month 0..12: ``month``, ``share`` (at the MLE), the (1 − ``alpha``) percentile interval
            ``lower``/``upper`` (0 at month 0, 1 at month 12), and ``n_years_at_month`` (releases ending that
            month).

        Raises
        ------
        ValueError
            If ``n_draws`` or ``seed`` is invalid.
        """
        n = validate.positive_int("n_draws", n_draws)
        curves = _draws(self, n, np.random.default_rng(_seed(seed))).curve
        est = self.curve()
        rows = [{"month": 0, "share": 0.0, "lower": 0.0, "upper": 0.0, "n_years_at_month": 0}]
        for m in range(1, 13):
            lo, hi = (1.0, 1.0) if m == 12 else _quantiles(curves[:, m], self.alpha)
            rows.append({"month": m, "share": float(est[m]), "lower": lo, "upper": hi,
                         "n_years_at_month": sum(r.last_month == m for r in self.releases)})
        return pd.DataFrame(rows)

    @property
    def verdict(self) -> str:
        lvl = f"{round(100 * (1 - self.alpha), 6):g}%"
        s = self.curve()
        trend = ("" if self.trend_pct is None else
                 f"trend {fmt_percent(self.trend_pct)} a year ({lvl} CI {fmt_percent(self.trend_pct_ci[0])} to "
                 f"{fmt_percent(self.trend_pct_ci[1])}); ")
        phi = (f"within-year dispersion φ = {fmt_number(self.phi, 3)} (fixed)" if self.phi_fixed else
               f"within-year dispersion φ = {fmt_number(self.phi, 3)} (Pearson χ² {fmt_number(self.phi_chi2, 4)} on "
               f"{self.phi_df} df, test of φ = 1 {_p(self.phi_pvalue)})")
        how = "Cox–Reid adjusted" if self.between_method == "cox-reid" else "maximum likelihood"
        tau = (f"between-year CV of the level τ = 0 ({how}; at its boundary: the years scatter around the trend no "
               f"more than the within-year noise explains; {lvl} upper limit {fmt_number(self.ci[1], 3)})"
               if self.at_boundary else
               f"between-year CV of the level τ = {fmt_number(self.estimate, 3)} ({how}; {lvl} CI "
               f"{fmt_number(self.ci[0], 3)} to {fmt_number(self.ci[1], 3)})")
        return (f"{self.method}, fitted to {self.n_releases} releases from {len(self.years)} years "
                f"({self.years[0]}–{self.years[-1]}; {len(self.split_years)} with a within-year split): {trend}"
                f"{tau}; {phi}; seasonal curve with {self.harmonics_used} harmonic(s): "
                f"S(3) = {fmt_number(s[3], 3)}, S(6) = {fmt_number(s[6], 3)}, S(9) = {fmt_number(s[9], 3)}.")


@dataclass(frozen=True)
class _Core:
    model: _Model
    theta: np.ndarray
    phi: float
    df_w: int
    converged: bool


def _fit_core(data: _Data, k: int, degree: int, phi_fixed: float | None, cox_reid: bool,
              min_within_df: int) -> _Core:
    """Maximise the quasi-likelihood for ``k`` harmonics; φ alternates with θ unless fixed."""
    n_years = len(data.years)
    df_w = int(len(data.inc_d) - n_years - 2 * k)
    if phi_fixed is None and df_w < min_within_df:
        raise ValueError(f"releases: the within-year splits leave {df_w} degree(s) of freedom, fewer than "
                         f"min_within_df={min_within_df}, to estimate the within-year dispersion")
    model = _Model(data, degree, k, float(np.mean(data.years)), cox_reid=cox_reid)
    s_days = np.concatenate([[0.0], np.cumsum(DAYS)]) / DAYS.sum()
    b0 = math.log(max(np.mean(data.last_count / s_days[data.last_month]), 1.0))
    theta = np.concatenate([[b0], np.zeros(degree), [0.05], np.zeros(2 * k)])
    phi = 1.0 if phi_fixed is None else float(phi_fixed)
    converged = False
    hinv = _start_hess_inv(model, theta, phi)
    for _ in range(50):
        theta, hinv, ok = _maximise(model, theta, phi, hinv)
        if phi_fixed is not None:
            converged = ok
            break
        new = max(1.0, model.pearson(theta) / df_w)
        if abs(new - phi) < 1e-7 * phi:
            converged = ok
            break
        hinv = hinv * new / phi  # the information scales about as 1/φ
        phi = new
    theta[degree + 1] = abs(theta[degree + 1])
    return _Core(model, theta, phi, df_w, converged)


def _qaic(core: _Core, phi: float) -> float:
    """Quasi-AIC at a common φ: −2·(quasi-log-likelihood without the Cox–Reid term) + 2·(number of parameters)."""
    plain = _Model(core.model.d, core.model.degree, core.model.k, float(np.mean(core.model.d.years)),
                   cox_reid=False)
    return -2 * plain.loglik(core.theta, phi) + 2 * len(core.theta)


def fit_ytd_model(releases: Iterable[Release], *, harmonics: int = 2, select_harmonics: bool = True,
                  trend_degree: int = 1, within_dispersion: float | None = None, between_method: str = "cox-reid",
                  alpha: float = 0.05, min_within_df: int = 1) -> YtdModelFit:
    """Fit the cumulative-release model by maximum quasi-likelihood.

    Parameters
    ----------
    releases : iterable of Release
        Every cumulative count from January (see :func:`make_releases`).
    harmonics : int, default 2
        Most harmonics of the seasonal curve; 0 gives a uniform-per-day curve. Reduced (with a note) to half the
        number of distinct months 1..11 in years with two or more counts, so the curve stays identified.
    select_harmonics : bool, default True
        Choose the number of harmonics from 0..``harmonics`` by quasi-AIC at the φ of the largest model
        (Burnham & Anderson 2002, sec. 2.5), so that sparse within-year data (e.g. splits at months 6 to 9
        only) do not extrapolate a wiggly curve to early months. False: use ``harmonics``.
    trend_degree : int, default 1
        Degree of the polynomial in the year for the log trend level (0: constant, 1: log-linear).
    within_dispersion : float, optional
        Fixed within-year dispersion φ (1: Poisson). Default: estimated by Pearson χ²/df, floored at 1.
    between_method : {"cox-reid", "ml"}, default "cox-reid"
        ``"ml"`` maximises the quasi-likelihood; ``"cox-reid"`` adds −½ log det of the trend coefficients'
        information (Cox & Reid 1987), the adjusted profile likelihood used for negative binomial dispersions
        in small samples (McCarthy, Chen & Smyth 2012). Maximum likelihood underestimates the between-year
        variance with ten-odd years (as ML does any variance component), and the projection intervals then
        under-cover; the adjustment removes most of that (see the calibration tests).
    alpha : float, default 0.05
        1 − level of the reported confidence intervals.
    min_within_df : int, default 1
        Fewest residual degrees of freedom of the within-year splits needed to estimate φ.

    Returns
    -------
    YtdModelFit
        Parameters ``(β0..βp, τ, a1, b1, ...)``, their covariance (inverse observed information), φ and its
        Pearson statistic, the quasi-AIC of each number of harmonics tried. ``ValueError`` if the releases cannot
        identify the model.

    References
    ----------
    England & Verrall (2002); McCullagh & Nelder (1989), ch. 9; Lawless (1987); Cox, D. R., & Reid, N. (1987).
    Parameter orthogonality and approximate conditional inference. JRSS B 49(1), 1–39; McCarthy, D. J., Chen,
    Y., & Smyth, G. K. (2012). Differential expression analysis of multifactor RNA-Seq experiments with respect
    to biological variation. Nucleic Acids Research 40(10), 4288–4297; Burnham, K. P., & Anderson, D. R.
    (2002). Model Selection and Multimodel Inference, 2nd ed. Springer.
    """
    rel = check_releases(releases)
    if not rel:
        raise ValueError("releases must contain at least one count")
    if not isinstance(harmonics, numbers.Integral) or isinstance(harmonics, bool) or harmonics < 0:
        raise ValueError(f"harmonics must be a non-negative integer, got {harmonics!r}")
    if not isinstance(trend_degree, numbers.Integral) or isinstance(trend_degree, bool) or trend_degree < 0:
        raise ValueError(f"trend_degree must be a non-negative integer, got {trend_degree!r}")
    if not isinstance(select_harmonics, bool):
        raise ValueError(f"select_harmonics must be True or False, got {select_harmonics!r}")
    a = validate.alpha("alpha", alpha)
    validate.one_of("between_method", between_method, ("cox-reid", "ml"))
    validate.positive_int("min_within_df", min_within_df)
    if within_dispersion is not None:
        validate.positive("within_dispersion", within_dispersion)
    data = _layout(rel)
    notes = []
    n_years = len(data.years)
    degree = int(trend_degree)
    if n_years < degree + 2:
        raise ValueError(f"releases: {n_years} year(s) cannot identify a degree-{degree} trend and the "
                         f"between-year variance (need at least {degree + 2})")
    split_months = {r.last_month for r in rel if r.year in data.split_years and r.last_month < 12}
    k_max = min(int(harmonics), len(split_months) // 2)
    if k_max < harmonics:
        notes.append(f"at most {k_max} harmonic(s): the within-year splits inform only months "
                     f"{sorted(split_months)}")
    cr = between_method == "cox-reid"
    core = _fit_core(data, k_max, degree, within_dispersion, cr, min_within_df)
    qaic: tuple[tuple[int, float], ...] = ()
    if select_harmonics and k_max > 0:
        phi_big = core.phi
        qaic = tuple((k, _qaic(_fit_core(data, k, degree, phi_big, cr, min_within_df), phi_big))
                     for k in range(k_max)) + ((k_max, _qaic(core, phi_big)),)
        k_best = min(qaic, key=lambda kv: kv[1])[0]
        if k_best < k_max:
            notes.append(f"{k_best} harmonic(s) chosen by quasi-AIC over 0..{k_max} (at φ = {phi_big:.3g})")
            core = _fit_core(data, k_best, degree, within_dispersion, cr, min_within_df)
    model, theta, phi, df_w, k = core.model, core.theta, core.phi, core.df_w, core.model.k
    p = degree + 1
    chi2 = model.pearson(theta)
    phi_raw = chi2 / df_w if df_w > 0 else math.nan
    hess = approx_fprime(theta, lambda th: model.loglik(th, phi, grad=True)[1], centered=True)
    hess = (hess + hess.T) / 2
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError as e:
        raise ValueError("releases: the observed information is singular; the model is not identified") from e
    if not np.all(np.isfinite(cov)) or np.any(np.linalg.eigvalsh((cov + cov.T) / 2) <= 0):
        raise ValueError("releases: the observed information is not positive definite; the model is not identified "
                         "by these releases")
    bse = np.sqrt(np.diag(cov))
    z = float(stats.norm.ppf(1 - a / 2))
    tau, se_tau = float(theta[p]), float(bse[p])
    tau_ci = (max(0.0, tau - z * se_tau), tau + z * se_tau)
    if degree >= 1:
        b1, s1 = float(theta[1]), float(bse[1])
        trend = (100 * math.expm1(b1), (100 * math.expm1(b1 - z * s1), 100 * math.expm1(b1 + z * s1)))
    else:
        trend = (None, None)
    names = tuple(["log_level"] + [f"trend_{j}" for j in range(1, degree + 1)] + ["tau"]
                  + [f"{f}{j}" for j in range(1, k + 1) for f in ("cos", "sin")])
    return YtdModelFit(
        releases=rel, years=tuple(int(y) for y in data.years), split_years=data.split_years, n_releases=len(rel),
        trend_degree=degree, harmonics=int(harmonics), harmonics_used=k, harmonics_qaic=qaic,
        year_ref=float(np.mean(data.years)), param_names=names, params=tuple(float(v) for v in theta),
        cov=tuple(tuple(float(v) for v in row) for row in cov), bse=tuple(float(v) for v in bse),
        estimate=tau, ci=tau_ci, trend_pct=trend[0], trend_pct_ci=trend[1], phi=float(phi),
        phi_raw=float(phi_raw), phi_chi2=chi2, phi_df=df_w, phi_fixed=within_dispersion is not None,
        phi_pvalue=float(stats.chi2.sf(chi2, df_w)) if df_w > 0 else None, between_method=between_method,
        llf=model.loglik(theta, phi), converged=core.converged, alpha=a, notes=tuple(notes))


# ---------------------------------------------------------------- parameter draws
@dataclass(frozen=True)
class _Draws:
    beta: np.ndarray   # (n, p)
    a: np.ndarray      # (n,) between-year variance τ² (floored)
    curve: np.ndarray  # (n, 13)
    phi: np.ndarray    # (n,)


def _draws(fit: YtdModelFit, n: int, rng: np.random.Generator) -> _Draws:
    """Parameters from their sampling distribution: θ ~ N(θ̂, cov); φ = Pearson χ² / χ²_df (floored at 1)."""
    th = rng.multivariate_normal(np.array(fit.params), fit._cov(), size=n, method="eigh")
    p = fit.trend_degree + 1
    if fit.phi_fixed or fit.phi_df <= 0:
        phi = np.full(n, fit.phi)
    else:
        phi = np.maximum(1.0, fit.phi_chi2 / rng.chisquare(fit.phi_df, n))
    return _Draws(th[:, :p], np.maximum(th[:, p] ** 2, _ALPHA_MIN), cumulative_share(th[:, p + 1:]), phi)


def _levels(fit: YtdModelFit, dr: _Draws, year: int) -> np.ndarray:
    x = _design([year], fit.year_ref, fit.trend_degree)[0]
    return np.exp(dr.beta @ x)


def _nb1(rng, mean, phi):
    """Counts with the given mean and variance ``phi·mean`` (gamma–Poisson; Poisson where phi is 1)."""
    mean = np.maximum(mean, 0.0)
    extra = np.maximum(phi - 1.0, 1e-12)
    lam = np.where(phi > 1 + 1e-9, rng.gamma(np.maximum(mean, 1e-300) / extra, extra), mean)
    return rng.poisson(lam)


def _posterior(a, mu, s_m, phi, c):
    """Gamma posterior (shape, rate) of the year level given ``c`` by a month with share ``s_m``."""
    return 1 / a + c / phi, 1 / (a * mu) + s_m / phi


def _project_many(fit, dr, rng, year, m, t, counts) -> np.ndarray:
    """Draws (n_draws, k) of ``C_year(t)`` given each of ``counts`` by month ``m`` (0: no count yet)."""
    c = np.asarray(counts, float)[None, :]
    mu = _levels(fit, dr, year)[:, None]
    a, phi = dr.a[:, None], dr.phi[:, None]
    shape, rate = _posterior(a, mu, dr.curve[:, m][:, None], phi, c)
    lam = rng.gamma(shape, 1 / rate)
    return c + _nb1(rng, lam * (dr.curve[:, t] - dr.curve[:, m])[:, None], phi)


def _count_at(fit, dr, rng, year, t, known: dict[int, float]) -> tuple[np.ndarray, str]:
    """Draws of ``C_year(t)`` given the year's known cumulative counts ``{month: count}``, and how they were made."""
    if t in known:
        return np.full(len(dr.a), float(known[t])), "count"
    lo = max([m for m in known if m < t], default=0)
    hi = min([m for m in known if m > t], default=None)
    c_lo = float(known[lo]) if lo else 0.0
    if hi is not None:
        n = int(known[hi] - c_lo)
        s = dr.curve
        p = np.clip((s[:, t] - s[:, lo]) / (s[:, hi] - s[:, lo]), 1e-12, 1 - 1e-12)
        conc = np.maximum(n - dr.phi, 1e-9) / np.maximum(dr.phi - 1, 1e-12)
        q = np.where(dr.phi > 1 + 1e-9, rng.beta(p * conc + 1e-300, (1 - p) * conc + 1e-300), p)
        return c_lo + rng.binomial(n, q), f"bridged between month {lo} and month {hi}"
    how = f"projected from month {lo}" if lo else "drawn from the trend level (no count that year)"
    return _project_many(fit, dr, rng, year, lo, t, [c_lo])[:, 0], how


def predictive_intervals(fit: YtdModelFit, year, months, ytd_counts, target_months=12, *, alpha=0.05,
                         n_draws=DEFAULT_DRAWS, seed=0) -> pd.DataFrame:
    """Prediction intervals of ``C_year(target_months)`` for many candidate year-to-date counts at once.

    The parameter draws are shared across the candidates (common random numbers), so the intervals move
    smoothly with the count: useful to find which count would change a conclusion, and vectorised for
    simulation studies.

    Parameters
    ----------
    fit : YtdModelFit
    year : int
    months : int
        Month of the year-to-date counts (1..12).
    ytd_counts : array_like of int
    target_months : int, default 12
    alpha : float
    n_draws, seed : int

    Returns
    -------
    DataFrame
        One row per count: ``ytd_count``, ``point`` (predictive mean at the MLE), ``median``, ``lower``,
        ``upper``.
    """
    y = validate.positive_int("year", year)
    m, t = _month("months", months), _month("target_months", target_months)
    if t < m:
        raise ValueError(f"target_months must be >= months ({m}), got {target_months!r}")
    a = validate.alpha("alpha", alpha)
    n = validate.positive_int("n_draws", n_draws)
    cs = [_int_count(f"ytd_counts[{i}]", v) for i, v in enumerate(np.atleast_1d(ytd_counts).tolist())]
    rng = np.random.default_rng(_seed(seed))
    dr = _draws(fit, n, rng)
    d = _project_many(fit, dr, rng, y, m, t, cs)
    q = np.quantile(d, [a / 2, 0.5, 1 - a / 2], axis=0)
    return pd.DataFrame({"ytd_count": cs, "point": [_point(fit, y, m, t, c) for c in cs], "median": q[1],
                         "lower": q[0], "upper": q[2]})


def _point(fit: YtdModelFit, year: int, m: int, t: int, c: float) -> float:
    """Predictive mean of ``C_year(t)`` given ``c`` by month ``m``, at the MLE."""
    if t == m:
        return float(c)
    s = fit.curve()
    shape, rate = _posterior(max(fit.nb_alpha, _ALPHA_MIN), fit.level(year), s[m], fit.phi, c)
    return float(c + shape / rate * (s[t] - s[m]))


def _level(alpha: float) -> str:
    return f"{round(100 * (1 - alpha), 6):g}%"


def _cnt(x: float | None) -> str:
    """A count (or a model estimate of one) as a whole number."""
    return "undefined" if x is None else fmt_count(x)


_p = fmt_p  # a p-value in a sentence: the one policy of analysis.core.fmt


def _wt(x: float) -> str:
    """A weight in [0, 1); one below 1e-6 is the boundary 0."""
    return "0" if x < 1e-6 else fmt_number(x, 3)


def _quantiles(x, alpha) -> tuple[float, float]:
    lo, hi = np.quantile(x, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def _around(point: float, x, alpha) -> tuple[float, float]:
    """Percentile interval of draws, extended to hold the point estimate (which can sit at a boundary, e.g. a
    weight of 0 when the between-year variance is estimated at 0, while every draw is positive)."""
    lo, hi = _quantiles(x, alpha)
    return min(lo, point), max(hi, point)


# ---------------------------------------------------------------- seasonal share
@dataclass(frozen=True)
class SeasonalShare(Result):
    """Cumulative seasonal share ``S(month)`` of the annual count, with its interval and the years behind it."""

    month: int
    estimate: float
    ci: tuple[float, float]
    alpha: float
    years_at_month: tuple[int, ...]
    derived_years_at_month: tuple[int, ...]
    split_years: tuple[int, ...]
    harmonics_used: int
    n_draws: int
    seed: int
    method: str = "harmonic cumulative seasonal curve of the cumulative-release model; interval from the MLE's " \
                  "sampling distribution (seeded draws)"

    @property
    def verdict(self) -> str:
        at = (f"{len(self.years_at_month)} year(s) published a count at month {self.month} "
              f"({', '.join(map(str, self.years_at_month))}"
              + (f"; derived: {', '.join(map(str, self.derived_years_at_month))}" if self.derived_years_at_month
                 else "") + ")" if self.years_at_month else f"no year published a count at month {self.month}")
        return (f"By month {self.month} the model expects {fmt_number(100 * self.estimate, 3)}% of the year's count "
                f"({_level(self.alpha)} CI {fmt_number(100 * self.ci[0], 3)}% to {fmt_number(100 * self.ci[1], 3)}%; "
                f"uniform per day: {fmt_number(100 * DAYS[:self.month].sum() / DAYS.sum(), 3)}%); the curve is "
                f"informed by the within-year splits of {len(self.split_years)} year(s) "
                f"({', '.join(map(str, self.split_years))}); {at}.")


def seasonal_share(fit: YtdModelFit, month, *, alpha=0.05, n_draws=DEFAULT_DRAWS, seed=0) -> SeasonalShare:
    """``S(month)`` at the MLE with a percentile interval over draws of the seasonal coefficients.

    Parameters
    ----------
    fit : YtdModelFit
    month : int
        1..12.
    alpha : float
        1 − level of the interval.
    n_draws, seed : int
        Draws from the normal sampling distribution of the MLE, seeded.

    Returns
    -------
    SeasonalShare
    """
    m = _month("month", month)
    a = validate.alpha("alpha", alpha)
    n = validate.positive_int("n_draws", n_draws)
    dr = _draws(fit, n, np.random.default_rng(_seed(seed)))
    at = tuple(r.year for r in fit.releases if r.last_month == m)
    der = tuple(r.year for r in fit.releases if r.last_month == m and r.derived)
    est = float(fit.curve()[m])
    ci = (1.0, 1.0) if m == 12 else _quantiles(dr.curve[:, m], a)
    return SeasonalShare(m, est, ci, a, at, der, fit.split_years, fit.harmonics_used, n, int(seed))


# ---------------------------------------------------------------- level posterior and shrinkage
@dataclass(frozen=True)
class LevelPosterior(Result):
    """Gamma posterior of a year's level (expected annual count) given its count by ``months`` (at the MLE)."""

    year: int
    months: int
    ytd_count: int
    prior_mean: float
    shape: float
    rate: float
    estimate: float
    ci: tuple[float, float]
    weight: float
    alpha: float
    method: str = "gamma–Poisson conjugate update on the over-dispersed Poisson scale (parameters at the MLE)"

    @property
    def verdict(self) -> str:
        return (f"Level of {self.year} given {_cnt(self.ytd_count)} by month {self.months}: "
                f"{_cnt(self.estimate)} ({_level(self.alpha)} interval {_cnt(self.ci[0])} to "
                f"{_cnt(self.ci[1])}), a weight of {_wt(self.weight)} on the year's own count against "
                f"the trend level {_cnt(self.prior_mean)}.")


def level_posterior(fit: YtdModelFit, year, months, ytd_count, *, alpha=0.05) -> LevelPosterior:
    """Closed-form posterior of ``Λ_year`` given ``ytd_count`` by ``months``, at the MLE.

    Parameters
    ----------
    fit : YtdModelFit
    year : int
    months : int
        0..12 (0: no count yet, the prior).
    ytd_count : int
    alpha : float

    Returns
    -------
    LevelPosterior
        Shape and rate of the gamma posterior, its mean and equal-tailed interval, and the credibility weight
        ``Z = τ²μS(m) / (τ²μS(m) + φ)``.
    """
    y = validate.positive_int("year", year)
    m = _month("months", months, lo=0)
    c = _int_count("ytd_count", ytd_count)
    a = validate.alpha("alpha", alpha)
    mu, s = fit.level(y), float(fit.curve()[m])
    var = max(fit.nb_alpha, _ALPHA_MIN)
    shape, rate = _posterior(var, mu, s, fit.phi, c)
    g = stats.gamma(shape, scale=1 / rate)
    return LevelPosterior(y, m, c, mu, float(shape), float(rate), float(shape / rate),
                          (float(g.ppf(a / 2)), float(g.ppf(1 - a / 2))), _weight(var, mu, s, fit.phi), a)


def _weight(a, mu, s, phi):
    return a * mu * s / (a * mu * s + phi)


@dataclass(frozen=True)
class EarlyChangeShrinkage(Result):
    """Share ``κ`` of a year-to-date deviation from the model's expectation that survives to the target month."""

    year: int
    months: int
    target_months: int
    estimate: float
    ci: tuple[float, float]
    weight: float
    weight_ci: tuple[float, float]
    share_ratio: float
    expected_ytd: float
    ytd_count: int | None
    ytd_deviation_pct: float | None
    target_deviation_pct: float | None
    alpha: float
    n_draws: int
    seed: int
    method: str = ("κ = S(m)/S(t) + (1 − S(m)/S(t))·Z, Z = τ²μS(m)/(τ²μS(m) + φ) the credibility weight of the "
                   "year's own count; interval over draws of the parameters")

    @property
    def verdict(self) -> str:
        lvl = _level(self.alpha)
        applied = ""
        if self.ytd_deviation_pct is not None:
            applied = (f" {_cnt(self.ytd_count)} by month {self.months} is {fmt_percent(self.ytd_deviation_pct)} "
                       f"against the model's expectation ({_cnt(self.expected_ytd)}), which carries to about "
                       f"{fmt_percent(self.target_deviation_pct)} by month {self.target_months}.")
        return (f"About {fmt_number(100 * self.estimate, 3)}% of an early deviation survives from month {self.months} "
                f"to month {self.target_months} ({lvl} CI {fmt_number(100 * self.ci[0], 3)}% to "
                f"{fmt_number(100 * self.ci[1], 3)}%): the months already counted carry "
                f"{fmt_number(100 * self.share_ratio, 3)}% of the target period and the year's own count gets a weight "
                f"of {_wt(self.weight)} ({lvl} CI {_wt(self.weight_ci[0])} to {_wt(self.weight_ci[1])}) against the "
                f"trend for the rest.{applied}")


def early_change_shrinkage(fit: YtdModelFit, year, months, target_months=12, *, ytd_count=None, alpha=0.05,
                           n_draws=DEFAULT_DRAWS, seed=0) -> EarlyChangeShrinkage:
    """The shrinkage of an early change implied by the model, with an interval.

    Parameters
    ----------
    fit : YtdModelFit
    year : int
    months : int
        Month of the year-to-date count (1..12).
    target_months : int
        Target month (``>= months``).
    ytd_count : int, optional
        If given, its deviation from the model's expectation and the implied deviation at the target.
    alpha : float
    n_draws, seed : int

    Returns
    -------
    EarlyChangeShrinkage
        ``κ`` in ``(0, 1]`` (``< 1`` when ``months < target_months``) and the credibility weight ``Z`` in
        ``[0, 1)``, both with percentile intervals over parameter draws (extended to hold the estimate when it
        sits at the boundary 0).

    References
    ----------
    Bühlmann & Gisler (2005); Verrall (2004).
    """
    y = validate.positive_int("year", year)
    m, t = _month("months", months), _month("target_months", target_months)
    if t < m:
        raise ValueError(f"target_months must be >= months ({m}), got {target_months!r}")
    a = validate.alpha("alpha", alpha)
    n = validate.positive_int("n_draws", n_draws)
    dr = _draws(fit, n, np.random.default_rng(_seed(seed)))
    mu_d = _levels(fit, dr, y)
    z_d = _weight(dr.a, mu_d, dr.curve[:, m], dr.phi)
    r_d = dr.curve[:, m] / dr.curve[:, t]
    k_d = r_d + (1 - r_d) * z_d
    s = fit.curve()
    mu = fit.level(y)
    z = _weight(max(fit.nb_alpha, _ALPHA_MIN), mu, s[m], fit.phi)
    ratio = float(s[m] / s[t])
    kappa = ratio + (1 - ratio) * z
    exp_ytd = mu * s[m]
    dev = tdev = None
    c = None
    if ytd_count is not None:
        c = _int_count("ytd_count", ytd_count)
        dev = 100 * (c / exp_ytd - 1)
        tdev = kappa * dev
    return EarlyChangeShrinkage(y, m, t, float(kappa), _around(kappa, k_d, a), float(z), _around(z, z_d, a), ratio,
                                float(exp_ytd), c, dev, tdev, a, n, int(seed))


# ---------------------------------------------------------------- projection
@dataclass(frozen=True)
class YtdChange(Result):
    """Projected percent change of the target period against the same period of the previous year."""

    estimate: float
    ci: tuple[float, float]
    previous_count: float
    previous_source: str
    previous_derived: bool
    previous_formula: str | None
    ytd_change_pct: float | None
    previous_ytd_count: float | None
    previous_ytd_derived: bool
    previous_ytd_formula: str | None
    alpha: float

    @property
    def verdict(self) -> str:
        side = ("includes no change" if self.ci[0] <= 0 <= self.ci[1]
                else "lies wholly below zero" if self.ci[1] < 0 else "lies wholly above zero")
        der = f", derived: {self.previous_formula}" if self.previous_derived and self.previous_formula else (
            ", derived" if self.previous_derived else "")
        ytd = ""
        if self.ytd_change_pct is not None:
            yder = (f", derived: {self.previous_ytd_formula}" if self.previous_ytd_formula else
                    ", derived" if self.previous_ytd_derived else "")
            ytd = (f" The year-to-date change was {fmt_percent(self.ytd_change_pct)} (against "
                   f"{_cnt(self.previous_ytd_count)}{yder}).")
        return (f"Projected change {fmt_percent(self.estimate)} against {_cnt(self.previous_count)} a year "
                f"earlier ({self.previous_source}{der}); {_level(self.alpha)} prediction interval "
                f"{fmt_percent(self.ci[0])} to {fmt_percent(self.ci[1])}, which {side}.{ytd}")


@dataclass(frozen=True)
class YtdProjection(Result):
    """Projection of a year's cumulative count at ``target_months`` from its count by ``months``."""

    year: int
    months: int
    target_months: int
    ytd_count: int
    estimate: float
    median: float
    ci: tuple[float, float]
    remaining: float
    remaining_ci: tuple[float, float]
    share_months: SeasonalShare
    share_target: SeasonalShare
    shrinkage: EarlyChangeShrinkage
    change: YtdChange | None
    alpha: float
    n_draws: int
    seed: int
    notes: tuple[str, ...]
    method: str = MODEL
    assumptions: str = ASSUMPTIONS

    @property
    def verdict(self) -> str:
        lvl = _level(self.alpha)
        period = "year" if self.target_months == 12 else f"first {self.target_months} months"
        change = "" if self.change is None else " " + self.change.verdict
        return (f"{_cnt(self.ytd_count)} by month {self.months} of {self.year} project to "
                f"{_cnt(self.estimate)} for the {period} ({lvl} prediction interval "
                f"{_cnt(self.ci[0])} to {_cnt(self.ci[1])}); the model expects "
                f"{fmt_number(100 * self.share_months.estimate, 3)}% of the year by month {self.months} "
                f"({lvl} CI {fmt_number(100 * self.share_months.ci[0], 3)}% to "
                f"{fmt_number(100 * self.share_months.ci[1], 3)}%), and {fmt_number(100 * self.shrinkage.estimate, 3)}% "
                f"of an early deviation survives to month {self.target_months}.{change}")


def _as_previous(name: str, value) -> PreviousCount | None:
    if value is None:
        return None
    if isinstance(value, PreviousCount):
        validate.positive(f"{name}.count", value.count)
        return value
    return PreviousCount(validate.positive(name, value))


def project_ytd(fit: YtdModelFit, year, months, ytd_count, target_months=12, *, previous_count=None,
                previous_ytd=None, ytd_change_pct=None, alpha=0.05, n_draws=DEFAULT_DRAWS,
                seed=0) -> YtdProjection:
    """Predictive distribution of ``C_year(target_months)`` given ``ytd_count`` by ``months``.

    Parameters
    ----------
    fit : YtdModelFit
        Fitted to releases that hold no count of ``year`` after ``months`` (a ``ValueError`` otherwise).
    year : int
    months : int
        Last month of the year-to-date count (1..12).
    ytd_count : int
    target_months : int, default 12
        ``>= months``.
    previous_count : float or PreviousCount, optional
        The previous year's count at ``target_months``. Default: the fit's count for that year and month if
        published, else the model's distribution for it (bridged, projected or from the trend; its uncertainty
        enters the change interval).
    previous_ytd : float or PreviousCount, optional
        The previous year's count by ``months`` for the year-to-date change. Default: from ``ytd_change_pct``
        (derived), else the fit's count for that year and month, else none.
    ytd_change_pct : float, optional
        The published year-to-date percent change.
    alpha : float
        1 − level of the prediction interval.
    n_draws, seed : int
        Size and seed of the simulation.

    Returns
    -------
    YtdProjection
        Point forecast (predictive mean at the MLE), median and equal-tailed interval of the predictive draws
        (parameter uncertainty carried once), the shares S(months) and S(target) with their intervals, the
        shrinkage and the projected change.

    References
    ----------
    England & Verrall (2002); Verrall (2004). See the module docstring.
    """
    y = validate.positive_int("year", year)
    m, t = _month("months", months), _month("target_months", target_months)
    if t < m:
        raise ValueError(f"target_months must be >= months ({m}), got {target_months!r}")
    c = _int_count("ytd_count", ytd_count)
    a = validate.alpha("alpha", alpha)
    n = validate.positive_int("n_draws", n_draws)
    sd = _seed(seed)
    if ytd_change_pct is not None:
        validate.pct_change("ytd_change_pct", ytd_change_pct)
    own = fit.counts_of(y)
    later = sorted(k for k in own if k > m)
    if later:
        raise ValueError(f"fit holds counts of year {y} after month {m} (months {later}); refit without them to "
                         f"project {y} from month {m}")
    notes = []
    if m in own and own[m].count != c:
        notes.append(f"the fit holds {own[m].count} for {y} month {m}; this projection conditions on {c}")
    rng = np.random.default_rng(sd)
    dr = _draws(fit, n, rng)
    draws, _ = _count_at(fit, dr, rng, y, t, {m: c})
    point = _point(fit, y, m, t, c)
    ci = _quantiles(draws, a)
    change = None
    prev = _as_previous("previous_count", previous_count)
    prev_rec = fit.counts_of(y - 1)
    if prev is not None:
        prev_draws, src = np.full(n, prev.count), "given"
    else:
        prev_draws, how = _count_at(fit, dr, rng, y - 1, t, {k: r.count for k, r in prev_rec.items()})
        if how == "count":
            r = prev_rec[t]
            prev, src = PreviousCount(float(r.count), r.derived, r.formula), "count in the releases"
        else:
            prev, src = PreviousCount(float(np.mean(prev_draws))), f"model estimate ({how}; not published)"
    prev_ytd = _as_previous("previous_ytd", previous_ytd)
    if prev_ytd is None and ytd_change_pct is not None:
        prev_ytd = derived_from_change(c, ytd_change_pct)
    elif prev_ytd is None and m in prev_rec:
        r = prev_rec[m]
        prev_ytd = PreviousCount(float(r.count), r.derived, r.formula)
    ytd_ch = None if prev_ytd is None else 100 * (c / prev_ytd.count - 1)
    if ytd_change_pct is not None and ytd_ch is not None and abs(ytd_ch - ytd_change_pct) > 0.051 \
            and previous_ytd is not None:
        notes.append(f"the counts give a year-to-date change of {fmt_percent(ytd_ch)}, the published one is "
                     f"{fmt_percent(ytd_change_pct)}")
    ch_draws = 100 * (draws / np.maximum(prev_draws, 1e-9) - 1)
    change = YtdChange(100 * (point / prev.count - 1), _quantiles(ch_draws, a), prev.count, src, prev.derived,
                       prev.formula, ytd_ch, None if prev_ytd is None else prev_ytd.count,
                       bool(prev_ytd is not None and prev_ytd.derived), None if prev_ytd is None else prev_ytd.formula,
                       a)
    sh = early_change_shrinkage(fit, y, m, t, ytd_count=c, alpha=a, n_draws=n, seed=sd)
    return YtdProjection(y, m, t, c, float(point), float(np.median(draws)), ci, float(point - c),
                         (ci[0] - c, ci[1] - c), seasonal_share(fit, m, alpha=a, n_draws=n, seed=sd),
                         seasonal_share(fit, t, alpha=a, n_draws=n, seed=sd), sh, change, a, n, sd, tuple(notes))


# ---------------------------------------------------------------- scoring
def interval_score(lower, upper, actual, alpha):
    """Interval score of a central ``(1 − alpha)`` prediction interval (lower is better).

    ``S = (u − l) + (2/α)(l − x)·1{x < l} + (2/α)(x − u)·1{x > u}`` (Gneiting & Raftery 2007, eq. 43).

    Parameters
    ----------
    lower, upper, actual : array_like
    alpha : float

    Returns
    -------
    ndarray or float

    References
    ----------
    Gneiting, T., & Raftery, A. E. (2007). JASA 102(477), 359–378.
    """
    a = validate.alpha("alpha", alpha)
    lo, hi, x = (np.asarray(v, float) for v in (lower, upper, actual))
    if np.any(hi < lo):
        raise ValueError("upper must be >= lower")
    s = (hi - lo) + (2 / a) * np.maximum(lo - x, 0) + (2 / a) * np.maximum(x - hi, 0)
    return float(s) if s.ndim == 0 else s


def years_coverage(rows: pd.DataFrame, alpha_ci: float = 0.05, rule: str = "first") -> tuple[int, int,
                                                                                              tuple[float, float]]:
    """Coverage over independent years: one Bernoulli per year, Clopper–Pearson interval.

    Parameters
    ----------
    rows : DataFrame
        Backtest rows with ``year``, ``origin`` and boolean ``covered``.
    alpha_ci : float
        1 − level of the Clopper–Pearson interval.
    rule : {"first", "all"}
        ``"first"``: a year counts as covered when its earliest-origin interval covered; ``"all"``: only when
        every one of its intervals did.

    Returns
    -------
    (covered_years, n_years, (lower, upper))
    """
    validate.one_of("rule", rule, ("first", "all"))
    a = validate.alpha("alpha_ci", alpha_ci)
    if rows.empty:
        return 0, 0, (math.nan, math.nan)
    g = rows.sort_values(["year", "origin"]).groupby("year")["covered"]
    per_year = g.first() if rule == "first" else g.all()
    k, n = int(per_year.sum()), int(len(per_year))
    ci = stats.binomtest(k, n).proportion_ci(1 - a, method="exact")
    return k, n, (float(ci.low), float(ci.high))


# ---------------------------------------------------------------- backtest
_RIVALS = {"carried": "year-to-date change carried to the target (previous target count × (1 + change))",
           "uniform": "uniform seasonal share (count × t/m)"}


@dataclass(frozen=True)
class YtdBacktest(Result):
    """Rolling-origin backtest of the projection against two simple rivals."""

    target_months: int
    alpha: float
    rows: pd.DataFrame
    scores: pd.DataFrame
    n_rows: int
    n_years: int
    covered_years: int
    estimate: float
    ci: tuple[float, float]
    covered_years_all: int
    rows_covered: int
    n_common: int
    n_common_years: int
    n_skipped: int
    seed: int
    n_draws: int
    method: str = MODEL + "; rolling origin, refitted on releases available before each release"
    assumptions: str = (
        "coverage over years: each year's earliest-origin interval is one Bernoulli trial (rows of one year share "
        "its level surprise and are not independent), Clopper–Pearson exact interval; rival intervals: the rival's "
        "point × exp(± t_k √(φ_r v)), v its Poisson delta-method log variance, φ_r the mean squared standardised "
        "log error of the same rival in the k earlier origins resolved before this one (k ≥ min_track_record)")

    @property
    def verdict(self) -> str:
        lvl = _level(self.alpha)
        if not self.n_rows:
            return "No release could be backtested."
        sc = self.scores.set_index("method")
        parts = [f"{m} {fmt_number(sc.loc[m, 'mean_score_by_year'], 4)}" for m in sc.index
                 if math.isfinite(sc.loc[m, "mean_score_by_year"])]
        comp = (f" Mean interval score (lower is better; rows averaged within a year, then over "
                f"{self.n_common_years} years; {self.n_common} rows where all three have an interval): "
                + ", ".join(parts) + "." if self.n_common else " No row had intervals from both rivals.")
        return (f"Rolling-origin backtest to month {self.target_months}: the earliest {lvl} interval of "
                f"{self.covered_years} of {self.n_years} years covered the actual count ({fmt_number(100 * self.estimate, 3)}%, "
                f"Clopper–Pearson 95% CI {fmt_number(100 * self.ci[0], 3)}% to {fmt_number(100 * self.ci[1], 3)}%); all of a "
                f"year's intervals covered in {self.covered_years_all} of {self.n_years} years; "
                f"{self.rows_covered} of {self.n_rows} rows covered ({self.n_skipped} origins could not be fitted)."
                + comp)


def _origin(r: Release) -> float | None:
    return r.year + r.last_month / 12 if r.derived else r.published_at


def _rival_point(kind, c, m, t, prev_m, prev_t):
    """(point, Poisson log variance) of a rival, or (nan, nan) when its inputs are missing."""
    if c <= 0:
        return math.nan, math.nan
    if kind == "uniform":
        return c * t / m, (1 - m / t) / c
    if prev_m is None or prev_t is None or prev_m <= 0 or prev_t <= 0:
        return math.nan, math.nan
    s = min(prev_m / prev_t, 1.0)
    return prev_t * c / prev_m, (1 - s) * (1 / c + 1 / prev_m)


def backtest_ytd(releases: Iterable[Release], target_months=12, *, harmonics=2, select_harmonics=True,
                 trend_degree=1, within_dispersion=None, between_method="cox-reid", alpha=0.05, n_draws=4000,
                 seed=0, derived_origins=True, min_within_df=1, min_track_record=2) -> YtdBacktest:
    """Rolling-origin backtest: each release projected from the releases published before it.

    Parameters
    ----------
    releases : iterable of Release
        Every release, each with a publication time (a derived figure without ``available`` raises).
    target_months : int, default 12
    harmonics, select_harmonics, trend_degree, within_dispersion, between_method, min_within_df
        Passed to :func:`fit_ytd_model` at every origin.
    alpha : float
        1 − level of the prediction intervals.
    n_draws, seed : int
        Simulation size and seed of every projection.
    derived_origins : bool, default True
        Also backtest derived counts (e.g. last year's count recovered from this year's percent change) as if
        released at the end of their period: the fit then uses only what was public at that time.
    min_track_record : int, default 2
        Fewest resolved earlier origins a rival needs to calibrate its interval.

    Returns
    -------
    YtdBacktest
        One row per (year, month) origin with the model's and the rivals' points, intervals and interval scores;
        coverage over years with a Clopper–Pearson interval; mean scores on the rows all three methods share.

    References
    ----------
    Tashman (2000); Gneiting & Raftery (2007); Clopper & Pearson (1934).
    """
    rel = check_releases(releases)
    t = _month("target_months", target_months)
    a = validate.alpha("alpha", alpha)
    n = validate.positive_int("n_draws", n_draws)
    sd = _seed(seed)
    validate.positive_int("min_track_record", min_track_record)
    for i, r in enumerate(rel):
        if r.published_at is None:
            raise ValueError(f"releases[{i}] (year {r.year}, month {r.last_month}) is derived and has no "
                             "'available' time; a backtest needs to know when it became public")
    by = {(r.year, r.last_month): r for r in rel}
    origins = [r for r in rel if r.last_month < t and (r.year, t) in by and (derived_origins or not r.derived)]
    origins.sort(key=lambda r: (_origin(r), r.year, r.last_month))
    rows = []
    for r in origins:
        o = _origin(r)
        use = [q for q in rel if q.published_at < o - _EPS_TIME]
        act = by[(r.year, t)]
        row = {"year": r.year, "months": r.last_month, "origin": o, "ytd_count": r.count, "ytd_derived": r.derived,
               "actual": act.count, "actual_derived": act.derived, "n_fit_releases": len(use),
               "fit_years": f"{min(q.year for q in use)}–{max(q.year for q in use)}" if use else "",
               "status": "ok"}
        try:
            fit = fit_ytd_model(use, harmonics=harmonics, select_harmonics=select_harmonics,
                                trend_degree=trend_degree, within_dispersion=within_dispersion,
                                between_method=between_method, alpha=a, min_within_df=min_within_df)
            pi = predictive_intervals(fit, r.year, r.last_month, [r.count], t, alpha=a, n_draws=n, seed=sd).iloc[0]
            row.update(harmonics_used=fit.harmonics_used, phi=fit.phi, tau=fit.estimate, point=pi["point"],
                       lower=pi["lower"], upper=pi["upper"])
        except ValueError as e:
            row.update(status=f"not fitted: {e}", harmonics_used=math.nan, phi=math.nan, tau=math.nan,
                       point=math.nan, lower=math.nan, upper=math.nan)
        for kind in _RIVALS:
            prev_m = by.get((r.year - 1, r.last_month))
            prev_t = by.get((r.year - 1, t))
            pm = prev_m.count if prev_m is not None and prev_m.published_at <= o + _EPS_TIME else None
            pt = prev_t.count if prev_t is not None and prev_t.published_at <= o + _EPS_TIME else None
            pt_, v = _rival_point(kind, r.count, r.last_month, t, pm, pt)
            row.update({f"{kind}_point": pt_, f"{kind}_v": v})
        rows.append(row)
    tab = pd.DataFrame(rows)
    if tab.empty:
        tab = pd.DataFrame(columns=["year", "months", "origin", "ytd_count", "ytd_derived", "actual",
                                    "actual_derived", "status", "point", "lower", "upper"]
                           + [f"{k}_{c}" for k in _RIVALS for c in ("point", "v")])
    # rival intervals from their own track record of resolved earlier origins
    q_actual_at = {(r.year, r.last_month): by[(r.year, t)].published_at for r in origins}
    for kind in _RIVALS:
        lows, highs, ks = [], [], []
        for _, row in tab.iterrows():
            past = tab[(tab["origin"] < row["origin"] - _EPS_TIME)
                       & np.array([q_actual_at[(y, mm)] < row["origin"] - _EPS_TIME
                                   for y, mm in zip(tab["year"], tab["months"])], dtype=bool)
                       & np.isfinite(tab[f"{kind}_point"].astype(float))]
            z2 = (np.log(past["actual"].astype(float) / past[f"{kind}_point"].astype(float)) ** 2
                  / past[f"{kind}_v"].astype(float))
            k = len(z2)
            p_, v = float(row[f"{kind}_point"]), float(row[f"{kind}_v"])
            if k >= min_track_record and math.isfinite(p_):
                half = float(stats.t.ppf(1 - a / 2, k)) * math.sqrt(float(z2.mean()) * v)
                lows.append(p_ * math.exp(-half))
                highs.append(p_ * math.exp(half))
            else:
                lows.append(math.nan)
                highs.append(math.nan)
            ks.append(k)
        tab[f"{kind}_lower"], tab[f"{kind}_upper"], tab[f"{kind}_k"] = lows, highs, ks
    for kind in ["model", *_RIVALS]:
        pre = "" if kind == "model" else f"{kind}_"
        lo, hi = tab[f"{pre}lower"].astype(float), tab[f"{pre}upper"].astype(float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        sc = np.full(len(tab), math.nan)
        if ok.any():
            sc[ok.to_numpy()] = interval_score(lo[ok], hi[ok], tab.loc[ok, "actual"].astype(float), a)
        tab[f"{pre}score"] = sc
        cov = np.where(ok, (tab["actual"] >= lo) & (tab["actual"] <= hi), np.nan)
        tab[f"{pre}covered"] = [None if np.isnan(v) else bool(v) for v in cov]
    fitted = tab[np.isfinite(tab["lower"].astype(float))] if len(tab) else tab
    mod = fitted.assign(covered=fitted["covered"].astype(bool)) if len(fitted) else fitted
    k1, n_y, ci = years_coverage(mod, 0.05, "first") if len(mod) else (0, 0, (math.nan, math.nan))
    k_all = years_coverage(mod, 0.05, "all")[0] if len(mod) else 0
    common = tab[np.isfinite(tab["score"]) & np.isfinite(tab["carried_score"]) & np.isfinite(tab["uniform_score"])]
    srows = []
    for kind in ["model", *_RIVALS]:
        pre = "" if kind == "model" else f"{kind}_"
        col = common[f"{pre}score"]
        by_year = common.groupby("year")[f"{pre}score"].mean() if len(common) else pd.Series(dtype=float)
        own = tab[np.isfinite(tab[f"{pre}score"])]
        srows.append({"method": kind, "description": MODEL if kind == "model" else _RIVALS[kind],
                      "common_rows": len(common), "common_years": int(common["year"].nunique()) if len(common) else 0,
                      "mean_score": float(col.mean()) if len(col) else math.nan,
                      "mean_score_by_year": float(by_year.mean()) if len(by_year) else math.nan,
                      "coverage_common": float(common[f"{pre}covered"].astype(bool).mean()) if len(common) else math.nan,
                      "own_rows": len(own),
                      "own_coverage": float(own[f"{pre}covered"].astype(bool).mean()) if len(own) else math.nan,
                      "own_mean_score": float(own[f"{pre}score"].mean()) if len(own) else math.nan})
    scores = pd.DataFrame(srows)
    return YtdBacktest(t, a, tab, scores, int(len(mod)), n_y, k1, k1 / n_y if n_y else math.nan, ci, k_all,
                       int(mod["covered"].sum()) if len(mod) else 0, int(len(common)),
                       int(common["year"].nunique()) if len(common) else 0,
                       int((tab["status"] != "ok").sum()) if len(tab) else 0, sd, n)
