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

from analysis import data
from analysis.core import validate
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import assess, compare, power, projection, rates
from analysis.studies import common

NAME = "quarterly"
NOTEBOOK = "02_quarterly_change"
MEASURES = ("injured", "fatal")
_NOUN = {"injured": "workplace injuries", "fatal": "workplace deaths"}
_PEOPLE = {"injured": "people injured at work (including fatal)", "fatal": "people killed at work"}
TREND_FIRST_YEAR = 2015  # the Ministry's annual series has no gaps from 2015 on (2017 and 2023 derived)


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the quarterly-change study (the notebook's ``parameters`` cell mirrors this)."""

    current_count: int = param(293, "count in the current period (people injured incl. fatal, or deaths)",
                               check=validate.count, cli=("--current",))
    reported_change_pct: float = param(-16.8, "published percent change against the same period a year earlier",
                                       check=validate.pct_change, cli=("--change-pct",))
    period: str = param("2025-Q1", "the release's period (2025-Q1, 2019, 2021-H1, 2021-01..07)",
                        check=common.check_period, cli_required=True)
    measure: str = param("injured", "what is counted: injured (people injured incl. fatal) or fatal (deaths)",
                         choices=MEASURES)
    previous_count: int | None = param(None, "earlier count if published; None back-calculates it from the percent",
                                          check=validate.count, cli=("--previous",))
    pct_decimals: int = param(1, "decimals the published percent was rounded to", cli=("--decimals",))
    exposure_ratio: float = param(1.0, "workers now / workers then (1 compares counts; the LFS value is shown)",
                                  check=validate.positive)
    alpha: float = param(0.05, "significance level of every test", check=validate.alpha)
    dispersion: float | None = param(None, "over-dispersion φ (variance / mean); None estimates it from the "
                                              "Ministry annual series", check=validate.positive)
    deaths: int | None = param(40, "deaths in the current period, for an injuries claim (None skips the section)",
                                  check=validate.count)
    event_deaths: int = param(7, "of which in one mass-casualty event (Zhomart mine, 17 Feb 2025)",
                              check=validate.count)
    deaths_reference_year: int = param(2024, "deaths are compared with this year's Ministry total, scaled to the "
                                             "period's length", check=validate.positive_int,
                                       cli=("--reference-year",))

    def check(self) -> None:
        if not 0 <= self.pct_decimals <= 3:
            raise ValueError(f"pct_decimals must be an integer from 0 to 3, got {self.pct_decimals!r}")
        if self.dispersion is not None and self.dispersion < 1:
            raise ValueError(f"dispersion must be >= 1 (1 = Poisson; under-dispersion is not modelled), "
                             f"got {self.dispersion!r}")
        if self.deaths is not None and self.event_deaths > self.deaths:
            raise ValueError(f"event_deaths must not exceed deaths ({self.deaths}), got {self.event_deaths!r}")

    @property
    def previous_period(self) -> str:
        """The same period a year earlier."""
        return data.shift_period(self.period, -1)

    @property
    def months(self) -> int:
        return common.period_length(self.period)

    @property
    def shows_deaths(self) -> bool:
        return self.measure == "injured" and self.deaths is not None


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
    exposure_view: assess.ChangeAssessment | None
    seasonal: assess.SeasonalBaseline | None
    seasonal_note: str
    deaths_view: dict | None
    deaths_table: pd.DataFrame | None
    deaths_note: str

    def results(self) -> dict[str, Any]:
        out = self.assessment.to_dict()
        ev = self.exposure_view
        out["exposure_ratio_suggested"] = self.exposure_suggested
        out["exposure_view"] = None if ev is None else {
            "exposure_ratio": ev.exposure_ratio, "rate_ratio": ev.rate_ratio, "rate_ratio_ci": ev.rate_ratio_ci,
            "p_value_exact": ev.p_value_exact, "p_value_overdispersed": ev.p_value_overdispersed}
        out["seasonal_baseline"] = None if self.seasonal is None else self.seasonal.to_dict()
        out["deaths"] = self.deaths_view
        return out

    # ---------------------------------------------------------------- text and tables the notebook shows
    @property
    def baseline_note(self) -> str:
        a, p = self.assessment, self.params
        implied = ", ".join(f"{b:,}" for b in a.implied_previous_counts) or "none"
        used = {"derived": "derived, not published", "published": "published", "stated": "as given"}[
            self.previous_source]
        return (f"* Earlier counts consistent with {p.reported_change_pct:+g}% at {p.pct_decimals} decimal(s): "
                f"**{implied}**.\n* Earlier count used: **{a.previous_count:,}** ({used}).\n"
                f"* Internally consistent: **{'yes' if a.consistent else 'NO'}**: {a.consistency['verdict']}")

    @property
    def pvalue_table(self) -> pd.DataFrame:
        a = self.assessment
        rows = [("exact conditional (Poisson)", a.p_value_exact, 1.0),
                ("mid-p (Poisson)", a.p_value_midp, 1.0),
                ("score (Poisson)", a.p_value_score, 1.0),
                (f"quasi-Poisson score, φ = {a.dispersion:.2f}", a.p_value_overdispersed, a.dispersion)]
        if a.p_value_overdispersed_nb is not None:
            rows.append((f"quasi-Poisson score, NB-carried φ = {a.dispersion_nb_quarter:.2f}",
                         a.p_value_overdispersed_nb, a.dispersion_nb_quarter))
        out = pd.DataFrame(rows, columns=["test (model)", "p-value", "φ"])
        out["significant at α"] = out["p-value"] < self.params.alpha
        return out

    @property
    def pvalue_note(self) -> str:
        a = self.assessment
        s = (f"Rate ratio **{a.rate_ratio:.3f}** (exact 95% CI {a.rate_ratio_ci[0]:.3f}–{a.rate_ratio_ci[1]:.3f}); "
             f"change {a.change_pct:+.1f}% (95% CI {a.change_pct_ci[0]:+.1f}% to {a.change_pct_ci[1]:+.1f}%). "
             f"Dispersion used: φ = {a.dispersion:.2f} ({a.dispersion_source}")
        if a.dispersion_annual_ci:
            s += (f"; 95% CI of the annual estimate {a.dispersion_annual_ci[0]:.2f}–"
                  f"{a.dispersion_annual_ci[1]:.2f}")
        s += ")."
        if a.p_value_range_over_baselines:
            lo, hi = a.p_value_range_over_baselines
            s += f" Over all consistent baselines the exact p ranges {lo:.4f}–{hi:.4f}."
        return s

    @property
    def power_note(self) -> str:
        a = self.assessment
        return (f"With about {a.previous_count:,} events in the earlier period, the exact test has 80% power only for a "
                f"true change of **{a.min_detectable_change_pct:+.1f}%** or larger; for the observed change its power "
                f"is **{100 * a.power_for_observed_ratio:.0f}%**. A count of this size cannot reliably reveal changes "
                "much smaller than that.")

    @property
    def dispersion_alt(self) -> str:
        a = self.assessment
        flip = a.dispersion_to_lose_significance
        where = (f"it crosses the significance level at φ = {flip:.2f}" if flip is not None
                 else "it stays above the significance level for every φ")
        return (f"Line chart of the quasi-Poisson p-value against the over-dispersion φ from 1 to 4: the p-value "
                f"rises with φ; {where}; the estimated φ is {a.dispersion:.2f}.")

    @property
    def power_alt(self) -> str:
        a = self.assessment
        return (f"Line chart of the exact test's power against the true rate ratio: power reaches 80% at a ratio of "
                f"{a.min_detectable_ratio:.3f}; the observed ratio {a.rate_ratio:.3f} has power "
                f"{100 * a.power_for_observed_ratio:.0f}%.")

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"sources": self.sources, "dispersion": self.dispersion_curve}
        if self.deaths_table is not None:
            out["deaths"] = self.deaths_table
        return out


# ---------------------------------------------------------------------------------------------------------- run
def annual_series(measure: str = "injured", data_dir=DATA_DIR) -> pd.Series:
    """The Ministry's annual series from 2015 (the years the dispersion is estimated from)."""
    s = data.national_series("ministry", measure, data_dir=data_dir)
    return s[s.index >= TREND_FIRST_YEAR]


def _previous_source(p: Params, rows: pd.DataFrame) -> str:
    if p.previous_count is None:
        return "derived"
    held = rows[(rows["period"] == p.previous_period) & (rows["measure"] == p.measure) & ~rows["derived"]]
    return "published" if (held["value"] == p.previous_count).any() else "stated"


def _workforce(p: Params, a: assess.ChangeAssessment, annual: pd.Series, data_dir):
    try:
        w1, s1 = data.workforce_value(p.period, data_dir=data_dir)
        w0, s0 = data.workforce_value(p.previous_period, data_dir=data_dir)
    except ValueError as exc:
        return None, f"No workforce figures for these periods ({exc}); counts are compared as they are.", None
    ratio = w1 / w0
    view = assess.assess_change(p.current_count, p.reported_change_pct, p.previous_count, p.pct_decimals, ratio,
                                p.alpha, p.dispersion, annual.to_numpy(), annual.index.to_numpy())
    note = (f"Hired employees (LFS): {w0:,.0f} in {p.previous_period} ({s0}) and {w1:,.0f} in {p.period} ({s1}): "
            f"exposure ratio **{ratio:.4f}**. As a rate, the change is {view.change_pct:+.1f}% "
            f"(exact p = {view.p_value_exact:.4f}, quasi-Poisson p = {view.p_value_overdispersed:.4f}) "
            f"against {a.change_pct:+.1f}% (p = {a.p_value_exact:.4f}) for the counts: a growing workforce makes "
            "the fall in the injury *rate* slightly larger than the fall in the count.")
    return ratio, note, view


def _seasonal(p: Params, a: assess.ChangeAssessment, annual_all: pd.Series, data_dir):
    prev_year = int(p.previous_period[:4])
    if p.measure != "injured" or p.months >= 12 or prev_year not in annual_all.index:
        return None, ("A full-year claim, a deaths claim, or no annual total for the earlier period's year: the "
                      "seasonal view is skipped.")
    share = projection.share_at(projection.seasonal_shares(common.ministry_history(data_dir)), p.months)
    s = assess.seasonal_baseline(p.current_count, a.previous_count, float(annual_all[prev_year]), share.mean,
                                 share.se, f"{share.source}: {share.note}", p.alpha)
    return s, s.verdict


def _deaths(p: Params, data_dir):
    if not p.shows_deaths:
        why = ("the claim is itself about deaths" if p.measure == "fatal" else "no deaths were given for this claim")
        return None, None, f"No deaths section: {why}."
    ref = data.national_series("ministry", "fatal", data_dir=data_dir)
    if p.deaths_reference_year not in ref.index:
        return None, None, f"No Ministry death total for {p.deaths_reference_year}: the deaths comparison is skipped."
    ratio = p.months / 12
    total = int(ref[p.deaths_reference_year])
    with_event = compare.compare_counts(p.deaths, total, ratio, p.alpha)
    without = compare.compare_counts(p.deaths - p.event_deaths, total, ratio, p.alpha)
    ci_all = rates.count_ci(p.deaths, p.alpha).ci
    ci_wo = rates.count_ci(p.deaths - p.event_deaths, p.alpha).ci
    view = {"deaths": p.deaths, "show_deaths": True, "event_deaths": p.event_deaths,
            "reference_year": p.deaths_reference_year, "reference_deaths": total, "deaths_ci": list(ci_all),
            "deaths_without_event_ci": list(ci_wo), "with_event": with_event.to_dict(),
            "without_event": without.to_dict()}
    table = pd.DataFrame([
        ("all deaths", p.deaths, *ci_all, with_event.estimate, with_event.p_value),
        (f"without the event ({p.event_deaths})", p.deaths - p.event_deaths, *ci_wo, without.estimate,
         without.p_value)],
        columns=["deaths", "count", "Garwood low", "Garwood high",
                 f"ratio vs average period of {p.deaths_reference_year}", "exact p"])
    return view, table, f"{with_event.verdict}\n\nLeaving the event out: {without.verdict}"


def title(p: Params) -> str:
    direction = "drop" if p.reported_change_pct < 0 else "rise"
    return (f"Is the {abs(p.reported_change_pct):g}% {direction} in {_NOUN[p.measure]} in "
            f"{common.period_text(p.period)} real?")


def claim_text(p: Params, rows: pd.DataFrame, previous_source: str) -> str:
    """The claim in words, quoting the release when the data hold it."""
    kind = common.period_kind(p.period)
    pct_rows = rows[(rows["period"] == p.period) & (rows["measure"] == f"{p.measure}_pct_change_yoy")
                    & (rows["value"] == p.reported_change_pct)]
    said = (f"{p.current_count:,} {_PEOPLE[p.measure]} in {common.period_text(p.period)}, "
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
        base = f"The {p.previous_period} count {p.previous_count:,} is published (see the sources below)."
    else:
        base = (f"The {p.previous_period} count {p.previous_count:,} is taken from the parameters; the data do not "
                "hold it.")
    return f"{head} {base}"


def _verdict(p: Params, a: assess.ChangeAssessment) -> Verdict:
    """Label, headline and plain summary from the assessment (the technical verdict is the assessment's own)."""
    key = Estimate("change in the rate", a.change_pct, a.change_pct_ci[0], a.change_pct_ci[1], a.p_value_exact,
                   "exact conditional binomial (Poisson)", unit="%")
    noun = _NOUN[p.measure]
    if not a.consistent:
        label = "inconsistent"
        headline = (f"The published {p.reported_change_pct:+g}% does not match the counts {p.current_count:,} and "
                    f"{a.previous_count:,}.")
    elif a.significant_exact and not a.significant_overdispersed:
        label = "fragile"
        headline = (f"The {abs(p.reported_change_pct):g}% change in {noun} is beyond Poisson chance but not beyond the "
                    "year-to-year variation the Ministry's own series shows.")
    elif a.significant_overdispersed:
        label = "supported"
        headline = f"The {abs(p.reported_change_pct):g}% change in {noun} holds even allowing for over-dispersion."
    else:
        label = "not supported"
        headline = f"The {abs(p.reported_change_pct):g}% change in {noun} is within chance variation."
    summary = (f"{p.current_count:,} against {a.previous_count:,} is a {a.change_pct:+.1f}% change. "
               + ("Counts of this size vary more from year to year than pure chance would make them, and with that "
                  "variation the change could be noise."
                  if label == "fragile" else
                  "Even with the extra year-to-year variation the series shows, the change is unlikely to be chance."
                  if label == "supported" else
                  "A change of this size is well within what chance alone produces for counts of this size."
                  if label == "not supported" else
                  "The published percent and the counts disagree, so at least one of them is wrong."))
    flip = a.dispersion_to_lose_significance
    would = (f"The verdict turns on the dispersion φ: significance is lost once φ ≥ {flip:.2f} "
             f"(estimated φ = {a.dispersion:.2f}). A different earlier count would also move it."
             if flip is not None else
             "Only larger counts or a larger change could make it significant; no dispersion can.")
    return Verdict(label=label, headline=headline, summary=summary, technical=a.verdict, key=key,
                   would_change=would)


def _caveats(p: Params, previous_source: str) -> tuple[str, ...]:
    out = []
    if previous_source == "derived":
        out.append(f"The earlier count is **derived**: the Ministry did not publish the {p.previous_period} count. If "
                   "the percent was computed from a revised or differently defined count, the baseline moves and so "
                   "does every p-value.")
    out.append("The dispersion comes from ten annual counts (its 95% interval is wide) and is carried to "
               + ("the period by assumption." if p.months < 12 else "this annual comparison."))
    out.append("Counts are of people injured (including fatal) or killed, as registered by the labour inspection; the "
               "BNS counts victims with one lost working day and its non-fatal counts are 40–80% higher (see the data "
               "overview). Nothing here mixes the two.")
    if p.months < 12 and p.measure == "injured":
        out.append("The seasonal view rests on very few past releases and an interpolated share for short periods.")
    return tuple(out)


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
    annual = annual_series(p.measure, data_dir)
    rows = common.national_rows([p.period, p.previous_period], measures=[
        p.measure, f"{p.measure}_pct_change_yoy", "rate_per_1000", *(["fatal", "fatal_pct_change_yoy"]
                                                                      if p.measure == "injured" else [])],
        data_dir=data_dir)
    a = assess.assess_change(p.current_count, p.reported_change_pct, p.previous_count, p.pct_decimals,
                             p.exposure_ratio, p.alpha, p.dispersion, annual.to_numpy(), annual.index.to_numpy())
    grid = compare.dispersion_table(p.current_count, a.previous_count, p.exposure_ratio,
                                    tuple(np.round(np.linspace(1, 4, 61), 3)), p.alpha).to_frame()
    ratios = np.round(np.linspace(0.6, 1.0, 41), 3)
    pw = pd.DataFrame({"true ratio": ratios,
                       "power": power.power_curve(ratios, a.previous_count, p.exposure_ratio, alpha=p.alpha)})
    suggested, exposure_note, exposure_view = _workforce(p, a, annual, data_dir)
    seasonal, seasonal_note = _seasonal(p, a, data.national_series("ministry", p.measure, data_dir=data_dir),
                                        data_dir)
    deaths_view, deaths_table, deaths_note = _deaths(p, data_dir)
    prev_src = _previous_source(p, rows)
    estimates = (
        Estimate("rate ratio", a.rate_ratio, *a.rate_ratio_ci, a.p_value_exact, "exact conditional binomial (Poisson)"),
        Estimate("rate ratio", a.rate_ratio, *a.rate_ratio_ci_overdispersed, a.p_value_overdispersed,
                 f"quasi-Poisson score, φ = {a.dispersion:.2f}"),
        Estimate("minimum detectable change", a.min_detectable_change_pct, model="exact power 80%",
                 note=f"with about {a.previous_count} earlier events", unit="%"),
    )
    return QuarterlyResult(
        params=p, title=title(p), question=(
            f"Could a change of {p.reported_change_pct:+g}% in {_NOUN[p.measure]} arise by chance from the "
            f"year-to-year variation of a count of this size, and is the claim internally consistent?"),
        claim=claim_text(p, rows, prev_src), verdict=_verdict(p, a), estimates=estimates,
        caveats=_caveats(p, prev_src), assessment=a, previous_source=prev_src,
        sources=rows.drop(columns=["source_id"]).reset_index(drop=True), dispersion_curve=grid, power_curve=pw,
        exposure_suggested=suggested, exposure_note=exposure_note, exposure_view=exposure_view,
        seasonal=seasonal, seasonal_note=seasonal_note, deaths_view=deaths_view, deaths_table=deaths_table,
        deaths_note=deaths_note)
