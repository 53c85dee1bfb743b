"""What do the data hold, and where does each figure come from? (notebook ``01_data_overview``)

Descriptive: coverage of every data file, the two statistical systems side by side, the figures derived in code with
their arithmetic, the conflicts kept with a preferred value, published percentages that do not match their own
counts, and the provenance of every figure (publisher, link, exact quote). ``run(Params())`` returns an
:class:`OverviewResult`; the table functions below are its pieces.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from analysis import data
from analysis.core import validate
from analysis.core.fmt import decimals_of, fmt_counted
from analysis.core.params import Params as _Params
from analysis.core.params import param
from analysis.core.paths import DATA_DIR
from analysis.core.study import StudyResult, Verdict

HEADERS = {  # plain-English column headers for the report and the CSV downloads
    "file": "file", "rows": "rows", "sources": "sources", "first": "first period", "last": "last period",
    "year": "year", "ministry_injured": "Ministry injured (incl. fatal)", "ministry_fatal": "Ministry deaths",
    "bns_victims": "BNS victims (incl. fatal)", "bns_fatal": "BNS deaths", "derived": "derived values",
    "nonfatal_gap_pct": "BNS non-fatal above Ministry (%)", "fatal_gap_pct": "BNS deaths vs Ministry (%)",
    "victims_over_injured_pct": "BNS victims vs Ministry injured (%)", "period": "period", "system": "system",
    "measure": "measure", "value": "value", "formula": "arithmetic", "values": "values published",
    "preferred": "preferred value", "why": "why preferred", "previous_period": "earlier period",
    "current": "count", "previous": "earlier count", "pct_published": "published change (%)",
    "pct_from_counts": "change from the counts (%)", "matches_when_rounded": "matches when rounded",
    "figure": "figure", "source_id": "source id", "publisher": "publisher", "url": "link", "quote": "quote",
    "pct_source_id": "source of the percent", "table": "file",
}

NAME = "overview"
NOTEBOOK = "01_data_overview"
FIGURE_FILES = ("national_annual", "national_ytd", "regional", "sectoral", "workforce", "population", "events")


def coverage(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """One row per data file: rows, distinct sources, first and last period."""
    t = data.load_all(data_dir)
    rows = []
    for name in ("national_annual", "national_ytd", "regional", "sectoral", "workforce", "population", "events"):
        df = t[name]
        key = "year" if name in ("national_annual", "events") else "date" if name == "population" else "period"
        vals = sorted(df[key].astype(str))
        rows.append({"file": f"data/{name}.csv", "rows": len(df), "sources": df["source_id"].nunique(),
                     "first": vals[0], "last": vals[-1]})
    return pd.DataFrame(rows)


def systems_side_by_side(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Ministry injured/fatal beside BNS victims/fatal by year, with the non-fatal gap in percent.

    Non-fatal = all minus fatal in each system; gap = BNS non-fatal / Ministry non-fatal - 1.
    """
    a = data.load_national_annual(data_dir)
    a = a[a["preferred"]]
    wide = a.pivot_table(index="year", columns=["system", "measure"], values="value", aggfunc="first")
    out = pd.DataFrame(index=wide.index)
    for (sys, meas), col in (("ministry", "injured"), "ministry_injured"), (("ministry", "fatal"), "ministry_fatal"), \
            (("bns", "victims"), "bns_victims"), (("bns", "fatal"), "bns_fatal"):
        out[col] = wide[(sys, meas)] if (sys, meas) in wide.columns else float("nan")
    derived = a[a["derived"]].set_index(["year", "system", "measure"]).index
    out["derived"] = [", ".join(f"{s} {m}" for (y, s, m) in derived if y == yr) for yr in out.index]
    m_nonfatal = out["ministry_injured"] - out["ministry_fatal"]
    b_nonfatal = out["bns_victims"] - out["bns_fatal"]
    out["nonfatal_gap_pct"] = 100 * (b_nonfatal / m_nonfatal - 1)
    out["fatal_gap_pct"] = 100 * (out["bns_fatal"] / out["ministry_fatal"] - 1)
    out["victims_over_injured_pct"] = 100 * (out["bns_victims"] / out["ministry_injured"] - 1)
    both = out[["ministry_injured", "bns_victims"]].notna().all(axis=1)
    return out[both | out[["ministry_fatal", "bns_fatal"]].notna().all(axis=1)].reset_index()


def derived_figures(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Every figure computed rather than published, with its arithmetic."""
    a = data.load_national_annual(data_dir)
    y = data.load_national_ytd(data_dir)
    a = a[a["derived"]].assign(period=lambda d: d["year"].astype(str))
    y = y[y["derived"]]
    cols = ["period", "system", "measure", "value", "formula"]
    return pd.concat([a[cols], y[cols]], ignore_index=True).sort_values(["system", "period"]).reset_index(drop=True)


def conflicts(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Periods where two sources publish different values for the same figure, and the preferred one."""
    a = data.load_national_annual(data_dir, include_derived=False)
    g = a.groupby(["year", "system", "measure"])["value"].nunique()
    keys = g[g > 1].index
    rows = []
    for year, sys, meas in keys:
        sel = a[(a["year"] == year) & (a["system"] == sys) & (a["measure"] == meas)]
        rows.append({"period": str(year), "system": sys, "measure": meas,
                     "values": ", ".join(f"{v:g}" for v in sorted(sel["value"].unique())),
                     "preferred": f"{sel.loc[sel['preferred'], 'value'].iloc[0]:g}",
                     "sources": ", ".join(sel["source_id"]), "why": sel.loc[sel["preferred"], "note"].iloc[0]})
    return pd.DataFrame(rows)


def change_checks(data_dir=data.DATA_DIR) -> pd.DataFrame:
    """Published year-on-year percentages beside the percent their own (published) counts give.

    ``matches_when_rounded``: the count-based percent rounds to the published one at the published precision.
    Rows whose earlier count is derived are left out (they match by construction).
    """
    ch = data.published_changes(data_dir).dropna(subset=["current", "previous"])
    ch = ch[ch["previous_derived"] == False].copy()  # noqa: E712
    exact = 100 * (ch["current"] / ch["previous"] - 1)
    ch["pct_from_counts"] = exact.round(2)
    ch["matches_when_rounded"] = [abs(e - p) <= 0.5 * 10 ** -decimals_of(p) + 1e-9
                                  for e, p in zip(exact, ch["pct_published"])]
    return ch.drop(columns=["previous_derived"]).reset_index(drop=True)


def same_value_years(series: pd.Series) -> list[tuple[int, int, float]]:
    """Consecutive years with identical published values (e.g. 2021 and 2022 both 1,465): worth a second look."""
    s = series.dropna().sort_index()
    return [(int(a), int(b), float(v)) for (a, v), (b, w) in zip(s.items(), list(s.items())[1:]) if v == w and b == a + 1]


def provenance(data_dir=data.DATA_DIR, max_quote_chars: int = 160) -> pd.DataFrame:
    """Figure -> publisher -> link -> quote, for every published national and regional figure."""
    src = data.load_sources(data_dir).set_index("source_id")
    parts = []
    t = data.load_all(data_dir)
    for name, key in (("national_annual", "year"), ("national_ytd", "period"), ("regional", "period"),
                      ("sectoral", "period")):
        df = t[name]
        label = df["measure"] + (" " + df["region"] if "region" in df else "") + (" " + df["sector"] if "sector" in df else "")
        parts.append(pd.DataFrame({"file": name, "period": df[key].astype(str), "system": df["system"],
                                   "figure": label.str.strip(), "value": df["value"], "source_id": df["source_id"]}))
    out = pd.concat(parts, ignore_index=True)
    out["publisher"] = out["source_id"].map(src["publisher"])
    out["url"] = out["source_id"].map(src["url"])
    q = out["source_id"].map(src["quote"]).fillna("")
    out["quote"] = [s if len(s) <= max_quote_chars else s[: max_quote_chars - 1] + "…" for s in q]
    return out


# ---------------------------------------------------------------------------------------------------- the study
@dataclasses.dataclass(frozen=True)
class Params(_Params):
    """Parameters of the data overview (the notebook's ``parameters`` cell mirrors this)."""

    max_quote_chars: int = param(160, "quotes longer than this are shortened in the provenance table",
                                 check=validate.positive_int)
    provenance_rows: int = param(25, "provenance rows shown in the report (the full table is a CSV download)",
                                 check=validate.positive_int)


@dataclasses.dataclass(frozen=True, kw_only=True)
class OverviewResult(StudyResult):
    """Everything notebook 01 shows."""

    study = NAME
    notebook = NOTEBOOK

    coverage: pd.DataFrame
    systems: pd.DataFrame
    derived: pd.DataFrame
    conflicts: pd.DataFrame
    checks: pd.DataFrame
    provenance: pd.DataFrame
    same_value_years: list
    n_figures: int
    n_source_pages: int
    n_sources: int

    @property
    def inconsistent(self) -> pd.DataFrame:
        return self.checks[~self.checks["matches_when_rounded"]]

    @property
    def gap_range(self) -> tuple[float, float]:
        g = self.systems["nonfatal_gap_pct"].dropna()
        return float(g.min()), float(g.max())

    @property
    def fatal_gap_range(self) -> tuple[float, float]:
        g = self.systems["fatal_gap_pct"].dropna()
        return float(g.min()), float(g.max())

    @property
    def systems_long(self) -> pd.DataFrame:
        """The four national series in long form, for the side-by-side figure."""
        long = self.systems.melt(id_vars="year", value_vars=["ministry_injured", "bns_victims", "ministry_fatal",
                                                             "bns_fatal"], var_name="series", value_name="people")
        long = long.dropna()
        long["what"] = long["series"].map(lambda s: "deaths" if "fatal" in s else "all injured (incl. deaths)")
        long["system"] = long["series"].map(lambda s: "Ministry" if s.startswith("ministry") else "BNS")
        return long

    @property
    def systems_alt(self) -> str:
        lo, hi = self.gap_range
        flo, fhi = self.fatal_gap_range
        return (f"Two line charts by year: deaths in the Ministry and BNS series nearly coincide (BNS within "
                f"{flo:+.0f}% to {fhi:+.0f}% of the Ministry); all injured differ widely, the BNS non-fatal count "
                f"exceeding the Ministry's by {lo:.0f}% to {hi:.0f}%.")

    @property
    def systems_note(self) -> str:
        lo, hi = self.gap_range
        flo, fhi = self.fatal_gap_range
        n = len(self.systems["nonfatal_gap_pct"].dropna())
        return (f"Non-fatal injuries: the BNS count exceeds the Ministry's by **{lo:.0f}% to {hi:.0f}%** ({n} years "
                f"with both). Deaths differ by **{flo:+.0f}% to {fhi:+.0f}%**. Any series that mixed the two systems "
                "would manufacture a trend; every analysis here uses one system at a time.")

    @property
    def traps_note(self) -> str:
        bad = self.inconsistent
        same = "; ".join(f"{a} and {b} both {v:,.0f}" for a, b, v in self.same_value_years)
        return ("* Published percentages that do **not** match their own counts: "
                + ", ".join(f"{r.period} {r.measure} ({r.pct_published:+g}% published, {r.pct_from_counts:+.1f}% "
                            f"from {r.current:,.0f} vs {r.previous:,.0f})" for r in bad.itertuples())
                + ".\n* Identical consecutive annual totals (a possible copy-forward or coincidence): " + same + "."
                "\n* Full-year 2023 (Ministry) was never found: 1,474 is derived from 2024's -4.5%."
                "\n* 'Almaty' in the Q1 2025 release may be the city or the region; the ledger reads it as the city.")

    def results(self) -> dict[str, Any]:
        """The overview's detailed results for the results JSON.

        Returns
        -------
        dict
            ``coverage``, ``n_published_figures``, ``n_sources``, ``systems``, the ranges of the gap between the two systems
            ``nonfatal_gap_pct_range`` and ``fatal_gap_pct_range`` (percent, [low, high]), ``derived``, ``conflicts``
            and ``inconsistent_published_changes``.
        """
        lo, hi = self.gap_range
        flo, fhi = self.fatal_gap_range
        return {"coverage": self.coverage, "n_published_figures": self.n_figures, "n_sources": self.n_sources,
                "systems": self.systems, "nonfatal_gap_pct_range": [lo, hi], "fatal_gap_pct_range": [flo, fhi],
                "derived": self.derived, "conflicts": self.conflicts,
                "inconsistent_published_changes": self.inconsistent[["period", "measure", "current", "previous",
                                                                      "pct_published", "pct_from_counts"]]}

    def tables(self) -> dict[str, pd.DataFrame]:
        """The report's tables with plain-English headers (also the CSV downloads)."""
        return {name: df.rename(columns=HEADERS) for name, df in (
            ("coverage", self.coverage), ("systems", self.systems), ("derived", self.derived),
            ("conflicts", self.conflicts),
            ("published_changes", self.checks[["period", "previous_period", "system", "measure", "current",
                                               "previous", "pct_published", "pct_from_counts",
                                               "matches_when_rounded"]]),
            ("provenance", self.provenance))}

    @property
    def provenance_summary(self) -> pd.DataFrame:
        """Per data file: figures, distinct source pages and publishers (the full table is a download)."""
        g = self.provenance.groupby("file")
        return pd.DataFrame({"figures": g.size(), "source pages": g["url"].nunique(),
                             "publishers": g["publisher"].nunique()}).reset_index().rename(columns=HEADERS)

    @property
    def provenance_head(self) -> pd.DataFrame:
        """The first rows of the provenance table, without the columns the CSV download carries for machines."""
        cols = ["period", "system", "figure", "value", "publisher", "link", "quote"]
        return self.tables()["provenance"][cols].head(self.params.provenance_rows)


def _verdict(r: dict) -> Verdict:
    lo, hi = r["gap"]
    flo, fhi = r["fatal_gap"]
    technical = (
        f"The data hold {r['n_figures']} published figures from {r['n_pages']} source pages, each traced "
        f"to a ledger row; {r['n_derived']} further figures are derived in code (including the Q1 2024 baseline of "
        f"352). The two systems must not be mixed: non-fatal counts differ by {lo:.0f}-{hi:.0f}% while deaths "
        f"agree within {max(abs(flo), abs(fhi)):.0f}%. {r['n_conflicts']} conflicts are kept with a preferred value, "
        f"and {fmt_counted(r['n_bad'], 'published percentage')} "
        f"{'does' if r['n_bad'] == 1 else 'do'} not match {'its' if r['n_bad'] == 1 else 'their'} own counts.")
    return Verdict(
        label="descriptive",
        headline=(f"{r['n_figures']:,} published figures from {r['n_pages']} source pages, each traced to an exact "
                  f"quote; {r['n_derived']} more are derived in code and flagged."),
        summary=(f"The Ministry and the statistics bureau (BNS) count differently: their deaths agree within "
                 f"{max(abs(flo), abs(fhi)):.0f}%, but their non-fatal counts differ by {lo:.0f}% to {hi:.0f}%, so "
                 f"the two are never mixed. Where sources disagree ({r['n_conflicts']} cases) one value is preferred "
                 f"and the reason given, and {fmt_counted(r['n_bad'], 'published percentage')} "
                 f"{'contradicts its' if r['n_bad'] == 1 else 'contradict their'} own counts."),
        technical=technical,
        would_change="A newly found primary table could replace a derived figure or settle a conflict.")


def run(params: Params, data_dir=DATA_DIR) -> OverviewResult:
    """Run the overview.

    Parameters
    ----------
    params : Params
    data_dir : path, optional
        The data folder (a copy in tests).

    Returns
    -------
    OverviewResult
    """
    t = data.load_all(data_dir)
    cov = coverage(data_dir)
    side = systems_side_by_side(data_dir)
    der = derived_figures(data_dir)
    conf = conflicts(data_dir)
    checks = change_checks(data_dir)
    prov = provenance(data_dir, max_quote_chars=params.max_quote_chars)
    same = same_value_years(data.national_series("ministry", "injured", data_dir=data_dir))
    n_figures = sum(len(t[k]) for k in FIGURE_FILES)
    gap = side["nonfatal_gap_pct"].dropna()
    fgap = side["fatal_gap_pct"].dropna()
    used = pd.concat([t[k]["source_id"] for k in FIGURE_FILES])
    pages = t["sources"].loc[t["sources"]["source_id"].isin(used), "url"].nunique()
    facts = {"n_figures": n_figures, "n_pages": pages, "n_derived": len(der),
             "gap": (gap.min(), gap.max()), "fatal_gap": (fgap.min(), fgap.max()), "n_conflicts": len(conf),
             "n_bad": int((~checks["matches_when_rounded"]).sum())}
    return OverviewResult(
        params=params, title="What the data hold, and where every figure comes from",
        question=("Which figures exist, who published them, which are only derived by arithmetic, and where do "
                  "sources disagree?"),
        claim="", verdict=_verdict(facts), estimates=(),
        caveats=("Most sources are news sites republishing official releases; primary tables were not reachable.",
                 "Some periods are inferred by the ledger (flagged in the note column), e.g. the 2024 regional "
                 "split.",
                 "Derived figures inherit the rounding of the published percentages (±0.05 points on a one-decimal "
                 "percent)."),
        coverage=cov, systems=side, derived=der, conflicts=conf, checks=checks, provenance=prov,
        same_value_years=same, n_figures=n_figures, n_source_pages=facts["n_pages"],
        n_sources=len(t["sources"]))
