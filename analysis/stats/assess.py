"""Composite assessments of press-release claims, built from the tested pieces in compare, consistency,
dispersion, power and trend. One function per claim notebook; each returns a frozen result whose ``to_dict()``
is the notebook's JSON results and whose ``verdict`` is its closing sentence."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analysis.core import validate
from analysis.core.results import Result
from analysis.stats import compare, consistency, dispersion, power
from analysis.stats.rates import fmt_p


def _decimals_of(x: float) -> int:
    text = f"{x:g}"
    return len(text.split(".")[1]) if "." in text else 0


@dataclass(frozen=True)
class ChangeAssessment(Result):
    """Is a reported change between two periods real? (notebook 02)."""

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
    p_value_score: float
    p_value_range_over_baselines: tuple[float, float] | None
    dispersion: float
    dispersion_source: str
    dispersion_annual_ci: tuple[float, float] | None
    dispersion_nb_quarter: float | None
    p_value_overdispersed: float
    rate_ratio_ci_overdispersed: tuple[float, float]
    p_value_overdispersed_nb: float | None
    dispersion_to_lose_significance: float | None
    dispersion_table: list[dict]
    min_detectable_ratio: float
    min_detectable_change_pct: float
    power_for_observed_ratio: float
    method: str = ("exact conditional binomial test (Poisson counts, as R poisson.test) with mid-p and score "
                   "versions; quasi-Poisson score test for over-dispersion (variance φ·μ)")
    notes: list[str] = field(default_factory=list)

    @property
    def significant_exact(self) -> bool:
        return self.p_value_exact < self.alpha

    @property
    def significant_overdispersed(self) -> bool:
        return self.p_value_overdispersed < self.alpha

    @property
    def verdict(self) -> str:
        a = self.alpha
        base = (f"the earlier count {self.previous_count} is derived from the published percent, not published"
                if self.previous_derived else f"the earlier count {self.previous_count} is as stated")
        cons = ("The published percent matches the counts." if self.consistent else
                f"The published percent does NOT match the counts: {self.consistency['verdict']}")
        exact = (f"Exact conditional test: rate ratio {self.rate_ratio:.3f} (95% CI {self.rate_ratio_ci[0]:.3f} to "
                 f"{self.rate_ratio_ci[1]:.3f}), change {self.change_pct:+.1f}%, {fmt_p(self.p_value_exact)} "
                 f"({'significant' if self.significant_exact else 'not significant'} at {a:g} under Poisson).")
        od = (f"With over-dispersion φ = {self.dispersion:.2f} ({self.dispersion_source}) the quasi-Poisson "
              f"{fmt_p(self.p_value_overdispersed)} ({'significant' if self.significant_overdispersed else 'not significant'})")
        if self.p_value_overdispersed_nb is not None and self.dispersion_nb_quarter is not None:
            od += (f"; if the extra variance is year-wide (negative binomial, φ = {self.dispersion_nb_quarter:.2f} at this "
                   f"scale) {fmt_p(self.p_value_overdispersed_nb)}")
        od += "."
        flip = ("The result is not significant even under pure Poisson variation." if self.dispersion_to_lose_significance
                is None else f"The score test (φ = 1 at first) loses significance once φ ≥ {self.dispersion_to_lose_significance:.2f}.")
        mdr = (f"With ~{self.previous_count} events, 80% power needs a true change of "
               f"{self.min_detectable_change_pct:+.1f}% or more (power for the observed change: "
               f"{100 * self.power_for_observed_ratio:.0f}%).")
        if self.significant_exact and not self.significant_overdispersed:
            call = "Verdict: fragile — real under a Poisson model, not robust to the over-dispersion the annual series shows."
        elif self.significant_overdispersed:
            call = "Verdict: the change is statistically meaningful even allowing for the estimated over-dispersion."
        else:
            call = "Verdict: not statistically meaningful — the change is within chance variation."
        return " ".join([f"{self.current_count} vs {self.previous_count} ({base}).", cons, exact, od, flip, mdr, call])


def assess_change(current_count, reported_change_pct, previous_count=None, pct_decimals=1, exposure_ratio=1.0,
                  alpha=0.05, dispersion_value=None, annual_counts=None, annual_years=None) -> ChangeAssessment:
    """Assess 'count c, down p% on a year earlier': back-calculate, check, test exactly and under over-dispersion.

    ``dispersion_value`` None: φ is estimated from the annual series (quasi-Poisson Pearson χ²/df) and carried to
    the period unchanged (conservative: extra variance proportional to the mean); the negative-binomial carry
    (year-wide shocks) is reported beside it.
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
                         f"p ranges {p_range[0]:.4g}–{p_range[1]:.4g}")
    cmp = compare.compare_counts(c, prev, e, alpha)

    phi_ci = None
    phi_nb = None
    if dispersion_value is not None:
        phi = validate.positive("dispersion", dispersion_value)
        source = "set as a parameter"
    else:
        if annual_counts is None or annual_years is None:
            raise ValueError("annual_counts and annual_years are needed to estimate the dispersion (or pass dispersion_value)")
        est = dispersion.estimate_dispersion(annual_counts, annual_years)
        q = dispersion.quarterly_phi(est.estimate, float(np.mean(annual_counts)), float(prev))
        phi = max(1.0, est.estimate)
        phi_nb = max(1.0, q.phi_negbin)
        phi_ci = tuple(est.ci)
        yrs = [int(y) for y in annual_years]
        source = (f"Pearson χ²/df of a log-linear Poisson GLM on Ministry annual counts {min(yrs)}–{max(yrs)}, "
                  f"carried unchanged to this period")
    od = compare.compare_overdispersed(c, prev, phi, e, alpha)
    od_nb = compare.compare_overdispersed(c, prev, phi_nb, e, alpha) if phi_nb is not None else None
    flip = compare.dispersion_to_flip(c, prev, e, alpha)
    phis = sorted(set(compare.DEFAULT_PHIS) | {round(phi, 3)} | ({round(phi_nb, 3)} if phi_nb else set()))
    table = compare.dispersion_table(c, prev, e, tuple(phis), alpha)
    mdr = power.minimum_detectable_ratio(prev, e, alpha=alpha)
    pw = power.power_ratio(cmp.estimate, prev, e, alpha=alpha)
    return ChangeAssessment(
        current_count=c, reported_change_pct=pct, previous_stated=previous_count,
        implied_previous_counts=list(back.baselines), previous_count=prev, previous_derived=derived,
        consistent=consistent, consistency=check_d, exposure_ratio=e, alpha=alpha,
        rate_ratio=cmp.estimate, rate_ratio_ci=tuple(cmp.ci), change_pct=cmp.pct_change, change_pct_ci=tuple(cmp.pct_ci),
        p_value_exact=cmp.p_value, p_value_midp=cmp.p_midp, p_value_score=cmp.p_score,
        p_value_range_over_baselines=p_range, dispersion=phi, dispersion_source=source, dispersion_annual_ci=phi_ci,
        dispersion_nb_quarter=phi_nb, p_value_overdispersed=od.p_value, rate_ratio_ci_overdispersed=tuple(od.ci),
        p_value_overdispersed_nb=None if od_nb is None else od_nb.p_value,
        dispersion_to_lose_significance=flip.phi_flip, dispersion_table=table.to_frame().to_dict(orient="records"),
        min_detectable_ratio=mdr.estimate, min_detectable_change_pct=mdr.pct_change,
        power_for_observed_ratio=pw.estimate, notes=notes)


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
        return (f"The earlier period held {100 * self.previous_share:.1f}% of its year's {self.previous_year_total:,.0f}; "
                f"such periods typically hold {100 * self.typical_share:.1f}% (SE {100 * self.typical_share_se:.1f} points, "
                f"{self.share_source}), so it was {high} (z = {self.share_z:+.1f}). At the typical share of last year's "
                f"level the current period would expect {self.expected_current:,.0f} ({self.expected_current_ci[0]:,.0f} "
                f"to {self.expected_current_ci[1]:,.0f}); {self.current_count} is {self.change_vs_expected_pct:+.1f}% "
                f"against that ({fmt_p(self.p_value_vs_expected)}, exact Poisson). A change measured from a high base "
                f"partly reflects regression to the mean.")


def seasonal_baseline(current_count, previous_count, previous_year_total, typical_share, typical_share_se,
                      share_source="", alpha=0.05) -> SeasonalBaseline:
    """Compare the earlier period's share of its year with the typical share, and the current count with what the
    typical share of last year's total predicts (exact Poisson p-value; share uncertainty in the interval)."""
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
