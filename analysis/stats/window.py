"""Is a reported multi-year change real? For a claim such as "over five years the rate fell 6.3%":

- :func:`assess_window`: consistency of the published percent with the counts (or rates), the endpoint tests and
  the whole-series straight log-linear trend (moved from ``analysis.stats.assess``);
- :func:`window_trend`: what the claim's own window shows once the trend may change pace: Joinpoint's selection
  between a straight line and one joinpoint, the APC of each segment, the average APC over the window under both
  models (with a bootstrap interval that re-estimates the joinpoint), and :func:`joinpoint_power`, the test's power
  against the fitted break.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from analysis.core import validate
from analysis.core.fmt import decimals_of, fmt_count, fmt_number, fmt_percent
from analysis.core.results import Result
from analysis.stats import consistency, dispersion, trend
from analysis.stats import joinpoint as jp
from analysis.stats.trend import p_text


@dataclass(frozen=True)
class WindowAssessment(Result):
    """Is a reported multi-year change real? (notebook 03)."""

    measure: str
    start_year: int
    end_year: int
    start_value: float
    end_value: float
    change_pct: float
    reported_change_pct: float
    consistent: bool
    consistency: dict
    rate_change_pct: float | None
    rate_change_range: tuple[float, float] | None
    rate_consistent: bool | None
    exposure_ratio: float
    p_value_endpoint_exact: float
    change_pct_ci: tuple[float, float]
    p_value_endpoint_overdispersed: float
    change_pct_ci_overdispersed: tuple[float, float]
    dispersion: float
    dispersion_ci: tuple[float, float]
    trend_years: tuple[int, int]
    apc: float
    apc_ci: tuple[float, float]
    p_value_trend: float
    apc_by_model: dict
    alpha: float
    trend_fitted: tuple[float, ...] = ()
    p_value_endpoint_overdispersed_normal: float | None = None  # the same φ treated as known (normal plug-in)
    endpoint_reference: str = "normal"  # of the over-dispersed endpoint test: t(df) when φ was estimated
    method: str = ("endpoints: exact conditional binomial and quasi-Poisson score tests; whole series: log-linear "
                   "quasi-Poisson GLM, APC = 100·(exp(β)−1) with t interval (Joinpoint's definition)")

    @property
    def verdict(self) -> str:
        """Consistency, the endpoint tests and the straight-line trend (the study adds the joinpoint view)."""
        lv = f"{round(100 * (1 - self.alpha), 6):g}%"
        what = "counts" if self.measure == "count" else "rates per 1,000 workers"
        v0, v1 = (fmt_count(self.start_value), fmt_count(self.end_value)) if self.measure == "count" else (
            fmt_number(self.start_value, 3), fmt_number(self.end_value, 3))
        said = fmt_percent(self.reported_change_pct, decimals_of(self.reported_change_pct))
        cons = (f"The reported {said} {'matches' if self.consistent else 'does NOT match'} the {what} {v0} → {v1} "
                f"({fmt_percent(self.change_pct)}).")
        if self.rate_change_range is not None and self.measure == "count":
            lo, hi = self.rate_change_range
            refers = "so the claim refers to counts, not the rate" if not self.rate_consistent else \
                "which the claim also matches"
            cons += (f" The Ministry's own rate coefficient moved {fmt_percent(self.rate_change_pct)} (rounding "
                     f"allows {fmt_percent(lo)} to {fmt_percent(hi)}), {refers}.")
        end = (f"Endpoint test {self.start_year}→{self.end_year}: {fmt_percent(self.change_pct)} ({lv} CI "
               f"{fmt_percent(self.change_pct_ci[0])} to {fmt_percent(self.change_pct_ci[1])}), exact conditional "
               f"{p_text(self.p_value_endpoint_exact)}; with φ = {fmt_number(self.dispersion, 3)} quasi-Poisson "
               f"score, {self.endpoint_reference} reference, {p_text(self.p_value_endpoint_overdispersed)}"
               + ("" if self.p_value_endpoint_overdispersed_normal is None or self.endpoint_reference == "normal"
                  else f" (normal plug-in {p_text(self.p_value_endpoint_overdispersed_normal)})") + ".")
        verb = "falls" if self.apc < 0 else "rises"
        tr = (f"The straight log-linear trend {self.trend_years[0]}–{self.trend_years[1]} {verb} "
              f"{fmt_percent(abs(self.apc), signed=False)} a year ({lv} CI {fmt_percent(self.apc_ci[0])} to "
              f"{fmt_percent(self.apc_ci[1])}, quasi-Poisson {p_text(self.p_value_trend)}).")
        end_sig = self.p_value_endpoint_exact < self.alpha
        tr_sig = self.p_value_trend < self.alpha
        if tr_sig and not end_sig:
            call = ("The two end years alone do not show a significant change; the straight trend over all years "
                    "does, but it assumes one constant pace (see the joinpoint analysis).")
        elif tr_sig:
            call = "Both the end years and the straight trend show a significant change."
        elif end_sig:
            call = "The end years differ significantly but the whole series shows no clear trend."
        else:
            call = "Neither the end years nor the straight trend show a significant change."
        return " ".join([cons, end, tr, call])


def assess_window(years, counts, end_year, window_years, reported_change_pct, measure="count", workers=None,
                  rates=None, alpha=0.05) -> WindowAssessment:
    """Assess 'over N years the figure fell p%': consistency, endpoint tests and a whole-series trend.

    ``workers`` (same length as ``years``) turns counts into rates for ``measure='rate'`` (exposure ratio and
    GLM
    offset). ``rates`` (dict year -> published rate) lets the check say whether the claim matches the rate.
    The
    endpoint test uses the quasi-Poisson φ of the whole series (Pearson χ²/df around a log-linear trend,
    floored at
    1, t reference on its residual df).

    Parameters
    ----------
    years : sequence of int
        Years of the annual series.
    counts : sequence of int
        Annual counts (same length; rounded to integers).
    end_year : int
        Last year of the claim's window (must be in ``years``).
    window_years : int
        Length N of the window in years, both ends included (its first year must be in ``years``).
    reported_change_pct : float
        The claimed percent change over the window; its decimals set the rounding of the consistency check.
    measure : {"count", "rate"}, default "count"
        Whether the claim is about the count or the rate per 1,000 workers.
    workers : sequence of float or None, default None
        Workers each year (same length as ``years``); required for ``measure="rate"``.
    rates : dict or None, default None
        Published rates per 1,000 workers by year; when both window ends are present, the claim is checked
        against their rounded change.
    alpha : float, default 0.05
        Two-sided error rate of the intervals, in (0, 1).

    Returns
    -------
    WindowAssessment
        The window's change with the ``consistent`` check (and ``rate_consistent``), the exact and
        over-dispersed endpoint p-values and intervals, the ``dispersion`` φ with its interval, and the
        whole-series quasi-Poisson ``apc`` with ``apc_ci`` and ``p_value_trend`` (``apc_by_model`` for every
        trend model).

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    validate.alpha("alpha", alpha)
    if measure not in ("count", "rate"):
        raise ValueError(f"measure must be 'count' or 'rate', got {measure!r}")
    years = [int(y) for y in years]
    counts = [int(round(float(c))) for c in counts]
    if len(years) != len(counts):
        raise ValueError(f"years and counts must have the same length, got {len(years)} and {len(counts)}")
    start_year = int(end_year) - int(window_years) + 1
    for name, y in (("end_year", int(end_year)), ("start year", start_year)):
        if y not in years:
            raise ValueError(f"{name} {y} is not in the series years {years}")
    i0, i1 = years.index(start_year), years.index(int(end_year))
    x0, x1 = counts[i0], counts[i1]
    pct = validate.pct_change("reported_change_pct", reported_change_pct)
    d = decimals_of(pct)
    w = None if workers is None else [float(v) for v in workers]
    if measure == "rate" and w is None:
        raise ValueError("measure='rate' needs workers for every year")
    e = 1.0 if measure == "count" else w[i1] / w[i0]
    if measure == "count":
        check = consistency.check_percent(x1, x0, pct, d)
        consistent, check_d = check.consistent, check.to_dict()
        start_value, end_value = float(x0), float(x1)
    else:
        start_value, end_value = x0 / w[i0] * 1000, x1 / w[i1] * 1000
        exact = 100 * (end_value / start_value - 1)
        consistent = abs(exact - pct) <= 0.5 * 10 ** -d + 1e-9
        check_d = {"implied_percent": exact, "method": "rate = count / workers x 1000", "consistent": consistent}
    rate_change = rate_range = rate_ok = None
    if rates and start_year in rates and int(end_year) in rates:
        rr = consistency.rounded_change_range(rates[int(end_year)], rates[start_year], 2)
        rate_change, rate_range, rate_ok = rr.estimate, tuple(rr.ci), rr.allows(pct)
    wk = w if measure == "rate" else None
    est = dispersion.estimate_dispersion(counts, years, exposure=wk)
    # the endpoint test's φ is the same Pearson χ²/df floored at 1 (estimated once here)
    ep = trend.endpoint_change(counts, years, start_year, int(end_year), workers=wk, phi=max(1.0, est.estimate),
                               alpha=alpha, df=est.df_resid)
    models = trend.trend_models(counts, years, workers=wk, alpha=alpha)
    fits = {f.model: f for f in models.fits}
    qp = fits["quasi-poisson"]
    return WindowAssessment(
        measure=measure, start_year=start_year, end_year=int(end_year), start_value=start_value, end_value=end_value,
        change_pct=100 * (end_value / start_value - 1), reported_change_pct=pct, consistent=consistent,
        consistency=check_d, rate_change_pct=rate_change, rate_change_range=rate_range, rate_consistent=rate_ok,
        exposure_ratio=e, p_value_endpoint_exact=ep.p_value, change_pct_ci=tuple(ep.ci),
        p_value_endpoint_overdispersed=ep.p_overdispersed, change_pct_ci_overdispersed=tuple(ep.ci_overdispersed),
        p_value_endpoint_overdispersed_normal=ep.overdispersed.p_value_normal,
        endpoint_reference=ep.overdispersed.reference,
        dispersion=ep.phi, dispersion_ci=tuple(est.ci), trend_years=(min(years), max(years)), apc=qp.estimate,
        apc_ci=tuple(qp.ci), p_value_trend=qp.p_value,
        apc_by_model={m: {"apc": f.estimate, "ci": list(f.ci), "p_value": f.p_value} for m, f in fits.items()},
        alpha=alpha, trend_fitted=tuple(qp.fitted))


# --------------------------------------------------------------------------------------------------------------------
# What the claim's own window shows: joinpoint selection, APC per segment, AAPC over the window, power
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JoinpointPower(Result):
    """Monte Carlo power of the 0-vs-1 joinpoint permutation test against a given mean curve.

    ``estimate`` is the share of simulated series in which the test rejects at ``level``; ``ci`` its 95%
    Clopper–Pearson interval (Monte Carlo error only)."""

    estimate: float
    ci: tuple[float, float]
    rejections: int
    n_series: int
    n_permutations: int
    dispersion: float
    years: tuple[float, ...]
    mean: tuple[float, ...]
    level: float
    seed: int
    method: str

    @property
    def verdict(self) -> str:
        return (f"Power of the 0-vs-1 joinpoint test at level {self.level:g} against the given curve "
                f"(φ = {fmt_number(self.dispersion, 3)}): {_pct0(self.estimate)} (Monte Carlo 95% CI "
                f"{_pct0(self.ci[0])} to {_pct0(self.ci[1])}; {self.n_series} simulated series, "
                f"{self.n_permutations} permutations each, seed {self.seed}).")


def joinpoint_power(mean, years, dispersion=1.0, exposure=None, n_series=400, n_permutations=39, seed=0,
                    alpha=0.05) -> JoinpointPower:
    """Power of the 0-vs-1 joinpoint permutation test (:func:`analysis.stats.joinpoint.joinpoint_test`) by simulation.

    Series are drawn with mean ``mean`` and variance φ·mean (negative binomial; Poisson when φ ≤ 1), each is tested
    with ``n_permutations`` permutations, and the share rejected at ``alpha`` is the power. With α(B + 1) an integer
    (B = 39 at α = 0.05) the Monte Carlo test has exactly level α under exchangeability; a small B costs a little
    power against the test with many permutations (Jöckel 1986), so the estimate is slightly conservative.

    Parameters
    ----------
    mean : sequence of float
        Expected count of each year (e.g. the fitted values of a one-joinpoint model).
    years : sequence of float
        The years (same length).
    dispersion : float, default 1
        φ = variance / mean of the simulated counts.
    exposure : sequence of float, optional
        Passed to the test (the mean is then the expected count, exposure included).
    n_series : int, default 400
        Simulated series (Monte Carlo SE of the power at most 0.025).
    n_permutations : int, default 39
        Permutations per test.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``.
    alpha : float, default 0.05

    Returns
    -------
    JoinpointPower

    References
    ----------
    .. [1] Kim HJ, Fay MP, Feuer EJ, Midthune DN (2000). Permutation tests for joinpoint regression with
       applications to cancer rates. Statistics in Medicine 19:335–351.
    .. [2] Jöckel KH (1986). Finite sample properties and asymptotic efficiency of Monte Carlo tests. Annals of
       Statistics 14:336–347.
    """
    a = validate.alpha("alpha", alpha)
    mu = np.asarray([validate.positive(f"mean[{i}]", v) for i, v in enumerate(mean)], dtype=float)
    yrs = [validate.finite(f"years[{i}]", v) for i, v in enumerate(years)]
    if len(yrs) != len(mu):
        raise ValueError(f"years must have the length of mean ({len(mu)}), got length {len(yrs)}")
    phi = validate.positive("dispersion", dispersion)
    n = validate.positive_int("n_series", n_series)
    b = validate.positive_int("n_permutations", n_permutations)
    s = validate.count("seed", seed)
    rng = np.random.default_rng(s)
    if phi > 1:
        sims = rng.negative_binomial(mu / (phi - 1), 1 / phi, size=(n, len(mu)))
    else:
        sims = rng.poisson(mu, size=(n, len(mu)))
    ok = sims.sum(axis=1) > 0  # an all-zero series cannot be fitted; it counts as not rejected (conservative)
    y = np.asarray(yrs, dtype=float)
    off = np.zeros(len(y)) if exposure is None else np.log(np.asarray(exposure, dtype=float))
    # the vectorised core of joinpoint_test (tested against it in tests/test_trend.py): all series at once
    _, exceed, _, _, _ = jp.mc_exceedances(sims[ok].astype(float), y, off, 0, 1, b, rng, "permutation", 2, 2)
    rejected = int(np.sum((1 + exceed) / (1 + b) <= a))
    ci = stats.binomtest(rejected, n).proportion_ci(0.95, method="exact")
    return JoinpointPower(
        estimate=rejected / n, ci=(float(ci.low), float(ci.high)), rejections=rejected, n_series=n,
        n_permutations=b, dispersion=phi, years=tuple(yrs), mean=tuple(float(v) for v in mu), level=a, seed=s,
        method=(f"simulation: {'negative binomial' if phi > 1 else 'Poisson'} series around the given mean, each "
                f"tested by permutation ({jp.TESTS['permutation']})"))


def clear(lo: float, hi: float, direction: int) -> bool:
    """Whether the interval [lo, hi] lies entirely on the claimed side of zero.

    Below zero for a decline, above zero for a rise.

    Parameters
    ----------
    lo : float
        Lower limit of the interval.
    hi : float
        Upper limit of the interval.
    direction : int
        Sign of the claimed change: negative for a decline, otherwise a rise.

    Returns
    -------
    bool
        True when ``hi < 0`` for a decline, or ``lo > 0`` for a rise.
    """
    return hi < 0 if direction < 0 else lo > 0


@dataclass(frozen=True)
class WindowTrend(Result):
    """What a claim's window [start, end] shows beyond the decade's straight line.

    Joinpoint's selection between a straight log-linear trend and one change of slope (permutation test, with the
    negative-binomial bootstrap version beside it), the APC of each segment, the average APC over the window under
    the selected model and under the one-joinpoint model (delta-method interval with the joinpoint held fixed, and
    the residual-bootstrap interval that re-estimates it), and the test's power against the fitted break.

    ``estimate``/``conf_int()`` are the window's AAPC under the one-joinpoint model with its bootstrap interval (the
    window's own slope), or under the straight line when no joinpoint can be fitted."""

    start: float
    end: float
    direction: int
    selection: jp.JoinpointSelection
    straight: jp.JoinpointFit
    broken: jp.JoinpointFit | None
    aapc_selected: jp.AAPC
    aapc_straight: jp.AAPC
    aapc_broken: jp.AAPC | None
    bootstrap_test: jp.JoinpointTest | None
    power: JoinpointPower | None
    alpha: float
    method: str

    @property
    def test(self) -> jp.JoinpointTest | None:
        """The 0-vs-1 permutation test of the selection (None when no joinpoint could be considered)."""
        return self.selection.tests[0] if self.selection.tests else None

    @property
    def break_selected(self) -> bool:
        return self.selection.n_joinpoints > 0

    @property
    def key(self) -> jp.AAPC:
        return self.aapc_broken if self.aapc_broken is not None else self.aapc_straight

    @property
    def estimate(self) -> float:
        return self.key.estimate

    @property
    def ci(self) -> tuple[float, float]:
        k = self.key
        return k.ci_boot if k.ci_boot is not None else k.ci

    @property
    def clear_straight(self) -> bool:
        return clear(*self.aapc_straight.ci, self.direction)

    @property
    def clear_broken(self) -> bool | None:
        return None if self.aapc_broken is None else clear(*self.ci, self.direction)

    @property
    def break_ruled_out(self) -> bool:
        """No break was selected and the test had at least 80% power against the fitted one."""
        return not self.break_selected and self.power is not None and self.power.estimate >= 0.8

    @property
    def defensible(self) -> tuple[str, ...]:
        """The models the data leave standing: the selected one, plus the break model when the test could not
        rule it out (not selected, power below 80%)."""
        if self.break_selected:
            return ("joinpoint",)
        if self.broken is None or self.break_ruled_out:
            return ("straight",)
        return ("straight", "joinpoint")

    @property
    def support(self) -> str:
        """'all', 'some' or 'none' of the defensible models show a clear change in the claimed direction over the
        window."""
        clear = {"straight": self.clear_straight, "joinpoint": self.clear_broken}
        hits = [bool(clear[m]) for m in self.defensible]
        return "all" if all(hits) else "some" if any(hits) else "none"

    def segments_frame(self):
        """Segments of the straight and one-joinpoint models: model, start, end, APC, interval, p-value.

        Returns
        -------
        pandas.DataFrame
            One row per segment, the straight line's first then the one-joinpoint model's (none when it was not
            fitted): ``model`` ("straight line" or "one joinpoint"), ``start``, ``end``, ``apc`` (annual percent
            change, %), ``ci_low``, ``ci_high`` and ``p_value`` (test of APC = 0).
        """
        import pandas as pd

        rows = []
        for name, f in (("straight line", self.straight), ("one joinpoint", self.broken)):
            if f is None:
                continue
            rows += [{"model": name, "start": s.start, "end": s.end, "apc": s.estimate, "ci_low": s.ci[0],
                      "ci_high": s.ci[1], "p_value": s.p_value} for s in f.segments]
        return pd.DataFrame(rows)

    @property
    def verdict(self) -> str:
        lv = _level(self.alpha)
        parts = []
        t = self.test
        if t is None:
            parts.append(f"Too few years ({len(self.straight.years)}) to consider a joinpoint: only the straight "
                         "line is fitted.")
        else:
            s = (f"Joinpoint selection, 0 vs 1 joinpoint: {t.method}, F = {fmt_number(t.statistic, 3)}, "
                 f"{p_text(t.p_value)} (Monte Carlo SE {fmt_number(t.mc_se, 2)}, {t.n_permutations:,} "
                 f"permutations, seed {t.seed})")
            if self.bootstrap_test is not None:
                s += f"; negative-binomial bootstrap {p_text(self.bootstrap_test.p_value)}"
            chosen = "one joinpoint" if self.break_selected else "the straight line"
            parts.append(s + f": {chosen} is selected at level {t.level:g}.")
        parts.append(f"Straight line: {_segments_text(self.straight)}.")
        if self.broken is not None:
            where = ", ".join(f"{v:g}" for v in self.broken.joinpoints)
            parts.append(f"Best one-joinpoint model (joinpoint at {where}): {_segments_text(self.broken)}; "
                         "these intervals hold the joinpoint fixed.")
        parts.append(f"Average annual percent change over the claim's window {self.start:g}–{self.end:g}: under "
                     f"the straight line {_aapc_text(self.aapc_straight, lv)}"
                     + ("" if self.aapc_broken is None else
                        f"; under the one-joinpoint model {_aapc_text(self.aapc_broken, lv)}") + ".")
        if self.power is not None:
            pw = self.power
            parts.append(f"Power of the test against the fitted break: {_pct0(pw.estimate)} (Monte Carlo 95% CI "
                         f"{_pct0(pw.ci[0])} to {_pct0(pw.ci[1])})"
                         + (", so keeping the straight line is weak evidence that the pace stayed the same."
                            if pw.estimate < 0.8 else "."))
        names = {"straight": "straight line", "joinpoint": "one joinpoint"}
        models = " and ".join(names[m] for m in self.defensible)
        change = "decline" if self.direction < 0 else "rise"
        shows = {"all": f"shows a clear {change} under every model the data leave standing ({models})",
                 "some": f"shows a clear {change} under only some of the models the data leave standing ({models}: "
                         f"{'straight line' if self.clear_straight else 'one joinpoint'} only)",
                 "none": f"shows no clear {change} under any model the data leave standing ({models})"}
        parts.append(f"The window {shows[self.support]}.")
        return " ".join(parts)


def _level(alpha: float) -> str:
    return f"{round(100 * (1 - alpha), 6):g}%"


def _pct0(share: float) -> str:
    return fmt_percent(100 * share, 0, signed=False)


def _segments_text(fit: jp.JoinpointFit) -> str:
    lv = _level(fit.alpha)
    seg = "; ".join(f"{s.start:g}–{s.end:g} {fmt_percent(s.estimate)} a year ({lv} CI {fmt_percent(s.ci[0])} to "
                    f"{fmt_percent(s.ci[1])}, {p_text(s.p_value)})" for s in fit.segments)
    return f"{seg}, φ = {fmt_number(fit.scale, 3)} on {fit.df_resid} df"


def _aapc_text(a: jp.AAPC, lv: str) -> str:
    s = (f"{fmt_percent(a.estimate)} a year ({lv} CI {fmt_percent(a.ci[0])} to {fmt_percent(a.ci[1])}), "
         f"{fmt_percent(a.cumulative)} over the {a.end - a.start:g} years from {a.start:g} "
         f"({fmt_percent(a.cumulative_ci[0])} to {fmt_percent(a.cumulative_ci[1])})")
    if a.ci_boot is not None:
        s += (f"; re-estimating the joinpoint ({a.n_boot:,} bootstrap replicates) widens the interval to "
              f"{fmt_percent(a.ci_boot[0])} to {fmt_percent(a.ci_boot[1])} a year")
    return s


def window_trend(counts, years, start, end, exposure=None, direction=-1, n_permutations=4499, n_boot=999, seed=0,
                 alpha=0.05, power_series=400, power_permutations=39, bootstrap_test=True) -> WindowTrend:
    """Joinpoint view of a claim's window: selection (0 vs 1 joinpoint), segment APCs, window AAPCs, power.

    Parameters
    ----------
    counts, years, exposure
        The annual series (as in :func:`analysis.stats.joinpoint.fit_joinpoint`); with ``exposure`` every APC is of
        the rate.
    start, end : float
        The claim's window (first and last year), within the series.
    direction : {-1, 1}
        The claimed direction (−1 a decline): "clear" means an interval entirely on that side of zero.
    n_permutations : int, default 4499
        Permutations of the selection test and replicates of its bootstrap version.
    n_boot : int, default 999
        Residual-bootstrap replicates of the one-joinpoint AAPC (joinpoint re-estimated); 0 for none.
    seed : int, default 0
        Seed of every Monte Carlo step (selection, bootstrap test, AAPC bootstrap, power).
    alpha : float, default 0.05
        Level of the selection test and 1 − confidence level of every interval.
    power_series, power_permutations : int, default 400 and 39
        Power simulation against the fitted one-joinpoint model (:func:`joinpoint_power`); ``power_series=0``
        skips it.
    bootstrap_test : bool, default True
        Also run the negative-binomial parametric-bootstrap version of the 0-vs-1 test.

    Returns
    -------
    WindowTrend

    References
    ----------
    .. [1] Kim HJ, Fay MP, Feuer EJ, Midthune DN (2000). Statistics in Medicine 19:335–351.
    .. [2] Clegg LX, Hankey BF, Tiwari R, Feuer EJ, Edwards BK (2009). Estimating average annual per cent change in
       trend analysis. Statistics in Medicine 28:3670–3682.
    .. [3] Kim HJ, Luo J, Chen HS, et al. (2017). Improved confidence interval for average annual percent change in
       trend analysis. Statistics in Medicine 36:3059–3074.
    """
    a = validate.alpha("alpha", alpha)
    if direction not in (-1, 1):
        raise ValueError(f"direction must be -1 (a decline) or 1 (a rise), got {direction!r}")
    n_ok = sum(1 for c in counts if c is not None and np.isfinite(float(c)))
    kmax = min(1, jp.default_max_joinpoints(n_ok)) if n_ok >= 1 else 0
    sel = jp.select_joinpoints(counts, years, exposure, max_joinpoints=kmax, n_permutations=n_permutations,
                               seed=seed, alpha=a)
    straight = sel.fits[0]
    broken = sel.fits[1] if len(sel.fits) > 1 else None
    s0, s1 = validate.finite("start", start), validate.finite("end", end)
    aapc_broken = power = btest = None
    if broken is not None:
        aapc_broken = broken.aapc(s0, s1, n_boot=n_boot, seed=seed)
        if bootstrap_test:
            btest = jp.joinpoint_test(counts, years, exposure, 0, 1, n_permutations, seed, "bootstrap", a)
        if validate.count("power_series", power_series):
            power = joinpoint_power(broken.fitted, broken.years, max(1.0, broken.scale), broken.exposure,
                                    power_series, power_permutations, seed, a)
    return WindowTrend(
        start=s0, end=s1, direction=direction, selection=sel, straight=straight, broken=broken,
        aapc_selected=sel.aapc(s0, s1), aapc_straight=straight.aapc(s0, s1), aapc_broken=aapc_broken,
        bootstrap_test=btest, power=power, alpha=a,
        method=(f"{sel.method}; AAPC over the window (Clegg et al. 2009), one-joinpoint AAPC also with a residual "
                f"bootstrap that re-locates the joinpoint; power by simulation from the fitted one-joinpoint model"))
