"""Is a reported multi-year decline real? (notebook ``03_five_year_trend``)

A Ministry release says "over the past five years the injury rate fell 6.3%". This study finds which quantity the
percent describes (the count of injured people or the Ministry's rate per 1,000 workers), tests the change between
the window's end years (exact and with the over-dispersion the series shows), fits a log-linear trend to the whole
series, and shows how each data choice (a conflicting value, a derived year, the first year, counts or rates) moves
the answer.

``run(Params(...))`` returns a :class:`TrendResult`; the notebook narrates it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from analysis import data
from analysis.core import validate
from analysis.core.params import ParameterError, param
from analysis.core.params import Params as _Params
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import window

NAME = "trend"
NOTEBOOK = "03_five_year_trend"
MEASURES = ("count", "rate")
TREND_START = 2015  # the Ministry's annual series has no gaps from 2015 on (2017 and 2023 derived)
MINISTER_2024 = 1448  # the 2024 count the Minister said at a government meeting (data/national_annual.csv, F93)


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the five-year-trend study (the notebook's ``parameters`` cell mirrors this)."""

    end_year: int = param(2024, "last year of the claim's window", check=validate.positive_int)
    years: int = param(5, "window length in calendar years, endpoints included (2020 to 2024 for the default)",
                       check=validate.positive_int)
    reported_change_pct: float = param(-6.3, "the published change over the window, in percent",
                                       check=validate.pct_change, cli=("--change-pct",))
    measure: str = param("count", "what the claim is tested on: count (people injured) or rate (per 1,000 "
                                  "workers, Ministry-implied workforce)", choices=MEASURES)
    alpha: float = param(0.05, "significance level of every test", check=validate.alpha)
    trend_start: int = param(TREND_START, "first year of the whole-series trend fit (2015 to 2024 has no gaps; "
                                          "earlier years are sparse)", check=validate.positive_int)

    def check(self) -> None:
        if self.years < 2:
            raise ParameterError("years", f"years must be at least 2 (a window needs two endpoints), "
                                          f"got {self.years!r}")
        start = self.window_start
        if self.trend_start > start:
            # blame the parameter the user moved: a changed trend_start, otherwise the window
            name = "trend_start" if self.trend_start != TREND_START else "end_year"
            raise ParameterError(name, f"{name}: the window {start}–{self.end_year} ({self.years} years ending in "
                                       f"end_year {self.end_year}) must start at or after trend_start "
                                       f"{self.trend_start}, the first year of the trend fit; got {name} = "
                                       f"{getattr(self, name)!r}")

    @property
    def window_start(self) -> int:
        """First year of the claim's window (end_year − years + 1)."""
        return self.end_year - self.years + 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrendResult(StudyResult):
    """Everything notebook 03 shows: the endpoint and trend assessment of counts and rates, the data choices, and
    the data of its figures."""

    study = NAME
    notebook = NOTEBOOK

    count_view: window.WindowAssessment
    rate_view: window.WindowAssessment
    series: pd.Series  # the Ministry's injured counts used (trend_start .. end_year)
    sources: pd.DataFrame
    workers: pd.DataFrame
    published_rates: dict[int, float]
    injuries_figure: pd.DataFrame
    conflicting_values: pd.DataFrame
    scenarios: pd.DataFrame

    @property
    def assessment(self) -> window.WindowAssessment:
        """The view the claim is tested on (``params.measure``)."""
        return self.count_view if self.params.measure == "count" else self.rate_view

    def results(self) -> dict[str, Any]:
        out = self.assessment.to_dict()
        out["count_view"] = self.count_view.to_dict()
        out["rate_view"] = self.rate_view.to_dict()
        out["scenarios"] = self.scenarios
        return out

    # ---------------------------------------------------------------- text and tables the notebook shows
    @property
    def quantity_note(self) -> str:
        c, r, p = self.count_view, self.rate_view, self.params
        lines = [
            f"* Counts: {c.start_value:,.0f} → {c.end_value:,.0f} = **{c.change_pct:+.1f}%** (claim "
            f"{p.reported_change_pct:+g}%: {'matches' if c.consistent else 'does not match'}).",
            f"* Rates per 1,000 (injured / Ministry-implied workers): {r.start_value:.3f} → {r.end_value:.3f} = "
            f"**{r.change_pct:+.1f}%** ({'matches' if r.consistent else 'does not match'}).",
        ]
        if c.rate_change_range:
            lines.append(f"* The published coefficients {self.published_rates.get(c.start_year)} → "
                         f"{self.published_rates.get(p.end_year)} allow {c.rate_change_range[0]:+.1f}% to "
                         f"{c.rate_change_range[1]:+.1f}% after rounding.")
        return "\n".join(lines)

    @property
    def endpoint_note(self) -> str:
        return f"**Endpoints ({self.params.measure}).** " + self.assessment.verdict.split(" The whole series")[0]

    @property
    def models_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"model": m, "APC %": v["apc"], "CI low %": v["ci"][0], "CI high %": v["ci"][1],
                              "p-value": v["p_value"]} for m, v in self.assessment.apc_by_model.items()])

    @property
    def trend_figure(self) -> pd.DataFrame:
        """Observed values and the quasi-Poisson fitted trend (counts, or rates per 1,000 for measure='rate')."""
        a = self.assessment
        fit = pd.Series(a.trend_fitted, index=self.series.index)
        y = self.series.astype(float)
        if self.params.measure == "rate":
            w = self.workers.set_index("year")["workers"]
            y, fit = y / w * 1000, fit / w * 1000
        return pd.DataFrame({"year": self.series.index, "observed": y.to_numpy(), "fitted": fit.to_numpy()})

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"sources": self.sources, "workers": self.workers, "models": self.models_table,
                "scenarios": self.scenarios}


# ---------------------------------------------------------------------------------------------------------- run
def ministry_series(p: Params, data_dir=DATA_DIR) -> pd.Series:
    """The Ministry's annual injured counts from ``trend_start`` to ``end_year`` (2017 and 2023 derived)."""
    s = data.national_series("ministry", "injured", data_dir=data_dir)
    years = [int(y) for y in s.index]
    for name, y in (("end_year", p.end_year), ("years", p.window_start)):
        if y not in years:
            what = "end_year" if name == "end_year" else f"years = {p.years} puts the window start at"
            raise ParameterError(name, f"{what} {y} has no Ministry annual count; available: {years}")
    return s[(s.index >= p.trend_start) & (s.index <= p.end_year)]


def _scenarios(p: Params, series: pd.Series, rate_map: dict, data_dir) -> pd.DataFrame:
    variants = [("as above", series, "count")]
    if p.end_year == 2024 and 2024 in series.index:
        s1448 = series.copy()
        s1448[2024] = MINISTER_2024
        variants.append((f"2024 = {MINISTER_2024:,} (Minister)", s1448, "count"))
    if 2023 in series.index and p.window_start != 2023 and p.end_year != 2023:
        variants.append(("without derived 2023", series.drop(2023), "count"))
    full = data.national_series("ministry", "injured", data_dir=data_dir)
    full = full[full.index <= p.end_year]
    variants.append((f"all years {int(full.index.min())}–{p.end_year}", full, "count"))
    variants.append(("rates per 1,000 (derived workers)", series, "rate"))
    rows = []
    for label, s, meas in variants:
        w = data.workers_for_years(s.index, data_dir)["workers"].to_numpy() if meas == "rate" else None
        v = window.assess_window(s.index, s.values, p.end_year, p.years, p.reported_change_pct, meas, workers=w,
                                 rates=rate_map, alpha=p.alpha)
        rows.append({"choice": label, "change %": v.change_pct, "endpoint exact p": v.p_value_endpoint_exact,
                     "endpoint p (φ)": v.p_value_endpoint_overdispersed, "φ": v.dispersion, "APC %": v.apc,
                     "APC CI low": v.apc_ci[0], "APC CI high": v.apc_ci[1], "trend p": v.p_value_trend})
    return pd.DataFrame(rows)


def _sources(p: Params, data_dir) -> pd.DataFrame:
    a = data.load_national_annual(data_dir)
    rows = a[(a["system"] == "ministry") & a["measure"].isin(["injured", "rate_per_1000"])
             & (a["year"] >= p.trend_start) & (a["year"] <= p.end_year)].copy()
    src = data.load_sources(data_dir).set_index("source_id")
    rows["publisher"] = rows["source_id"].map(src["publisher"])
    rows["url"] = rows["source_id"].map(src["url"])
    return rows.sort_values(["measure", "year"])[
        ["year", "measure", "value", "preferred", "derived", "formula", "publisher", "url"]].reset_index(drop=True)


def _figure_data(p: Params, series: pd.Series, data_dir):
    a = data.load_national_annual(data_dir)
    fig = pd.DataFrame({"year": series.index, "injured": series.values,
                        "status": ["derived" if d else "published" for d in
                                   series.index.isin(a[a["derived"]]["year"])]})
    alt = a[(a["system"] == "ministry") & (a["measure"] == "injured") & ~a["preferred"]
            & (a["year"] <= p.end_year) & (a["year"] >= p.trend_start)]
    alt = alt[~alt["value"].isin(series.values)][["year", "value"]].reset_index(drop=True)
    return fig, alt


def title(p: Params) -> str:
    direction = "fall" if p.reported_change_pct < 0 else "rise"
    return f"Did the injury rate really {direction} {abs(p.reported_change_pct):g}% over {p.years} years?"


def claim_text(p: Params) -> str:
    if p.end_year == 2024 and p.years == 5 and p.reported_change_pct == -6.3:
        return ("**Claim.** The Ministry of Labour's April 2025 release said that \"over the past five years, the "
                "overall injury rate has decreased by 6.3%\".")
    return (f"**Claim (as given in the parameters).** The injury rate changed {p.reported_change_pct:+g}% over "
            f"{p.years} years, {p.window_start}–{p.end_year}.")


def _verdict(p: Params, a: window.WindowAssessment) -> Verdict:
    key = Estimate(f"change {a.start_year}–{a.end_year}", a.change_pct, *a.change_pct_ci, a.p_value_endpoint_exact,
                   "exact conditional binomial (Poisson), endpoints only", unit="%")
    end_sig = a.p_value_endpoint_exact < p.alpha
    tr_sig = a.p_value_trend < p.alpha and a.apc_ci[1] < 0
    if not a.consistent:
        label, headline = "inconsistent", (f"The published {p.reported_change_pct:+g}% does not match the "
                                           f"{p.measure}s {a.start_year}–{a.end_year}.")
    elif tr_sig and not end_sig:
        label, headline = "fragile", ("The decade-long decline is real, but the two end years alone do not show a "
                                      "clear decline.")
    elif tr_sig:
        label, headline = "supported", "The decline is clear both between the end years and over the decade."
    else:
        label, headline = "not supported", "Neither the end years nor the decade show a clear decline."
    summary = (f"The counts went from {a.start_value:,.0f} to {a.end_value:,.0f}, a {a.change_pct:+.1f}% change. "
               f"Over {a.trend_years[0]}–{a.trend_years[1]} the count fell about {abs(a.apc):.1f}% a year.")
    return Verdict(label=label, headline=headline, summary=summary, technical=a.verdict, key=key,
                   would_change="A different end-year value (2024 = 1,448) or a break in the trend.")


def run(params: Params, data_dir=DATA_DIR) -> TrendResult:
    """Run the study.

    Parameters
    ----------
    params : Params
        Validated parameters.
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    TrendResult
    """
    p = params
    series = ministry_series(p, data_dir)
    rates_pub = data.national_series("ministry", "rate_per_1000", data_dir=data_dir)
    rate_map = {int(k): float(v) for k, v in rates_pub.items()}
    workers = data.workers_for_years(series.index, data_dir)
    count_view = window.assess_window(series.index, series.values, p.end_year, p.years, p.reported_change_pct,
                                      "count", rates=rate_map, alpha=p.alpha)
    rate_view = window.assess_window(series.index, series.values, p.end_year, p.years, p.reported_change_pct,
                                     "rate", workers=workers["workers"].to_numpy(), rates=rate_map, alpha=p.alpha)
    chosen = count_view if p.measure == "count" else rate_view
    fig, alt = _figure_data(p, series, data_dir)
    estimates = (
        Estimate(f"change {chosen.start_year}–{chosen.end_year}", chosen.change_pct, *chosen.change_pct_ci,
                 chosen.p_value_endpoint_exact, "exact conditional binomial (Poisson)", unit="%"),
        Estimate(f"change {chosen.start_year}–{chosen.end_year}", chosen.change_pct,
                 *chosen.change_pct_ci_overdispersed, chosen.p_value_endpoint_overdispersed,
                 f"quasi-Poisson score, φ = {chosen.dispersion:.2f}", unit="%"),
        Estimate("annual percent change", chosen.apc, *chosen.apc_ci, chosen.p_value_trend,
                 "quasi-Poisson log-linear GLM", note=f"{chosen.trend_years[0]}–{chosen.trend_years[1]}", unit="%"),
    )
    return TrendResult(
        params=p, title=title(p),
        question=("Which quantity does the published change describe, and is the decline statistically meaningful "
                  "at the window's end years and across the whole series?"),
        claim=claim_text(p), verdict=_verdict(p, chosen), estimates=estimates,
        caveats=("Ten annual counts are few; the dispersion estimate (and so every over-dispersed p-value) is "
                 "uncertain.",
                 "A single log-linear trend ignores possible breaks (2020 pandemic year, the 2022 reform). The "
                 "endpoint comparison is sensitive to which years are chosen as ends.",
                 "The workforce behind the rate is derived from the Ministry's rounded coefficients and "
                 "interpolated between years."),
        count_view=count_view, rate_view=rate_view, series=series, sources=_sources(p, data_dir), workers=workers,
        published_rates=rate_map, injuries_figure=fig, conflicting_values=alt,
        scenarios=_scenarios(p, series, rate_map, data_dir))
