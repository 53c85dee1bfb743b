"""Every published claim, tested the same way (notebook ``08_claims_audit``).

Each percent change the data hold (Ministry and BNS; annual and year-to-date; injuries, deaths and BNS victims) runs
through the quarterly-change study's own assessment (:func:`analysis.studies.quarterly.assess_claim`: back-calculated
baseline or consistency check, exact conditional test, quasi-Poisson test under the dispersion that study assumes,
verdict label). Each "over N years" claim runs through the five-year-trend study under both readings of "N years"
(N calendar years with both ends, or N year-to-year steps). The track record of early-year claims sets the change
claimed at months 3, 4, 6 or 7 beside the change the year ended with, and beside what the year-to-date model
projected at the time from the releases then public (its rolling-origin backtest).

A release recorded with ``python -m analysis.releases add`` appears here at the next build, with no code change.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd

from analysis import data
from analysis.core import validate
from analysis.core.fmt import decimals_of, fmt_counted
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.paths import DATA_DIR
from analysis.core.study import LABELS, Estimate, StudyResult, Verdict
from analysis.studies import common, quarterly, trend, ytd

NAME = "audit"
NOTEBOOK = "08_claims_audit"
SYSTEMS = ("ministry", "bns")
MEASURES = ("injured", "fatal", "victims")
WINDOW_MEASURES = {"injured_pct_change_5y": 5, "injured_pct_change_6y": 6}
EARLY_MONTHS = (3, 4, 6, 7)  # a release this early in the year is an "early-year claim"
AUDIT_PERMUTATIONS = 999  # the trend study's joinpoint test in the audit (its own report uses 4,499)


def _systems(name, value):
    bad = [v for v in value if v not in SYSTEMS]
    if bad or not value:
        raise ValueError(f"{name} must be a non-empty list of {list(SYSTEMS)}, got {value!r}")


def _measures(name, value):
    bad = [v for v in value if v not in MEASURES]
    if bad or not value:
        raise ValueError(f"{name} must be a non-empty list of {list(MEASURES)}, got {value!r}")


def _years(name, value):
    for v in value:
        if not 1990 <= v <= 2100:
            raise ValueError(f"{name} must list years between 1990 and 2100 (empty for every year), got {value!r}")


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the claims audit (the notebook's ``parameters`` cell mirrors this)."""

    systems: list[str] = param(["ministry", "bns"], "publishers whose claims are audited (ministry, bns)",
                               check=_systems)
    measures: list[str] = param(["injured", "fatal", "victims"], "what the claims count (injured, fatal, victims)",
                                check=_measures)
    years: list[int] = param([], "years of the claims to audit (empty for every year)", check=_years)
    alpha: float = param(0.05, "significance level of every test", check=validate.alpha)
    seed: int = param(0, "seed of the Monte Carlo steps (joinpoint test, projection backtest)", check=validate.seed)

    def wants(self, year: int, system: str, measure: str) -> bool:
        """Whether a claim is within the audit's scope.

        Parameters
        ----------
        year : int
            The claim's year.
        system : str
            Its publisher (``"ministry"`` or ``"bns"``).
        measure : str
            What it counts (``"injured"``, ``"fatal"`` or ``"victims"``).

        Returns
        -------
        bool
            True when ``system`` is in ``systems``, ``measure`` in ``measures``, and ``year`` in ``years`` (any year
            when ``years`` is empty).
        """
        return system in self.systems and measure in self.measures and (not self.years or year in self.years)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AuditResult(StudyResult):
    """Every claim's row, the summary counts and the early-year track record."""

    study = NAME
    notebook = NOTEBOOK

    claims: pd.DataFrame
    windows: pd.DataFrame
    track: pd.DataFrame
    counts: dict

    @property
    def claims_figure_data(self) -> pd.DataFrame:
        """One row per tested year-on-year claim: its label, the claimed change and the exact interval."""
        d = self.claims[self.claims["label"].isin(LABELS)].copy()
        d["claim"] = d["what"] + ", " + d["period"]
        return d[["claim", "claimed change (%)", "change from the counts (%)", "lower (%)", "upper (%)", "label"]]

    @property
    def claims_alt(self) -> str:
        c = self.counts
        return (f"Dot-and-interval chart of {c['tested']} published year-on-year changes: each claimed percent as a "
                f"dot and the exact 95% interval of the change from the counts as a line, coloured by verdict; "
                f"{c['significant_overdispersed']} of them stay significant once over-dispersion is allowed for.")

    @property
    def track_alt(self) -> str:
        t = self.track.dropna(subset=["change by year end (%)"])
        return (f"Scatter of {len(t)} early-year releases: the change claimed early in the year against the change the "
                "year ended with; points near the diagonal kept their early change.")

    @property
    def claims_display(self) -> pd.DataFrame:
        """The claims table as the report shows it (the full table, with quotes and links, is a download)."""
        cols = ["period", "what", "claimed change (%)", "count", "earlier count", "earlier count is",
                "change from the counts (%)", "lower (%)", "upper (%)", "exact p", "dispersion φ", "p with φ",
                "label"]
        return self.claims[cols]

    @property
    def sources_display(self) -> pd.DataFrame:
        return self.claims[["period", "what", "publisher", "url", "quote"]]

    def results(self) -> dict[str, Any]:
        """The audit's detailed results for the results JSON.

        Returns
        -------
        dict
            ``claims`` (one row per year-on-year claim), ``windows`` (the multi-year claims), ``track_record`` (early-year
            releases against the year's end) and ``counts`` (the summary counts).
        """
        return {"claims": self.claims, "windows": self.windows, "track_record": self.track, "counts": self.counts}

    def tables(self) -> dict[str, pd.DataFrame]:
        """The audit's tables, exported as CSV beside the report.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``claims``, ``multi_year_claims`` and ``early_year_track_record``, by file stem.
        """
        return {"claims": self.claims, "multi_year_claims": self.windows, "early_year_track_record": self.track}


# ------------------------------------------------------------------------------------------------ year on year
_WHAT = {("ministry", "injured"): "Ministry injured", ("ministry", "fatal"): "Ministry deaths",
         ("bns", "victims"): "BNS victims", ("bns", "fatal"): "BNS deaths"}


def _claim_row(r, p: Params, sources: pd.DataFrame, data_dir) -> dict:
    src = sources.loc[r.pct_source_id]
    base = {"period": r.period, "system": r.system, "measure": r.measure,
            "what": _WHAT.get((r.system, r.measure), f"{r.system} {r.measure}"),
            "claimed change (%)": r.pct_published, "count": r.current, "earlier count": r.previous,
            "earlier count is": None if pd.isna(r.previous) else ("derived" if r.previous_derived else "published"),
            "publisher": src["publisher"], "url": src["url"], "quote": src["quote"], "source id": r.pct_source_id}
    empty = {"change from the counts (%)": None, "lower (%)": None, "upper (%)": None, "consistent": None,
             "exact p": None, "dispersion φ": None, "p with φ": None, "label": "not testable", "headline": ""}
    if pd.isna(r.current):
        return {**base, **empty, "headline": "No count was published with the percent, so nothing can be tested."}
    published_prev = None if (pd.isna(r.previous) or r.previous_derived) else int(r.previous)
    try:
        qp = quarterly.Params(current_count=int(r.current), reported_change_pct=float(r.pct_published),
                              period=r.period, measure=r.measure, system=r.system, previous_count=published_prev,
                              pct_decimals=decimals_of(r.pct_published), alpha=p.alpha, deaths=None)
        a, v, *_ = quarterly.assess_claim(qp, data_dir, detail=False)
    except ValueError as exc:  # a percent no integer count reproduces
        return {**base, **empty, "consistent": False, "label": "inconsistent", "headline": str(exc)}
    return {**base, "change from the counts (%)": a.change_pct, "lower (%)": a.change_pct_ci[0],
            "upper (%)": a.change_pct_ci[1], "consistent": a.consistent, "exact p": a.p_value_exact,
            "dispersion φ": a.dispersion, "p with φ": a.p_value_overdispersed, "label": v.label,
            "headline": v.headline, "earlier count": a.previous_count}


def year_on_year(p: Params, data_dir=DATA_DIR) -> pd.DataFrame:
    """Every published year-on-year percent change the parameters select, assessed by the quarterly study."""
    changes = data.published_changes(data_dir)
    sources = data.load_sources(data_dir).set_index("source_id")
    rows = [_claim_row(r, p, sources, data_dir) for r in changes.itertuples()
            if p.wants(int(str(r.period)[:4]), r.system, r.measure)]
    cols = ["period", "what", "claimed change (%)", "count", "earlier count", "earlier count is",
            "change from the counts (%)", "lower (%)", "upper (%)", "consistent", "exact p", "dispersion φ",
            "p with φ", "label", "headline", "publisher", "url", "quote", "source id", "system", "measure"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["period", "what"]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------- N-year claims
def multi_year(p: Params, data_dir=DATA_DIR) -> pd.DataFrame:
    """Every "over N years" claim, through the trend study under both readings of N years."""
    if "ministry" not in p.systems or "injured" not in p.measures:
        return pd.DataFrame()
    annual = data.load_national_annual(data_dir)
    sources = data.load_sources(data_dir).set_index("source_id")
    series = data.national_series("ministry", "injured", data_dir=data_dir)
    claims = annual[(annual["system"] == "ministry") & annual["measure"].isin(list(WINDOW_MEASURES))
                    & annual["preferred"]]
    rows = []
    for r in claims.itertuples():
        if p.years and int(r.year) not in p.years:
            continue
        n = WINDOW_MEASURES[r.measure]
        src = sources.loc[r.source_id]
        for reading, years in ((f"{n} calendar years, both ends", n), (f"{n} year-to-year steps", n + 1)):
            start = int(r.year) - years + 1
            row = {"claim year": int(r.year), "claimed change (%)": r.value, "reading": reading,
                   "window": f"{start}–{int(r.year)}", "publisher": src["publisher"], "url": src["url"],
                   "quote": src["quote"], "source id": r.source_id}
            if start not in series.index or int(r.year) not in series.index:
                rows.append({**row, "change from the counts (%)": None, "label": "not testable",
                             "headline": f"No Ministry count for {start} or {int(r.year)}."})
                continue
            tp = trend.Params(end_year=int(r.year), years=years, reported_change_pct=float(r.value), alpha=p.alpha,
                              trend_start=min(trend.TREND_START, start), seed=p.seed,
                              n_permutations=AUDIT_PERMUTATIONS, n_boot=0, n_power=0)
            try:
                res = trend.run(tp, data_dir)
            except ValueError as exc:
                rows.append({**row, "change from the counts (%)": None, "label": "not testable", "headline": str(exc)})
                continue
            rows.append({**row, "change from the counts (%)": 100 * (series[int(r.year)] / series[start] - 1),
                         "label": res.verdict.label, "headline": res.verdict.headline})
    cols = ["claim year", "claimed change (%)", "reading", "window", "change from the counts (%)", "label", "headline",
            "publisher", "url", "quote", "source id"]
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------------ early-year track record
def track_record(p: Params, data_dir=DATA_DIR) -> pd.DataFrame:
    """Early-year releases: the change claimed, the published change by month 9 (when that release exists) and by
    the year end, and what the model projected at the time."""
    if "ministry" not in p.systems or "injured" not in p.measures:
        return pd.DataFrame()
    ytd_rows = data.load_national_ytd(data_dir)
    ytd_rows = ytd_rows[(ytd_rows["system"] == "ministry") & ytd_rows["preferred"] & (ytd_rows["first_month"] == 1)
                        & (ytd_rows["measure"] == "injured_pct_change_yoy")]
    at_month = {(int(r.year), int(r.last_month)): float(r.value) for r in ytd_rows.itertuples()}  # published changes
    counts = data.load_national_ytd(data_dir)
    counts = counts[(counts["system"] == "ministry") & counts["preferred"] & (counts["first_month"] == 1)
                    & (counts["measure"] == "injured")]
    count_at = {(int(r.year), int(r.last_month)): float(r.value) for r in counts.itertuples()}

    def change_by(year: int, month: int) -> float | None:
        """The published change to ``month``, else the one its two published counts give."""
        if (year, month) in at_month:
            return at_month[(year, month)]
        now, before = count_at.get((year, month)), count_at.get((year - 1, month))
        return None if now is None or not before else 100 * (now / before - 1)
    annual = data.national_series("ministry", "injured", data_dir=data_dir)
    annual_pct = data.load_national_annual(data_dir)
    annual_pct = annual_pct[(annual_pct["system"] == "ministry") & annual_pct["preferred"]
                            & (annual_pct["measure"] == "injured_pct_change_yoy")].set_index("year")["value"]
    bt = ytd.backtest(common.ministry_releases(data_dir, first_year=ytd.FIRST_YEAR), 12, p.alpha, p.seed).rows
    bt = bt.set_index(["year", "months"])
    rows = []
    for r in ytd_rows.itertuples():
        year, month = int(r.year), int(r.last_month)
        if month not in EARLY_MONTHS or (p.years and year not in p.years):
            continue
        prev, final = annual.get(year - 1), annual.get(year)
        end = (annual_pct.get(year) if year in annual_pct.index else
               (100 * (final / prev - 1) if prev is not None and final is not None else None))
        row = {"year": year, "months": f"1–{month}", "claimed change (%)": r.value,
               "change by month 9 (%)": change_by(year, 9) if month < 9 else None,
               "change by year end (%)": end, "projected year-end change (%)": None, "lower (%)": None,
               "upper (%)": None, "projection covered the year": None}
        if (year, month) in bt.index and prev is not None:
            b = bt.loc[(year, month)]
            if isinstance(b, pd.DataFrame):
                b = b.iloc[0]
            if b["status"] == "ok":
                row.update({"projected year-end change (%)": 100 * (b["point"] / prev - 1),
                            "lower (%)": 100 * (b["lower"] / prev - 1), "upper (%)": 100 * (b["upper"] / prev - 1),
                            "projection covered the year": bool(b["covered"]) if b["covered"] is not None else None})
        rows.append(row)
    cols = ["year", "months", "claimed change (%)", "change by month 9 (%)", "change by year end (%)",
            "projected year-end change (%)",
            "lower (%)", "upper (%)", "projection covered the year"]
    return pd.DataFrame(rows, columns=cols).sort_values(["year", "months"]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------------------ verdict
def _counts(claims: pd.DataFrame, windows: pd.DataFrame, track: pd.DataFrame, alpha: float) -> dict:
    tested = claims[claims["label"].isin(LABELS)]
    labels = {k: int((tested["label"] == k).sum()) for k in LABELS if (tested["label"] == k).any()}
    same_sign = track.dropna(subset=["change by year end (%)"])
    kept = same_sign[(same_sign["claimed change (%)"] * same_sign["change by year end (%)"]) > 0]
    return {"claims": int(len(claims)), "tested": int(len(tested)),
            "not_testable": int((claims["label"] == "not testable").sum()),
            "consistent": int((tested["consistent"] == True).sum()),  # noqa: E712 - a column of True/False/None
            "inconsistent": int((tested["label"] == "inconsistent").sum()),
            "significant_poisson": int((tested["exact p"] < alpha).sum()),
            "significant_overdispersed": int((tested["p with φ"] < alpha).sum()),
            "labels": labels, "multi_year_claims": int(windows["claim year"].nunique()) if len(windows) else 0,
            "early_releases": int(len(track)), "early_with_year_end": int(len(same_sign)),
            "early_direction_kept": int(len(kept))}


def _verdict(c: dict) -> Verdict:
    technical = (
        f"{c['claims']} published year-on-year changes: {c['tested']} testable ({c['not_testable']} lack a count). "
        f"{c['consistent']} match their own counts and {c['inconsistent']} do not. Under Poisson variation "
        f"{c['significant_poisson']} are significant (exact conditional test); allowing for the over-dispersion each "
        f"series shows (quasi-Poisson with a t reference; clustering for deaths) {c['significant_overdispersed']} stay "
        f"significant. Labels: " + ", ".join(f"{k} {v}" for k, v in c["labels"].items()) + ". "
        f"{fmt_counted(c['multi_year_claims'], 'multi-year claim')} tested under two readings of the window. Of "
        f"{c['early_with_year_end']} early-year releases with a known year end, {c['early_direction_kept']} kept the "
        "direction of their early change.")
    return Verdict(
        label="descriptive",
        headline=(f"Of {c['tested']} published changes that can be tested, {c['significant_overdispersed']} "
                  f"{'survives' if c['significant_overdispersed'] == 1 else 'survive'} the year-to-year variation of "
                  f"the data and {c['inconsistent']} "
                  f"{'contradicts its' if c['inconsistent'] == 1 else 'contradict their'} own counts."),
        summary=(f"Most published changes are within the variation such counts show from year to year, so a single "
                 f"release rarely proves a trend. {c['inconsistent']} published "
                 f"{'percentage' if c['inconsistent'] == 1 else 'percentages'} cannot be reproduced from "
                 "the counts published with them."),
        technical=technical,
        would_change="A new release changes the counts; each claim's row says what its own verdict rests on.")


def run(params: Params, data_dir=DATA_DIR) -> AuditResult:
    """Run the audit.

    Parameters
    ----------
    params : Params
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    AuditResult
    """
    claims = year_on_year(params, data_dir)
    windows = multi_year(params, data_dir)
    track = track_record(params, data_dir)
    c = _counts(claims, windows, track, params.alpha)
    share = (c["significant_overdispersed"] / c["tested"]) if c["tested"] else math.nan
    return AuditResult(
        params=params, title="Every published claim, tested the same way",
        question=("Which of the Ministry's and the statistics bureau's published percent changes match their own "
                  "counts, and which survive the year-to-year variation of the data?"),
        claim="", verdict=_verdict(c),
        estimates=(Estimate("share of testable claims significant with over-dispersion", 100 * share,
                            model="quasi-Poisson score, t reference (clustering φ for deaths)", unit="%",
                            note=f"{c['significant_overdispersed']} of {c['tested']}"),),
        caveats=("A derived earlier count (not published) makes a claim consistent by construction: its consistency "
                 "check is then only whether an integer count reproduces the percent.",
                 "The audit uses the dispersion each series shows (Ministry or BNS annual series from 2015; clustering "
                 "of deaths in accidents); with ten annual points that dispersion is itself uncertain.",
                 "Multi-year claims do not say which years they span; both readings are shown.",
                 "The projection's track record starts where the model has at least three years to learn from."),
        claims=claims, windows=windows, track=track, counts=c)


def summary_text(r: AuditResult) -> str:
    """The counts in words, for the report."""
    c = r.counts
    return (f"**{c['tested']}** testable claims of {c['claims']}: **{c['consistent']}** consistent with their counts, "
            f"**{c['significant_poisson']}** significant under Poisson, **{c['significant_overdispersed']}** significant "
            f"once over-dispersion is allowed for (α = {r.params.alpha:g}). Labels: "
            + ", ".join(f"{k}: {v}" for k, v in c["labels"].items()) + ".")

