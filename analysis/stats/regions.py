"""Regional comparisons of injury counts: expected counts, funnel limits, shrinkage, exact tests, ranks,
and what a truncated "top regions" publication allows about the rest.

Model throughout: the observed count of region i is ``O_i ~ Poisson(E_i * theta_i)``, where ``E_i`` is the
expected count (national rate x regional exposure, or an equal share of the total when no exposure exists)
and ``theta_i`` is the standardised injury ratio (SIR, estimated by ``O_i / E_i``; 1 = national level).

Methods and formulas (all documented here once; the functions name them in their ``method`` fields):

* Funnel limits (Spiegelhalter 2005, Stat Med 24:1185). For expected count ``E`` and tail probability ``p``
  let ``r_p`` be the exact Poisson ``p``-quantile (``scipy.stats.poisson.ppf``). With ``interpolate=True``
  (default) the limit on the count scale is Spiegelhalter's interpolated quantile
  ``r_p - (F(r_p) - p) / (F(r_p) - F(r_p - 1))`` (``F`` the Poisson(E) cdf), i.e. the piecewise-linear inverse
  of the cdf, which makes the limits continuous in ``E``; negative values are clamped at 0. With
  ``interpolate=False`` the plain exact quantile ``r_p`` is used. Ratio-scale limits are count limits / ``E``.
  Levels 95% and 99.8% are two-sided: ``p = 0.025, 0.975`` and ``p = 0.001, 0.999``. A region is flagged
  "above"/"below" when its O/E is strictly beyond a limit. Discreteness: the interpolated upper ratio limit
  is not strictly monotone in ``E`` (it can rise by < 0.03 over a 10% increase of ``E`` for ``E >= 1``), but
  it falls across any 1.5-fold increase of ``E >= 1`` (plain quantiles: any 2-fold increase); lower limits
  rise monotonically with ``E``.
* Over-dispersion (Spiegelhalter 2005, section 6). Pearson z-scores ``z_i = (O_i - E_i) / sqrt(E_i)`` are
  winsorised (values beyond the ``winsor`` and ``1 - winsor`` sample quantiles, linear interpolation, are
  pulled in to them; default 10%), and ``phi = mean(z_w^2)``; ``I * phi`` is compared with chi-square on
  ``I - ddof`` degrees of freedom. Multiplicative limits: ``1 + (L_exact - 1) * sqrt(max(phi, 1))`` (the
  exact limits' distance from 1 scaled, so they reduce to the exact limits when phi <= 1). Additive random
  effects (DerSimonian-Laird form on the SIR scale, Spiegelhalter 2005 section 6.2):
  ``tau2 = max(0, (I * phi - (I - 1)) / (sum w - sum w^2 / sum w))`` with ``w_i = 1 / s_i^2 = E_i`` (the
  Poisson variance of O/E is 1/E), and limits ``1 +/- z_{level} * sqrt(1 / E + tau2)`` (normal, clamped at 0).
* Empirical Bayes: ``theta_i ~ Gamma(shape a, rate b)``; posterior ``Gamma(a + O_i, b + E_i)`` with mean
  ``(a + O_i) / (b + E_i)`` = a weighted average of O/E and the prior mean a/b. Prior by method of moments
  (``"mm"``, Marshall 1991, Appl Stat 40:283: ``m = sum O / sum E``, ``v = sum E_i (O_i/E_i - m)^2 / sum E
  - m / mean(E)``) or marginal maximum likelihood (``"ml"``: negative-binomial marginal likelihood, profiled
  over the mean and maximised over log shape in [-10, log 1e8]). ``prior_mean`` can fix ``m`` (e.g. at 1, the
  national level, when only top-selected regions are available). ``v <= 0`` (or an ML shape at its bound)
  means a point-mass prior: every region is shrunk fully to ``m``. Posterior intervals are gamma quantiles;
  they ignore the uncertainty of the estimated prior (the usual empirical-Bayes understatement).
* Exact Poisson tests of O vs E: one-sided ``P(X >= O | E)`` and two-sided by the minimum-likelihood rule
  (sum of ``P(X = k)`` over ``k`` with ``P(X = k) <= P(X = O) * (1 + 1e-7)``, as R's ``poisson.test``).
  SIR intervals are exact (Garwood) chi-square intervals. Holm and Benjamini-Hochberg via
  ``statsmodels.stats.multitest.multipletests``; with ``m`` larger than the regions supplied (unpublished
  regions), the vector is padded with p = 1 for the missing regions. That is exact for Holm, and
  conservative for BH, when the unpublished regions' p-values are at least the published ones' (true under
  equal shares, where every unpublished count is <= the smallest published count).
* Rank intervals: ``n_draws`` seeded draws (``numpy.random.default_rng(seed)``) of every region's ratio, either
  ``Poisson(O_i) / E_i`` (parametric bootstrap) or the EB posterior gamma; ranks with 1 = highest, ties
  averaged; the interval is the (alpha/2, 1 - alpha/2) empirical quantile pair (``inverted_cdf``).
* Truncated publication: if only the top ``k`` of ``n`` regions are published, each unpublished region is
  <= the smallest published count and together they hold ``total - sum(published)``; pigeonhole bounds follow.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats
from statsmodels.stats.multitest import multipletests

from analysis.core import validate
from analysis.core.fmt import fmt_pvalue
from analysis.core.results import Result
from analysis.stats.compare import holm
from analysis.stats.rates import garwood_interval, poisson_exact_pvalue

KZ_FIRST_LEVEL_UNITS = 20
"""Kazakhstan's first-level units since June 2022: 17 regions (oblys) + 3 cities (Astana, Almaty, Shymkent)."""

DEFAULT_SEED = 2025

# --------------------------------------------------------------------------------------------------------
# input helpers


def _named(name: str, values, names=None) -> tuple[list[str], list]:
    """Split a Mapping / pandas Series / sequence (+ names) into (names, values), checking shape only."""
    if isinstance(values, pd.DataFrame):
        raise ValueError(f"{name} must be a Mapping, Series or sequence (pass df.set_index(...)[col]), got a DataFrame")
    if isinstance(values, Mapping):
        if names is not None:
            raise ValueError(f"names must be None when {name} is a Mapping (its keys are the names), got {names!r}")
        keys, vals = list(values.keys()), list(values.values())
    elif isinstance(values, pd.Series):
        if names is not None:
            raise ValueError(f"names must be None when {name} is a Series (its index holds the names), got {names!r}")
        keys, vals = list(values.index), values.tolist()
    elif isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise ValueError(f"{name} must be a Mapping, Series or sequence of numbers, got {values!r}")
    else:
        vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
        if names is None:
            keys = [f"region {i + 1}" for i in range(len(vals))]
        else:
            if isinstance(names, (str, bytes)):
                raise ValueError(f"names must be a sequence of region names, got {names!r}")
            keys = list(names)
            if len(keys) != len(vals):
                raise ValueError(f"names must have one entry per {name} value ({len(vals)}), got {len(keys)}: {names!r}")
    if len(vals) == 0:
        raise ValueError(f"{name} must not be empty, got {values!r}")
    keys = [str(k) for k in keys]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{name} has duplicate region names: {keys!r}")
    return keys, vals


def _counts(name: str, values, names=None) -> tuple[list[str], np.ndarray]:
    keys, vals = _named(name, values, names)
    return keys, np.array([validate.count(f"{name}[{k!r}]", v) for k, v in zip(keys, vals, strict=True)], dtype=int)


def _aligned_positive(name: str, values, keys: list[str], *, allow_extra: bool = False) -> dict[str, float]:
    """Positive numbers keyed by region: a Mapping/Series with every key in ``keys``, or a sequence aligned to it."""
    if isinstance(values, (Mapping, pd.Series)):
        k2, v2 = _named(name, values)
    else:
        _, v2 = _named(name, values)
        if len(v2) != len(keys):
            raise ValueError(f"{name} must have one value per observed region ({len(keys)}), got {values!r}")
        k2 = keys
    out = {k: validate.positive(f"{name}[{k!r}]", v) for k, v in zip(k2, v2, strict=True)}
    missing = [k for k in keys if k not in out]
    if missing:
        raise ValueError(f"{name} is missing regions {missing!r} (has {sorted(out)!r})")
    extra = [k for k in out if k not in keys]
    if extra and not allow_extra:
        raise ValueError(f"{name} has regions not in observed: {extra!r}")
    return out


def _check_level(name: str, value) -> float:
    return validate.alpha(name, value)


def _level_label(level: float) -> str:
    return f"{100 * level:g}"


def _garwood(o: np.ndarray, e: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for the Poisson mean O (``analysis.stats.rates.garwood_interval``), divided by E."""
    lo, hi = (np.array(v, dtype=float).reshape(-1) for v in zip(*(garwood_interval(int(x), alpha)
                                                                  for x in np.asarray(o).reshape(-1)), strict=True))
    return lo / e, hi / e


def _poisson_quantile(p: float, mu, interpolate: bool = True) -> np.ndarray:
    """Exact Poisson p-quantile, optionally with Spiegelhalter's (2005) interpolation; clamped at 0."""
    mu = np.asarray(mu, dtype=float)
    r = stats.poisson.ppf(p, mu)
    if not interpolate:
        return r
    f_r = stats.poisson.cdf(r, mu)
    f_rm1 = stats.poisson.cdf(r - 1, mu)
    return np.maximum(r - (f_r - p) / (f_r - f_rm1), 0.0)


def _p_above(o: int, e: float) -> float:
    return float(stats.poisson.sf(o - 1, e))


def _adjust(pvalues, m: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Holm and BH adjusted p-values for the given p's, in a family of ``m`` tests (padded with p = 1)."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p) if m is None else m
    if m < len(p):
        raise ValueError(f"m must be at least the number of p-values ({len(p)}), got {m!r}")
    padded = np.concatenate([p, np.ones(m - len(p))])
    # Holm by compare.holm: statsmodels' multipletests(method="holm") runs gc.collect() on every call (0.2 s in a
    # large process such as a test worker). Its BH path does not.
    return holm(padded)[: len(p)], multipletests(padded, method="fdr_bh")[1][: len(p)]


def _names_or_none(names) -> str:
    names = list(names)
    return ", ".join(names) if names else "none"


def _fmt(x: float, nd: int = 2) -> str:
    """A number to ``nd`` decimals for the verdict sentences (blank when missing: the policy of analysis.core.fmt)."""
    return "" if x is None or not math.isfinite(x) else f"{x:.{nd}f}"


_fmt_p = fmt_pvalue


# --------------------------------------------------------------------------------------------------------
# expected counts


@dataclass(frozen=True, eq=False)
class ExpectedCounts(Result):
    """Expected counts per region and the basis they rest on (exposure or equal shares)."""

    basis: str
    basis_note: str
    total: int
    n_regions: int
    total_exposure: float | None
    national_rate: float | None
    table: pd.DataFrame

    @property
    def verdict(self) -> str:
        return self.basis_note


def expected_counts(observed, exposure=None, *, total: int | None = None, total_exposure: float | None = None,
                    n_regions: int | None = None, names=None) -> ExpectedCounts:
    """Expected counts E_i: national rate x regional exposure, or total / n_regions when no exposure is given.

    ``exposure`` may list more regions than ``observed`` (the unpublished ones); then ``total`` is required.

    Parameters
    ----------
    observed : Mapping, pandas.Series or sequence of int
        Observed count per region (non-negative integers); a Mapping's keys or a Series' index name the
        regions.
    exposure : Mapping, pandas.Series, sequence of float or None, default None
        Exposure per region (positive, e.g. workers), keyed by region or aligned with ``observed``; None for
        equal shares of the total.
    total : int or None, keyword-only, default None
        National count (positive, at least the sum of ``observed``); None for the sum of ``observed``.
        Required when ``observed`` holds only some of the regions.
    total_exposure : float or None, keyword-only, default None
        National exposure (positive, at least the summed ``exposure``); None for the sum of ``exposure``.
        Needs ``exposure``.
    n_regions : int or None, keyword-only, default None
        Number of regions in the country (positive, at least the number observed); None for the number of
        regions in ``exposure`` (or in ``observed`` without exposure).
    names : sequence of str or None, keyword-only, default None
        Region names for a plain sequence ``observed``.

    Returns
    -------
    ExpectedCounts
        The ``basis`` ("exposure" or "equal shares") with an explanatory ``basis_note``, ``total``,
        ``n_regions``, ``total_exposure`` and ``national_rate`` (None for equal shares), and a ``table`` of
        region, observed, exposure, expected and ratio O/E.
    """
    keys, obs = _counts("observed", observed, names)
    if total is not None:
        validate.positive_int("total", total)
        if total < obs.sum():
            raise ValueError(f"total must be at least the sum of observed counts ({int(obs.sum())}), got {total!r}")
    if n_regions is not None:
        validate.positive_int("n_regions", n_regions)
        if n_regions < len(keys):
            raise ValueError(f"n_regions must be at least the number of observed regions ({len(keys)}), got {n_regions!r}")
    if exposure is None:
        if total_exposure is not None:
            raise ValueError(f"total_exposure needs exposure; got total_exposure={total_exposure!r} with exposure=None")
        n = len(keys) if n_regions is None else n_regions
        if total is None:
            if n > len(keys):
                raise ValueError(f"total is required when n_regions ({n}) exceeds the observed regions ({len(keys)}), got None")
            total = int(obs.sum())
            if total == 0:
                raise ValueError(f"observed must contain at least one injury to set a national level, got {observed!r}")
        elif n == len(keys) and total != obs.sum():
            raise ValueError(
                f"total ({total!r}) differs from the sum of observed ({int(obs.sum())}) although observed covers all "
                f"{n} regions; pass n_regions (e.g. {KZ_FIRST_LEVEL_UNITS} for Kazakhstan since June 2022)")
        e = np.full(len(keys), total / n)
        table = pd.DataFrame({"region": keys, "observed": obs, "exposure": np.nan, "expected": e, "ratio": obs / e})
        note = (f"Basis: EQUAL SHARES - no exposure was given, so every region is expected to have "
                f"{total}/{n} = {total / n:.2f} injuries. This ignores workforce size: a large or industrial region "
                f"will look 'high' merely for being large. Regional employment would change every expected count.")
        return ExpectedCounts("equal shares", note, int(total), int(n), None, None, table)

    expo = _aligned_positive("exposure", exposure, keys, allow_extra=True)
    extra = [k for k in expo if k not in keys]
    if total_exposure is None:
        total_exposure = float(sum(expo.values()))
        n = len(expo) if n_regions is None else n_regions
        if n_regions is not None and n_regions != len(expo):
            raise ValueError(f"n_regions ({n_regions!r}) must equal the number of exposure entries ({len(expo)}) "
                             f"unless total_exposure is given")
    else:
        validate.positive("total_exposure", total_exposure)
        n = len(expo) if n_regions is None else n_regions
        if total_exposure < sum(expo.values()) * (1 - 1e-12):
            raise ValueError(f"total_exposure must be at least the summed exposure ({sum(expo.values()):g}), got {total_exposure!r}")
    partial = bool(extra) or total_exposure > sum(expo[k] for k in keys) * (1 + 1e-12)
    if not partial and total is not None and total != obs.sum():
        raise ValueError(f"total ({total!r}) differs from the sum of observed ({int(obs.sum())}) although exposure covers "
                         f"only the observed regions; give the exposure of every region (or total_exposure)")
    if total is None:
        if partial:
            raise ValueError("total (the national count) is required when exposure covers regions not in observed; got None")
        total = int(obs.sum())
        if total == 0:
            raise ValueError(f"observed must contain at least one injury to set a national rate, got {observed!r}")
    rate = total / total_exposure
    x = np.array([expo[k] for k in keys])
    e = rate * x
    table = pd.DataFrame({"region": keys, "observed": obs, "exposure": x, "expected": e, "ratio": obs / e})
    note = (f"Basis: EXPOSURE - expected = national rate ({total} / {total_exposure:g} = {rate:.4g} per unit of "
            f"exposure) x each region's exposure. The conclusion depends on the exposure measure (workers vs "
            f"population) and on its period matching the injury counts.")
    return ExpectedCounts("exposure", note, int(total), int(n), float(total_exposure), float(rate), table)


# --------------------------------------------------------------------------------------------------------
# funnel limits


def _limits(ev: np.ndarray, level: float, interpolate: bool, phi: float, tau2: float) -> dict[str, np.ndarray]:
    """Two-sided funnel limits at ``level`` for expected counts ``ev``: exact Poisson (count and ratio scale),
    widened multiplicatively by ``sqrt(phi)`` (``phi >= 1``) and additive (normal, SIR variance 1/E + tau2)."""
    a = (1 - level) / 2
    lo_c = _poisson_quantile(a, ev, interpolate)
    hi_c = _poisson_quantile(1 - a, ev, interpolate)
    lo, hi = lo_c / ev, hi_c / ev
    zq = stats.norm.ppf(1 - a)
    sd = np.sqrt(1 / ev + tau2)
    return {
        "lower": lo, "upper": hi, "lower_count": lo_c, "upper_count": hi_c,
        "lower_phi": np.maximum(1 + (lo - 1) * math.sqrt(phi), 0.0),
        "upper_phi": 1 + (hi - 1) * math.sqrt(phi),
        "lower_tau": np.maximum(1 - zq * sd, 0.0), "upper_tau": 1 + zq * sd,
    }


MODELS = ("poisson", "quasi-poisson", "additive")


def pvalues_above(observed, expected, model: str = "poisson", *, phi: float = 1.0, df: float | None = None,
                  tau2: float = 0.0) -> np.ndarray:
    """One-sided p-values for "more than expected", vectorised over regions.

    Parameters
    ----------
    observed : array of int
        Counts O.
    expected : array of float
        Expected counts E (> 0), broadcast against ``observed``.
    model : {'poisson', 'quasi-poisson', 'additive'}
        ``'poisson'``: exact tail ``P(X >= O | E)``. ``'quasi-poisson'``: score statistic
        ``z = (O - E) / sqrt(phi E)`` (variance ``phi`` times the mean) against the normal distribution, or
        against Student's t with ``df`` degrees of freedom when ``phi`` was estimated on ``df`` residual degrees of
        freedom. ``'additive'``: Spiegelhalter's (2005) random-effects z-score on the ratio scale,
        ``z = (O/E - 1) / sqrt(1/E + tau2)``, against the normal distribution.
    phi : float
        Over-dispersion (quasi-Poisson), ``> 0``.
    df : float, optional
        Degrees of freedom behind an estimated ``phi`` (quasi-Poisson only).
    tau2 : float
        Between-region variance of the ratio (additive), ``>= 0``.

    Returns
    -------
    ndarray of float

    References
    ----------
    Spiegelhalter D.J. (2005). Funnel plots for comparing institutional performance. Stat Med 24:1185-1202.
    McCullagh P., Nelder J.A. (1989). Generalized Linear Models, 2nd ed., section 9.2 (quasi-likelihood).
    """
    validate.one_of("model", model, MODELS)
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    if np.any(o < 0) or np.any(o != np.round(o)):
        raise ValueError(f"observed must be non-negative integer counts, got {observed!r}")
    if np.any(~np.isfinite(e)) or np.any(e <= 0):
        raise ValueError(f"expected must be finite numbers > 0, got {expected!r}")
    if model == "poisson":
        return stats.poisson.sf(o - 1, e)
    if model == "quasi-poisson":
        validate.positive("phi", phi)
        z = (o - e) / np.sqrt(phi * e)
        return stats.norm.sf(z) if df is None else stats.t.sf(z, validate.positive("df", df))
    t2 = validate.finite("tau2", tau2)
    if t2 < 0:
        raise ValueError(f"tau2 must be >= 0, got {tau2!r}")
    return stats.norm.sf((o / e - 1) / np.sqrt(1 / e + t2))


def ratio_ci_quasi(observed: int, expected: float, phi: float = 1.0, df: float | None = None,
                   alpha: float = 0.05) -> tuple[float, float]:
    """Score interval for the ratio O/E under quasi-Poisson variation (variance ``phi`` times the mean).

    The ratios ``theta`` with ``(O - theta E)^2 <= c^2 phi theta E``, where ``c`` is the two-sided normal
    quantile
    or, when ``phi`` was estimated on ``df`` degrees of freedom, Student's t quantile: the inversion of the
    score
    test of :func:`pvalues_above`. With ``phi = 1`` and no ``df`` it is the Poisson score interval
    (``statsmodels.stats.rates.confint_poisson(O, E, method='score')``).

    Parameters
    ----------
    observed : int
        Observed count O (non-negative integer).
    expected : float
        Expected count E (positive).
    phi : float, default 1.0
        Dispersion φ (variance φ·μ, positive).
    df : float or None, default None
        Degrees of freedom φ was estimated on (Student t quantile); None for the normal quantile.
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).

    Returns
    -------
    tuple of (float, float)
        Lower and upper limits for the ratio O/E.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    o = validate.count("observed", observed)
    e = validate.positive("expected", expected)
    f = validate.positive("phi", phi)
    a = validate.alpha("alpha", alpha)
    c = stats.norm.ppf(1 - a / 2) if df is None else stats.t.ppf(1 - a / 2, validate.positive("df", df))
    b = 2 * o + c * c * f
    root = math.sqrt(b * b - 4 * o * o)
    return float((b - root) / (2 * e)), float((b + root) / (2 * e))


def upper_limit(expected, level: float = 0.998, model: str = "poisson", *, phi: float = 1.0, tau2: float = 0.0,
                interpolate: bool = True) -> np.ndarray:
    """The upper funnel limit on the ratio scale (O/E) at ``level`` (two-sided) for each expected count.

    Parameters
    ----------
    expected : array of float
    level : float
        Two-sided level, e.g. 0.998 (the limit is the 0.999 quantile).
    model : {'poisson', 'quasi-poisson', 'additive'}
        ``'poisson'``: exact Poisson limit with Spiegelhalter's interpolation; ``'quasi-poisson'``: its distance from
        1 times ``sqrt(phi)`` (``phi < 1`` is taken as 1); ``'additive'``: ``1 + z sqrt(1/E + tau2)``.
    phi, tau2 : float
    interpolate : bool

    Returns
    -------
    ndarray of float
        The same formulas as :func:`funnel_limits`; a region is flagged when its ratio is strictly above the limit.

    References
    ----------
    Spiegelhalter D.J. (2005). Funnel plots for comparing institutional performance. Stat Med 24:1185-1202.
    """
    validate.one_of("model", model, MODELS)
    lv = _check_level("level", level)
    e = np.asarray(expected, dtype=float)
    if np.any(~np.isfinite(e)) or np.any(e <= 0):
        raise ValueError(f"expected must be finite numbers > 0, got {expected!r}")
    d = _limits(e, lv, interpolate, max(validate.positive("phi", phi), 1.0), validate.finite("tau2", tau2))
    return d[{"poisson": "upper", "quasi-poisson": "upper_phi", "additive": "upper_tau"}[model]]


@dataclass(frozen=True, eq=False)
class FunnelResult(Result):
    """Funnel-plot control limits over a grid of expected counts, over-dispersion estimates, per-region flags."""

    method: str
    levels: tuple[float, ...]
    interpolate: bool
    winsor: float
    phi: float
    phi_df: int
    phi_p: float
    tau2: float
    limits: pd.DataFrame
    regions: pd.DataFrame

    def flagged(self, level: float = 0.998, adjustment: str = "none", direction: str = "above") -> list[str]:
        """Regions beyond the limit at ``level`` under ``adjustment`` ("none", "phi", "tau").

        Parameters
        ----------
        level : float, default 0.998
            Two-sided level of the limits; one of ``levels``.
        adjustment : {"none", "phi", "tau"}, default "none"
            Exact Poisson limits, limits widened by the multiplicative over-dispersion φ, or by the additive
            random-effects τ².
        direction : {"above", "below", "within"}, default "above"
            Ratio O/E strictly above the upper limit, strictly below the lower one, or between them.

        Returns
        -------
        list of str
            The regions with that flag, in ``regions`` order.

        Raises
        ------
        ValueError
            Naming the argument, if ``level`` is not one of ``levels``, or ``adjustment`` or ``direction`` is not
            one of its choices.

        References
        ----------
        Spiegelhalter D.J. (2005). Funnel plots for comparing institutional performance. Stat Med 24:1185-1202.
        """
        validate.one_of("level", level, self.levels)
        validate.one_of("adjustment", adjustment, ("none", "phi", "tau"))
        validate.one_of("direction", direction, ("above", "below", "within"))
        col = f"flag_{_level_label(level)}" + ("" if adjustment == "none" else f"_{adjustment}")
        return list(self.regions.loc[self.regions[col] == direction, "region"])

    @property
    def verdict(self) -> str:
        hi, lo = max(self.levels), min(self.levels)
        parts = [f"Funnel plot ({self.method}) for {len(self.regions)} regions."]
        parts.append(f"Above the {_level_label(hi)}% limit: {_names_or_none(self.flagged(hi))}; above "
                     f"{_level_label(lo)}%: {_names_or_none(self.flagged(lo))}; below {_level_label(lo)}%: "
                     f"{_names_or_none(self.flagged(lo, direction='below'))}.")
        parts.append(f"Over-dispersion phi = {_fmt(self.phi)} (winsorised {100 * self.winsor:g}% z-scores; "
                     f"chi-square {self.phi_df} df, p = {_fmt_p(self.phi_p)}); tau2 = {_fmt(self.tau2, 4)}.")
        parts.append(f"With multiplicative phi, above {_level_label(hi)}%: {_names_or_none(self.flagged(hi, 'phi'))}; "
                     f"with additive tau2: {_names_or_none(self.flagged(hi, 'tau'))}.")
        parts.append("A different exposure basis moves every expected count; phi and tau2 from a handful of "
                     "(possibly top-selected) regions are themselves very uncertain.")
        return " ".join(parts)


def funnel_limits(observed, expected, *, names=None, levels: Sequence[float] = (0.95, 0.998),
                  interpolate: bool = True, winsor: float = 0.1, ddof: int = 0, grid=None,
                  n_grid: int = 200) -> FunnelResult:
    """Exact Poisson funnel limits for O/E (95% and 99.8%), with Spiegelhalter's phi and tau2 adjustments.

    Returns a long table of limits over a grid of expected counts (for plotting) and per-region flags.
    Formulas
    in the module docstring: interpolated exact Poisson quantiles, a winsorised over-dispersion φ with
    multiplicative limits, and an additive random-effects τ² of DerSimonian-Laird form.

    Parameters
    ----------
    observed : Mapping, pandas.Series or sequence of int
        Observed count O_i per region (non-negative integers); a Mapping's keys or a Series' index name the
        regions.
    expected : Mapping, pandas.Series or sequence of float
        Expected count E_i per region (positive), keyed like ``observed`` or aligned with it.
    names : sequence of str or None, keyword-only, default None
        Region names for a plain sequence ``observed`` (default "region 1", "region 2", ...); must be None for
        a Mapping or Series.
    levels : sequence of float, keyword-only, default (0.95, 0.998)
        Two-sided confidence levels of the limits, each in (0, 1).
    interpolate : bool, keyword-only, default True
        Spiegelhalter's interpolated quantiles (continuous in E); False for plain exact Poisson quantiles.
    winsor : float, keyword-only, default 0.1
        Winsorising fraction of the z-scores for φ, in [0, 0.5).
    ddof : int, keyword-only, default 0
        Degrees of freedom subtracted from the number of regions in the χ² test of φ (non-negative; at least 1
        df must remain).
    grid : sequence of float or None, keyword-only, default None
        Expected counts at which to tabulate the limits (positive); None for ``n_grid`` log-spaced points from
        half the smallest to twice the largest E.
    n_grid : int, keyword-only, default 200
        Number of grid points when ``grid`` is None (at least 2).

    Returns
    -------
    FunnelResult
        ``phi`` with its ``phi_df`` and ``phi_p`` (χ² test of φ = 1), ``tau2``, a ``limits`` table over the
        grid (exact, φ-inflated and random-effects limits at each level) and a ``regions`` table with each
        region's ratio and flags.

    References
    ----------
    Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance. Statistics in Medicine
        24, 1185-1202.
    DerSimonian, R. and Laird, N. (1986). Meta-analysis in clinical trials. Controlled Clinical Trials 7,
    177-188.
    """
    keys, obs = _counts("observed", observed, names)
    ex = _aligned_positive("expected", expected, keys)
    e = np.array([ex[k] for k in keys])
    if len(keys) < 2:
        raise ValueError(f"observed must have at least 2 regions for a funnel plot, got {len(keys)}")
    if isinstance(levels, (int, float)) or len(levels) == 0:
        raise ValueError(f"levels must be a non-empty sequence of confidence levels, got {levels!r}")
    levels = tuple(_check_level(f"levels[{i}]", lv) for i, lv in enumerate(levels))
    if not isinstance(interpolate, bool):
        raise ValueError(f"interpolate must be True or False, got {interpolate!r}")
    w = validate.finite("winsor", winsor)
    if not 0 <= w < 0.5:
        raise ValueError(f"winsor must be in [0, 0.5), got {winsor!r}")
    validate.count("ddof", ddof)
    n_i = len(keys)
    if n_i - ddof < 1:
        raise ValueError(f"ddof must leave at least 1 degree of freedom ({n_i} regions), got {ddof!r}")
    if grid is None:
        validate.positive_int("n_grid", n_grid)
        if n_grid < 2:
            raise ValueError(f"n_grid must be at least 2, got {n_grid!r}")
        grid = np.geomspace(max(e.min() / 2, 0.5), max(e.max() * 2, 1.0), n_grid)
    else:
        if isinstance(grid, (str, bytes, numbers.Number)):
            raise ValueError(f"grid must be a sequence of expected counts, got {grid!r}")
        g = [validate.positive(f"grid[{i}]", v) for i, v in enumerate(grid)]
        if not g:
            raise ValueError(f"grid must not be empty, got {grid!r}")
        grid = np.array(sorted(g))

    z = (obs - e) / np.sqrt(e)
    if w > 0:
        q_lo, q_hi = np.quantile(z, [w, 1 - w])
        zw = np.clip(z, q_lo, q_hi)
    else:
        zw = z
    phi = float(np.mean(zw**2))
    df = n_i - ddof
    phi_p = float(stats.chi2.sf(n_i * phi, df))
    sw = e.sum()
    tau2 = float(max(0.0, (n_i * phi - (n_i - 1)) / (sw - (e**2).sum() / sw)))
    phi_used = max(phi, 1.0)

    def lims(ev: np.ndarray, level: float) -> dict[str, np.ndarray]:
        return _limits(ev, level, interpolate, phi_used, tau2)

    frames = []
    for lv in levels:
        d = lims(grid, lv)
        frames.append(pd.DataFrame({"expected": grid, "level": lv, **d}))
    limits = pd.concat(frames, ignore_index=True)

    ratio = obs / e
    reg = pd.DataFrame({"region": keys, "observed": obs, "expected": e, "ratio": ratio, "z": z, "z_winsorised": zw})
    for lv in levels:
        d = lims(e, lv)
        lab = _level_label(lv)
        reg[f"lower_{lab}"] = d["lower"]
        reg[f"upper_{lab}"] = d["upper"]
        for suffix, lo_key, hi_key in (("", "lower", "upper"), ("_phi", "lower_phi", "upper_phi"),
                                       ("_tau", "lower_tau", "upper_tau")):
            reg[f"flag_{lab}{suffix}"] = np.where(ratio > d[hi_key], "above",
                                                  np.where(ratio < d[lo_key], "below", "within"))
    method = ("exact Poisson limits, Spiegelhalter (2005) interpolated quantiles" if interpolate
              else "exact Poisson limits, plain quantiles (poisson.ppf)")
    return FunnelResult(method, levels, interpolate, w, phi, df, phi_p, tau2, limits, reg)


# --------------------------------------------------------------------------------------------------------
# empirical Bayes


@dataclass(frozen=True, eq=False)
class ShrinkageResult(Result):
    """Poisson-gamma empirical-Bayes shrinkage of regional ratios (and rates) with posterior intervals."""

    method: str
    estimator: str
    alpha: float
    prior_mean: float
    prior_var: float
    prior_shape: float
    prior_rate: float
    degenerate: bool
    table: pd.DataFrame

    @property
    def verdict(self) -> str:
        t = self.table
        top = t.loc[t["ratio"].idxmax()]
        lvl = f"{100 * (1 - self.alpha):g}%"
        s = (f"Empirical-Bayes Poisson-gamma shrinkage ({self.method}): prior mean SIR {_fmt(self.prior_mean)}, "
             f"prior variance {_fmt(self.prior_var, 4)}. Highest raw SIR {top['region']} {_fmt(top['ratio'])} shrinks "
             f"to {_fmt(top['shrunk_ratio'])} ({lvl} posterior interval {_fmt(top['shrunk_lower'])}-"
             f"{_fmt(top['shrunk_upper'])}).")
        if self.degenerate:
            s += (" No between-region variation beyond Poisson noise was estimated, so every region is shrunk fully "
                  "to the prior mean; a larger estimated prior variance (more regions or periods) would separate them.")
        else:
            s += (" More regions or more periods would sharpen the prior; intervals ignore the prior's own "
                  "uncertainty, and a prior fitted to top-selected regions is biased upwards.")
        return s


def _eb_prior(obs: np.ndarray, e: np.ndarray, method: str, fixed_mean: float | None = None
              ) -> tuple[float, float, bool]:
    """(prior mean, prior variance, degenerate) for the gamma prior of the SIRs."""
    if fixed_mean is None and obs.sum() == 0:
        return 0.0, 0.0, True
    m = obs.sum() / e.sum() if fixed_mean is None else fixed_mean
    if method == "mm":
        r = obs / e
        s2 = float(np.sum(e * (r - m) ** 2) / e.sum())
        v = s2 - m / e.mean()
        return float(m), float(max(v, 0.0)), bool(v <= 0)
    # marginal ML: negative-binomial marginal with shape a and mean mu (rate b = a / mu), maximised by profiling:
    # for each log a, mu solves the score equation sum (O - mu E) / (1 + mu E / a) = 0 (monotone in mu); then
    # bounded Brent search over log a in [-10, log 1e8] (an optimum at the upper bound = point-mass prior).
    lg = special.gammaln

    def nll(a: float, mu: float) -> float:
        b = a / mu
        return -float(np.sum(lg(a + obs) - lg(a) - lg(obs + 1) + a * np.log(b / (b + e)) + obs * np.log(e / (b + e))))

    def mu_hat(a: float) -> float:
        if fixed_mean is not None:
            return float(fixed_mean)
        return float(optimize.brentq(lambda mu: np.sum((obs - mu * e) / (1 + mu * e / a)), m * 1e-8, m * 1e8,
                                     xtol=1e-14, rtol=1e-12))

    def profile(log_a: float) -> float:
        a = math.exp(log_a)
        return nll(a, mu_hat(a))

    log_a_max = math.log(1e8)
    res = optimize.minimize_scalar(profile, bounds=(-10.0, log_a_max), method="bounded",
                                   options={"xatol": 1e-6})
    log_a = float(res.x)
    if profile(log_a_max) <= res.fun or log_a >= log_a_max - 1e-3:
        return float(mu_hat(1e8)), 0.0, True
    a = math.exp(log_a)
    mu = mu_hat(a)
    return float(mu), float(mu**2 / a), False


def eb_shrinkage(observed, expected, *, names=None, method: str = "mm", alpha: float = 0.05,
                 prior_mean: float | None = None, national_rate: float | None = None,
                 per: float = 1000.0) -> ShrinkageResult:
    """Shrink regional SIRs (O/E) toward a gamma prior fitted to the regions; posterior gamma intervals.

    Small regions borrow strength from the rest: θ_i ~ Gamma(a, b), posterior Gamma(a + O_i, b + E_i). A
    degenerate prior (estimated variance <= 0) shrinks every region fully to the prior mean.

    Parameters
    ----------
    observed : Mapping, pandas.Series or sequence of int
        Observed count O_i per region (non-negative integers); a Mapping's keys or a Series' index name the
        regions.
    expected : Mapping, pandas.Series or sequence of float
        Expected count E_i per region (positive), keyed like ``observed`` or aligned with it.
    names : sequence of str or None, keyword-only, default None
        Region names for a plain sequence ``observed`` (default "region 1", "region 2", ...); must be None for
        a Mapping or Series.
    method : {"mm", "ml"}, keyword-only, default "mm"
        Prior by method of moments (Marshall 1991) or by marginal negative-binomial maximum likelihood.
    alpha : float, keyword-only, default 0.05
        Two-sided error rate of the intervals, in (0, 1).
    prior_mean : float or None, keyword-only, default None
        Fixes the prior mean (positive), e.g. 1, the national level, when only top-selected regions are
        available; None estimates it.
    national_rate : float or None, keyword-only, default None
        National rate per exposure unit (positive); when given, the table also shows the rates per ``per``.
    per : float, keyword-only, default 1000.0
        Units of those rates (positive).

    Returns
    -------
    ShrinkageResult
        The prior (``prior_mean``, ``prior_var``, ``prior_shape``, ``prior_rate``, ``degenerate``) and a
        ``table`` of raw and shrunk ratios with posterior intervals and shrinkage weights.

    References
    ----------
    Marshall, R. J. (1991). Mapping disease and mortality rates using empirical Bayes estimators. Applied
        Statistics 40, 283-294.
    """
    keys, obs = _counts("observed", observed, names)
    ex = _aligned_positive("expected", expected, keys)
    e = np.array([ex[k] for k in keys])
    validate.one_of("method", method, ("mm", "ml"))
    alpha = validate.alpha("alpha", alpha)
    if len(keys) < 2:
        raise ValueError(f"observed must have at least 2 regions to estimate a prior, got {len(keys)}")
    if national_rate is not None:
        validate.positive("national_rate", national_rate)
    validate.positive("per", per)
    if prior_mean is not None:
        validate.positive("prior_mean", prior_mean)
    mean, var, degenerate = _eb_prior(obs, e, method, prior_mean)
    ratio = obs / e
    if degenerate:
        shape, rate = math.inf, math.inf
        shrunk = np.full(len(keys), mean)
        lo, hi, wt = shrunk.copy(), shrunk.copy(), np.zeros(len(keys))
    else:
        shape, rate = mean**2 / var, mean / var
        pa, pb = shape + obs, rate + e
        shrunk = pa / pb
        lo = stats.gamma.ppf(alpha / 2, pa, scale=1 / pb)
        hi = stats.gamma.ppf(1 - alpha / 2, pa, scale=1 / pb)
        wt = e / (e + rate)
    table = pd.DataFrame({"region": keys, "observed": obs, "expected": e, "ratio": ratio, "shrunk_ratio": shrunk,
                          "shrunk_lower": lo, "shrunk_upper": hi, "weight_on_raw": wt})
    if national_rate is not None:
        f = national_rate * per
        table["rate"] = ratio * f
        table["shrunk_rate"] = shrunk * f
        table["shrunk_rate_lower"] = lo * f
        table["shrunk_rate_upper"] = hi * f
    label = ("method of moments (Marshall 1991)" if method == "mm"
             else "marginal maximum likelihood (negative-binomial marginal)")
    if prior_mean is not None:
        label += f", prior mean fixed at {prior_mean:g}"
    return ShrinkageResult(label, method, alpha, mean, var, float(shape), float(rate), degenerate, table)


# --------------------------------------------------------------------------------------------------------
# exact Poisson tests


@dataclass(frozen=True, eq=False)
class PoissonTests(Result):
    """Per-region exact Poisson tests of O vs E with Holm and BH adjustments over a family of m regions."""

    model: str
    alpha: float
    m_tests: int
    table: pd.DataFrame
    above_raw: tuple[str, ...]
    above_holm: tuple[str, ...]
    above_bh: tuple[str, ...]

    @property
    def verdict(self) -> str:
        t = self.table
        top = t.loc[t["p_above"].idxmin()]
        lvl = f"{100 * (1 - self.alpha):g}%"
        return (f"{self.model}: smallest one-sided p for {top['region']} (O = {top['observed']}, E = "
                f"{_fmt(top['expected'])}, SIR {_fmt(top['ratio'])}, {lvl} CI {_fmt(top['ratio_lower'])}-"
                f"{_fmt(top['ratio_upper'])}, p = {_fmt_p(top['p_above'])}). Above expectation at alpha "
                f"{self.alpha:g}: unadjusted {_names_or_none(self.above_raw)}; Holm (m = {self.m_tests}) "
                f"{_names_or_none(self.above_holm)}; BH {_names_or_none(self.above_bh)}. A larger family "
                f"(more regions or periods tested), other expected counts, or over-dispersion beyond Poisson would "
                f"weaken these.")


def poisson_tests(observed, expected, *, names=None, alpha: float = 0.05, m: int | None = None) -> PoissonTests:
    """Exact Poisson tests per region (one-sided 'above' and two-sided), Garwood SIR CIs, Holm and BH.

    ``m`` is the size of the family (e.g. all 20 regions when only the top ones were published); the p-values
    of
    the untested regions are padded with 1.

    Parameters
    ----------
    observed : Mapping, pandas.Series or sequence of int
        Observed count O_i per region (non-negative integers); a Mapping's keys or a Series' index name the
        regions.
    expected : Mapping, pandas.Series or sequence of float
        Expected count E_i per region (positive), keyed like ``observed`` or aligned with it.
    names : sequence of str or None, keyword-only, default None
        Region names for a plain sequence ``observed`` (default "region 1", "region 2", ...); must be None for
        a Mapping or Series.
    alpha : float, keyword-only, default 0.05
        Two-sided error rate of the intervals, in (0, 1). Also the significance level of the flags.
    m : int or None, keyword-only, default None
        Number of tests in the family (at least the number of regions); None for the number of regions.

    Returns
    -------
    PoissonTests
        A ``table`` of ratios with Garwood intervals, one-sided and two-sided p-values, their Holm and
        Benjamini-Hochberg adjustments and flags, and the regions flagged ``above_raw``, ``above_holm`` and
        ``above_bh``.

    References
    ----------
    Garwood, F. (1936). Fiducial limits for the Poisson distribution. Biometrika 28, 437-442.
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Statist. 6, 65-70.
    Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a practical and powerful
    approach
        to multiple testing. J. R. Statist. Soc. B 57, 289-300.
    """
    keys, obs = _counts("observed", observed, names)
    ex = _aligned_positive("expected", expected, keys)
    e = np.array([ex[k] for k in keys])
    alpha = validate.alpha("alpha", alpha)
    if m is not None:
        validate.positive_int("m", m)
        if m < len(keys):
            raise ValueError(f"m must be at least the number of regions tested ({len(keys)}), got {m!r}")
    m = len(keys) if m is None else int(m)
    p_up = np.array([_p_above(int(o), float(x)) for o, x in zip(obs, e, strict=True)])
    p_two = np.array([poisson_exact_pvalue(int(o), float(x)) for o, x in zip(obs, e, strict=True)])
    holm, bh = _adjust(p_up, m)
    holm2, bh2 = _adjust(p_two, m)
    lo, hi = _garwood(obs, e, alpha)
    table = pd.DataFrame({
        "region": keys, "observed": obs, "expected": e, "ratio": obs / e, "ratio_lower": lo, "ratio_upper": hi,
        "p_above": p_up, "p_two_sided": p_two, "p_above_holm": holm, "p_above_bh": bh,
        "p_two_sided_holm": holm2, "p_two_sided_bh": bh2,
        "above_raw": p_up < alpha, "above_holm": holm < alpha, "above_bh": bh < alpha,
    })
    model = (f"exact Poisson test, O ~ Poisson(E) (one-sided P(X >= O); two-sided minimum-likelihood), "
             f"Garwood CIs; family of {m} regions" + (f" ({m - len(keys)} untested padded with p = 1)"
                                                      if m > len(keys) else ""))
    pick = lambda col: tuple(table.loc[table[col], "region"])  # noqa: E731
    return PoissonTests(model, alpha, m, table, pick("above_raw"), pick("above_holm"), pick("above_bh"))


# --------------------------------------------------------------------------------------------------------
# rank intervals


@dataclass(frozen=True, eq=False)
class RankResult(Result):
    """Simulated rank intervals (1 = highest ratio) from seeded draws."""

    method: str
    draws: str
    n_draws: int
    seed: int
    alpha: float
    table: pd.DataFrame

    @property
    def verdict(self) -> str:
        t = self.table.sort_values("observed_rank")
        lvl = f"{100 * (1 - self.alpha):g}%"
        lead = t.iloc[0]
        top3 = list(t.loc[t["rank_upper"] <= 3, "region"])
        return (f"Rank intervals ({self.method}; {self.n_draws} draws, seed {self.seed}): {lead['region']} ranks "
                f"{_fmt(lead['observed_rank'], 1)} ({lvl} interval {_fmt(lead['rank_lower'], 1)}-"
                f"{_fmt(lead['rank_upper'], 1)}; P(first) = {_fmt(lead['p_first'])}). Regions whose {lvl} rank interval lies within the top 3: "
                f"{_names_or_none(top3)}. Wide intervals mean a published ranking is mostly noise; more periods "
                f"pooled or exposure-based expected counts would change them.")


def rank_intervals(observed, expected, *, names=None, method: str = "poisson", n_draws: int = 4000,
                   seed: int = DEFAULT_SEED, alpha: float = 0.05, eb_method: str = "mm") -> RankResult:
    """Rank uncertainty: redraw each region's ratio (Poisson(O)/E, or the EB posterior gamma), rank, summarise.

    Deterministic for a given ``seed`` (numpy default_rng). Ties share the average rank; 1 = highest ratio.

    Parameters
    ----------
    observed : Mapping, pandas.Series or sequence of int
        Observed count O_i per region (non-negative integers); a Mapping's keys or a Series' index name the
        regions.
    expected : Mapping, pandas.Series or sequence of float
        Expected count E_i per region (positive), keyed like ``observed`` or aligned with it.
    names : sequence of str or None, keyword-only, default None
        Region names for a plain sequence ``observed`` (default "region 1", "region 2", ...); must be None for
        a Mapping or Series.
    method : {"poisson", "posterior"}, keyword-only, default "poisson"
        Parametric bootstrap O* ~ Poisson(O), or draws from the empirical-Bayes posterior of
        :func:`eb_shrinkage`.
    n_draws : int, keyword-only, default 4000
        Number of draws (positive).
    seed : int, keyword-only, default DEFAULT_SEED (2025)
        Seed of ``numpy.random.default_rng`` (non-negative).
    alpha : float, keyword-only, default 0.05
        The rank interval is the (alpha/2, 1 - alpha/2) empirical quantile pair, alpha in (0, 1).
    eb_method : {"mm", "ml"}, keyword-only, default "mm"
        Prior estimator for ``method="posterior"``.

    Returns
    -------
    RankResult
        A ``table`` per region of the observed rank, the rank interval and the probability of ranking first,
        with the ``draws`` description, ``n_draws`` and ``seed``.
    """
    keys, obs = _counts("observed", observed, names)
    ex = _aligned_positive("expected", expected, keys)
    e = np.array([ex[k] for k in keys])
    validate.one_of("method", method, ("poisson", "posterior"))
    validate.positive_int("n_draws", n_draws)
    validate.count("seed", seed)
    alpha = validate.alpha("alpha", alpha)
    rng = np.random.default_rng(seed)
    if method == "poisson":
        draws = rng.poisson(obs, size=(n_draws, len(keys))) / e
        desc = "parametric bootstrap: O* ~ Poisson(O), ratio O*/E"
    else:
        eb = eb_shrinkage(obs.tolist(), e.tolist(), names=keys, method=eb_method)
        if eb.degenerate:
            draws = np.full((n_draws, len(keys)), eb.prior_mean)
        else:
            pa, pb = eb.prior_shape + obs, eb.prior_rate + e
            draws = rng.gamma(pa, 1 / pb, size=(n_draws, len(keys)))
        desc = f"EB posterior draws, Gamma(a + O, b + E), prior by {eb.method}"
    ranks = stats.rankdata(-draws, method="average", axis=1)
    obs_rank = stats.rankdata(-(obs / e), method="average")
    lo, hi = np.quantile(ranks, [alpha / 2, 1 - alpha / 2], axis=0, method="inverted_cdf")
    is_max = draws == draws.max(axis=1, keepdims=True)
    p_first = (is_max / is_max.sum(axis=1, keepdims=True)).mean(axis=0)
    table = pd.DataFrame({"region": keys, "observed": obs, "expected": e, "ratio": obs / e,
                          "observed_rank": obs_rank, "median_rank": np.median(ranks, axis=0),
                          "rank_lower": lo, "rank_upper": hi, "p_first": p_first})
    return RankResult(desc, method, int(n_draws), int(seed), alpha, table)


# --------------------------------------------------------------------------------------------------------
# truncated publication


@dataclass(frozen=True)
class UnpublishedBounds(Result):
    """What a 'top k regions' publication implies about the unpublished regions."""

    total: int
    n_regions: int
    k_published: int
    published_sum: int
    min_published: int
    remainder: int
    n_unpublished: int
    mean_unpublished: float | None
    max_unpublished_each: int | None
    min_unpublished_each: int | None
    largest_unpublished_at_least: int | None
    smallest_unpublished_at_most: int | None
    min_nonzero_unpublished: int | None
    consistent: bool
    problems: tuple[str, ...]

    @property
    def verdict(self) -> str:
        head = (f"Truncated publication: {self.k_published} of {self.n_regions} regions published "
                f"(sum {self.published_sum}, smallest {self.min_published}); the other {self.n_unpublished} share "
                f"{self.total} - {self.published_sum} = {self.remainder}.")
        if not self.consistent:
            return head + " INCONSISTENT: " + "; ".join(self.problems) + "."
        if self.n_unpublished == 0:
            return head + " Nothing is censored."
        return (head + f" Each unpublished region has at most {self.max_unpublished_each} (ties with the smallest "
                f"published count are possible), their mean is {_fmt(self.mean_unpublished)}, at least "
                f"{self.min_nonzero_unpublished} of them are non-zero, the largest has at least "
                f"{self.largest_unpublished_at_least} and the smallest at most {self.smallest_unpublished_at_most}. "
                f"Consistent (remainder <= {self.n_unpublished} x {self.min_published}). A different regional count "
                f"(e.g. pre-2022 borders: 17 units) or a total including non-regional cases would change these bounds.")


def unpublished_bounds(published, total: int, n_regions: int = KZ_FIRST_LEVEL_UNITS, *,
                       names=None) -> UnpublishedBounds:
    """Bounds on unpublished regions from the published top-k counts, the national total and the region count.

    Each unpublished region is <= the smallest published count and together they hold total - sum(published);
    pigeonhole bounds follow. Inconsistent inputs are reported in the result, not raised.

    Parameters
    ----------
    published : Mapping, pandas.Series or sequence of int
        Published counts of the top regions (non-negative integers).
    total : int
        National total count (positive).
    n_regions : int, default KZ_FIRST_LEVEL_UNITS (20)
        Number of regions in the country (positive).
    names : sequence of str or None, keyword-only, default None
        Region names for a plain sequence ``published``.

    Returns
    -------
    UnpublishedBounds
        The ``remainder`` held by the ``n_unpublished`` regions, their mean and the largest and smallest
        possible count of each, and whether the publication is consistent (with any problems found).
    """
    keys, pub = _counts("published", published, names)
    validate.positive_int("total", total)
    validate.positive_int("n_regions", n_regions)
    k = len(keys)
    s = int(pub.sum())
    mn = int(pub.min())
    rem = int(total) - s
    nu = int(n_regions) - k
    problems = []
    if nu < 0:
        problems.append(f"{k} published regions exceed n_regions = {n_regions}")
    if rem < 0:
        problems.append(f"published counts sum to {s} > total {total}")
    if nu == 0 and rem > 0:
        problems.append(f"all regions published but {rem} injuries unaccounted for")
    if nu > 0 and rem > nu * mn:
        problems.append(f"remainder {rem} exceeds {nu} unpublished regions x smallest published {mn} = {nu * mn}")
    ok = not problems
    if ok and nu > 0:
        mean = rem / nu
        max_each = min(mn, rem)
        min_each = max(0, rem - (nu - 1) * mn)
        largest = -(-rem // nu)
        smallest = rem // nu
        nonzero = 0 if rem == 0 else (-(-rem // mn))
    else:
        mean = max_each = min_each = largest = smallest = nonzero = None
        if ok:  # nothing unpublished
            mean, max_each, min_each, largest, smallest, nonzero = None, 0, 0, None, None, 0
    return UnpublishedBounds(int(total), int(n_regions), k, s, mn, rem, nu, mean, max_each, min_each, largest,
                             smallest, nonzero, ok, tuple(problems))


# --------------------------------------------------------------------------------------------------------
# combined


@dataclass(frozen=True, eq=False)
class RegionAssessment(Result):
    """Per-region observed/expected, exact SIR CI, EB-shrunk estimates, raw/Holm/BH p-values, flags, ranks."""

    basis: str
    basis_note: str
    total: int
    n_regions: int
    n_observed: int
    partial: bool
    m_tests: int
    alpha: float
    table: pd.DataFrame
    expected: ExpectedCounts
    tests: PoissonTests
    funnel: FunnelResult
    shrinkage: ShrinkageResult
    ranks: RankResult
    unpublished: UnpublishedBounds | None

    @property
    def verdict(self) -> str:
        t = self.table
        top = t.loc[t["p_above"].idxmin()]
        lvl = f"{100 * (1 - self.alpha):g}%"
        s = [f"Exact Poisson tests of O ~ Poisson(E) with E from {self.basis} ({self.n_observed} of "
             f"{self.n_regions} regions; total {self.total}). Strongest: {top['region']} O = {top['observed']} vs "
             f"E = {_fmt(top['expected'])}, SIR {_fmt(top['ratio'])} ({lvl} CI {_fmt(top['ratio_lower'])}-"
             f"{_fmt(top['ratio_upper'])}), one-sided p = {_fmt_p(top['p_above'])}; EB-shrunk SIR "
             f"{_fmt(top['shrunk_ratio'])} ({_fmt(top['shrunk_lower'])}-{_fmt(top['shrunk_upper'])})."]
        s.append(f"Above expectation after Holm (m = {self.m_tests}): {_names_or_none(self.tests.above_holm)}; "
                 f"after BH: {_names_or_none(self.tests.above_bh)}; beyond the 99.8% funnel limit: "
                 f"{_names_or_none(self.funnel.flagged(0.998))}.")
        if self.basis == "equal shares":
            s.append("Under equal shares a region is 'high' simply for having many workers; regional employment "
                     "as exposure could remove these flags.")
        if self.partial:
            s.append(f"Only the top {self.n_observed} regions were published: they were chosen for being large, "
                     f"so their p-values are not pre-specified tests (the Holm/BH family counts all "
                     f"{self.m_tests} regions), ranks are among the published regions only, and the EB prior "
                     f"variance and funnel phi/tau2 fitted to them are biased upwards (EB prior mean fixed at "
                     f"the national SIR 1).")
        s.append("Over-dispersion, a different exposure measure or more periods would change the conclusion.")
        return " ".join(s)


def assess_regions(observed, exposure=None, total: int | None = None, alpha: float = 0.05,
                   seed: int = DEFAULT_SEED, *, n_regions: int | None = None, total_exposure: float | None = None,
                   eb_method: str = "mm", rank_method: str = "poisson", n_draws: int = 4000,
                   per: float = 1000.0) -> RegionAssessment:
    """One call for the regional notebook: expected counts, exact tests with Holm/BH, funnel flags, EB, ranks.

    ``n_regions`` (e.g. 20) is required when ``observed`` holds only the published top regions; then the EB
    prior
    mean is fixed at the national level 1 and the unpublished regions are bounded.

    Parameters
    ----------
    observed : Mapping, pandas.Series or sequence of int
        Observed count per region (non-negative integers), keyed by region name.
    exposure : Mapping, pandas.Series, sequence of float or None, default None
        Exposure per region (see :func:`expected_counts`); None for equal shares.
    total : int or None, default None
        National count; None for the sum of ``observed``.
    alpha : float, default 0.05
        Significance level and two-sided error rate of the intervals, in (0, 1).
    seed : int, default DEFAULT_SEED (2025)
        Seed of the rank draws.
    n_regions : int or None, keyword-only, default None
        Number of regions in the country.
    total_exposure : float or None, keyword-only, default None
        National exposure (see :func:`expected_counts`).
    eb_method : {"mm", "ml"}, keyword-only, default "mm"
        Prior estimator of :func:`eb_shrinkage`.
    rank_method : {"poisson", "posterior"}, keyword-only, default "poisson"
        Draws for :func:`rank_intervals`.
    n_draws : int, keyword-only, default 4000
        Number of rank draws.
    per : float, keyword-only, default 1000.0
        Units of the rates in the shrinkage table.

    Returns
    -------
    RegionAssessment
        One ``table`` per region joining the tests, funnel flags, shrinkage and ranks; the component results
        ``expected``, ``tests``, ``funnel``, ``shrinkage``, ``ranks`` and ``unpublished`` (None when every
        region is observed); ``partial`` (only some regions observed) and ``m_tests``.

    References
    ----------
    Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance. Statistics in Medicine
        24, 1185-1202.
    Marshall, R. J. (1991). Mapping disease and mortality rates using empirical Bayes estimators. Applied
        Statistics 40, 283-294.
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Statist. 6, 65-70.
    Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a practical and powerful
    approach
        to multiple testing. J. R. Statist. Soc. B 57, 289-300.
    """
    alpha = validate.alpha("alpha", alpha)
    exp = expected_counts(observed, exposure, total=total, total_exposure=total_exposure, n_regions=n_regions)
    tab = exp.table
    keys = list(tab["region"])
    obs = tab["observed"].to_numpy()
    e = tab["expected"].to_numpy()
    n_obs = len(keys)
    if n_obs < 2:
        raise ValueError(f"observed must have at least 2 regions, got {n_obs}")
    partial = exp.n_regions > n_obs or int(obs.sum()) < exp.total
    m = exp.n_regions
    tests = poisson_tests(obs.tolist(), e.tolist(), names=keys, alpha=alpha, m=m)
    funnel = funnel_limits(obs.tolist(), e.tolist(), names=keys, ddof=0 if partial else 1)
    # with only the top regions, their own mean SIR is selection-biased; the national level (SIR 1 by
    # construction, since the expected counts of all regions sum to the total) is used as the prior mean.
    shrink = eb_shrinkage(obs.tolist(), e.tolist(), names=keys, method=eb_method, alpha=alpha,
                          prior_mean=1.0 if partial else None, national_rate=exp.national_rate, per=per)
    ranks = rank_intervals(obs.tolist(), e.tolist(), names=keys, method=rank_method, n_draws=n_draws, seed=seed,
                           alpha=alpha, eb_method=eb_method)
    unpub = (unpublished_bounds(obs.tolist(), exp.total, exp.n_regions, names=keys)
             if exp.n_regions > n_obs else None)
    table = tests.table.copy()
    table.insert(2, "exposure", tab["exposure"].to_numpy())
    sh = shrink.table.set_index("region")
    for col in [c for c in sh.columns if c.startswith(("shrunk", "rate"))]:
        table[col] = sh.loc[keys, col].to_numpy()
    fr = funnel.regions.set_index("region")
    for col in [c for c in fr.columns if c.startswith("flag_")]:
        table[col] = fr.loc[keys, col].to_numpy()
    rk = ranks.table.set_index("region")
    for col in ("observed_rank", "rank_lower", "rank_upper"):
        table[col] = rk.loc[keys, col].to_numpy()
    return RegionAssessment(exp.basis, exp.basis_note, exp.total, exp.n_regions, n_obs, partial, m, alpha, table,
                            exp, tests, funnel, shrink, ranks, unpub)


# --------------------------------------------------------------------------------------------------------
# persistence of a unit's share across releases


@dataclass(frozen=True)
class ShareTest(Result):
    """Pearson chi-square test that a unit's share of the national count is the same in every release."""

    counts: tuple[int, ...]
    totals: tuple[int, ...]
    shares: tuple[float, ...]
    pooled_share: float
    chi2: float
    df: int
    p_value: float
    method: str = "Pearson chi-square test of homogeneity (binomial within release; no continuity correction)"

    @property
    def verdict(self) -> str:
        return (f"{self.method}: shares {_fmt(100 * min(self.shares), 1)}-{_fmt(100 * max(self.shares), 1)}% over "
                f"{len(self.counts)} releases (pooled {_fmt(100 * self.pooled_share, 1)}%), chi-square "
                f"{_fmt(self.chi2)} on {self.df} df, p = {_fmt_p(self.p_value)}.")


def constant_share_test(counts, totals) -> ShareTest:
    """Test that ``counts[r] / totals[r]`` is the same share in every release ``r``.

    Parameters
    ----------
    counts : sequence of int
        The unit's count in each release.
    totals : sequence of int
        The national count of the same release (each at least the unit's count).

    Returns
    -------
    ShareTest
        Pearson chi-square of the 2 x R table (unit, rest) x release (``scipy.stats.chi2_contingency``,
        no continuity correction).
    """
    _, c = _counts("counts", counts)
    _, t = _counts("totals", totals)
    if len(c) != len(t):
        raise ValueError(f"totals must have one value per count ({len(c)}), got {len(t)}")
    if len(c) < 2:
        raise ValueError(f"counts must cover at least 2 releases, got {len(c)}")
    if (t < c).any() or (t <= 0).any():
        raise ValueError(f"totals must be positive and at least the counts, got totals {t.tolist()} for counts "
                         f"{c.tolist()}")
    chi2, p, df, _ = stats.chi2_contingency(np.column_stack([c, t - c]), correction=False)
    return ShareTest(tuple(int(x) for x in c), tuple(int(x) for x in t), tuple(float(x) for x in c / t),
                     float(c.sum() / t.sum()), float(chi2), int(df), float(p))


__all__ = [
    "KZ_FIRST_LEVEL_UNITS", "MODELS", "ExpectedCounts", "FunnelResult", "PoissonTests", "RankResult", "RegionAssessment",
    "ShareTest", "ShrinkageResult", "UnpublishedBounds", "assess_regions", "constant_share_test", "eb_shrinkage",
    "expected_counts", "funnel_limits", "poisson_tests", "pvalues_above", "rank_intervals", "ratio_ci_quasi", "unpublished_bounds",
    "upper_limit",
]
