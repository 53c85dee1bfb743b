"""Is a reported change between two periods real? (notebook ``02_quarterly_change``)

A Ministry release says "count *c* in period *P*, down *p*% on the same period a year earlier". This study checks
that the published percent is consistent with the counts (back-calculating the earlier count when it was not
published), tests the change exactly (Poisson) and under the over-dispersion the annual series shows, says which
dispersion would overturn the verdict, how large a change a period of this size can reveal, and looks at the
workforce (rate instead of count), the seasonal base (regression to the mean) and the deaths of the period.

``run(Params(...))`` returns a :class:`QuarterlyResult`; the notebook narrates it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis import data
from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_counted, fmt_number, fmt_percent, fmt_pvalue
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import assess, compare, dispersion, power, rates, ytd_model
from analysis.studies import common, fatalities, ytd

NAME = "quarterly"
NOTEBOOK = "02_quarterly_change"
MEASURES = ("injured", "fatal", "victims")
SYSTEMS = ("ministry", "bns")
_NOUN = {"injured": "workplace injuries", "fatal": "workplace deaths", "victims": "workplace injuries (BNS victims)"}
_PEOPLE = {"injured": "people injured at work (including fatal)", "fatal": "people killed at work",
           "victims": "victims of accidents at work (BNS, at least one day's incapacity, including fatal)"}
TREND_FIRST_YEAR = 2015  # the Ministry's annual series has no gaps from 2015 on (2017 and 2023 derived)


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the quarterly-change study (the notebook's ``parameters`` cell mirrors this)."""

    current_count: int = param(293, "count in the current period (people injured incl. fatal, or deaths)",
                               check=validate.people, cli=("--current",))
    reported_change_pct: float = param(-16.8, "published percent change against the same period a year earlier",
                                       check=validate.pct_change, cli=("--change-pct",))
    period: str = param("2025-Q1", "the release's period (2025-Q1, 2019, 2021-H1, 2021-01..07)",
                        check=common.check_period, cli_required=True)
    measure: str = param("injured", "what is counted: injured (Ministry, incl. fatal), fatal (deaths) or victims (BNS)",
                         choices=MEASURES)
    system: str = param("ministry", "who published it: ministry (labour inspection) or bns (statistics bureau)",
                        choices=SYSTEMS)
    previous_count: int | None = param(None, "earlier count if published; None back-calculates it from the percent",
                                          check=validate.people, cli=("--previous",))
    pct_decimals: int = param(1, "decimals the published percent was rounded to", cli=("--decimals",))
    exposure_ratio: float = param(1.0, "workers now / workers then (1 compares counts; the LFS value is shown)",
                                  check=validate.positive)
    alpha: float = param(0.05, "significance level of every test", check=validate.alpha)
    dispersion: float | None = param(None, "over-dispersion φ (variance / mean), treated as known; None estimates "
                                              "it (injuries: Ministry annual series with a t reference; deaths: "
                                              "clustering in listed events)", check=validate.positive)
    deaths: int | None = param(None, "deaths in the period, for an injuries claim; None takes the release's published "
                                     "deaths from the data (no deaths section when there are none)",
                               check=validate.people)
    event_deaths: int | None = param(None, "of which in accidents killing several people; None takes them from "
                                           "data/events.csv for the period", check=validate.people)
    deaths_reference_year: int | None = param(None, "deaths are compared with this year's Ministry total scaled to the "
                                                    "period's length; None is the year before", check=validate.positive_int,
                                              cli=("--reference-year",))

    def check(self) -> None:
        """Rules across parameters: the measure must be one the system counts, ``pct_decimals`` 0-3, ``dispersion``
        at least 1, ``event_deaths`` at most ``deaths``, and the published percent back-calculable
        (:func:`analysis.studies.common.check_back_calculable`).

        Raises
        ------
        ValueError
            Naming the parameter that breaks a rule (a ``ParameterError`` for the back-calculation).
        """
        if (self.measure, self.system) in (("injured", "bns"), ("victims", "ministry")):
            raise ValueError(f"measure {self.measure!r} is not counted by system {self.system!r} (the Ministry counts "
                             "'injured', the BNS 'victims'; both count 'fatal')")
        if not 0 <= self.pct_decimals <= 3:
            raise ValueError(f"pct_decimals must be an integer from 0 to 3, got {self.pct_decimals!r}")
        if self.dispersion is not None and self.dispersion < 1:
            raise ValueError(f"dispersion must be >= 1 (1 = Poisson; under-dispersion is not modelled), "
                             f"got {self.dispersion!r}")
        if self.deaths is not None and self.event_deaths is not None and self.event_deaths > self.deaths:
            raise ValueError(f"event_deaths must not exceed deaths ({self.deaths}), got {self.event_deaths!r}")
        common.check_back_calculable(self.current_count, self.reported_change_pct, self.pct_decimals,
                                     self.previous_count, ("current_count", "reported_change_pct"))

    @property
    def previous_period(self) -> str:
        """The same period a year earlier."""
        return data.shift_period(self.period, -1)

    @property
    def months(self) -> int:
        return common.period_length(self.period)



@dataclasses.dataclass(frozen=True)
class DeathsInput:
    """The deaths of an injuries claim's period, from the parameters or the data, with where each came from."""

    deaths: int
    event_deaths: int
    events: tuple[str, ...]
    reference_year: int
    source: str


def period_deaths(p: Params, data_dir=DATA_DIR) -> DeathsInput | None:
    """The deaths section's inputs: the parameters where given, else the release's published deaths, the deaths
    in listed mass-casualty accidents of the period (``data/events.csv``) and the year before as the reference.
    None for a deaths claim or when no deaths are known for the period."""
    if p.measure != "injured":
        return None
    deaths = p.deaths if p.deaths is not None else data.national_total(p.period, p.system, "fatal", data_dir=data_dir)
    if deaths is None:
        return None
    year, first, last = data.period_months(p.period)
    ev = data.load_events(data_dir)
    ev = ev[(ev["year"] == year) & ev["date"].notna()]
    ev = ev[ev["date"].str[5:7].astype(int).between(first, last) & (ev["deaths"] >= 2)]  # accidents killing several
    named = tuple(f"{s} ({n})" for s, n in zip(ev["site"], ev["deaths"]))
    listed = int(ev["deaths"].sum()) if p.event_deaths is None else p.event_deaths
    names = named if p.event_deaths is None or p.event_deaths == int(ev["deaths"].sum()) else ()
    if listed > deaths:
        raise ValueError(f"event_deaths: {listed} deaths in listed accidents exceed the period's {deaths} deaths")
    source = ("as given in the parameters" if p.deaths is not None else
              f"the release's published deaths for {p.period}")
    return DeathsInput(int(deaths), int(listed), names, p.deaths_reference_year or year - 1, source)


@dataclasses.dataclass(frozen=True, kw_only=True)
class QuarterlyResult(StudyResult):
    """Everything notebook 02 shows: the assessment, its views, and the data of its figures."""

    study = NAME
    notebook = NOTEBOOK

    assessment: assess.ChangeAssessment
    previous_source: str  # 'published' (in the data), 'stated' (a parameter the data do not hold), 'derived'
    sources: pd.DataFrame
    dispersion_curve: pd.DataFrame
    power_curve: pd.DataFrame
    exposure_suggested: float | None
    exposure_note: str
    exposure_view: dict | None
    seasonal: assess.SeasonalBaseline | None
    seasonal_note: str
    deaths_view: dict | None
    deaths_table: pd.DataFrame | None
    deaths_note: str
    deaths_dispersion: Any  # stats.clustering.ClusterInflation of Ministry deaths (None when not needed)
    deaths_trend_dispersion: Any  # DispersionEstimate of the annual deaths (fatal claims only)

    def results(self) -> dict[str, Any]:
        """The study's detailed results for the results JSON.

        Returns
        -------
        dict
            The assessment's ``to_dict()``, plus ``deaths_dispersion``, ``exposure_ratio_suggested``, ``exposure_view``,
            ``seasonal_baseline`` (None where absent) and ``deaths``.
        """
        out = self.assessment.to_dict()
        out["deaths_dispersion"] = None if self.deaths_dispersion is None else self.deaths_dispersion.to_dict()
        ev = self.exposure_view
        out["exposure_ratio_suggested"] = self.exposure_suggested
        out["exposure_view"] = ev
        out["seasonal_baseline"] = None if self.seasonal is None else self.seasonal.to_dict()
        out["deaths"] = self.deaths_view
        return out

    # ---------------------------------------------------------------- text and tables the notebook shows
    @property
    def baseline_note(self) -> str:
        a, p = self.assessment, self.params
        implied = ", ".join(fmt_count(b) for b in a.implied_previous_counts) or "none"
        used = {"derived": "derived, not published", "published": "published", "stated": "as given"}[
            self.previous_source]
        return (f"* Earlier counts consistent with {p.reported_change_pct:+g}% at {fmt_counted(p.pct_decimals, 'decimal')}: "
                f"**{implied}**.\n* Earlier count used: **{fmt_count(a.previous_count)}** ({used}).\n"
                f"* Internally consistent: **{'yes' if a.consistent else 'NO'}**: {a.consistency['verdict']}")

    @property
    def pvalue_table(self) -> pd.DataFrame:
        """Every test of the change: model, dispersion, reference distribution, p-value, significant or not."""
        a = self.assessment
        rows = [("exact conditional (Poisson)", 1.0, "binomial", a.p_value_exact),
                ("mid-p, statsmodels cond-midp (Poisson)", 1.0, "binomial", a.p_value_midp),
                ("mid-p, Lancaster 1961 (Poisson)", 1.0, "binomial", a.p_value_midp_lancaster),
                ("score (Poisson)", 1.0, "normal", a.p_value_score),
                (f"quasi-Poisson score: {self.dispersion_name}", a.dispersion, a.dispersion_reference,
                 a.p_value_overdispersed)]
        if a.dispersion_df is not None:
            rows.append(("quasi-Poisson score: the same φ treated as known (plug-in)", a.dispersion, "normal",
                         a.p_value_overdispersed_normal))
        rows += [(f"quasi-Poisson score: {v.name}", v.phi, v.reference, v.p_value) for v in a.views]
        return pd.DataFrame({"test (model)": [r[0] for r in rows], "dispersion φ": [fmt_number(r[1]) for r in rows],
                             "reference": [r[2] for r in rows], "p-value": [fmt_pvalue(r[3]) for r in rows],
                             f"significant at {self.params.alpha:g}": ["yes" if r[3] < self.params.alpha else "no"
                                                                        for r in rows]})

    @property
    def dispersion_name(self) -> str:
        """The headline dispersion in a few words."""
        return dispersion_name(self.params, self.assessment)

    @property
    def pvalue_note(self) -> str:
        a = self.assessment
        lo, hi = a.rate_ratio_ci_overdispersed
        s = (f"Rate ratio **{fmt_number(a.rate_ratio)}** (exact 95% CI {fmt_number(a.rate_ratio_ci[0])} to "
             f"{fmt_number(a.rate_ratio_ci[1])}); change {fmt_percent(a.change_pct)} (95% CI "
             f"{fmt_percent(a.change_pct_ci[0])} to {fmt_percent(a.change_pct_ci[1])}). Dispersion assumed: "
             f"**φ = {fmt_number(a.dispersion)}** ({a.dispersion_source}")
        if a.dispersion_annual_ci:
            s += (f"; 95% CI of the annual estimate {fmt_number(a.dispersion_annual_ci[0])} to "
                  f"{fmt_number(a.dispersion_annual_ci[1])}")
        s += (f"). Under it the rate ratio's 95% interval is {fmt_number(lo)} to {fmt_number(hi)} "
              f"(quasi-Poisson score, {a.dispersion_reference} reference).")
        if a.dispersion_df is not None:
            s += (f" Because φ is *estimated* from {a.dispersion_df} residual degrees of freedom, the test statistic is "
                  f"compared with Student's t on {a.dispersion_df} df (as the quasi-Poisson trend fit does), not with "
                  f"the normal distribution. This edition makes the t reference the headline: the over-dispersed "
                  f"p-value is **{fmt_pvalue(a.p_value_overdispersed)}**, where the earlier edition reported the normal "
                  f"plug-in {fmt_pvalue(a.p_value_overdispersed_normal)} (still shown beside it), and the dispersion "
                  f"at which the verdict flips is {fmt_number(a.dispersion_to_lose_significance)} for an estimated φ "
                  f"(it was {fmt_number(a.dispersion_to_lose_significance_normal)} with the normal reference).")
        if a.nb_alpha_moments is not None:
            s += (f" The negative-binomial view carries the extra variance as year-wide shocks: α by moments "
                  f"{fmt_number(a.nb_alpha_moments)} (the headline NB estimate: it uses the same Pearson principle as "
                  f"φ, and with ten years the maximum-likelihood α, {fmt_number(a.nb_alpha_ml)}, is biased towards 0), "
                  f"giving φ = {fmt_number(a.dispersion_nb_quarter)} at this period's size "
                  f"({fmt_number(a.dispersion_nb_quarter_ml)} by maximum likelihood).")
        s += (" The mid-p reported as the project's mid-p is Lancaster's (twice the smaller one-sided mid-p); "
              "statsmodels' `cond-midp` subtracts half the observed outcome's probability once from the two-sided "
              "exact p and is shown beside it.")
        if a.p_value_range_over_baselines and len(a.implied_previous_counts) > 1:
            lo_p, hi_p = a.p_value_range_over_baselines
            s += f" Over all consistent baselines the exact p ranges {fmt_pvalue(lo_p)} to {fmt_pvalue(hi_p)}."
        return s

    @property
    def flip_label(self) -> str:
        """Legend text of the flip point in the dispersion figure."""
        a = self.assessment
        f = a.dispersion_to_lose_significance
        if f is None:
            return ""
        return (f"verdict flips at φ = {fmt_number(f)}"
                + (f" (estimated on {a.dispersion_df} df)" if a.dispersion_df is not None else ""))

    @property
    def survival_note(self) -> str:
        return self.assessment.survives_text + " " + self.assessment.flip_text

    @property
    def leave_one_out_table(self) -> pd.DataFrame | None:
        """φ with each year of the annual series left out, and the headline test under it."""
        rows = self.assessment.leave_one_out
        if not rows:
            return None
        return pd.DataFrame({"year left out": [r["year_left_out"] for r in rows],
                             "φ without it": [fmt_number(r["phi"]) for r in rows],
                             "φ used": [fmt_number(r["phi_used"]) for r in rows],
                             "reference": [r["reference"] for r in rows],
                             "p-value": [fmt_pvalue(r["p_value"]) for r in rows],
                             f"significant at {self.params.alpha:g}": ["yes" if r["significant"] else "no"
                                                                        for r in rows]})

    @property
    def leave_one_out_note(self) -> str:
        a = self.assessment
        if not a.leave_one_out:
            return ("No leave-one-year-out view: the dispersion is not estimated from the annual series here "
                    f"({a.dispersion_source}).")
        lo, hi = a.leave_one_out_range
        by_year = {r["year_left_out"]: r for r in a.leave_one_out}
        low_year = min(by_year, key=lambda y: by_year[y]["phi"])
        others = [r["phi"] for y, r in by_year.items() if y != low_year]
        s = (f"Leaving one year out, φ ranges **{fmt_number(lo)} to {fmt_number(hi)}**. {low_year} carries the most "
             f"of it: without {low_year} φ = {fmt_number(by_year[low_year]['phi'])}"
             + (" (no over-dispersion: the Poisson tests apply)" if by_year[low_year]["phi"] <= 1 else "")
             + f", without any other year {fmt_number(min(others))} to {fmt_number(max(others))}. ")
        return s + _loo_sentence(a)

    @property
    def power_note(self) -> str:
        a = self.assessment
        s = (f"With about {fmt_count(a.previous_count)} events in the earlier period, the exact test has 80% power only "
             f"for a true change of **{fmt_percent(a.min_detectable_change_pct)}** or larger under Poisson variation")
        if a.min_detectable_change_pct_overdispersed is not None:
            s += (f", and **{fmt_percent(a.min_detectable_change_pct_overdispersed)}** or larger under the dispersion "
                  f"assumed (φ = {fmt_number(a.dispersion)}, {a.dispersion_reference} reference)")
        s += (f". For the observed change its power is **{100 * a.power_for_observed_ratio:.0f}%** under Poisson and "
              f"**{100 * a.power_for_observed_ratio_overdispersed:.0f}%** under φ. A count of this size cannot reliably "
              "reveal changes much smaller than that.")
        return s

    @property
    def dispersion_alt(self) -> str:
        a = self.assessment
        flip = a.dispersion_to_lose_significance
        where = (f"with φ estimated ({a.dispersion_reference} reference) it crosses the significance level at φ = "
                 f"{fmt_number(flip)}" if flip is not None and a.dispersion_df is not None else
                 f"it crosses the significance level at φ = {fmt_number(flip)}" if flip is not None
                 else "it stays above the significance level for every φ")
        return (f"Line chart of the quasi-Poisson p-value against the over-dispersion φ from 1 to 4: the p-value "
                f"rises with φ; {where}; the dispersion assumed is {fmt_number(a.dispersion)}.")

    @property
    def power_alt(self) -> str:
        a = self.assessment
        s = (f"Line chart of the power against the true rate ratio: the exact test reaches 80% at a ratio of "
             f"{fmt_number(a.min_detectable_ratio)}")
        if a.min_detectable_ratio_overdispersed is not None:
            s += f", the quasi-Poisson test under φ = {fmt_number(a.dispersion)} at {fmt_number(a.min_detectable_ratio_overdispersed)}"
        return s + (f"; the observed ratio {fmt_number(a.rate_ratio)} has power "
                    f"{100 * a.power_for_observed_ratio:.0f}% (Poisson).")

    def tables(self) -> dict[str, pd.DataFrame]:
        """The study's tables, exported as CSV beside the report.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``sources``, ``tests`` and ``dispersion``, plus ``leave_one_year_out`` and ``deaths`` when the study has them,
            by file stem.
        """
        out = {"sources": self.sources, "tests": self.pvalue_table, "dispersion": self.dispersion_table}
        if self.leave_one_out_table is not None:
            out["leave_one_year_out"] = self.leave_one_out_table
        if self.deaths_table is not None:
            out["deaths"] = self.deaths_table
        return out

    @property
    def dispersion_table(self) -> pd.DataFrame:
        """p-value against φ under each reference distribution (wide; plain headers)."""
        d = self.dispersion_curve.pivot(index="φ", columns="reference", values="p-value").reset_index()
        return d.rename(columns={c: f"p-value, {c}" for c in d.columns if c != "φ"})


# ---------------------------------------------------------------------------------------------------------- run
def annual_series(measure: str = "injured", data_dir=DATA_DIR, system: str = "ministry") -> pd.Series:
    """The annual series from 2015 (the years the dispersion is estimated from)."""
    s = data.national_series(system, measure, data_dir=data_dir)
    return s[s.index >= TREND_FIRST_YEAR]


def _previous_source(p: Params, rows: pd.DataFrame) -> str:
    if p.previous_count is None:
        return "derived"
    held = rows[(rows["period"] == p.previous_period) & (rows["measure"] == p.measure) & ~rows["derived"]]
    return "published" if (held["value"] == p.previous_count).any() else "stated"


def _dispersion_args(p: Params, annual: pd.Series, cluster, deaths_trend) -> dict:
    """The dispersion arguments of ``assess_change`` for this claim: the parameter if given; for deaths the
    compound-Poisson φ of clustered deaths (with the deaths' own trend φ and the cluster range as further views);
    for injuries the φ estimated from the annual series."""
    if p.dispersion is not None:
        return {"dispersion_value": p.dispersion, "dispersion_source": "set as a parameter, treated as known"}
    if p.measure == "fatal":
        extras = [(f"compound-Poisson φ without {cluster.largest_event}", max(1.0, cluster.phi_without_largest), None),
                  ("compound-Poisson φ with unlisted deaths in pairs", cluster.phi_unlisted_pairs, None)]
        if deaths_trend is not None and deaths_trend.estimate > 1:
            extras.append((f"annual deaths around their trend {int(min(annual.index))}–{int(max(annual.index))}, "
                           f"φ = {fmt_number(deaths_trend.estimate)}", deaths_trend.estimate, deaths_trend.df_resid))
        return {"dispersion_value": max(1.0, cluster.estimate),
                "dispersion_source": cluster.source + "; it holds for a period of any length and is treated as known "
                                                      "(normal reference)",
                "extra_dispersions": extras}
    return {"annual_counts": annual.to_numpy(), "annual_years": annual.index.to_numpy()}


def _workforce(p: Params, a: assess.ChangeAssessment, data_dir):
    """The rate view: the same comparison with the hired-employee exposure ratio (LFS), same dispersion."""
    try:
        w1, s1 = data.workforce_value(p.period, data_dir=data_dir)
        w0, s0 = data.workforce_value(p.previous_period, data_dir=data_dir)
    except ValueError as exc:
        return None, f"No workforce figures for these periods ({exc}); counts are compared as they are.", None
    ratio = w1 / w0
    ex = compare.compare_counts(p.current_count, a.previous_count, ratio, p.alpha)
    q = compare.compare_quasi(p.current_count, a.previous_count, a.dispersion, ratio, p.alpha, a.dispersion_df)
    view = {"exposure_ratio": ratio, "rate_ratio": ex.estimate, "rate_ratio_ci": list(ex.ci),
            "p_value_exact": ex.p_value, "p_value_overdispersed": q.p_value,
            "p_value_overdispersed_normal": q.p_value_normal, "dispersion": a.dispersion,
            "dispersion_reference": q.reference}
    note = (f"Hired employees (LFS): {fmt_count(w0)} in {p.previous_period} ({s0}) and {fmt_count(w1)} in "
            f"{p.period} ({s1}): exposure ratio **{ratio:.4f}**. As a rate, the change is "
            f"{fmt_percent(ex.pct_change)} (exact {compare.ptext(ex.p_value)}, quasi-Poisson at φ = "
            f"{fmt_number(a.dispersion)}, {q.reference} reference, {compare.ptext(q.p_value)}) against "
            f"{fmt_percent(a.change_pct)} ({compare.ptext(a.p_value_exact)}) for the counts: "
            + ("a growing workforce makes the fall in the rate slightly larger than the fall in the count."
               if ratio > 1 else "a shrinking workforce makes the change in the rate smaller than in the count."))
    return ratio, note, view


def _seasonal(p: Params, a: assess.ChangeAssessment, annual_all: pd.Series, data_dir):
    prev_year = int(p.previous_period[:4])
    if p.measure != "injured" or p.months >= 12 or prev_year not in annual_all.index:
        return None, ("A full-year claim, a deaths claim, or no annual total for the earlier period's year: the "
                      "seasonal view is skipped.")
    share = typical_share(p.months, exclude=(prev_year, prev_year + 1), data_dir=data_dir, alpha=p.alpha)
    z = stats.norm.isf(p.alpha / 2)
    se = (share.ci[1] - share.ci[0]) / (2 * z)  # the interval is a percentile one; its half-width in SE units
    s = assess.seasonal_baseline(p.current_count, a.previous_count, float(annual_all[prev_year]), share.estimate,
                                 se, "the year-to-date model's seasonal curve, fitted without the two years compared",
                                 p.alpha)
    return s, s.verdict


def typical_share(months: int, *, exclude=(), data_dir=DATA_DIR, alpha: float = 0.05) -> ytd_model.SeasonalShare:
    """The share of the year's count reached by the end of ``months``, from the year-to-date model of all the
    Ministry's cumulative releases from 2015 (the same model as study 07), fitted without the years ``exclude``."""
    rel = tuple(r for r in common.ministry_releases(data_dir, first_year=ytd.FIRST_YEAR) if r.year not in exclude)
    return ytd_model.seasonal_share(ytd_model.fit_ytd_model(rel, alpha=alpha), months, alpha=alpha)


def _deaths(p: Params, cluster, data_dir):
    d = period_deaths(p, data_dir)
    if d is None:
        why = ("the claim is itself about deaths" if p.measure == "fatal" else
               "no deaths are known for this period (none published, none given)")
        return None, None, f"No deaths section: {why}."
    ref = data.national_series("ministry", "fatal", data_dir=data_dir)
    if d.reference_year not in ref.index:
        return None, None, f"No Ministry death total for {d.reference_year}: the deaths comparison is skipped."
    ratio = p.months / 12
    total = int(ref[d.reference_year])
    deaths, event_deaths = d.deaths, d.event_deaths
    phi = max(1.0, cluster.estimate)
    with_event = compare.compare_counts(deaths, total, ratio, p.alpha)
    without = compare.compare_counts(deaths - event_deaths, total, ratio, p.alpha)
    q_with = compare.compare_quasi(deaths, total, phi, ratio, p.alpha, phi_source=cluster.source)
    q_without = compare.compare_quasi(deaths - event_deaths, total, phi, ratio, p.alpha,
                                      phi_source=cluster.source)
    ci_all = rates.count_ci(deaths, p.alpha).ci
    ci_wo = rates.count_ci(deaths - event_deaths, p.alpha).ci
    view = {"deaths": deaths, "deaths_source": d.source, "event_deaths": event_deaths, "events": list(d.events),
            "reference_year": d.reference_year, "reference_deaths": total, "deaths_ci": list(ci_all),
            "deaths_without_event_ci": list(ci_wo), "with_event": with_event.to_dict(),
            "without_event": without.to_dict(), "dispersion": phi, "dispersion_source": cluster.source,
            "with_event_clustered": q_with.to_dict(), "without_event_clustered": q_without.to_dict()}
    level = f"{100 * (1 - p.alpha):g}%"
    table = pd.DataFrame({
        "deaths": ["all deaths", f"without listed mass-casualty accidents ({event_deaths})"],
        "count": [fmt_count(deaths), fmt_count(deaths - event_deaths)],
        f"{level} interval (Garwood)": [f"{fmt_number(ci_all[0])} to {fmt_number(ci_all[1])}",
                                        f"{fmt_number(ci_wo[0])} to {fmt_number(ci_wo[1])}"],
        f"ratio to the average period of {d.reference_year}": [fmt_number(with_event.estimate),
                                                                        fmt_number(without.estimate)],
        "exact p (Poisson)": [fmt_pvalue(with_event.p_value), fmt_pvalue(without.p_value)],
        f"p with clustered deaths (φ = {fmt_number(phi)})": [fmt_pvalue(q_with.p_value), fmt_pvalue(q_without.p_value)]})
    if not event_deaths:
        table = table.iloc[:1]
    note = (f"{with_event.verdict}\n\n"
            + (f"Leaving out the deaths in listed accidents ({', '.join(d.events) or event_deaths}): "
               f"{without.verdict}\n\n" if event_deaths else "")
            + f"Deaths come in clusters, so their variance is larger than Poisson: with the {cluster.source} "
            f"(φ = {fmt_number(phi)}; {fmt_number(cluster.phi_without_largest)} without {cluster.largest_event}, "
            f"{fmt_number(cluster.phi_unlisted_pairs)} with unlisted deaths in pairs), all deaths give "
            f"{compare.ptext(q_with.p_value)}"
            + (f" and deaths without the event {compare.ptext(q_without.p_value)}" if event_deaths else "")
            + " (quasi-Poisson score test, normal reference). The injuries' dispersion is not used for deaths.")
    return view, table, note


def title(p: Params) -> str:
    """The report's title, a question naming the claim tested.

    Parameters
    ----------
    p : Params
        The quarterly study's parameters.

    Returns
    -------
    str
        The title.
    """
    direction = "drop" if p.reported_change_pct < 0 else "rise"
    return (f"Is the {abs(p.reported_change_pct):g}% {direction} in {_NOUN[p.measure]} in "
            f"{common.period_text(p.period)} real?")


def claim_text(p: Params, rows: pd.DataFrame, previous_source: str) -> str:
    """The claim in words, quoting the release when the data hold it."""
    kind = common.period_kind(p.period)
    pct_rows = rows[(rows["period"] == p.period) & (rows["measure"] == f"{p.measure}_pct_change_yoy")
                    & (rows["value"] == p.reported_change_pct)]
    said = (f"{fmt_count(p.current_count)} {_PEOPLE[p.measure]} in {common.period_text(p.period)}, "
            f"{p.reported_change_pct:+g}% against the same {kind} a year earlier")
    if len(pct_rows):
        r = pct_rows.iloc[0]
        head = f"**Claim.** {r['publisher']} reported {said}: “{r['quote']}”."
    else:
        head = f"**Claim (as given in the parameters).** {said}."
    if previous_source == "derived":
        base = (f"The {p.previous_period} count was not published with the release: it is back-calculated from the "
                "count and the rounded percent.")
    elif previous_source == "published":
        base = f"The {p.previous_period} count {fmt_count(p.previous_count)} is published (see the sources below)."
    else:
        base = (f"The {p.previous_period} count {fmt_count(p.previous_count)} is taken from the parameters; the data do not "
                "hold it.")
    return f"{head} {base}"


def dispersion_name(p: Params, a: assess.ChangeAssessment) -> str:
    """The headline dispersion in a few words."""
    if p.dispersion is not None:
        return f"φ = {fmt_number(a.dispersion)} as given"
    if p.measure == "fatal":
        return f"clustering of deaths, φ = {fmt_number(a.dispersion)}"
    return f"φ = {fmt_number(a.dispersion)} from the annual series"


def _verdict(p: Params, a: assess.ChangeAssessment) -> Verdict:
    """Label, headline and plain summary from the assessment (the technical verdict is the assessment's own)."""
    # The box shows the interval of the model the label rests on (the assumed dispersion), the Poisson one beside it.
    key = Estimate("change in the rate", a.change_pct, *a.change_pct_ci_overdispersed, a.p_value_overdispersed,
                   f"quasi-Poisson score, {dispersion_name(p, a)}, {a.dispersion_reference} reference", unit="%",
                   note=(f"under pure Poisson chance (exact conditional test): {fmt_percent(a.change_pct_ci[0])} to "
                         f"{fmt_percent(a.change_pct_ci[1])}, {compare.ptext(a.p_value_exact)}"))
    noun = _NOUN[p.measure]
    variation = ("the clustering of deaths in accidents that kill several people at once" if p.measure == "fatal"
                 and p.dispersion is None else
                 f"the year-to-year variation the {'Ministry' if p.system == 'ministry' else 'BNS'}'s own series shows")
    if not a.consistent:
        label = "inconsistent"
        headline = (f"The published {p.reported_change_pct:+g}% does not match the counts {fmt_count(p.current_count)} and "
                    f"{fmt_count(a.previous_count)}.")
    elif a.significant_exact and not a.significant_overdispersed:
        label = "fragile"
        headline = (f"The {abs(p.reported_change_pct):g}% change in {noun} is beyond Poisson chance but not beyond "
                    f"{variation}.")
    elif a.significant_overdispersed:
        label = "supported"
        headline = (f"The {abs(p.reported_change_pct):g}% change in {noun} holds even allowing for {variation}.")
    else:
        label = "not supported"
        headline = f"The {abs(p.reported_change_pct):g}% change in {noun} is within chance variation."
    extra = ("Deaths vary more than pure chance would make them because some accidents kill several people at once"
             if p.measure == "fatal" and p.dispersion is None else
             "Counts of this size vary more from year to year than pure chance would make them")
    summary = (f"{fmt_count(p.current_count)} against {fmt_count(a.previous_count)} is a {fmt_percent(a.change_pct)} change. "
               + (f"{extra}, and with that variation the change could be noise."
                  if label == "fragile" else
                  f"{extra}; even so, the change is unlikely to be chance."
                  if label == "supported" else
                  "A change of this size is well within what chance alone produces for counts of this size."
                  if label == "not supported" else
                  "The published percent and the counts disagree, so at least one of them is wrong."))
    would = _would_change(p, a)
    return Verdict(label=label, headline=headline, summary=summary, technical=a.verdict, key=key,
                   would_change=would)


def _would_change(p: Params, a: assess.ChangeAssessment) -> str:
    """What would change the conclusion: the flip dispersion, the single years φ rests on, the views it survives."""
    parts = []
    if not a.consistent:
        parts.append("A corrected percent or count from the publisher would settle which figure is wrong; the tests "
                     "below use the counts.")
    if not a.significant_exact:
        parts.append("The exact test is not significant even under pure Poisson variation: only larger counts or a "
                     "larger change could make it significant; no dispersion can.")
    elif a.dispersion_to_lose_significance_normal is None:
        parts.append("Only larger counts or a larger change could make it significant; no dispersion can.")
    else:
        if a.dispersion_df is not None and a.dispersion_to_lose_significance is not None:
            parts.append(f"The verdict turns on the dispersion: significance is lost once φ, estimated as here on "
                         f"{a.dispersion_df} df, reaches {fmt_number(a.dispersion_to_lose_significance)} (assumed φ = "
                         f"{fmt_number(a.dispersion)}; a φ known exactly would have to reach "
                         f"{fmt_number(a.dispersion_to_lose_significance_normal)}).")
        elif a.dispersion_df is not None:
            parts.append(f"With φ estimated on {a.dispersion_df} df the change is not significant at any φ ≥ 1; a φ "
                         f"known exactly would have to stay below {fmt_number(a.dispersion_to_lose_significance_normal)} "
                         f"(assumed φ = {fmt_number(a.dispersion)}).")
        else:
            parts.append(f"The verdict turns on the dispersion: significance is lost once φ ≥ "
                         f"{fmt_number(a.dispersion_to_lose_significance_normal)} (assumed φ = "
                         f"{fmt_number(a.dispersion)}).")
    if a.leave_one_out:
        parts.append(_loo_sentence(a))
    survived = [v.name for v in a.views if v.significant]
    if survived and not a.significant_overdispersed:
        parts.append("It would hold under " + "; ".join(survived) + ".")
    if a.previous_derived:
        parts.append("A different earlier count would also move it.")
    return " ".join(parts)


def _loo_sentence(a: assess.ChangeAssessment) -> str:
    """How the verdict depends on single years of the annual series φ is estimated from."""
    lo, hi = a.leave_one_out_range
    flips = [r for r in a.leave_one_out if r["year_left_out"] in a.leave_one_out_flips]
    rest = [r["phi"] for r in a.leave_one_out if r["year_left_out"] not in a.leave_one_out_flips]
    if not flips:
        return f"Leaving any single year out keeps φ within {fmt_number(lo)} to {fmt_number(hi)} and the verdict as it is."
    if len(flips) <= 2:
        ys = " and ".join(str(r["year_left_out"]) for r in flips)
        return (f"The estimated φ rests on {ys}: leaving {'it' if len(flips) == 1 else 'either'} out gives φ = "
                + " or ".join(fmt_number(r["phi"]) for r in flips) + ", which reverses the verdict"
                + (f"; leaving out any other single year keeps φ within {fmt_number(min(rest))} to "
                   f"{fmt_number(max(rest))} and the verdict as it is." if rest else "."))
    f = [r["phi"] for r in flips]
    return (f"The verdict is on a knife edge: leaving out any one of {len(flips)} of the {len(a.leave_one_out)} years "
            f"(φ then {fmt_number(min(f))} to {fmt_number(max(f))}) reverses it.")


def _caveats(p: Params, previous_source: str, a: assess.ChangeAssessment) -> tuple[str, ...]:
    out = []
    if previous_source == "derived":
        out.append(f"The earlier count is **derived**: the Ministry did not publish the {p.previous_period} count. If "
                   "the percent was computed from a revised or differently defined count, the baseline moves and so "
                   "does every p-value.")
    if p.dispersion is not None:
        out.append(f"The dispersion φ = {fmt_number(p.dispersion)} is given as a parameter and treated as known "
                   "(normal reference).")
    elif p.measure == "fatal":
        out.append("The dispersion of deaths comes from the clustering of deaths in the listed mass-casualty events "
                   "(news reports from 2019; small accidents with 2–3 deaths are mostly missing, so it is a lower "
                   "bound), and it is dominated by the largest event.")
    else:
        out.append("The dispersion comes from ten annual counts (its 95% interval is wide, hence the t reference) and is "
                   + ("carried to the period by assumption." if p.months < 12 else "applied to this annual comparison.")
                   + (" One year carries most of it (see the leave-one-year-out table)." if a.leave_one_out_flips
                      else ""))
    out.append("Counts are of people injured (including fatal) or killed, as registered by the labour inspection; the "
               "BNS counts victims with one lost working day and its non-fatal counts are 40–80% higher (see the data "
               "overview). Nothing here mixes the two.")
    if p.months < 12 and p.measure == "injured":
        out.append("The seasonal view rests on the year-to-date model's seasonal curve, informed by the within-year "
                   "splits of about ten years; few of them published a count this early in the year.")
    return tuple(out)


def deaths_dispersion_curve(x1: int, x0: int, e: float, alpha: float, df: int | None) -> pd.DataFrame:
    """p-value against φ from 1 to 4 under the normal reference and, when φ is estimated, the t reference (long)."""
    phis = tuple(np.round(np.linspace(1, 4, 61), 3))
    parts = [compare.dispersion_table(x1, x0, e, phis, alpha).to_frame().assign(reference="φ known (normal)")]
    if df is not None:
        parts.insert(0, compare.dispersion_table(x1, x0, e, phis, alpha, df).to_frame().assign(
            reference=f"φ estimated on {df} df (t({df}))"))
    out = pd.concat(parts, ignore_index=True)
    return out.rename(columns={"phi": "φ", "p_value": "p-value"})[["φ", "p-value", "reference"]]


def assess_claim(params: Params, data_dir=DATA_DIR, *, detail: bool = True):
    """The claim's assessment and verdict, without the report's other views (the claims audit calls this).

    Parameters
    ----------
    params : Params
    data_dir : path, optional
    detail : bool
        False skips the views only one claim's report shows (see ``assess.assess_change``); the tests, the
        dispersion and the label are the same.

    Returns
    -------
    tuple
        ``(assessment, verdict, cluster, deaths_trend)``: the :class:`assess.ChangeAssessment`, the
        :class:`Verdict`, and the deaths' clustering and trend dispersions when they were needed (else None).
    """
    p = params
    annual = annual_series(p.measure, data_dir, p.system)
    cluster = fatalities.deaths_dispersion(p.system, data_dir) if p.measure == "fatal" else None
    deaths_trend = (dispersion.estimate_dispersion(annual.to_numpy(), annual.index.to_numpy())
                    if p.measure == "fatal" else None)
    disp = _dispersion_args(p, annual, cluster, deaths_trend)
    a = assess.assess_change(p.current_count, p.reported_change_pct, p.previous_count, p.pct_decimals,
                             p.exposure_ratio, p.alpha, detail=detail, **disp)
    return a, _verdict(p, a), cluster, deaths_trend


def run(params: Params, data_dir=DATA_DIR) -> QuarterlyResult:
    """Run the study.

    Parameters
    ----------
    params : Params
        Validated parameters.
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    QuarterlyResult
    """
    p = params
    rows = common.national_rows([p.period, p.previous_period], system=p.system, measures=[
        p.measure, f"{p.measure}_pct_change_yoy", "rate_per_1000", *(["fatal", "fatal_pct_change_yoy"]
                                                                      if p.measure == "injured" else [])],
        data_dir=data_dir)
    a, verdict, cluster, deaths_trend = assess_claim(p, data_dir)
    if cluster is None and period_deaths(p, data_dir) is not None:  # the deaths section needs the deaths' clustering
        cluster = fatalities.deaths_dispersion("ministry", data_dir)
    grid = deaths_dispersion_curve(p.current_count, a.previous_count, p.exposure_ratio, p.alpha, a.dispersion_df)
    ratios = np.round(np.linspace(0.6, 1.0, 41), 3)
    pw = pd.DataFrame({"true ratio": ratios,
                       "power": power.power_curve(ratios, a.previous_count, p.exposure_ratio, alpha=p.alpha),
                       "test": "exact (Poisson)"})
    if a.dispersion > 1 or a.dispersion_df is not None:
        pw = pd.concat([pw, pd.DataFrame({
            "true ratio": ratios, "power": [power.normal_power(r, a.previous_count, p.exposure_ratio, p.alpha,
                                                               a.dispersion, a.dispersion_df) for r in ratios],
            "test": f"quasi-Poisson, φ = {fmt_number(a.dispersion)} ({a.dispersion_reference})"})],
            ignore_index=True)
    suggested, exposure_note, exposure_view = _workforce(p, a, data_dir)
    seasonal, seasonal_note = _seasonal(p, a, data.national_series("ministry", p.measure, data_dir=data_dir),
                                        data_dir)
    deaths_view, deaths_table, deaths_note = _deaths(p, cluster, data_dir)
    prev_src = _previous_source(p, rows)
    od_model = (f"quasi-Poisson score, φ = {fmt_number(a.dispersion)}, {a.dispersion_reference} reference")
    estimates = (
        Estimate("rate ratio", a.rate_ratio, *a.rate_ratio_ci, a.p_value_exact, "exact conditional binomial (Poisson)"),
        Estimate("rate ratio", a.rate_ratio, *a.rate_ratio_ci_overdispersed, a.p_value_overdispersed, od_model,
                 note=a.dispersion_source),
        Estimate("minimum detectable change", a.min_detectable_change_pct, model="exact power 80% (Poisson)",
                 note=f"with about {a.previous_count} earlier events", unit="%"),
        *((Estimate("minimum detectable change", a.min_detectable_change_pct_overdispersed,
                    model=f"power 80%, {od_model}", note=f"with about {a.previous_count} earlier events", unit="%"),)
          if a.min_detectable_change_pct_overdispersed is not None else ()),
    )
    return QuarterlyResult(
        params=p, title=title(p), question=(
            f"Could a change of {p.reported_change_pct:+g}% in {_NOUN[p.measure]} arise by chance from the "
            f"year-to-year variation of a count of this size, and is the claim internally consistent?"),
        claim=claim_text(p, rows, prev_src), verdict=verdict,
        estimates=estimates, caveats=_caveats(p, prev_src, a), assessment=a, previous_source=prev_src,
        sources=rows.drop(columns=["source_id"]).reset_index(drop=True), dispersion_curve=grid, power_curve=pw,
        exposure_suggested=suggested, exposure_note=exposure_note, exposure_view=exposure_view,
        seasonal=seasonal, seasonal_note=seasonal_note, deaths_view=deaths_view, deaths_table=deaths_table,
        deaths_note=deaths_note, deaths_dispersion=cluster, deaths_trend_dispersion=deaths_trend)
