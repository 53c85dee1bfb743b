"""What does an early-year change imply for the year? (notebook ``07_year_to_date_projection``)

A Ministry release says "count *c* from January to month *m*, down *p*% on the same months a year earlier". This
study projects the cumulative count at a target month (the full year by default) from that release, compares the
projection with the previous year, says how much of an early change survived in past years, and backtests the
projection on past releases.

``run(Params(...))`` returns a :class:`YtdResult`; the notebook narrates it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from analysis.core import validate
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import projection
from analysis.studies import common

NAME = "ytd"
NOTEBOOK = "07_year_to_date_projection"
SOURCE = ("Ministry of Labour cumulative releases and annual totals via Kazakh news sites (data/national_ytd.csv, "
          "data/national_annual.csv); derived figures flagged")


def _month(name: str, value: int) -> int:
    if not 1 <= value <= 12:
        raise ValueError(f"{name} must be a month from 1 to 12, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the year-to-date projection study (the notebook's ``parameters`` cell mirrors this)."""

    year: int = param(2025, "year of the year-to-date release being projected (left out of every estimate)",
                      check=validate.positive_int)
    months: int = param(3, "the release covers January to this month (1..12)", check=_month)
    ytd_count: int = param(293, "injured workers (Ministry count incl. fatal) from January to months",
                           check=validate.count, cli=("--count",))
    ytd_change_pct: float = param(-16.8, "published percent change against the same months a year earlier",
                                  check=validate.pct_change, cli=("--change-pct",))
    target_months: int = param(12, "project the cumulative count up to this month (12 is the full year)",
                               check=_month)
    alpha: float = param(0.05, "1 - level of the prediction intervals (0.05 gives 95%)", check=validate.alpha)
    seed: int = param(20250401, "seed of the simulation (same seed, same numbers)", check=validate.seed)

    def check(self) -> None:
        if self.target_months < self.months:
            raise ValueError(f"target_months must be between months ({self.months}) and 12, "
                             f"got {self.target_months!r}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class YtdResult(StudyResult):
    """Everything notebook 07 shows."""

    study = NAME
    notebook = NOTEBOOK

    projection: projection.YearProjection
    by_target: dict
    history: pd.DataFrame
    published_count: float | None
    curve: projection.ShareCurve
    share_curve: pd.DataFrame
    shrinkage: projection.Shrinkage
    shrinkage_points: pd.DataFrame
    ytd_changes: pd.DataFrame
    sensitivity: pd.DataFrame
    annual: pd.DataFrame

    def results(self) -> dict[str, Any]:
        r = self.projection
        return {"projected_count": r.projected_count, "prediction_interval": r.prediction_interval,
                "projected_change_pct": r.projected_change_pct,
                "projected_change_interval": r.projected_change_interval,
                "shrinkage_factor": r.shrinkage_factor, "backtest": r.backtest, "coverage": r.coverage,
                "verdict": r.verdict, "details": r, "by_target": {str(t): v for t, v in self.by_target.items()},
                "shares": self.curve.table(), "shrinkage": self.shrinkage, "sensitivity": self.sensitivity}

    # ---------------------------------------------------------------- text and tables the notebook shows
    @property
    def level(self) -> str:
        return f"{100 * (1 - self.params.alpha):g}%"

    @property
    def data_note(self) -> str:
        p = self.params
        if self.published_count is not None:
            return (f"The data hold **{self.published_count:,.0f}** for {p.year} months 1–{p.months}; this report "
                    f"uses **{p.ytd_count:,}**.")
        return f"The data hold no count for {p.year} months 1–{p.months}; this report uses {p.ytd_count:,}."

    @property
    def share_points(self) -> pd.DataFrame:
        pts = self.curve.points()
        pts["figure"] = pts["derived"].map({True: "derived", False: "published"})
        return pts

    @property
    def share_note(self) -> str:
        r, p = self.projection, self.params
        if r.share is None:
            return self.curve.verdict
        return (f"{self.curve.verdict} The share used for month {p.months}: **{r.share.mean:.3f}** "
                f"(SE {r.share.se:.3f}, {r.share.source}: {r.share.note}).")

    @property
    def projection_table(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "target_months": t, "projected_count": r.projected_count, "lower": r.prediction_interval[0],
            "upper": r.prediction_interval[1], "previous_year_count": r.previous_count,
            "previous_source": r.previous_source, "change_pct": r.projected_change_pct,
            "change_lower": r.projected_change_interval[0], "change_upper": r.projected_change_interval[1]}
            for t, r in self.by_target.items()])

    @property
    def backtest_table(self) -> pd.DataFrame:
        bt = self.projection.backtest.copy()
        bt["label"] = bt["year"].astype(str) + " m" + bt["months"].astype(str)
        return bt

    @property
    def backtest_note(self) -> str:
        r, p = self.projection, self.params
        return (f"{r.backtest_n} past projections; {self.level} intervals covered the actual count in "
                f"**{100 * r.coverage:.0f}%** (95% CI {100 * r.coverage_ci[0]:.0f}–{100 * r.coverage_ci[1]:.0f}%, "
                f"optimistic because rows share years); mean absolute error **{r.mape:.1f}%**. At month {p.months}: "
                f"{r.backtest_covered_same_month} of {r.backtest_n_same_month}.")

    @property
    def shares_alt(self) -> str:
        return ("Line chart of the share of the year's injuries counted by each month in past Ministry releases, "
                "with the share curve used and the uniform line m/12.")

    @property
    def projection_alt(self) -> str:
        r = self.projection
        return (f"Annual Ministry totals from 2015 and the projected {self.params.year} counts with their "
                f"{self.level} prediction intervals; the full-year projection is {r.projected_count:,.0f} "
                f"({r.prediction_interval[0]:,.0f} to {r.prediction_interval[1]:,.0f}).")

    @property
    def shrinkage_alt(self) -> str:
        return (f"Scatter of past years' year-to-date change against the change by month "
                f"{self.params.target_months}, with the fitted shrinkage slope {self.shrinkage.estimate:.2f}.")

    @property
    def backtest_alt(self) -> str:
        r = self.projection
        return (f"Each past release's projection error and interval relative to the actual count; "
                f"{r.backtest_n} projections, coverage {100 * r.coverage:.0f}%.")

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"projection": self.projection_table, "backtest": self.projection.backtest,
                "sensitivity": self.sensitivity}


# ---------------------------------------------------------------------------------------------------------- run
def title(p: Params) -> str:
    direction = "drop" if p.ytd_change_pct < 0 else "rise"
    period = "year" if p.target_months == 12 else f"first {p.target_months} months"
    return (f"Does the {abs(p.ytd_change_pct):g}% {direction} in injuries to month {p.months} of {p.year} hold for "
            f"the {period}?")


def _verdict(p: Params, r: projection.YearProjection) -> Verdict:
    lo, hi = r.projected_change_interval
    key = Estimate(f"projected change to month {p.target_months}", r.projected_change_pct, lo, hi, None,
                   r.method, note="prediction interval", unit="%")
    if lo <= 0 <= hi:
        label = "not supported"
        headline = (f"The early {p.ytd_change_pct:+g}% does not show that {p.year} as a whole will differ from "
                    f"{p.year - 1}.")
    else:
        label = "supported"
        headline = f"The projection for {p.year} lies wholly {'below' if hi < 0 else 'above'} {p.year - 1}."
    summary = (f"{p.ytd_count:,} injured in the first {p.months} month(s) project to about "
               f"{r.projected_count:,.0f} for the period ({r.prediction_interval[0]:,.0f} to "
               f"{r.prediction_interval[1]:,.0f}).")
    return Verdict(label=label, headline=headline, summary=summary, technical=r.verdict, key=key,
                   would_change="A later release (six or nine months) far from the projection.")


def run(params: Params, data_dir=DATA_DIR) -> YtdResult:
    """Project the release's year and assess the projection.

    Parameters
    ----------
    params : Params
        The release (year, months, count, percent change) and the projection's target, level and seed.
    data_dir : path, optional
        The data folder (tests pass a copy).

    Returns
    -------
    YtdResult
        Projection, milestones, shares, shrinkage, backtest and sensitivity, with the verdict.
    """
    p = params
    history = common.ministry_history(data_dir)
    past = history.without([p.year])
    curve = projection.seasonal_shares(past)
    r = projection.project_year(history, p.year, p.months, p.ytd_count, p.ytd_change_pct, p.target_months,
                                alpha=p.alpha, seed=p.seed)
    targets = sorted({t for t in (6, 9, p.target_months) if p.months <= t <= 12})
    by_target = {t: (r if t == p.target_months else
                     projection.project_year(history, p.year, p.months, p.ytd_count, p.ytd_change_pct, t,
                                             alpha=p.alpha, seed=p.seed, decisive_months=()))
                 for t in targets}
    sens = projection.sensitivity(history, p.year, p.months, p.ytd_count, p.target_months, alpha=p.alpha,
                                  seed=p.seed)
    shrink = projection.shrinkage(past, p.months, p.target_months, p.ytd_change_pct, alpha=p.alpha)
    ann = pd.Series(history.annual()).rename_axis("year").rename("count").reset_index()
    sp = shrink.points.assign(figure=shrink.points["derived"].map({True: "uses derived", False: "published"}))
    return YtdResult(
        params=p, title=title(p),
        question=(f"What does {p.ytd_count:,} injured from January to month {p.months} of {p.year} "
                  f"({p.ytd_change_pct:+g}%) imply for the cumulative count to month {p.target_months}?"),
        claim=(f"**Claim.** The Ministry of Labour reported {p.ytd_count:,} injured workers from January to month "
               f"{p.months} of {p.year}, {p.ytd_change_pct:+g}% against the same months a year earlier."),
        verdict=_verdict(p, r),
        estimates=(Estimate("projected count", r.projected_count, *r.prediction_interval, None, r.method,
                            note="prediction interval", unit="count"),
                   Estimate("projected change", r.projected_change_pct, *r.projected_change_interval, None,
                            r.method, note="prediction interval", unit="%")),
        caveats=(), projection=r, by_target=by_target, history=projection.history_table(history),
        published_count=history.count(p.year, p.months), curve=curve, share_curve=projection.share_table(curve),
        shrinkage=shrink, shrinkage_points=sp, ytd_changes=projection.ytd_changes(past, p.target_months),
        sensitivity=sens, annual=ann[ann["year"] >= 2015])
