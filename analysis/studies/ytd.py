"""What does an early-year change imply for the year? (notebook ``07_year_to_date_projection``)

A Ministry release says "*c* people injured from January to month *m*, *p*% fewer than in the same months a year
earlier". Does the change hold for the year (or for a later target month)? This study fits one model to every
cumulative Ministry release (:mod:`analysis.stats.ytd_model`: gamma year levels around a log-linear trend, a
harmonic seasonal curve, over-dispersion within the year), projects the target period from the release with its
predictive distribution, compares it with the previous year, shows the seasonal share and the shrinkage of early
changes the model implies, backtests the projection with a rolling origin against two simple rivals and repeats the
projection under other defensible choices.

The fit uses the Ministry's releases from :data:`FIRST_YEAR` (the annual totals 2008–2011 are a sensitivity row)
and leaves the release's own year out: its count enters once, through the projection. The previous year's count
for the same months comes from the parameters, else from the data, else from the published percent (back-calculated
as the quarterly-change study does), and then joins the fit as a derived release.

``run(Params(...))`` returns a :class:`YtdResult`; the notebook narrates it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from analysis import data
from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_counted, fmt_number, fmt_percent
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict, sentences
from analysis.stats import consistency
from analysis.stats import ytd_model as ym
from analysis.studies import common

NAME = "ytd"
NOTEBOOK = "07_year_to_date_projection"
FIRST_YEAR = 2015  # the Ministry's annual series has no gaps from 2015 on; 2008-2011 are a sensitivity row
# Sensitivity row: the trend fitted only from the year of the best single joinpoint of the Ministry's annual series
# (report 03: 2019; not selected by its permutation test, p = 0.11, but the decline slows from about -4% to -0.8% a
# year there), because the projection carries the fitted trend into the months not yet counted.
RECENT_FROM = 2019
MILESTONES = (6, 9, 12)
DRAWS = 20_000  # predictive draws of the headline projection and the milestones
SENSITIVITY_DRAWS = 5_000  # Monte Carlo error of a 95% limit: about ±0.5% of the count
BACKTEST_DRAWS = 4_000
CURVE_DRAWS = 2_000  # band of the shrinkage-by-month figure
BASE_EFFECT = 0.05  # the summary names an unusual previous-year count when it is this far from its expectation
SOURCE = ("Ministry of Labour cumulative releases and annual totals (data/national_ytd.csv, "
          "data/national_annual.csv); derived figures flagged")
#: The default claim's numbers in the first edition of this report (seasonal-share ratio projection), for the
#: note on what moved (issue 12).
FIRST_EDITION = ("The first edition of this report (a ratio projection on an interpolated seasonal share, with a "
                 "leave-one-year-out backtest) projected 1,320 for 2025 (95% interval 1,013 to 1,775), a change of "
                 "-6.3% (-28.1% to +26.1%), from a share of 22.2% by month 3 that no past year had published; its "
                 "shrinkage slope, 0.24 (-0.08 to 0.55), came from four points, and 20 of 20 correlated backtest "
                 "rows were covered.")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
          10: "ten", 11: "eleven"}


def _year(name: str, value: int) -> int:
    if not 2000 <= value <= 2100:
        raise ValueError(f"{name} must be a calendar year from 2000 to 2100, got {value!r}")
    return value


def _months(name: str, value: int) -> int:
    if not 1 <= value <= 11:
        raise ValueError(f"{name} must be a month from 1 to 11 (a release to month 12 is an annual count: use the "
                         f"quarterly-change study), got {value!r}")
    return value


def _target(name: str, value: int) -> int:
    if not 2 <= value <= 12:
        raise ValueError(f"{name} must be a month from 2 to 12, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the year-to-date projection study (the notebook's ``parameters`` cell mirrors this)."""

    year: int = param(2025, "year of the release (its own counts are left out of the model fit)", check=_year,
                      cli_required=True)
    months: int = param(3, "the release counts from January to this month (1..11)", check=_months,
                        cli_required=True)
    ytd_count: int = param(293, "people injured at work (incl. fatal) from January to months (Ministry count)",
                           check=validate.people, cli=("--count",), cli_required=True)
    ytd_change_pct: float | None = param(-16.8, "published percent change against the same months a year earlier "
                                                "(None if the release gave none)", check=validate.pct_change,
                                         cli=("--change-pct",), cli_required=True)
    previous_count: int | None = param(None, "count of the same months a year earlier if published; None takes it "
                                             "from the data or derives it from the percent",
                                       check=validate.people, cli=("--previous",))
    pct_decimals: int = param(1, "decimals the published percent was rounded to", cli=("--decimals",))
    target_months: int = param(12, "project the cumulative count to this month (12 is the full year)",
                               check=_target)
    alpha: float = param(0.05, "1 - level of the prediction intervals (0.05 gives 95 percent)", check=validate.alpha)
    seed: int = param(20250401, "seed of the simulations (same seed, same numbers)", check=validate.seed)

    def check(self) -> None:
        """Rules across parameters: ``pct_decimals`` 0-3, ``target_months`` after ``months``, and the published
        percent back-calculable (:func:`analysis.studies.common.check_back_calculable`).

        Raises
        ------
        ValueError
            Naming the parameter that breaks a rule (a ``ParameterError`` for the back-calculation).
        """
        if not 0 <= self.pct_decimals <= 3:
            raise ValueError(f"pct_decimals must be an integer from 0 to 3, got {self.pct_decimals!r}")
        if self.target_months <= self.months:
            raise ValueError(f"target_months must be after months ({self.months}) and at most 12, "
                             f"got {self.target_months!r}")
        common.check_back_calculable(self.ytd_count, self.ytd_change_pct, self.pct_decimals, self.previous_count,
                                     ("ytd_count", "ytd_change_pct"))

    @property
    def period(self) -> str:
        """The release's period ('2025-Q1', '2025-H1', '2025-01..07')."""
        return data.canonical_period(f"{self.year}-01..{self.months:02d}")

    @property
    def target_period(self) -> str:
        return data.canonical_period(f"{self.year}-01..{self.target_months:02d}")

    @property
    def level(self) -> str:
        return f"{100 * (1 - self.alpha):g}%"


# ---------------------------------------------------------------------------------------------------------- words
def _span(months: int) -> str:
    """'the first three months', 'the year'."""
    return "the year" if months == 12 else f"the first {_WORDS[months]} months" if months > 1 else "January"


def _target_text(p: Params) -> str:
    """'the whole of 2025', 'January–September 2025', 'the first half of 2025'."""
    return f"the whole of {p.year}" if p.target_months == 12 else common.period_text(p.target_period)


def _before(p: Params) -> str:
    """The previous year's target period: '2024', 'January–September 2024'."""
    return common.period_text(data.shift_period(p.target_period, -1))


# ---------------------------------------------------------------------------------------------------------- pieces
@dataclasses.dataclass(frozen=True)
class PreviousYtd:
    """The previous year's count for the release's months: where it comes from and whether the percent fits it."""

    count: int
    source: str  # 'published', 'derived in the data', 'derived from the percent', 'given'
    derived: bool
    formula: str | None
    candidates: tuple[int, ...]  # every count the rounded percent allows (back-calculation)
    check: consistency.PercentCheck | None
    added_to_fit: bool

    @property
    def consistent(self) -> bool:
        return self.check is None or self.check.consistent

    def to_dict(self) -> dict[str, Any]:
        """The previous year's count and its provenance as plain JSON types.

        Returns
        -------
        dict
            ``count``, ``source``, ``derived``, ``formula``, ``candidates`` (list), ``consistent``, ``added_to_fit`` and
            ``check`` (the percent check's ``to_dict()``, or None).
        """
        return {"count": self.count, "source": self.source, "derived": self.derived, "formula": self.formula,
                "candidates": list(self.candidates), "consistent": self.consistent, "added_to_fit": self.added_to_fit,
                "check": None if self.check is None else self.check.to_dict()}


def _previous_ytd(p: Params, by: dict) -> PreviousYtd | None:
    """The count of the same months a year earlier: parameter, data, or back-calculated from the percent."""
    rec = by.get((p.year - 1, p.months))
    check = None
    if p.previous_count is not None:
        if p.ytd_change_pct is not None:
            check = consistency.check_percent(p.ytd_count, p.previous_count, p.ytd_change_pct, p.pct_decimals)
        same = rec is not None and rec.count == p.previous_count and not rec.derived
        return PreviousYtd(p.previous_count, "published" if same else "given", False, None, (), check, rec is None)
    if rec is not None:
        if p.ytd_change_pct is not None and not rec.derived:  # a derived count comes from a percent: no check
            check = consistency.check_percent(p.ytd_count, rec.count, p.ytd_change_pct, p.pct_decimals)
        return PreviousYtd(rec.count, "derived in the data" if rec.derived else "published", rec.derived,
                           rec.formula, (), check, False)
    if p.ytd_change_pct is None:
        return None
    back = consistency.baselines_for_percent(p.ytd_count, p.ytd_change_pct, p.pct_decimals)
    if not back.baselines:
        raise ValueError(f"ytd_change_pct {p.ytd_change_pct:+g}% at {fmt_counted(p.pct_decimals, 'decimal')} allows no integer "
                         f"count for {p.year - 1} (ytd_count {p.ytd_count})")
    mid = p.ytd_count / (1 + p.ytd_change_pct / 100)
    b = min(back.baselines, key=lambda v: (abs(v - mid), v))  # as the quarterly-change study chooses
    sign = "+" if p.ytd_change_pct >= 0 else "-"
    formula = f"{p.ytd_count} / (1 {sign} {abs(p.ytd_change_pct):g}/100) = {mid:.1f} -> {b}"
    return PreviousYtd(int(b), "derived from the percent", True, formula, tuple(back.baselines), None, True)


def _fit_releases(p: Params, data_rel: tuple[ym.Release, ...], prev: PreviousYtd | None,
                  first_year: int | None = FIRST_YEAR) -> tuple[ym.Release, ...]:
    """The releases the model is fitted to: the data's (from ``first_year``) without the release's own year, plus
    the previous year's count for the release's months when the data lack it."""
    rel = [r for r in data_rel if r.year != p.year and (first_year is None or r.year >= first_year)]
    if prev is not None and prev.added_to_fit and (first_year is None or p.year - 1 >= first_year):
        rel.append(ym.Release(p.year - 1, p.months, prev.count, prev.derived, p.year + p.months / 12, prev.formula))
    try:
        return ym.check_releases(rel)
    except ValueError as exc:
        name = "previous_count" if p.previous_count is not None else "ytd_change_pct"
        raise ValueError(f"{name}: the count {prev.count} for {p.year - 1} months 1–{p.months} contradicts that "
                         f"year's other releases ({exc})") from None


@functools.lru_cache(maxsize=8)
def backtest(releases: tuple[ym.Release, ...], target: int, alpha: float, seed: int) -> ym.YtdBacktest:
    """The rolling-origin backtest (cached on the releases themselves: it depends on nothing else)."""
    return ym.backtest_ytd(releases, target, alpha=alpha, n_draws=BACKTEST_DRAWS, seed=seed)


def _change_excludes_zero(ci, direction: int) -> bool:
    return ci[1] < 0 if direction < 0 else ci[0] > 0


def _sensitivity(p: Params, all_rel, data_rel, prev, direction) -> list[dict]:
    """The projection under other defensible choices (each refitted; fewer draws than the headline)."""
    early = sorted({r.year for r in all_rel if r.year < FIRST_YEAR})
    published = tuple(r for r in all_rel if not r.derived)
    prev_pub = prev if prev is None or not prev.derived else None
    cases = [
        (f"releases from {min(early)} (annual totals {', '.join(map(str, early))} added)" if early
         else "every release in the data", _fit_releases(p, all_rel, prev, None), {}),
        ("published figures only (no derived counts)", _fit_releases(p, published, prev_pub), {}),
        (f"releases from {RECENT_FROM} only (the slower trend after the break in report 03)",
         _fit_releases(p, data_rel, prev, max(FIRST_YEAR, RECENT_FROM)), {}),
        ("Poisson within the year (no over-dispersion)", _fit_releases(p, data_rel, prev), {"within_dispersion": 1.0}),
        ("between-year variation by plain maximum likelihood", _fit_releases(p, data_rel, prev),
         {"between_method": "ml"}),
    ]
    rows = []
    for name, rel, kw in cases:
        row = {"assumption": name, "releases": len(rel)}
        try:
            fit = ym.fit_ytd_model(rel, alpha=p.alpha, **kw)
            pr = ym.project_ytd(fit, p.year, p.months, p.ytd_count, p.target_months,
                                previous_ytd=None if prev is None else ym.PreviousCount(prev.count, prev.derived),
                                alpha=p.alpha, n_draws=SENSITIVITY_DRAWS, seed=p.seed)
        except ValueError as exc:
            rows.append(row | {"status": f"not fitted: {exc}"})
            continue
        ch = pr.change
        rows.append(row | {"status": "ok", "projected": pr.estimate, "lower": pr.ci[0], "upper": pr.ci[1],
                           "change": ch.estimate, "change_lower": ch.ci[0], "change_upper": ch.ci[1],
                           "share": pr.share_months.estimate, "phi": fit.phi, "tau": fit.estimate,
                           "excludes_no_change": None if direction == 0 else _change_excludes_zero(ch.ci, direction)})
    return rows


def _decisive(fit, p: Params, previous_target: float | None, point_at: dict) -> list[dict]:
    """Counts at later milestones that would put the whole target interval below (above) the previous year."""
    if previous_target is None:
        return []
    def intervals(counts):
        return ym.predictive_intervals(fit, p.year, m2, counts, p.target_months, alpha=p.alpha,
                                       n_draws=BACKTEST_DRAWS, seed=p.seed)

    def edge(pi, inside, last: bool):
        hit = pi.loc[inside(pi), "ytd_count"]
        return None if hit.empty else int(hit.max() if last else hit.min())

    def refine(c, step, inside, last):
        """The exact edge within one step of the coarse one: every count for small steps, else by bisection
        (the interval moves with the count; a full grid of a large count's step would hold tens of thousands)."""
        if step <= 100:
            return edge(intervals(np.arange(max(0, c - step), c + step + 1)), inside, last)
        lo, hi = (c, c + step) if last else (max(0, c - step), c)  # inside(c) holds
        while hi - lo > 1:
            mid = (lo + hi) // 2
            ok = bool(inside(intervals(np.array([mid]))).iloc[0])
            lo, hi = ((mid, hi) if ok else (lo, mid)) if last else ((lo, mid) if ok else (mid, hi))
        ends = intervals(np.array([lo, hi]))
        return edge(ends, inside, last)

    out = []
    for m2 in (k for k in MILESTONES if p.months < k < p.target_months):
        centre = point_at[m2]
        step = max(1, int(centre) // 100)
        coarse = intervals(np.arange(int(0.6 * centre), int(1.4 * centre) + 1, step))
        found = {}
        for key, inside, last in (("below_if_at_most", lambda d: d["upper"] < previous_target, True),
                                  ("above_if_at_least", lambda d: d["lower"] > previous_target, False)):
            c = edge(coarse, inside, last)  # the coarse edge, then the exact one near it
            found[key] = None if c is None else refine(c, step, inside, last)
        out.append({"months": m2, **found})
    return out


# ---------------------------------------------------------------------------------------------------------- result
@dataclasses.dataclass(frozen=True, kw_only=True)
class YtdResult(StudyResult):
    """Everything notebook 07 shows: the model, the projection and its milestones, the seasonal share, the
    shrinkage, the backtest, the sensitivity, and the data of its figures."""

    study = NAME
    notebook = NOTEBOOK

    fit: ym.YtdModelFit
    projection: ym.YtdProjection
    milestones: tuple[ym.YtdProjection, ...]
    previous: PreviousYtd | None
    data_count: int | None  # the data's count for the release's period, if any
    year_counts: dict  # the year's own counts in the data {month: count} (published or derived)
    direction: int  # -1 a fall is claimed, +1 a rise, 0 no change claimed (no percent and no previous count)
    backtest: ym.YtdBacktest
    sensitivity_rows: tuple[dict, ...]
    decisive: tuple[dict, ...]
    shares: pd.DataFrame
    share_points: pd.DataFrame
    shrinkage_curve: pd.DataFrame
    sources: pd.DataFrame
    base: pd.DataFrame | None

    # ---------------------------------------------------------------- JSON
    def results(self) -> dict[str, Any]:
        """The study's detailed results for the results JSON.

        Returns
        -------
        dict
            The projection (``projected_count`` with its ``prediction_interval``, the projected change, the share and
            shrinkage with their intervals), the backtest's coverage and interval scores, ``actual``, ``previous_ytd``,
            and the full ``fit``, ``projection``, ``milestones``, ``backtest``, ``sensitivity``, ``decisive``,
            ``shares`` and ``base_effect`` (converted by ``jsonable``).
        """
        pr, ch, bt = self.projection, self.projection.change, self.backtest
        return {
            "projected_count": pr.estimate, "prediction_interval": pr.ci,
            "projected_change_pct": None if ch is None else ch.estimate,
            "projected_change_interval": None if ch is None else ch.ci,
            "previous_count": None if ch is None else ch.previous_count,
            "previous_source": None if ch is None else ch.previous_source,
            "share": pr.share_months.estimate, "share_interval": pr.share_months.ci,
            "shrinkage_factor": pr.shrinkage.estimate, "shrinkage_interval": pr.shrinkage.ci,
            "coverage_years": [bt.covered_years, bt.n_years], "coverage_interval": bt.ci,
            "interval_scores": dict(zip(bt.scores["method"], bt.scores["mean_score_by_year"])),
            "actual": self.actual, "previous_ytd": None if self.previous is None else self.previous.to_dict(),
            "fit": self.fit, "projection": pr, "milestones": {str(m.target_months): m for m in self.milestones},
            "backtest": bt, "sensitivity": self.sensitivity_table, "decisive": list(self.decisive),
            "shares": self.shares, "base_effect": self.base}

    # ---------------------------------------------------------------- text the notebook shows
    @property
    def data_note(self) -> str:
        p, fit = self.params, self.fit
        held = ("The data hold no count for this period; the parameters' count is used." if self.data_count is None
                else f"The data hold the same count, {fmt_count(self.data_count)}." if self.data_count == p.ytd_count
                else f"The data hold {fmt_count(self.data_count)} for this period; this report uses "
                     f"{fmt_count(p.ytd_count)} from the parameters.")
        prev = ""
        if self.previous is not None:
            pv = self.previous
            how = {"published": "published", "given": "as given in the parameters",
                   "derived in the data": f"derived in the data: {pv.formula}",
                   "derived from the percent": f"back-calculated from the percent: {pv.formula}"}[pv.source]
            prev = f" The count for the same months of {p.year - 1}: **{fmt_count(pv.count)}** ({how})."
            if len(pv.candidates) > 1:
                prev += (f" The rounded percent allows {len(pv.candidates)} counts ({fmt_count(pv.candidates[0])} to "
                         f"{fmt_count(pv.candidates[-1])}); the one nearest the exact value is used.")
            if pv.added_to_fit:
                prev += " It joins the model fit as a release of that year."
            if pv.check is not None and not pv.check.consistent:
                prev += f" **The published percent does not match the two counts**: {pv.check.verdict}"
        return (f"The model is fitted to **{fit.n_releases} releases** from {fit.years[0]} to {fit.years[-1]}, the "
                f"release's own year ({p.year}) left out. {held}{prev}")

    @property
    def share_note(self) -> str:
        s, p = self.projection.share_months, self.params
        n = len(s.years_at_month)
        at = (f"{_WORDS.get(n, n)} year{'s' if n > 1 else ''} in the fit {'have' if n > 1 else 'has'} a count to "
              f"month {p.months}: {_years(s.years_at_month, s.derived_years_at_month)}" if n
              else f"no year in the fit has a count to month {p.months}")
        uniform = 100 * ym.DAYS[:p.months].sum() / ym.DAYS.sum()
        return (f"By the end of month {p.months} the model expects **{fmt_percent(100 * s.estimate, signed=False)}** "
                f"of the year's injuries ({p.level} interval {fmt_percent(100 * s.ci[0], signed=False)} to "
                f"{fmt_percent(100 * s.ci[1], signed=False)}; spread evenly over the days it would be "
                f"{fmt_percent(uniform, signed=False)}). The curve is estimated from the within-year splits of "
                f"{len(s.split_years)} years ({', '.join(map(str, s.split_years))}); {at}.")

    @property
    def shrinkage_note(self) -> str:
        sh, p, fit = self.projection.shrinkage, self.params, self.fit
        lo, hi = sh.ci
        weight = ("The years scatter around the trend no more than chance within a year explains (between-year "
                  f"variation estimated at 0, upper limit {fmt_number(fit.ci[1])}), so the year's own count says "
                  "almost nothing about the months still to come: they are projected from the trend."
                  if fit.at_boundary else
                  f"The year's own count gets a weight of {fmt_number(sh.weight)} against the trend for the months "
                  "still to come.")
        applied = ""
        if sh.ytd_deviation_pct is not None:
            applied = (f" {fmt_count(p.ytd_count)} is {fmt_percent(sh.ytd_deviation_pct)} against the model's "
                       f"expectation for {_span(p.months)} ({fmt_count(sh.expected_ytd)}), which carries to "
                       f"{fmt_percent(sh.target_deviation_pct)} for {_span(p.target_months)}.")
        return (f"**{fmt_percent(100 * sh.estimate, signed=False)}** of an early surprise survives from month "
                f"{p.months} to month {p.target_months} ({p.level} interval {fmt_percent(100 * lo, signed=False)} to "
                f"{fmt_percent(100 * hi, signed=False)}): the months already counted are "
                f"{fmt_percent(100 * sh.share_ratio, signed=False)} of the target period. {weight}{applied}")

    @property
    def base_note(self) -> str:
        if self.base is None:
            return ("No total for the previous year is in the data, so its count cannot be compared with a typical "
                    "year.")
        p = self.params
        diff = self.base["Difference"]
        change = "" if p.ytd_change_pct is None else f"published {fmt_percent(p.ytd_change_pct)} "
        return (f"{p.year - 1}'s count was {diff.iloc[0]} against a typical year and {p.year}'s {diff.iloc[1]}: the "
                f"{change}year-to-date change mixes the two, and only the second says something about {p.year}.")

    @property
    def backtest_note(self) -> str:
        bt, p = self.backtest, self.params
        if not bt.n_rows:
            return "No past release could be backtested to this target month."
        sc = bt.scores.set_index("method")["mean_score_by_year"]
        scores = (f" On the {bt.n_common} releases ({bt.n_common_years} years) where all three have an interval, "
                  f"the mean interval score (lower is better) is {fmt_number(sc['model'])} for the model, "
                  f"{fmt_number(sc['carried'])} for the carried year-to-date change and "
                  f"{fmt_number(sc['uniform'])} for the uniform share." if bt.n_common else "")
        return (f"{bt.n_rows} past releases were projected from what had been published before each. Counting each "
                f"year once (its earliest release), the {p.level} interval covered the actual count in "
                f"**{bt.covered_years} of {bt.n_years} years** (exact 95% interval "
                f"{fmt_percent(100 * bt.ci[0], signed=False)} to {fmt_percent(100 * bt.ci[1], signed=False)}); "
                f"{bt.rows_covered} of the {bt.n_rows} rows covered. {self._same_month_text}{scores}")

    @property
    def _same_month_text(self) -> str:
        k, n, missed = self.same_month
        m = self.params.months
        if not n:
            return f"No past release to month {m} could be backtested."
        return (f"Releases to month {m}, like this one: {k} of {n} covered"
                + (f" (missed: {', '.join(map(str, missed))})." if missed else "."))

    @property
    def sensitivity_note(self) -> str:
        rows = [r for r in self.sensitivity_rows if r.get("status") == "ok"]
        if not rows or self.direction == 0:
            return ""
        flips = [r["assumption"] for r in rows if r["excludes_no_change"] != self._headline_excludes]
        if not flips:
            return ("No alternative changes whether the interval of the change "
                    + ("excludes" if self._headline_excludes else "includes") + " no change.")
        return ("Under " + "; ".join(flips) + " the interval of the change "
                + ("includes" if self._headline_excludes else "excludes") + " no change, unlike the main model.")

    @property
    def same_month(self) -> tuple[int, int, tuple[int, ...]]:
        """Backtest releases from the release's own month: (covered, tried, years missed)."""
        r = self.backtest.rows
        if r.empty:
            return 0, 0, ()
        r = r[(r["months"] == self.params.months) & (r["status"] == "ok")]
        missed = tuple(int(y) for y, c in zip(r["year"], r["covered"], strict=True) if not c)
        return len(r) - len(missed), len(r), missed

    @property
    def _headline_excludes(self) -> bool:
        ch = self.projection.change
        return ch is not None and self.direction != 0 and _change_excludes_zero(ch.ci, self.direction)

    @property
    def label_note(self) -> str:
        """Why this label (the rule is in the notebook's verdict section)."""
        label, p = self.verdict.label, self.params
        if label == "inconsistent":
            return "The published percent contradicts the two counts, so the label is *inconsistent*."
        if label == "descriptive":
            return "The release states no change and the data hold no count for the same months a year earlier."
        k, n, missed = self.same_month
        alts = [r for r in self.sensitivity_rows if r.get("status") == "ok"]
        n_ex = sum(bool(r["excludes_no_change"]) for r in alts)
        claim = "falling" if self.direction < 0 else "rising"
        head = ("excludes" if self._headline_excludes else "includes")
        return (f"The release is read as the claim that injuries are {claim} over {_target_text(p)}. The main "
                f"model's interval of the change {head} no change; {n_ex} of the {len(alts)} alternatives exclude it; "
                + (f"past projections from month {p.months} covered {k} of {n}." if n else
                   f"no past projection from month {p.months} could be checked.")
                + f" Hence *{label}*.")

    @property
    def revision_note(self) -> str:
        """What moved since the first edition (the default claim only)."""
        if self.params.changed():
            return ""
        pr, ch, bt = self.projection, self.projection.change, self.backtest
        return (f"*What changed.* {FIRST_EDITION} One model of all releases gives {fmt_count(pr.estimate)} "
                f"({fmt_count(pr.ci[0])} to {fmt_count(pr.ci[1])}), {fmt_percent(ch.estimate)} "
                f"({fmt_percent(ch.ci[0])} to {fmt_percent(ch.ci[1])}): the interval is about "
                f"{fmt_number((1775 - 1013) / (pr.ci[1] - pr.ci[0]), 2)} times narrower, because the seasonal curve "
                f"is estimated from every within-year split and parameter uncertainty is carried once. The "
                f"rolling-origin backtest covers {bt.covered_years} of {bt.n_years} independent years.")

    # ---------------------------------------------------------------- figure text
    @property
    def shares_alt(self) -> str:
        s, p = self.projection.share_months, self.params
        return (f"Line chart of the share of the year's injuries counted by each month, rising from 0 in January "
                f"to 100% in December, with its {p.level} band and past years' published shares as dots; at month "
                f"{p.months} the model expects {fmt_percent(100 * s.estimate, signed=False)} "
                f"({fmt_percent(100 * s.ci[0], signed=False)} to {fmt_percent(100 * s.ci[1], signed=False)}).")

    @property
    def projection_alt(self) -> str:
        pr, p = self.projection, self.params
        prev = ""
        if pr.change is not None:
            prev = (f", against {fmt_count(pr.change.previous_count)} in {p.year - 1} "
                    f"({fmt_percent(pr.change.estimate)})")
        return (f"Cumulative injuries by month: {p.year - 1}'s releases as a line with dots, {p.year}'s "
                f"{fmt_count(p.ytd_count)} to month {p.months}, and the projections with their {p.level} prediction "
                f"intervals; to month {p.target_months} the projection is {fmt_count(pr.estimate)} "
                f"({fmt_count(pr.ci[0])} to {fmt_count(pr.ci[1])}){prev}.")

    @property
    def shrinkage_alt(self) -> str:
        sh, p = self.projection.shrinkage, self.params
        return (f"Line chart of the share of an early surprise that survives to month {p.target_months}, by the "
                f"month of the release: it rises from about "
                f"{fmt_percent(100 * self.shrinkage_curve['survives'].iloc[0], signed=False)} for a January count "
                f"to {fmt_percent(100 * self.shrinkage_curve['survives'].iloc[-1], signed=False)} a month before "
                f"the target; at month {p.months} it is {fmt_percent(100 * sh.estimate, signed=False)}.")

    @property
    def backtest_alt(self) -> str:
        bt, p = self.backtest, self.params
        return (f"For each past release, the {p.level} intervals of the model and of the two rivals relative to the "
                f"actual count (0%): the model's earliest interval covered the actual count in {bt.covered_years} "
                f"of {bt.n_years} years.")

    # ---------------------------------------------------------------- figure data
    @property
    def path_figure(self) -> pd.DataFrame:
        """Cumulative counts by month: the previous year's releases, this year's count and its projections."""
        p, rows = self.params, []
        for r in sorted(self.fit.counts_of(p.year - 1).values(), key=lambda r: r.last_month):
            rows.append({"month": r.last_month, "count": r.count, "low": 0.0, "high": 0.0,
                         "series": f"{p.year - 1}, " + ("derived" if r.derived else "published")})
        rows.append({"month": p.months, "count": p.ytd_count, "low": 0.0, "high": 0.0,
                     "series": f"{p.year}, the release"})
        for m in self.milestones:
            rows.append({"month": m.target_months, "count": m.estimate, "low": m.estimate - m.ci[0],
                         "high": m.ci[1] - m.estimate, "series": f"{p.year}, projected ({p.level} interval)"})
        for month, count in sorted(self.year_counts.items()):
            if month > p.months:
                rows.append({"month": month, "count": count, "low": 0.0, "high": 0.0,
                             "series": f"{p.year}, actual (later release)"})
        return pd.DataFrame(rows)

    @property
    def backtest_figure(self) -> pd.DataFrame:
        """Each backtest row's interval for the model and the rivals, in % of the actual count (long form)."""
        r, out = self.backtest.rows, []
        names = _METHODS
        for i, row in enumerate(r.itertuples(index=False)):
            row = row._asdict()
            for j, (pre, name) in enumerate(names.items()):
                lo, hi, pt = (float(row[f"{pre}{k}"]) for k in ("lower", "upper", "point"))
                if not (math.isfinite(lo) and math.isfinite(hi)):
                    continue
                act = float(row["actual"])
                out.append({"release": f"{row['year']}, months 1–{row['months']}", "position": i + 0.25 * (j - 1),
                            "method": name, "point": 100 * (pt / act - 1), "low": 100 * (lo / act - 1),
                            "high": 100 * (hi / act - 1)})
        return pd.DataFrame(out, columns=["release", "position", "method", "point", "low", "high"])

    # ---------------------------------------------------------------- tables
    @property
    def milestone_table(self) -> pd.DataFrame:
        rows = []
        for m in self.milestones:
            ch = m.change
            rows.append({
                "Months from January": f"1–{m.target_months}",
                "Projected count": fmt_count(m.estimate),
                f"{self.params.level} prediction interval": f"{fmt_count(m.ci[0])} to {fmt_count(m.ci[1])}",
                f"{self.params.year - 1}, same months": "" if ch is None else fmt_count(ch.previous_count),
                f"{self.params.year - 1} figure": "" if ch is None else _previous_words(ch),
                "Projected change": "" if ch is None else fmt_percent(ch.estimate),
                "Interval of the change": "" if ch is None else f"{fmt_percent(ch.ci[0])} to {fmt_percent(ch.ci[1])}",
                "Actual count": fmt_count(self.year_counts.get(m.target_months))})
        return pd.DataFrame(rows)

    @property
    def actual(self) -> int | None:
        """The year's count at the target month, if the data hold it."""
        return self.year_counts.get(self.params.target_months)

    @property
    def base_table(self) -> pd.DataFrame | None:
        if self.base is None:
            return None
        b = self.base
        return pd.DataFrame({"Year": b["Year"], f"Count, months 1–{self.params.months}": b["Count"].map(fmt_count),
                             "Expected for a typical year": b["Expected"].map(fmt_count),
                             "Expected from": b["Expected from"], "Difference": b["Difference"]})

    @property
    def share_figure(self) -> pd.DataFrame:
        """The curve S(m) and its band in percent, for the figure."""
        s = self.shares
        return pd.DataFrame({"month": s["month"], "share": 100 * s["share"], "lower": 100 * s["lower"],
                             "upper": 100 * s["upper"]})

    @property
    def share_table(self) -> pd.DataFrame:
        s = self.shares[self.shares["month"] > 0]
        return pd.DataFrame({
            "Month": s["month"],
            "Share of the year": [fmt_percent(100 * v, signed=False) for v in s["share"]],
            f"{self.params.level} interval": [f"{fmt_percent(100 * a, signed=False)} to "
                                              f"{fmt_percent(100 * b, signed=False)}"
                                              for a, b in zip(s["lower"], s["upper"], strict=True)],
            "Years with a count to this month": s["years"]})

    @property
    def backtest_table(self) -> pd.DataFrame:
        r = self.backtest.rows

        def interval(pre):
            return [f"{fmt_count(pt)} ({fmt_count(lo)}–{fmt_count(hi)})" if np.isfinite(lo) else
                    (f"{fmt_count(pt)} (no interval yet)" if np.isfinite(pt) else "")
                    for pt, lo, hi in zip(r[f"{pre}point"].astype(float), r[f"{pre}lower"].astype(float),
                                          r[f"{pre}upper"].astype(float), strict=True)]

        def yes(col):
            return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else "yes" if v else "NO"
                    for v in r[col]]

        def score(col):
            return [fmt_number(v, 3) for v in r[col].astype(float)]

        if r.empty:
            return pd.DataFrame()
        return pd.DataFrame({
            "Year": r["year"], "Months": [f"1–{m}" for m in r["months"]],
            "Count so far": [fmt_count(c) + (" (derived)" if d else "") for c, d in zip(r["ytd_count"],
                                                                                       r["ytd_derived"], strict=True)],
            f"Actual to month {self.params.target_months}": [
                fmt_count(c) + (" (derived)" if d else "") for c, d in zip(r["actual"], r["actual_derived"],
                                                                            strict=True)],
            "Fitted on": [f"{n} releases, {y}" if s == "ok" else "too few releases"
                          for n, y, s in zip(r["n_fit_releases"], r["fit_years"], r["status"], strict=True)],
            f"Model projection ({self.params.level} interval)": interval(""), "Covered": yes("covered"),
            "Interval score": score("score"),
            "Carried change (interval)": interval("carried_"), "Carried score": score("carried_score"),
            "Uniform share (interval)": interval("uniform_"), "Uniform score": score("uniform_score")})

    @property
    def backtest_model_table(self) -> pd.DataFrame:
        """The model's rows of the backtest table."""
        t = self.backtest_table
        return t.iloc[:, :8] if len(t) else t

    @property
    def backtest_rival_table(self) -> pd.DataFrame:
        """The rivals' rows of the backtest table (with the actual count)."""
        t = self.backtest_table
        return t.iloc[:, [0, 1, 3, 8, 9, 10, 11]] if len(t) else t

    @property
    def backtest_methods(self) -> tuple[str, ...]:
        """The methods of :attr:`backtest_figure`, in the order of their offsets."""
        return tuple(_METHODS.values())

    @property
    def score_table(self) -> pd.DataFrame:
        s = self.backtest.scores
        names = {"model": "the model of all releases",
                 "carried": "year-to-date change carried to the target",
                 "uniform": "uniform seasonal share (count × target / months)"}
        return pd.DataFrame({
            "Method": [names[m] for m in s["method"]],
            "Mean interval score (shared rows, by year)": [fmt_number(v, 3) for v in s["mean_score_by_year"]],
            "Coverage on shared rows": [fmt_percent(100 * v, 0, signed=False) for v in s["coverage_common"]],
            "Rows with an interval": s["own_rows"],
            "Coverage on those rows": [fmt_percent(100 * v, 0, signed=False) for v in s["own_coverage"]]})

    @property
    def sensitivity_table(self) -> pd.DataFrame:
        pr, ch, fit, p = self.projection, self.projection.change, self.fit, self.params
        head = {"assumption": f"main model: releases from {FIRST_YEAR}, over-dispersion within the year, adjusted "
                              "between-year variation", "releases": fit.n_releases, "status": "ok",
                "projected": pr.estimate, "lower": pr.ci[0], "upper": pr.ci[1],
                "change": None if ch is None else ch.estimate, "change_lower": None if ch is None else ch.ci[0],
                "change_upper": None if ch is None else ch.ci[1], "share": pr.share_months.estimate,
                "phi": fit.phi, "tau": fit.estimate,
                "excludes_no_change": None if self.direction == 0 else self._headline_excludes}
        rows = []
        for r in (head, *self.sensitivity_rows):
            ok = r.get("status") == "ok"
            rows.append({
                "Assumption": r["assumption"], "Releases": r["releases"],
                "Projected count": fmt_count(r["projected"]) if ok else r["status"],
                f"{p.level} prediction interval": f"{fmt_count(r['lower'])} to {fmt_count(r['upper'])}" if ok else "",
                "Change": fmt_percent(r["change"]) if ok and r["change"] is not None else "",
                "Interval of the change": (f"{fmt_percent(r['change_lower'])} to {fmt_percent(r['change_upper'])}"
                                           if ok and r["change"] is not None else ""),
                f"Share by month {p.months}": fmt_percent(100 * r["share"], signed=False) if ok else "",
                "Dispersion within the year": fmt_number(r["phi"]) if ok else "",
                "Between-year variation": _small(r["tau"]) if ok else "",
                "Change excludes zero": ("" if not ok or r["excludes_no_change"] is None
                                         else "yes" if r["excludes_no_change"] else "no")})
        return pd.DataFrame(rows)

    @property
    def source_table(self) -> pd.DataFrame:
        """The release's figures in the data, with their publisher and quote."""
        s = self.sources
        what = {"injured": "people injured (incl. fatal)", "injured_pct_change_yoy": "change on a year earlier (%)"}
        return pd.DataFrame({
            "Period": [common.period_text(v) for v in s["period"]], "Figure": s["measure"].map(what),
            "Value": [fmt_count(v) if m == "injured" else f"{v:+g}%" for v, m in zip(s["value"], s["measure"],
                                                                                       strict=True)],
            "Derived": ["yes" if d else "no" for d in s["derived"]], "Publisher": s["publisher"],
            "Link": s["url"], "Quote": s["quote"]})

    @property
    def release_table(self) -> pd.DataFrame:
        rel = self.fit.releases
        return pd.DataFrame({
            "Year": [r.year for r in rel], "Months": [f"1–{r.last_month}" for r in rel],
            "Count": [fmt_count(r.count) for r in rel],
            "Figure": [f"derived: {r.formula}" if r.derived and r.formula else "derived" if r.derived
                       else "published" for r in rel],
            "Public from": [_when(r.published_at) for r in rel]})

    def tables(self) -> dict[str, pd.DataFrame]:
        """The study's tables, exported as CSV beside the report.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``milestones``, ``shares``, ``backtest``, ``backtest_scores``, ``sensitivity`` and ``releases``, by file stem.
        """
        return {"milestones": self.milestone_table, "shares": self.share_table, "backtest": self.backtest_table,
                "backtest_scores": self.score_table, "sensitivity": self.sensitivity_table,
                "releases": self.release_table}


_METHODS = {"": "the model", "carried_": "carried year-to-date change", "uniform_": "uniform share"}


def _small(x: float) -> str:
    """A variance-type estimate; one below 1e-6 is its boundary 0."""
    return "0" if x < 1e-6 else fmt_number(x)


def _years(years, derived) -> str:
    return ", ".join(f"{y} (derived)" if y in derived else str(y) for y in years)


def _when(t: float | None) -> str:
    if t is None:
        return ""
    year = math.floor(t + 1e-9)
    month = round(12 * (t - year))
    return f"end of {year - 1}" if month == 0 else f"end of {_MONTH_NAMES[month - 1]} {year}"


def _previous_words(ch: ym.YtdChange) -> str:
    src = ch.previous_source
    if src.startswith("count in the releases"):
        return "derived" if ch.previous_derived else "published"
    return "model estimate (not published)" if src.startswith("model estimate") else src


def _share_points(fit: ym.YtdModelFit) -> pd.DataFrame:
    """Each year's published (or derived) share count(m) / annual total, for the figure's dots."""
    by = {(r.year, r.last_month): r for r in fit.releases}
    rows = [{"month": r.last_month, "share": 100 * r.count / by[(r.year, 12)].count, "year": r.year,
             "Figure": "derived" if r.derived or by[(r.year, 12)].derived else "published"}
            for r in fit.releases if r.last_month < 12 and (r.year, 12) in by]
    return pd.DataFrame(rows, columns=["month", "share", "year", "Figure"])


def _shrinkage_curve(fit, p: Params) -> pd.DataFrame:
    rows = []
    for m in range(1, p.target_months):
        k = ym.early_change_shrinkage(fit, p.year, m, p.target_months, alpha=p.alpha, n_draws=CURVE_DRAWS,
                                      seed=p.seed)
        rows.append({"month": m, "survives": k.estimate, "lower": k.ci[0], "upper": k.ci[1],
                     "survives_pct": 100 * k.estimate, "lower_pct": 100 * k.ci[0], "upper_pct": 100 * k.ci[1]})
    return pd.DataFrame(rows)


def _base(fit, p: Params, prev: PreviousYtd | None) -> pd.DataFrame | None:
    """The two counts of the year-to-date change against what the model expects for each."""
    annual = fit.counts_of(p.year - 1).get(12)
    if prev is None or annual is None:
        return None
    s = fit.curve()[p.months]
    exp_prev, exp_cur = annual.count * s, fit.level(p.year) * s
    return pd.DataFrame({
        "Year": [p.year - 1, p.year],
        "Count": [prev.count, p.ytd_count],
        "Expected": [exp_prev, exp_cur],
        "Expected from": [f"{p.year - 1}'s total {fmt_count(annual.count)} × share by month {p.months}",
                          f"the trend level for {p.year} × share by month {p.months}"],
        "Difference": [fmt_percent(100 * (prev.count / exp_prev - 1)), fmt_percent(100 * (p.ytd_count / exp_cur - 1))]})


# ---------------------------------------------------------------------------------------------------------- text
def title(p: Params) -> str:
    """The report's title, a question naming the claim tested.

    Parameters
    ----------
    p : Params
        The year-to-date study's parameters.

    Returns
    -------
    str
        The title.
    """
    if p.ytd_change_pct is None:
        return f"What do {fmt_count(p.ytd_count)} injuries in {common.period_text(p.period)} imply for " \
               f"{_target_text(p)}?"
    direction = "drop" if p.ytd_change_pct < 0 else "rise"
    target = "the whole year" if p.target_months == 12 else common.period_text(p.target_period)
    return (f"Does the {abs(p.ytd_change_pct):g}% {direction} in workplace injuries in "
            f"{common.period_text(p.period)} hold for {target}?")


def claim_text(p: Params, rows: pd.DataFrame) -> str:
    """The claim in words, quoting the release when the data hold it, and what is tested.

    Parameters
    ----------
    p : Params
        The year-to-date study's parameters.
    rows : pandas.DataFrame
        The national rows of ``p.period`` (``common.national_rows``) with the release's publisher and quote; a
        row whose change (or, failing that, count) equals the parameter's is quoted.

    Returns
    -------
    str
        Markdown text starting with "**Claim.**" (or "**Claim (as given in the parameters).**" when no release
        matches).
    """
    said = (f"{fmt_count(p.ytd_count)} people injured at work in {common.period_text(p.period)}"
            + ("" if p.ytd_change_pct is None else
               f", {p.ytd_change_pct:+g}% against the same months a year earlier"))
    pct = rows[(rows["measure"] == "injured_pct_change_yoy") & (rows["value"] == p.ytd_change_pct)]
    cnt = rows[(rows["measure"] == "injured") & (rows["value"] == p.ytd_count) & ~rows["derived"]]
    quoted = pct if len(pct) else cnt
    if len(quoted):
        r = quoted.iloc[0]
        head = f"**Claim.** {r['publisher']} reported {said}: “{r['quote']}”."
    else:
        head = f"**Claim (as given in the parameters).** {said}."
    if p.ytd_change_pct is None:
        return head + f" What does it imply for {_target_text(p)}?"
    fall = "fewer" if p.ytd_change_pct < 0 else "more"
    return (head + f" Tested here: will {_target_text(p)} have {fall} injuries than {_before(p)}? An early change "
            "rests on a small count and a short stretch of the calendar.")


def _verdict(p: Params, r: YtdResult) -> Verdict:
    pr, ch = r.projection, r.projection.change
    target = _target_text(p)
    count_line = (f"{fmt_count(p.ytd_count)} people injured in {common.period_text(p.period)} point to about "
                  f"{fmt_count(pr.estimate)} for {target} (likely range {fmt_count(pr.ci[0])} to "
                  f"{fmt_count(pr.ci[1])})")
    level = 100 * (1 - p.alpha)
    key = Estimate(f"projected count to month {p.target_months}", pr.estimate, *pr.ci, None, ym.MODEL,
                   note=f"{p.level} prediction interval", unit="count", interval="PI", level=level)
    if ch is not None:
        key = Estimate(f"projected change of {target} against {p.year - 1}", ch.estimate, *ch.ci, None, ym.MODEL,
                       note=f"against {fmt_count(ch.previous_count)}", unit="%", interval="PI", level=level)
        count_line += f", {fmt_percent(ch.estimate)} against {fmt_count(ch.previous_count)} in {_before(p)}"
    alts = [row for row in r.sensitivity_rows if row.get("status") == "ok"]
    word = "drop" if r.direction < 0 else "rise"
    early = "" if p.ytd_change_pct is None else f"early {abs(p.ytd_change_pct):g}% "
    if r.previous is not None and not r.previous.consistent:
        label = "inconsistent"
        headline = (f"The published {p.ytd_change_pct:+g}% does not match the counts {fmt_count(p.ytd_count)} and "
                    f"{fmt_count(r.previous.count)}.")
        plain = "The published percent and the two counts disagree, so at least one of them is wrong."
    elif r.direction == 0 or ch is None:
        label = "descriptive"
        headline = f"{fmt_count(p.ytd_count)} injuries by month {p.months} project to about {fmt_count(pr.estimate)}."
        plain = "The release states no change, so only the projection is reported."
    else:
        implies = f"The {early}{word} implies about {fmt_percent(ch.estimate, 0)} for {target}"
        points = [row["change"] for row in alts if row.get("change") is not None]
        lo_pt, hi_pt = min(points, default=ch.estimate), max(points, default=ch.estimate)
        if round(lo_pt) != round(hi_pt) and (hi_pt - lo_pt >= 3 or (lo_pt < 0) != (hi_pt < 0)):
            # the point estimate itself moves with defensible choices (e.g. the trend's window): say how far
            implies += (f" ({fmt_percent(min(lo_pt, ch.estimate), 0)} to {fmt_percent(max(hi_pt, ch.estimate), 0)} "
                        "under other defensible choices)")
        head_ok = r._headline_excludes
        alt_ok = [row["excludes_no_change"] for row in alts]
        side = "below" if r.direction < 0 else "above"
        k, n, missed = r.same_month
        if head_ok and all(alt_ok) and missed:
            label = "fragile"
            headline = f"{implies}, but past projections from month {p.months} missed in {len(missed)} of {n} years."
            plain = (f"The range lies wholly {side} {_before(p)}, but projections like this one missed the outcome "
                     f"in {', '.join(map(str, missed))}, so the margin is thin.")
        elif head_ok and all(alt_ok):
            label = "supported"
            headline = f"{implies}, and the likely range lies wholly {side} {_before(p)}."
            plain = (f"Even the {'top' if r.direction < 0 else 'bottom'} of that range is {side} {_before(p)}, "
                     f"so the {word} is likely to hold for {target}.")
        elif head_ok or any(alt_ok):
            label = "fragile"
            flips = [row["assumption"] for row in alts if row["excludes_no_change"] != head_ok]
            headline = (f"{implies}, but whether the likely range excludes no change depends on the model's "
                        "assumptions.")
            plain = (f"Under the main model the range {'excludes' if head_ok else 'includes'} no change; with "
                     f"{flips[0]} it {'includes' if head_ok else 'excludes'} it.")
        else:
            label = "not supported"
            headline = f"{implies}, and the likely range includes no change."
            plain = (f"That range includes no change, so the release does not show that injuries are "
                     f"{'falling' if r.direction < 0 else 'rising'} over {target}.")
    summary = f"{count_line}. {plain}"
    if r.base is not None and label in ("supported", "fragile", "not supported"):
        dev_prev = r.base["Count"].iloc[0] / r.base["Expected"].iloc[0] - 1
        dev_cur = r.base["Count"].iloc[1] / r.base["Expected"].iloc[1] - 1
        if dev_prev * r.direction < 0 and abs(dev_prev) >= BASE_EFFECT:
            much = "Much" if abs(dev_prev) >= abs(dev_cur) else "Part"
            summary += (f" {much} of the early {word} reflects an unusually {'high' if r.direction < 0 else 'low'} "
                        f"count in {common.period_text(data.shift_period(p.period, -1))}: "
                        f"{fmt_count(r.previous.count)} against about {fmt_count(r.base['Expected'].iloc[0])} "
                        "expected from that year's total.")
    if r.actual is not None and sentences(summary) < 3:
        inside = "inside" if pr.ci[0] <= r.actual <= pr.ci[1] else "outside"
        summary += f" The actual count was {fmt_count(r.actual)}, {inside} that range."
    return Verdict(label=label, headline=headline, summary=summary, technical=_technical(p, r, label),
                   key=key, would_change=_would_change(p, r))


def _technical(p: Params, r: YtdResult, label: str) -> str:
    out = f"{r.fit.verdict[0].upper()}{r.fit.verdict[1:]} {r.projection.verdict} {r.projection.shrinkage.verdict} {r.backtest.verdict}"
    if r.actual is not None:
        pr = r.projection
        inside = "inside" if pr.ci[0] <= r.actual <= pr.ci[1] else "OUTSIDE"
        out += f" The actual count to month {p.target_months} was {fmt_count(r.actual)}, {inside} the interval."
    out += f" {r._same_month_text}"
    if r.sensitivity_note:
        out += f" Sensitivity: {r.sensitivity_note}"
    return out + f" Label: {label}."


def _would_change(p: Params, r: YtdResult) -> str:
    out = ""
    ch = r.projection.change
    said = []
    for d in r.decisive:
        lo, hi = d["below_if_at_most"], d["above_if_at_least"]
        if lo is None and hi is None:
            continue
        when = f"by the end of {_MONTH_NAMES[d['months'] - 1]}"
        if not said:
            said.append(f"{fmt_count(lo)} or fewer injuries {when}" if lo is not None else "")
            said[-1] += f" ({fmt_count(hi)} or more: above it)" if hi is not None else ""
        else:
            said.append(f"{fmt_count(lo)} or fewer {when}" if lo is not None else when)
            said[-1] += f" ({fmt_count(hi)} or more)" if hi is not None else ""
    if said and ch is not None:
        out = (f"The whole {p.level} interval for {_target_text(p)} would fall below {_before(p)}'s "
               f"{fmt_count(ch.previous_count)} with " + ", or ".join(said) + ". ")
    if r.fit.at_boundary:
        out += ("If years differed more than the data show (between-year variation above its estimate of 0), the "
                "early count would carry more weight and the projection would move toward it.")
    return out.strip() or "A later release for the same year."


def _caveats(p: Params, r: YtdResult) -> tuple[str, ...]:
    out = []
    s = r.projection.share_months
    if r.previous is not None and r.previous.derived:
        out.append(f"The {p.year - 1} count for the same months ({fmt_count(r.previous.count)}) is **derived**, not "
                   f"published: {r.previous.formula}. It sets the year-to-date change, and it is one of the releases "
                   "the seasonal curve is fitted to.")
    if len(s.years_at_month) < 2:
        which = _years(s.years_at_month, s.derived_years_at_month)
        out.append(f"Few years published a count to month {p.months} ({'only ' + which if which else 'none'}): the "
                   "share by that month comes from the smooth seasonal curve fitted to every within-year split, not "
                   "from that month alone.")
    if any(y > p.year for y in r.fit.years):
        out.append(f"The fit uses later years than {p.year} (hindsight): the projection is not what could have been "
                   "said at the time. The rolling-origin backtest is.")
    out.append("Cumulative releases are treated as final; late registrations and revisions would move them. Derived "
               "figures inherit the rounding of the published percentages.")
    out.append(f"Releases before {FIRST_YEAR} (annual totals only) are left out of the main fit; the sensitivity "
               "table shows the projection with them.")
    out.append("Counts are of people injured at work (including fatal) as registered by the labour inspection "
               "(Ministry); the statistics bureau's counts follow another definition and are never mixed in.")
    return tuple(out)


def _estimates(r: YtdResult) -> tuple[Estimate, ...]:
    pr, fit, bt, p = r.projection, r.fit, r.backtest, r.params
    out = [Estimate(f"projected count to month {p.target_months}", pr.estimate, *pr.ci, None, ym.MODEL,
                    note=f"{p.level} prediction interval", unit="count")]
    if pr.change is not None:
        out.append(Estimate("projected change against the previous year", pr.change.estimate, *pr.change.ci, None,
                            ym.MODEL, note=f"{p.level} prediction interval; against "
                                           f"{fmt_count(pr.change.previous_count)}", unit="%"))
    s, k = pr.share_months, pr.shrinkage
    out += [
        Estimate(f"seasonal share by month {p.months}", 100 * s.estimate, 100 * s.ci[0], 100 * s.ci[1], None,
                 s.method, unit="%"),
        Estimate(f"share of an early change surviving to month {p.target_months}", k.estimate, *k.ci, None,
                 k.method),
        Estimate("trend of the annual level (% a year)", fit.trend_pct, *fit.trend_pct_ci, None, ym.MODEL, unit="%"),
        Estimate("within-year dispersion φ", fit.phi, p_value=fit.phi_pvalue, model="Pearson χ² of the splits",
                 note="test of φ = 1"),
        Estimate("between-year coefficient of variation τ", fit.estimate, *fit.ci, None,
                 "Cox–Reid adjusted likelihood"),
    ]
    if bt.n_years:
        out.append(Estimate("backtest coverage over years", bt.estimate, *bt.ci, None,
                            "rolling origin, Clopper–Pearson", note=f"{bt.covered_years} of {bt.n_years} years"))
    for m, v in zip(bt.scores["method"], bt.scores["mean_score_by_year"], strict=True):
        out.append(Estimate(f"mean interval score: {m}", v, model="rolling-origin backtest",
                            note=f"{bt.n_common} shared rows, {bt.n_common_years} years"))
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------- run
def run(params: Params, data_dir=DATA_DIR) -> YtdResult:
    """Project the release's target period from one model of all cumulative releases, and assess it.

    Parameters
    ----------
    params : Params
        The release (year, months, count, percent change, previous count) and the projection's target, level
        and seed.
    data_dir : path, optional
        The data folder (tests pass a copy).

    Returns
    -------
    YtdResult
        The fit, the projection and its milestones, the seasonal share, the shrinkage, the rolling-origin
        backtest and the sensitivity, with the verdict.
    """
    p = params
    data_all = common.ministry_releases(data_dir)
    data_rel = tuple(r for r in data_all if r.year >= FIRST_YEAR)
    by = {(r.year, r.last_month): r for r in data_all}
    prev = _previous_ytd(p, by)
    fit = ym.fit_ytd_model(_fit_releases(p, data_rel, prev), alpha=p.alpha)
    prev_count = None if prev is None else ym.PreviousCount(float(prev.count), prev.derived, prev.formula)

    def project(t: int, n: int = DRAWS) -> ym.YtdProjection:
        return ym.project_ytd(fit, p.year, p.months, p.ytd_count, t, previous_ytd=prev_count,
                              ytd_change_pct=p.ytd_change_pct, alpha=p.alpha, n_draws=n, seed=p.seed)

    headline = project(p.target_months)
    milestones = tuple(headline if t == p.target_months else project(t)
                       for t in sorted({*MILESTONES, p.target_months}) if p.months < t <= 12)
    if prev is not None:
        direction = int(np.sign(p.ytd_change_pct if p.ytd_change_pct is not None
                                else p.ytd_count - prev.count))
    else:
        direction = 0
    own = by.get((p.year, p.months))
    prev_target = by.get((p.year - 1, p.target_months))
    point_at = {m.target_months: m.estimate for m in milestones}
    shares = fit.shares(n_draws=DRAWS, seed=p.seed)
    shares["years"] = [_years(sorted(r.year for r in fit.releases if r.last_month == m),
                              {r.year for r in fit.releases if r.last_month == m and r.derived})
                       for m in shares["month"]]
    rows = common.national_rows([p.period], measures=["injured", "injured_pct_change_yoy"], data_dir=data_dir)
    result = YtdResult(
        params=p, title=title(p),
        question=(f"What do {fmt_count(p.ytd_count)} injuries in {common.period_text(p.period)} imply for "
                  f"{_target_text(p)}, and does the early change hold against {_before(p)}?"),
        claim=claim_text(p, rows),
        verdict=Verdict("descriptive", "placeholder", "", ""),  # replaced below, once the result exists
        fit=fit, projection=headline, milestones=milestones, previous=prev,
        data_count=None if own is None or own.derived else own.count,
        year_counts={r.last_month: r.count for r in data_all if r.year == p.year}, direction=direction,
        backtest=backtest(data_rel, p.target_months, p.alpha, p.seed),
        sensitivity_rows=tuple(_sensitivity(p, data_all, data_rel, prev, direction)),
        decisive=tuple(_decisive(fit, p, None if prev_target is None else float(prev_target.count), point_at)),
        shares=shares, share_points=_share_points(fit), shrinkage_curve=_shrinkage_curve(fit, p),
        sources=rows.drop(columns=["source_id"]), base=_base(fit, p, prev))
    return dataclasses.replace(result, verdict=_verdict(p, result), caveats=_caveats(p, result),
                               estimates=_estimates(result))
