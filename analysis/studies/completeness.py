"""Fewer injuries, or fewer recorded? (notebook ``09_reporting_completeness``)

A fall in registered injuries can come from fewer injuries or from less registration. Deaths are the best-registered
outcome, so the number of non-fatal injuries registered per death (and its mirror, the fatal share) indicates how
completely a system records the rest. This study

1. computes the non-fatal to fatal ratio by year for both Kazakh systems (Ministry: injured minus deaths over deaths;
   BNS: victims minus deaths over deaths), with exact intervals, and its trend (binomial / quasi-binomial logistic
   GLM of the fatal share on the year);
2. sets it beside other countries' systems from ``data/international.csv``, each with its definition, computing a
   ratio only from two counts of one register (or stating why it is a bound) and leaving out what is not sourced;
3. asks how much of the Ministry's claims (-16.8% in Q1 2025, -6.3% over five years) a drift in registration
   completeness within what the ratio's trend allows could explain.

``run(Params(...))`` returns a :class:`CompletenessResult`; the notebook narrates it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from analysis import data
from analysis.core import validate
from analysis.core.fmt import fmt_count, fmt_interval, fmt_number, fmt_percent, fmt_pvalue
from analysis.core.params import ParameterError, param
from analysis.core.params import Params as _Params
from analysis.core.paths import DATA_DIR
from analysis.core.study import Estimate, StudyResult, Verdict
from analysis.stats import completeness as cs

NAME = "completeness"
NOTEBOOK = "09_reporting_completeness"
CLAIMS_END = 2024  # the seed claims' last year (Q1 2025 against 2024; 2020 to 2024)
FIRST_YEAR = 2015  # the Ministry's annual series has no gaps from 2015 on (as studies 02 and 03); earlier years shown
COMPARATORS = {  # key in data/international.csv -> name in the report
    "eu": "EU-27 (Eurostat ESAW)", "gb": "Great Britain (HSE)", "us": "United States (BLS)", "belarus": "Belarus",
    "kyrgyzstan": "Kyrgyzstan", "uzbekistan": "Uzbekistan", "russia": "Russia", "germany": "Germany",
    "france": "France", "world": "World (ILO estimates)", "cis": "CIS (ILO)",
}
SHORT = {"eu": "EU-27", "gb": "GB", "us": "US", "world": "World", "cis": "CIS"}  # short names for figure labels
FIGURE_REGISTER = {"LFS (GB) / RIDDOR deaths": "LFS survey", "SOII / CFOI deaths": "SOII/CFOI"}
DEFAULT_COMPARATORS = ["eu", "gb", "us", "belarus", "kyrgyzstan", "uzbekistan", "russia"]
SYSTEM_NAME = {"ministry": "Ministry (labour inspection)", "bns": "BNS (statistics bureau)"}
TOTAL = {"ministry": "injured", "bns": "victims"}  # the registered count that includes the deaths
FATAL_REGISTER = {"SOII": "CFOI", "LFS (GB)": "RIDDOR"}  # registers whose deaths come from another register
NONFATAL_LABEL = {
    "nonfatal_injuries": "non-fatal injuries", "nonfatal_injuries_days_away": "cases with days away from work",
    "nonfatal_injuries_and_illnesses": "injuries and illnesses", "nonfatal_injuries_selfreported": "self-reported",
}
COMPARABILITY = {
    "same": "same register and coverage for both counts",
    "SOII": "lower bound: the non-fatal count covers private industry only, the deaths every worker",
    "RIDDOR": ("lower bound: the non-fatal count covers employees only, the deaths also the self-employed; HSE "
               "estimates that about half of reportable non-fatal injuries are reported"),
    "LFS (GB)": "not comparable with a register: a household survey of any injury, with or without time off",
    "ILO estimate": "not comparable with a register: model estimates, not registrations",
}
NOT_FOUND = (
    "ILOSTAT rates (SDG 8.8.1) for Kazakhstan and Kyrgyzstan: not in the stored ILOSTAT tables.",
    "Rosstat's national non-fatal totals for 2022–2024: not found, so no Russian ratio is computed (only the ratio "
    "a source states).",
    "EU figures for 2023: not found.",
    "Belarus 2024 deaths (70): only in a headline, not in the stored text, so not tabulated and no 2024 ratio.",
    "The BNS definition of victims (one working day or more, deaths included) and the Ministry's are described in the "
    "project's data overview; their ledger rows are definitions, not figures, and are not in data/sources.csv.",
)


def check_comparators(name: str, value) -> list[str]:
    """A list of known comparator keys (``eu``, ``gb``, ...) without repeats; ``ValueError`` naming ``name``."""
    unknown = [v for v in value if v not in COMPARATORS]
    if unknown:
        raise ValueError(f"{name} must be a list of {', '.join(COMPARATORS)}; unknown: {unknown[0]!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} must not repeat a comparator, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the completeness study (the notebook's ``parameters`` cell mirrors this)."""

    end_year: int = param(2024, "last year of the Kazakh series and of the ratio's trend", check=validate.positive_int)
    comparators: list[str] = param(DEFAULT_COMPARATORS, "international systems to show: "
                                   + ", ".join(COMPARATORS), check=check_comparators)
    alpha: float = param(0.05, "1 - confidence level of every interval; level of every test", check=validate.alpha)

    def check(self) -> None:
        """``end_year`` must be a year from 2008 (the first Ministry year with deaths) to 2100.

        Raises
        ------
        ValueError
            Naming ``end_year`` when it is outside that range.
        """
        if not 2008 <= self.end_year <= 2100:
            raise ValueError(f"end_year must be a year from 2008 (the first Ministry year with deaths) to 2100, "
                             f"got {self.end_year!r}")

    @property
    def level(self) -> str:
        return f"{round(100 * (1 - self.alpha), 6):g}%"


@dataclasses.dataclass(frozen=True)
class Claim:
    """A published change of the Ministry's count that a completeness drift might explain."""

    name: str
    words: str
    change_pct: float
    span_years: float
    base_label: str
    base_share: float
    base_note: str
    source_id: str
    publisher: str
    quote: str
    window: tuple[int, int] | None  # the claim's own years, for a trend over them (None for a one-year claim)
    observed: tuple[str, float] | None  # the ratio's change observed between the claim's periods, if published


@dataclasses.dataclass(frozen=True, kw_only=True)
class CompletenessResult(StudyResult):
    """Everything notebook 09 shows."""

    study = NAME
    notebook = NOTEBOOK

    series: pd.DataFrame  # per system and year: counts, ratio, fatal share, intervals
    trends: dict[str, cs.ShareTrend | None]
    trend_labels: dict[str, str]
    trend_band: pd.DataFrame | None
    international: pd.DataFrame
    rates: pd.DataFrame
    stated: pd.DataFrame
    statements: pd.DataFrame
    claims: tuple[Claim, ...]
    sensitivity: tuple[cs.DriftSensitivity, ...]
    explained_at_limits: dict[str, dict[str, float]]  # claim -> trend -> % of the claim explained at its limit
    systems_note: str
    q1_note: str
    not_sourced: tuple[str, ...]

    # ------------------------------------------------------------------------------------------ JSON
    def results(self) -> dict[str, Any]:
        """The study's detailed results for the results JSON.

        Returns
        -------
        dict
            ``ratios`` (per system and year), ``trends`` (each :class:`~analysis.stats.completeness.ShareTrend` as a dict,
            or None), ``international_ratios``, ``rates``, ``stated_ratios``, ``claims``, ``sensitivity`` (the drift
            scenarios), ``explained_at_limits`` and ``not_sourced``.
        """
        return {
            "ratios": self.series,
            "trends": {k: None if t is None else t.to_dict() for k, t in self.trends.items()},
            "international_ratios": self.international,
            "rates": self.rates,
            "stated_ratios": self.stated,
            "claims": [dataclasses.asdict(c) for c in self.claims],
            "sensitivity": [s.to_dict() for s in self.sensitivity],
            "explained_at_limits": self.explained_at_limits,
            "not_sourced": list(self.not_sourced),
        }

    # ------------------------------------------------------------------------------------------ tables
    @property
    def series_table(self) -> pd.DataFrame:
        s, lvl = self.series, self.params.level
        return pd.DataFrame({
            "system": s["system"].map(SYSTEM_NAME), "year": s["year"],
            "registered (deaths included)": s["total"].map(fmt_count), "deaths": s["fatal"].map(fmt_count),
            "non-fatal per death": s["ratio"].map(fmt_number),
            f"{lvl} CI (exact)": [f"{fmt_number(lo)} to {fmt_number(hi)}"
                                  for lo, hi in zip(s["ratio_low"], s["ratio_high"])],
            "fatal share": (100 * s["share"]).map(lambda v: fmt_percent(v, signed=False)),
            "derived": s["derived"].map({True: "yes", False: "no"}),
            "in the trend": s["in_trend"].map({True: "yes", False: "no"}),
            "sources": s["sources"]})

    @property
    def trend_table(self) -> pd.DataFrame:
        rows = []
        for key, t in self.trends.items():
            if t is None:
                rows.append((self.trend_labels[key], "", "", "", "", "", "too few years"))
                continue
            rows.append((self.trend_labels[key], f"{t.years[0]}–{t.years[-1]} ({len(t.years)} years)",
                         fmt_percent(t.estimate), fmt_interval(*t.ci, "%", 100 * (1 - t.alpha)),
                         fmt_pvalue(t.p_value), fmt_number(t.dispersion),
                         "quasi-binomial (φ > 1)" if t.model == "quasi-binomial" else "binomial (φ ≤ 1: not used to "
                                                                                         "narrow the interval)"))
        return pd.DataFrame(rows, columns=["series", "years", "change of the ratio a year", "interval",
                                           "p-value", "dispersion φ", "model used"])

    @property
    def international_table(self) -> pd.DataFrame:
        """The ratios: one row per pair of counts (definitions in :attr:`definitions_table`)."""
        d = self.international
        return pd.DataFrame({
            "where": d["where"], "register": d["register"], "year": d["period"],
            "non-fatal counted": d["nonfatal_label"], "non-fatal": d["nonfatal"].map(fmt_count),
            "deaths": d["fatal"].map(fmt_count), "non-fatal per death": d["ratio"].map(fmt_number),
            f"{self.params.level} CI (exact)": [f"{fmt_number(lo)} to {fmt_number(hi)}"
                                                for lo, hi in zip(d["ratio_low"], d["ratio_high"])],
            "kind": d["kind"], "sources": d["sources"]})

    @property
    def definitions_table(self) -> pd.DataFrame:
        """Each register's definition and why its ratio can (or cannot) be set beside Kazakhstan's."""
        d = self.international
        keys = ["where", "register", "absence_threshold", "self_employed", "commuting", "coverage",
                "deaths_in_count", "comparability"]
        g = d.groupby(keys, sort=False)["period"].agg(lambda v: ", ".join(dict.fromkeys(v))).reset_index()
        return pd.DataFrame({"where": g["where"], "register": g["register"], "years": g["period"],
                             "minimum absence": g["absence_threshold"], "self-employed": g["self_employed"],
                             "commuting": g["commuting"], "coverage": g["coverage"],
                             "deaths in the injured count": g["deaths_in_count"], "comparable?": g["comparability"]})

    @property
    def rates_table(self) -> pd.DataFrame:
        d = self.rates
        return pd.DataFrame({"where": d["where"], "register": d["register"], "year": d["period"],
                             "rate per 100,000 workers": d["per_100k"].map(fmt_number), "what": d["what"],
                             "denominator": d["denominator"], "sources": d["sources"]})

    @property
    def stated_table(self) -> pd.DataFrame:
        d = self.stated
        return pd.DataFrame({"where": d["where"], "period": d["period"], "ratio as stated": d["stated"],
                             "what": d["unit"], "publisher": d["publisher"], "quote": d["quote"], "url": d["url"]})

    @property
    def statements_table(self) -> pd.DataFrame:
        d = self.statements
        return pd.DataFrame({"where": d["where"], "publisher": d["publisher"], "what the source says": d["quote"],
                             "url": d["url"]})

    @property
    def sensitivity_frame(self) -> pd.DataFrame:
        rows = []
        for s in self.sensitivity:
            for sc in s.scenarios:
                rows.append({"claim": s.claim, "claimed change (%)": s.claimed_change_pct, "scenario": sc.name,
                             "drift a year (%)": sc.drift_pct_per_year, "drift over the span (%)":
                             sc.drift_pct_over_span, "change it alone produces (%)": sc.produced_change_pct,
                             "share of the claim explained (%)": sc.share_explained_pct})
        return pd.DataFrame(rows)

    @property
    def sensitivity_table(self) -> pd.DataFrame:
        d = self.sensitivity_frame
        return pd.DataFrame({
            "claim": d["claim"], "scenario": d["scenario"],
            "completeness drift a year": d["drift a year (%)"].map(fmt_percent),
            "drift over the claim's span": d["drift over the span (%)"].map(fmt_percent),
            "change in the registered count it alone produces": d["change it alone produces (%)"].map(fmt_percent),
            "share of the claimed change explained": d["share of the claim explained (%)"].map(
                lambda v: fmt_percent(v, 0, signed=False))})

    def tables(self) -> dict[str, pd.DataFrame]:
        """The study's tables, exported as CSV beside the report.

        Returns
        -------
        dict of str to pandas.DataFrame
            ``ratios``, ``trends``, ``international``, ``definitions``, ``rates``, ``stated_ratios`` and ``sensitivity``,
            by file stem (formatted as the report shows them).
        """
        return {"ratios": self.series_table, "trends": self.trend_table, "international": self.international_table,
                "definitions": self.definitions_table,
                "rates": self.rates_table, "stated_ratios": self.stated_table,
                "sensitivity": self.sensitivity_table}

    # ------------------------------------------------------------------------------------------ figure data
    @property
    def ratio_plot(self) -> pd.DataFrame:
        """Figure 1: the ratio by year and system with its interval (plain column names)."""
        s = self.series
        return pd.DataFrame({"system": s["system"].map(SYSTEM_NAME), "year": s["year"],
                             "non-fatal per death": s["ratio"], "low": s["ratio_low"], "high": s["ratio_high"],
                             "in the trend": s["in_trend"]})

    @property
    def trend_plot(self) -> pd.DataFrame | None:
        """Figure 1: the Ministry's fitted trend with its interval (None without a trend)."""
        b = self.trend_band
        if b is None:
            return None
        return pd.DataFrame({"year": b["year"], "fitted": b["ratio"], "low": b["ratio_low"], "high": b["ratio_high"]})

    @property
    def international_plot(self) -> pd.DataFrame:
        """Figure 2: one dot per ratio (computed from two counts, or stated by a source), with its kind."""
        d = self.international
        out = pd.DataFrame({"label": d["short"], "non-fatal per death": d["ratio"], "low": d["ratio_low"],
                            "high": d["ratio_high"], "kind": d["kind"].str.split(" (", regex=False).str[0]})
        st = self.stated[self.stated["value_high"].isna() & ~self.stated["comparator"].isin(d["comparator"])]
        if len(st):
            out = pd.concat([out, pd.DataFrame({
                "label": st["comparator"].map(lambda k: SHORT.get(k, COMPARATORS[k])) + ", " + st["register"] + " "
                + st["period"] + " (as stated)", "non-fatal per death": st["value"], "low": np.nan, "high": np.nan,
                "kind": "stated by the source"})], ignore_index=True)
        return out

    @property
    def rule_of_thumb(self) -> tuple[float, float, str] | None:
        """The ILO rule of thumb as quoted (all injuries per death), for a band in figure 2; None if not shown."""
        st = self.stated[self.stated["value_high"].notna()]
        if st.empty:
            return None
        r = st.iloc[0]
        return (float(r["value"]), float(r["value_high"]),
                f"{fmt_count(r['value'])}–{fmt_count(r['value_high'])} injuries per death: ILO rule as quoted "
                f"({r['source_id']})")

    @property
    def sensitivity_curve(self) -> pd.DataFrame:
        """Figure 3: the change each claim's registered count would show from a drift alone, over a grid of drifts."""
        grid = np.round(np.linspace(-8, 4, 121), 3)
        rows = [(c.name, d, cs.drift_change(d, c.span_years, c.base_share)) for c in self.claims for d in grid]
        return pd.DataFrame(rows, columns=["claim", "completeness drift a year (%)", "change in the count (%)"])

    @property
    def sensitivity_limits(self) -> pd.DataFrame:
        """Figure 3: each trend's limit towards each claim, as a point on that claim's curve."""
        rows = []
        for s in self.sensitivity:
            for sc in s.scenarios:
                if "limit" in sc.name and ("lower" in sc.name) == (s.claimed_change_pct < 0):
                    rows.append((s.claim, sc.name, sc.drift_pct_per_year, sc.produced_change_pct))
        return pd.DataFrame(rows, columns=["claim", "trend", "completeness drift a year (%)",
                                           "change in the count (%)"])

    # ------------------------------------------------------------------------------------------ text
    @property
    def ministry_latest(self) -> pd.Series | None:
        m = self.series[self.series["system"] == "ministry"]
        return None if m.empty else m.iloc[-1]

    @property
    def ratio_note(self) -> str:
        lines = []
        for system in ("ministry", "bns"):
            s = self.series[self.series["system"] == system]
            if s.empty:
                continue
            r = s.iloc[-1]
            lines.append(f"* {SYSTEM_NAME[system]}, {r['year']}: {fmt_count(r['total'])} {TOTAL[system]}, "
                         f"{fmt_count(r['fatal'])} of them killed: **{fmt_number(r['ratio'])} non-fatal injuries per "
                         f"death** ({self.params.level} CI {fmt_number(r['ratio_low'])} to "
                         f"{fmt_number(r['ratio_high'])}), fatal share {fmt_percent(100 * r['share'], signed=False)}.")
        for key in ("ministry", "bns"):
            t = self.trends.get(key)
            if t is not None:
                lines.append(f"* Trend, {self.trend_labels[key]}: {t.verdict}")
        return "\n".join(lines)

    @property
    def ratio_alt(self) -> str:
        parts = []
        for system in ("ministry", "bns"):
            s = self.series[self.series["system"] == system]
            if not s.empty:
                parts.append(f"{SYSTEM_NAME[system]} from {fmt_number(s['ratio'].min())} to "
                             f"{fmt_number(s['ratio'].max())} non-fatal injuries per death ({s['year'].min()}–"
                             f"{s['year'].max()})")
        t = self.trends.get("ministry")
        trend = ("" if t is None else f"; the Ministry's fitted trend is {fmt_percent(t.estimate)} a year "
                                      f"({fmt_interval(*t.ci, '%', 100 * (1 - t.alpha))})")
        return ("Dot chart of the non-fatal to fatal ratio by year with exact intervals: " + "; ".join(parts)
                + trend + ".")

    @property
    def international_alt(self) -> str:
        d = self.international
        if d.empty:
            return "No international ratio is shown: no comparator was selected."
        kz = d[d["where"].str.startswith("Kazakhstan")]
        other = d[~d["where"].str.startswith("Kazakhstan")]
        hi = other.loc[other["ratio"].idxmax()] if len(other) else None
        lo = other.loc[other["ratio"].idxmin()] if len(other) else None
        text = ("Dot chart, logarithmic scale, of non-fatal injuries registered per death: Kazakhstan "
                + ", ".join(f"{r['register']} {r['period']} {fmt_number(r['ratio'])}" for _, r in kz.iterrows()))
        if hi is not None:
            text += (f"; highest comparator {hi['where']} {hi['register']} {hi['period']} {fmt_number(hi['ratio'])}; "
                     f"lowest {lo['where']} {lo['register']} {lo['period']} {fmt_number(lo['ratio'])}")
        return text + "."

    @property
    def sensitivity_alt(self) -> str:
        parts = [f"{s.claim}: a drift of "
                 + ("no size" if s.break_even_pct_per_year is None else fmt_percent(s.break_even_pct_per_year))
                 + " a year alone produces all of it" for s in self.sensitivity]
        t = self.trends.get("ministry")
        band = "" if t is None else (f"; the shaded band is the trend's interval, {fmt_percent(t.ci[0])} to "
                                     f"{fmt_percent(t.ci[1])} a year")
        return ("Line chart of the change in the registered count that a drift in registration completeness alone "
                "would produce, against the drift per year, one line per claim with the claimed change as a dashed "
                "line; " + "; ".join(parts) + band + ".")

    @property
    def sensitivity_note(self) -> str:
        """Per claim: the main trend's reading, then every defensible trend's limit and the conclusion."""
        lines = []
        for s in self.sensitivity:
            shares = self.explained_at_limits.get(s.claim, {})
            all_of_it = [k for k, v in shares.items() if v >= 100]
            windows = "; ".join(f"{k}: {fmt_percent(v, 0, signed=False)}" for k, v in shares.items())
            end = (f"**a drift within the interval of {' and of '.join(all_of_it)} explains all of it.**"
                   if all_of_it else "**no trend's limit explains all of it.**")
            lines.append(f"* {s.verdict} Share explained at each trend's {self.params.level} limit: {windows}: {end}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- inputs
def _paired_series(end_year: int, alpha: float, data_dir) -> pd.DataFrame:
    """Per system and year with both counts: the total (deaths included), the deaths, ratio and share with CIs."""
    annual = data.load_national_annual(data_dir)
    annual = annual[annual["preferred"] & (annual["year"] <= end_year)]
    rows = []
    for system, total_measure in TOTAL.items():
        tot = annual[(annual["system"] == system) & (annual["measure"] == total_measure)].set_index("year")
        fat = annual[(annual["system"] == system) & (annual["measure"] == "fatal")].set_index("year")
        for year in sorted(set(tot.index) & set(fat.index)):
            t, f = tot.loc[year], fat.loc[year]
            share = cs.fatal_share(int(f["value"]), int(t["value"]), alpha)
            derived = bool(t["derived"]) or bool(f["derived"])
            srcs = ", ".join(dict.fromkeys([t["source_id"], f["source_id"]]))
            rows.append({"system": system, "year": int(year), "total": share.total, "fatal": share.fatal,
                         "nonfatal": share.nonfatal, "ratio": share.ratio, "ratio_low": share.ratio_ci[0],
                         "ratio_high": share.ratio_ci[1], "share": share.estimate, "share_low": share.ci[0],
                         "share_high": share.ci[1], "derived": derived,
                         "in_trend": system == "bns" or year >= FIRST_YEAR,
                         "sources": srcs + (" (derived: back-calculated from a published percent)" if derived
                                            else "")})
    return pd.DataFrame(rows)


def _trend(series: pd.DataFrame, alpha: float) -> cs.ShareTrend | None:
    if len(series) < 3:
        return None
    return cs.share_trend(series["fatal"].tolist(), series["total"].tolist(), series["year"].tolist(), alpha)


def _claims(p: Params, series: pd.DataFrame, data_dir) -> tuple[Claim, ...]:
    """The Ministry's two seed claims, read from the data with their sources."""
    sources = data.load_sources(data_dir).set_index("source_id")
    ytd = data.load_national_ytd(data_dir)
    annual = data.load_national_annual(data_dir)
    m = series[series["system"] == "ministry"].set_index("year")
    ann_m = annual[(annual["system"] == "ministry") & annual["preferred"]]
    out = []
    q1 = ytd[(ytd["period"] == "2025-Q1") & (ytd["system"] == "ministry") & ytd["preferred"]
             & (ytd["measure"] == "injured_pct_change_yoy")]
    fat24 = ann_m[(ann_m["year"] == 2024) & (ann_m["measure"] == "fatal")]
    inj24 = ann_m[(ann_m["year"] == 2024) & (ann_m["measure"] == "injured")]
    if len(q1) and len(fat24) and len(inj24):
        r = q1.iloc[0]
        src = sources.loc[r["source_id"]]
        f, n = int(fat24["value"].iloc[0]), int(inj24["value"].iloc[0])
        q1_deaths = ytd[(ytd["period"] == "2025-Q1") & (ytd["system"] == "ministry") & ytd["preferred"]
                        & (ytd["measure"].isin(["fatal", "injured"]))].set_index("measure")["value"]
        observed = None
        if {"fatal", "injured"} <= set(q1_deaths.index):
            ch = cs.ratio_change(f, n, int(q1_deaths["fatal"]), int(q1_deaths["injured"]), p.alpha)
            observed = ("observed: the ratio in Q1 2025 against the whole of 2024", ch.estimate)
        out.append(Claim(
            name="Q1 2025 drop", words=f"the {fmt_percent(abs(r['value']), signed=False)} "
                                       f"{'drop' if r['value'] < 0 else 'rise'} in the first quarter of 2025",
            change_pct=float(r["value"]),
            span_years=1.0, base_label="2024 (whole year)", base_share=f / n,
            base_note=(f"the deaths of Q1 2024 were not published: the fatal share of the whole of 2024 "
                       f"({fmt_count(f)} of {fmt_count(n)}) stands in"),
            source_id=r["source_id"], publisher=src["publisher"], quote=src["quote"], window=None,
            observed=observed))
    five = annual[(annual["system"] == "ministry") & (annual["measure"] == "injured_pct_change_5y")
                  & (annual["year"] == 2024) & annual["preferred"]]
    if len(five) and 2020 in m.index:
        r = five.iloc[0]
        src = sources.loc[r["source_id"]]
        observed = None
        if 2024 in m.index:
            ch = cs.ratio_change(int(m.loc[2020, "fatal"]), int(m.loc[2020, "total"]), int(m.loc[2024, "fatal"]),
                                 int(m.loc[2024, "total"]), p.alpha)
            observed = ("observed: the ratio in 2024 against 2020", 100 * ((1 + ch.estimate / 100) ** 0.25 - 1))
        out.append(Claim(
            name="Five-year decline", words=f"the {fmt_percent(abs(r['value']), signed=False)} five-year decline "
                                            "(2020 to 2024)", change_pct=float(r["value"]), span_years=4.0,
            base_label="2020", base_share=float(m.loc[2020, "share"]),
            base_note=(f"fatal share of 2020 ({fmt_count(m.loc[2020, 'fatal'])} of "
                       f"{fmt_count(m.loc[2020, 'total'])}); the published -6.3% matches the counts 1,503 (2020) "
                       "and 1,408 (2024)"),
            source_id=r["source_id"], publisher=src["publisher"], quote=src["quote"], window=(2020, 2024),
            observed=observed))
    return tuple(out)


def system_short(system: str) -> str:
    """'Ministry' or 'BNS'."""
    return SYSTEM_NAME[system].split(" (")[0]


def _where(row) -> str:
    return COMPARATORS.get(row["comparator"], row["geography"])


def _source_text(ids) -> str:
    return ", ".join(dict.fromkeys(ids))


def _international_ratios(p: Params, intl: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """Ratios from two counts of one register (or a named pair), latest first, with definitions and comparability;
    the Kazakh systems' latest year on top."""
    cols = ["where", "comparator", "register", "period", "nonfatal_label", "nonfatal", "fatal", "ratio", "ratio_low",
            "ratio_high", "absence_threshold", "self_employed", "commuting", "coverage", "deaths_in_count", "kind",
            "comparability", "short", "sources"]
    rows = []
    kz_def = intl[intl["comparator"] == "kazakhstan"]
    kz_threshold = (f"{kz_def['absence_threshold'].iloc[0]} (ILO metadata, {kz_def['source_id'].iloc[0]})"
                    if len(kz_def) else "not stated")
    for system in ("ministry", "bns"):
        s = series[series["system"] == system]
        if s.empty:
            continue
        r = s.iloc[-1]
        rows.append({"where": "Kazakhstan", "comparator": "kazakhstan", "register": SYSTEM_NAME[system],
                     "period": str(r["year"]), "nonfatal_label": f"{TOTAL[system]} minus deaths",
                     "nonfatal": r["nonfatal"], "fatal": r["fatal"], "ratio": r["ratio"], "ratio_low": r["ratio_low"],
                     "ratio_high": r["ratio_high"],
                     "absence_threshold": kz_threshold if system == "ministry" else "one working day (BNS definition)",
                     "self_employed": "not stated", "commuting": "not stated",
                     "coverage": ("registered by the labour inspection" if system == "ministry" else
                                  "statistical reporting of enterprises"),
                     "deaths_in_count": "yes (subtracted)", "kind": "Kazakhstan",
                     "comparability": COMPARABILITY["same"], "short": f"Kazakhstan, {system_short(system)} {r['year']}",
                     "sources": r["sources"]})
    sel = intl[intl["comparator"].isin(p.comparators) & intl["preferred"]]
    counts = sel[sel["metric"].str.startswith("nonfatal_injuries")]
    fatal = sel[sel["metric"] == "fatal_injuries"]
    for _, nf in counts.iterrows():
        register = FATAL_REGISTER.get(nf["register"], nf["register"])
        fr = fatal[(fatal["register"] == register) & (fatal["period"] == nf["period"])
                   & (fatal["comparator"] == nf["comparator"])]
        if fr.empty:
            continue
        f = fr.iloc[0]
        n_f, n_nf = int(f["value"]), int(nf["value"])
        subtract = nf["deaths_in_count"] in ("yes", "not stated")
        total = n_nf if subtract else n_nf + n_f
        share = cs.fatal_share(n_f, total, p.alpha)
        key = nf["register"] if nf["register"] in COMPARABILITY else "same"
        comparability = COMPARABILITY[key]
        kind = comparability.split(":")[0] if key != "same" else "same register"
        if nf["deaths_in_count"] == "not stated":
            comparability += ("; whether the deaths are inside the injured count is not stated: the ratio is shown "
                              "with them subtracted (the lower reading)")
            kind += f" (if the deaths are not inside the count: {fmt_number(n_nf / n_f)})"
        label = NONFATAL_LABEL[nf["metric"]]
        if "million" in str(nf["unit"]) or "rounded" in str(nf["note"]):
            label += " (rounded as published)"
        threshold = nf["absence_threshold"]
        reg = nf["register"] + ("" if register == nf["register"] else f" / {register} deaths")
        rows.append({"where": _where(nf), "comparator": nf["comparator"], "register": reg,
                     "period": nf["period"], "nonfatal_label": label,
                     "nonfatal": share.nonfatal, "fatal": n_f, "ratio": share.ratio, "ratio_low": share.ratio_ci[0],
                     "ratio_high": share.ratio_ci[1], "absence_threshold": threshold,
                     "self_employed": nf["self_employed"], "commuting": nf["commuting"], "coverage": nf["coverage"],
                     "deaths_in_count": {"yes": "yes (subtracted)", "no": "no", "not stated":
                                         "not stated (subtracted)"}[nf["deaths_in_count"]],
                     "kind": kind, "comparability": comparability,
                     "short": f"{SHORT.get(nf['comparator'], COMPARATORS[nf['comparator']])}, "
                              f"{FIGURE_REGISTER.get(reg, reg)} {nf['period']}"
                              + ("" if NONFATAL_LABEL[nf["metric"]] == "non-fatal injuries" else
                                 f" ({NONFATAL_LABEL[nf['metric']]})"),
                     "sources": _source_text([nf["source_id"], f["source_id"]])})
    out = pd.DataFrame(rows, columns=cols)
    order = {k: i for i, k in enumerate(["kazakhstan", *COMPARATORS])}
    return (out.assign(_o=out["comparator"].map(order), _k=range(len(out)), _p=out["period"].astype(str))
            .assign(_r=lambda d: d["register"].where(d["comparator"] != "kazakhstan", ""))
            .sort_values(["_o", "_r", "_p", "_k"], ascending=[True, True, False, True])
            .drop(columns=["_o", "_k", "_p", "_r"]).reset_index(drop=True))


def _rates(p: Params, intl: pd.DataFrame, data_dir) -> pd.DataFrame:
    """Fatal (and non-fatal) rates per 100,000 workers: Kazakhstan's published and derived ones, then comparators."""
    rows = []
    annual = data.load_national_annual(data_dir)
    annual = annual[annual["preferred"] & (annual["year"] <= p.end_year)]
    for measure, what in (("fatal_rate_per_100k", "deaths"), ("nonfatal_rate_per_100k", "non-fatal injuries")):
        b = annual[(annual["system"] == "bns") & (annual["measure"] == measure)]
        if len(b):
            r = b.sort_values("year").iloc[-1]
            rows.append({"where": "Kazakhstan", "register": SYSTEM_NAME["bns"], "period": str(r["year"]),
                         "per_100k": float(r["value"]), "what": what + " (published)",
                         "denominator": "list headcount of employees (BNS)", "sources": r["source_id"]})
    workers = data.implied_workers(data_dir)
    workers = workers[workers["year"] <= p.end_year]
    fatal = annual[(annual["system"] == "ministry") & (annual["measure"] == "fatal")].set_index("year")
    workers = workers[workers["year"].isin(fatal.index)]
    if len(workers):
        w = workers.sort_values("year").iloc[-1]
        f = fatal.loc[w["year"]]
        rows.append({"where": "Kazakhstan", "register": SYSTEM_NAME["ministry"], "period": str(w["year"]),
                     "per_100k": 1e5 * float(f["value"]) / float(w["workers"]),
                     "what": (f"deaths (derived: {fmt_count(f['value'])} deaths / {fmt_count(w['workers'])} workers "
                              f"implied by the Ministry's own rate, {w['formula']})"),
                     "denominator": "workers implied by the Ministry's rate per 1,000 (rounded to 0.01)",
                     "sources": f"{f['source_id']}, {w['source_ids']}"})
    sel = intl[intl["comparator"].isin(p.comparators) & intl["preferred"]
               & intl["metric"].isin(["fatal_rate_per_100k", "nonfatal_rate_per_100k", "nonfatal_rate_per_1000"])]
    for _, r in sel.iterrows():
        per_1000 = r["metric"] == "nonfatal_rate_per_1000"
        rows.append({"where": _where(r), "register": r["register"], "period": r["period"],
                     "per_100k": float(r["value"]) * (100 if per_1000 else 1),
                     "what": ("deaths" if r["metric"].startswith("fatal") else "non-fatal injuries")
                     + (" (published per 1,000, × 100)" if per_1000 else ""),
                     "denominator": r["unit"], "sources": r["source_id"]})
    return pd.DataFrame(rows, columns=["where", "register", "period", "per_100k", "what", "denominator", "sources"])


def _statements(p: Params, intl: pd.DataFrame, data_dir) -> tuple[pd.DataFrame, pd.DataFrame]:
    src = data.load_sources(data_dir).set_index("source_id")
    sel = intl[(intl["metric"] == "ratio_statement") & intl["comparator"].isin(p.comparators)].copy()
    sel["where"] = [_where(r) for _, r in sel.iterrows()]
    for col in ("publisher", "quote", "url"):
        sel[col] = sel["source_id"].map(src[col])
    stated = sel[sel["value"].notna()].copy()
    whole = [fmt_count(v) if float(v).is_integer() else fmt_number(v) for v in stated["value"]]
    stated["stated"] = [w if pd.isna(h) else f"{w}–{fmt_count(h)}" for w, h in zip(whole, stated["value_high"])]
    words = sel[sel["value"].isna()]
    return stated.reset_index(drop=True), words.reset_index(drop=True)


def _not_sourced(p: Params, international: pd.DataFrame, rates: pd.DataFrame) -> tuple[str, ...]:
    out = []
    for key in p.comparators:
        if key == "cis":
            continue
        name = COMPARATORS[key]
        if not (international["comparator"] == key).any():
            out.append(f"{name}: no non-fatal and fatal count of one register in the data, so no ratio is computed.")
        if not ((rates["where"] == name) & rates["what"].str.startswith("deaths")).any():
            out.append(f"{name}: no fatal rate per 100,000 workers in the data.")
    return tuple(dict.fromkeys([*out, *NOT_FOUND]))


# ---------------------------------------------------------------------------------------------------- sensitivity
def _sensitivity(p: Params, claims, trends, labels):
    """Per claim: the drift scenarios, and the share of the claim explained at each defensible trend's limit."""
    main = trends["ministry"]
    if main is None:
        return (), {}
    out, limits = [], {}
    for c in claims:
        extra, shares = [], {}
        for key in ("ministry", "ministry_published", f"window_{c.name}"):
            t = trends.get(key)
            if t is None:
                continue
            lim = t.ci[0] if c.change_pct < 0 else t.ci[1]
            shares[labels[key]] = cs.drift_change(lim, c.span_years, c.base_share) / c.change_pct * 100
            if key != "ministry":
                side = "lower" if c.change_pct < 0 else "upper"
                extra.append((f"{labels[key]}, {side} {p.level} limit", lim))
        if c.observed is not None:
            extra.append(c.observed)
        out.append(cs.drift_sensitivity(c.name, c.change_pct, c.span_years, c.base_share, main.estimate, main.ci,
                                        p.alpha, extra, trend_label=labels["ministry"]))
        limits[c.name] = shares
    return tuple(out), limits


def _two_systems(end_year: int, data_dir) -> str:
    a = data.load_national_annual(data_dir)
    a = a[a["preferred"] & (a["year"] <= end_year)]
    m = a[(a["system"] == "ministry") & (a["measure"] == "injured")].set_index("year")["value"]
    b = a[(a["system"] == "bns") & (a["measure"] == "victims")].set_index("year")["value"]
    if not {2020, 2024} <= set(m.index) or not {2020, 2024} <= set(b.index):
        return ("The two systems' counts for 2020 and 2024 are not both available up to the chosen end year, so "
                "their changes over the five-year claim's years are not compared.")
    cm, cb = 100 * (m[2024] / m[2020] - 1), 100 * (b[2024] / b[2020] - 1)
    return (f"Over the same years the two systems moved apart: the Ministry's count went from {fmt_count(m[2020])} "
            f"(2020) to {fmt_count(m[2024])} (2024), {fmt_percent(cm)}, while the statistics bureau's count of victims "
            f"went from {fmt_count(b[2020])} to {fmt_count(b[2024])}, {fmt_percent(cb)}. Their definitions differ "
            "(the bureau's non-fatal counts are 40–80% higher) and they are never merged into one series, but a real "
            "fall in injuries would be expected to show in both.")


def _q1_note(claims, data_dir) -> str:
    c = next((c for c in claims if c.window is None), None)
    ytd = data.load_national_ytd(data_dir)
    q1 = ytd[(ytd["period"] == "2025-Q1") & (ytd["system"] == "ministry") & ytd["preferred"]].set_index("measure")
    if c is None or c.observed is None or not {"fatal", "injured"} <= set(q1.index):
        return "The first quarter of 2025 has no published deaths in the data: its own ratio is not shown."
    f, n = int(q1.loc["fatal", "value"]), int(q1.loc["injured", "value"])
    return (f"In the first quarter of 2025 the Ministry registered {fmt_count(n)} injured, {fmt_count(f)} of them "
            f"killed: {fmt_number((n - f) / f)} non-fatal injuries per death, against "
            f"{fmt_number((1 - c.base_share) / c.base_share)} in the whole of 2024 ({fmt_percent(c.observed[1])}). "
            "The quarter does not register fewer non-fatal injuries per death than the year before, so the drop "
            "does not come with a visible fall in completeness; the deaths of Q1 2024 were not published, so the "
            "same quarters cannot be compared." if c.observed[1] >= 0 else
            f"In the first quarter of 2025 the Ministry registered {fmt_count(n)} injured, {fmt_count(f)} of them "
            f"killed: {fmt_number((n - f) / f)} non-fatal injuries per death, against "
            f"{fmt_number((1 - c.base_share) / c.base_share)} in the whole of 2024 ({fmt_percent(c.observed[1])}): "
            "fewer non-fatal injuries registered per death, as a fall in completeness would show.")


# ---------------------------------------------------------------------------------------------------- verdict
def _verdict(p: Params, trends, claims, sensitivity, limits, international, series) -> Verdict:
    main = trends["ministry"]
    latest = series[series["system"] == "ministry"]
    if main is None:
        years = ", ".join(str(y) for y in latest["year"]) or "none"
        return Verdict(
            label="descriptive",
            headline=(f"Too few years up to {p.end_year} for a trend in the Ministry's non-fatal to fatal ratio: the "
                      "data cannot say how much of the claims a registration drift explains."),
            summary=("The ratios are shown year by year, but a trend needs at least three years with both counts. "
                     "Choose a later end year to test the claims."),
            technical=(f"Ministry years with both counts (from {FIRST_YEAR} to {p.end_year} for the trend): "
                       f"{years}; a logistic GLM with a dispersion needs at least three."),
            would_change="A later end year (three or more Ministry years with both counts from 2015).")
    key = Estimate(f"annual change in non-fatal injuries registered per death (labour inspection, "
                   f"{main.years[0]}–{main.years[-1]})", main.estimate, main.ci[0],
                   main.ci[1], main.p_value, main.method, unit="%")
    words = {c.name: c.words for c in claims}
    fragile = [c.name for c in claims if max(limits[c.name].values()) >= 100]
    explained = [words[n] for n in fragile]
    not_explained = [words[c.name] for c in claims if c.name not in fragile]
    label = "fragile" if fragile else "supported"
    if fragile and not_explained:
        headline = (f"A drift in injury registration within what the data allow could explain all of "
                    f"{' and '.join(explained)}, but not {' or '.join(not_explained)}.")
    elif fragile:
        headline = (f"A drift in injury registration within what the data allow could explain all of "
                    f"{' and '.join(explained)}.")
    else:
        headline = (f"No drift in injury registration within what the data allow explains "
                    f"{' or '.join(not_explained)}.")
    r = latest.iloc[-1]
    eu = international[international["comparator"] == "eu"]
    versus = (f", against about {fmt_count(eu['ratio'].iloc[0])} in the EU," if len(eu) else "")
    trend = ("shows no clear trend" if main.p_value > p.alpha else
             f"has {'risen' if main.estimate > 0 else 'fallen'} by about {fmt_percent(abs(main.estimate), 1, False)} "
             "a year")
    summary = (f"Kazakhstan's Ministry registers about {fmt_number(r['ratio'], 2)} non-fatal injuries per death "
               f"({r['year']}){versus} which points to many injuries never registered. "
               f"That ratio {trend}, but changes small enough to hide in its uncertainty ")
    if fragile:
        most = max((v for c in claims if c.name not in fragile for v in limits[c.name].values()), default=None)
        summary += f"could account for all of {' and '.join(explained)}"
        if most is not None:
            summary += f", though for at most {fmt_percent(most, 0, signed=False)} of {' or '.join(not_explained)}"
        summary += ". So part or all of that decline may be fewer injuries recorded rather than fewer injuries."
    else:
        summary += (f"account for only part of {' and '.join(not_explained)}. So the declines are not explained by "
                    "a change in registration alone, although registration itself remains very incomplete.")
    windows = "; ".join(f"{c.name}: " + ", ".join(f"{lab} {fmt_percent(v, 0, signed=False)}"
                                                   for lab, v in limits[c.name].items()) for c in claims)
    technical = (f"{main.verdict} " + " ".join(s.verdict for s in sensitivity)
                 + f" Share of each claim explained by a drift at the {p.level} limit of each trend: {windows}"
                 + f". Verdict: {label} (fragile when, for at least one defensible window, the trend's limit towards "
                   "a claim explains all of it; supported when it does for no window and claim).")
    five = next((s for s in sensitivity if s.claim == "Five-year decline"), None)
    if five is not None and five.break_even_pct_per_year is not None:
        would = (f"The five-year verdict turns on the trend's window: a completeness drift of "
                 f"{fmt_percent(five.break_even_pct_per_year)} a year would explain all of the decline, and the "
                 f"trend's limit is {fmt_percent(five.bound.drift_pct_per_year)} from {main.years[0]}, lower for "
                 "the other windows. Published deaths for Q1 2024 and 2023, or evidence that deaths are themselves "
                 "under-registered or that the severity mix changed, would change the picture.")
    else:
        would = "More years with both counts would narrow the trend and could change the verdict."
    return Verdict(label=label, headline=headline, summary=summary, technical=technical, key=key,
                   would_change=would)


def _caveats(p: Params, series: pd.DataFrame) -> tuple[str, ...]:
    out = [
        "Deaths are taken as completely registered. The ILO's social-protection platform reports that even fatal "
        "accidents are under-reported in the CIS (source I48); a drift in death registration would move the ratio "
        "in the other direction and is not separable here.",
        "A change in the ratio is read as a change in registration only if the true mix of injuries is constant. "
        "Mass-casualty accidents add deaths without adding non-fatal injuries (Kostenko mine 2023, 46 dead: the "
        "Ministry's 2023 deaths were not published, so 2023 is missing; Zhomart mine, 7 dead, in Q1 2025).",
        "International ratios compare systems with different thresholds, coverage and incentives. The Kazakh "
        "threshold (one day) is lower than the EU's (more than three days) and Great Britain's (more than seven), "
        "which would raise, not lower, Kazakhstan's ratio: the direction of the gap is robust, its size is not a "
        "measure of under-registration. Ratios whose counts cover different workers are marked as bounds, and "
        "survey or model figures as not comparable.",
        "The Ministry and BNS series are never mixed; each has its own ratio and trend.",
    ]
    derived = series[series["derived"]]
    if len(derived):
        out.append("Derived years (" + ", ".join(f"{SYSTEM_NAME[s].split(' ')[0]} {y}" for s, y in
                                                 zip(derived["system"], derived["year"]))
                   + ") are back-calculated from a published count and a rounded percent; the trend is also shown "
                     "without them.")
    if p.end_year < 2024:
        out.append(f"The trend ends in {p.end_year}, before the claims' last year (2024): the drift it allows is "
                   "extrapolated to the claims' years.")
    return tuple(out)


# ---------------------------------------------------------------------------------------------------- run
def run(params: Params, data_dir=DATA_DIR) -> CompletenessResult:
    """Run the study.

    Parameters
    ----------
    params : Params
        Validated parameters.
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    CompletenessResult

    Raises
    ------
    ParameterError
        ``comparators`` naming a comparator the data do not hold.
    """
    p = params
    intl = data.load_international(data_dir)
    missing = [c for c in p.comparators if not (intl["comparator"] == c).any()]
    if missing:
        raise ParameterError("comparators", f"comparators: {missing[0]!r} has no rows in data/international.csv")
    series = _paired_series(p.end_year, p.alpha, data_dir)
    m = series[series["system"] == "ministry"]
    m_trend = m[m["in_trend"]]
    claims = _claims(p, _paired_series(CLAIMS_END, p.alpha, data_dir), data_dir)  # the claims' years, whatever end_year
    trends = {"ministry": _trend(m_trend, p.alpha),
              "ministry_published": _trend(m_trend[~m_trend["derived"]], p.alpha),
              "ministry_all": _trend(m, p.alpha),
              "bns": _trend(series[series["system"] == "bns"], p.alpha)}
    labels = {"ministry": "Ministry trend {}", "ministry_published": "Ministry trend {}, published years only",
              "ministry_all": "Ministry trend {}, every year", "bns": "BNS trend {}"}
    for c in claims:
        if c.window is not None:
            key = f"window_{c.name}"
            trends[key] = _trend(m[(m["year"] >= c.window[0]) & (m["year"] <= c.window[1])], p.alpha)
            labels[key] = "Ministry trend {} (the " + c.name.lower() + "'s own years)"
    labels = {k: v.format("" if trends[k] is None else f"{trends[k].years[0]}–{trends[k].years[-1]}").replace(
        "  ", " ").replace(" ,", ",") for k, v in labels.items()}
    sensitivity, limits = _sensitivity(p, claims, trends, labels)
    band = None
    if trends["ministry"] is not None:
        t = trends["ministry"]
        band = t.predict(np.linspace(t.years[0], t.years[-1], 41))
    international = _international_ratios(p, intl, series)
    rates = _rates(p, intl, data_dir)
    stated, statements = _statements(p, intl, data_dir)
    estimates = tuple(
        Estimate(f"annual change in the non-fatal to fatal ratio ({labels[k]})", t.estimate, t.ci[0], t.ci[1],
                 t.p_value, t.method, note=f"φ = {fmt_number(t.dispersion)} on {t.df_resid} df", unit="%")
        for k, t in trends.items() if t is not None) + tuple(
        Estimate(f"share of the {s.claim} a drift at the trend's limit explains", s.bound.share_explained_pct,
                 model=s.method, note=f"drift {fmt_percent(s.bound.drift_pct_per_year)} a year", unit="%")
        for s in sensitivity)
    return CompletenessResult(
        params=p, title=("Fewer injuries, or fewer recorded? Registration completeness to "
                         f"{series['year'].max() if len(series) else p.end_year}"),
        question=("Could a drift in how completely injuries are registered explain "
                  + (" or ".join(c.words for c in claims) or "the Ministry's reported changes") + "?"),
        claim=_claim_text(claims, series),
        verdict=_verdict(p, trends, claims, sensitivity, limits, international, series),
        estimates=estimates, caveats=_caveats(p, series), series=series, trends=trends, trend_labels=labels,
        trend_band=band, international=international, rates=rates, stated=stated, statements=statements,
        claims=claims, sensitivity=sensitivity, explained_at_limits=limits,
        systems_note=_two_systems(p.end_year, data_dir), q1_note=_q1_note(claims, data_dir),
        not_sourced=_not_sourced(p, international, rates))


def _claim_text(claims, series: pd.DataFrame) -> str:
    by_publisher: dict[str, list[str]] = {}
    for c in claims:
        by_publisher.setdefault(c.publisher, []).append(f"“{c.quote}”")
    parts = [f"{pub} reported {' and '.join(quotes)}" for pub, quotes in by_publisher.items()]
    head = ("**Claims.** " + "; ".join(parts) + ".") if parts else "**Claims.** none in the data."
    m = series[(series["system"] == "ministry")]
    if len(m):
        r = m.iloc[-1]
        head += (f" The Ministry registered {fmt_count(r['total'])} injured in {r['year']}, {fmt_count(r['fatal'])} "
                 f"of them killed: about {fmt_number(r['total'] / r['fatal'], 2)} injured, or "
                 f"{fmt_number(r['ratio'], 2)} non-fatal injuries, per death.")
    return head

