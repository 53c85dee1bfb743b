"""Composite assessment of a press-release change claim, built from the tested pieces in compare, consistency,
dispersion and power. One function per claim notebook; each returns a frozen result whose ``to_dict()``
is the notebook's JSON results and whose ``verdict`` is its closing sentence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_number, fmt_percent, fmt_pvalue
from analysis.core.results import Result
from analysis.stats import compare, consistency, dispersion, power


@dataclass(frozen=True)
class DispersionView(Result):
    """One over-dispersion assumption and the comparison under it (a row of the survival table)."""

    name: str
    phi: float
    df: int | None
    p_value: float
    ci: tuple[float, float]
    p_value_normal: float
    significant: bool

    @property
    def reference(self) -> str:
        return compare.reference_name(self.df)

    @property
    def verdict(self) -> str:
        return (f"{self.name}: φ = {fmt_number(self.phi)}, {self.reference} reference, {compare.ptext(self.p_value)} "
                f"({'significant' if self.significant else 'not significant'})")


def dispersion_view(name, x1, x0, phi, exposure_ratio=1.0, alpha=0.05, df=None) -> DispersionView:
    """The quasi-Poisson comparison of x1 and x0 under one named dispersion.

    Uses the Student t reference when ``df`` is given (φ estimated), the normal otherwise
    (:func:`analysis.stats.compare.compare_quasi`).

    Parameters
    ----------
    name : str
        Label of the dispersion assumption (e.g. where φ came from), shown in tables and verdicts.
    x1 : int
        Current-period count (non-negative integer).
    x0 : int
        Previous-period count (non-negative integer).
    phi : float
        Dispersion φ (variance φ·μ, positive).
    exposure_ratio : float, default 1.0
        Exposure ratio T1/T0 of the two periods (positive).
    alpha : float, default 0.05
        Two-sided error rate, in (0, 1).
    df : int or None, default None
        Residual degrees of freedom φ was estimated from (t reference); None for a known φ (normal).

    Returns
    -------
    DispersionView
        ``name``, ``phi``, ``df``, the score ``p_value`` and ``ci`` under the chosen reference, the normal
        plug-in ``p_value_normal`` and whether the change is ``significant``.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed. Chapman & Hall.
    """
    q = compare.compare_quasi(x1, x0, phi, exposure_ratio, alpha, df)
    return DispersionView(name=name, phi=q.phi, df=q.df, p_value=q.p_value, ci=q.ci, p_value_normal=q.p_value_normal,
                          significant=q.significant)


@dataclass(frozen=True)
class ChangeAssessment(Result):
    """Is a reported change between two periods real? (notebook 02).

    The headline over-dispersed test is the quasi-Poisson score test at ``dispersion`` with the reference that
    matches how φ was obtained: Student t on ``dispersion_df`` residual df when estimated from the annual series, normal
    when it is given (known). ``views`` lists every other dispersion assumption and whether the change survives it.
    """

    current_count: int
    reported_change_pct: float
    previous_stated: int | None
    implied_previous_counts: list[int]
    previous_count: int
    previous_derived: bool
    consistent: bool
    consistency: dict
    exposure_ratio: float
    alpha: float
    rate_ratio: float
    rate_ratio_ci: tuple[float, float]
    change_pct: float
    change_pct_ci: tuple[float, float]
    p_value_exact: float
    p_value_midp: float
    p_value_midp_lancaster: float
    p_value_score: float
    p_value_range_over_baselines: tuple[float, float] | None
    dispersion: float
    dispersion_df: int | None
    dispersion_estimate: float | None
    dispersion_source: str
    dispersion_annual_ci: tuple[float, float] | None
    dispersion_nb_quarter: float | None
    dispersion_nb_quarter_ml: float | None
    nb_alpha_moments: float | None
    nb_alpha_ml: float | None
    p_value_overdispersed: float
    p_value_overdispersed_normal: float
    rate_ratio_ci_overdispersed: tuple[float, float]
    rate_ratio_ci_overdispersed_normal: tuple[float, float]
    change_pct_ci_overdispersed: tuple[float, float]
    p_value_overdispersed_nb: float | None
    dispersion_to_lose_significance: float | None
    dispersion_to_lose_significance_normal: float | None
    dispersion_table: list[dict]
    leave_one_out: list[dict] | None
    leave_one_out_range: tuple[float, float] | None
    leave_one_out_flips: list[int]
    views: list[DispersionView]
    min_detectable_ratio: float
    min_detectable_change_pct: float
    min_detectable_ratio_overdispersed: float | None
    min_detectable_change_pct_overdispersed: float | None
    power_for_observed_ratio: float
    power_for_observed_ratio_overdispersed: float
    method: str = ("exact conditional binomial test (Poisson counts, as R poisson.test) with mid-p (statsmodels "
                   "cond-midp and Lancaster's) and score versions; quasi-Poisson score test for over-dispersion "
                   "(variance φ·μ) with a t reference on the residual df when φ is estimated")
    notes: list[str] = field(default_factory=list)

    @property
    def dispersion_reference(self) -> str:
        return compare.reference_name(self.dispersion_df)

    @property
    def significant_exact(self) -> bool:
        return self.p_value_exact < self.alpha

    @property
    def significant_overdispersed(self) -> bool:
        return self.p_value_overdispersed < self.alpha

    @property
    def survival(self) -> list[tuple[str, float, bool]]:
        """(test, p-value, significant) for the exact test, the headline dispersion and every other view."""
        head = (f"quasi-Poisson at φ = {fmt_number(self.dispersion)} ({self.dispersion_reference})",
                self.p_value_overdispersed, self.significant_overdispersed)
        rows = [("exact Poisson", self.p_value_exact, self.significant_exact), head]
        if self.dispersion_df is not None:
            rows.append(("the same φ treated as known (normal plug-in)", self.p_value_overdispersed_normal,
                         self.p_value_overdispersed_normal < self.alpha))
        rows += [(f"{v.name} ({v.reference})", v.p_value, v.significant) for v in self.views]
        return rows

    @property
    def survives_text(self) -> str:
        """Which dispersion assumptions the change survives (significant at alpha) and which it does not."""
        yes = [t for t, _, s in self.survival if s]
        no = [t for t, _, s in self.survival if not s]
        return (f"Significant at {self.alpha:g} under: {'; '.join(yes) if yes else 'none'}. "
                f"Not significant under: {'; '.join(no) if no else 'none'}.")

    @property
    def flip_text(self) -> str:
        """The dispersion at which significance is lost, under the headline reference and with φ known."""
        known = self.dispersion_to_lose_significance_normal
        if known is None:
            return ("The quasi-Poisson score test is not significant even at φ = 1, so no dispersion can make the "
                    "change significant.")
        if self.dispersion_df is None:
            return f"The quasi-Poisson score test loses significance once φ ≥ {fmt_number(known)}."
        est = self.dispersion_to_lose_significance
        if est is None:
            return (f"With φ estimated on {self.dispersion_df} df ({self.dispersion_reference} reference) it is not "
                    f"significant at any φ ≥ 1; with φ known it would need φ < {fmt_number(known)}.")
        return (f"The quasi-Poisson score test loses significance once an estimated φ (on {self.dispersion_df} df) "
                f"reaches {fmt_number(est)}, or a known φ reaches {fmt_number(known)}.")

    @property
    def verdict(self) -> str:
        a = self.alpha
        p = compare.ptext
        base = (f"the earlier count {fmt_count(self.previous_count)} is derived from the published percent, not "
                "published" if self.previous_derived else f"the earlier count {fmt_count(self.previous_count)} is as "
                "stated")
        cons = ("The published percent matches the counts." if self.consistent else
                f"The published percent does NOT match the counts: {self.consistency['verdict']}")
        exact = (f"Exact conditional test (Poisson): rate ratio {fmt_number(self.rate_ratio)} (95% CI "
                 f"{fmt_number(self.rate_ratio_ci[0])} to {fmt_number(self.rate_ratio_ci[1])}), change "
                 f"{fmt_percent(self.change_pct)}, {p(self.p_value_exact)}; Lancaster mid-p "
                 f"{fmt_pvalue(self.p_value_midp_lancaster)} ({'significant' if self.significant_exact else 'not significant'} "
                 f"at {a:g} under Poisson).")
        od = (f"Dispersion assumed: φ = {fmt_number(self.dispersion)} ({self.dispersion_source}). Quasi-Poisson score "
              f"test, {self.dispersion_reference} reference: {p(self.p_value_overdispersed)}, rate ratio 95% CI "
              f"{fmt_number(self.rate_ratio_ci_overdispersed[0])} to {fmt_number(self.rate_ratio_ci_overdispersed[1])} "
              f"({'significant' if self.significant_overdispersed else 'not significant'})")
        if self.dispersion_df is not None:
            od += f"; the normal plug-in (φ treated as known) gives {p(self.p_value_overdispersed_normal)}"
        od += "."
        if self.leave_one_out:
            lo, hi = self.leave_one_out_range
            phi_of = {r["year_left_out"]: r["phi"] for r in self.leave_one_out}
            under = [y for y in self.leave_one_out_flips if phi_of.get(y, 2.0) <= 1]
            od += (f" Leaving one year out, φ ranges {fmt_number(lo)} to {fmt_number(hi)}"
                   + (f"; without {', '.join(map(str, self.leave_one_out_flips))} the verdict would change"
                      + (f" (without {', '.join(map(str, under))} φ ≤ 1: no over-dispersion, so the Poisson test "
                         "applies)" if under else "") + "."
                      if self.leave_one_out_flips else "; no single year changes the verdict."))
        flip = self.flip_text
        mdr = "" if not math.isfinite(self.min_detectable_change_pct) else (
               f"With about {fmt_count(self.previous_count)} events, 80% power needs a true change of "
               f"{fmt_percent(self.min_detectable_change_pct)} or more under Poisson"
               + (f", {fmt_percent(self.min_detectable_change_pct_overdispersed)} under φ = "
                  f"{fmt_number(self.dispersion)}" if self.min_detectable_change_pct_overdispersed is not None else "")
               + f" (power for the observed change: {100 * self.power_for_observed_ratio:.0f}% under Poisson, "
               f"{100 * self.power_for_observed_ratio_overdispersed:.0f}% under φ).")
        if not self.consistent:
            call = "Verdict: inconsistent — the published percent and the counts disagree."
        elif self.significant_exact and not self.significant_overdispersed:
            call = ("Verdict: fragile — real under a Poisson model, not robust to the over-dispersion assumed "
                    f"(φ = {fmt_number(self.dispersion)}).")
        elif self.significant_overdispersed:
            call = ("Verdict: supported — the change is statistically meaningful even allowing for the over-dispersion "
                    f"assumed (φ = {fmt_number(self.dispersion)}).")
        else:
            call = "Verdict: not supported — the change is within chance variation."
        return " ".join(s for s in [f"{fmt_count(self.current_count)} vs {fmt_count(self.previous_count)} ({base}).",
                                    cons, exact, od, self.survives_text, flip, mdr, call] if s)


def _loo_rows(c, prev, e, alpha, counts, years):
    """Leave-one-year-out φ and the headline test under each (Poisson, normal, when φ̂ <= 1)."""
    loo = dispersion.leave_one_out_dispersion(counts, years)
    rows = []
    for y, f in zip(loo.years, loo.phi_without, strict=True):
        df = loo.df_resid - 1
        phi_used, ref_df = (f, df) if f > 1 else (1.0, None)
        q = compare.compare_quasi(c, prev, phi_used, e, alpha, ref_df)
        rows.append({"year_left_out": y, "phi": f, "df": df, "phi_used": phi_used, "reference": q.reference,
                     "p_value": q.p_value, "significant": q.significant})
    return loo, rows


def assess_change(current_count, reported_change_pct, previous_count=None, pct_decimals=1, exposure_ratio=1.0,
                  alpha=0.05, dispersion_value=None, annual_counts=None, annual_years=None, *, dispersion_df=None,
                  dispersion_source=None, extra_dispersions=(), detail=True) -> ChangeAssessment:
    """Assess 'count c, down p% on a year earlier': back-calculate, check, test exactly and under over-dispersion.

    Parameters
    ----------
    current_count : int
        The count of the current period.
    reported_change_pct : float
        The published percent change.
    previous_count : int, optional
        The earlier count when published; None back-calculates it from the rounded percent.
    pct_decimals : int
        Decimals the percent was rounded to.
    exposure_ratio : float
        Workers now / workers then (1 compares counts).
    alpha : float
        Significance level of every test.
    dispersion_value : float, optional
        A given dispersion φ (treated as known unless ``dispersion_df`` is given). None estimates φ from the annual
        series (Pearson χ²/df of a log-linear Poisson GLM, floored at 1) and carries it unchanged to the period, with
        a Student t reference on its residual df; an estimate at or below 1 means Poisson (normal reference).
    annual_counts, annual_years : sequences, optional
        The annual series φ is estimated from (needed when ``dispersion_value`` is None).
    dispersion_df : int, optional
        Residual df of a given ``dispersion_value`` (t reference).
    dispersion_source : str, optional
        Where a given ``dispersion_value`` comes from (named in the verdict).
    extra_dispersions : iterable of (name, φ, df or None)
        Further dispersion assumptions to report (the survival table).
    detail : bool
        False skips what only one claim's own report shows (negative-binomial views, leave-one-year-out φ, the
        dispersion table, power and minimum detectable change): the claims audit runs every published claim through
        the same tests at a fraction of the cost. The tests, the dispersion and the verdict label are unchanged.

    Returns
    -------
    ChangeAssessment

    References
    ----------
    McCullagh & Nelder (1989) §9.2 (estimated scale, F/t reference); Lancaster (1961) (mid-p); Breslow (1984) and
    Saha & Paul (2005) (NB α by moments and ML).
    """
    c = validate.count("current_count", current_count)
    pct = validate.pct_change("reported_change_pct", reported_change_pct)
    validate.alpha("alpha", alpha)
    e = validate.positive("exposure_ratio", exposure_ratio)
    back = consistency.baselines_for_percent(c, pct, pct_decimals)
    notes = []
    if previous_count is not None:
        prev = validate.count("previous_count", previous_count)
        check = consistency.check_percent(c, prev, pct, pct_decimals)
        consistent, derived, check_d = check.consistent, False, check.to_dict()
        p_range = None
    else:
        if not back.baselines:
            raise ValueError(f"reported_change_pct {pct!r} at {pct_decimals} decimals allows no integer earlier count "
                             f"for current_count {c}")
        mid = c / (1 + pct / 100)
        prev = min(back.baselines, key=lambda b: (abs(b - mid), b))
        consistent, derived = True, True
        check_d = back.to_dict()
        over = consistency.compare_over_baselines(c, pct, pct_decimals, exposure_ratio=e, alpha=alpha)
        p_range = tuple(over.p_range)
        if len(back.baselines) > 1:
            notes.append(f"{len(back.baselines)} earlier counts fit the rounded percent: {back.baselines}; "
                         f"p ranges {fmt_pvalue(p_range[0])} to {fmt_pvalue(p_range[1])}")
    cmp = compare.compare_counts(c, prev, e, alpha)

    phi_ci = phi_hat = None
    phi_nb = phi_nb_ml = a_mm = a_ml = None
    loo_rows, loo_range, loo_flips = None, None, []
    views = []
    if dispersion_value is not None:
        phi = validate.positive("dispersion", dispersion_value)
        df = None if dispersion_df is None else validate.positive_int("dispersion_df", dispersion_df)
        source = dispersion_source or ("set as a parameter, treated as known" if df is None else
                                       f"set as a parameter, estimated on {df} df")
    else:
        if annual_counts is None or annual_years is None:
            raise ValueError("annual_counts and annual_years are needed to estimate the dispersion (or pass dispersion_value)")
        est = dispersion.estimate_dispersion(annual_counts, annual_years)
        phi_hat = est.estimate
        phi, df = (phi_hat, est.df_resid) if phi_hat > 1 else (1.0, None)
        phi_ci = tuple(est.ci)
        yrs = [int(y) for y in annual_years]
        source = (f"Pearson χ²/df of a log-linear Poisson GLM on the annual counts {min(yrs)}–{max(yrs)}, "
                  f"{est.df_resid} residual df, carried unchanged to this period"
                  + ("" if phi_hat > 1 else f"; the estimate {fmt_number(phi_hat)} is at most 1, so Poisson"))
    if dispersion_value is None and detail:
        nb = dispersion.negbin_dispersion(annual_counts, annual_years)
        a_mm, a_ml = nb.alpha_moments, nb.alpha_ml
        phi_nb, phi_nb_ml = max(1.0, nb.phi_at(prev)), max(1.0, nb.phi_at(prev, "ml"))
        nb_df = est.df_resid if phi_nb > 1 else None
        views.append(dispersion_view(f"negative binomial, α by moments, φ = {fmt_number(phi_nb)} at this period's "
                                     "size", c, prev, phi_nb, e, alpha, nb_df))
        views.append(dispersion_view(f"negative binomial, α by maximum likelihood, φ = {fmt_number(phi_nb_ml)}",
                                     c, prev, phi_nb_ml, e, alpha, est.df_resid if phi_nb_ml > 1 else None))
        if len(annual_years) >= 4:
            loo, loo_rows = _loo_rows(c, prev, e, alpha, annual_counts, annual_years)
            loo_range = loo.range
    for name, f_x, df_x in extra_dispersions:
        views.append(dispersion_view(name, c, prev, f_x, e, alpha, df_x))
    q = compare.compare_quasi(c, prev, phi, e, alpha, df)
    if loo_rows:
        loo_flips = [r["year_left_out"] for r in loo_rows if r["significant"] != q.significant]
    table, mdr_est, mdr_pct, mdr_od, pw_est, pw_od = [], math.nan, math.nan, None, math.nan, math.nan
    if detail:
        phis = sorted(set(compare.DEFAULT_PHIS) | {round(phi, 3)} | ({round(phi_nb, 3)} if phi_nb else set()))
        t_known = compare.dispersion_table(c, prev, e, tuple(phis), alpha)
        table = [{"phi": f, "p_value": pn, "significant": pn <= alpha}
                 for f, pn in zip(t_known.phis, t_known.p_values)]
        if df is not None:
            t_est = compare.dispersion_table(c, prev, e, tuple(phis), alpha, df)
            for row, pt in zip(table, t_est.p_values):
                row.update({"p_value_t": pt, "significant_t": pt <= alpha})
        mdr = power.minimum_detectable_ratio(prev, e, alpha=alpha)
        mdr_est, mdr_pct = mdr.estimate, mdr.pct_change
        mdr_od = power.minimum_detectable_ratio(prev, e, alpha=alpha, phi=phi, df=df) if (phi > 1 or df) else None
        pw_est = power.power_ratio(cmp.estimate, prev, e, alpha=alpha).estimate
        pw_od = (power.normal_power(cmp.estimate, prev, e, alpha, phi, df) if math.isfinite(cmp.estimate)
                 and cmp.estimate > 0 else float("nan"))
    return ChangeAssessment(
        current_count=c, reported_change_pct=pct, previous_stated=previous_count,
        implied_previous_counts=list(back.baselines), previous_count=prev, previous_derived=derived,
        consistent=consistent, consistency=check_d, exposure_ratio=e, alpha=alpha,
        rate_ratio=cmp.estimate, rate_ratio_ci=tuple(cmp.ci), change_pct=cmp.pct_change, change_pct_ci=tuple(cmp.pct_ci),
        p_value_exact=cmp.p_value, p_value_midp=cmp.p_midp, p_value_midp_lancaster=compare.lancaster_midp(c, prev, e),
        p_value_score=cmp.p_score, p_value_range_over_baselines=p_range, dispersion=phi, dispersion_df=df,
        dispersion_estimate=phi_hat, dispersion_source=source, dispersion_annual_ci=phi_ci,
        dispersion_nb_quarter=phi_nb, dispersion_nb_quarter_ml=phi_nb_ml, nb_alpha_moments=a_mm, nb_alpha_ml=a_ml,
        p_value_overdispersed=q.p_value, p_value_overdispersed_normal=q.p_value_normal,
        rate_ratio_ci_overdispersed=tuple(q.ci), rate_ratio_ci_overdispersed_normal=tuple(q.ci_normal),
        change_pct_ci_overdispersed=(100 * (q.ci[0] - 1), 100 * (q.ci[1] - 1)),
        p_value_overdispersed_nb=views[0].p_value if phi_nb is not None else None,
        dispersion_to_lose_significance=q.phi_flip, dispersion_to_lose_significance_normal=q.phi_flip_normal,
        dispersion_table=table, leave_one_out=loo_rows, leave_one_out_range=loo_range, leave_one_out_flips=loo_flips,
        views=views, min_detectable_ratio=mdr_est, min_detectable_change_pct=mdr_pct,
        min_detectable_ratio_overdispersed=None if mdr_od is None else mdr_od.estimate,
        min_detectable_change_pct_overdispersed=None if mdr_od is None else mdr_od.pct_change,
        power_for_observed_ratio=pw_est, power_for_observed_ratio_overdispersed=pw_od, notes=notes)


@dataclass(frozen=True)
class SeasonalBaseline(Result):
    """Was the earlier period unusually high for its place in the year? (regression to the mean)."""

    previous_count: int
    previous_year_total: float
    previous_share: float
    typical_share: float
    typical_share_se: float
    share_source: str
    share_z: float
    expected_current: float
    expected_current_ci: tuple[float, float]
    current_count: int
    change_vs_expected_pct: float
    p_value_vs_expected: float
    method: str = ("share of the annual total by the period's last month from past cumulative releases; current "
                   "count vs (typical share x previous year's total), exact Poisson test")

    @property
    def verdict(self) -> str:
        high = "high" if self.share_z > 1 else "low" if self.share_z < -1 else "ordinary"
        share = lambda v: fmt_percent(100 * v, 1, signed=False)  # noqa: E731
        return (f"The earlier period held {share(self.previous_share)} of its year's "
                f"{fmt_count(self.previous_year_total)}; such periods typically hold {share(self.typical_share)} (SE "
                f"{fmt_number(100 * self.typical_share_se, 2)} points, {self.share_source}), so it was {high} (z = "
                f"{self.share_z:+.1f}). At the typical share of last year's level the current period would expect "
                f"{fmt_count(self.expected_current)} ({fmt_count(self.expected_current_ci[0])} to "
                f"{fmt_count(self.expected_current_ci[1])}); {fmt_count(self.current_count)} is "
                f"{fmt_percent(self.change_vs_expected_pct)} against that ({compare.ptext(self.p_value_vs_expected)}, "
                "exact Poisson). A change measured from a high base partly reflects regression to the mean.")


def seasonal_baseline(current_count, previous_count, previous_year_total, typical_share, typical_share_se,
                      share_source="", alpha=0.05) -> SeasonalBaseline:
    """Compare the earlier period's share of its year with the typical share.

    Also compares the current count with what the typical share of last year's total predicts (exact Poisson
    p-value; the share's uncertainty enters the interval for the expected count as share ± z·se).

    Parameters
    ----------
    current_count : int
        Count of the current period (non-negative integer).
    previous_count : int
        Count of the same period a year earlier (non-negative integer).
    previous_year_total : float
        Total count of the earlier year (positive).
    typical_share : float
        Typical share of the year that the period holds (positive), e.g. a mean over past years.
    typical_share_se : float
        Standard error of ``typical_share`` (>= 0; 0 gives an undefined z-score for the share).
    share_source : str, default ""
        Where the typical share comes from, carried into the result.
    alpha : float, default 0.05
        Two-sided error rate for the interval of the expected count, in (0, 1).

    Returns
    -------
    SeasonalBaseline
        The earlier period's share and its z-score against the typical share, the expected current count
        typical_share·previous_year_total with its interval, the current count's percent change against it and
        the exact Poisson p-value of the current count at that expectation.
    """
    from scipy import stats

    from analysis.stats.rates import poisson_exact_pvalue

    c = validate.count("current_count", current_count)
    p = validate.count("previous_count", previous_count)
    total = validate.positive("previous_year_total", previous_year_total)
    s = validate.positive("typical_share", typical_share)
    se = float(typical_share_se)
    if se < 0:
        raise ValueError(f"typical_share_se must be >= 0, got {typical_share_se!r}")
    validate.alpha("alpha", alpha)
    z_crit = stats.norm.ppf(1 - alpha / 2)
    expected = s * total
    return SeasonalBaseline(
        previous_count=p, previous_year_total=total, previous_share=p / total, typical_share=s, typical_share_se=se,
        share_source=share_source, share_z=(p / total - s) / se if se > 0 else float("nan"),
        expected_current=expected, expected_current_ci=(max(0.0, (s - z_crit * se) * total), (s + z_crit * se) * total),
        current_count=c, change_vs_expected_pct=100 * (c / expected - 1),
        p_value_vs_expected=poisson_exact_pvalue(c, expected))
